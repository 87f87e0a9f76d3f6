import { newId } from '../src/lib/ids.js';
import type { OrderInputT } from '../src/orders/document.js';

/** Runs one parameterised statement; the baseline's only contact with the database driver. */
export type Exec = (text: string, params: unknown[]) => Promise<unknown>;

interface Table {
  name: string;
  columns: string[];
}

// The same tables and columns the API writes (src/db/schema.ts).
const ORDERS: Table = {
  name: 'orders',
  columns: [
    'id',
    'shop_id',
    'external_id',
    'order_number',
    'order_number_norm',
    'order_name',
    'placed_at',
    'cancelled_at',
    'currency',
    'language',
    'tags',
    'state',
    'customer_external_id',
    'customer_email',
    'customer_first_name',
    'customer_last_name',
    'customer_phone',
    'shipping_address',
    'billing_address',
    'zip_norm',
    'subtotal',
    'shipping_total',
    'discount_total',
    'tax_total',
    'total',
    'doc_hash',
    'created_at',
    'updated_at',
  ],
};
const LINE_ITEMS: Table = {
  name: 'line_items',
  columns: [
    'id',
    'shop_id',
    'order_id',
    'external_id',
    'position',
    'sku',
    'title',
    'variant_title',
    'quantity',
    'quantity_refunded',
    'unit_price',
    'discount',
    'tax',
    'image_url',
    'product_id',
    'variant_id',
  ],
};
const SHIPMENTS: Table = {
  name: 'shipments',
  columns: [
    'id',
    'shop_id',
    'order_id',
    'external_id',
    'position',
    'carrier',
    'tracking_number',
    'tracking_url',
    'phase_override',
    'delivered_at_override',
    'phase',
    'delivered_at',
    'last_event_at',
    'created_at',
    'updated_at',
  ],
};
const SHIPMENT_LINE_ITEMS: Table = {
  name: 'shipment_line_items',
  columns: ['shipment_id', 'line_item_id', 'shop_id', 'quantity'],
};
const SHIPMENT_EVENTS: Table = {
  name: 'shipment_events',
  columns: ['id', 'shop_id', 'shipment_id', 'time', 'code', 'phase', 'description', 'location', 'created_at'],
};

const MAX_PARAMS = 60_000; // below PostgreSQL's 65,535 bind parameters per statement
const statements = new Map<string, string>();

function insertText(t: Table, rows: number): string {
  const key = `${t.name}|${rows}`;
  let text = statements.get(key);
  if (!text) {
    const w = t.columns.length;
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const ph: string[] = [];
      for (let c = 1; c <= w; c++) ph.push(`$${r * w + c}`);
      tuples.push(`(${ph.join(',')})`);
    }
    text = `insert into ${t.name} (${t.columns.map((c) => `"${c}"`).join(',')}) values ${tuples.join(',')}`;
    statements.set(key, text);
  }
  return text;
}

async function insertAll(exec: Exec, t: Table, rows: unknown[][]): Promise<void> {
  const per = Math.max(1, Math.floor(MAX_PARAMS / t.columns.length));
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    await exec(insertText(t, chunk.length), chunk.flat());
  }
}

const norm = (v: string) => v.trim().toLowerCase().replace(/^#+/, '').trim();
const orNull = <T>(v: T | null | undefined): T | null => (v === undefined ? null : v);

/**
 * The baseline: the rows the API would store for these documents (same tables, columns and values shape),
 * written with plain multi-row INSERTs in the caller's transaction. No validation, no matching, no hashing,
 * no ON CONFLICT, no RETURNING: what any importer cannot do with less.
 */
export async function bareInsert(exec: Exec, shopId: string, docs: OrderInputT[]): Promise<void> {
  const now = new Date().toISOString();
  const orderRows: unknown[][] = [];
  const liRows: unknown[][] = [];
  const shpRows: unknown[][] = [];
  const sliRows: unknown[][] = [];
  const evRows: unknown[][] = [];
  for (const d of docs) {
    const orderId = newId('ord');
    const a = d.shipping_address ?? null;
    const c = d.customer ?? null;
    const t = d.totals ?? {};
    const liIds = new Map<string, string>();
    let shipped = 0;
    for (const s of d.shipments ?? []) for (const l of s.line_items) shipped += l.quantity;
    const ordered = d.line_items.reduce((n, l) => n + l.quantity, 0);
    orderRows.push([
      orderId,
      shopId,
      orNull(d.external_id),
      d.order_number,
      norm(d.order_number),
      orNull(d.order_name),
      d.placed_at,
      orNull(d.cancelled_at),
      d.currency.toUpperCase(),
      orNull(d.language),
      d.tags ?? [],
      shipped === 0 ? 'placed' : shipped >= ordered ? 'fulfilled' : 'partially_fulfilled',
      orNull(c?.external_id),
      orNull(c?.email),
      orNull(c?.first_name),
      orNull(c?.last_name),
      orNull(c?.phone),
      a ? JSON.stringify(a) : null,
      d.billing_address ? JSON.stringify(d.billing_address) : null,
      a?.zip_code ? a.zip_code.toLowerCase().replace(/[\s-]+/g, '') : null,
      t.subtotal ?? 0,
      t.shipping ?? 0,
      t.discount ?? 0,
      t.tax ?? 0,
      t.total ?? 0,
      `bare-${orderId}`,
      now,
      now,
    ]);
    d.line_items.forEach((l, position) => {
      const id = newId('li');
      liIds.set(l.external_id, id);
      liRows.push([
        id,
        shopId,
        orderId,
        l.external_id,
        position,
        orNull(l.sku),
        l.title,
        orNull(l.variant_title),
        l.quantity,
        l.quantity_refunded ?? 0,
        l.unit_price,
        l.discount ?? 0,
        l.tax ?? 0,
        orNull(l.image_url),
        orNull(l.product_id),
        orNull(l.variant_id),
      ]);
    });
    (d.shipments ?? []).forEach((s, position) => {
      const id = newId('shp');
      const events = s.events ?? [];
      const lastEv = events[events.length - 1];
      const delivered = events.find((e) => e.phase === 'delivered');
      shpRows.push([
        id,
        shopId,
        orderId,
        s.external_id,
        position,
        orNull(s.carrier),
        orNull(s.tracking_number),
        orNull(s.tracking_url),
        orNull(s.phase),
        orNull(s.delivered_at),
        lastEv?.phase ?? 'order_processed',
        delivered?.time ?? null,
        lastEv?.time ?? null,
        now,
        now,
      ]);
      for (const l of s.line_items) sliRows.push([id, liIds.get(l.external_id), shopId, l.quantity]);
      for (const e of events) {
        evRows.push([
          newId('sev'),
          shopId,
          id,
          e.time,
          e.code,
          orNull(e.phase),
          orNull(e.description),
          orNull(e.location),
          now,
        ]);
      }
    });
  }
  await insertAll(exec, ORDERS, orderRows);
  await insertAll(exec, LINE_ITEMS, liRows);
  await insertAll(exec, SHIPMENTS, shpRows);
  await insertAll(exec, SHIPMENT_LINE_ITEMS, sliRows);
  await insertAll(exec, SHIPMENT_EVENTS, evRows);
}
