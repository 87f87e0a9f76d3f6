import type { ApiRateLimit } from './api-rate-limit.js';

type Json = Record<string, unknown>;
interface Operation {
  responses?: Record<string, { headers?: Json; [k: string]: unknown }>;
}

const MERCHANT_PATH = '/v1/shops/{slug}';
const RATE_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy'];
const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });

/**
 * Documents the merchant API's rate limit in the OpenAPI document (the routes' own schemas stay as they are): the
 * RateLimit-* headers on every answer of a merchant operation but 401 (no caller, nothing counted), and a 429.
 */
export function documentRateLimits(doc: Json, limit: ApiRateLimit): Json {
  doc.components ??= {};
  const components = doc.components as Json;
  components.headers = {
    ...((components.headers as Json | undefined) ?? {}),
    'RateLimit-Limit': {
      description: 'Requests allowed per window for this API key (or portal user) and shop.',
      schema: { type: 'integer', example: limit.max },
    },
    'RateLimit-Remaining': {
      description: 'Requests left in the current window.',
      schema: { type: 'integer', minimum: 0 },
    },
    'RateLimit-Reset': {
      description: 'Seconds until the current window ends and the full quota is available again.',
      schema: { type: 'integer', minimum: 1, maximum: limit.windowSeconds },
    },
    'RateLimit-Policy': {
      description: 'The policy: `<requests>;w=<window seconds>` (draft-ietf-httpapi-ratelimit-headers-06).',
      schema: { type: 'string', example: `${limit.max};w=${limit.windowSeconds}` },
    },
    'Retry-After': {
      description: 'Seconds to wait before retrying.',
      schema: { type: 'integer', minimum: 1 },
    },
  };
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    if (!path.startsWith(`${MERCHANT_PATH}/`) && path !== MERCHANT_PATH) continue;
    for (const op of Object.values(item)) {
      if (!op?.responses) continue;
      op.responses['429'] ??= {
        description: `Rate limit exceeded (key \`rate_limited\`): at most ${limit.max} requests per ${limit.windowSeconds} s per API key and shop.`,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
      for (const [status, response] of Object.entries(op.responses)) {
        if (status === '401') continue;
        const headers: Json = { ...(response.headers ?? {}) };
        for (const name of RATE_HEADERS) headers[name] = ref(name);
        if (status === '429') headers['Retry-After'] = ref('Retry-After');
        response.headers = headers;
      }
    }
  }
  return doc;
}
