import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { webhookAttempts, webhookEndpoints, webhookMessages } from '../db/schema.js';
import type { Metrics } from '../http/metrics.js';
import { newId } from '../lib/ids.js';
import { activeSecrets, type EndpointRow } from './endpoints.js';
import { type DeliverPayload, enqueueDeliveries, type MessageRow } from './messages.js';
import { createNotice } from './notices.js';
import type { SuccessRecorder } from './record-success.js';
import { webhookHeaders } from './signing.js';
import type { AttemptResult, WebhookTransport } from './transport.js';

/** An endpoint whose attempts have all failed for this long is disabled (SPEC §10). */
export const DISABLE_AFTER_MS = 5 * 86_400_000;
/**
 * A delivery job hands the rest of its batch to a new job after this long, so no job runs for minutes. Keep it well
 * below the worker's lease (60 s, renewed every 30 s): a job whose lease ran out runs twice and sends twice.
 */
const BATCH_BUDGET_MS = 10_000;

export interface DeliveryDeps {
  db: Db;
  transport: WebhookTransport;
  master: () => Promise<Buffer>;
  /** Delay before each attempt of a series (config WEBHOOK_RETRY_SCHEDULE). */
  scheduleMs: number[];
  metrics: Metrics;
  /** The clock for recorded times, secret expiry and the 5-day rule (injectable for tests). */
  now: () => Date;
  random: () => number;
  log: Logger;
  /** PostgreSQL: commit without waiting for the WAL flush (see asyncCommit). */
  asyncCommit: boolean;
  /** Records successful attempts, several jobs' per statement. */
  recorder: SuccessRecorder;
}

/**
 * The delay before the attempt at index `step` of the series, jittered ±10 %; null when the schedule is used up.
 * A `Retry-After` (429, 503) is honoured within bounds: never sooner than the schedule, never later than its
 * longest step.
 */
export function retryDelayMs(
  scheduleMs: number[],
  step: number,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number | null {
  if (step >= scheduleMs.length) return null;
  const jittered = Math.round(scheduleMs[step] * (0.9 + random() * 0.2));
  if (retryAfterMs === null) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, Math.max(...scheduleMs)));
}

/**
 * On PostgreSQL, worker transactions commit without waiting for the WAL flush. A worker that dies loses nothing by
 * it (the server has the commit); only a crash of the database server can lose the last fraction of a second of
 * these commits, and that is safe: their inputs (the event and its fan-out job, written with the change) are
 * durable, and each step deletes or updates its input in the same transaction as its output, so the lost steps run
 * again and deliver again — a duplicate, which at-least-once delivery allows (receivers de-duplicate on
 * webhook-id) — never a lost message. It removes a WAL flush per delivery, the main cost at volume. On PGlite the
 * database lives in the worker's process, so commits stay synchronous there.
 */
export const asyncCommit = (on: boolean) =>
  on ? sql`select set_config('synchronous_commit', 'off', true)` : sql`select 1`;

const P = (name: string) => sql.placeholder(name);
const dialect = new PgDialect();

/**
 * A batch's messages: one prepared statement with an array parameter (not one bind parameter per id), each message
 * by primary key (a lateral lookup per id: the plan cannot become a scan). With `id = any(…)` beside the tenant and
 * endpoint tests, fresh or missing statistics made the planner read the endpoint's whole index range instead —
 * every message it ever had, per batch.
 */
const LOAD_MESSAGES = dialect.sqlToQuery(
  sql`select m.* from unnest(${P('ids')}::text[]) as u(id)
      cross join lateral (select * from webhook_messages where id = u.id limit 1) m
      where m.shop_id = ${P('shop_id')} and m.endpoint_id = ${P('endpoint_id')}`,
);
const COLUMNS = Object.entries(getTableColumns(webhookMessages));
/** Raw rows as Drizzle would map them (timestamps to Dates). */
const fromRows = (rows: Record<string, unknown>[]): MessageRow[] =>
  rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [key, col] of COLUMNS) {
      const v = r[col.name];
      out[key] = v === null || v === undefined ? null : col.mapFromDriverValue(v);
    }
    return out as MessageRow;
  });

