import { sql } from 'drizzle-orm';
import { type Db, execCount } from '../db/client.js';
import type { AppDeps } from '../http/context.js';
import type { JobHandler } from '../jobs/worker.js';
import { loadMasterSecret } from '../lib/secret.js';
import { deliverBatch } from './deliver.js';
import { egressPolicy } from './egress-policy.js';
import { fanOutEvents } from './fanout.js';
import { idAt } from './id-range.js';
import { DELIVER_JOB, type DeliverPayload, FANOUT_JOB } from './messages.js';
import { SuccessRecorder } from './record-success.js';
import { type Resolver, WebhookTransport } from './transport.js';

export interface WebhookJobOptions {
  /** Clock for recorded times, secret overlap and the 5-day rule (tests move it). */
  now?: () => Date;
  /** DNS for the egress check (tests inject rebinding answers). */
  resolve?: Resolver;
  random?: () => number;
}

const TRIGGERS = new Set(['event', 'retry', 'replay', 'test']);

/** Job payloads are checked like any other input: a malformed one fails its job instead of doing anything. */
function deliverPayload(raw: unknown): DeliverPayload {
  const p = raw as Partial<DeliverPayload> | null;
  const ok =
    typeof p?.endpoint_id === 'string' &&
    TRIGGERS.has(p.trigger as string) &&
    Array.isArray(p.messages) &&
    p.messages.every((m) => typeof m?.id === 'string' && Number.isInteger(m.attempt) && m.attempt >= 0);
  if (!ok) throw new Error(`invalid ${DELIVER_JOB} payload`);
  return p as DeliverPayload;
}

function fanoutPayload(raw: unknown): { event_id: string } {
  const p = raw as { event_id?: unknown } | null;
  if (typeof p?.event_id !== 'string') throw new Error(`invalid ${FANOUT_JOB} payload`);
  return { event_id: p.event_id };
}

/** The webhook job types (fan-out and delivery) with their shared transport; close() frees its sockets. */
export function webhookJobs(deps: AppDeps, opts: WebhookJobOptions = {}) {
  const cfg = deps.config.webhooks;
  const asyncCommit = deps.database.kind === 'postgres';
  let transport: WebhookTransport | null = null;
  const transportOf = () => {
    transport ??= new WebhookTransport({
      policy: egressPolicy(cfg),
      connectTimeoutMs: cfg.connectTimeoutMs,
      timeoutMs: cfg.timeoutMs,
      extraCa: cfg.caPem,
      proxyUrl: cfg.proxyUrl,
      resolve: opts.resolve,
    });
    return transport;
  };
  let master: Promise<Buffer> | null = null;
  const masterOf = () => {
    master ??= deps.masterSecret
      ? Promise.resolve(deps.masterSecret)
      : loadMasterSecret(deps.database.db, deps.config);
    return master;
  };
  // One recorder per database handle the worker passes in (in practice one): its jobs share its statements.
  const recorders = new WeakMap<Db, SuccessRecorder>();
  const recorderOf = (db: Db) => {
    let r = recorders.get(db);
    if (!r) {
      r = new SuccessRecorder(db, asyncCommit);
      recorders.set(db, r);
    }
    return r;
  };
  const handlers: Record<string, JobHandler> = {
    [FANOUT_JOB]: async (job, { db }) => {
      if (!job.shop_id) throw new Error(`${FANOUT_JOB} without a shop`);
      const { event_id } = fanoutPayload(job.payload);
      const created = await fanOutEvents(db, job.shop_id, job.id, event_id, {
        master: await masterOf(),
        publicUrl: deps.config.publicUrl,
        asyncCommit,
      });
      if (created) deps.nudgeWorker?.();
    },
    [DELIVER_JOB]: async (job, { db, log }) => {
      if (!job.shop_id) throw new Error(`${DELIVER_JOB} without a shop`);
      await deliverBatch(
        {
          db,
          transport: transportOf(),
          master: masterOf,
          scheduleMs: cfg.retryScheduleMs,
          metrics: deps.metrics,
          now: opts.now ?? (() => new Date()),
          random: opts.random ?? Math.random,
          log,
          asyncCommit,
          recorder: recorderOf(db),
        },
        job.shop_id,
        job.id,
        deliverPayload(job.payload),
      );
    },
  };
  return {
    handlers,
    close() {
      transport?.close();
      transport = null;
    },
  };
}

/**
 * Retention: finished messages (with their attempts) older than `days` go, pending ones stay. Ids sort by
 * creation time, so the age test is a primary-key range; batches keep each statement short.
 */
export async function pruneWebhookMessages(db: Db, days = 30, batch = 5000): Promise<number> {
  const before = idAt('msg', Date.now() - days * 86_400_000, 'low');
  let total = 0;
  for (;;) {
    const n = await execCount(
      db,
      sql`delete from webhook_messages where id in (
            select id from webhook_messages where id < ${before} and status in ('succeeded', 'failed') limit ${batch})`,
    );
    total += n;
    if (n < batch) return total;
  }
}
