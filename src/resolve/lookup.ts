import { createHmac, timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
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
 * The lookup's two statements, built once with placeholders and run as named prepared statements: PostgreSQL
 * parses and plans each once per connection instead of on every lookup (planning was ~60 % of their database
 * time), and no SQL is rebuilt per request.
 *
 * The rate-limit bookkeeping commits asynchronously (`synchronous_commit = off`, set for the statement's own
 * implicit transaction only). Every lookup of a shop updates the same per-shop row (and, from one client, the
 * same per-IP row). With a synchronous commit each update keeps that row locked until its commit record is
 * flushed to disk, so all lookups of a shop queued behind one WAL flush each (measured: 46–64 lookups/s on
 * ~3 ms fsyncs, a busy 2-core machine; see bench/CUSTOMER.md). With an asynchronous commit the row is free as soon as the statement
 * ends. The only cost: a crash of PostgreSQL may forget the last fraction of a second of counts (the WAL
 * writer's delay). Counting, limits, lock-outs and answers are unchanged, and they still hold across processes.
 */
const P = (name: string) => sql.placeholder(name);
const ASYNC_COMMIT = sql`set_config('synchronous_commit', 'off', true)`;

/**
 * Upsert of one fixed-window counter; placeholders `<p>_bucket`, `<p>_shop`, `<p>_window` (seconds). With
 * `lock` (`<p>_max`, `<p>_lock` seconds), going over the max locks the bucket unless it is locked already: the
 * outcome of hit() with `lockSeconds`, in one statement.
 */
function bump(p: string, lock: boolean) {
  const expired = sql`rate_limits.window_started_at <= now() - (${P(`${p}_window`)} * interval '1 second')`;
  const hits = sql`case when ${expired} then 1 else rate_limits.hits + 1 end`;
  const until = sql`now() + (${P(`${p}_lock`)} * interval '1 second')`;
  const lockOnInsert = lock ? sql`case when 1 > ${P(`${p}_max`)} then ${until} end` : sql`null`;
  const lockOnUpdate = lock
    ? sql`, locked_until = case when rate_limits.locked_until > now() then rate_limits.locked_until
             when ${hits} > ${P(`${p}_max`)} then ${until} else rate_limits.locked_until end`
    : sql``;
  return sql`
    insert into rate_limits (bucket, shop_id, hits, window_started_at, locked_until, updated_at)
    values (${P(`${p}_bucket`)}, ${P(`${p}_shop`)}, 1, now(), ${lockOnInsert}, now())
    on conflict (bucket) do update set
      hits = ${hits},
      window_started_at = case when ${expired} then now() else rate_limits.window_started_at end,
      updated_at = now()${lockOnUpdate}
    returning hits, window_started_at, locked_until`;
}

const dialect = new PgDialect();

/** Counts the attempt per IP and per shop, reads lock-outs and fetches the order: one round trip. */
const LOOKUP = dialect.sqlToQuery(sql`
  with ip as (${bump('ip', false)}),
       shop as (${bump('shop', false)}),
       locks as (select max(locked_until) as locked_until from rate_limits
                 where bucket in (${P('fail_order_bucket')}, ${P('fail_ip_bucket')}) and locked_until > now()),
       o as (select id, zip_norm from orders where shop_id = ${P('shop_id')} and order_number_norm = ${P('number')} limit 1)
  select ip.hits as ip_hits, ip.window_started_at as ip_window, shop.hits as shop_hits, shop.window_started_at as shop_window,
         greatest(locks.locked_until, ip.locked_until, shop.locked_until) as locked_until,
         o.id as order_id, o.zip_norm, now() as now,
         (select hits from rate_limits where bucket = ${P('fail_order_bucket')}) as failures,
         ${ASYNC_COMMIT} as commit_mode
  from ip, shop, locks left join o on true`);

/**
 * Counts a failed attempt per (shop, order number) and per IP, locking either out once over its limit: one
 * round trip, the same on a wrong number and a wrong ZIP.
 */
const FAILURE = dialect.sqlToQuery(sql`
  with by_order as (${bump('order', true)}),
       by_ip as (${bump('ip', true)})
  select by_order.hits as order_hits, by_ip.hits as ip_hits, ${ASYNC_COMMIT} as commit_mode
  from by_order, by_ip`);

async function runPrepared<T>(
  db: Db,
  name: string,
  q: { sql: string; params: unknown[] },
  values: Record<string, unknown>,
): Promise<T[]> {
  const res = await db._.session.prepareQuery(q, undefined, name, false).execute(values);
  return (res as { rows: T[] }).rows;
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
  const [row] = await runPrepared<LookupRow>(db, 'resolve_lookup', LOOKUP, {
    ip_bucket: `lookup:ip:${ip}`,
    ip_shop: null,
    ip_window: limits.ipWindowSeconds,
    shop_bucket: `lookup:shop:${shop.id}`,
    shop_shop: shop.id,
    shop_window: 60,
    fail_order_bucket: lockBucket(shop.id, numberNorm),
    fail_ip_bucket: `lookup:fail-ip:${ip}`,
    shop_id: shop.id,
    number: numberNorm,
  });
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
  await runPrepared(db, 'resolve_lookup_failure', FAILURE, {
    order_bucket: lockBucket(shop.id, numberNorm),
    order_shop: shop.id,
    order_window: limits.lockSeconds,
    order_max: limits.orderFailures - 1,
    order_lock: limits.lockSeconds,
    ip_bucket: `lookup:fail-ip:${ip}`,
    ip_shop: null,
    ip_window: limits.lockSeconds,
    ip_max: limits.ipFailures - 1,
    ip_lock: limits.lockSeconds,
  });
  throw orderNotFound();
}
