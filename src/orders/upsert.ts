import { and, eq, getTableColumns, getTableName, inArray, or, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { query } from '../db/client.js';
import { lineItems, orders, shipmentEvents, shipmentLineItems, shipments } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { NormalizedEvent, NormalizedOrder } from './document.js';
import { derivePhase } from './phase.js';

/**
 * `stale`: a document older than the customer's last change to the order (nothing written): read from the
 * platform before it, or sent with an `updated_at` before it.
 */
export type UpsertStatus = 'created' | 'updated' | 'unchanged' | 'stale';
export type UpsertOutcome<S extends UpsertStatus = UpsertStatus> =
  | { index: number; status: S; id: string; order_number: string }
  | { index: number; status: 'error'; order_number: string; error: AppError };

interface ExistingOrder {
  id: string;
  external_id: string | null;
  order_number_norm: string;
  doc_hash: string;
  local_change_at: Date | null;
  updated_at: Date;
}

/**
 * Clocks of the processes that read a platform and that record a customer's change may disagree by this much: a
 * document read up to this long after the change still counts as older (it is read again a little later).
 */
export const LOCAL_CHANGE_MARGIN_MS = 2000;

interface WriteItem {
  doc: NormalizedOrder;
  id: string;
  isNew: boolean;
}

const eventKey = (e: { time: Date; code: string }) => `${e.time.getTime()}|${e.code}`;

/**
 * Upserts a batch of order documents in one transaction with a fixed number of set-based statements.
 * Matching: by external_id, else by order number. A document identical to the stored one writes nothing.
 * Shipment events are append-only (events added through the events endpoint survive a re-push).
 *
 * `readAt` (platform syncs): when the documents were read from the platform. A stored order the customer changed
 * through Resolve after that (`local_change_at`) is left as it is (`stale`): the document predates the change and
 * would undo it. A pushed document's own `updated_at` counts the same way, without the margin for clocks (the
 * shop's time is all there is: nobody reads the order again). The stored orders are locked first, so a change
 * committing meanwhile is seen, not overwritten.
 */
export async function upsertOrders(
  tx: Db,
  shopId: string,
  docs: NormalizedOrder[],
  opts: { readAt?: Date } = {},
): Promise<UpsertOutcome[]> {
  const exts = docs.map((d) => d.externalId).filter((x): x is string => x !== null);
  const nums = docs.map((d) => d.orderNumberNorm);
  const matched = tx
    .select({
      id: orders.id,
      external_id: orders.externalId,
      order_number_norm: orders.orderNumberNorm,
      doc_hash: orders.docHash,
      local_change_at: orders.localChangeAt,
      updated_at: orders.updatedAt,
    })
    .from(orders)
    .where(
      and(
        eq(orders.shopId, shopId),
        exts.length
          ? or(anyOf(orders.externalId, exts), anyOf(orders.orderNumberNorm, nums))
          : anyOf(orders.orderNumberNorm, nums),
      ),
    );
  const dated = !!opts.readAt || docs.some((d) => d.updatedAt);
  const existing = dated ? await matched.orderBy(orders.id).for('update') : await matched;
  const byExt = new Map<string, ExistingOrder>();
  const byNum = new Map<string, ExistingOrder>();
  for (const o of existing) {
    if (o.external_id) byExt.set(o.external_id, o);
    byNum.set(o.order_number_norm, o);
  }

  const outcomes: UpsertOutcome[] = [];
  const toWrite: WriteItem[] = [];
  const seenExt = new Set<string>();
  const seenNum = new Set<string>();
  // A stored order reached by two documents (one by external_id, another by its number) is written once.
  const seenTarget = new Set<string>();
  for (const [index, doc] of docs.entries()) {
    const conflict = matchConflict(doc, seenExt, seenNum, byExt, byNum);
    if (doc.externalId) seenExt.add(doc.externalId);
    seenNum.add(doc.orderNumberNorm);
    if (!conflict.error && conflict.target && seenTarget.has(conflict.target.id))
      conflict.error = new AppError(
        'duplicate_in_request',
        'This order appears more than once in the request.',
      );
    if (conflict.target) seenTarget.add(conflict.target.id);
    if (conflict.error) {
      outcomes.push({ index, status: 'error', order_number: doc.orderNumber, error: conflict.error });
      continue;
    }
    const target = conflict.target;
    if (target && target.doc_hash === doc.docHash) {
      // The document last applied, sent again after the customer changed the order (the customer's change is the
      // order's last write): it does not hold that change, so it is stale, not `unchanged` — unless its own time
      // (or the sync's) says it is newer than the change (below).
      const customerLast =
        target.local_change_at !== null && target.local_change_at.getTime() >= target.updated_at.getTime();
      if (!customerLast || (!doc.updatedAt && !opts.readAt)) {
        const status = customerLast ? 'stale' : 'unchanged';
        outcomes.push({ index, status, id: target.id, order_number: doc.orderNumber });
        continue;
      }
    }
    const olderThan = opts.readAt
      ? opts.readAt.getTime() - LOCAL_CHANGE_MARGIN_MS
      : (doc.updatedAt?.getTime() ?? Number.POSITIVE_INFINITY);
    if (target?.local_change_at && target.local_change_at.getTime() > olderThan) {
      outcomes.push({ index, status: 'stale', id: target.id, order_number: doc.orderNumber });
      continue;
    }
    const id = target?.id ?? newId('ord');
    toWrite.push({ doc, id, isNew: !target });
    outcomes.push({ index, status: target ? 'updated' : 'created', id, order_number: doc.orderNumber });
  }
  if (!toWrite.length) return outcomes;

  const changedIds = toWrite.filter((w) => !w.isNew).map((w) => w.id);
  // Events already stored for changed orders take part in phase derivation (they are never deleted).
  const storedEvents = new Map<string, NormalizedEvent[]>();
  if (changedIds.length) {
    const rows = await query<{
      order_id: string;
      external_id: string;
      time: Date | string;
      code: string;
      phase: string | null;
    }>(
      tx,
      sql`select s.order_id, s.external_id, e.time, e.code, e.phase from shipment_events e
          join shipments s on s.id = e.shipment_id
          where s.shop_id = ${shopId} and e.shop_id = ${shopId} and s.order_id = any(${sql.param(changedIds)})`,
    );
    for (const r of rows) {
      const k = `${r.order_id}|${r.external_id}`;
      const list = storedEvents.get(k) ?? [];
      list.push({
        time: new Date(r.time),
        code: r.code,
        phase: r.phase as NormalizedEvent['phase'],
        description: null,
        location: null,
      });
      storedEvents.set(k, list);
    }
  }

  const now = new Date();
  const orderRow = ({ doc, id }: WriteItem) => ({
    id,
    shopId,
    externalId: doc.externalId,
    orderNumber: doc.orderNumber,
    orderNumberNorm: doc.orderNumberNorm,
    orderName: doc.orderName,
    placedAt: doc.placedAt,
    cancelledAt: doc.cancelledAt,
    currency: doc.currency,
    language: doc.language,
    tags: doc.tags,
    state: doc.state,
    customerExternalId: doc.customer.externalId,
    customerEmail: doc.customer.email,
    customerFirstName: doc.customer.firstName,
    customerLastName: doc.customer.lastName,
    customerPhone: doc.customer.phone,
    shippingAddress: doc.shippingAddress,
    billingAddress: doc.billingAddress,
    zipNorm: doc.zipNorm,
    subtotal: doc.totals.subtotal,
    shippingTotal: doc.totals.shipping,
    discountTotal: doc.totals.discount,
    taxTotal: doc.totals.tax,
    total: doc.totals.total,
    docHash: doc.docHash,
    createdAt: now,
    updatedAt: now,
  });
  const lineItemRows = ({ doc, id }: WriteItem) =>
    doc.lineItems.map((l, position) => ({
      id: newId('li'),
      shopId,
      orderId: id,
      externalId: l.externalId,
      position,
      sku: l.sku,
      title: l.title,
      variantTitle: l.variantTitle,
      quantity: l.quantity,
      quantityRefunded: l.quantityRefunded,
      unitPrice: l.unitPrice,
      discount: l.discount,
      tax: l.tax,
      imageUrl: l.imageUrl,
      productId: l.productId,
      variantId: l.variantId,
      removedAt: null,
    }));
  const shipmentRows = ({ doc, id }: WriteItem) =>
    doc.shipments.map((s, position) => {
      const stored = storedEvents.get(`${id}|${s.externalId}`) ?? [];
      const seen = new Set(stored.map(eventKey));
      const all = [...stored, ...s.events.filter((e) => !seen.has(eventKey(e)))];
      const d = derivePhase({
        events: all,
        phaseOverride: s.phaseOverride,
        deliveredAtOverride: s.deliveredAtOverride,
      });
      return {
        id: newId('shp'),
        shopId,
        orderId: id,
        externalId: s.externalId,
        position,
        carrier: s.carrier,
        trackingNumber: s.trackingNumber,
        trackingUrl: s.trackingUrl,
        phaseOverride: s.phaseOverride,
        deliveredAtOverride: s.deliveredAtOverride,
        phase: d.phase,
        deliveredAt: d.deliveredAt,
        lastEventAt: d.lastEventAt,
        createdAt: now,
        updatedAt: now,
      };
    });

  // A new order's id was made just now, so nothing can be stored under it yet: its rows are plain INSERTs and
  // their ids are the ones made here. Changed orders upsert on their natural keys, so line item and shipment
  // ids stay stable across updates (claims point at them) and the stored ids come back via RETURNING.
  const fresh = toWrite.filter((w) => w.isNew);
  const changed = toWrite.filter((w) => !w.isNew);
  await insertRows(tx, orders, fresh.map(orderRow));
  await insertRows(
    tx,
    orders,
    changed.map(orderRow),
    // tokens_valid_after ("revoke every link of this order") and local_change_at are not the document's: kept.
    onConflictUpdate(orders, ['id'], ['id', 'shopId', 'createdAt', 'tokensValidAfter', 'localChangeAt']),
  );

  const liIds = new Map<string, string>();
  const freshLi = fresh.flatMap(lineItemRows);
  for (const r of freshLi) liIds.set(`${r.orderId}|${r.externalId}`, r.id);
  await insertRows(tx, lineItems, freshLi);
  const keptLi = await insertRows(
    tx,
    lineItems,
    changed.flatMap(lineItemRows),
    onConflictUpdate(lineItems, ['orderId', 'externalId'], ['id', 'shopId', 'orderId', 'externalId']) +
      ' returning "id", "order_id", "external_id"',
  );
  for (const r of keptLi) liIds.set(`${r.order_id}|${r.external_id}`, r.id as string);

  const shpIds = new Map<string, string>();
  const freshShp = fresh.flatMap(shipmentRows);
  for (const r of freshShp) shpIds.set(`${r.orderId}|${r.externalId}`, r.id);
  await insertRows(tx, shipments, freshShp);
  const keptShp = await insertRows(
    tx,
    shipments,
    changed.flatMap(shipmentRows),
    onConflictUpdate(
      shipments,
      ['orderId', 'externalId'],
      ['id', 'shopId', 'orderId', 'externalId', 'createdAt'],
    ) + ' returning "id", "order_id", "external_id"',
  );
  for (const r of keptShp) shpIds.set(`${r.order_id}|${r.external_id}`, r.id as string);

  if (changedIds.length) {
    // Lines and shipments dropped from the document go; their shipment links are rebuilt below. One that a claim
    // names stays, marked removed: the claim keeps its line (refunds, the claimed units), the order's views and
    // eligibility no longer show it, and a document that lists it again brings back the same row.
    await tx
      .delete(shipmentLineItems)
      .where(
        and(
          eq(shipmentLineItems.shopId, shopId),
          inArray(shipmentLineItems.shipmentId, sqlSubShipments(shopId, changedIds)),
        ),
      );
    const goneShp = and(
      eq(shipments.shopId, shopId),
      anyOf(shipments.orderId, changedIds),
      keptShp.length
        ? noneOf(
            shipments.id,
            keptShp.map((r) => r.id as string),
          )
        : undefined,
    );
    const claimedShp = sql`(exists (select 1 from claims c where c.shop_id = ${shopId} and c.order_id = ${shipments.orderId}
        and c.shipment_id = ${shipments.id})
      or exists (select 1 from claim_items ci join claims c on c.id = ci.claim_id
        where c.shop_id = ${shopId} and c.order_id = ${shipments.orderId} and ci.shipment_id = ${shipments.id}))`;
    await tx.delete(shipments).where(and(goneShp, sql`not ${claimedShp}`));
    await tx
      .update(shipments)
      .set({ removedAt: sql`coalesce(${shipments.removedAt}, now())` })
      .where(goneShp);
    const goneLi = and(
      eq(lineItems.shopId, shopId),
      anyOf(lineItems.orderId, changedIds),
      noneOf(
        lineItems.id,
        keptLi.map((r) => r.id as string),
      ),
    );
    const claimedLi = sql`exists (select 1 from claim_items ci where ci.shop_id = ${shopId} and ci.line_item_id = ${lineItems.id})`;
    await tx.delete(lineItems).where(and(goneLi, sql`not ${claimedLi}`));
    await tx
      .update(lineItems)
      .set({ removedAt: sql`coalesce(${lineItems.removedAt}, now())` })
      .where(goneLi);
  }

  const sliRows = toWrite.flatMap(({ doc, id }) =>
    doc.shipments.flatMap((s) =>
      s.lines.map((l) => ({
        shipmentId: shpIds.get(`${id}|${s.externalId}`)!,
        lineItemId: liIds.get(`${id}|${l.externalId}`)!,
        shopId,
        quantity: l.quantity,
      })),
    ),
  );
  await insertRows(tx, shipmentLineItems, sliRows);

  // Events are append-only: a changed order's events that are already stored are skipped by the unique key.
  const eventRows = ({ doc, id }: WriteItem) =>
    doc.shipments.flatMap((s) =>
      s.events.map((e) => ({
        id: newId('sev'),
        shopId,
        shipmentId: shpIds.get(`${id}|${s.externalId}`)!,
        time: e.time,
        code: e.code,
        phase: e.phase,
        description: e.description,
        location: e.location,
        createdAt: now,
      })),
    );
  await insertRows(tx, shipmentEvents, fresh.flatMap(eventRows));
  await insertRows(tx, shipmentEvents, changed.flatMap(eventRows), ' on conflict do nothing');

  return outcomes;
}

type Row = Record<string, unknown>;

/** Bounds one statement's array parameters (a batch may hold up to 1,000 × 500 line items). */
const ROWS_PER_STATEMENT = 5000;

/**
 * Inserts `rows` into `table` as `INSERT … SELECT … FROM unnest($1::type[], $2::type[], …)`: ONE array parameter
 * per column, whatever the row count. Each value goes through its column's `mapToDriverValue`, as Drizzle does;
 * array and json columns travel as text and are cast back per row (unnest would flatten a 2-D array).
 * Why not `db.insert().values()`: Drizzle's builder costs ~10 µs per bind parameter, and a multi-row VALUES list
 * has one parameter per value (~120,000 for 1,000 orders) that the driver serialises and PostgreSQL parses and
 * plans one by one. For the bulk endpoint this cut the Node CPU per order by about 3× and the PostgreSQL backend
 * CPU by about a third (bench/README.md). `tail` is appended verbatim (ON CONFLICT / RETURNING); returned rows
 * are the driver's, keyed by column name.
 */
async function insertRows(tx: Db, table: PgTable, rows: Row[], tail = ''): Promise<Row[]> {
  const out: Row[] = [];
  if (!rows.length) return out;
  const columns = getTableColumns(table);
  const keys = Object.keys(rows[0]);
  const cols = keys.map((k) => columns[k]);
  const types = cols.map((c) => c.getSQLType());
  const asText = types.map((t) => t.endsWith(']') || t === 'jsonb' || t === 'json');
  const names = cols.map((_, i) => `c${i}`);
  const text =
    `insert into "${getTableName(table)}" (${cols.map((c) => `"${c.name}"`).join(', ')}) ` +
    `select ${names.map((n, i) => (asText[i] ? `${n}::${types[i]}` : n)).join(', ')} ` +
    `from unnest(${types.map((t, i) => `$${i + 1}::${asText[i] ? 'text' : t}[]`).join(', ')}) as u(${names.join(', ')})` +
    tail;
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
    const params: unknown[][] = cols.map(() => new Array(chunk.length));
    for (let r = 0; r < chunk.length; r++) {
      const row = chunk[r];
      for (let c = 0; c < cols.length; c++) {
        const v = row[keys[c]];
        if (v === undefined) throw new Error(`insertRows: no value for ${keys[c]}`);
        params[c][r] = v === null ? null : cols[c].mapToDriverValue(v);
      }
    }
    const res = (await tx._.session
      .prepareQuery({ sql: text, params }, undefined, undefined, false)
      .execute()) as { rows: Row[] };
    if (tail.includes('returning')) for (const row of res.rows) out.push(row);
  }
  return out;
}

