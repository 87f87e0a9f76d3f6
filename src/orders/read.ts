import { and, eq, getTableColumns, gte, lte, type Placeholder, type SQL, sql } from 'drizzle-orm';
import { PgDialect, type PgTable } from 'drizzle-orm/pg-core';
import { type Db, runPrepared } from '../db/client.js';
import { lineItems, orders, shipmentEvents, shipmentLineItems, shipments } from '../db/schema.js';
import { cursorTuple, instantText, isKeysetInstant, matching } from '../http/pagination.js';
import { AppError } from '../lib/errors.js';
import { normalizeOrderNumber, normalizeZip } from './document.js';
import { isStuck, type Phase } from './phase.js';

type OrderRow = typeof orders.$inferSelect;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export interface ReadOptions {
  now?: Date;
  stuckAfterDays: number;
}

type Row<T extends PgTable> = T['$inferSelect'];

/**
 * Rows of `table` from `to_json()` output, decoded as Drizzle decodes a selected row (each column's
 * mapFromDriverValue: timestamps to Dates, bigints to numbers, …), keyed by the schema's property names.
 */
export function fromJson<T extends PgTable>(table: T, rows: Record<string, unknown>[]): Row<T>[] {
  const cols = Object.entries(getTableColumns(table));
  return rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [key, col] of cols) {
      const v = r[col.name];
      out[key] = v === null || v === undefined ? null : col.mapFromDriverValue(v);
    }
    return out as Row<T>;
  });
}

/**
 * The lines, shipments, shipment lines and events of the orders that `isOrder` picks (a condition on an order id
 * column), as json columns: one statement, one round trip, whatever the number of orders.
 */
export function childrenColumns(shopId: Placeholder | SQL, isOrder: (column: SQL) => SQL) {
  const shipmentsOf = sql`select s.id from shipments s
    where s.shop_id = ${shopId} and ${isOrder(sql`s.order_id`)} and s.removed_at is null`;
  return sql`
    coalesce((select json_agg(l order by l.position) from line_items l
              where l.shop_id = ${shopId} and ${isOrder(sql`l.order_id`)} and l.removed_at is null), '[]') as lis,
    coalesce((select json_agg(s order by s.position) from shipments s
              where s.shop_id = ${shopId} and ${isOrder(sql`s.order_id`)} and s.removed_at is null), '[]') as shps,
    coalesce((select json_agg(k) from shipment_line_items k
              where k.shop_id = ${shopId} and k.shipment_id in (${shipmentsOf})), '[]') as links,
    coalesce((select json_agg(e order by e.time, e.id) from shipment_events e
              where e.shop_id = ${shopId} and e.shipment_id in (${shipmentsOf})), '[]') as events`;
}

type JsonRows = Record<string, unknown>[];
export interface Children {
  lis: JsonRows;
  shps: JsonRows;
  links: JsonRows;
  events: JsonRows;
}

const dialect = new PgDialect();
const P = (name: string) => sql.placeholder(name);

/** Built once with placeholders, run as named prepared statements: parsed and planned once per connection. */
const CHILDREN = dialect.sqlToQuery(
  sql`select ${childrenColumns(P('shop_id'), (col) => sql`${col} = any(${P('ids')}::text[])`)}`,
);
const oneOrder = (cond: SQL) =>
  dialect.sqlToQuery(sql`
    with o as (select o.* from orders o where o.shop_id = ${P('shop_id')} and ${cond} limit 1)
    select to_json(o) as o, ${childrenColumns(P('shop_id'), (col) => sql`${col} = o.id`)} from o`);
const ONE_BY_ID = oneOrder(sql`(o.id = ${P('id')} or o.external_id = ${P('id')})`);
const ONE_BY_EXTERNAL = oneOrder(sql`o.external_id = ${P('id')}`);

/** Loads orders with their lines, shipments and events, shaped as the API's order document. */
export async function loadOrderViews(db: Db, shopId: string, rows: OrderRow[], opts: ReadOptions) {
  if (!rows.length) return [];
  const [children] = await runPrepared<Children>(db, 'order_children', CHILDREN, {
    shop_id: shopId,
    ids: rows.map((r) => r.id),
  });
  return shapeOrderViews(rows, children, opts);
}

/**
 * One order by Resolve id or external_id (as findOrderRow finds it) with its lines, shipments and events, in one
 * statement; `order_not_found` when the shop has no such order.
 */
