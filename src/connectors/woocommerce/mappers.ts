import type { AddressInputT, OrderInputT } from '../../orders/document.js';
import { toMinor } from './money.js';
import type { WooAddressT, WooLineItemT, WooMetaT, WooOrderT, WooRefundT } from './schemas.js';

/**
 * WooCommerce order (REST v3) → Resolve's order document (SPEC §2). Woo core knows no shipments: tracking
 * comes from the WooCommerce Shipment Tracking extension's `_wc_shipment_tracking_items` order meta (the
 * format AST and WooCommerce Shipping also write). A tracking item is a shipment handed to the carrier
 * (`shipped` event → in_transit). Woo never learns about delivery, so no shipment is ever `delivered` here;
 * the status `completed` means "fulfilled" in Woo and becomes a tracking-less shipped shipment.
 */

/** Statuses that are not (yet) orders a customer can claim against. */
const NOT_ORDERS = new Set(['checkout-draft', 'trash', 'auto-draft', 'draft']);
export const TRACKING_META = '_wc_shipment_tracking_items';
/** Order meta that marks a replacement order Resolve created (value: the idempotency key). */
export const RESOLVE_KEY_META = 'resolve_key';

/** Woo GMT dates come without a zone ("2017-03-22T19:28:02"). */
export const gmt = (s: string | null | undefined): string | null =>
  s ? new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`).toISOString() : null;

const clip = (s: string | null | undefined, max = 255): string | null => {
  const t = (s ?? '').trim();
  return t ? t.slice(0, max) : null;
};

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  ndash: '–',
  mdash: '—',
  hellip: '…',
};
/** Product names arrive HTML-escaped ("Shirt &ndash; Blue"). */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return cp > 0 && cp < 0x110000 ? String.fromCodePoint(cp) : m;
    }
    return NAMED[e.toLowerCase()] ?? m;
  });
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const LANG = /^[A-Za-z]{2}([-_][A-Za-z]{2})?$/;

export const meta = (list: WooMetaT[] | undefined, key: string): unknown =>
  list?.find((m) => m.key === key)?.value;

export function mapAddress(a: WooAddressT | undefined): AddressInputT | null {
  if (!a || !(a.address_1 || a.city || a.postcode || a.country)) return null;
  const country = clip(a.country);
  return {
    name: clip([a.first_name, a.last_name].filter(Boolean).join(' ')),
    company: clip(a.company),
    address_line_1: clip(a.address_1),
    address_line_2: clip(a.address_2),
    city: clip(a.city),
    zip_code: clip(a.postcode, 32),
    province: clip(a.state),
    country_code: country && /^[A-Za-z]{2}$/.test(country) ? country : null,
    phone: clip(a.phone, 64),
  };
}

/** Resolve address → Woo `shipping` object (PUT /orders/{id}); the name is split at its first space. */
export function toWooAddress(a: AddressInputT): Record<string, string> {
  const name = (a.name ?? '').trim();
  const cut = name.indexOf(' ');
  return {
    first_name: cut < 0 ? name : name.slice(0, cut),
    last_name: cut < 0 ? '' : name.slice(cut + 1),
    company: a.company ?? '',
    address_1: a.address_line_1 ?? '',
    address_2: a.address_line_2 ?? '',
    city: a.city ?? '',
    state: a.province ?? '',
    postcode: a.zip_code ?? '',
    country: (a.country_code ?? '').toUpperCase(),
    phone: a.phone ?? '',
  };
}

/** Units refunded per original line id, from the refunds' negative line quantities (`_refunded_item_id`). */
export function refundedUnits(refunds: WooRefundT[], kind: 'line_items' | 'shipping_lines' = 'line_items') {
  const out = new Map<string, number>();
  for (const r of refunds)
    for (const li of r[kind] ?? []) {
      const orig = meta(li.meta_data, '_refunded_item_id');
      if (orig == null) continue;
      const k = String(orig);
      out.set(k, (out.get(k) ?? 0) + Math.abs(li.quantity || (kind === 'shipping_lines' ? 1 : 0)));
    }
  return out;
}

function variantTitle(li: WooLineItemT): string | null {
  if (!li.variation_id) return null;
  const parts = (li.meta_data ?? [])
    .filter((m) => !m.key.startsWith('_') && (typeof m.value === 'string' || typeof m.value === 'number'))
    .map((m) => decodeEntities(String((m as { display_value?: unknown }).display_value ?? m.value)));
  return clip(parts.join(', '), 500);
}

interface TrackingItem {
  tracking_provider?: unknown;
  custom_tracking_provider?: unknown;
  custom_tracking_link?: unknown;
  tracking_number?: unknown;
  date_shipped?: unknown;
  tracking_id?: unknown;
  products_list?: unknown;
}
const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v).trim() : '');

type Shipment = NonNullable<OrderInputT['shipments']>[number];

function shipments(o: WooOrderT, lines: OrderInputT['line_items']): Shipment[] {
  const raw = meta(o.meta_data, TRACKING_META);
  const items = (Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : []).filter(
    (t): t is TrackingItem => !!t && typeof t === 'object' && str((t as TrackingItem).tracking_number) !== '',
  );
  const all = lines.map((l) => ({ external_id: l.external_id, quantity: l.quantity }));
  if (!items.length) {
    if (o.status !== 'completed') return [];
    const at = gmt(o.date_completed_gmt) ?? gmt(o.date_modified_gmt);
    return [
      {
        external_id: `wc-completed-${o.id}`,
        carrier: null,
        tracking_number: null,
        tracking_url: null,
        phase: at ? null : 'in_transit',
        delivered_at: null,
        line_items: all,
        events: at
          ? [
              {
                time: at,
                code: 'shipped',
                phase: 'in_transit',
                description: 'Order completed in WooCommerce (no tracking number)',
                location: null,
              },
            ]
          : [],
      },
    ];
  }
  // AST's products_list says what a parcel holds; otherwise the first parcel carries the whole order.
  const hasLists = items.some((t) => Array.isArray(t.products_list));
  const left = new Map(all.map((l) => [l.external_id, l.quantity]));
  const ids = new Set<string>();
  return items.map((t, i) => {
    let carried: { external_id: string; quantity: number }[] = [];
    if (hasLists) {
      for (const p of Array.isArray(t.products_list) ? t.products_list : []) {
        const id = str((p as { item_id?: unknown }).item_id);
        const q = Math.min(Math.floor(Number((p as { qty?: unknown }).qty) || 0), left.get(id) ?? 0);
        if (q > 0 && !carried.some((c) => c.external_id === id)) {
          carried.push({ external_id: id, quantity: q });
          left.set(id, (left.get(id) ?? 0) - q);
        }
      }
    } else if (i === 0) carried = all;
    // The extension stores a unix timestamp; other writers of this meta use a date string.
    const shipped = str(t.date_shipped);
    const ms = /^\d+$/.test(shipped) ? Number(shipped) * 1000 : Date.parse(shipped);
    const time = ms > 0 ? new Date(ms).toISOString() : null;
    const carrier = clip(str(t.custom_tracking_provider) || str(t.tracking_provider), 100);
    const number = str(t.tracking_number);
    // Custom links are templates: %1$s tracking number, %2$s postcode, %3$s country.
    const link = str(t.custom_tracking_link)
      .replace('%1$s', encodeURIComponent(number))
      .replace('%2$s', encodeURIComponent((o.shipping.postcode ?? '').replace(/\s/g, '')))
      .replace('%3$s', encodeURIComponent(o.shipping.country ?? ''));
    let id = `wcst-${str(t.tracking_id) || `${o.id}-${i}`}`.slice(0, 240);
    if (ids.has(id)) id = `${id}-${i}`;
    ids.add(id);
    return {
      external_id: id,
      carrier,
      tracking_number: clip(number, 100),
      tracking_url: /^https?:\/\//i.test(link) ? link.slice(0, 2048) : null,
      phase: time ? null : 'in_transit',
      delivered_at: null,
      line_items: carried,
      events: time
        ? [
            {
              time,
              code: 'shipped',
              phase: 'in_transit',
              description: carrier ? `Shipped with ${carrier}` : 'Shipped',
              location: null,
            },
          ]
        : [],
    } satisfies Shipment;
  });
}

/** The order document, or null for what is not an order (checkout drafts, trash, orders without lines). */
export function mapOrder(o: WooOrderT, refunds: WooRefundT[]): OrderInputT | null {
  if (NOT_ORDERS.has(o.status)) return null;
  const cur = o.currency.toUpperCase();
  const m = (v: string) => Math.max(0, toMinor(v, cur));
  const refunded = refundedUnits(refunds);
  let subtotalSum = 0;
  const lines = o.line_items
    .filter((li) => li.quantity >= 1)
    .map((li) => {
      const qty = Math.floor(li.quantity);
      const subtotal = m(li.subtotal);
      subtotalSum += subtotal;
      const title = clip(decodeEntities(li.variation_id && li.parent_name ? li.parent_name : li.name), 500);
      return {
        external_id: String(li.id),
        sku: clip(li.sku),
        title: title ?? `Item ${li.id}`,
        variant_title: variantTitle(li),
        quantity: qty,
        quantity_refunded: Math.min(qty, refunded.get(String(li.id)) ?? 0),
        unit_price: Math.round(subtotal / qty),
        discount: Math.max(0, subtotal - m(li.total)),
        tax: m(li.total_tax),
        image_url:
          typeof li.image?.src === 'string' && /^https?:\/\//.test(li.image.src)
            ? li.image.src.slice(0, 2048)
            : null,
        product_id: li.product_id ? String(li.product_id) : null,
        variant_id: li.variation_id ? String(li.variation_id) : null,
      };
    });
  const placedAt = gmt(o.date_created_gmt) ?? gmt(o.date_modified_gmt);
  if (!lines.length || !placedAt) return null;
  const email = clip(o.billing.email, 320);
  const lang = str(meta(o.meta_data, 'wpml_language'));
  return {
    external_id: String(o.id),
    order_number: clip(o.number, 100) ?? String(o.id),
    order_name: clip(`#${o.number}`),
    placed_at: placedAt,
    // Woo keeps no cancellation date; the last modification of a cancelled order is the closest we have.
    cancelled_at: o.status === 'cancelled' ? (gmt(o.date_modified_gmt) ?? placedAt) : null,
    currency: cur,
    language: LANG.test(lang) ? lang : null,
    tags: meta(o.meta_data, RESOLVE_KEY_META) != null ? ['resolve-replacement'] : [],
    customer: {
      external_id: o.customer_id > 0 ? String(o.customer_id) : null,
      email: email && EMAIL.test(email) ? email : null,
      first_name: clip(o.billing.first_name),
      last_name: clip(o.billing.last_name),
      phone: clip(o.billing.phone, 64),
    },
    shipping_address: mapAddress(o.shipping),
    billing_address: mapAddress(o.billing),
    totals: {
      subtotal: subtotalSum,
      shipping: m(o.shipping_total),
      discount: m(o.discount_total),
      tax: m(o.total_tax),
      total: m(o.total),
    },
    line_items: lines,
    shipments: shipments(o, lines),
  };
}
