import { randomInt } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Config } from '../config.js';
import { type Db, runPrepared } from '../db/client.js';
import { shops } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { normalizeOrderNumber, normalizeZip } from '../orders/document.js';
import {
  type Children,
  childrenColumns,
  fromJson,
  type OrderView,
  orderViewFromJson,
} from '../orders/read.js';
import type { Shop } from '../shops/shops.js';
import type { ClaimedUnits } from './eligibility.js';
import { rateLimited } from './rate-limit.js';
import type { LookupCounters } from './redis-counters.js';
import { newSessionSecret, SESSION_TTL_MS } from './sessions.js';
import { resolveSettingsOf } from './settings.js';

/** One answer for a wrong number and a wrong ZIP: same status, same body, same work. */
export const orderNotFound = () =>
  new AppError(
    'order_not_found',
    'We could not find an order with this order number and ZIP code. Check both and try again.',
  );

export const lockBucket = (shopId: string, orderNumberNorm: string) =>
  `lookup:fail-order:${shopId}:${orderNumberNorm}`;

/**
 * Failed lookups from one client IP, per shop: the lock-out it leads to is the shop's to see and lift (a shared
 * network of one shop's customers must not be locked out of every shop, nor invisibly). The attempt limit per IP
 * (`lookup:ip:…`, below) stays global, so guessing across many shops is still capped.
 */
export const ipLockBucket = (shopId: string, ip: string) => `lookup:fail-ip:${shopId}:${ip}`;

/**
 * The lookup is one prepared statement, planned once per connection. The rate-limit bookkeeping and the session
 * commit asynchronously (`synchronous_commit = off`, set for the statement's own implicit transaction only).
 * Every lookup of a shop updates the same per-shop row (and, from one client, the same per-IP row). With a
 * synchronous commit each update keeps that row locked until its commit record is flushed to disk, so all
 * lookups of a shop queued behind one WAL flush each (measured: 46–64 lookups/s on ~3 ms fsyncs, a busy 2-core
 * machine; see bench/CUSTOMER.md). With an asynchronous commit the row is free as soon as the statement ends.
 * The cost: a crash of PostgreSQL may forget the last fraction of a second (the WAL writer's delay) of counts
 * and of sessions opened (the customer looks the order up again). Counting, limits, lock-outs and answers are
 * unchanged, and they hold across processes.
 */
const P = (name: string) => sql.placeholder(name);
const ASYNC_COMMIT = sql`set_config('synchronous_commit', 'off', true)`;

/**
 * Upsert of one fixed-window counter from `select <bucket>, <shop> <from>`: the hit counts only when `from` gives
 * a row. With `lock` (max, seconds), going over the max locks the bucket unless it is locked already (hit() with
 * `lockSeconds`).
 */
type Part = SQL | ReturnType<typeof P>;
function bump(o: {
  bucket: Part;
  shop: Part;
  window: Part;
  from?: SQL;
  lock?: { max: Part; seconds: Part };
}) {
  const expired = sql`rate_limits.window_started_at <= now() - (${o.window} * interval '1 second')`;
  const hits = sql`case when ${expired} then 1 else rate_limits.hits + 1 end`;
  const until = o.lock ? sql`now() + (${o.lock.seconds} * interval '1 second')` : sql`null`;
  const lockOnInsert = o.lock ? sql`case when 1 > ${o.lock.max} then ${until} end` : sql`null::timestamptz`;
  const lockOnUpdate = o.lock
    ? sql`, locked_until = case when rate_limits.locked_until > now() then rate_limits.locked_until
             when ${hits} > ${o.lock.max} then ${until} else rate_limits.locked_until end`
    : sql``;
  return sql`
    insert into rate_limits (bucket, shop_id, hits, window_started_at, locked_until, updated_at)
    select ${o.bucket}::text, ${o.shop}::text, 1, now(), ${lockOnInsert}, now() ${o.from ?? sql``}
    on conflict (bucket) do update set
      hits = ${hits},
      window_started_at = case when ${expired} then now() else rate_limits.window_started_at end,
      updated_at = now()${lockOnUpdate}
    returning hits, window_started_at, locked_until`;
}

/**
 * The per-shop attempt count (database counters) is spread over this many rows, one picked at random per lookup, and
 * the limit is checked against their sum. Every lookup of a shop updates one of them, and an update holds its row
 * until the statement ends: with one row, all of a shop's lookups queued behind each other (bench/CUSTOMER.md:
 * 6–11 % of the backends' time in lock waits at 50 connections). The sum reads the other rows as of the statement's
 * start, so lookups running at the same moment can together pass the limit by at most their own number (the pool
 * sizes); one at a time, the count is exact.
 */
export const SHOP_SLOTS = 8;

