/**
 * Claims and what hangs off them (saved list views, items, evidence, history, resolution actions), and the
 * outbox of domain events.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './columns.js';
import { orders } from './orders.js';
import { shops } from './shops.js';

export const claims = pgTable(
  'claims',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id),
    number: text('number').notNull(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    shipmentId: text('shipment_id'),
    flow: text('flow').notNull(),
    reason: text('reason').notNull(),
    description: text('description'),
    resolutionPreference: text('resolution_preference'),
    status: text('status').notNull().default('pending'),
    /** The decision, kept when the claim is closed: a rejected claim (closed or not) holds no units. */
    outcome: text('outcome'),
    channel: text('channel').notNull(),
    language: text('language'),
    dropoffPermission: boolean('dropoff_permission'),
    answers: jsonb('answers').notNull().default(sql`'[]'::jsonb`),
    context: jsonb('context').notNull(),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    assignee: text('assignee'),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    version: integer('version').notNull().default(1),
    // Filter fields copied from the context snapshot at submission (src/claims/denormalized.ts), so the claims
    // list filters and sorts on plain indexed columns: order number as the lookup normalises it, customer email
    // and carrier lower-cased, country upper-cased, shipment phase, claim value (minor units) and its currency.
    orderNumberNorm: text('order_number_norm').notNull(),
    customerEmail: text('customer_email'),
    carrier: text('carrier'),
    countryCode: text('country_code'),
    shipmentPhase: text('shipment_phase'),
    claimValue: bigint('claim_value', { mode: 'number' }).notNull().default(0),
    currency: text('currency'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('claims_shop_number_uq').on(t.shopId, t.number),
    uniqueIndex('claims_idempotency_uq').on(t.shopId, t.orderId, t.idempotencyKey),
    index('claims_shop_order_idx').on(t.shopId, t.orderId),
    // The claims list (src/claims/filters.ts): every index is led by the tenant and ends in the keyset
    // (created_at, id), so a filter with an equality on its column reads one range in sort order.
    index('claims_shop_created_idx').on(t.shopId, t.createdAt, t.id),
    index('claims_shop_updated_idx').on(t.shopId, t.updatedAt, t.id),
    index('claims_shop_status_idx').on(t.shopId, t.status, t.createdAt, t.id),
    index('claims_shop_flow_idx').on(t.shopId, t.flow, t.createdAt, t.id),
    index('claims_shop_carrier_idx').on(t.shopId, t.carrier, t.createdAt, t.id),
    index('claims_shop_country_idx').on(t.shopId, t.countryCode, t.createdAt, t.id),
    index('claims_shop_phase_idx').on(t.shopId, t.shipmentPhase, t.createdAt, t.id),
    index('claims_shop_assignee_idx').on(t.shopId, t.assignee, t.createdAt, t.id),
    // The search (q): text_pattern_ops (byte order, whatever the database's collation) serves both the exact
    // match and the prefix (`like 'abc%'`) of order number, email and claim number.
    index('claims_shop_order_number_idx').on(t.shopId, t.orderNumberNorm.op('text_pattern_ops')),
    index('claims_shop_email_idx').on(t.shopId, t.customerEmail.op('text_pattern_ops')),
    index('claims_shop_number_prefix_idx').on(t.shopId, t.number.op('text_pattern_ops')),
    // GIN cannot lead with shop_id without btree_gin (not in PGlite's default build): the planner ANDs it
    // with a shop_id index instead.
    index('claims_tags_idx').using('gin', t.tags),
  ],
);

/** Saved views of the claims list: a name and the list's filter/sort query, per shop and owner. */
export const claimViews = pgTable(
  'claim_views',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id, { onDelete: 'cascade' }),
    /** The principal that saved it (API key id today, portal user id later). */
    owner: text('owner').notNull(),
    name: text('name').notNull(),
    query: jsonb('query').notNull(),
    /** Visible to everyone in the shop (still changed by its owner only). */
    shared: boolean('shared').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('claim_views_owner_name_uq').on(t.shopId, t.owner, t.name),
    index('claim_views_shop_shared_idx').on(t.shopId, t.shared),
  ],
);

export const claimItems = pgTable(
  'claim_items',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    claimId: text('claim_id')
      .notNull()
      .references(() => claims.id, { onDelete: 'cascade' }),
    lineItemId: text('line_item_id').notNull(),
    shipmentId: text('shipment_id'),
    sku: text('sku'),
    title: text('title').notNull(),
    variantTitle: text('variant_title'),
    quantity: integer('quantity').notNull(),
    unitNetPrice: bigint('unit_net_price', { mode: 'number' }).notNull(),
    imageUrl: text('image_url'),
  },
  (t) => [
    index('claim_items_claim_idx').on(t.claimId),
    index('claim_items_line_idx').on(t.shopId, t.lineItemId),
  ],
);

export const claimEvidence = pgTable(
  'claim_evidence',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    claimId: text('claim_id')
      .notNull()
      .references(() => claims.id, { onDelete: 'cascade' }),
    uploadId: text('upload_id').notNull(),
    kind: text('kind').notNull(),
    lineItemId: text('line_item_id'),
    contentType: text('content_type').notNull(),
    size: integer('size').notNull(),
  },
  (t) => [index('claim_evidence_claim_idx').on(t.claimId)],
);

/** Append-only: every change of a claim, written in the same transaction as the change. */
export const claimHistory = pgTable(
  'claim_history',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    claimId: text('claim_id')
      .notNull()
      .references(() => claims.id, { onDelete: 'cascade' }),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    changes: jsonb('changes').notNull(),
    note: text('note'),
    createdAt: createdAt(),
  },
  (t) => [index('claim_history_claim_idx').on(t.claimId, t.id)],
);

/**
 * Resolution actions on a claim (SPEC §6): a refund, replacement or store credit carried out in the shop.
 * The row (with its idempotency key) exists before the platform is called, so a retry never acts twice.
 */
export const claimActions = pgTable(
  'claim_actions',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    claimId: text('claim_id')
      .notNull()
      .references(() => claims.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    status: text('status').notNull().default('pending'),
    lines: jsonb('lines').notNull(),
    includeShipping: boolean('include_shipping').notNull().default(false),
    note: text('note'),
    amount: bigint('amount', { mode: 'number' }),
    currency: text('currency'),
    externalId: text('external_id'),
    externalNumber: text('external_number'),
    error: text('error'),
    /** A failure the platform may have carried out (no answer, 5xx, gave up): its units stay reserved. */
    outcomeUnknown: boolean('outcome_unknown').notNull().default(false),
    attempts: integer('attempts').notNull().default(0),
    createdBy: jsonb('created_by').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('claim_actions_claim_idx').on(t.shopId, t.claimId),
    // The hourly maintenance scan for pending actions no job carries out (settleOrphanedActions): pending ones
    // only, oldest first, whatever the number of finished actions.
    index('claim_actions_pending_idx').on(t.updatedAt).where(sql`status = 'pending'`),
  ],
);

/** Outbox of domain events (claims/created, claims/updated, orders/cancelled, …), written with the change. */
export const events = pgTable(
  'events',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    type: text('type').notNull(),
    version: integer('version').notNull().default(1),
    subjectId: text('subject_id').notNull(),
    data: jsonb('data').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('events_shop_idx').on(t.shopId, t.id), index('events_subject_idx').on(t.shopId, t.subjectId)],
);
