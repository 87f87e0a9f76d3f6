import { and, eq, sql } from 'drizzle-orm';
import { type Db, query } from '../db/client.js';
import { platformEvents, shopConnections } from '../db/schema.js';
import { enqueue, enqueueUnique, RetryLater } from '../jobs/queue.js';
import type { JobHandler } from '../jobs/worker.js';
import { AppError } from '../lib/errors.js';
import type { OrderInputT } from '../orders/document.js';
import { LOCAL_CHANGE_MARGIN_MS } from '../orders/upsert.js';
import {
  type ConnectionRow,
  clientFor,
  findConnectionUnscoped,
  markConnection,
  patchedSync,
  type SyncState,
  updateSync,
} from './connections.js';
import { type ImportResult, importOrders } from './import.js';
import { type PlatformDeps, PlatformError } from './platform.js';

export const PAGE_SIZE = 100;
/** Pages per job run: a long backfill is many short jobs (short leases, fair to other work, resumable). */
const PAGES_PER_RUN = 10;
export const RECONCILE_EVERY_MS = 15 * 60_000;
/** Reconcile looks this far behind its watermark: platform clocks and indexing lag. */
const RECONCILE_OVERLAP_MS = 5 * 60_000;

const backfillKey = (id: string) => `connector.backfill:${id}`;
const reconcileKey = (id: string) => `connector.reconcile:${id}`;
/** A stale document's order is read again this much later, when it no longer counts as read before the change. */
const REFRESH_DELAY_MS = LOCAL_CHANGE_MARGIN_MS + 3000;

/**
 * Starts the backfill of orders created since `since`, or answers 409 `backfill_running` while one is in
 * progress. A backfill is in progress while its job is live (running, queued for its next pages, or waiting to
 * retry): that job holds the backfill's unique key and owns `sync.backfill` until it ends. A restart could not
 * take effect then (the running job would write its own progress over it, page by page), so it is refused and
 * nothing changes. The key is taken first, in the transaction that writes the progress: the unique index
 * decides between requests racing in any number of processes. A progress left at `running` with no live job
 * (its job given up) does not block a new start.
 */
export async function startBackfill(db: Db, row: ConnectionRow, since: Date, now = new Date()) {
  await db.transaction(async (tx) => {
    const job = await enqueueUnique(
      tx,
      'connector.backfill',
      { connectionId: row.id },
      { shopId: row.shopId, uniqueKey: backfillKey(row.id) },
    );
    if (!job) {
      const current = (await findConnectionUnscoped(tx, row.id))?.sync as SyncState | undefined;
      throw new AppError('backfill_running', backfillRunningMessage(current?.backfill));
    }
    await updateSync(tx, row, {
      backfill: {
        status: 'running',
        since: since.toISOString(),
        cursor: null,
        imported: 0,
        failed: 0,
        started_at: now.toISOString(),
        finished_at: null,
        error: null,
      },
    });
  });
}

/**
 * Stops the running backfill: `sync.backfill` becomes `cancelled` (finished_at set, counters and cursor kept), or
 * 409 `backfill_not_running` and nothing changes. In one transaction with that change, every live job of the
 * backfill is taken out of the queue (status `failed`, last_error `cancelled`, its unique key freed), whether
 * queued for its next pages, waiting to retry, or running: a new backfill can start at once, and the worker
 * neither completes nor retries a job taken out while it ran. A run in progress finds out at its next page: its
 * progress write (and its hand-over to a successor job) changes nothing once the backfill it imports is no
 * longer running, and it stops there (`progress()`), adding only the page it imported to the stopped backfill's
 * counters (`countStoppedPage()`). The connection row is changed first: a run handing its key
 * to a successor holds that row's lock, so the successor is committed (and taken out here) or never created.
 */
export async function cancelBackfill(db: Db, row: ConnectionRow, now = new Date()) {
  await db.transaction(async (tx) => {
    const cancelled = { status: 'cancelled', finished_at: now.toISOString() };
    const changed = await query<{ id: string }>(
      tx,
      sql`update shop_connections
             set sync = jsonb_set(sync, '{backfill}', (sync -> 'backfill') || ${JSON.stringify(cancelled)}::jsonb),
                 updated_at = now()
           where id = ${row.id} and shop_id = ${row.shopId}
             and sync -> 'backfill' ->> 'status' = 'running'
         returning id`,
    );
    if (!changed.length) {
      const current = (await findConnectionUnscoped(tx, row.id))?.sync as SyncState | undefined;
      throw new AppError('backfill_not_running', backfillNotRunningMessage(current?.backfill));
    }
    await tx.execute(
      sql`update jobs set status = 'failed', finished_at = now(), updated_at = now(), unique_key = null,
            locked_by = null, locked_until = null, last_error = 'cancelled'
          where unique_key = ${backfillKey(row.id)}`,
    );
  });
}

