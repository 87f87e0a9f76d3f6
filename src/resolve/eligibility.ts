import type { OrderView } from '../orders/read.js';
import { label } from './labels.js';
import { FLOWS, type Flow, type ResolveSettings } from './settings.js';

/** Why a flow is not available (stable codes the page and API clients switch on). */
export const REASON_CODES = [
  'flow_disabled',
  'order_cancelled',
  'not_fulfilled',
  'not_delivered',
  'outside_claim_window',
  'outside_return_window',
  'already_claimed',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface ClaimedUnits {
  line_item_id: string;
  shipment_id: string | null;
  quantity: number;
}

export interface EligibleItem {
  line_item_id: string;
  max_quantity: number;
  shipments: { shipment_id: string; max_quantity: number }[];
}

export interface FlowEligibility {
  flow: Flow;
  available: boolean;
  reason_code: ReasonCode | null;
  reasons: { code: string; label: string }[];
  items: EligibleItem[];
  resolutions: string[];
  steps: {
    photos: { min: number; max: number };
    package_photo: 'off' | 'optional' | 'required';
    signature: 'off' | 'optional' | 'required';
    description: { required: boolean; min_length: number; max_length: number };
    prompts: {
      id: string;
      type: string;
      label: string;
      required: boolean;
      max_length?: number;
      options?: { value: string; label: string }[];
    }[];
    dropoff_permission: boolean;
    handoff: 'native' | 'external';
  };
}

const DAY = 86_400_000;
type Shipment = OrderView['shipments'][number];

/**
 * What the customer may claim, per flow (SPEC §4). Pure: the same order, claims, settings and clock give
 * the same answer, so the page, the API and claim submission agree.
 */
export function computeEligibility(
  order: OrderView,
  claimed: ClaimedUnits[],
  settings: ResolveSettings,
  now: Date,
  lang: string | null,
): FlowEligibility[] {
  const claimedIn = new Map<string, number>();
  const claimedLine = new Map<string, number>();
  for (const c of claimed) {
    if (!c.shipment_id) continue; // claims not tied to a shipment (support) do not use up units
    claimedIn.set(
      `${c.shipment_id}|${c.line_item_id}`,
      (claimedIn.get(`${c.shipment_id}|${c.line_item_id}`) ?? 0) + c.quantity,
    );
    claimedLine.set(c.line_item_id, (claimedLine.get(c.line_item_id) ?? 0) + c.quantity);
  }
  const lineCap = new Map(
    order.line_items.map((l) => [
      l.id,
      Math.max(0, l.quantity_fulfilled - l.quantity_refunded - (claimedLine.get(l.id) ?? 0)),
    ]),
  );

  const itemsOf = (shipments: Shipment[]): EligibleItem[] => {
    const byLine = new Map<string, EligibleItem>();
    for (const s of shipments) {
      for (const l of s.line_items) {
        const cap = Math.min(
          l.quantity - (claimedIn.get(`${s.id}|${l.line_item_id}`) ?? 0),
          lineCap.get(l.line_item_id) ?? 0,
        );
        if (cap <= 0) continue;
        const item = byLine.get(l.line_item_id) ?? {
          line_item_id: l.line_item_id,
          max_quantity: 0,
          shipments: [],
        };
        item.shipments.push({ shipment_id: s.id, max_quantity: cap });
        byLine.set(l.line_item_id, item);
      }
    }
    for (const item of byLine.values()) {
      item.max_quantity = Math.min(
        item.shipments.reduce((n, s) => n + s.max_quantity, 0),
        lineCap.get(item.line_item_id) ?? 0,
      );
    }
    // Keep the order's line order.
    return order.line_items.map((l) => byLine.get(l.id)).filter((x): x is EligibleItem => !!x);
  };

  const deliveredWithin = (s: Shipment, days: number) =>
    s.phase === 'delivered' &&
    s.delivered_at !== null &&
    now.getTime() - Date.parse(s.delivered_at) <= days * DAY;
  const fulfilled = order.shipments.some((s) => s.line_items.length > 0);
  const delivered = order.shipments.filter((s) => s.phase === 'delivered' && s.delivered_at);

  /**
   * not_received's built-in reasons each describe one kind of parcel: "marked as delivered, but not received"
   * fits only a delivered parcel, "stuck in transit" only one that stopped moving. Each is offered only when a
   * parcel of its kind has units left to claim. Reasons the merchant added are always offered.
   */
  const notReceivedReasons = (inWindow: Shipment[]) => {
    const skip = new Set<string>();
    if (!itemsOf(inWindow).length) skip.add('delivered_not_received');
    if (!itemsOf(order.shipments.filter((s) => s.stuck)).length) skip.add('stuck_in_transit');
    return skip;
  };

  const gate = (flow: Flow): { reason: ReasonCode | null; items: EligibleItem[] } => {
    if (!settings.flows[flow].enabled) return { reason: 'flow_disabled', items: [] };
    if (flow === 'support') return { reason: null, items: itemsOf(order.shipments) };
    if (order.state === 'cancelled') return { reason: 'order_cancelled', items: [] };
    if (!fulfilled) return { reason: 'not_fulfilled', items: [] };
    const windowDays = flow === 'return' ? settings.return_window_days : settings.claim_window_days;
    const inWindow = delivered.filter((s) => deliveredWithin(s, windowDays));
    const candidates =
      flow === 'not_received' ? [...inWindow, ...order.shipments.filter((s) => s.stuck)] : inWindow;
    const items = itemsOf(candidates);
    if (items.length) return { reason: null, items };
    // Units of a parcel still on its way become claimable when it arrives: that is the reason to give,
    // not "too late" or "already reported", which are only true of the parcels that arrived.
    const onTheWay = order.shipments.filter(
      (s) => !candidates.includes(s) && !(s.phase === 'delivered' && s.delivered_at),
    );
    if (!candidates.length && !delivered.length) return { reason: 'not_delivered', items: [] };
    if (itemsOf(onTheWay).length) return { reason: 'not_delivered', items: [] };
    if (!candidates.length)
      return { reason: flow === 'return' ? 'outside_return_window' : 'outside_claim_window', items: [] };
    return { reason: 'already_claimed', items: [] };
  };

  return FLOWS.map((flow) => {
    const fs = settings.flows[flow];
    const { reason, items } = gate(flow);
    const skip =
      flow === 'not_received' && reason === null
        ? notReceivedReasons(delivered.filter((s) => deliveredWithin(s, settings.claim_window_days)))
        : new Set<string>();
    const offered = fs.reasons.filter((r) => !skip.has(r.code));
    return {
      flow,
      available: reason === null,
      reason_code: reason,
      reasons: offered.map((r) => ({ code: r.code, label: label(r.labels, lang) })),
      items,
      resolutions: fs.resolutions,
      steps: {
        photos: fs.photos,
        package_photo: fs.package_photo,
        signature: fs.signature,
        description: fs.description,
        prompts: fs.prompts.map((p) => ({
          id: p.id,
          type: p.type,
          label: label(p.labels, lang),
          required: p.required,
          ...(p.max_length ? { max_length: p.max_length } : {}),
          ...(p.options
            ? { options: p.options.map((o) => ({ value: o.value, label: label(o.labels, lang) })) }
            : {}),
        })),
        // Whether the carrier could leave the parcel: asked unless the only reason left is a stuck parcel, which
        // never reached the door (dropoffAsked() says it per reason).
        dropoff_permission: flow === 'not_received' && offered.some((r) => dropoffAsked(flow, r.code)),
        handoff: flow === 'return' ? settings.returns.mode : 'native',
      },
    };
  });
}

/**
 * A not_received claim says whether the customer let the carrier leave the parcel without a signature, unless
 * the parcel is stuck in transit: it never reached the door.
 */
export const dropoffAsked = (flow: string, reason: string) =>
  flow === 'not_received' && reason !== 'stuck_in_transit';
