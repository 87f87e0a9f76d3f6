import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../http/context.js';
import { findShopBySlug } from '../shops/shops.js';
import { resolveSettingsOf } from './settings.js';

const PREFIX = '/v1/resolve/';

/**
 * CORS for the customer-flow API, per shop (`allowed_origins`), so headless shops can call it from
 * their own pages. No credentials are allowed: the session is a Bearer token, never a cookie.
 */
export function resolveCors(deps: AppDeps): FastifyPluginAsync {
  const allow = async (req: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    const origin = req.headers.origin;
    if (!origin || !req.url.startsWith(PREFIX)) return false;
    const slug = req.url.slice(PREFIX.length).split(/[/?]/)[0];
    const shop = slug ? await findShopBySlug(deps.database.db, decodeURIComponent(slug)) : null;
    if (!shop) return false;
    const allowed = resolveSettingsOf(shop).allowed_origins;
    if (!allowed.includes('*') && !allowed.includes(origin)) return false;
    reply
      .header('access-control-allow-origin', allowed.includes('*') ? '*' : origin)
      .header('vary', 'Origin');
    reply.header('access-control-expose-headers', 'retry-after, x-request-id, idempotent-replayed');
    return true;
  };
  return async (app) => {
    app.addHook('onRequest', async (req, reply) => {
      if (req.method !== 'OPTIONS') await allow(req, reply);
    });
    app.options('/v1/resolve/*', { schema: { hide: true } }, async (req, reply) => {
      if (await allow(req, reply)) {
        reply
          .header('access-control-allow-methods', 'GET, POST, OPTIONS')
          .header(
            'access-control-allow-headers',
            'authorization, content-type, idempotency-key, accept-language',
          )
          .header('access-control-max-age', '600');
      }
      return reply.code(204).send();
    });
  };
}
