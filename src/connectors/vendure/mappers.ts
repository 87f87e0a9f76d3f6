import type { AddressInputT, OrderInputT } from '../../orders/document.js';
import type { Phase } from '../../orders/phase.js';
import type { VAddress, VOrder } from './schemas.js';

/**
 * Vendure Order → Resolve's order document (SPEC §2).
 *
 * Money: Vendure keeps integers with a fixed precision of 2 (its DefaultMoneyStrategy) whatever the currency;
 * Resolve keeps ISO 4217 minor units, so JPY (0 digits) is divided by 100 and KWD (3) multiplied by 10.
 *
 * Prices are GROSS: `unit_price` is `unitPriceWithTax` — what the customer saw and paid per unit, and what a
 * refund pays back — so the claim value (unit price − per-unit discount = `proratedUnitPriceWithTax`) matches
 * the refund the connector makes, whether the channel's prices include tax or not. `discount` is the line's
 * share of line and order promotions, `tax` the tax in the discounted line.
 *
 * Shipments are the fulfilments that are not cancelled: method → carrier, trackingCode, lines from the
 * fulfilment's (orderLineId, quantity); state Created/Pending → order_processed, Shipped → in_transit,
 * Delivered → delivered (at the fulfilment's updatedAt, the time of its last transition).
 */

const PRECISION = 2;
/** The manual payment method that completes a replacement order (replacement.ts). */
export const REPLACEMENT_METHOD = 'resolve-replacement';
const digitsCache = new Map<string, number>();

function currencyDigits(currency: string): number {
  let d = digitsCache.get(currency);
  if (d === undefined) {
    try {
      d = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits as number;
    } catch {
      d = PRECISION;
    }
    digitsCache.set(currency, d);
  }
  return d;
}

/** Vendure's integer amount → ISO minor units. */
export const toMinor = (v: number, currency: string) =>
  Math.round(v * 10 ** (currencyDigits(currency.toUpperCase()) - PRECISION));

const FULFILMENT_PHASE: Record<string, Phase> = {
  Created: 'order_processed',
  Pending: 'order_processed',
  Shipped: 'in_transit',
  Delivered: 'delivered',
};

/** Refund states that moved (or will move) money; a Failed refund refunded nothing. */
export const countsAsRefund = (state: string) => state !== 'Failed';

const text = (v: string | null | undefined, max = 255) => {
  const t = v?.trim();
  return t ? t.slice(0, max) : null;
};

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function address(a: VAddress | null | undefined): AddressInputT | null {
  if (!a) return null;
  const cc = text(a.countryCode, 2);
  const out: AddressInputT = {
    name: text(a.fullName),
    company: text(a.company),
    address_line_1: text(a.streetLine1),
    address_line_2: text(a.streetLine2),
    city: text(a.city),
    zip_code: text(a.postalCode, 32),
    province: text(a.province),
    country_code: cc && /^[A-Za-z]{2}$/.test(cc) ? cc.toUpperCase() : null,
    phone: text(a.phoneNumber, 64),
  };
  return Object.values(out).some((v) => v !== null) ? out : null;
}

/** Units refunded per order line, from the lines of every refund that did not fail. */
export function refundedUnits(order: Pick<VOrder, 'payments'>): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of order.payments ?? [])
    for (const r of p.refunds)
      if (countsAsRefund(r.state))
        for (const l of r.lines ?? []) out.set(l.orderLineId, (out.get(l.orderLineId) ?? 0) + l.quantity);
  return out;
}

