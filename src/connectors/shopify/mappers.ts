import type { AddressInputT, OrderInputT } from '../../orders/document.js';
import type { Phase } from '../../orders/phase.js';
import type { FulfillmentNodeT, MailingAddressT, MoneyBagT, OrderNodeT } from './schemas.js';

type Shipment = NonNullable<OrderInputT['shipments']>[number];
type ShipmentEvent = NonNullable<Shipment['events']>[number];

// ------------------------------------------------------------------------------------------------ money

const digitsCache = new Map<string, number>();
/** Minor-unit digits of an ISO 4217 currency (JPY 0, EUR 2, KWD 3), from the runtime's CLDR data. */
export function currencyDigits(currency: string): number {
  const code = currency.toUpperCase();
  let d = digitsCache.get(code);
  if (d === undefined) {
    try {
      d = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
        .maximumFractionDigits;
    } catch {
      d = 2;
    }
    digitsCache.set(code, d ?? 2);
  }
  return d ?? 2;
}

/** Shopify's decimal strings ("25.0", "1000", "10.505") → integer minor units, without floating point. */
export function toMinor(amount: string, currency: string): number {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(amount.trim());
  if (!m) throw new Error(`not a decimal amount: "${amount}"`);
  const d = currencyDigits(currency);
  const frac = m[3] ?? '';
  let minor = BigInt(m[2]) * 10n ** BigInt(d) + BigInt((frac.slice(0, d) || '0').padEnd(d, '0'));
  if (frac.length > d && frac[d] >= '5') minor += 1n; // half-up on digits the currency does not have
  return Number(m[1] ? -minor : minor);
}

/** Integer minor units → the decimal string Shopify's Money scalar takes. */
export function fromMinor(minor: number, currency: string): string {
  const d = currencyDigits(currency);
  const sign = minor < 0 ? '-' : '';
  const s = String(Math.abs(Math.round(minor))).padStart(d + 1, '0');
  return d === 0 ? `${sign}${s}` : `${sign}${s.slice(0, -d)}.${s.slice(-d)}`;
}

const bag = (b: MoneyBagT | null | undefined, currency: string) =>
  b ? Math.max(0, toMinor(b.shopMoney.amount, currency)) : undefined;

// ----------------------------------------------------------------------------------------------- phases

/** Carrier-level statuses (FulfillmentDisplayStatus / FulfillmentEventStatus) → Resolve's phase. */
const CARRIER_PHASE: Record<string, Phase> = {
  CARRIER_PICKED_UP: 'in_transit',
  IN_TRANSIT: 'in_transit',
  DELAYED: 'in_transit',
  OUT_FOR_DELIVERY: 'in_delivery',
  READY_FOR_PICKUP: 'collect',
  ATTEMPTED_DELIVERY: 'delivery_failed',
  NOT_DELIVERED: 'delivery_failed',
  FAILURE: 'delivery_failed',
  DELIVERED: 'delivered',
  PICKED_UP: 'delivered', // picked up by the customer at a pickup point
};
/** Events also carry the pre-carrier steps. */
const EVENT_PHASE: Record<string, Phase> = {
  ...CARRIER_PHASE,
  LABEL_PURCHASED: 'order_processed',
  LABEL_PRINTED: 'order_processed',
  CONFIRMED: 'order_processed',
};
/** Fulfilments that never left (or were withdrawn) are not shipments. */
const NOT_SHIPPED = new Set(['CANCELLED', 'ERROR', 'FAILURE']);
const NOT_SHIPPED_DISPLAY = new Set(['CANCELED', 'LABEL_VOIDED']);

/**
 * The display status states the phase only when it is carrier-level (in transit, delivered, …); FULFILLED,
 * MARKED_AS_FULFILLED, CONFIRMED, SUBMITTED and the label statuses say nothing beyond "a fulfilment exists",
 * so those shipments get their phase from the events (or `order_processed`).
 */
export function displayStatusPhase(status: string | null): Phase | null {
  return status ? (CARRIER_PHASE[status] ?? null) : null;
}

// ------------------------------------------------------------------------------------------------ order

const str = (v: string | null | undefined, max = 255) => {
  const t = v?.trim();
  return t ? t.slice(0, max) : null;
};
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function mapAddress(a: MailingAddressT | null): AddressInputT | null {
  if (!a) return null;
  const name = a.name ?? ([a.firstName, a.lastName].filter(Boolean).join(' ') || null);
  return {
    name: str(name),
    company: str(a.company),
    address_line_1: str(a.address1),
    address_line_2: str(a.address2),
    city: str(a.city),
    zip_code: str(a.zip, 32),
    province: str(a.provinceCode ?? a.province),
    country_code: a.countryCodeV2 && /^[A-Za-z]{2}$/.test(a.countryCodeV2) ? a.countryCodeV2 : null,
    phone: str(a.phone, 64),
  };
}

