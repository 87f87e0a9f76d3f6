import { and, eq, inArray, notInArray, or, sql } from 'drizzle-orm';
import { chunksFor, excludedSet } from '../db/bulk.js';
import type { Db } from '../db/client.js';
import { query } from '../db/client.js';
import { lineItems, orders, shipmentEvents, shipmentLineItems, shipments } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { NormalizedEvent, NormalizedOrder } from './document.js';
import { derivePhase } from './phase.js';

export type UpsertStatus = 'created' | 'updated' | 'unchanged';
export type UpsertOutcome =
  | { index: number; status: UpsertStatus; id: string; order_number: string }
  | { index: number; status: 'error'; order_number: string; error: AppError };

interface ExistingOrder {
  id: string;
  external_id: string | null;
  order_number_norm: string;
  doc_hash: string;
}

const eventKey = (e: { time: Date; code: string }) => `${e.time.getTime()}|${e.code}`;

/**
 * Upserts a batch of order documents in one transaction with a fixed number of set-based statements.
 * Matching: by external_id, else by order number. A document identical to the stored one writes nothing.
 * Shipment events are append-only (events added through the events endpoint survive a re-push).
 */
export async function upsertOrders(
  tx: Db,
  shopId: string,
  docs: NormalizedOrder[],
): Promise<UpsertOutcome[]> {
  const exts = docs.map((d) => d.externalId).filter((x): x is string => x !== null);
  const nums = docs.map((d) => d.orderNumberNorm);
  const existing = await tx
    .select({
      id: orders.id,
      external_id: orders.externalId,
      order_number_norm: orders.orderNumberNorm,
      doc_hash: orders.docHash,
    })
    .from(orders)
    .where(
      and(
        eq(orders.shopId, shopId),
        exts.length
          ? or(inArray(orders.externalId, exts), inArray(orders.orderNumberNorm, nums))
          : inArray(orders.orderNumberNorm, nums),
      ),
    );
  const byExt = new Map<string, ExistingOrder>();
  const byNum = new Map<string, ExistingOrder>();
  for (const o of existing) {
    if (o.external_id) byExt.set(o.external_id, o);
    byNum.set(o.order_number_norm, o);
  }

  const outcomes: UpsertOutcome[] = [];
  const toWrite: { doc: NormalizedOrder; id: string; isNew: boolean }[] = [];
  const seenExt = new Set<string>();
  const seenNum = new Set<string>();
  for (const [index, doc] of docs.entries()) {
    const conflict = matchConflict(doc, seenExt, seenNum, byExt, byNum);
    if (doc.externalId) seenExt.add(doc.externalId);
    seenNum.add(doc.orderNumberNorm);
    if (conflict.error) {
      outcomes.push({ index, status: 'error', order_number: doc.orderNumber, error: conflict.error });
      continue;
    }
    const target = conflict.target;
    if (target && target.doc_hash === doc.docHash) {
      outcomes.push({ index, status: 'unchanged', id: target.id, order_number: doc.orderNumber });
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
          where s.shop_id = ${shopId} and e.shop_id = ${shopId} and s.order_id in ${changedIds}`,
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
  const orderRows = toWrite.map(({ doc, id }) => ({
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
  }));
  for (const chunk of chunksFor(orderRows, 28)) {
    await tx
      .insert(orders)
      .values(chunk)
      .onConflictDoUpdate({ target: orders.id, set: excludedSet(orders, ['id', 'shopId', 'createdAt']) });
  }

  // Line items keep their ids across updates (claims point at them).
  const liRows = toWrite.flatMap(({ doc, id }) =>
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
    })),
  );
  const liIds = new Map<string, string>();
  for (const chunk of chunksFor(liRows, 16)) {
    const rows = await tx
      .insert(lineItems)
      .values(chunk)
      .onConflictDoUpdate({
        target: [lineItems.orderId, lineItems.externalId],
        set: excludedSet(lineItems, ['id', 'shopId', 'orderId', 'externalId']),
      })
      .returning({ id: lineItems.id, orderId: lineItems.orderId, externalId: lineItems.externalId });
    for (const r of rows) liIds.set(`${r.orderId}|${r.externalId}`, r.id);
  }

  const shpRows = toWrite.flatMap(({ doc, id }) =>
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
    }),
  );
  const shpIds = new Map<string, string>();
  for (const chunk of chunksFor(shpRows, 15)) {
    const rows = await tx
      .insert(shipments)
      .values(chunk)
      .onConflictDoUpdate({
        target: [shipments.orderId, shipments.externalId],
        set: excludedSet(shipments, ['id', 'shopId', 'orderId', 'externalId', 'createdAt']),
      })
      .returning({ id: shipments.id, orderId: shipments.orderId, externalId: shipments.externalId });
    for (const r of rows) shpIds.set(`${r.orderId}|${r.externalId}`, r.id);
  }

  if (changedIds.length) {
    // Lines and shipments dropped from the document go; their shipment links are rebuilt below.
    const keptLi = [...liIds.values()];
    const keptShp = [...shpIds.values()];
    await tx
      .delete(shipmentLineItems)
      .where(
        and(
          eq(shipmentLineItems.shopId, shopId),
          inArray(shipmentLineItems.shipmentId, sqlSubShipments(shopId, changedIds)),
        ),
      );
    await tx
      .delete(shipments)
      .where(
        and(
          eq(shipments.shopId, shopId),
          inArray(shipments.orderId, changedIds),
          keptShp.length ? notInArray(shipments.id, keptShp) : undefined,
        ),
      );
    await tx
      .delete(lineItems)
      .where(
        and(
          eq(lineItems.shopId, shopId),
          inArray(lineItems.orderId, changedIds),
          notInArray(lineItems.id, keptLi),
        ),
      );
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
  for (const chunk of chunksFor(sliRows, 4)) await tx.insert(shipmentLineItems).values(chunk);

  const evRows = toWrite.flatMap(({ doc, id }) =>
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
    ),
  );
  for (const chunk of chunksFor(evRows, 9))
    await tx.insert(shipmentEvents).values(chunk).onConflictDoNothing();

  return outcomes;
}

function sqlSubShipments(shopId: string, orderIds: string[]) {
  return sql`(select id from shipments where shop_id = ${shopId} and order_id in ${orderIds})`;
}

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
