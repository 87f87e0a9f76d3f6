import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { EvidenceUpload } from '../claims/check-claim.js';
import type { ClaimSnapshot } from '../claims/create-claim.js';
import { type Db, runPrepared } from '../db/client.js';
import { shops } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { type Children, childrenColumns, orderViewFromJson } from '../orders/read.js';
import type { Shop } from '../shops/shops.js';
import type { ClaimedUnits } from './eligibility.js';
import { rateLimited } from './rate-limit.js';
import { type ResolveSession, type SessionLevel, sessionBearerHash, slideExpiry } from './sessions.js';
import { resolveSettingsOf } from './settings.js';

/** The per-session limit on claim submissions (what hit() counted before): 30 an hour. */
export const CLAIM_LIMIT = { max: 30, windowSeconds: 3600 };

const P = (name: string) => sql.placeholder(name);

/**
 * Everything a claim submission reads, in one round trip (a named prepared statement): the shop (by slug), the
 * session (by the bearer's hash, of that shop), the per-session rate-limit hit (as hit() counts it: bucket
 * `claim:session:<id>`, a fixed window), the claim already made with this Idempotency-Key on the session's order,
 * and the snapshot the claim is checked against: the order with its lines, shipments and events, the version of
 * its row (`xmin`, see tryCreateClaim in src/claims/create-claim.ts), the units already claimed on it and the
 * uploads the evidence names.
 *
 * Its generic plan is made from the statistics of the tables at the time: index scans throughout once `claims`
 * has been analyzed with rows in it (autovacuum does it after 50 + 10 % new rows), or never analyzed at all (a
 * fresh install: PostgreSQL then plans it as at least 10 pages). A plan made right after `claims` was analyzed
 * EMPTY scans it sequentially and lasts until the next ANALYZE, which autovacuum runs within a minute or so of
 * the first 50 claims.
 *
 * The statement commits asynchronously (`synchronous_commit = off` for its own implicit transaction, as the
 * lookup's bookkeeping does): its only write is the rate-limit count, which does not need to wait for a WAL
 * flush. A crash of PostgreSQL may forget the last fraction of a second of counts; nothing else.
 *
 * The claim number is NOT taken here: numbers are gap-free (a refused claim must not use one up; the tests
 * check it), so it is taken in the claim's own write statement.
 */
const sessionShop = sql`(select shop_id from s)`;
const sessionOrder = sql`(select order_id from s)`;
const CONTEXT = new PgDialect().sqlToQuery(sql`
  with sh as (select * from shops where slug = ${P('slug')}),
       s as (select rs.id, rs.shop_id, rs.order_id, rs.level, rs.token_id, rs.expires_at
             from resolve_sessions rs join sh on rs.shop_id = sh.id where rs.token_hash = ${P('hash')}),
       h as (insert into rate_limits (bucket, shop_id, hits, window_started_at, updated_at)
             select 'claim:session:' || s.id, s.shop_id, 1, now(), now() from s
             on conflict (bucket) do update set
               hits = case when rate_limits.window_started_at <= now() - (${P('window')} * interval '1 second')
                        then 1 else rate_limits.hits + 1 end,
               window_started_at = case when rate_limits.window_started_at <= now() - (${P('window')} * interval '1 second')
                        then now() else rate_limits.window_started_at end,
               updated_at = now()
             returning hits, window_started_at, locked_until),
       prior as (select c.id, c.request_hash from claims c join s on c.shop_id = s.shop_id and c.order_id = s.order_id
                 where c.idempotency_key = ${P('key')}),
       ord as (select o.*, o.xmin::text as row_version from orders o
               where o.shop_id = ${sessionShop} and o.id = ${sessionOrder})
  select sh.id as shop_id, sh.slug, sh.name, sh.default_language, sh.timezone, sh.connector, sh.claim_seq as shop_claim_seq,
         sh.settings, sh.created_at, sh.updated_at,
         s.id as session_id, s.order_id, s.level, s.token_id, s.expires_at,
         h.hits, h.window_started_at, h.locked_until, now() as now,
         prior.id as prior_id, prior.request_hash as prior_request_hash,
         (select to_json(ord) from ord) as o, (select row_version from ord) as row_version,
         ${childrenColumns(sessionShop, (col) => sql`${col} = ${sessionOrder}`)},
         coalesce((select json_agg(json_build_object('line_item_id', ci.line_item_id, 'shipment_id', ci.shipment_id,
                                                    'quantity', ci.quantity))
                   from claims c join claim_items ci on ci.claim_id = c.id
                   where c.shop_id = ${sessionShop} and ci.shop_id = ${sessionShop}
                     and c.order_id = ${sessionOrder} and c.outcome is distinct from 'rejected'), '[]') as claimed,
         coalesce((select json_agg(json_build_object('id', u.id, 'contentType', u.content_type, 'size', u.size,
                                                    'claimId', u.claim_id, 'sessionId', u.session_id))
                   from uploads u
                   where u.shop_id = ${sessionShop} and u.order_id = ${sessionOrder}
                     and u.id = any(${P('upload_ids')}::text[])), '[]') as uploads,
         set_config('synchronous_commit', 'off', true) as commit_mode
  from sh left join s on true left join h on true left join prior on true`);