interface Due {
  message: MessageRow;
  attempt: number;
}

/**
 * One delivery job: the messages of one endpoint, one after another (a kept-alive connection; at most one attempt
 * in flight per job). Each attempt is recorded as soon as it ends, so a worker that dies mid-batch re-sends only
 * the message that was in flight. The first failure schedules that message's retry and hands the rest of the batch
 * to a new job at once (a failing receiver must not hold up the batch behind timeouts). 410 and 5 days of failures
 * disable the endpoint. The job's row is deleted with the last record: the attempt rows are the record.
 */
export async function deliverBatch(d: DeliveryDeps, shopId: string, jobId: string, p: DeliverPayload) {
  const [endpoint] = await d.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.shopId, shopId), eq(webhookEndpoints.id, p.endpoint_id)))
    .limit(1);
  if (!endpoint) return; // deleted, with its messages
  const res = await d.db._.session
    .prepareQuery(LOAD_MESSAGES, undefined, 'webhook_load_messages', false)
    .execute({ shop_id: shopId, endpoint_id: endpoint.id, ids: p.messages.map((m) => m.id) });
  const rows = fromRows((res as { rows: Record<string, unknown>[] }).rows);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const due: Due[] = p.messages.flatMap((m) => {
    const message = byId.get(m.id);
    return message && message.status === 'pending' && message.attemptCount === m.attempt
      ? [{ message, attempt: m.attempt }]
      : [];
  });
  if (endpoint.status !== 'enabled') {
    await d.db.transaction(async (tx) => {
      await failUnsent(tx, endpoint, due, d.now());
      await deleteJob(tx, shopId, jobId);
    });
    return;
  }
  const started = performance.now();
  const streak: Streak = { failingSince: endpoint.failingSince, lastSuccessAt: endpoint.lastSuccessAt };
  let secrets: string[] | null = null;
  let overlapEnds: Date | null = null;
  for (let i = 0; i < due.length; i++) {
    if (i > 0 && performance.now() - started > BATCH_BUDGET_MS) {
      await d.db.transaction(async (tx) => {
        await requeue(tx, shopId, endpoint.id, due.slice(i), p.trigger);
        await deleteJob(tx, shopId, jobId);
      });
      return;
    }
    const { message, attempt } = due[i];
    const startedAt = d.now();
    if (message.nextAttemptAt)
      d.metrics.webhookQueueLag.observe(Math.max(0, Date.now() - message.nextAttemptAt.getTime()) / 1000);
    // Opened once per batch (AES-GCM + key derivation), again only if the rotation overlap ends meanwhile.
    if (!secrets || (overlapEnds && startedAt >= overlapEnds)) {
      secrets = activeSecrets(endpoint, await d.master(), startedAt);
      overlapEnds = secrets.length > 1 ? endpoint.previousSecretExpiresAt : null;
    }
    // The wire timestamp is real time: receivers compare it with their clock.
    const timestamp = Math.floor(Date.now() / 1000);
    const result = await d.transport.send(
      endpoint.url,
      webhookHeaders(secrets, message.id, timestamp, message.payload),
      message.payload,
    );
    d.metrics.webhookAttemptDuration.observe(result.durationMs / 1000);
    const a: Attempt = { jobId, trigger: p.trigger, message, attempt, endpoint, startedAt, result };
    if (result.ok) {
      const recorded = await recordSuccess(d, a, i === due.length - 1, streak);
      if (recorded) d.metrics.webhookDeliveries.inc({ outcome: 'succeeded' });
      continue;
    }
    d.metrics.webhookFailures.inc({ kind: result.errorKind ?? 'connection' });
    const rest = due.slice(i + 1);
    const outcome = await d.db.transaction((tx) => recordFailure(tx, d, a, rest));
    if (outcome) d.metrics.webhookDeliveries.inc({ outcome });
    return;
  }
  if (!due.length) await deleteJob(d.db, shopId, jobId);
}