/** Shopify locales ("en", "fr-CA", "zh-Hans-CN", "es-419") → the document's `xx` / `xx-YY`. */
export function language(locale: string | null): string | null {
  const m = locale ? /^([A-Za-z]{2})(?:[-_]([A-Za-z]{2}))?(?:$|[-_])/.exec(locale) : null;
  if (!m) return null;
  return m[2] && locale!.length === 5 ? `${m[1]}-${m[2]}` : m[1];
}

function mapShipment(f: FulfillmentNodeT, lineIds: Set<string>): Shipment | null {
  if (NOT_SHIPPED.has(f.status) || (f.displayStatus && NOT_SHIPPED_DISPLAY.has(f.displayStatus))) return null;
  const qty = new Map<string, number>();
  for (const l of f.fulfillmentLineItems.nodes) {
    if (l.quantity > 0 && lineIds.has(l.lineItem.id))
      qty.set(l.lineItem.id, (qty.get(l.lineItem.id) ?? 0) + l.quantity);
  }
  const seen = new Set<string>();
  const events: ShipmentEvent[] = [];
  for (const e of f.events.nodes) {
    const code = e.status.toLowerCase();
    const key = `${Date.parse(e.happenedAt)}|${code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    events.push({
      time: e.happenedAt,
      code,
      phase: EVENT_PHASE[e.status] ?? null,
      description: str(e.message, 1000),
      location: str([e.city, e.province, e.country].filter(Boolean).join(', ')),
    });
  }
  events.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const phase = displayStatusPhase(f.displayStatus);
  const tracking = f.trackingInfo.find((t) => t.number) ?? f.trackingInfo[0] ?? null;
  return {
    external_id: f.id,
    carrier: str(tracking?.company, 100),
    tracking_number: str(tracking?.number, 100),
    tracking_url: str(tracking?.url, 2048),
    phase,
    delivered_at: phase === 'delivered' ? (f.deliveredAt ?? null) : null,
    line_items: [...qty].map(([external_id, quantity]) => ({ external_id, quantity })),
    events,
  };
}

/** One complete Shopify order (all line items and fulfilment lines fetched) → Resolve's order document. */
export function mapOrder(o: OrderNodeT): OrderInputT {
  const currency = o.currencyCode;
  const lines = o.lineItems.nodes.filter((l) => l.quantity > 0);
  const lineIds = new Set(lines.map((l) => l.id));
  const shipping = mapAddress(o.shippingAddress);
  const email = o.email && EMAIL.test(o.email.trim()) ? o.email.trim() : null;
  const hasCustomer = o.customer || email || o.phone;
  return {
    external_id: o.id,
    order_number: o.name.replace(/^#+/, '').trim() || o.name,
    order_name: o.name,
    placed_at: o.createdAt,
    cancelled_at: o.cancelledAt,
    currency,
    language: language(o.customerLocale),
    tags: o.tags.map((t) => t.slice(0, 100)).slice(0, 100),
    customer: hasCustomer
      ? {
          external_id: o.customer?.id ?? null,
          email,
          first_name: str(o.customer?.firstName ?? o.shippingAddress?.firstName),
          last_name: str(o.customer?.lastName ?? o.shippingAddress?.lastName),
          phone: str(o.phone, 64),
        }
      : null,
    shipping_address: shipping,
    billing_address: mapAddress(o.billingAddress),
    totals: {
      subtotal: bag(o.subtotalPriceSet, currency),
      shipping: bag(o.totalShippingPriceSet, currency),
      discount: bag(o.totalDiscountsSet, currency),
      tax: bag(o.totalTaxSet, currency),
      total: bag(o.totalPriceSet, currency),
    },
    line_items: lines.map((l) => ({
      external_id: l.id,
      sku: str(l.sku),
      title: str(l.title, 500) ?? 'Item',
      variant_title: str(l.variantTitle, 500),
      quantity: l.quantity,
      // currentQuantity excludes refunded and removed units; order edits that remove units count here too.
      quantity_refunded: Math.min(l.quantity, Math.max(0, l.quantity - l.currentQuantity)),
      unit_price: bag(l.originalUnitPriceSet, currency) ?? 0,
      discount: bag(l.totalDiscountSet, currency) ?? 0,
      tax: l.taxLines.reduce((n, t) => n + (bag(t.priceSet, currency) ?? 0), 0),
      image_url: str(l.image?.url, 2048),
      product_id: l.product?.id ?? null,
      variant_id: l.variant?.id ?? null,
    })),
    shipments: o.fulfillments
      .flatMap((f) => mapShipment(f, lineIds) ?? [])
      .filter((s) => s.line_items.length),
  };
}