/** The statement's text, for bench/claims.ts's check of its generic plan. */
export const CLAIM_CONTEXT_SQL = CONTEXT.sql;

interface ContextRow extends Children {
  shop_id: string;
  slug: string;
  name: string;
  default_language: string;
  timezone: string;
  connector: string;
  shop_claim_seq: number;
  settings: unknown;
  created_at: unknown;
  updated_at: unknown;
  session_id: string | null;
  order_id: string | null;
  level: string | null;
  token_id: string | null;
  expires_at: unknown;
  hits: number | null;
  window_started_at: unknown;
  locked_until: unknown;
  now: unknown;
  prior_id: string | null;
  prior_request_hash: string | null;
  o: Record<string, unknown> | null;
  row_version: string | null;
  claimed: ClaimedUnits[];
  uploads: EvidenceUpload[];
}

/** A timestamptz as the driver returned it (a string under Drizzle's node-postgres types, or a Date). */
const time = (v: unknown): Date => shops.createdAt.mapFromDriverValue(v as string) as Date;

export type ClaimContext =
  | { shop: Shop; session: null; preview: true }
  | {
      shop: Shop;
      session: ResolveSession;
      preview: false;
      /** The claim already made on the session's order with this Idempotency-Key (checked again under the lock). */
      prior: { id: string; requestHash: string | null } | null;
      /** The session's order as read by the same statement, with the version of its row (tryCreateClaim). */
      snapshot: (ClaimSnapshot & { rowVersion: string }) | null;
    };

/**
 * The shop, and the caller: a preview bearer (nothing checked or counted here), or the customer session with
 * its claim hit counted. Errors, in this order, as requireShop, requireSession and hit() raise them: unknown
 * shop (404), no session bearer, session unknown or expired, rate limited (429).
 */
export async function claimContext(
  db: Db,
  slug: string,
  authorization: string | undefined,
  opts: { preview: boolean; key: string | null; uploadIds: string[] },
  now = new Date(),
): Promise<ClaimContext> {
  // No bearer (or a malformed one): the shop is still looked up first, so an unknown shop answers 404 as before.
  let tokenHash: string | null = null;
  let missing: unknown = null;
  if (!opts.preview) {
    try {
      tokenHash = sessionBearerHash(authorization);
    } catch (err) {
      missing = err;
    }
  }
  const [row] = await runPrepared<ContextRow>(db, 'resolve_claim_context', CONTEXT, {
    slug,
    hash: tokenHash,
    window: CLAIM_LIMIT.windowSeconds,
    key: opts.key,
    upload_ids: opts.uploadIds,
  });
  if (!row) throw new AppError('shop_not_found', `No shop "${slug}".`);
  const shop: Shop = {
    id: row.shop_id,
    slug: row.slug,
    name: row.name,
    defaultLanguage: row.default_language,
    timezone: row.timezone,
    connector: row.connector,
    claimSeq: row.shop_claim_seq,
    settings: shops.settings.mapFromDriverValue(row.settings),
    createdAt: time(row.created_at),
    updatedAt: time(row.updated_at),
  };
  if (opts.preview) return { shop, session: null, preview: true };
  if (missing) throw missing;
  const expiresAt = await slideExpiry(db, row.session_id, row.session_id ? time(row.expires_at) : null, now);
  const session: ResolveSession = {
    id: row.session_id!,
    shopId: row.shop_id,
    orderId: row.order_id!,
    level: row.level as SessionLevel,
    tokenId: row.token_id,
    expiresAt,
  };

  // The hit, judged as hit() judges it (no lock-out for this limit).
  const dbNow = time(row.now).getTime();
  const locked = row.locked_until == null ? null : time(row.locked_until).getTime();
  if (locked !== null && locked > dbNow) throw rateLimited((locked - dbNow) / 1000);
  if (row.hits! > CLAIM_LIMIT.max)
    throw rateLimited(
      (time(row.window_started_at).getTime() + CLAIM_LIMIT.windowSeconds * 1000 - dbNow) / 1000,
    );
  return {
    shop,
    session,
    preview: false,
    prior: row.prior_id ? { id: row.prior_id, requestHash: row.prior_request_hash } : null,
    snapshot:
      row.o && row.row_version
        ? {
            order: orderViewFromJson(row.o, row, {
              stuckAfterDays: resolveSettingsOf(shop).stuck_after_days,
              now,
            }),
            claimed: row.claimed,
            uploads: row.uploads,
            rowVersion: row.row_version,
          }
        : null,
  };
}
