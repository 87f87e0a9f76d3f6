import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const money = (name: string) => bigint(name, { mode: 'number' }).notNull().default(0);
const createdAt = () => ts('created_at').notNull().defaultNow();
const updatedAt = () => ts('updated_at').notNull().defaultNow();

/** A tenant. Every other row belongs to exactly one shop. */
export const shops = pgTable('shops', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  defaultLanguage: text('default_language').notNull().default('en'),
  timezone: text('timezone').notNull().default('UTC'),
  connector: text('connector').notNull().default('headless'),
  /** Last claim number handed out; claims are R-<n> (incremented under the row lock). */
  claimSeq: integer('claim_seq').notNull().default(1000),
  settings: jsonb('settings').notNull().default(sql`'{}'::jsonb`),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** API keys: the secret is stored as a SHA-256 hash (the secret itself has 256 bits of entropy). */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    role: text('role').notNull(),
    shopIds: text('shop_ids').array().notNull(),
    secretHash: text('secret_hash').notNull(),
    secretHint: text('secret_hint').notNull(),
    expiresAt: ts('expires_at'),
    lastUsedAt: ts('last_used_at'),
    revokedAt: ts('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [index('api_keys_shop_ids_idx').using('gin', t.shopIds)],
);

export const orders = pgTable(
  'orders',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id),
    externalId: text('external_id'),
    orderNumber: text('order_number').notNull(),
    /** Lookup key: trimmed, case-folded, leading '#' dropped. */
    orderNumberNorm: text('order_number_norm').notNull(),
    orderName: text('order_name'),
    placedAt: ts('placed_at').notNull(),
    cancelledAt: ts('cancelled_at'),
    currency: text('currency').notNull(),
    language: text('language'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    state: text('state').notNull(),
    customerExternalId: text('customer_external_id'),
    customerEmail: text('customer_email'),
    customerFirstName: text('customer_first_name'),
    customerLastName: text('customer_last_name'),
    customerPhone: text('customer_phone'),
    shippingAddress: jsonb('shipping_address'),
    billingAddress: jsonb('billing_address'),
    /** Shipping ZIP without spaces/dashes, case-folded: what the customer lookup compares. */
    zipNorm: text('zip_norm'),
    subtotal: money('subtotal'),
    shippingTotal: money('shipping_total'),
    discountTotal: money('discount_total'),
    taxTotal: money('tax_total'),
    total: money('total'),
    /** Order tokens issued before this instant are revoked ("revoke all links of this order"). */
    tokensValidAfter: ts('tokens_valid_after'),
    /**
     * When the customer last changed this order through Resolve (cancel, address change), after the shop's platform
     * carried it out. A platform document read before this instant predates the change: a sync does not apply it
     * (it reads the order again instead), so it cannot undo the change.
     */
    localChangeAt: ts('local_change_at'),
    /** Hash of the normalised order document: re-sending the same document changes nothing. */
    docHash: text('doc_hash').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('orders_shop_number_uq').on(t.shopId, t.orderNumberNorm),
    uniqueIndex('orders_shop_external_uq').on(t.shopId, t.externalId),
    index('orders_shop_zip_idx').on(t.shopId, t.zipNorm),
    index('orders_shop_email_idx').on(t.shopId, sql`lower(${t.customerEmail})`),
    index('orders_shop_placed_idx').on(t.shopId, t.placedAt, t.id),
  ],
);

export const lineItems = pgTable(
  'line_items',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    externalId: text('external_id').notNull(),
    position: integer('position').notNull(),
    sku: text('sku'),
    title: text('title').notNull(),
    variantTitle: text('variant_title'),
    quantity: integer('quantity').notNull(),
    quantityRefunded: integer('quantity_refunded').notNull().default(0),
    unitPrice: money('unit_price'),
    discount: money('discount'),
    tax: money('tax'),
    imageUrl: text('image_url'),
    productId: text('product_id'),
    variantId: text('variant_id'),
  },
  (t) => [uniqueIndex('line_items_order_external_uq').on(t.orderId, t.externalId)],
);