/** The per-shop count: one hit on this lookup's slot, and the other slots' hits of the current minute. */
const SHOP_COUNTING = sql`
  sb as (${bump({ bucket: sql`'lookup:shop:' || sh.id || ':' || ${P('shop_slot')}::int`, shop: sql`sh.id`, window: sql`60`, from: sql`from sh` })}),
  sb_rest as (select coalesce(sum(r.hits), 0)::int as hits, min(r.window_started_at) as started from rate_limits r
              where r.bucket = any(array(select 'lookup:shop:' || sh.id || ':' || g
                                         from sh, generate_series(0, ${sql.raw(String(SHOP_SLOTS - 1))}) g
                                         where g <> ${P('shop_slot')}::int))
                and r.window_started_at > now() - interval '60 seconds'),`;
const shopHits = sql`coalesce((select hits from sb), 0) + (select hits from sb_rest)`;

const dialect = new PgDialect();
// lockBucket() and ipLockBucket() of the shop read in the statement.
const orderLockBucket = sql`'lookup:fail-order:' || sh.id || ':' || ${P('number')}::text`;
const ipFailBucket = sql`'lookup:fail-ip:' || sh.id || ':' || ${P('client_ip')}::text`;
const failed = sql`from sh, gate where gate.open and not exists (select 1 from ok)`;

/**
 * Verifies order number + ZIP and, when both match, opens the session and reads what the answer shows: one
 * round trip on every path. In order: the shop; one hit per IP (global) and per shop; lock-outs of this order
 * number and of this IP in this shop; the order (id and ZIP only). The gate is open unless the caller is locked out
 * or over a limit. Behind an open gate, a matching ZIP opens the session, clears earlier failures of this number (a
 * success forgives typos) and reads the order with its lines, shipments, events and claimed units; a wrong number
 * and a wrong ZIP count one failure per (shop, number) and per (shop, IP) instead, locking out past the limit.
 * Nothing else is read on a miss, so both misses do the same work. (Data-modifying CTEs run whether or not the
 * select reads them.) A success does not clear the IP's failures: else a guesser's own real order would reset
 * their count between guesses.
 *
 * Both lock-outs are the shop's (shop_id set): GET /v1/shops/{slug}/lookup-lockouts lists them and the merchant
 * can lift them (src/resolve/lockout-routes.ts).
 *
 * A named statement keeps its generic plan until PostgreSQL's statistics of a table it reads change (ANALYZE,
 * run by autovacuum as tables grow), so a plan made while `claims` was empty (scans of claims and claim items)
 * lasts at most until the next automatic ANALYZE. Every other part is a primary-key or unique-index lookup.
 */
const openByZip = (countInDb: boolean) =>
  dialect.sqlToQuery(sql`
  with sh as (select * from shops where slug = ${P('slug')}),
       ${countInDb ? sql`ip as (${bump({ bucket: P('ip_bucket'), shop: sql`null`, window: P('ip_window') })}),` : sql``}
       ${countInDb ? SHOP_COUNTING : sql``}
       locks as (select max(r.locked_until) as locked_until from rate_limits r
                 where r.bucket in ((select ${orderLockBucket} from sh), (select ${ipFailBucket} from sh))
                   and r.locked_until > now()),
       o as (select o.id, o.zip_norm from orders o
             where o.shop_id = (select id from sh) and o.order_number_norm = ${P('number')} limit 1),
       gate as (select (select locked_until from locks) is null
                   ${countInDb ? sql`and (select hits from ip) <= ${P('ip_max')} and ${shopHits} <= ${P('shop_max')}` : sql``} as open),
       ok as (select o.id from o, gate where gate.open and ${P('zip')}::text <> '' and o.zip_norm = ${P('zip')}),
       ses as (insert into resolve_sessions (id, token_hash, shop_id, order_id, level, token_id, expires_at, created_at)
               select ${P('session_id')}, ${P('session_hash')}, sh.id, ok.id, 'zip', null, ${P('expires_at')}, ${P('now')}
               from sh, ok returning id),
       forgive as (delete from rate_limits where bucket = (select ${orderLockBucket} from sh) and exists (select 1 from ok) returning bucket),
       fail_order as (${bump({
         bucket: orderLockBucket,
         shop: sql`sh.id`,
         window: P('lock_seconds'),
         from: failed,
         lock: { max: P('order_max'), seconds: P('lock_seconds') },
       })}),
       fail_ip as (${bump({
         bucket: ipFailBucket,
         shop: sql`sh.id`,
         window: P('lock_seconds'),
         from: failed,
         lock: { max: P('ip_max_failures'), seconds: P('lock_seconds') },
       })})
  select (select to_json(sh) from sh) as shop, now() as now,
         ${
           countInDb
             ? sql`(select hits from ip) as ip_hits, (select window_started_at from ip) as ip_window, ${shopHits} as shop_hits,
         least((select window_started_at from sb), (select started from sb_rest)) as shop_window,`
             : sql``
         }
         (select locked_until from locks) as locked_until,
         (select count(*) from ses)::int as opened,
         (select to_json(x) from orders x where x.id = (select id from ok) and x.shop_id = (select id from sh)) as o,
         ${childrenColumns(sql`(select id from sh)`, (col) => sql`${col} = (select id from ok)`)},
         coalesce((select json_agg(json_build_object('line_item_id', ci.line_item_id, 'shipment_id', ci.shipment_id,
                                                    'quantity', ci.quantity))
                   from claims c join claim_items ci on ci.claim_id = c.id
                   where c.shop_id = (select id from sh) and ci.shop_id = (select id from sh)
                     and c.order_id = (select id from ok) and c.outcome is distinct from 'rejected'), '[]') as claimed,
         ${ASYNC_COMMIT} as commit_mode`);
