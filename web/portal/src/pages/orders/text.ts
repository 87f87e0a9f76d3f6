import type { Address, Order, OrderActivity } from '../../api';
import { label } from '../../ui/format';

/** An order's state in words, and the badge colour it gets. */
export const STATE: Record<Order['state'], { text: string; kind: string }> = {
  placed: { text: 'Placed', kind: 'pending' },
  partially_fulfilled: { text: 'Partly shipped', kind: 'pending' },
  fulfilled: { text: 'Shipped', kind: 'accepted' },
  cancelled: { text: 'Cancelled', kind: 'rejected' },
};

/** A shipment's phase in words ("in_delivery" → "Out for delivery"). */
const PHASES: Record<string, string> = {
  order_created: 'Not shipped yet',
  order_processed: 'Label created',
  in_transit: 'In transit',
  in_delivery: 'Out for delivery',
  collect: 'Ready for pickup',
  delivered: 'Delivered',
  delivery_failed: 'Delivery failed',
  return_created: 'Return started',
  return_transit: 'Return on its way',
  return_received: 'Return received',
  return_failed: 'Return failed',
  returned: 'Returned to sender',
};
export const phaseText = (phase: string | null | undefined) =>
  phase ? (PHASES[phase] ?? label(phase)) : '—';

export const customerName = (c: Order['customer']) =>
  [c.first_name, c.last_name].filter(Boolean).join(' ') || null;

/** A date and time, short: "30 Nov, 06:12" (the year only when it is not this year's). */
export function shortDateTime(iso: string): string {
  const d = new Date(iso);
  const sameYear = d.getFullYear() === new Date().getFullYear();
  const day = new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'short',
    ...(sameYear ? {} : { year: 'numeric' }),
  }).format(d);
  const time = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' }).format(d);
  return `${day}, ${time}`;
}

/** A postal address on one line: "Invalidenstr. 1, 10115 Berlin" (the name and country when asked). */
export function addressLine(a: Address, opts: { name?: boolean; country?: boolean } = {}): string {
  if (!a) return '—';
  const place = [a.zip_code, a.city].filter((x) => x?.trim()).join(' ');
  return (
    [
      opts.name ? a.name : null,
      a.company,
      a.address_line_1,
      a.address_line_2,
      place,
      a.province,
      opts.country ? a.country_code : null,
    ]
      .filter((x) => x?.trim())
      .join(', ') || '—'
  );
}

const by = (initiatedBy: unknown) =>
  initiatedBy === 'customer' ? 'by the customer' : initiatedBy ? `by ${label(String(initiatedBy))}` : '';

/**
 * One activity row in words (its time is shown beside it): "Cancelled by the customer · “Ordered twice”",
 * "Shipping address changed by the customer: Invalidenstr. 1, 10115 Berlin → Chausseestr. 10, 10117 Berlin".
 */
export function activityText(a: OrderActivity): string {
  const d = a.data ?? {};
  if (a.type === 'orders/cancelled') {
    const reason = typeof d.reason === 'string' && d.reason.trim() ? ` · “${d.reason.trim()}”` : '';
    return `Cancelled ${by(d.initiated_by)}`.trim() + reason;
  }
  if (a.type === 'orders/address_changed') {
    const from = (d.from ?? null) as Address;
    const to = (d.to ?? null) as Address;
    // The name is said only when it changed too; the country cannot change.
    const name = !!from && !!to && (from.name ?? '') !== (to.name ?? '');
    return `${`Shipping address changed ${by(d.initiated_by)}`.trim()}: ${from ? addressLine(from, { name }) : 'none'} → ${addressLine(to, { name })}`;
  }
  return label(a.type.replace(/^orders\//, ''));
}