export const shipments = pgTable(
  'shipments',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    externalId: text('external_id').notNull(),
    position: integer('position').notNull(),
    carrier: text('carrier'),
    trackingNumber: text('tracking_number'),
    trackingUrl: text('tracking_url'),
    /** Phase given by the platform, if any; wins over the events' phase. */
    phaseOverride: text('phase_override'),
    deliveredAtOverride: ts('delivered_at_override'),
    /** Derived from events (see orders/phase.ts) and kept current on every write. */
    phase: text('phase').notNull(),
    deliveredAt: ts('delivered_at'),
    lastEventAt: ts('last_event_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('shipments_order_external_uq').on(t.orderId, t.externalId),
    index('shipments_shop_phase_idx').on(t.shopId, t.phase),
  ],
);

export const shipmentLineItems = pgTable(
  'shipment_line_items',
  {
    shipmentId: text('shipment_id')
      .notNull()
      .references(() => shipments.id, { onDelete: 'cascade' }),
    lineItemId: text('line_item_id')
      .notNull()
      .references(() => lineItems.id, { onDelete: 'cascade' }),
    shopId: text('shop_id').notNull(),
    quantity: integer('quantity').notNull(),
  },
  (t) => [primaryKey({ columns: [t.shipmentId, t.lineItemId] })],
);

export const shipmentEvents = pgTable(
  'shipment_events',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    shipmentId: text('shipment_id')
      .notNull()
      .references(() => shipments.id, { onDelete: 'cascade' }),
    time: ts('time').notNull(),
    code: text('code').notNull(),
    phase: text('phase'),
    description: text('description'),
    location: text('location'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('shipment_events_uq').on(t.shipmentId, t.time, t.code)],
);

/** Transactional job queue: rows are written in the caller's transaction and claimed with SKIP LOCKED. */
export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    shopId: text('shop_id'),
    payload: jsonb('payload').notNull(),
    status: text('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(10),
    runAt: ts('run_at').notNull().defaultNow(),
    lockedUntil: ts('locked_until'),
    lockedBy: text('locked_by'),
    lastError: text('last_error'),
    uniqueKey: text('unique_key'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    // Claiming reads due jobs in run_at order and expired leases in lease order (src/jobs/queue.ts), each from an
    // index holding only those rows, so a claim stops after `limit` rows however long the backlog behind it.
    index('jobs_queued_idx').on(t.runAt).where(sql`status = 'queued'`),
    index('jobs_lease_idx').on(t.lockedUntil).where(sql`status = 'running'`),
    // A webhook fan-out takes over its shop's other queued fan-outs (src/webhooks/fanout.ts).
    index('jobs_fanout_idx').on(t.shopId, t.runAt).where(sql`type = 'webhooks.fanout' and status = 'queued'`),
    // Most jobs have no key: they are not in this index at all.
    uniqueIndex('jobs_unique_key_uq').on(t.uniqueKey).where(sql`unique_key is not null`),
  ],
);

/** Stored answers to POSTs with an Idempotency-Key, per credential scope. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code'),
    responseBody: text('response_body'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('idempotency_created_idx').on(t.createdAt)],
);

/** Merchant portal users; a user may belong to several shops. Passwords are scrypt hashes. */
export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    name: text('name'),
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('users_email_uq').on(t.email)],
); // stored lower-cased

export const memberships = pgTable(
  'memberships',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id, { onDelete: 'cascade' }),
    role: text('role').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.shopId] }), index('memberships_shop_idx').on(t.shopId)],
);

