import { sql } from 'drizzle-orm';
import { type Db, query } from '../db/client.js';
import { AppError } from '../lib/errors.js';

export interface Limit {
  /** Allowed hits per window. */
  max: number;
  windowSeconds: number;
  /** When set, going over the limit locks the bucket this long (a lock-out), not just until the window ends. */
  lockSeconds?: number;
}

interface BucketState {
  hits: number;
  window_started_at: Date | string;
  locked_until: Date | string | null;
}

export function rateLimited(
  retryAfterSeconds: number,
  message = 'Too many attempts. Please wait before trying again.',
): AppError {
  const s = Math.max(1, Math.ceil(retryAfterSeconds));
  return new AppError('rate_limited', message, [], 429, { 'retry-after': String(s) });
}

/** Seconds the bucket is still locked, or 0. */
export async function lockedFor(db: Db, bucket: string): Promise<number> {
  const rows = await query<{ s: number | string | null }>(
    db,
    sql`select extract(epoch from (locked_until - now()))::float8 as s from rate_limits where bucket = ${bucket} and locked_until > now()`,
  );
  return rows.length ? Number(rows[0].s) : 0;
}

/**
 * Counts one hit in a fixed window (atomic upsert: holds across processes). Throws 429 with Retry-After
 * when the bucket is over its limit or locked.
 */
export async function hit(db: Db, bucket: string, shopId: string | null, limit: Limit): Promise<void> {
  const [row] = await query<BucketState & { now: Date | string }>(
    db,
    sql`insert into rate_limits (bucket, shop_id, hits, window_started_at, updated_at)
        values (${bucket}, ${shopId}, 1, now(), now())
        on conflict (bucket) do update set
          hits = case when rate_limits.window_started_at <= now() - (${limit.windowSeconds} * interval '1 second') then 1 else rate_limits.hits + 1 end,
          window_started_at = case when rate_limits.window_started_at <= now() - (${limit.windowSeconds} * interval '1 second') then now() else rate_limits.window_started_at end,
          updated_at = now()
        returning hits, window_started_at, locked_until, now() as now`,
  );
  const now = new Date(row.now).getTime();
  if (row.locked_until && new Date(row.locked_until).getTime() > now)
    throw rateLimited((new Date(row.locked_until).getTime() - now) / 1000);
  if (row.hits <= limit.max) return;
  if (limit.lockSeconds) {
    await db.execute(
      sql`update rate_limits set locked_until = now() + (${limit.lockSeconds} * interval '1 second') where bucket = ${bucket}`,
    );
    throw rateLimited(limit.lockSeconds);
  }
  throw rateLimited((new Date(row.window_started_at).getTime() + limit.windowSeconds * 1000 - now) / 1000);
}

export async function clearBucket(db: Db, bucket: string): Promise<void> {
  await db.execute(sql`delete from rate_limits where bucket = ${bucket}`);
}

export async function pruneRateLimits(db: Db): Promise<void> {
  await db.execute(
    sql`delete from rate_limits where updated_at < now() - interval '1 day' and (locked_until is null or locked_until < now())`,
  );
}