/** ` on conflict (target) do update set col = excluded.col, …` over every column but `keep`. */
function onConflictUpdate(table: PgTable, target: string[], keep: string[]): string {
  const columns = getTableColumns(table);
  const set = Object.entries(columns)
    .filter(([key]) => !keep.includes(key))
    .map(([, col]) => `"${col.name}" = excluded."${col.name}"`);
  return ` on conflict (${target.map((k) => `"${columns[k].name}"`).join(', ')}) do update set ${set.join(', ')}`;
}

function sqlSubShipments(shopId: string, orderIds: string[]) {
  return sql`(select id from shipments where shop_id = ${shopId} and order_id = any(${sql.param(orderIds)}))`;
}

// `col = any($1)` / `col <> all($1)` with the list as ONE array parameter. `inArray` binds one parameter per
// element, and both Drizzle's builder and the driver's bind pay per parameter (a batch has thousands here).
const anyOf = (col: PgColumn, values: string[]) => sql`${col} = any(${sql.param(values)})`;
const noneOf = (col: PgColumn, values: string[]) => sql`${col} <> all(${sql.param(values)})`;

/** Finds the stored order a document updates, or why it cannot be written. */
function matchConflict(
  doc: NormalizedOrder,
  seenExt: Set<string>,
  seenNum: Set<string>,
  byExt: Map<string, ExistingOrder>,
  byNum: Map<string, ExistingOrder>,
): { target?: ExistingOrder; error?: AppError } {
  if ((doc.externalId && seenExt.has(doc.externalId)) || seenNum.has(doc.orderNumberNorm)) {
    return {
      error: new AppError('duplicate_in_request', 'This order appears more than once in the request.'),
    };
  }
  const e = doc.externalId ? byExt.get(doc.externalId) : undefined;
  const n = byNum.get(doc.orderNumberNorm);
  if (e) {
    if (n && n.id !== e.id)
      return {
        error: new AppError('order_exists', `Order number ${doc.orderNumber} belongs to another order.`),
      };
    return { target: e };
  }
  if (n && doc.externalId && n.external_id && n.external_id !== doc.externalId) {
    return {
      error: new AppError(
        'order_exists',
        `Order number ${doc.orderNumber} already exists with another external_id.`,
      ),
    };
  }
  return { target: n };
}

/** Upsert of one document: conflicts become errors. */
export async function upsertOrder(tx: Db, shopId: string, doc: NormalizedOrder) {
  const [r] = await upsertOrders(tx, shopId, [doc]);
  if (r.status === 'error') throw r.error;
  return r;
}
