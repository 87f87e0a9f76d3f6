import { type ActionLine, PlatformError } from '../platform.js';
import type { VendureApi } from './client.js';
import { countsAsRefund, toMinor } from './mappers.js';
import { ORDER, REFUND_ORDER } from './queries.js';
import { OneOrder, Refund, type VOrder } from './schemas.js';

/** The marker a refund's `reason` carries: the idempotency key, findable on the order's payments. */
export const keyMarker = (key: string) => `[resolve:${key}]`;

export async function loadOrder(api: VendureApi, id: string): Promise<VOrder> {
  const data = await api.request(ORDER, { id }, OneOrder, `order ${id}`);
  if (!data.order) throw new PlatformError('not_found', `No Vendure order ${id}`);
  return data.order;
}

/**
 * Refund = `refundOrder` on one payment with an explicit `amount` (Vendure ≥ 2.2's way): the lines' prorated
 * gross unit prices (what the customer paid per unit after discounts) plus, if asked, the order's shipping
 * unless an earlier refund already returned it. The lines are sent too, so Vendure records them on the refund
 * (that is where `quantity_refunded` comes from); `shipping`/`adjustment` are sent because sql.js-backed
 * servers need the deprecated columns filled. The reason carries the idempotency key: a retry finds the
 * refund it made and returns it instead of refunding twice.
 */
export async function refund(
  api: VendureApi,
  input: {
    orderExternalId: string;
    lines: ActionLine[];
    includeShipping: boolean;
    reason: string;
    idempotencyKey: string;
  },
): Promise<{ externalId: string; amount: number; currency: string }> {
  const order = await loadOrder(api, input.orderExternalId);
  const currency = order.currencyCode.toUpperCase();
  const marker = keyMarker(input.idempotencyKey);
  const payments = order.payments ?? [];
  for (const p of payments)
    for (const r of p.refunds)
      if (r.reason?.includes(marker)) {
        if (!countsAsRefund(r.state))
          throw new PlatformError(
            'rejected',
            `Vendure refund ${r.id} for this action failed at the payment provider`,
          );
        return { externalId: r.id, amount: toMinor(r.total, currency), currency };
      }

  const byId = new Map(order.lines.map((l) => [l.id, l]));
  let amount = 0;
  const lines = input.lines.map((l) => {
    const line = byId.get(l.externalLineId);
    if (!line) throw new PlatformError('rejected', `order ${order.code} has no line ${l.externalLineId}`);
    amount += line.proratedUnitPriceWithTax * l.quantity;
    return { orderLineId: line.id, quantity: l.quantity };
  });
  const shippingDone = payments.some((p) =>
    p.refunds.some((r) => countsAsRefund(r.state) && (r.shipping ?? 0) > 0),
  );
  const shipping = input.includeShipping && !shippingDone ? order.shippingWithTax : 0;
  amount += shipping;
  if (amount <= 0)
    throw new PlatformError('rejected', 'nothing to refund: the lines are free and shipping is not refunded');

  // One payment must carry the whole amount (Vendure checks the chosen payment alone).
  const refundable = payments
    .filter((p) => p.state === 'Settled')
    .map((p) => ({
      p,
      left: p.amount - p.refunds.filter((r) => countsAsRefund(r.state)).reduce((s, r) => s + r.total, 0),
    }))
    .sort((a, b) => b.left - a.left);
  const payment = refundable[0];
  if (!payment || payment.left < amount)
    throw new PlatformError(
      'rejected',
      `cannot refund ${toMinor(amount, currency)} (minor units) on order ${order.code}: ${toMinor(payment?.left ?? 0, currency)} left on its settled payments`,
    );

  const r = await api.mutate(
    REFUND_ORDER,
    {
      input: {
        paymentId: payment.p.id,
        amount,
        lines,
        shipping,
        adjustment: 0,
        reason: `${input.reason.slice(0, 400)} ${marker}`,
      },
    },
    'refundOrder',
    Refund,
    `a refund on order ${order.code}`,
  );
  return { externalId: r.id, amount: toMinor(r.total, currency), currency };
}