/** Counters in the database (default) or in Redis (REDIS_URL): then only failures and lock-outs are in here. */
const OPEN_COUNTING = openByZip(true);
const OPEN_GATED = openByZip(false);

/** The lookup statement (with the counters in the database or not) and its values: bench/lookup.ts runs it bare. */
export function lookupStatement(
  config: Config,
  countInDb: boolean,
  slug: string,
  input: { order_number: string; zip_code: string },
  ip: string,
  session: { id: string; hash: string; expiresAt: Date },
  now: Date,
) {
  const limits = config.lookup;
  return {
    name: countInDb ? 'resolve_open_by_zip' : 'resolve_open_by_zip_gated',
    query: countInDb ? OPEN_COUNTING : OPEN_GATED,
    values: {
      slug,
      ip_bucket: `lookup:ip:${ip}`,
      ip_window: limits.ipWindowSeconds,
      ip_max: limits.ipMax,
      shop_max: limits.shopMax,
      shop_slot: randomInt(SHOP_SLOTS),
      client_ip: ip,
      number: normalizeOrderNumber(input.order_number),
      zip: normalizeZip(input.zip_code),
      session_id: session.id,
      session_hash: session.hash,
      expires_at: session.expiresAt,
      now,
      lock_seconds: limits.lockSeconds,
      order_max: limits.orderFailures - 1,
      ip_max_failures: limits.ipFailures - 1,
    },
  };
}

interface OpenRow extends Children {
  shop: Record<string, unknown> | null;
  now: Date | string;
  /** Only when the counters are in the database. */
  ip_hits?: number;
  ip_window?: Date | string;
  shop_hits?: number | null;
  shop_window?: Date | string | null;
  locked_until: Date | string | null;
  opened: number;
  o: Record<string, unknown> | null;
  claimed: ClaimedUnits[];
}

export interface OpenedByZip {
  shop: Shop;
  session: { bearer: string; expiresAt: Date };
  view: OrderView;
  claimed: ClaimedUnits[];
}

/**
 * Order number + ZIP (SPEC §3) → a `zip` session, the order and the units already claimed. Limits: attempts per
 * client IP and per shop; failures per (shop, order number) and per (shop, client IP) lock the caller out for a
 * while (429). A wrong number and a wrong ZIP give the same 404 after the same work. Nothing about the order
 * leaves this function unless both match.
 */
export async function openSessionByZip(
  db: Db,
  config: Config,
  counters: LookupCounters | null,
  slug: string,
  input: { order_number: string; zip_code: string },
  ip: string,
  now = new Date(),
): Promise<OpenedByZip> {
  const limits = config.lookup;
  if (counters) {
    const n = await counters.countAttempt(ip, slug, { ipSeconds: limits.ipWindowSeconds, shopSeconds: 60 });
    if (n.ipHits > limits.ipMax) throw rateLimited(n.ipWindowLeftMs / 1000);
    if (n.shopHits > limits.shopMax) throw rateLimited(n.shopWindowLeftMs / 1000);
  }
  const secret = newSessionSecret();
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  const statement = lookupStatement(config, !counters, slug, input, ip, { ...secret, expiresAt }, now);
  const [row] = await runPrepared<OpenRow>(db, statement.name, statement.query, statement.values);
  if (!row.shop) throw new AppError('shop_not_found', `No shop "${slug}".`);
  const dbNow = new Date(row.now).getTime();
  if (row.locked_until) {
    throw rateLimited(
      (new Date(row.locked_until).getTime() - dbNow) / 1000,
      'Too many unsuccessful attempts. Please wait before trying again.',
    );
  }
  if (!counters) {
    if (row.ip_hits! > limits.ipMax)
      throw rateLimited((new Date(row.ip_window!).getTime() + limits.ipWindowSeconds * 1000 - dbNow) / 1000);
    if ((row.shop_hits ?? 0) > limits.shopMax)
      throw rateLimited((new Date(row.shop_window ?? dbNow).getTime() + 60_000 - dbNow) / 1000);
  }
  // The failure is counted already; the answer stays 404 even when this one triggered a lock-out.
  if (!row.opened || !row.o) throw orderNotFound();

  const [shop] = fromJson(shops, [row.shop]);
  const view = orderViewFromJson(row.o, row, {
    stuckAfterDays: resolveSettingsOf(shop).stuck_after_days,
    now,
  });
  return { shop, session: { bearer: secret.bearer, expiresAt }, view, claimed: row.claimed };
}
