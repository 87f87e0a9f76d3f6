import { and, eq, gte, lte, type SQL, sql } from 'drizzle-orm';
import { type Db, execCount } from '../db/client.js';
import { jobs, webhookMessages } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Shop } from '../shops/shops.js';
import type { EndpointRow } from './endpoints.js';
import { testEnvelope } from './envelope.js';
import { idAt } from './id-range.js';

export const FANOUT_JOB = 'webhooks.fanout';
export const DELIVER_JOB = 'webhooks.deliver';

/** What started an attempt: the event's fan-out, a scheduled retry, a manual replay, or a test send. */
export type Trigger = 'event' | 'retry' | 'replay' | 'test';

/**
 * A delivery job: the next attempt of up to DELIVERY_BATCH messages of one endpoint, sent one after another over a
 * kept-alive connection. `attempt` is each message's attempt_count when it was queued: a message that has moved on
 * since (delivered, replayed, given up) is skipped, so a stale or repeated job does nothing twice.
 */
export interface DeliverPayload {
  endpoint_id: string;
  messages: { id: string; attempt: number }[];
  trigger: Trigger;
}

/** Messages per delivery job: a backlog costs a few statements per hundred deliveries, not per delivery. */
export const DELIVERY_BATCH = 100;

export type MessageRow = typeof webhookMessages.$inferSelect;

/** Messages created in [from, to]: exact on created_at, bounded by id so an index range is scanned. */
export function createdBetween(from: Date | null, to: Date | null): SQL[] {
  const margin = 60_000; // the id and created_at come from the same clock within milliseconds
  const out: SQL[] = [];
  if (from)
    out.push(
      gte(webhookMessages.id, idAt('msg', from.getTime() - margin, 'low')),
      gte(webhookMessages.createdAt, from),
    );
  if (to)
    out.push(
      lte(webhookMessages.id, idAt('msg', to.getTime() + margin, 'high')),
      lte(webhookMessages.createdAt, to),
    );
  return out;
}

/** Queues delivery jobs in the caller's transaction (one multi-row insert), DELIVERY_BATCH messages per job. */
export async function enqueueDeliveries(
  tx: Db,
  shopId: string,
  endpointId: string,
  messages: { id: string; attempt: number }[],
  trigger: Trigger,
  runAt = new Date(),
): Promise<void> {
  if (!messages.length) return;
  const rows = [];
  for (let i = 0; i < messages.length; i += DELIVERY_BATCH) {
    const payload: DeliverPayload = {
      endpoint_id: endpointId,
      messages: messages.slice(i, i + DELIVERY_BATCH),
      trigger,
    };
    rows.push({ id: newId('job'), type: DELIVER_JOB, shopId, payload, runAt, maxAttempts: 10 });
  }
  await tx.insert(jobs).values(rows);
}

export async function findMessage(
  db: Db,
  shopId: string,
  endpointId: string,
  id: string,
): Promise<MessageRow> {
  const [row] = await db
    .select()
    .from(webhookMessages)
    .where(
      and(
        eq(webhookMessages.shopId, shopId),
        eq(webhookMessages.endpointId, endpointId),
        eq(webhookMessages.id, id),
      ),
    )
    .limit(1);
  if (!row) throw new AppError('webhook_message_not_found', 'No such delivery for this endpoint.');
  return row;
}

const requireEnabled = (endpoint: EndpointRow) => {
  if (endpoint.status !== 'enabled')
    throw new AppError(
      'webhook_endpoint_disabled',
      'This endpoint is disabled; enable it (PATCH status "enabled") before sending to it.',
    );
};

/** A `webhooks/test` message to one endpoint, delivered (and retried) like any other. */
export async function createTestMessage(tx: Db, shop: Shop, endpoint: EndpointRow, now = new Date()) {
  requireEnabled(endpoint);
  const [row] = await tx
    .insert(webhookMessages)
    .values({
      id: newId('msg'),
      shopId: shop.id,
      endpointId: endpoint.id,
      eventId: null,
      eventType: 'webhooks/test',
      payload: JSON.stringify(testEnvelope(shop, endpoint.id, now)),
      nextAttemptAt: now,
      createdAt: now,
    })
    .returning();
  await enqueueDeliveries(tx, shop.id, endpoint.id, [{ id: row.id, attempt: 0 }], 'test', now);
  return row;
}

/**
 * Sends a message again, now, with a fresh retry schedule; same `webhook-id` and body (receivers de-duplicate on
 * the id). A message still waiting for a retry is moved up to now.
 */
export async function replayMessage(
  tx: Db,
  endpoint: EndpointRow,
  messageId: string,
  now = new Date(),
): Promise<MessageRow> {
  requireEnabled(endpoint);
  await findMessage(tx, endpoint.shopId, endpoint.id, messageId);
  const [row] = await tx
    .update(webhookMessages)
    .set({ status: 'pending', scheduleStep: 0, nextAttemptAt: now, updatedAt: now })
    .where(and(eq(webhookMessages.shopId, endpoint.shopId), eq(webhookMessages.id, messageId)))
    .returning();
  const movedUp = await execCount(
    tx,
    sql`update jobs set run_at = now(), updated_at = now()
        where type = ${DELIVER_JOB} and shop_id = ${endpoint.shopId} and status = 'queued'
          and payload @> ${JSON.stringify({ messages: [{ id: messageId }] })}::jsonb`,
  );
  if (!movedUp)
    await enqueueDeliveries(
      tx,
      endpoint.shopId,
      endpoint.id,
      [{ id: messageId, attempt: row.attemptCount }],
      'replay',
      now,
    );
  return row;
}

/** Replays every failed message of the endpoint created in [from, to]; answers how many. */
export async function replayFailed(
  tx: Db,
  endpoint: EndpointRow,
  from: Date,
  to: Date,
  now = new Date(),
): Promise<number> {
  requireEnabled(endpoint);
  const rows = await tx
    .update(webhookMessages)
    .set({ status: 'pending', scheduleStep: 0, nextAttemptAt: now, updatedAt: now })
    .where(
      and(
        eq(webhookMessages.shopId, endpoint.shopId),
        eq(webhookMessages.endpointId, endpoint.id),
        eq(webhookMessages.status, 'failed'),
        ...createdBetween(from, to),
      ),
    )
    .returning({ id: webhookMessages.id, attempt: webhookMessages.attemptCount });
  await enqueueDeliveries(tx, endpoint.shopId, endpoint.id, rows, 'replay', now);
  return rows.length;
}
