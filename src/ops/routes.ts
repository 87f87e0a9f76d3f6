import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../http/context.js';

export function opsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

    app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
      try {
        await deps.database.ping();
        const m = await deps.database.migrationStatus();
        if (m.applied < m.shipped) {
          return reply
            .code(503)
            .send({ status: 'not_ready', database: 'ok', migrations: `${m.applied}/${m.shipped} applied` });
        }
        return {
          status: 'ready',
          database: deps.database.kind,
          migrations: `${m.applied}/${m.shipped} applied`,
        };
      } catch (err) {
        deps.log.warn({ err }, 'readiness check failed');
        return reply.code(503).send({ status: 'not_ready', database: 'unreachable' });
      }
    });

    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      reply.header('content-type', deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    });
  };
}
