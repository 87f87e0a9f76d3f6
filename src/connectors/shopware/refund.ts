import { type ActionLine, PlatformError } from '../platform.js';
import { derivedId, type ShopwareApi } from './client.js';
import { fromMinor, goodsLines, refundedQuantities, toMinor } from './mappers.js';
import { loadOrder } from './orders.js';
import type { SwOrder, SwTransaction } from './schemas.js';

/**
 * Refunds through Shopware's unified refund handling (6.4.12+), the only core path that moves money: an
 * `order_transaction_capture_refund` (with positions per line) is written against a completed capture of the
 * order's payment, then `POST /api/_action/order_transaction_capture_refund/{id}` hands it to the payment
 * method's refund handler. Payment methods without a handler (`paymentMethod.refundable` false) or without
 * recorded captures cannot refund from outside: that is `unsupported`, never faked by flipping the
 * transaction to `refunded` (a bookkeeping state that moves no money).
 *
 * Idempotency: the refund's id is derived from the idempotency key (and the key is kept in its customFields),
 * so a retry finds the refund the first attempt wrote. Open → hand it to the handler now; in progress or
 * completed → report it; failed or cancelled → `rejected` (the merchant decides, nothing is retried blindly).
 */

export interface RefundInput {
  orderExternalId: string;
  lines: ActionLine[];
  includeShipping: boolean;
  reason: string;
  idempotencyKey: string;
}

type Refund = NonNullable<NonNullable<SwTransaction['captures']>[number]['refunds']>[number];

const SETTLED_BAD = new Set(['failed', 'cancelled']);

function findRefund(order: SwOrder, id: string): Refund | null {
  for (const t of order.transactions ?? [])
    for (const c of t.captures ?? []) for (const r of c.refunds ?? []) if (r.id === id) return r;
  return null;
}

/** The payment in force: Shopware appends a transaction per payment attempt; the newest live one counts. */
function currentTransaction(order: SwOrder): SwTransaction | null {
  const live = (order.transactions ?? []).filter(
    (t) => !['cancelled', 'failed'].includes(t.stateMachineState?.technicalName ?? ''),
  );
  return live.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt)).at(-1) ?? null;
}

const price = (total: number, quantity: number) => ({
  unitPrice: Number((total / quantity).toFixed(6)),
  quantity,
  totalPrice: total,
  calculatedTaxes: [],
  taxRules: [],
});

/** Per-line amounts in minor units: gross unit price, order-level discounts spread over the goods. */
function lineAmounts(order: SwOrder, lines: ActionLine[], currency: string) {
  const goods = goodsLines(order);
  const refunded = refundedQuantities(order);
  const gross = (l: (typeof goods)[number]) => {
    const tax = (l.price?.calculatedTaxes ?? []).reduce((s, t) => s + t.tax, 0);
    return order.taxStatus === 'net' ? l.totalPrice + tax : l.totalPrice;
  };
  const goodsTotal = goods.reduce((s, l) => s + gross(l), 0);
  const discount = -(order.lineItems ?? [])
    .filter((l) => !goods.includes(l))
    .reduce((s, l) => s + Math.min(0, l.totalPrice), 0);
  const keep = goodsTotal > 0 ? Math.max(0, 1 - discount / goodsTotal) : 1;
  const seen = new Set<string>();
  return lines.map((want) => {
    const line = goods.find((l) => l.id === want.externalLineId);
    if (!line) throw new PlatformError('rejected', `order has no product line ${want.externalLineId}`);
    if (seen.has(line.id)) throw new PlatformError('rejected', `line ${line.id} listed twice`);
    seen.add(line.id);
    const left = line.quantity - (refunded.get(line.id) ?? 0);
    if (!Number.isInteger(want.quantity) || want.quantity < 1 || want.quantity > left)
      throw new PlatformError(
        'rejected',
        `line ${line.id}: ${left} unit(s) left to refund, asked ${want.quantity}`,
      );
    // Cumulative shares of the line's total: refunded unit by unit it adds up to that total, never a cent more.
    const total = toMinor(gross(line) * keep, currency);
    const done = refunded.get(line.id) ?? 0;
    const share = (n: number) => Math.round((total * n) / line.quantity);
    return { lineId: line.id, quantity: want.quantity, amount: share(done + want.quantity) - share(done) };
  });
}

