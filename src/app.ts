import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { actionRoutes } from './actions/routes.js';
import { claimRoutes } from './claims/routes.js';
import { inboundWebhookRoutes } from './connectors/inbound.js';
import { connectionRoutes } from './connectors/routes.js';
import { isDatabaseUnavailable } from './db/errors.js';
import { AllowedMethods } from './http/allowed-methods.js';
import { authorizeRequest, type Principal } from './http/auth.js';
import type { AppDeps, ReadyDeps } from './http/context.js';
import { clientErrorHandler, frameworkErrors, MAX_PARAM_LENGTH } from './http/framework-errors.js';
import { beginIdempotent, finishIdempotent, requestHash, sendReplay } from './http/idempotency.js';
import { lazyCompilers } from './http/lazy-compile.js';
import { loggedUrl } from './http/log-url.js';
import { documentErrorResponses } from './http/openapi-errors.js';
import { documentRateLimits } from './http/openapi-rate-limit.js';
import { checkQuery, type QueryChecks, queryChecksOf } from './http/query-checks.js';
import { ErrorResponse } from './http/schema-helpers.js';
import { addSharedSchema, fieldErrors, unstorableTextPath, validatorCompiler } from './http/validation.js';
import { AppError, errorBody } from './lib/errors.js';
import { newId } from './lib/ids.js';
import { loadMasterSecret } from './lib/secret.js';
import { opsRoutes } from './ops/routes.js';
import { OrderView, ShipmentView } from './orders/api-schemas.js';
import { orderRoutes } from './orders/routes.js';
import { portalRoutes } from './portal/routes.js';
import { teamRoutes } from './portal/team-routes.js';
import { CustomerClaim, CustomerOrder, FlowView, MerchantClaim } from './resolve/api-schemas.js';
import { resolveCors } from './resolve/cors.js';
import { LangQuery } from './resolve/customer-context.js';
import { fileRoutes } from './resolve/file-routes.js';
import { lockoutRoutes } from './resolve/lockout-routes.js';
import { resolveMerchantRoutes } from './resolve/merchant-routes.js';
import { merchantUploadRoutes } from './resolve/merchant-upload-routes.js';
import { orderActionRoutes } from './resolve/order-action-routes.js';
import { redisLookupCounters } from './resolve/redis-counters.js';
import { resolveRoutes } from './resolve/routes.js';
import { ResolveSettingsSchema } from './resolve/settings.js';
import type { ApiKey, Role } from './shops/api-keys.js';
import { shopRoutes } from './shops/routes.js';
import type { Shop } from './shops/shops.js';
import { createStorage } from './storage/index.js';
import { customerPageRoutes } from './web/customer-page.js';
import { portalPageRoutes } from './web/portal-page.js';
import { webhookRoutes } from './webhooks/routes.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Compiles the route schemas not compiled yet (they compile on first use); `start` runs it after listen. */
    warmSchemas(onError: (err: unknown) => void): Promise<void>;
    /** How many route schemas have not been compiled yet. */
    schemasPending(): number;
  }
  interface FastifyContextConfig {
    /** Minimum role (API key, or portal user mapped to API roles); `:slug` is resolved within the caller's shops. */
    auth?: Role;
  }
  interface FastifyRequest {
    shop: Shop;
    /** Set for API-key callers only; `principal` covers both keys and portal users. */
    apiKey: ApiKey;
    principal: Principal;
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

/** `consumes` of the route's schema: the media types it takes when it does not take JSON (uploads). */
function toAppError(
  err: FastifyError & { validationContext?: string },
  consumes: string[] | undefined = undefined,
): AppError {
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
      return new AppError(
        'unsupported_media_type',
        consumes?.length
          ? `Send the body as ${consumes.join(' or ')}.`
          : 'Send JSON with Content-Type: application/json.',
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('invalid_request', 'Content-Length does not match the body.');
  }
  if (isDatabaseUnavailable(err))
    return new AppError(
      'service_unavailable',
      'The service is temporarily unavailable. Try again in a few seconds.',
      [],
      503,
      { 'retry-after': '5' },
    );
  // PostgreSQL text cannot hold NUL (\u0000): bad input, not a server fault (22021 text, 22P05 jsonb).
  const pgCode = (err as { cause?: { code?: unknown } }).cause?.code ?? err.code;
  if (pgCode === '22021' || pgCode === '22P05')
    return new AppError('invalid_request', 'Text values must not contain NUL (\\u0000) characters.');
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
const redisCountersOf = (config: AppDeps['config']) =>
  config.redisUrl ? redisLookupCounters(config.redisUrl) : null;

/** The query string of a route that takes none. */
const NO_QUERY = Type.Object({}, { additionalProperties: false });

export async function buildApp(deps: AppDeps): Promise<App> {
  const compilers = lazyCompilers(validatorCompiler);
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: deps.config.bodyLimitBytes,
    // The client IP behind a reverse proxy (TRUST_PROXY): without it every customer has the proxy's address.
    trustProxy: deps.config.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: () => newId('req'),
    logController: new LogController({ disableRequestLogging: true }), // one log line per request, below
    // Every identifier a path can carry (external ids: up to 255 characters) routes; longer is 414 uri_too_long.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // Router and HTTP parser errors come before the error handler: answered in the app's error shape too.
    frameworkErrors,
    clientErrorHandler,
    // Through the factory, not setValidatorCompiler: a plugin that calls addSchema rebuilds its validator from
    // the factory, and Fastify's default one coerces types, drops unknown fields and turns null into "".
    // (cast: the factory's declared compiler type differs from FastifySchemaCompiler only in `method?`)
    // Both compile each route's schema on first use (src/http/lazy-compile.ts): a restart is ~1.4 s faster.
    schemaController: {
      compilersFactory: {
        buildValidator: compilers.buildValidator as never,
        buildSerializer: compilers.buildSerializer as never,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  app.decorate('warmSchemas', compilers.warmUp);
  app.decorate('schemasPending', compilers.pendingCount);
  // Built before the hooks: the authentication hook counts in Redis through `lookupCounters` when configured.
  const ready: ReadyDeps = {
    ...deps,
    storage: deps.storage ?? createStorage(deps.config),
    masterSecret: deps.masterSecret ?? (await loadMasterSecret(deps.database.db, deps.config)),
    lookupCounters: deps.lookupCounters !== undefined ? deps.lookupCounters : redisCountersOf(deps.config),
  };
  if (deps.lookupCounters === undefined && ready.lookupCounters) {
    const counters = ready.lookupCounters;
    app.addHook('onClose', () => counters.close());
  }

  // JSON only: text/plain would reach validation as a string (and lets browsers skip the CORS preflight).
  app.removeContentTypeParser('text/plain');
  // Shared schemas live at the root so every plugin can $ref them.
  for (const schema of [
    ErrorResponse,
    ShipmentView,
    OrderView,
    FlowView,
    CustomerOrder,
    CustomerClaim,
    MerchantClaim,
    ResolveSettingsSchema,
  ]) {
    app.addSchema(schema);
    addSharedSchema(schema);
  }

  const errorDocs = documentErrorResponses();
  await app.register(swagger, {
    transform: errorDocs.transform as never,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Resolve API',
        version: '1',
        description:
          'Post-purchase claims platform. Merchant endpoints take an API key via HTTP Basic (username = key name, password = secret) or `Authorization: Bearer <secret>`. Errors: `{"error": {"type", "key", "message", "errors": [{path, message}]}}` — switch on `key`. A known path called with a method it does not take answers 405 `method_not_allowed` with `Allow`; an unknown path, 404 `route_not_found`.\n\n' +
          `Rate limits: every authenticated merchant request (\`/v1/shops/{slug}/…\`) counts against a fixed window of ${deps.config.apiRateLimit.max} requests per ${deps.config.apiRateLimit.windowSeconds} s per API key (or portal user) and shop. Each answer, errors and idempotent replays included, carries \`RateLimit-Limit\`, \`RateLimit-Remaining\`, \`RateLimit-Reset\` (seconds until the window resets) and \`RateLimit-Policy: ${deps.config.apiRateLimit.max};w=${deps.config.apiRateLimit.windowSeconds}\` (draft-ietf-httpapi-ratelimit-headers-06). Over the limit: 429 with key \`rate_limited\` and \`Retry-After\` (seconds).`,
      },
      components: {
        securitySchemes: {
          basicAuth: { type: 'http', scheme: 'basic' },
          bearerAuth: { type: 'http', scheme: 'bearer' },
          sessionBearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'Customer session from POST /v1/resolve/{slug}/sessions.',
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (json.$id as string) || `def-${i}` },
    // Built on the first request for the document, after listen: with PORT=0 and no PUBLIC_URL the server
    // is the port actually bound (config.publicUrl is re-pointed then), not `:0`.
    transformObject: (doc) => {
      const { openapi, info, ...rest } = (doc as { openapiObject: Record<string, unknown> }).openapiObject;
      const servers = [{ url: deps.config.publicUrl }];
      return errorDocs.describe(
        documentRateLimits({ openapi, info, servers, ...rest }, deps.config.apiRateLimit),
      ) as never;
    },
  });
  // The API reference is where integrators paste keys ("Authorize"): a strict CSP (the plugin's, with hashes of
  // its inline scripts; never framed), no sniffing, no referrer, like the portal's pages.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
    staticCSP: true,
    transformStaticCSP: (csp) =>
      csp
        .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
        .replace(/ ?upgrade-insecure-requests;?/, '')
        .replace(/ validator\.swagger\.io/, '')
        // Swagger UI writes a <style> element of its own (syntax highlighting); scripts stay hash-only.
        .replace(/style-src 'self' https: [^;]*;/, "style-src 'self' 'unsafe-inline';"),
    uiHooks: {
      onRequest: async (_req, reply) => {
        reply
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .header('x-frame-options', 'DENY');
      },
    },
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  // JSON bodies: an empty body with Content-Type: application/json (generated clients send the header on every
  // POST) is no body, so routes that take none answer as without the header; a `__proto__` or
  // `constructor.prototype` key is a field refused by name, not "not valid JSON".
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const isJson = (text: string) => {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    parseJson(req, text, (err, value) => {
      // The safe parser refused it: when plain JSON.parse takes it, it is valid JSON with a poisoning key.
      if (err && isJson(text))
        return done(
          new AppError('validation_failed', 'The request is invalid.', [
            { path: '', message: 'must not contain `__proto__` or `constructor.prototype` keys' },
          ]),
        );
      done(err, value);
    });
  });

  // An API route that takes no query parameters says so: an unknown one is a 400 naming it, never ignored (a typo
  // such as ?per_pgae=5 must not quietly give the default). Routes with query parameters list theirs, closed. The
  // customer-flow routes all take `lang` (the customer page sends it on every call).
  const allowed = new AllowedMethods();
  app.addHook('onRoute', (route) => {
    allowed.add(route.url, route.method);
    if (!route.url.startsWith('/v1/') || route.schema?.hide) return;
    route.schema ??= {};
    route.schema.querystring ??= route.url.startsWith('/v1/resolve/') ? LangQuery : NO_QUERY;
    const checks = queryChecksOf(route);
    if (checks) route.config = { ...route.config, queryChecks: checks } as typeof route.config;
  });
  app.addHook('preValidation', async (req) => {
    const checks = (req.routeOptions.config as { queryChecks?: QueryChecks }).queryChecks;
    if (checks) checkQuery(checks, req.query as Record<string, unknown>);
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
        url: loggedUrl(req.url),
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  // Authentication and the tenant come first: no body is parsed or validated for an unknown caller or shop.
  // The same statement counts the request against the caller's rate limit for the shop (RateLimit-* fields).
  app.addHook('onRequest', async (req, reply) => {
    const role = req.routeOptions.config.auth;
    if (!role) return;
    const { slug } = req.params as { slug: string };
    const { shop, key, principal } = await authorizeRequest(ready, req, reply, slug, role);
    req.shop = shop;
    req.principal = principal;
    if (key) req.apiKey = key;
  });

  app.addHook('preValidation', async (req) => {
    const path = unstorableTextPath(req.body);
    if (path)
      throw new AppError('validation_failed', 'The request is invalid.', [
        { path, message: 'must not contain NUL (\\u0000) or unpaired surrogate characters' },
      ]);
  });

  app.addHook('preHandler', async (req, reply) => {
    if (!req.routeOptions.config.auth) return;
    const { shop, principal } = req;
    const idemKey = req.headers['idempotency-key'];
    if (req.method === 'POST' && typeof idemKey === 'string') {
      // API keys keep their historical scope (key id : shop); portal users get their own.
      const scope =
        principal.type === 'api_key' ? `${principal.id}:${shop.id}` : `user:${principal.id}:${shop.id}`;
      const began = await beginIdempotent(
        deps.database.db,
        scope,
        idemKey,
        requestHash(req.method, req.url, req.body),
      );
      if (began.kind === 'replay') return sendReplay(reply, began);
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
    const appErr = toAppError(
      err,
      (req.routeOptions.schema as { consumes?: string[] } | undefined)?.consumes,
    );
    if (appErr.status >= 500) req.log.error({ err }, 'unhandled error');
    reply.code(appErr.status).headers(appErr.headers).send(errorBody(appErr));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    const methods = allowed.of(path);
    if (methods.length) {
      const allow = methods.join(', ');
      reply
        .code(405)
        .header('allow', allow)
        .send(
          errorBody(
            new AppError(
              'method_not_allowed',
              `${req.method} is not allowed on ${path}; it answers ${allow}.`,
            ),
          ),
        );
      return;
    }
    reply.code(404).send(errorBody(new AppError('route_not_found', `No route ${req.method} ${path}.`)));
  });

  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(opsRoutes(ready));
  await app.register(orderRoutes(ready));
  await app.register(fp(resolveCors(ready)));
  await app.register(resolveRoutes(ready));
  await app.register(orderActionRoutes(ready));
  await app.register(fileRoutes(ready));
  await app.register(resolveMerchantRoutes(ready));
  await app.register(merchantUploadRoutes(ready));
  await app.register(lockoutRoutes(ready));
  await app.register(claimRoutes(ready));
  await app.register(webhookRoutes(ready));
  await app.register(portalRoutes(ready));
  await app.register(connectionRoutes(ready));
  await app.register(inboundWebhookRoutes(ready));
  await app.register(actionRoutes(ready));
  await app.register(teamRoutes(ready));
  await app.register(shopRoutes(ready));
  await app.register(customerPageRoutes(ready));
  await app.register(portalPageRoutes());
  return app;
}
