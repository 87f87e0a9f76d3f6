import { createHash } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { runPrepared } from '../db/client.js';
import { apiKeys, shops } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { fromJson } from '../orders/read.js';
import { portalCookie } from '../portal/cookies.js';
import { userRoleAsApiRole } from '../portal/roles.js';
import { csrfMatches, findPortalSession } from '../portal/sessions.js';
import { type ApiKey, type Role, roleRank } from '../shops/api-keys.js';
import type { Shop } from '../shops/shops.js';
import type { UserRole } from '../shops/users.js';
import {
  apiBucket,
  apiBucketSql,
  applyApiRateLimit,
  countHitSql,
  type WindowCount,
  windowCountOf,
} from './api-rate-limit.js';
import type { ReadyDeps } from './context.js';

export interface Credentials {
  secret: string;
  username?: string;
}

export function parseAuthorization(header: string | undefined): Credentials | null {
  if (!header) return null;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!value) return null;
  if (/^bearer$/i.test(scheme)) return { secret: value.trim() };
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return null;
    return { username: decoded.slice(0, i) || undefined, secret: decoded.slice(i + 1) };
  }
  return null;
}

const unauthorized = () =>
  new AppError(
    'unauthorized',
    'Missing or invalid API key. Use HTTP Basic (key name : secret) or Authorization: Bearer <secret>.',
    [],
    401,
    {
      'www-authenticate': 'Basic realm="resolve", Bearer',
    },
  );

/** Who is calling a merchant endpoint: an API key, or a portal user through their session cookie. */
export interface Principal {
  type: 'api_key' | 'user';
  id: string;
  /** The role in API terms (a portal agent acts as an editor). */
  role: Role;
  /** Portal users only. */
  userRole?: UserRole;
  email?: string;
  sessionId?: string;
}

const P = (name: string) => sql.placeholder(name);
const dialect = new PgDialect();
// The statements' only writes are bookkeeping (the count, last_used_at): they commit without waiting for a WAL
// flush, so the caller's counter row is not held locked through one (see src/resolve/lookup.ts).
const ASYNC_COMMIT = sql`set_config('synchronous_commit', 'off', true) as commit_mode`;
/** `, n as (<one hit on the caller's counter>)` when the database counts; nothing when Redis does. */
const counted = (count: boolean, principal: 'key' | 'user', id: SQL, shop: SQL, from: SQL) =>
  count
    ? sql`, n as (${countHitSql({ bucket: apiBucketSql(principal, id, shop), shopId: shop, window: P('window'), from })})`
    : sql``;
const countColumns = (count: boolean) =>
  count ? sql`(select hits from n) as hits, (select window_started_at from n) as window_started_at,` : sql``;

/**
 * An API key in one round trip: the key (valid: secret hash, not revoked or expired, Basic username), the shop
 * if the key covers it, last_used_at (at most once a minute) and, unless Redis counts, one hit on the key's
 * counter for this shop. A shop the key does not cover counts like an unknown one (`-`), so the answer is the
 * same for both. The SHA-256 digests are compared in SQL: a timing difference reveals digest prefixes, which
 * give no hint of a 256-bit secret.
 */
const apiKeyStatement = (count: boolean) =>
  dialect.sqlToQuery(sql`
  with k as (select * from api_keys
             where id = ${P('key_id')} and secret_hash = ${P('hash')} and revoked_at is null
               and (expires_at is null or expires_at > now())
               and (${P('username')}::text is null or name = ${P('username')}::text)),
       sh as (select s.* from shops s, k where s.slug = ${P('slug')} and s.id = any(k.shop_ids)),
       touch as (update api_keys set last_used_at = now()
                 where id = (select id from k) and (last_used_at is null or last_used_at < now() - interval '60 seconds')
                 returning id)
       ${counted(count, 'key', sql`k.id`, sql`(select id from sh)`, sql`from k`)}
  select (select to_json(k) from k) as key, (select to_json(sh) from sh) as shop, ${countColumns(count)}
         now() as now, ${ASYNC_COMMIT}`);

/**
 * A portal user's membership of the shop and, unless Redis counts, one hit on the user's counter for this
 * shop (`-` when the user is no member: the same answer as for an unknown shop).
 */
const portalStatement = (count: boolean) =>
  dialect.sqlToQuery(sql`
  with sh as (select s.*, m.role as member_role from shops s
              join memberships m on m.shop_id = s.id and m.user_id = ${P('user_id')}
              where s.slug = ${P('slug')})
       ${counted(count, 'user', sql`${P('user_id')}::text`, sql`(select id from sh)`, sql``)}
  select (select to_json(sh) from sh) as shop, (select member_role from sh) as role, ${countColumns(count)}
         now() as now, ${ASYNC_COMMIT}`);

