/**
 * Orders as imported from the shop's platform: line items, shipments, which items each shipment carries, and
 * the carrier's tracking events.
 */
import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, money, ts, updatedAt } from './columns.js';
import { shops } from './shops.js';

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
    /** Set when a document dropped the line while a claim names it (kept for the claim; hidden from the order). */
    removedAt: ts('removed_at'),
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
    /** Set when a document dropped the shipment while a claim names it (as line_items.removed_at). */
    removedAt: ts('removed_at'),
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