function backfillNotRunningMessage(b: SyncState['backfill']): string {
  if (!b) return 'No backfill has been started for this connection.';
  return `No backfill is running: the last one is ${b.status}${b.finished_at ? ` (${b.finished_at})` : ''}.`;
}

function backfillRunningMessage(b: SyncState['backfill']): string {
  if (b?.status !== 'running')
    return 'The previous backfill is still finishing; start the new one in a moment.';
  const n = (count: number) => `${count} order${count === 1 ? '' : 's'}`;
  return (
    `A backfill is already running: ${n(b.imported)} imported so far${b.failed ? `, ${n(b.failed)} failed` : ''} ` +
    `(orders created since ${b.since.slice(0, 10)}, started ${b.started_at}). ` +
    'Its progress is in sync.backfill of GET …/connection; start another once it is done.'
  );
}

export async function scheduleReconcile(
  db: Db,
  row: ConnectionRow,
  at = new Date(Date.now() + RECONCILE_EVERY_MS),
) {
  await enqueue(
    db,
    'connector.reconcile',
    { connectionId: row.id },
    { shopId: row.shopId, runAt: at, uniqueKey: reconcileKey(row.id) },
  );
}

/** `sync.backfill` is still the backfill begun at `startedAt`, and running (checked on the row an update meets). */
const ownsBackfill = (startedAt: string) =>
  sql`${shopConnections.sync} -> 'backfill' ->> 'status' = 'running'
      and ${shopConnections.sync} -> 'backfill' ->> 'started_at' = ${startedAt}`;

/**
 * A backfill run's progress write: `patch` is stored only while the backfill begun at `startedAt` is running.
 * False when it was cancelled (or given up, or replaced) meanwhile: nothing is written, and the run stops.
 */
async function progress(
  db: Db,
  row: ConnectionRow,
  startedAt: string,
  patch: Partial<SyncState>,
  errors: SyncState['last_errors'] = [],
): Promise<boolean> {
  const [stored] = await db
    .update(shopConnections)
    .set({ sync: patchedSync(patch, errors), updatedAt: new Date() })
    .where(
      and(eq(shopConnections.id, row.id), eq(shopConnections.shopId, row.shopId), ownsBackfill(startedAt)),
    )
    .returning({ sync: shopConnections.sync });
  if (!stored) return false;
  row.sync = stored.sync;
  return true;
}

/**
 * The page a run was importing when its backfill was stopped is stored all the same: the stopped backfill
 * (`cancelled`, begun at `startedAt`; not one begun since) counts it, so its counters match what was imported.
 */
async function countStoppedPage(
  db: Db,
  row: ConnectionRow,
  startedAt: string,
  r: ImportResult,
  cursor: string | null,
  errors: SyncState['last_errors'],
) {
  const b = sql`${shopConnections.sync} -> 'backfill'`;
  await db
    .update(shopConnections)
    .set({
      sync: sql`jsonb_set(${patchedSync({}, errors)}, '{backfill}', ${b} || jsonb_build_object(
        'imported', coalesce((${b} ->> 'imported')::int, 0) + ${r.created + r.updated + r.unchanged + r.stale.length}::int,
        'failed', coalesce((${b} ->> 'failed')::int, 0) + ${r.failed.length}::int,
        'cursor', ${cursor}::text))`,
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(shopConnections.id, row.id),
        eq(shopConnections.shopId, row.shopId),
        sql`${b} ->> 'status' = 'cancelled' and ${b} ->> 'started_at' = ${startedAt}`,
      ),
    );
}

/** Hands a job's unique key to its successor (the maintenance job's pattern). */
async function requeue(
  db: Db,
  jobId: string,
  type: string,
  row: ConnectionRow,
  key: string,
  runAt = new Date(),
  /** A backfill's: handed over only while that backfill still runs (the row is locked until commit). */
  backfillStartedAt?: string,
) {
  await db.transaction(async (tx) => {
    if (backfillStartedAt !== undefined) {
      const own = await tx
        .select({ id: shopConnections.id })
        .from(shopConnections)
        .where(
          and(
            eq(shopConnections.id, row.id),
            eq(shopConnections.shopId, row.shopId),
            ownsBackfill(backfillStartedAt),
          ),
        )
        .for('update');
      if (!own.length) return;
    }
    await tx.execute(sql`update jobs set unique_key = null where id = ${jobId}`);
    await enqueue(tx, type, { connectionId: row.id }, { shopId: row.shopId, runAt, uniqueKey: key });
  });
}

