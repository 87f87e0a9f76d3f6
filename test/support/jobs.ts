import pino from 'pino';
import type { Db } from '../../src/db/client.js';
import { claimJobs, completeJob, failJob, RetryLater } from '../../src/jobs/queue.js';
import { type JobHandler, runGiveUps } from '../../src/jobs/worker.js';
import { testShopIds } from './app.js';

/**
 * Runs the due jobs of the given types until none is due (as the worker would, minus its timing): tests see
 * the effect of a job deterministically. Jobs scheduled for later stay queued. A job parked for good (its last
 * attempt threw, or its lease ran out on it) gets its handler's give-up hook, as in the worker.
 */
export async function drainJobs(
  db: Db,
  handlers: Record<string, JobHandler>,
  types: string[],
  maxRounds = 50,
): Promise<{ ran: number; failed: string[] }> {
  const log = pino({ level: 'silent' });
  let ran = 0;
  const failed: string[] = [];
  for (let round = 0; round < maxRounds; round++) {
    // On PostgreSQL test files share one database and run side by side: drain only this process's shops' jobs,
    // or another file's jobs would run here with this file's handlers (and platform simulators).
    const jobs = await claimJobs(
      db,
      'test-drain',
      20,
      30_000,
      types,
      (parked) => runGiveUps(handlers, parked, { db, log }),
      testShopIds.size ? [...testShopIds] : undefined,
    );
    if (!jobs.length) break;
    for (const job of jobs) {
      ran++;
      try {
        await handlers[job.type](job, { db, log });
        await completeJob(db, job.id, 'test-drain');
      } catch (err) {
        failed.push(`${job.type}: ${(err as Error).message}`);
        const outcome = await failJob(
          db,
          job,
          'test-drain',
          (err as Error).message,
          err instanceof RetryLater ? err.delayMs : 60_000,
        );
        if (outcome === 'failed') await runGiveUps(handlers, [job], { db, log }, (err as Error).message);
      }
    }
  }
  return { ran, failed };
}
