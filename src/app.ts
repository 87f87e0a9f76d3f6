import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { authorizeShop } from './http/auth.js';
import type { AppDeps } from './http/context.js';
import { beginIdempotent, finishIdempotent, requestHash } from './http/idempotency.js';
import { ErrorResponse } from './http/schema-helpers.js';
import { addSharedSchema, fieldErrors, validatorCompiler } from './http/validation.js';
import { AppError, errorBody } from './lib/errors.js';
import { newId } from './lib/ids.js';
import { opsRoutes } from './ops/routes.js';
import { orderRoutes } from './orders/routes.js';
import type { ApiKey, Role } from './shops/api-keys.js';
import type { Shop } from './shops/shops.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Minimum API-key role; the route's `:slug` is resolved within the key's shops. */
    auth?: Role;
  }
  interface FastifyRequest {
    shop: Shop;
    apiKey: ApiKey;
    idempotency?: { scope: string; key: string };
  }
}

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  import('fastify').FastifyBaseLogger,
  TypeBoxTypeProvider
>;

function toAppError(err: FastifyError & { validationContext?: string }): AppError {
  if (err instanceof AppError) return err;
  if (err.validation)
    return new AppError(
      'validation_failed',
      'The request is invalid.',
      fieldErrors(err.validation, err.validationContext),
    );
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_json', 'The body is not valid JSON.');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'The body is larger than this endpoint accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'Send JSON with Content-Type: application/json.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('invalid_request', 'Content-Length does not match the body.');
  }
  if (err instanceof SyntaxError && err.statusCode === 400)
    return new AppError('invalid_json', 'The body is not valid JSON.');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
    return new AppError('invalid_request', err.message, [], err.statusCode);
  return new AppError(
    'internal_error',
    'Something went wrong on our side. The error has been logged.',
    [],
    500,
  );
}

/** Builds the HTTP app. It never listens: `start` does, tests use `inject`. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: deps.config.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => newId('req'),
    logController: new LogController({ disableRequestLogging: true }), // one log line per request, below
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validatorCompiler);
  app.addSchema(ErrorResponse);
  addSharedSchema(ErrorResponse);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Resolve API',
        version: '1',
        description:
          'Post-purchase claims platform. Merchant endpoints take an API key via HTTP Basic (username = key name, password = secret) or `Authorization: Bearer <secret>`. Errors: `{"error": {"type", "key", "message", "errors": [{path, message}]}}` — switch on `key`.',
      },
      servers: [{ url: deps.config.publicUrl }],
      components: {
        securitySchemes: {
          basicAuth: { type: 'http', scheme: 'basic' },
          bearerAuth: { type: 'http', scheme: 'bearer' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (json.$id as string) || `def-${i}` },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpDuration.observe(
      { method: req.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    req.log[level](
      {
        method: req.method,
        url: req.url,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  app.addHook('preHandler', async (req, reply) => {
    const role = req.routeOptions.config.auth;
    if (!role) return;
    const { slug } = req.params as { slug: string };
    const { shop, key } = await authorizeShop(deps, req, slug, role);
    req.shop = shop;
    req.apiKey = key;
    const idemKey = req.headers['idempotency-key'];
    if (req.method === 'POST' && typeof idemKey === 'string') {
      const scope = `${key.id}:${shop.id}`;
      const began = await beginIdempotent(
        deps.database.db,
        scope,
        idemKey,
        requestHash(req.method, req.url, req.body),
      );
      if (began.kind === 'replay') {
        reply
          .code(began.statusCode)
          .header('content-type', 'application/json; charset=utf-8')
          .header('idempotent-replayed', 'true');
        return reply.send(began.body);
      }
      req.idempotency = { scope, key: idemKey };
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    if (req.idempotency && typeof payload === 'string') {
      const { scope, key } = req.idempotency;
      req.idempotency = undefined;
      await finishIdempotent(deps.database.db, scope, key, reply.statusCode, payload);
    }
    return payload;
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const appErr = toAppError(err);
    if (appErr.status >= 500) req.log.error({ err }, 'unhandled error');
    reply.code(appErr.status).headers(appErr.headers).send(errorBody(appErr));
  });

  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .send(errorBody(new AppError('route_not_found', `No route ${req.method} ${req.url.split('?')[0]}.`)));
  });

  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(opsRoutes(deps));
  await app.register(orderRoutes(deps));
  return app;
}
