import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { type Db, runPrepared } from '../db/client.js';
import { shops } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import type { Shop } from '../shops/shops.js';
import { rateLimited } from './rate-limit.js';
import { type ResolveSession, type SessionLevel, sessionBearerHash, slideExpiry } from './sessions.js';

/** The per-session limit on claim submissions (what hit() counted before): 30 an hour. */
export const CLAIM_LIMIT = { max: 30, windowSeconds: 3600 };

const P = (name: string) => sql.placeholder(name);

/**
 * Everything a claim submission needs before its transaction, in one round trip (built once, but planned on
 * every run: as a named statement, its generic plan, made while `claims` was nearly empty, made the idempotency
 * lookup cost more as a shop's claims grew: 4.1 instead of 2.4 ms of PostgreSQL CPU a claim after ~3,500 claims
 * in bench/claims.ts): the shop (by slug), the session (by the bearer's hash, of that shop), the per-session rate-limit
 * hit (as hit() counts it: bucket `claim:session:<id>`, a fixed window) and the claim already made with this
 * Idempotency-Key on the session's order.
 *
 * The statement commits asynchronously (`synchronous_commit = off` for its own implicit transaction, as the
 * lookup's bookkeeping does): its only write is the rate-limit count, which does not need to wait for a WAL
 * flush. A crash of PostgreSQL may forget the last fraction of a second of counts; nothing else.
 *
 * The claim number is NOT taken here: numbers are gap-free (a refused claim must not use one up; the tests
 * check it), so it is taken in the claim's own write statement (src/claims/create-claim.ts).
 */
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
                 where c.idempotency_key = ${P('key')})
  select sh.id as shop_id, sh.slug, sh.name, sh.default_language, sh.timezone, sh.connector, sh.claim_seq as shop_claim_seq,
         sh.settings, sh.created_at, sh.updated_at,
         s.id as session_id, s.order_id, s.level, s.token_id, s.expires_at,
         h.hits, h.window_started_at, h.locked_until, now() as now,
         prior.id as prior_id, prior.request_hash as prior_request_hash,
         set_config('synchronous_commit', 'off', true) as commit_mode
  from sh left join s on true left join h on true left join prior on true`);

interface ContextRow {
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
  opts: { preview: boolean; key: string | null },
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
  const [row] = await runPrepared<ContextRow>(db, null, CONTEXT, {
    slug,
    hash: tokenHash,
    window: CLAIM_LIMIT.windowSeconds,
    key: opts.key,
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
  };
}
