import { claimedUnits } from '../claims/read.js';
import type { Db } from '../db/client.js';
import { loadOneOrderView, type OrderView } from '../orders/read.js';
import type { Shop } from '../shops/shops.js';
import { type ClaimedUnits, computeEligibility } from './eligibility.js';
import { LANGUAGES } from './labels.js';
import { resolveSettingsOf } from './settings.js';

/** The language for customer-facing texts: `lang`, then Accept-Language, then the order's, then the shop's. */
export function pickLanguage(
  shop: Shop,
  order: { language: string | null } | null,
  lang?: string,
  acceptLanguage?: string,
): string {
  const supported = (l: string | undefined | null) => {
    const base = l?.trim().toLowerCase().split(/[-_]/)[0];
    return base && (LANGUAGES as readonly string[]).includes(base) ? base : null;
  };
  if (supported(lang)) return supported(lang)!;
  for (const part of (acceptLanguage ?? '').split(',')) {
    const l = supported(part.split(';')[0]);
    if (l) return l;
  }
  return supported(order?.language) ?? supported(shop.defaultLanguage) ?? 'en';
}

export function customerOrder(o: OrderView) {
  return {
    id: o.id,
    order_number: o.order_number,
    order_name: o.order_name,
    placed_at: o.placed_at,
    currency: o.currency,
    language: o.language,
    state: o.state,
    customer: { email: o.customer.email, first_name: o.customer.first_name, last_name: o.customer.last_name },
    shipping_address: o.shipping_address,
    totals: o.totals,
    line_items: o.line_items.map((l) => ({
      id: l.id,
      sku: l.sku,
      title: l.title,
      variant_title: l.variant_title,
      quantity: l.quantity,
      quantity_fulfilled: l.quantity_fulfilled,
      unit_price: l.unit_price,
      image_url: l.image_url,
    })),
    shipments: o.shipments.map((s) => ({
      id: s.id,
      carrier: s.carrier,
      tracking_number: s.tracking_number,
      tracking_url: s.tracking_url,
      phase: s.phase,
      delivered_at: s.delivered_at,
      last_event_at: s.last_event_at,
      stuck: s.stuck,
      line_items: s.line_items.map((l) => ({ line_item_id: l.line_item_id, quantity: l.quantity })),
      events: s.events.map((e) => ({
        time: e.time,
        phase: e.phase,
        description: e.description,
        location: e.location,
      })),
    })),
  };
}

export async function loadOrderView(
  db: Db,
  shop: Shop,
  orderId: string,
  now = new Date(),
): Promise<OrderView> {
  const settings = resolveSettingsOf(shop);
  return loadOneOrderView(db, shop.id, orderId, { stuckAfterDays: settings.stuck_after_days, now });
}

/** Order + eligibility + allowed actions, as the customer page needs it. */
export async function customerState(
  db: Db,
  shop: Shop,
  view: OrderView,
  level: 'zip' | 'token',
  lang: string,
  now = new Date(),
) {
  return customerStateOf(shop, view, await claimedUnits(db, shop.id, view.id), level, lang, now);
}

/** customerState() with the units already claimed at hand. */
export function customerStateOf(
  shop: Shop,
  view: OrderView,
  claimed: ClaimedUnits[],
  level: 'zip' | 'token',
  lang: string,
  now = new Date(),
) {
  const settings = resolveSettingsOf(shop);
  const flows = computeEligibility(view, claimed, settings, now, lang);
  const visible = settings.unavailable_flows === 'hide' ? flows.filter((f) => f.available) : flows;
  const open = view.state === 'placed';
  return {
    order: customerOrder(view),
    flows: visible,
    actions: { cancel: level === 'token' && open, change_address: level === 'token' && open },
  };
}
