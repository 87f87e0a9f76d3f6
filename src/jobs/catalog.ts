import { sql } from 'drizzle-orm';
import type { AppDeps } from '../http/context.js';
import { pruneIdempotencyKeys } from '../http/idempotency.js';
import { enqueue } from './queue.js';
import type { JobHandler } from './worker.js';

const HOUR = 3_600_000;

/** Every job type the worker knows. Payloads carry ids; handlers reload state and are idempotent. */
export function jobHandlers(_deps: AppDeps): Record<string, JobHandler> {
  return {
    'maintenance.prune': async (job, { db }) => {
      await pruneIdempotencyKeys(db);
      await db.execute(
        sql`delete from jobs where status = 'succeeded' and finished_at < now() - interval '7 days'`,
      );
      // Hand the unique key to the next run: one pending copy however many workers run.
      await db.transaction(async (tx) => {
        await tx.execute(sql`update jobs set unique_key = null where id = ${job.id}`);
        await enqueue(
          tx,
          'maintenance.prune',
          {},
          { runAt: new Date(Date.now() + HOUR), uniqueKey: 'maintenance.prune' },
        );
      });
    },
  };
}
