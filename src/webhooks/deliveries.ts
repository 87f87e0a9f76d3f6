import { and, asc, desc, eq, inArray, like, or, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { webhookAttempts, webhookMessages } from '../db/schema.js';
import { createdBetween, type MessageRow } from './messages.js';

/** The delivery log of one endpoint: its messages (newest first) and each message's attempts. */

export interface DeliverySearch {
  /** Comma-separated: pending, succeeded, failed. */
  status?: string;
  /** An exact type (`claims/created`) or a source (`claims`). */
  event_type?: string;
  created_from?: string;
  created_to?: string;
  /** Keyset cursor: the last id of the previous page. */
  after?: string;
  limit: number;
}

export async function searchDeliveries(
  db: Db,
  shopId: string,
  endpointId: string,
  q: DeliverySearch,
): Promise<MessageRow[]> {
  const conds: (SQL | undefined)[] = [
    eq(webhookMessages.shopId, shopId),
    eq(webhookMessages.endpointId, endpointId),
  ];
  if (q.status) conds.push(inArray(webhookMessages.status, q.status.split(',')));
  if (q.event_type)
    conds.push(
      q.event_type.includes('/')
        ? eq(webhookMessages.eventType, q.event_type)
        : or(
            eq(webhookMessages.eventType, q.event_type),
            like(webhookMessages.eventType, `${q.event_type}/%`),
          ),
    );
  conds.push(
    ...createdBetween(
      q.created_from ? new Date(q.created_from) : null,
      q.created_to ? new Date(q.created_to) : null,
    ),
  );
  if (q.after) conds.push(sql`${webhookMessages.id} < ${q.after}`);
  return db
    .select()
    .from(webhookMessages)
    .where(and(...conds))
    .orderBy(desc(webhookMessages.id))
    .limit(q.limit);
}

export async function loadAttempts(db: Db, shopId: string, messageId: string) {
  return db
    .select()
    .from(webhookAttempts)
    .where(and(eq(webhookAttempts.shopId, shopId), eq(webhookAttempts.messageId, messageId)))
    .orderBy(asc(webhookAttempts.id));
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function deliveryView(m: MessageRow) {
  return {
    id: m.id,
    endpoint_id: m.endpointId,
    event_id: m.eventId,
    event_type: m.eventType,
    status: m.status as 'pending' | 'succeeded' | 'failed',
    attempt_count: m.attemptCount,
    next_attempt_at: m.status === 'pending' ? iso(m.nextAttemptAt) : null,
    last_attempt_at: iso(m.lastAttemptAt),
    last_status_code: m.lastStatusCode,
    last_error: m.lastError,
    delivered_at: iso(m.deliveredAt),
    created_at: m.createdAt.toISOString(),
  };
}

export function attemptView(a: typeof webhookAttempts.$inferSelect) {
  return {
    id: a.id,
    attempt_number: a.attemptNumber,
    trigger: a.trigger as 'event' | 'retry' | 'replay' | 'test',
    url: a.url,
    started_at: a.startedAt.toISOString(),
    duration_ms: a.durationMs,
    status_code: a.statusCode,
    outcome: a.outcome as 'succeeded' | 'failed',
    error: a.error,
    error_kind: a.errorKind,
    response_excerpt: a.responseExcerpt,
  };
}