const API_KEY_COUNTING = apiKeyStatement(true);
const API_KEY_ONLY = apiKeyStatement(false);
const PORTAL_COUNTING = portalStatement(true);
const PORTAL_ONLY = portalStatement(false);

interface CountColumns {
  hits?: number | string | null;
  window_started_at?: Date | string | null;
  now: Date | string;
}

/** Hits and time left of the caller's window: from the statement's row, or one INCR in Redis. */
async function windowCount(deps: ReadyDeps, row: CountColumns, bucket: string): Promise<WindowCount> {
  const limit = deps.config.apiRateLimit;
  if (deps.lookupCounters) return deps.lookupCounters.countOne(bucket, limit.windowSeconds);
  return windowCountOf(row, limit);
}

const SECRET_RE = /^rsk_([0-9a-z]{26})_([A-Za-z0-9_-]{43})$/;
const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

async function authorizeApiKey(deps: ReadyDeps, req: FastifyRequest, reply: FastifyReply, slug: string) {
  const creds = parseAuthorization(req.headers.authorization);
  const m = creds && SECRET_RE.exec(creds.secret);
  if (!creds || !m) throw unauthorized();
  const count = !deps.lookupCounters;
  const [row] = await runPrepared<
    CountColumns & { key: Record<string, unknown> | null; shop: Record<string, unknown> | null }
  >(
    deps.database.db,
    count ? 'api_key_auth_counting' : 'api_key_auth',
    count ? API_KEY_COUNTING : API_KEY_ONLY,
    {
      key_id: `key_${m[1]}`,
      hash: sha256(creds.secret),
      username: creds.username ?? null,
      slug,
      window: deps.config.apiRateLimit.windowSeconds,
    },
  );
  if (!row.key) throw unauthorized();
  const [key] = fromJson(apiKeys, [row.key]);
  const shop = row.shop ? fromJson(shops, [row.shop])[0] : null;
  applyApiRateLimit(
    reply,
    deps.config.apiRateLimit,
    await windowCount(deps, row, apiBucket('key', key.id, shop?.id ?? null)),
  );
  return { key, shop };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * An API key in Authorization wins; otherwise the portal session cookie, whose state-changing requests
 * must carry the session's CSRF token in `x-csrf-token`. A shop outside the caller's reach is 404, never 403.
 * Every authenticated request counts against the caller's limit for the shop (SPEC §8); the RateLimit-* fields
 * are set on the reply before any later check can fail, so 403/404/409 answers and idempotent replays carry them.
 */
export async function authorizeRequest(
  deps: ReadyDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  slug: string,
  role: Role,
): Promise<{ shop: Shop; principal: Principal; key: ApiKey | null }> {
  if (req.headers.authorization) {
    const { key, shop } = await authorizeApiKey(deps, req, reply, slug);
    if (!shop) throw new AppError('shop_not_found', `No shop "${slug}".`);
    if (roleRank(key.role as Role) < roleRank(role)) {
      throw new AppError(
        'forbidden',
        `This needs an API key with the ${role} role; this key is ${key.role}.`,
      );
    }
    req.log = req.log.child({ shop: shop.slug, key: key.id });
    return { shop, key, principal: { type: 'api_key', id: key.id, role: key.role as Role } };
  }
  const session = await findPortalSession(deps.database.db, portalCookie(deps.config, req));
  if (!session) throw unauthorized();
  if (
    !SAFE_METHODS.has(req.method) &&
    !csrfMatches(session, req.headers['x-csrf-token'] as string | undefined)
  )
    throw new AppError(
      'csrf_failed',
      'This request lacks the page’s security token. Reload the page and try again.',
    );
  const count = !deps.lookupCounters;
  const [row] = await runPrepared<
    CountColumns & { shop: Record<string, unknown> | null; role: string | null }
  >(deps.database.db, count ? 'portal_auth_counting' : 'portal_auth', count ? PORTAL_COUNTING : PORTAL_ONLY, {
    user_id: session.userId,
    slug,
    window: deps.config.apiRateLimit.windowSeconds,
  });
  const shop = row.shop ? fromJson(shops, [row.shop])[0] : null;
  applyApiRateLimit(
    reply,
    deps.config.apiRateLimit,
    await windowCount(deps, row, apiBucket('user', session.userId, shop?.id ?? null)),
  );
  if (!shop || !row.role) throw new AppError('shop_not_found', `No shop "${slug}".`);
  const membership = row.role as UserRole;
  const apiRole = userRoleAsApiRole(membership);
  if (roleRank(apiRole) < roleRank(role))
    throw new AppError('forbidden', `Your role (${membership}) cannot do this; ask an admin of the shop.`);
  req.log = req.log.child({ shop: shop.slug, user: session.userId });
  return {
    shop,
    key: null,
    principal: {
      type: 'user',
      id: session.userId,
      role: apiRole,
      userRole: membership,
      email: session.email,
      sessionId: session.id,
    },
  };
}