/**
 * Imports documents read from the platform at `readAt`. Orders the customer changed through Resolve since (a
 * cancel, a new address) are not written over: each is read again a little later (`connector.refresh`), so the
 * platform's newer state, the customer's change included, still arrives without waiting for the next reconcile.
 */
async function importRead(
  db: Db,
  row: ConnectionRow,
  docs: OrderInputT[],
  readAt: Date,
): Promise<ImportResult> {
  const r = await importOrders(db, row.shopId, docs, readAt);
  for (const externalId of r.stale)
    await enqueue(
      db,
      'connector.refresh',
      { connectionId: row.id, externalId },
      {
        shopId: row.shopId,
        runAt: new Date(Date.now() + REFRESH_DELAY_MS),
        uniqueKey: `connector.refresh:${row.id}:${externalId}`,
      },
    );
  return r;
}

/** An import's failures as `sync.last_errors` entries (patchedSync puts them in front of the stored ones). */
function freshErrors(r: ImportResult, now: Date): NonNullable<SyncState['last_errors']> {
  return r.failed.map((f) => ({
    at: now.toISOString(),
    order: f.order,
    message: f.message.slice(0, 500),
  }));
}

/**
 * Platform errors decide the job's fate: rate limits wait exactly as long as the platform says; revoked
 * credentials stop syncing and show on the connection; outages retry with backoff.
 */
async function onPlatformError(db: Db, row: ConnectionRow, err: unknown): Promise<'stop'> {
  if (!(err instanceof PlatformError)) throw err;
  if (err.kind === 'rate_limited') throw new RetryLater(err.retryAfterMs ?? 5000, err.message);
  if (err.kind === 'auth_failed' || err.kind === 'unsupported') {
    await markConnection(db, row, 'error', err.message);
    return 'stop';
  }
  throw err;
}

