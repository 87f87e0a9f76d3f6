import { sql } from 'drizzle-orm';
import { type Db, execCount, query } from '../db/client.js';
import { jobs } from '../db/schema.js';
import { newId } from '../lib/ids.js';

export interface EnqueueOptions {
  shopId?: string | null;
  runAt?: Date;
  maxAttempts?: number;
  /** At most one live job per key (e.g. one sync per order); a second enqueue is a no-op. */
  uniqueKey?: string;
}

/** Writes the job in the caller's transaction: it exists only if the change it belongs to commits. */
export async function enqueue(
  tx: Db,
  type: string,
  payload: unknown,
  opts: EnqueueOptions = {},
): Promise<string> {
  const id = newId('job');
  await tx
    .insert(jobs)
    .values({
      id,
      type,
      payload,
      shopId: opts.shopId ?? null,
      runAt: opts.runAt ?? new Date(),
      maxAttempts: opts.maxAttempts ?? 10,
      uniqueKey: opts.uniqueKey ?? null,
    })
    .onConflictDoNothing();
  return id;
}

export interface ClaimedJob {
  id: string;
  type: string;
  shop_id: string | null;
  payload: unknown;
  attempts: number;
  max_attempts: number;
}

/** Claims up to `limit` due jobs for `leaseMs`; a worker that dies lets its lease expire and the job runs again. */
export async function claimJobs(
  db: Db,
  workerId: string,
  limit: number,
  leaseMs: number,
): Promise<ClaimedJob[]> {
  return query<ClaimedJob>(
    db,
    sql`update jobs set status = 'running', attempts = attempts + 1, locked_by = ${workerId},
          locked_until = now() + (${leaseMs} * interval '1 millisecond'), updated_at = now()
        where id in (
          select id from jobs
          where (status = 'queued' and run_at <= now())
             or (status = 'running' and locked_until < now())
          order by run_at
          limit ${limit}
          for update skip locked)
        returning id, type, shop_id, payload, attempts, max_attempts`,
  );
}

export async function completeJob(db: Db, id: string, workerId: string): Promise<boolean> {
  const n = await execCount(
    db,
    sql`update jobs set status = 'succeeded', finished_at = now(), updated_at = now(), locked_until = null,
          unique_key = null
        where id = ${id} and locked_by = ${workerId} and status = 'running'`,
  );
  return n === 1;
}

/** Exponential backoff with full jitter: base 2^attempt seconds, capped at one hour. */
export function backoffMs(attempt: number, random = Math.random): number {
  const cap = 3_600_000;
  const base = Math.min(cap, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

export async function failJob(
  db: Db,
  job: ClaimedJob,
  workerId: string,
  error: string,
): Promise<'retry' | 'failed'> {
  const parked = job.attempts >= job.max_attempts;
  const delay = backoffMs(job.attempts);
  await db.execute(
    sql`update jobs set
          status = ${parked ? 'failed' : 'queued'},
          run_at = ${parked ? sql`run_at` : sql`now() + (${delay} * interval '1 millisecond')`},
          finished_at = ${parked ? sql`now()` : null},
          unique_key = ${parked ? null : sql`unique_key`},
          last_error = ${error.slice(0, 2000)}, locked_until = null, locked_by = null, updated_at = now()
        where id = ${job.id} and locked_by = ${workerId}`,
  );
  return parked ? 'failed' : 'retry';
}