export async function loadOneOrderView(db: Db, shopId: string, idOrExternal: string, opts: ReadOptions) {
  const byId = idOrExternal.startsWith('ord_');
  const [row] = await runPrepared<Children & { o: Record<string, unknown> }>(
    db,
    byId ? 'order_view_by_id' : 'order_view_by_external_id',
    byId ? ONE_BY_ID : ONE_BY_EXTERNAL,
    { shop_id: shopId, id: idOrExternal },
  );
  if (!row) throw new AppError('order_not_found', 'No such order.');
  return orderViewFromJson(row.o, row, opts);
}

/** One order view from `to_json(order)` and the children columns of the same statement. */
export function orderViewFromJson(order: Record<string, unknown>, children: Children, opts: ReadOptions) {
  return shapeOrderViews(fromJson(orders, [order]), children, opts)[0];
}

function shapeOrderViews(rows: OrderRow[], children: Children, opts: ReadOptions) {
  const lis = fromJson(lineItems, children.lis);
  const shps = fromJson(shipments, children.shps);
  const links = fromJson(shipmentLineItems, children.links);
  const events = fromJson(shipmentEvents, children.events);
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

export type OrderView = ReturnType<typeof shapeOrderViews>[number];

/**
 * Finds one order by Resolve id or the platform's external_id, within the shop. When both match (one order's
 * external_id is another order's Resolve id), the Resolve id wins: it is the one Resolve handed out.
 */
export async function findOrderRow(db: Db, shopId: string, idOrExternal: string): Promise<OrderRow> {
  const byId = idOrExternal.startsWith('ord_');
  const cond = byId
    ? sql`(${orders.id} = ${idOrExternal} or ${orders.externalId} = ${idOrExternal})`
    : eq(orders.externalId, idOrExternal);
  const [row] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.shopId, shopId), cond))
    .orderBy(byId ? sql`${orders.id} = ${idOrExternal} desc` : orders.id)
    .limit(1);
  if (!row) throw new AppError('order_not_found', 'No such order.');
  return row;
}

export interface OrderSearch {
  order_number?: string;
  zip_code?: string;
  email?: string;
  placed_from?: string;
  placed_to?: string;
  /** Keyset cursor: the previous page's last order (placed_at as instantText, id). */
  after?: OrderKeyset;
  offset?: number;
  limit: number;
}

export interface OrderKeyset {
  at: string;
  id: string;
}

/** The orders list's cursor text (base64url-encoded by splitPage): the last order's placed_at and id. */
export const orderKeysetText = (k: OrderKeyset) => JSON.stringify([k.at, k.id]);

/**
 * Decodes an orders-list cursor. A bare order id is the cursor of versions that listed orders by id: it still
 * continues, from that order's place in the placed-at order.
 */
const ORDER_ID = /^ord_[0-9a-z]{26}$/;
export function decodeOrderKeyset(raw: string): OrderKeyset | { id: string } {
  if (ORDER_ID.test(raw)) return { id: raw };
  const [at, id] = cursorTuple(raw, [isKeysetInstant, matching(ORDER_ID)]) as [string, string];
  return { at, id };
}

/**
 * Orders newest first by placed_at (the shop's date, not the import's: a backfill imports the newest first), then
 * by id; keyset over (shop_id, placed_at, id), the index orders_shop_placed_idx read backwards.
 */
export async function searchOrderRows(
  db: Db,
  shopId: string,
  q: Omit<OrderSearch, 'after'> & { after?: OrderKeyset | { id: string } },
): Promise<(OrderRow & { placedKey: string })[]> {
  const conds: (SQL | undefined)[] = [eq(orders.shopId, shopId)];
  if (q.order_number) conds.push(eq(orders.orderNumberNorm, normalizeOrderNumber(q.order_number)));
  if (q.zip_code) conds.push(eq(orders.zipNorm, normalizeZip(q.zip_code)));
  if (q.email) conds.push(sql`lower(${orders.customerEmail}) = ${q.email.trim().toLowerCase()}`);
  if (q.placed_from) conds.push(gte(orders.placedAt, new Date(q.placed_from)));
  if (q.placed_to) conds.push(lte(orders.placedAt, new Date(q.placed_to)));
  const after = q.after;
  if (after) {
    const at =
      'at' in after
        ? sql`${after.at}::timestamptz`
        : sql`(select p.placed_at from orders p where p.shop_id = ${shopId} and p.id = ${after.id})`;
    conds.push(sql`(${orders.placedAt}, ${orders.id}) < (${at}, ${after.id})`);
  }
  return db
    .select({ ...getTableColumns(orders), placedKey: instantText(orders.placedAt) })
    .from(orders)
    .where(and(...conds))
    .orderBy(sql`${orders.placedAt} desc, ${orders.id} desc`)
    .limit(q.limit)
    .offset(q.offset ?? 0);
}
