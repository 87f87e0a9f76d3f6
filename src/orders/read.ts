import { and, asc, eq, gte, inArray, lte, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { lineItems, orders, shipmentEvents, shipmentLineItems, shipments } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { normalizeOrderNumber, normalizeZip } from './document.js';
import { isStuck, type Phase } from './phase.js';

type OrderRow = typeof orders.$inferSelect;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export interface ReadOptions {
  now?: Date;
  stuckAfterDays: number;
}

/** Loads orders with their lines, shipments and events, shaped as the API's order document. */
export async function loadOrderViews(db: Db, shopId: string, rows: OrderRow[], opts: ReadOptions) {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const [lis, shps] = await Promise.all([
    db
      .select()
      .from(lineItems)
      .where(and(eq(lineItems.shopId, shopId), inArray(lineItems.orderId, ids)))
      .orderBy(asc(lineItems.position)),
    db
      .select()
      .from(shipments)
      .where(and(eq(shipments.shopId, shopId), inArray(shipments.orderId, ids)))
      .orderBy(asc(shipments.position)),
  ]);
  const shpIds = shps.map((s) => s.id);
  const [links, events] = shpIds.length
    ? await Promise.all([
        db
          .select()
          .from(shipmentLineItems)
          .where(and(eq(shipmentLineItems.shopId, shopId), inArray(shipmentLineItems.shipmentId, shpIds))),
        db
          .select()
          .from(shipmentEvents)
          .where(and(eq(shipmentEvents.shopId, shopId), inArray(shipmentEvents.shipmentId, shpIds)))
          .orderBy(asc(shipmentEvents.time), asc(shipmentEvents.id)),
      ])
    : [[], []];
  const now = opts.now ?? new Date();
  const liById = new Map(lis.map((l) => [l.id, l]));
  const fulfilled = new Map<string, number>();
  for (const l of links) fulfilled.set(l.lineItemId, (fulfilled.get(l.lineItemId) ?? 0) + l.quantity);

  return rows.map((o) => ({
    id: o.id,
    external_id: o.externalId,
    order_number: o.orderNumber,
    order_name: o.orderName,
    placed_at: o.placedAt.toISOString(),
    cancelled_at: iso(o.cancelledAt),
    currency: o.currency,
    language: o.language,
    tags: o.tags,
    state: o.state,
    customer: {
      external_id: o.customerExternalId,
      email: o.customerEmail,
      first_name: o.customerFirstName,
      last_name: o.customerLastName,
      phone: o.customerPhone,
    },
    shipping_address: o.shippingAddress as Record<string, string | null> | null,
    billing_address: o.billingAddress as Record<string, string | null> | null,
    totals: {
      subtotal: o.subtotal,
      shipping: o.shippingTotal,
      discount: o.discountTotal,
      tax: o.taxTotal,
      total: o.total,
    },
    line_items: lis
      .filter((l) => l.orderId === o.id)
      .map((l) => ({
        id: l.id,
        external_id: l.externalId,
        sku: l.sku,
        title: l.title,
        variant_title: l.variantTitle,
        quantity: l.quantity,
        quantity_fulfilled: fulfilled.get(l.id) ?? 0,
        quantity_refunded: l.quantityRefunded,
        unit_price: l.unitPrice,
        discount: l.discount,
        tax: l.tax,
        image_url: l.imageUrl,
        product_id: l.productId,
        variant_id: l.variantId,
      })),
    shipments: shps
      .filter((s) => s.orderId === o.id)
      .map((s) => ({
        id: s.id,
        external_id: s.externalId,
        carrier: s.carrier,
        tracking_number: s.trackingNumber,
        tracking_url: s.trackingUrl,
        phase: s.phase as Phase,
        delivered_at: iso(s.deliveredAt),
        last_event_at: iso(s.lastEventAt),
        stuck: isStuck(
          { phase: s.phase as Phase, lastEventAt: s.lastEventAt, createdAt: s.createdAt },
          opts.stuckAfterDays,
          now,
        ),
        line_items: links
          .filter((k) => k.shipmentId === s.id)
          .map((k) => ({
            line_item_id: k.lineItemId,
            external_id: liById.get(k.lineItemId)?.externalId ?? null,
            quantity: k.quantity,
          })),
        events: events
          .filter((e) => e.shipmentId === s.id)
          .map((e) => ({
            id: e.id,
            time: e.time.toISOString(),
            code: e.code,
            phase: e.phase,
            description: e.description,
            location: e.location,
          })),
      })),
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
  }));
}

export type OrderView = Awaited<ReturnType<typeof loadOrderViews>>[number];

/** Finds one order by Resolve id or the platform's external_id, within the shop. */
export async function findOrderRow(db: Db, shopId: string, idOrExternal: string): Promise<OrderRow> {
  const cond = idOrExternal.startsWith('ord_')
    ? sql`(${orders.id} = ${idOrExternal} or ${orders.externalId} = ${idOrExternal})`
    : eq(orders.externalId, idOrExternal);
  const [row] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.shopId, shopId), cond))
    .limit(2);
  if (!row) throw new AppError('order_not_found', 'No such order.');
  return row;
}

export interface OrderSearch {
  order_number?: string;
  zip_code?: string;
  email?: string;
  placed_from?: string;
  placed_to?: string;
  /** Keyset cursor: the last id of the previous page. */
  after?: string;
  offset?: number;
  limit: number;
}

/** Orders newest first by id (ids are time-sortable); keyset over (shop_id, id). */
export async function searchOrderRows(db: Db, shopId: string, q: OrderSearch): Promise<OrderRow[]> {
  const conds: (SQL | undefined)[] = [eq(orders.shopId, shopId)];
  if (q.order_number) conds.push(eq(orders.orderNumberNorm, normalizeOrderNumber(q.order_number)));
  if (q.zip_code) conds.push(eq(orders.zipNorm, normalizeZip(q.zip_code)));
  if (q.email) conds.push(sql`lower(${orders.customerEmail}) = ${q.email.trim().toLowerCase()}`);
  if (q.placed_from) conds.push(gte(orders.placedAt, new Date(q.placed_from)));
  if (q.placed_to) conds.push(lte(orders.placedAt, new Date(q.placed_to)));
  if (q.after) conds.push(sql`${orders.id} < ${q.after}`);
  return db
    .select()
    .from(orders)
    .where(and(...conds))
    .orderBy(sql`${orders.id} desc`)
    .limit(q.limit)
    .offset(q.offset ?? 0);
}
