import { type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { FastifyReply } from 'fastify';
import type { Config } from '../config.js';
import { rateLimited } from '../resolve/rate-limit.js';

/**
 * The merchant API's fixed-window limit per caller and shop (SPEC §8). Every authenticated merchant request
 * counts: in the statement that authenticates it (database), or with one INCR in Redis (`REDIS_URL`).
 */
export type ApiRateLimit = Config['apiRateLimit'];

/** Hits in the current window, and how long the window still runs. */
export interface WindowCount {
  hits: number;
  windowLeftMs: number;
}

/** `api:key:<key id>:<shop id>` or `api:user:<user id>:<shop id>`; `-` for a shop the caller cannot see. */
export const apiBucket = (principal: 'key' | 'user', id: string, shopId: string | null) =>
  `api:${principal}:${id}:${shopId ?? '-'}`;

/** The same bucket name in SQL, from the caller's id and the visible shop's id (null: not visible). */
export const apiBucketSql = (principal: 'key' | 'user', id: SQL, shopId: SQL) =>
  sql`${sql.raw(`'api:${principal}:'`)} || ${id} || ':' || coalesce(${shopId}, '-')`;

/**
 * One hit on a rate_limits row from `select … <from>` (nothing counts when `from` gives no row), returning the
 * hits and start of the current window. The first hit after a window ended starts the next one.
 */
export function countHitSql(o: { bucket: SQL; shopId: SQL; window: SQL | Placeholder; from: SQL }): SQL {
  const expired = sql`rate_limits.window_started_at <= now() - (${o.window} * interval '1 second')`;
  return sql`insert into rate_limits (bucket, shop_id, hits, window_started_at, updated_at)
    select ${o.bucket}, ${o.shopId}, 1, now(), now() ${o.from}
    on conflict (bucket) do update set
      hits = case when ${expired} then 1 else rate_limits.hits + 1 end,
      window_started_at = case when ${expired} then now() else rate_limits.window_started_at end,
      updated_at = now()
    returning hits, window_started_at`;
}

/** A database count (hits, window start, the database's now) as hits and time left. */
export function windowCountOf(
  row: { hits?: number | string | null; window_started_at?: Date | string | null; now: Date | string },
  limit: ApiRateLimit,
): WindowCount {
  const now = new Date(row.now).getTime();
  const started = row.window_started_at ? new Date(row.window_started_at).getTime() : now;
  return { hits: Number(row.hits ?? 0), windowLeftMs: started + limit.windowSeconds * 1000 - now };
}

/**
 * Sets the RateLimit-* fields (draft-ietf-httpapi-ratelimit-headers-06: quota, remaining quota units, seconds
 * until the quota resets, and the policy `<quota>;w=<window seconds>`) on every answer to this request, errors
 * and idempotent replays included; over the limit throws 429 rate_limited with Retry-After.
 */
export function applyApiRateLimit(reply: FastifyReply, limit: ApiRateLimit, count: WindowCount): void {
  const reset = Math.max(1, Math.ceil(count.windowLeftMs / 1000));
  reply.headers({
    'ratelimit-limit': String(limit.max),
    'ratelimit-remaining': String(Math.max(0, limit.max - count.hits)),
    'ratelimit-reset': String(reset),
    'ratelimit-policy': `${limit.max};w=${limit.windowSeconds}`,
  });
  if (count.hits > limit.max)
    throw rateLimited(
      reset,
      `Rate limit exceeded: ${limit.max} requests per ${limit.windowSeconds} s for this API key (or portal user) and shop. Retry after ${reset} s.`,
    );
}
