import { type ActionLine, PlatformError } from '../platform.js';
import type { VendureApi } from './client.js';
import { countsAsRefund, refundedUnits, toMinor } from './mappers.js';
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
 * Refund = `refundOrder` on one payment with an explicit `amount` (Vendure ≥ 2.2's way): the lines' shares of
 * their prorated gross totals (what the customer paid after discounts), for units not yet refunded only, plus,
 * if asked, the order's shipping unless an earlier refund already returned it. The lines are sent too, so Vendure
 * records them on the refund (that is where `quantity_refunded` comes from); `shipping`/`adjustment` are sent
 * because sql.js-backed servers need the deprecated columns filled. The reason carries the idempotency key: a
 * retry finds the refund it made and returns it instead of refunding twice.
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

  // Vendure checks only the payment's balance, not the lines: a unit refunded before (through Resolve or in
  // Vendure's admin) would be paid out again. Each line is capped at its units not yet refunded, and priced by
  // cumulative shares of its prorated total, so a line refunded in parts adds up to exactly that total.
  const byId = new Map(order.lines.map((l) => [l.id, l]));
  const refunded = refundedUnits(order);
  const wanted = new Map<string, number>();
  for (const l of input.lines) wanted.set(l.externalLineId, (wanted.get(l.externalLineId) ?? 0) + l.quantity);
  let amount = 0;
  const lines = [...wanted].map(([lineId, q]) => {
    const line = byId.get(lineId);
    if (!line) throw new PlatformError('rejected', `order ${order.code} has no line ${lineId}`);
    const units = line.quantity > 0 ? line.quantity : line.orderPlacedQuantity;
    const done = refunded.get(line.id) ?? 0;
    if (!Number.isInteger(q) || q < 1 || q > units - done)
      throw new PlatformError(
        'rejected',
        `line ${line.id}: ${q} unit(s) asked, ${Math.max(0, units - done)} left to refund`,
      );
    const share = (n: number) => Math.round((line.proratedLinePriceWithTax * n) / units);
    amount += share(done + q) - share(done);
    return { orderLineId: line.id, quantity: q };
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
