import pino from 'pino';
import type { Db } from '../../src/db/client.js';
import { claimJobs, completeJob, failJob, RetryLater } from '../../src/jobs/queue.js';
import type { JobHandler } from '../../src/jobs/worker.js';

/**
 * Runs the due jobs of the given types until none is due (as the worker would, minus its timing): tests see
 * the effect of a job deterministically. Jobs scheduled for later stay queued.
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
    const jobs = await claimJobs(db, 'test-drain', 20, 30_000, types);
    if (!jobs.length) break;
    for (const job of jobs) {
      ran++;
      try {
        await handlers[job.type](job, { db, log });
        await completeJob(db, job.id, 'test-drain');
      } catch (err) {
        failed.push(`${job.type}: ${(err as Error).message}`);
        await failJob(
          db,
          job,
          'test-drain',
          (err as Error).message,
          err instanceof RetryLater ? err.delayMs : 60_000,
        );
      }
    }
  }
  return { ran, failed };
}