export function connectorJobHandlers(
  master: () => Promise<Buffer>,
  deps: (log: PlatformDeps['log']) => PlatformDeps,
): Record<string, JobHandler> {
  const backfill: JobHandler = async (job, { db, log }) => {
    const row = await findConnectionUnscoped(db, (job.payload as { connectionId: string }).connectionId);
    const state = (row?.sync as SyncState | undefined)?.backfill;
    if (!row || state?.status !== 'running') return;
    const client = await clientFor(await master(), row, deps(log));
    try {
      for (let i = 0; i < PAGES_PER_RUN; i++) {
        const readAt = new Date();
        const page = await client.listOrders({
          createdSince: new Date(state.since),
          cursor: state.cursor,
          pageSize: PAGE_SIZE,
        });
        const r = await importRead(db, row, page.orders, readAt);
        const now = new Date();
        state.cursor = page.nextCursor;
        state.imported += r.created + r.updated + r.unchanged + r.stale.length;
        state.failed += r.failed.length;
        if (!page.nextCursor) {
          state.status = 'done';
          state.finished_at = now.toISOString();
        }
        const sync = row.sync as SyncState;
        // Cancelled meanwhile: nothing written over the cancel, no successor queued.
        const own = await progress(
          db,
          row,
          state.started_at,
          {
            backfill: state,
            // Changes made while the backfill ran are reconcile's to catch.
            ...(state.status === 'done' && !sync.reconciled_until
              ? { reconciled_until: state.started_at }
              : {}),
          },
          freshErrors(r, now),
        );
        if (!own) {
          await countStoppedPage(db, row, state.started_at, r, page.nextCursor, freshErrors(r, now));
          return;
        }
        if (state.status === 'done') {
          await markConnection(db, row, 'active', null);
          return;
        }
      }
      await requeue(db, job.id, 'connector.backfill', row, backfillKey(row.id), new Date(), state.started_at);
    } catch (err) {
      if ((await onPlatformError(db, row, err)) === 'stop')
        await progress(db, row, state.started_at, {
          backfill: { ...state, status: 'failed', error: (err as Error).message },
        });
    }
  };
  // Its last attempt failed (an outage that outlasted the retries): the progress says so instead of `running`
  // forever. Only the backfill this job was importing: parking the job freed the key, so a newer backfill may
  // have started since. One that started before the progress was read holds the key with a live job (checked
  // after the read); one that starts after it has another `started_at`, which the write's condition rechecks.
  backfill.giveUp = async (job, error, { db }) => {
    const id = (job.payload as { connectionId: string }).connectionId;
    const row = await findConnectionUnscoped(db, id);
    const state = (row?.sync as SyncState | undefined)?.backfill;
    if (!row || state?.status !== 'running') return;
    const [newer] = await query<{ id: string }>(
      db,
      sql`select id from jobs where unique_key = ${backfillKey(id)} and id <> ${job.id} limit 1`,
    );
    if (newer) return;
    await progress(db, row, state.started_at, {
      backfill: {
        ...state,
        status: 'failed',
        error: `Gave up after ${job.attempts} attempt${job.attempts === 1 ? '' : 's'}: ${error}`.slice(
          0,
          500,
        ),
      },
    });
  };

  /** Reads one order from the platform and imports it: the import's failure, or null. */
  const syncOrder = async (db: Db, row: ConnectionRow, externalId: string, log: PlatformDeps['log']) => {
    const client = await clientFor(await master(), row, deps(log));
    try {
      const readAt = new Date();
      const order = await client.getOrder(externalId);
      if (!order) return null;
      return (await importRead(db, row, [order], readAt)).failed[0]?.message ?? null;
    } catch (err) {
      if ((await onPlatformError(db, row, err)) === 'stop') return (err as Error).message;
      return null;
    }
  };

  return {
    'connector.backfill': backfill,

    // An order whose document a sync read before the customer changed it (importRead), read again.
    'connector.refresh': async (job, { db, log }) => {
      const { connectionId, externalId } = job.payload as { connectionId: string; externalId: string };
      const row = await findConnectionUnscoped(db, connectionId);
      if (!row || row.status === 'error') return;
      // The key is this job's no longer: if the order changed again meanwhile, its own refresh can be queued.
      await db.execute(sql`update jobs set unique_key = null where id = ${job.id}`);
      const error = await syncOrder(db, row, externalId, log);
      if (error)
        await updateSync(db, row, {}, [{ at: new Date().toISOString(), order: externalId, message: error }]);
    },

    'connector.reconcile': async (job, { db, log }) => {
      const row = await findConnectionUnscoped(db, (job.payload as { connectionId: string }).connectionId);
      if (!row || row.status === 'error') return;
      const started = new Date();
      const sync = row.sync as SyncState;
      const from = new Date(
        new Date(sync.reconciled_until ?? Date.now() - 86_400_000).getTime() - RECONCILE_OVERLAP_MS,
      );
      const client = await clientFor(await master(), row, deps(log));
      try {
        let cursor: string | null = null;
        let errors: NonNullable<SyncState['last_errors']> = [];
        do {
          const readAt = new Date();
          const page = await client.listOrders({ updatedSince: from, cursor, pageSize: PAGE_SIZE });
          errors = [...freshErrors(await importRead(db, row, page.orders, readAt), started), ...errors];
          cursor = page.nextCursor;
        } while (cursor);
        await updateSync(db, row, { reconciled_until: started.toISOString() }, errors);
        await markConnection(db, row, 'active', null);
      } catch (err) {
        if ((await onPlatformError(db, row, err)) === 'stop') return;
      }
      await requeue(
        db,
        job.id,
        'connector.reconcile',
        row,
        reconcileKey(row.id),
        new Date(Date.now() + RECONCILE_EVERY_MS),
      );
    },

    'connector.webhook': async (job, { db, log }) => {
      const { eventId } = job.payload as { eventId: string };
      const [ev] = await db.select().from(platformEvents).where(eq(platformEvents.id, eventId));
      if (!ev || ev.status === 'processed') return;
      const row = await findConnectionUnscoped(db, ev.connectionId);
      if (!row) return;
      // The payload may be stale or partial: the order is read again from the platform.
      const error = ev.orderExternalId ? await syncOrder(db, row, ev.orderExternalId, log) : null;
      await db
        .update(platformEvents)
        .set({ status: error ? 'failed' : 'processed', error, processedAt: new Date() })
        .where(and(eq(platformEvents.id, ev.id), eq(platformEvents.shopId, ev.shopId)));
      await updateSync(db, row, { last_webhook_at: new Date().toISOString() });
    },
  };
}
