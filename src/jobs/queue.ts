import { eq, sql } from 'drizzle-orm';
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

/** Inserts the job; false when its `uniqueKey` is held by a live job (nothing is written then). */
async function insertJob(
  tx: Db,
  id: string,
  type: string,
  payload: unknown,
  opts: EnqueueOptions,
): Promise<boolean> {
  const inserted = await tx
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
    .onConflictDoNothing()
    .returning({ id: jobs.id });
  return inserted.length > 0;
}

/**
 * Writes the job in the caller's transaction: it exists only if the change it belongs to commits.
 * Returns the job's id, or with a taken `uniqueKey` the id of the live job that holds it.
 */
export async function enqueue(
  tx: Db,
  type: string,
  payload: unknown,
  opts: EnqueueOptions = {},
): Promise<string> {
  const id = newId('job');
  if ((await insertJob(tx, id, type, payload, opts)) || !opts.uniqueKey) return id;
  const live = await tx.select({ id: jobs.id }).from(jobs).where(eq(jobs.uniqueKey, opts.uniqueKey));
  return live[0]?.id ?? id;
}

/**
 * `enqueue` for a caller that must know whether it took the key: the new job's id, or null when a live job
 * (queued, running or waiting to retry) holds `uniqueKey`. The unique index decides, so two callers racing in
 * different processes cannot both win (the second insert waits for the first's transaction, then conflicts).
 */
export async function enqueueUnique(
  tx: Db,
  type: string,
  payload: unknown,
  opts: EnqueueOptions & { uniqueKey: string },
): Promise<string | null> {
  const id = newId('job');
  return (await insertJob(tx, id, type, payload, opts)) ? id : null;
}

export interface ClaimedJob {
  id: string;
  type: string;
  shop_id: string | null;
  payload: unknown;
  attempts: number;
  max_attempts: number;
}

/** A job parked for good because its lease ran out on its last attempt. */
export type ParkedJob = ClaimedJob & { last_error: string };

/**
 * Claims up to `limit` due jobs for `leaseMs`; a worker that dies lets its lease expire and the job runs again.
 * `types` limits the claim to jobs the caller can run (a worker of an older release leaves newer types alone).
 * `onParked` hears of the jobs parked because their lease ran out on the last attempt (their handler never
 * learns it otherwise); it is awaited, and what it throws propagates. `shopIds` limits claiming and parking to
 * those shops' jobs (tests sharing one database each drain their own shops' jobs; the worker takes every shop).
 */
export async function claimJobs(
  db: Db,
  workerId: string,
  limit: number,
  leaseMs: number,
  types?: readonly string[],
  onParked?: (jobs: ParkedJob[]) => Promise<void>,
  shopIds?: readonly string[],
): Promise<ClaimedJob[]> {
  const shopFilter = shopIds
    ? sql`and shop_id in (${sql.join(
        (shopIds.length ? shopIds : ['']).map((id) => sql`${id}`),
        sql`, `,
      )})`
    : sql``;
  const typeFilter = types
    ? sql`and type in (${sql.join(
        (types.length ? types : ['']).map((t) => sql`${t}`),
        sql`, `,
      )})`
    : sql``;
  // A job whose lease ran out on its last attempt (its worker died mid-run) is parked, not retried forever.
  // Running jobs are few: jobs_lease_idx (running only) keeps this cheap however long the queue or its dead rows.
  const parked = await query<ParkedJob>(
    db,
    sql`update jobs set status = 'failed', finished_at = now(), updated_at = now(), unique_key = null, locked_by = null,
          last_error = coalesce(last_error || '; ', '') || 'lease expired on the last attempt (worker stopped mid-run)'
        where status = 'running' and locked_until < now() and attempts >= max_attempts ${shopFilter}
        returning id, type, shop_id, payload, attempts, max_attempts, last_error`,
  );
  if (parked.length && onParked) await onParked(parked);
  // Two index-ordered scans, each stopping at `limit`: expired leases first (jobs_lease_idx), then due jobs in
  // run_at order (jobs_queued_idx). One combined scan of "queued or expired" could only be a bitmap of the whole
  // ready set plus a sort, per claim.
  return query<ClaimedJob>(
    db,
    sql`update jobs set status = 'running', attempts = attempts + 1, locked_by = ${workerId},
          locked_until = now() + (${leaseMs} * interval '1 millisecond'), updated_at = now()
        where id in (
          select id from (
            select id from (
              select id from jobs
              where status = 'running' and locked_until < now() ${typeFilter} ${shopFilter}
              order by locked_until
              limit ${limit}
              for update skip locked) expired
            union all
            select id from (
              select id from jobs
              where status = 'queued' and run_at <= now() ${typeFilter} ${shopFilter}
              order by run_at
              limit ${limit}
              for update skip locked) due) claimable
          limit ${limit})
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

/** Exponential backoff: base 2^(attempt-1) seconds capped at one hour, jittered within [base/2, base]. */
export function backoffMs(attempt: number, random = Math.random): number {
  const cap = 3_600_000;
  const base = Math.min(cap, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

/** Thrown by a handler that must wait a known time (a platform's Retry-After): retried then, not on backoff. */
export class RetryLater extends Error {
  constructor(
    readonly delayMs: number,
    message: string,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

export async function failJob(
  db: Db,
  job: ClaimedJob,
  workerId: string,
  error: string,
  delayMs?: number,
): Promise<'retry' | 'failed'> {
  const parked = job.attempts >= job.max_attempts;
  const delay = delayMs ?? backoffMs(job.attempts);
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

/** Extends a running job's lease (heartbeat), so a long handler is not taken over by another worker. */
export async function extendLease(db: Db, id: string, workerId: string, leaseMs: number): Promise<void> {
  await db.execute(
    sql`update jobs set locked_until = now() + (${leaseMs} * interval '1 millisecond')
        where id = ${id} and locked_by = ${workerId} and status = 'running'`,
  );
}
