import type { AddressInputT } from '../../orders/document.js';
import { type ActionLine, PlatformError } from '../platform.js';
import type { WooClient } from './client.js';
import { meta, RESOLVE_KEY_META, toWooAddress } from './mappers.js';
import type { WooOrders } from './orders.js';
import { parse, type WooAddressT, type WooOrderT } from './schemas.js';

/**
 * Shop-side actions other than refunds. A replacement is a new order (`POST /orders`, status processing,
 * paid, every line at "0") whose `parent_id` is the claimed order and whose meta carries the idempotency key:
 * a retry lists the children (`GET /orders?parent=`) and returns the one with the key. Cancel and address
 * change are `PUT /orders/{id}`; each action leaves a private order note for the merchant's audit trail.
 */

const CLOSED = new Set(['completed', 'refunded', 'trash']);
const notFound = (id: string) => new PlatformError('not_found', `order ${id} not found`);
const reject = (msg: string) => new PlatformError('rejected', msg);

async function order(orders: WooOrders, id: string): Promise<WooOrderT> {
  const o = await orders.raw(id);
  if (!o) throw notFound(id);
  return o;
}

const note = (client: WooClient, orderId: number, text: string) =>
  client.post(
    `/orders/${orderId}/notes`,
    { note: text.slice(0, 2000), customer_note: false },
    parse.note,
    'note',
  );

const plain = (a: WooAddressT) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v ?? '']));

export async function createReplacement(
  orders: WooOrders,
  client: WooClient,
  input: { orderExternalId: string; lines: ActionLine[]; note: string; idempotencyKey: string },
): Promise<{ externalId: string; orderNumber: string | null }> {
  const o = await order(orders, input.orderExternalId);
  const { data: children } = await client.get(
    '/orders',
    { parent: o.id, per_page: 100 },
    parse.orders,
    'order list',
  );
  const prior = children.find(
    (c) => String(meta(c.meta_data, RESOLVE_KEY_META) ?? '') === input.idempotencyKey,
  );
  if (prior) return { externalId: String(prior.id), orderNumber: prior.number };

  if (!input.lines.length) throw reject('a replacement needs at least one line');
  const lineItems = input.lines.map((l) => {
    const li = o.line_items.find((x) => String(x.id) === l.externalLineId);
    if (!li) throw reject(`order ${o.id} has no line ${l.externalLineId}`);
    if (!li.product_id) throw reject(`line ${li.id}: the product no longer exists in the shop`);
    if (!Number.isInteger(l.quantity) || l.quantity < 1 || l.quantity > li.quantity)
      throw reject(`line ${li.id}: quantity ${l.quantity} outside 1..${li.quantity}`);
    return {
      product_id: li.product_id,
      ...(li.variation_id ? { variation_id: li.variation_id } : {}),
      quantity: l.quantity,
      subtotal: '0',
      total: '0',
    };
  });
  const ship = o.shipping_lines?.[0];
  const { data: created } = await client.post(
    '/orders',
    {
      parent_id: o.id,
      status: 'processing',
      set_paid: true,
      currency: o.currency,
      customer_id: o.customer_id,
      billing: plain(o.billing),
      shipping: plain(o.shipping),
      line_items: lineItems,
      shipping_lines: ship?.method_id
        ? [{ method_id: ship.method_id, method_title: ship.method_title || 'Shipping', total: '0' }]
        : [],
      meta_data: [
        { key: RESOLVE_KEY_META, value: input.idempotencyKey },
        { key: 'resolve_replacement_for', value: String(o.id) },
      ],
    },
    parse.order,
    'order',
  );
  // The order exists now: the note is for the merchant's audit trail only, and a refusal of it must not report
  // the replacement as refused (its units would be freed and a new request would send a second parcel).
  await note(client, created.id, `Replacement for order #${o.number} (Resolve). ${input.note}`.trim()).catch(
    (err) => {
      if (!(err instanceof PlatformError) || err.kind !== 'rejected') throw err;
    },
  );
  return { externalId: String(created.id), orderNumber: created.number };
}

export async function cancelOrder(
  orders: WooOrders,
  client: WooClient,
  input: { orderExternalId: string; reason: string },
) {
  const o = await order(orders, input.orderExternalId);
  if (o.status === 'cancelled') return { externalRef: String(o.id) };
  if (CLOSED.has(o.status)) throw reject(`order ${o.id} is ${o.status} and cannot be cancelled`);
  await client.put(`/orders/${o.id}`, { status: 'cancelled' }, parse.order, 'order');
  await note(client, o.id, `Cancelled through Resolve. ${input.reason}`.trim());
  return { externalRef: String(o.id) };
}

export async function changeShippingAddress(
  client: WooClient,
  input: { orderExternalId: string; address: AddressInputT },
) {
  if (!/^\d{1,19}$/.test(input.orderExternalId)) throw notFound(input.orderExternalId);
  const { data } = await client.put(
    `/orders/${input.orderExternalId}`,
    { shipping: toWooAddress(input.address) },
    parse.order,
    'order',
  );
  await note(client, data.id, 'Shipping address changed through Resolve.');
  return { externalRef: String(data.id) };
}

/** Units available per line: managed stock → its quantity (never below 0); unmanaged → 0 when out of stock. */
export async function stockCheck(
  orders: WooOrders,
  client: WooClient,
  input: { orderExternalId: string; lines: ActionLine[] },
) {
  const o = await order(orders, input.orderExternalId);
  const cache = new Map<string, Promise<number | null>>();
  const level = (path: string, parent?: string): Promise<number | null> => {
    let p = cache.get(path);
    if (!p) {
      p = client.get(path, {}, parse.stock, 'product').then(
        async ({ data }) => {
          if (data.manage_stock === 'parent' && parent) return level(parent);
          if (data.manage_stock === true) return Math.max(0, Math.floor(data.stock_quantity ?? 0));
          return data.stock_status === 'outofstock' ? 0 : null;
        },
        (err) => {
          if (err instanceof PlatformError && err.kind === 'not_found') return 0; // product deleted
          throw err;
        },
      );
      cache.set(path, p);
    }
    return p;
  };
  const out: { externalLineId: string; available: number | null }[] = [];
  for (const l of input.lines) {
    const li = o.line_items.find((x) => String(x.id) === l.externalLineId);
    if (!li) throw reject(`order ${o.id} has no line ${l.externalLineId}`);
    const product = `/products/${li.product_id}`;
    const available = !li.product_id
      ? 0
      : await level(li.variation_id ? `${product}/variations/${li.variation_id}` : product, product);
    out.push({ externalLineId: l.externalLineId, available });
  }
  return out;
}
