import type { AddressInputT, OrderInputT } from '../../orders/document.js';
import { type Phase, phaseForCode } from '../../orders/phase.js';
import type { SwAddress, SwDelivery, SwLineItem, SwOrder } from './schemas.js';

type Shipment = NonNullable<OrderInputT['shipments']>[number];
type Line = OrderInputT['line_items'][number];

const digitsCache = new Map<string, number>();

/** ISO 4217 minor-unit digits (EUR 2, JPY 0, BHD 3), from ICU. */
export function minorDigits(currency: string): number {
  let d = digitsCache.get(currency);
  if (d === undefined) {
    try {
      d =
        new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
          .maximumFractionDigits ?? 2;
    } catch {
      d = 2;
    }
    digitsCache.set(currency, d);
  }
  return d;
}

/**
 * Shopware's float (19.99) → integer minor units (1999). toPrecision(15) first drops the binary noise of the
 * multiplication (1.005 × 100 = 100.49999999999999 → 100.5) so rounding goes where the decimal says.
 */
export function toMinor(amount: number, currency: string): number {
  return Math.round(Number((amount * 10 ** minorDigits(currency)).toPrecision(15)));
}

/** Integer minor units → the float Shopware writes, rounded to the currency's digits. */
export function fromMinor(minor: number, currency: string): number {
  const d = minorDigits(currency);
  return Number((minor / 10 ** d).toFixed(d));
}

const money = (amount: number | null | undefined, currency: string) =>
  Math.max(0, toMinor(amount ?? 0, currency));
const taxOf = (taxes: { tax: number }[] | undefined, currency: string) =>
  money(
    (taxes ?? []).reduce((s, t) => s + t.tax, 0),
    currency,
  );
const iso = (s: string) => new Date(s).toISOString();
const text = (s: string | null | undefined, max = 255) => (s?.trim() ? s.trim().slice(0, max) : null);

export function mapAddress(a: SwAddress | null | undefined): AddressInputT | null {
  if (!a) return null;
  const country = a.country?.iso?.trim();
  const region = a.countryState?.shortCode?.trim();
  return {
    name: text([a.firstName, a.lastName].filter(Boolean).join(' ')),
    company: text(a.company),
    address_line_1: text(a.street),
    address_line_2: text([a.additionalAddressLine1, a.additionalAddressLine2].filter(Boolean).join(', ')),
    city: text(a.city),
    zip_code: text(a.zipcode, 32),
    // ISO 3166-2 "DE-BY" → "BY"; the country is its own field.
    province: region ? region.replace(/^[A-Z]{2}-/i, '') : text(a.countryState?.name),
    country_code: country && /^[A-Za-z]{2}$/.test(country) ? country.toUpperCase() : null,
    phone: text(a.phoneNumber, 64),
  };
}

/** Lines that are goods: `product` lines; an order of only hand-added `custom` lines uses those. */
export function goodsLines(order: SwOrder): SwLineItem[] {
  const lines = order.lineItems ?? [];
  const products = lines.filter((l) => l.type === 'product' && l.quantity > 0);
  return products.length
    ? products
    : lines.filter((l) => l.type === 'custom' && l.good !== false && l.quantity > 0);
}

/** Units refunded per line through Shopware's refund handling (capture refunds not failed/cancelled). */
export function refundedQuantities(order: SwOrder): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of order.transactions ?? [])
    for (const c of t.captures ?? [])
      for (const r of c.refunds ?? []) {
        const state = r.stateMachineState?.technicalName;
        if (state === 'failed' || state === 'cancelled') continue;
        for (const p of r.positions ?? [])
          out.set(p.orderLineItemId, (out.get(p.orderLineItemId) ?? 0) + (p.quantity ?? 0));
      }
  return out;
}

function payloadOf(l: SwLineItem): { productNumber?: unknown; options?: unknown; parentId?: unknown } {
  return l.payload && typeof l.payload === 'object' && !Array.isArray(l.payload) ? l.payload : {};
}

function mapLine(l: SwLineItem, currency: string, refunded: number): Line {
  const p = payloadOf(l);
  const options = Array.isArray(p.options)
    ? (p.options as { group?: string; option?: string }[])
        .map((o) => [o.group, o.option].filter(Boolean).join(': '))
        .filter(Boolean)
        .join(' / ')
    : '';
  const parentId = typeof p.parentId === 'string' ? p.parentId : null;
  return {
    external_id: l.id,
    sku: typeof p.productNumber === 'string' ? text(p.productNumber) : null,
    title: text(l.label, 500) ?? 'Item',
    variant_title: text(options, 500),
    quantity: l.quantity,
    quantity_refunded: Math.min(refunded, l.quantity),
    unit_price: money(l.unitPrice, currency),
    tax: taxOf(l.price?.calculatedTaxes, currency),
    image_url: text(l.cover?.url, 2048),
    product_id: parentId ?? l.productId ?? null,
    variant_id: parentId ? (l.productId ?? null) : null,
  };
}

