import { createHmac, timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Config } from '../config.js';
import { type Db, query } from '../db/client.js';
import { AppError } from '../lib/errors.js';
import { normalizeOrderNumber, normalizeZip } from '../orders/document.js';
import type { Shop } from '../shops/shops.js';
import { clearBucket, rateLimited } from './rate-limit.js';

/** One answer for a wrong number and a wrong ZIP: same status, same body, same work. */
export const orderNotFound = () =>
  new AppError(
    'order_not_found',
    'We could not find an order with this order number and ZIP code. Check both and try again.',
  );

const compareKey = Buffer.from('resolve-zip-compare');
const digest = (v: string) => createHmac('sha256', compareKey).update(v).digest();
const DUMMY_ZIP = '\u0000no-order\u0000';

export const lockBucket = (shopId: string, orderNumberNorm: string) =>
  `lookup:fail-order:${shopId}:${orderNumberNorm}`;

interface LookupRow {
  ip_hits: number;
  ip_window: Date | string;
  shop_hits: number;
  shop_window: Date | string;
  locked_until: Date | string | null;
  order_id: string | null;
  zip_norm: string | null;
  failures: number | null;
  now: Date | string;
}

/**
 * The rate-limit bookkeeping commits asynchronously (`synchronous_commit = off` for its own implicit transaction
 * only). Every lookup of a shop updates the same per-shop row (and, from one client, the same per-IP row): with a
 * synchronous commit, each update keeps that row locked until its commit record is flushed to disk, so lookups
 * of a shop queue behind one WAL flush each (measured: ~50–100 lookups/s with ~3 ms fsyncs; see
 * bench/CUSTOMER.md). With an asynchronous commit the row is released as soon as the statement ends. The only cost
 * is that a crash of PostgreSQL may forget the last few hundred milliseconds of counts (WAL writer delay); the
 * counting itself, the limits and the answers are unchanged, and the counts still hold across processes.
 */
const ASYNC_COMMIT = sql`set_config('synchronous_commit', 'off', true)`;

/**
 * Upsert of one fixed-window counter. With `lock`, going over `lock.max` locks the bucket for `lock.seconds`
 * unless it is locked already (the same outcome as hit() with `lockSeconds`, in one statement).
 */
function bump(
  bucket: string,
  shop: string | null,
  windowSeconds: number,
  lock?: { max: number; seconds: number },
) {
  const expired = sql`rate_limits.window_started_at <= now() - (${windowSeconds} * interval '1 second')`;
  const hits = sql`case when ${expired} then 1 else rate_limits.hits + 1 end`;
  const until = sql`now() + (${lock?.seconds ?? 0} * interval '1 second')`;
  const lockedUntil = lock
    ? sql`, locked_until = case when rate_limits.locked_until > now() then rate_limits.locked_until
             when ${hits} > ${lock.max} then ${until} else rate_limits.locked_until end`
    : sql``;
  return sql`
    insert into rate_limits (bucket, shop_id, hits, window_started_at, locked_until, updated_at)
    values (${bucket}, ${shop}, 1, now(), ${lock ? sql`case when 1 > ${lock.max} then ${until} end` : null}, now())
    on conflict (bucket) do update set
      hits = ${hits},
      window_started_at = case when ${expired} then now() else rate_limits.window_started_at end,
      updated_at = now()${lockedUntil}
    returning hits, window_started_at, locked_until`;
}

/** Counts the attempt per IP and per shop, reads lock-outs and fetches the order: one round trip. */
function lookupStatement(shopId: string, numberNorm: string, ip: string, limits: Config['lookup']) {
  return sql`
    with ip as (${bump(`lookup:ip:${ip}`, null, limits.ipWindowSeconds)}),
         shop as (${bump(`lookup:shop:${shopId}`, shopId, 60)}),
         locks as (select max(locked_until) as locked_until from rate_limits
                   where bucket in (${lockBucket(shopId, numberNorm)}, ${`lookup:fail-ip:${ip}`}) and locked_until > now()),
         o as (select id, zip_norm from orders where shop_id = ${shopId} and order_number_norm = ${numberNorm} limit 1)
    select ip.hits as ip_hits, ip.window_started_at as ip_window, shop.hits as shop_hits, shop.window_started_at as shop_window,
           greatest(locks.locked_until, ip.locked_until, shop.locked_until) as locked_until,
           o.id as order_id, o.zip_norm, now() as now,
           (select hits from rate_limits where bucket = ${lockBucket(shopId, numberNorm)}) as failures,
           ${ASYNC_COMMIT} as commit_mode
    from ip, shop, locks left join o on true`;
}

/**
 * Counts a failed attempt per (shop, order number) and per IP, locking either out once over its limit: one
 * round trip, the same on a wrong number and a wrong ZIP.
 */
function failureStatement(shopId: string, numberNorm: string, ip: string, limits: Config['lookup']) {
  return sql`
    with by_order as (${bump(lockBucket(shopId, numberNorm), shopId, limits.lockSeconds, { max: limits.orderFailures - 1, seconds: limits.lockSeconds })}),
         by_ip as (${bump(`lookup:fail-ip:${ip}`, null, limits.lockSeconds, { max: limits.ipFailures - 1, seconds: limits.lockSeconds })})
    select by_order.hits as order_hits, by_ip.hits as ip_hits, ${ASYNC_COMMIT} as commit_mode
    from by_order, by_ip`;
}

/**
 * Verifies order number + ZIP (SPEC §3). Limits: attempts per client IP and per shop; failures per
 * (shop, order number) and per IP lock the caller out for a while. Nothing about the order leaves this
 * function unless both match.
 */
export async function verifyOrderByZip(
  db: Db,
  config: Config,
  shop: Shop,
  input: { order_number: string; zip_code: string },
  ip: string,
): Promise<string> {
  const limits = config.lookup;
  const numberNorm = normalizeOrderNumber(input.order_number);
  const zipNorm = normalizeZip(input.zip_code);
  const [row] = await query<LookupRow>(db, lookupStatement(shop.id, numberNorm, ip, limits));
  const now = new Date(row.now).getTime();
  if (row.locked_until) {
    throw rateLimited(
      (new Date(row.locked_until).getTime() - now) / 1000,
      'Too many unsuccessful attempts. Please wait before trying again.',
    );
  }
  if (row.ip_hits > limits.ipMax)
    throw rateLimited((new Date(row.ip_window).getTime() + limits.ipWindowSeconds * 1000 - now) / 1000);
  if (row.shop_hits > limits.shopMax)
    throw rateLimited((new Date(row.shop_window).getTime() + 60_000 - now) / 1000);

  const zipMatches = timingSafeEqual(digest(row.zip_norm ?? DUMMY_ZIP), digest(zipNorm));
  if (row.order_id && row.zip_norm && zipNorm && zipMatches) {
    if (row.failures) await clearBucket(db, lockBucket(shop.id, numberNorm)); // a success forgives earlier typos
    return row.order_id;
  }

  // Count the failure on both paths alike; the answer stays 404 even when this one triggers a lock-out.
  await query(db, failureStatement(shop.id, numberNorm, ip, limits));
  throw orderNotFound();
}