/** Draft orders, carts and checkouts are not orders yet: null. */
export function mapOrder(o: VOrder): OrderInputT | null {
  if (!o.orderPlacedAt || o.active || o.state === 'Draft') return null;
  const cur = o.currencyCode.toUpperCase();
  const m = (v: number) => Math.max(0, toMinor(v, cur));
  const cancelled = o.state === 'Cancelled';
  const refunded = refundedUnits(o);
  const lines = o.lines.flatMap((l) => {
    // A cancelled order keeps its lines at 0 units; it is shown as it was placed.
    const quantity = l.quantity > 0 ? l.quantity : cancelled ? l.orderPlacedQuantity : 0;
    if (quantity < 1) return [];
    const v = l.productVariant;
    const product = text(v.product?.name, 500);
    const variant = text(v.name, 500);
    return [
      {
        external_id: l.id,
        sku: text(v.sku),
        title: product ?? variant ?? `Item ${l.id}`,
        variant_title: variant && variant !== product ? variant : null,
        quantity,
        quantity_refunded: Math.min(quantity, refunded.get(l.id) ?? 0),
        unit_price: m(l.unitPriceWithTax),
        discount: m(l.linePriceWithTax - l.proratedLinePriceWithTax),
        tax: m(l.proratedLinePriceWithTax - l.proratedLinePrice),
        image_url:
          l.featuredAsset?.preview && /^https?:\/\//.test(l.featuredAsset.preview)
            ? l.featuredAsset.preview.slice(0, 2048)
            : null,
        product_id: v.product?.id ?? null,
        variant_id: v.id,
      },
    ];
  });
  const known = new Map(lines.map((l) => [l.external_id, l.quantity]));
  const shipments = (o.fulfillments ?? [])
    .filter((f) => f.state !== 'Cancelled')
    .map((f) => {
      const phase = FULFILMENT_PHASE[f.state] ?? null;
      const events: NonNullable<NonNullable<OrderInputT['shipments']>[number]['events']> = [
        {
          time: f.createdAt,
          code: 'fulfillment_created',
          phase: 'order_processed',
          description: 'Fulfilment created',
          location: null,
        },
      ];
      if (f.state === 'Shipped' || f.state === 'Delivered')
        events.push({
          time: f.updatedAt,
          code: f.state.toLowerCase(),
          phase,
          description: `Fulfilment ${f.state.toLowerCase()}`,
          location: null,
        });
      return {
        external_id: f.id,
        carrier: text(f.method, 100),
        tracking_number: text(f.trackingCode, 100),
        tracking_url: null,
        phase,
        delivered_at: f.state === 'Delivered' ? f.updatedAt : null,
        line_items: (f.lines ?? [])
          .filter((l) => known.has(l.orderLineId) && l.quantity > 0)
          .map((l) => ({
            external_id: l.orderLineId,
            quantity: Math.min(l.quantity, known.get(l.orderLineId) ?? 0),
          })),
        events,
      };
    });
  const c = o.customer;
  const email = text(c?.emailAddress, 320);
  return {
    external_id: o.id,
    order_number: o.code,
    order_name: o.code,
    placed_at: o.orderPlacedAt,
    // Vendure keeps no cancellation time on the order; cancelling is its last write, so updatedAt is it.
    cancelled_at: cancelled ? o.updatedAt : null,
    currency: cur,
    language: null,
    // A replacement Resolve made (completed by its zero manual payment) is synced like any order, marked.
    tags: (o.payments ?? []).some((p) => p.method === REPLACEMENT_METHOD) ? [REPLACEMENT_METHOD] : [],
    customer: c
      ? {
          external_id: c.user ? c.id : null, // a guest checkout has a Customer but no User
          email: email && EMAIL.test(email) ? email : null,
          first_name: text(c.firstName),
          last_name: text(c.lastName),
          phone: text(c.phoneNumber, 64),
        }
      : null,
    shipping_address: address(o.shippingAddress),
    billing_address: address(o.billingAddress),
    totals: {
      subtotal: m(o.subTotalWithTax),
      shipping: m(o.shippingWithTax),
      discount: m(-o.discounts.reduce((s, d) => s + d.amountWithTax, 0)),
      tax: m(o.totalWithTax - o.total),
      total: m(o.totalWithTax),
    },
    line_items: lines,
    shipments,
  };
}

/** Resolve's address → Vendure's address input (empty strings clear a field that the old address had). */
export function vendureAddress(a: AddressInputT) {
  return {
    fullName: a.name ?? '',
    company: a.company ?? '',
    streetLine1: a.address_line_1 ?? '',
    streetLine2: a.address_line_2 ?? '',
    city: a.city ?? '',
    province: a.province ?? '',
    postalCode: a.zip_code ?? '',
    countryCode: (a.country_code ?? '').toUpperCase(),
    phoneNumber: a.phone ?? '',
  };
}