async function settle(api: ShopwareApi, orderId: string, refundId: string, currency: string) {
  let refund = findRefund(await loadOrder(api, orderId), refundId);
  if (refund?.stateMachineState?.technicalName === 'open') {
    await api.call('POST', `/_action/order_transaction_capture_refund/${refundId}`, { body: {} });
    refund = findRefund(await loadOrder(api, orderId), refundId);
  }
  if (!refund) throw new PlatformError('unavailable', `refund ${refundId} vanished in Shopware`);
  const state = refund.stateMachineState?.technicalName ?? 'open';
  if (SETTLED_BAD.has(state))
    throw new PlatformError('rejected', `the payment provider reports refund ${refundId} as ${state}`, null, {
      refundId,
      state,
    });
  return { externalId: refund.id, amount: toMinor(refund.amount.totalPrice, currency), currency };
}

export async function refund(api: ShopwareApi, input: RefundInput) {
  const order = await loadOrder(api, input.orderExternalId);
  const currency = order.currency?.isoCode?.toUpperCase();
  if (!currency) throw new PlatformError('unavailable', 'Shopware order without currency');
  const refundId = derivedId('refund', order.id, input.idempotencyKey);
  if (findRefund(order, refundId)) return settle(api, order.id, refundId, currency);

  if (!input.lines.length && !input.includeShipping) throw new PlatformError('rejected', 'nothing to refund');
  const lines = lineAmounts(order, input.lines, currency);
  const tx = currentTransaction(order);
  if (!tx) throw new PlatformError('rejected', 'the order has no live payment');
  if (tx.paymentMethod?.refundable !== true)
    throw new PlatformError(
      'unsupported',
      `payment method "${tx.paymentMethod?.name ?? '?'}" has no refund handler in Shopware; refund it at the payment provider`,
    );
  const live = (r: Refund) => !SETTLED_BAD.has(r.stateMachineState?.technicalName ?? '');
  let shipping = 0;
  if (input.includeShipping) {
    const already = (tx.captures ?? []).some((c) =>
      (c.refunds ?? []).some(
        (r) =>
          live(r) && (r.customFields as { resolve_includes_shipping?: boolean })?.resolve_includes_shipping,
      ),
    );
    if (already) throw new PlatformError('rejected', 'shipping was already refunded');
    shipping = toMinor(order.shippingTotal ?? 0, currency);
  }
  const total = lines.reduce((s, l) => s + l.amount, 0) + shipping;
  if (total <= 0) throw new PlatformError('rejected', 'the refund amount is zero');

  const capture = (tx.captures ?? [])
    .filter((c) => c.stateMachineState?.technicalName === 'completed')
    .find((c) => {
      const used = (c.refunds ?? [])
        .filter(live)
        .reduce((s, r) => s + toMinor(r.amount.totalPrice, currency), 0);
      return toMinor(c.amount.totalPrice, currency) - used >= total;
    });
  if (!capture) {
    if (!(tx.captures ?? []).length)
      throw new PlatformError(
        'unsupported',
        'the payment method recorded no capture Shopware could refund against',
      );
    throw new PlatformError('rejected', 'the refund exceeds what is left of the captured amount');
  }

  const reason = input.reason.slice(0, 255);
  await api.call('POST', '/order-transaction-capture-refund', {
    body: {
      id: refundId,
      captureId: capture.id,
      stateId: await api.stateId('order_transaction_capture_refund.state', 'open'),
      reason,
      amount: price(fromMinor(total, currency), 1),
      customFields: {
        resolve_idempotency_key: input.idempotencyKey,
        resolve_includes_shipping: input.includeShipping,
      },
      positions: lines.map((l) => ({
        id: derivedId('refund-position', refundId, l.lineId),
        orderLineItemId: l.lineId,
        quantity: l.quantity,
        reason,
        amount: price(fromMinor(l.amount, currency), l.quantity),
      })),
    },
  });
  return settle(api, order.id, refundId, currency);
}
