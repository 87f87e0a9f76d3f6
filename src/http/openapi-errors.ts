import { Type } from 'typebox';
import type { Role } from '../shops/api-keys.js';
import {
  CLAIM_IDEMPOTENCY_HEADER,
  CUSTOMER_IDEMPOTENT,
  IDEMPOTENCY_HEADER,
  OPERATION_IDS,
} from './operation-ids.js';

type Json = Record<string, unknown>;
interface RouteLike {
  method: string | string[];
  config?: { auth?: Role };
}
interface Operation {
  responses?: Record<string, { description?: string; [k: string]: unknown }>;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
/** What @fastify/swagger writes for a response schema without a description of its own. */
const DEFAULT_DESCRIPTION = 'Default Response';

/** The meaning of a status across the API; an operation's own description names its particular keys. */
const GENERIC: Record<string, string> = {
  '200': 'OK.',
  '201': 'Created.',
  '202': 'Accepted: the work is queued; the operation’s description says where to follow it.',
  '204': 'Done; no content.',
  '400':
    'The request is invalid: `validation_failed` (`errors[]` names each field and what is wrong with it), `invalid_json` or `invalid_request`.',
  '403': 'Refused for this caller or this state; `error.key` says why (see the operation’s description).',
  '404': 'Not found (`…_not_found`). A shop outside the caller’s reach is `shop_not_found`, never 403.',
  '409': 'Conflicts with the current state; `error.key` says which (see the operation’s description).',
  '410': 'No longer valid (`error.key` says why).',
  '413': 'The body is larger than this operation accepts (`payload_too_large`).',
  '415': 'This content type is not accepted (`unsupported_media_type`, `unsupported_file_type`).',
  '422': 'Well-formed, but not possible now; `error.key` says why (see the operation’s description).',
  '429': 'Too many requests (`rate_limited`): wait the `Retry-After` seconds.',
  '503': 'Temporarily unavailable (`service_unavailable`, `not_ready`): retry after `Retry-After` seconds.',
};
/** 401 by path: exact paths first, then prefixes (ending in `/`). */
const UNAUTHORIZED: [path: string, text: string][] = [
  [
    '/v1/resolve/{slug}/sessions',
    'The order token is not valid: `token_invalid`, `token_expired` or `token_revoked`.',
  ],
  ['/v1/portal/login', 'Wrong email or password (`invalid_credentials`); both answer the same.'],
  ['/v1/portal/invites/accept', 'The password of the existing account is wrong (`invalid_credentials`).'],
  ['/v1/portal/', 'No live portal session (`unauthorized`).'],
  [
    '/v1/connectors/',
    'Unknown connection, or a missing or wrong platform signature (`webhook_signature_invalid`).',
  ],
  ['/v1/shops/', 'No valid API key or portal session (`unauthorized`).'],
  [
    '/v1/resolve/',
    'No live customer session: `session_required` (no bearer, or not one of this shop) or `session_expired`.',
  ],
];

/**
 * Describes the answers in the OpenAPI document, so an integrator reads what a status means rather than
 * "Default Response". The 403 of merchant operations comes from the routes' own auth settings, so the reference
 * cannot drift from what `authorizeRequest()` does: a role below the route's (`forbidden`) on editor and admin
 * routes, and a portal session's missing CSRF token (`csrf_failed`) on every state-changing route. `transform`
 * (per route, for @fastify/swagger) adds that 403 to the documented responses only (serialisation is unchanged);
 * `describe` (over the finished document) words every response that has no description of its own.
 */
export function documentErrorResponses() {
  const auth = new Map<string, { role: Role | null; write: boolean }>();
  return {
    transform({ schema, url, route }: { schema?: Json; url: string; route: RouteLike }) {
      const role = route.config?.auth;
      if (!schema || !role || schema.hide) return { schema, url };
      const methods = ([] as string[]).concat(route.method);
      const write = methods.some((m) => !SAFE.has(m));
      const gated = role === 'viewer' ? null : role;
      if (!gated && !write) return { schema, url };
      const path = url.replace(/:(\w+)/g, '{$1}');
      for (const m of methods) auth.set(`${m.toLowerCase()} ${path}`, { role: gated, write });
      const response = (schema.response ?? {}) as Json;
      if (response[403]) return { schema, url };
      return { schema: { ...schema, response: { ...response, 403: Type.Ref('Error') } }, url };
    },
    describe(doc: Json): Json {
      for (const [path, item] of Object.entries(
        (doc.paths ?? {}) as Record<string, Record<string, Operation>>,
      )) {
        for (const [method, op] of Object.entries(item)) {
          const key = `${method} ${path}`;
          const named = op as Operation & { operationId?: string; parameters?: Json[] };
          named.operationId ??= OPERATION_IDS[key];
          const idempotent = method === 'post' && (auth.has(key) || CUSTOMER_IDEMPOTENT.has(key));
          if (idempotent && !named.parameters?.some((p) => p.name === IDEMPOTENCY_HEADER.name))
            named.parameters = [
              ...(named.parameters ?? []),
              key === 'post /v1/resolve/{slug}/claims' ? CLAIM_IDEMPOTENCY_HEADER : IDEMPOTENCY_HEADER,
            ];
          // Any body can be too large or of a type the operation does not take (Fastify answers both before the
          // route): said on every operation with a body, with the shape of its 400.
          const withBody = named as Operation & { requestBody?: unknown };
          const invalid = withBody.responses?.['400'];
          if (withBody.requestBody && invalid)
            for (const status of ['413', '415'])
              withBody.responses![status] ??= { ...invalid, description: DEFAULT_DESCRIPTION };
          for (const [status, response] of Object.entries(op?.responses ?? {})) {
            if (response.description !== DEFAULT_DESCRIPTION) continue;
            const text = status === '403' ? forbidden(auth.get(`${method} ${path}`)) : generic(status, path);
            if (text) response.description = text;
          }
        }
      }
      return doc;
    },
  };
}

function forbidden(cause: { role: Role | null; write: boolean } | undefined): string {
  if (!cause) return GENERIC['403'];
  const why = [
    cause.role && `the API key or portal user has a role below ${cause.role} (\`forbidden\`)`,
    cause.write &&
      'with the portal session cookie, `x-csrf-token` does not match the session (`csrf_failed`)',
  ].filter(Boolean);
  return `Refused: ${why.join('; or ')}. Other keys, if any, are in the operation’s description.`;
}

function generic(status: string, path: string): string | undefined {
  if (status === '401')
    return (
      (UNAUTHORIZED.find(([p]) => p === path) ??
        UNAUTHORIZED.find(([p]) => p.endsWith('/') && path.startsWith(p)))?.[1] ?? 'Not authenticated.'
    );
  return GENERIC[status];
}