interface Attempt {
  jobId: string;
  trigger: DeliverPayload['trigger'];
  message: MessageRow;
  attempt: number;
  endpoint: EndpointRow;
  startedAt: Date;
  result: AttemptResult;
}

async function deleteJob(db: Db, shopId: string, jobId: string) {
  await db.execute(sql`delete from jobs where id = ${jobId} and shop_id = ${shopId}`);
}

async function requeue(
  tx: Db,
  shopId: string,
  endpointId: string,
  due: Due[],
  trigger: DeliverPayload['trigger'],
) {
  await enqueueDeliveries(
    tx,
    shopId,
    endpointId,
    due.map((x) => ({ id: x.message.id, attempt: x.attempt })),
    trigger,
  );
}

/** Messages that will not be sent because the endpoint is (or just became) disabled. */
async function failUnsent(tx: Db, endpoint: EndpointRow, due: Due[], now: Date) {
  for (const { message, attempt } of due)
    await tx
      .update(webhookMessages)
      .set({
        status: 'failed',
        nextAttemptAt: null,
        lastError: `not sent: the endpoint is disabled (${endpoint.disabledReason ?? 'manual'})`,
        updatedAt: now,
      })
      .where(
        and(
          eq(webhookMessages.shopId, endpoint.shopId),
          eq(webhookMessages.id, message.id),
          eq(webhookMessages.attemptCount, attempt),
          eq(webhookMessages.status, 'pending'),
        ),
      );
}

/** What the batch knows of its endpoint's failure streak (from its row, then from its own successes). */
interface Streak {
  failingSince: Date | null;
  lastSuccessAt: Date | null;
}

async function recordSuccess(d: DeliveryDeps, a: Attempt, last: boolean, streak: Streak): Promise<boolean> {
  const { message: m, endpoint: ep, result: r } = a;
  const now = d.now();
  // The statement re-checks the live row; the endpoint is left out only when, as far as this batch knows, nothing
  // is due. A streak another job starts meanwhile is cleared by a later success, at the latest a minute on.
  const clearStreak =
    streak.failingSince !== null ||
    streak.lastSuccessAt === null ||
    streak.lastSuccessAt.getTime() < now.getTime() - 60_000;
  const recorded = await d.recorder.record({
    shopId: m.shopId,
    messageId: m.id,
    attempt: a.attempt,
    step: m.scheduleStep + 1,
    startedAt: a.startedAt,
    now,
    statusCode: r.statusCode,
    attemptId: newId('wha'),
    endpointId: ep.id,
    trigger: a.trigger,
    url: ep.url,
    durationMs: r.durationMs,
    excerpt: r.responseExcerpt,
    jobId: last ? a.jobId : null,
    clearStreak,
  });
  if (recorded && clearStreak) {
    streak.failingSince = null;
    streak.lastSuccessAt = now;
  }
  return recorded;
}

/**
 * A failed attempt: log it, schedule the retry (or give up), hand the rest of the batch to a new job — or fail it
 * when the endpoint gets disabled — and delete this job, in one transaction. Null when already recorded.
 */