/**
 * Delivery state → phase. Core Shopware has no "delivered" state (the carrier knows, the shop does not), so a
 * shipped delivery is `in_transit` until tracking says more. Plugin states go through the shared code table
 * (a custom `delivered` state maps to `delivered`). Open deliveries are shipments only once they carry a
 * tracking code (a label exists); cancelled ones are none.
 */
export function deliveryPhase(d: SwDelivery): Phase | null {
  const state = d.stateMachineState?.technicalName ?? 'open';
  const tracked = (d.trackingCodes ?? []).some((c) => c.trim());
  switch (state) {
    case 'shipped':
    case 'shipped_partially':
      return 'in_transit';
    case 'returned':
      return 'returned';
    case 'returned_partially':
      return 'return_received';
    case 'cancelled':
      return null;
    case 'open':
      return tracked ? 'order_processed' : null;
    default:
      return phaseForCode(state) ?? (tracked ? 'order_processed' : null);
  }
}

function mapDelivery(d: SwDelivery, remaining: Map<string, number>): Shipment | null {
  const phase = deliveryPhase(d);
  if (!phase) return null;
  const qty = new Map<string, number>();
  for (const pos of d.positions ?? []) {
    const left = remaining.get(pos.orderLineItemId) ?? 0; // not a goods line, or already fully shipped
    const q = Math.min(left, pos.quantity);
    if (q < 1) continue;
    remaining.set(pos.orderLineItemId, left - q);
    qty.set(pos.orderLineItemId, (qty.get(pos.orderLineItemId) ?? 0) + q);
  }
  const code = (d.trackingCodes ?? []).map((c) => c.trim()).find(Boolean) ?? null;
  const urlTemplate = d.shippingMethod?.trackingUrl;
  return {
    external_id: d.id,
    carrier: text(d.shippingMethod?.name, 100),
    tracking_number: code ? code.slice(0, 100) : null,
    tracking_url:
      code && urlTemplate?.includes('%s') ? urlTemplate.replace('%s', encodeURIComponent(code)) : null,
    phase,
    delivered_at: null,
    line_items: [...qty].map(([external_id, quantity]) => ({ external_id, quantity })),
  };
}

/** The delivery whose address is the order's shipping address: the first one not cancelled. */
const shippingDelivery = (order: SwOrder) =>
  order.deliveries?.find((d) => d.stateMachineState?.technicalName !== 'cancelled') ?? order.deliveries?.[0];

function language(order: SwOrder): string | null {
  const code = order.language?.locale?.code ?? '';
  if (/^[A-Za-z]{2}([-_][A-Za-z]{2})?$/.test(code)) return code;
  return /^[A-Za-z]{2}\b/.test(code) ? code.slice(0, 2) : null;
}

/** A Shopware order (searched with ORDER_ASSOCIATIONS) → Resolve's order document; null without goods lines. */
export function mapOrder(order: SwOrder): OrderInputT | null {
  const currency = order.currency?.isoCode?.toUpperCase() ?? '';
  const goods = goodsLines(order);
  if (!goods.length || !/^[A-Z]{3}$/.test(currency)) return null;
  const refunded = refundedQuantities(order);
  const lines = goods.map((l) => mapLine(l, currency, refunded.get(l.id) ?? 0));
  const remaining = new Map(goods.map((l) => [l.id, l.quantity]));
  const shipments = (order.deliveries ?? [])
    .map((d) => mapDelivery(d, remaining))
    .filter((s): s is Shipment => s !== null);
  const others = (order.lineItems ?? []).filter((l) => !goods.includes(l));
  const discount = -others.reduce((s, l) => s + Math.min(0, l.totalPrice), 0);
  const billing = mapAddress(order.billingAddress);
  const c = order.orderCustomer;
  const cancelled = order.stateMachineState?.technicalName === 'cancelled';
  return {
    external_id: order.id,
    order_number: order.orderNumber,
    order_name: order.orderNumber,
    placed_at: iso(order.orderDateTime),
    // Shopware keeps no cancellation time on the order; its last write is the closest it says.
    cancelled_at: cancelled ? iso(order.updatedAt ?? order.orderDateTime) : null,
    currency,
    language: language(order),
    tags: (order.tags ?? []).map((t) => t.name.slice(0, 100)).filter(Boolean),
    customer: c
      ? {
          external_id: c.customerId ?? null,
          email: text(c.email, 320),
          first_name: text(c.firstName),
          last_name: text(c.lastName),
          phone: billing?.phone ?? null,
        }
      : null,
    shipping_address: mapAddress(shippingDelivery(order)?.shippingOrderAddress),
    billing_address: billing,
    totals: {
      subtotal: money(
        goods.reduce((s, l) => s + l.totalPrice, 0),
        currency,
      ),
      shipping: money(order.shippingTotal, currency),
      discount: money(discount, currency),
      tax: taxOf(order.price?.calculatedTaxes, currency),
      total: money(order.amountTotal, currency),
    },
    line_items: lines,
    shipments,
  };
}
