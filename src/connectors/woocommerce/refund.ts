import type { ActionLine } from '../platform.js';
import { PlatformError } from '../platform.js';
import type { WooClient } from './client.js';
import { meta, refundedUnits } from './mappers.js';
import { toDecimal, toMinor } from './money.js';
import type { WooOrders } from './orders.js';
import { parse, type WooRefundT } from './schemas.js';

/**
 * Refunds through `POST /orders/{id}/refunds` with `line_items [{id, quantity, refund_total, refund_tax}]`
 * (shipping lines are order items too). Woo accepts no idempotency key, so the key travels in the refund
 * `reason` ("resolve:<key> …"): before refunding, the order's refunds are read and one carrying the key is
 * returned instead. `api_restock` is off (claimed goods rarely come back); `api_refund` (money back through
 * the gateway) is on unless the connection says `gateway_refunds=false` (record-only refunds).
 */

const reject = (msg: string) => new PlatformError('rejected', msg);

export const keyTag = (key: string) => `resolve:${key}`;
export const carriesKey = (reason: string | null | undefined, key: string) =>
  !!reason && (reason === keyTag(key) || reason.startsWith(`${keyTag(key)} `));

/** Money already refunded per original item id (refund items carry negative totals). */
function refundedMoney(refunds: WooRefundT[], cur: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of refunds)
    for (const li of [...(r.line_items ?? []), ...(r.shipping_lines ?? [])]) {
      const orig = meta(li.meta_data, '_refunded_item_id');
      if (orig != null && li.total)
        out.set(String(orig), (out.get(String(orig)) ?? 0) + Math.abs(toMinor(li.total, cur)));
    }
  return out;
}

export async function refundOrder(
  orders: WooOrders,
  client: WooClient,
  input: {
    orderExternalId: string;
    lines: ActionLine[];
    includeShipping: boolean;
    reason: string;
    idempotencyKey: string;
  },
  gatewayRefunds: boolean,
): Promise<{ externalId: string; amount: number; currency: string }> {
  const o = await orders.raw(input.orderExternalId);
  if (!o) throw new PlatformError('not_found', `order ${input.orderExternalId} not found`);
  const cur = o.currency.toUpperCase();
  const refunds = o.refunds?.length ? await orders.refundsOf(o.id) : [];
  const prior = refunds.find((r) => carriesKey(r.reason, input.idempotencyKey));
  if (prior)
    return { externalId: String(prior.id), amount: Math.abs(toMinor(prior.amount, cur)), currency: cur };

  const units = refundedUnits(refunds);
  const money = refundedMoney(refunds, cur);
  const wanted = new Map<string, number>();
  for (const l of input.lines) wanted.set(l.externalLineId, (wanted.get(l.externalLineId) ?? 0) + l.quantity);

  const items: {
    id: number;
    quantity?: number;
    refund_total: number;
    refund_tax: { id: number; refund_total: number }[];
  }[] = [];
  let amount = 0;
  const dec = (minor: number) => Number(toDecimal(minor, cur));
  for (const [lineId, q] of wanted) {
    const li = o.line_items.find((l) => String(l.id) === lineId);
    if (!li) throw reject(`order ${o.id} has no line ${lineId}`);
    const done = units.get(lineId) ?? 0;
    if (!Number.isInteger(q) || q < 1 || q > li.quantity - done)
      throw reject(`line ${lineId}: ${q} unit(s) asked, ${li.quantity - done} refundable`);
    // Cumulative shares: refunding a line in parts adds up to exactly its total.
    const slice = (total: number) =>
      Math.round((total * (done + q)) / li.quantity) - Math.round((total * done) / li.quantity);
    const lineTotal = Math.min(
      slice(toMinor(li.total, cur)),
      toMinor(li.total, cur) - (money.get(lineId) ?? 0),
    );
    const taxes = (li.taxes ?? []).map((t) => ({ id: t.id, minor: slice(toMinor(t.total ?? '0', cur)) }));
    amount += Math.max(0, lineTotal) + taxes.reduce((n, t) => n + t.minor, 0);
    items.push({
      id: li.id,
      quantity: q,
      refund_total: dec(Math.max(0, lineTotal)),
      refund_tax: taxes.map((t) => ({ id: t.id, refund_total: dec(t.minor) })),
    });
  }
  if (input.includeShipping) {
    for (const sl of o.shipping_lines ?? []) {
      if (money.has(String(sl.id))) continue; // shipping already refunded once
      const total = toMinor(sl.total, cur);
      const taxes = (sl.taxes ?? []).map((t) => ({ id: t.id, minor: toMinor(t.total ?? '0', cur) }));
      const sum = total + taxes.reduce((n, t) => n + t.minor, 0);
      if (sum <= 0) continue;
      amount += sum;
      items.push({
        id: sl.id,
        refund_total: dec(total),
        refund_tax: taxes.map((t) => ({ id: t.id, refund_total: dec(t.minor) })),
      });
    }
  }
  if (amount <= 0) throw reject('nothing to refund');

  const { data } = await client.post(
    `/orders/${o.id}/refunds`,
    {
      amount: toDecimal(amount, cur),
      reason: `${keyTag(input.idempotencyKey)} ${input.reason}`.trim().slice(0, 1000),
      api_refund: gatewayRefunds,
      api_restock: false,
      line_items: items,
    },
    parse.refund,
    'refund',
  );
  return { externalId: String(data.id), amount: Math.abs(toMinor(data.amount, cur)), currency: cur };
}
