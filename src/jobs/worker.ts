import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { newId } from '../lib/ids.js';
import {
  type ClaimedJob,
  claimJobs,
  completeJob,
  extendLease,
  failJob,
  type ParkedJob,
  RetryLater,
} from './queue.js';

export interface JobContext {
  db: Db;
  log: Logger;
}
export type JobHandler = ((job: ClaimedJob, ctx: JobContext) => Promise<void>) & {
  /**
   * Called once when the queue parks the job for good without the handler having finished it: its last attempt
   * threw, or its lease ran out on the last attempt. For jobs whose subject must not stay in limbo.
   */
  giveUp?: (job: ClaimedJob, error: string, ctx: JobContext) => Promise<void>;
};

/** Runs the give-up hooks of parked jobs; a failing hook is logged (the job stays parked either way). */
export async function runGiveUps(
  handlers: Record<string, JobHandler>,
  jobs: (ClaimedJob & { last_error?: string })[],
  ctx: JobContext,
  error?: string,
): Promise<void> {
  for (const job of jobs) {
    const hook = handlers[job.type]?.giveUp;
    if (!hook) continue;
    try {
      await hook(job, error ?? job.last_error ?? 'gave up', ctx);
    } catch (err) {
      ctx.log.error({ err, job: job.id, type: job.type }, 'worker: give-up hook failed');
    }
  }
}

export interface WorkerOptions {
  db: Db;
  log: Logger;
  handlers: Record<string, JobHandler>;
  concurrency: number;
  pollMs: number;
  leaseMs?: number;
  onJobDone?: (type: string, outcome: 'succeeded' | 'retry' | 'failed', ms: number) => void;
}

/** Polls the jobs table, runs handlers with bounded concurrency, and drains in-flight jobs on stop(). */
export class Worker {
  readonly id = `${hostname()}:${process.pid}:${newId('wrk').slice(4)}`;
  private running = false;
  private inFlight = new Set<Promise<void>>();
  private wake: (() => void) | null = null;
  /** Set by nudge(); a nudge that arrives while the loop is claiming (not asleep) must not be lost. */
  private nudged = false;
  private loopDone: Promise<void> | null = null;

  constructor(private readonly opts: WorkerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Wakes the poller early (e.g. right after a commit that enqueued work). */
  nudge(): void {
    this.nudged = true;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Asleep until the next poll or nudge: everything committed before the last nudge has been looked at. */
  get sleeping(): boolean {
    return this.wake !== null;
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.running = false;
    this.nudge();
    await this.loopDone;
    const drained = Promise.all([...this.inFlight]);
    await Promise.race([drained, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  private async loop(): Promise<void> {
    const { db, log, concurrency, pollMs } = this.opts;
    const leaseMs = this.opts.leaseMs ?? 60_000;
    const types = Object.keys(this.opts.handlers);
    while (this.running) {
      this.nudged = false; // this pass's claim sees everything committed before the nudge
      const free = concurrency - this.inFlight.size;
      let claimed: ClaimedJob[] = [];
      if (free > 0) {
        try {
          claimed = await claimJobs(db, this.id, free, leaseMs, types, (parked: ParkedJob[]) =>
            runGiveUps(this.opts.handlers, parked, { db, log }),
          );
        } catch (err) {
          log.error({ err }, 'worker: claiming jobs failed');
        }
      }
      for (const job of claimed) {
        const p = this.run(job).finally(() => {
          this.inFlight.delete(p);
          this.nudge();
        });
        this.inFlight.add(p);
      }
      if (claimed.length === free && free > 0) continue; // more may be waiting
      if (this.nudged) continue; // woken while claiming: the work announced may have missed this pass
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async run(job: ClaimedJob): Promise<void> {
    const { db, log } = this.opts;
    const started = performance.now();
    const leaseMs = this.opts.leaseMs ?? 60_000;
    const heartbeat = setInterval(() => {
      extendLease(db, job.id, this.id, leaseMs).catch((err) =>
        log.warn({ err, job: job.id }, 'worker: lease renewal failed'),
      );
    }, leaseMs / 2);
    heartbeat.unref();
    try {
      await this.runHandler(job, started);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async runHandler(job: ClaimedJob, started: number): Promise<void> {
    const { db, log, handlers } = this.opts;
    const handler = handlers[job.type];
    let outcome: 'succeeded' | 'retry' | 'failed';
    try {
      if (!handler) throw new Error(`no handler for job type ${job.type}`);
      await handler(job, { db, log: log.child({ job: job.id, type: job.type }) });
      await completeJob(db, job.id, this.id);
      outcome = 'succeeded';
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      try {
        outcome = await failJob(
          db,
          job,
          this.id,
          message,
          err instanceof RetryLater ? err.delayMs : undefined,
        );
      } catch (e) {
        log.error({ err: e, job: job.id }, 'worker: recording a failure failed; the lease will expire');
        outcome = 'retry';
      }
      log.warn({ job: job.id, type: job.type, attempt: job.attempts, outcome, error: message }, 'job failed');
      if (outcome === 'failed') await runGiveUps(handlers, [job], { db, log }, message);
    }
    this.opts.onJobDone?.(job.type, outcome, performance.now() - started);
  }
}
