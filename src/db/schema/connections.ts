/** A shop's connection to its platform and the platform webhooks received through it. */
import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, ts, updatedAt } from './columns.js';
import { shops } from './shops.js';

/**
 * A shop's connection to its platform (SPEC §9): one per shop. Credentials are sealed (AES-256-GCM) and never
 * returned; `sync` holds the backfill's progress and the reconcile watermark.
 */
export const shopConnections = pgTable(
  'shop_connections',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id, { onDelete: 'cascade' }),
    platform: text('platform').notNull(),
    settings: jsonb('settings').notNull(),
    credentialsSealed: text('credentials_sealed').notNull(),
    status: text('status').notNull().default('active'),
    lastError: text('last_error'),
    sync: jsonb('sync').notNull().default(sql`'{}'::jsonb`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('shop_connections_shop_uq').on(t.shopId)],
);

/** Verified platform webhooks, de-duplicated by the platform's own event id, then processed by a job. */
export const platformEvents = pgTable(
  'platform_events',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    connectionId: text('connection_id')
      .notNull()
      .references(() => shopConnections.id, { onDelete: 'cascade' }),
    eventId: text('event_id').notNull(),
    topic: text('topic').notNull(),
    orderExternalId: text('order_external_id'),
    payload: jsonb('payload').notNull(),
    status: text('status').notNull().default('received'),
    error: text('error'),
    receivedAt: ts('received_at').notNull().defaultNow(),
    processedAt: ts('processed_at'),
  },
  (t) => [
    uniqueIndex('platform_events_dedupe_uq').on(t.connectionId, t.eventId),
    index('platform_events_shop_idx').on(t.shopId, t.id),
  ],
);
