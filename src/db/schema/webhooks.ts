/** Outbound webhooks: endpoints, one message per event and endpoint, and every delivery attempt. */
import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, ts, updatedAt } from './columns.js';
import { shops } from './shops.js';

/**
 * Outbound webhook endpoints (Svix style: endpoints, messages and attempts are separate tables). Secrets are
 * sealed with a key derived from the master secret (src/lib/secret.ts); during a rotation the previous secret
 * stays valid until `previous_secret_expires_at` and both signatures are sent.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description'),
    /** `*`, a source (`claims`) or exact event types (`claims/created`). */
    eventTypes: text('event_types').array().notNull(),
    status: text('status').notNull().default('enabled'),
    /** `manual`, `gone` (the receiver answered 410) or `failing` (failed continuously for 5 days). */
    disabledReason: text('disabled_reason'),
    disabledAt: ts('disabled_at'),
    secretSealed: text('secret_sealed').notNull(),
    previousSecretSealed: text('previous_secret_sealed'),
    previousSecretExpiresAt: ts('previous_secret_expires_at'),
    secretRotatedAt: ts('secret_rotated_at'),
    /** First failed attempt since the last success; null while the endpoint answers. */
    failingSince: ts('failing_since'),
    lastSuccessAt: ts('last_success_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('webhook_endpoints_shop_idx').on(t.shopId, t.id),
    index('webhook_endpoints_enabled_idx').on(t.shopId).where(sql`status = 'enabled'`),
  ],
);

/** One event for one endpoint: its id is the `webhook-id` header, stable across retries and replays. */
export const webhookMessages = pgTable(
  'webhook_messages',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    /** The outbox event; null for test messages. */
    eventId: text('event_id'),
    eventType: text('event_type').notNull(),
    /** The exact body sent (the envelope, serialised once at fan-out): every attempt sends the same bytes. */
    payload: text('payload').notNull(),
    /** `pending` (an attempt is due), `succeeded` or `failed` (retries used up, or the endpoint was disabled). */
    status: text('status').notNull().default('pending'),
    attemptCount: integer('attempt_count').notNull().default(0),
    /** Attempts in the current series (a replay starts a new one); indexes the retry schedule. */
    scheduleStep: integer('schedule_step').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at'),
    lastAttemptAt: ts('last_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: ts('delivered_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // No index on status: status changes stay HOT updates (a delivery rewrites no index entry); time and status
    // filters scan this index by id range (ids are time-sortable, see src/webhooks/id-range.ts).
    index('webhook_messages_endpoint_idx').on(t.shopId, t.endpointId, t.id),
    uniqueIndex('webhook_messages_event_uq').on(t.endpointId, t.eventId),
  ],
);

/** Every delivery attempt, as it happened. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    messageId: text('message_id')
      .notNull()
      .references(() => webhookMessages.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id').notNull(),
    attemptNumber: integer('attempt_number').notNull(),
    /** `scheduled` (fan-out and retries), `replay` or `test`. */
    trigger: text('trigger').notNull(),
    url: text('url').notNull(),
    startedAt: ts('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    statusCode: integer('status_code'),
    /** `succeeded` or `failed`. */
    outcome: text('outcome').notNull(),
    /** Why it failed, for people: `timeout`, `tls: …`, `refused: …`, `redirect: …`, `http 500`. */
    error: text('error'),
    errorKind: text('error_kind'),
    /** The first 4 kB of the response body. */
    responseExcerpt: text('response_excerpt'),
  },
  (t) => [index('webhook_attempts_message_idx').on(t.shopId, t.messageId, t.id)],
);