async function recordFailure(
  tx: Db,
  d: DeliveryDeps,
  a: Attempt,
  rest: Due[],
): Promise<'retrying' | 'failed' | null> {
  const { message, endpoint, result } = a;
  await tx.execute(asyncCommit(d.asyncCommit));
  const now = d.now();
  const step = message.scheduleStep + 1;
  let disable: 'gone' | 'failing' | null = null;
  let delay: number | null = null;
  const [ep] = await tx
    .update(webhookEndpoints)
    .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${now.toISOString()}::timestamptz)` })
    .where(and(eq(webhookEndpoints.shopId, endpoint.shopId), eq(webhookEndpoints.id, endpoint.id)))
    .returning({ failingSince: webhookEndpoints.failingSince });
  if (result.gone) disable = 'gone';
  else if (ep?.failingSince && now.getTime() - ep.failingSince.getTime() >= DISABLE_AFTER_MS)
    disable = 'failing';
  if (!disable) delay = retryDelayMs(d.scheduleMs, step, result.retryAfterMs, d.random);
  const runAt = delay === null ? null : new Date(Date.now() + delay);
  const updated = await tx
    .update(webhookMessages)
    .set({
      status: runAt ? 'pending' : 'failed',
      attemptCount: sql`${webhookMessages.attemptCount} + 1`,
      scheduleStep: step,
      nextAttemptAt: runAt,
      lastAttemptAt: a.startedAt,
      lastStatusCode: result.statusCode,
      lastError: result.error,
      updatedAt: now,
    })
    .where(
      and(
        eq(webhookMessages.shopId, message.shopId),
        eq(webhookMessages.id, message.id),
        eq(webhookMessages.attemptCount, a.attempt),
        eq(webhookMessages.status, 'pending'),
      ),
    )
    .returning({ id: webhookMessages.id });
  if (updated.length) {
    await tx.insert(webhookAttempts).values({
      id: newId('wha'),
      shopId: message.shopId,
      messageId: message.id,
      endpointId: endpoint.id,
      attemptNumber: a.attempt + 1,
      trigger: a.trigger,
      url: endpoint.url,
      startedAt: a.startedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      outcome: 'failed',
      error: result.error,
      errorKind: result.errorKind,
      responseExcerpt: result.responseExcerpt,
    });
    if (runAt)
      await enqueueDeliveries(
        tx,
        message.shopId,
        endpoint.id,
        [{ id: message.id, attempt: a.attempt + 1 }],
        'retry',
        runAt,
      );
  }
  if (disable) {
    await disableEndpoint(tx, d, endpoint, disable, now);
    await failUnsent(tx, { ...endpoint, disabledReason: disable }, rest, now);
  } else await requeue(tx, message.shopId, endpoint.id, rest, a.trigger);
  await deleteJob(tx, message.shopId, a.jobId);
  if (!updated.length) return null;
  return runAt ? 'retrying' : 'failed';
}

async function disableEndpoint(
  tx: Db,
  d: DeliveryDeps,
  endpoint: EndpointRow,
  reason: 'gone' | 'failing',
  now: Date,
): Promise<void> {
  const changed = await tx
    .update(webhookEndpoints)
    .set({ status: 'disabled', disabledReason: reason, disabledAt: now, updatedAt: now })
    .where(
      and(
        eq(webhookEndpoints.shopId, endpoint.shopId),
        eq(webhookEndpoints.id, endpoint.id),
        eq(webhookEndpoints.status, 'enabled'),
      ),
    )
    .returning({ id: webhookEndpoints.id });
  if (!changed.length) return;
  const why =
    reason === 'gone' ? 'the receiver answered 410 Gone' : 'every delivery attempt has failed for 5 days';
  await createNotice(
    tx,
    endpoint.shopId,
    {
      kind: 'webhook_endpoint_disabled',
      audience: 'admin',
      title: 'A webhook endpoint was disabled',
      message: `Resolve stopped sending webhooks to ${endpoint.url} because ${why}. Fix the receiver, then enable the endpoint again and replay the failed messages.`,
      data: { endpoint_id: endpoint.id, url: endpoint.url, reason },
    },
    now,
  );
  d.metrics.webhookEndpointsDisabled.inc({ reason });
  d.log.warn({ endpoint: endpoint.id, shop: endpoint.shopId, reason }, 'webhooks: endpoint disabled');
}