/** Portal sign-in sessions (httpOnly cookie); the cookie value is stored hashed. */
export const portalSessions = pgTable(
  'portal_sessions',
  {
    id: text('id').primaryKey(),
    tokenHash: text('token_hash').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    ip: text('ip'),
    userAgent: text('user_agent'),
    expiresAt: ts('expires_at').notNull(),
    lastSeenAt: ts('last_seen_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('portal_sessions_token_uq').on(t.tokenHash),
    index('portal_sessions_user_idx').on(t.userId),
    index('portal_sessions_expiry_idx').on(t.expiresAt),
  ],
);

/** An admin's invitation to join a shop with a role; the link's token is stored hashed. */
export const invites = pgTable(
  'invites',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdBy: text('created_by'),
    expiresAt: ts('expires_at').notNull(),
    acceptedAt: ts('accepted_at'),
    revokedAt: ts('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('invites_token_uq').on(t.tokenHash), index('invites_shop_idx').on(t.shopId, t.id)],
);

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

/** Instance-wide values shared by every process (e.g. the generated signing secret). */
export const instanceSettings = pgTable('instance_settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: updatedAt(),
});

/** Customer sessions opened by a lookup (order number + ZIP) or an order token. The bearer is stored hashed. */
export const resolveSessions = pgTable(
  'resolve_sessions',
  {
    id: text('id').primaryKey(),
    tokenHash: text('token_hash').notNull(),
    shopId: text('shop_id').notNull(),
    orderId: text('order_id').notNull(),
    level: text('level').notNull(),
    tokenId: text('token_id'),
    expiresAt: ts('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('resolve_sessions_token_uq').on(t.tokenHash),
    index('resolve_sessions_expiry_idx').on(t.expiresAt),
  ],
);

/** Individually revoked order tokens (by token id). */
/**
 * Revoked Resolve links, by token id and the order it was revoked for: a link is refused only when its own
 * order revoked it (links are not stored when issued, so an id named for the wrong order must not reach
 * another order's link).
 */
export const revokedTokens = pgTable(
  'revoked_tokens',
  {
    shopId: text('shop_id').notNull(),
    tokenId: text('token_id').notNull(),
    orderId: text('order_id').notNull(),
    revokedAt: ts('revoked_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.shopId, t.orderId, t.tokenId] })],
);

/** Fixed-window counters and lock-outs for the customer lookup, shared by every process. */
export const rateLimits = pgTable(
  'rate_limits',
  {
    bucket: text('bucket').primaryKey(),
    shopId: text('shop_id'),
    hits: integer('hits').notNull(),
    windowStartedAt: ts('window_started_at').notNull(),
    lockedUntil: ts('locked_until'),
    updatedAt: updatedAt(),
  },
  (t) => [index('rate_limits_shop_locked_idx').on(t.shopId, t.lockedUntil)],
);

/** Evidence files uploaded in a customer session; removed by a job unless a claim takes them within 24 h. */
export const uploads = pgTable(
  'uploads',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    orderId: text('order_id').notNull(),
    sessionId: text('session_id'),
    storageKey: text('storage_key').notNull(),
    contentType: text('content_type').notNull(),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    claimId: text('claim_id'),
    createdAt: createdAt(),
  },
  (t) => [
    index('uploads_shop_order_idx').on(t.shopId, t.orderId),
    index('uploads_unattached_idx').on(t.createdAt).where(sql`claim_id is null`),
  ],
);

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
    index('claims_shop_order_number_idx').on(t.shopId, t.orderNumberNorm),
    index('claims_shop_email_idx').on(t.shopId, t.customerEmail),
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

/** Things a shop's people must be told (e.g. a webhook endpoint was disabled); the portal shows them. */
export const shopNotices = pgTable(
  'shop_notices',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    /** Lowest role that sees it: `viewer`, `editor` or `admin`. */
    audience: text('audience').notNull(),
    title: text('title').notNull(),
    message: text('message').notNull(),
    /** What it is about, e.g. `{endpoint_id, reason}`. */
    data: jsonb('data').notNull().default(sql`'{}'::jsonb`),
    createdAt: createdAt(),
    dismissedAt: ts('dismissed_at'),
  },
  (t) => [index('shop_notices_shop_idx').on(t.shopId, t.id)],
);
