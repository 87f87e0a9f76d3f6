/** The normalised shipment phase (SPEC §2) and its derivation from carrier events. Pure; no I/O. */
export const PHASES = [
  'order_created',
  'order_processed',
  'in_transit',
  'in_delivery',
  'collect',
  'delivered',
  'delivery_failed',
  'return_created',
  'return_transit',
  'return_received',
  'return_failed',
  'returned',
] as const;
export type Phase = (typeof PHASES)[number];

export function isPhase(v: unknown): v is Phase {
  return typeof v === 'string' && (PHASES as readonly string[]).includes(v);
}

/**
 * Carrier/platform event codes that imply a phase when an event carries no `phase` of its own.
 * Covers AfterShip tags, Shopify FulfillmentEventStatus/DisplayStatus and common carrier wording.
 */
const CODES: Record<string, Phase> = {
  pending: 'order_created',
  order_created: 'order_created',
  inforeceived: 'order_processed',
  info_received: 'order_processed',
  label_created: 'order_processed',
  label_purchased: 'order_processed',
  label_printed: 'order_processed',
  confirmed: 'order_processed',
  order_processed: 'order_processed',
  picked_up: 'in_transit',
  carrier_picked_up: 'in_transit',
  intransit: 'in_transit',
  in_transit: 'in_transit',
  shipped: 'in_transit',
  outfordelivery: 'in_delivery',
  out_for_delivery: 'in_delivery',
  in_delivery: 'in_delivery',
  availableforpickup: 'collect',
  available_for_pickup: 'collect',
  ready_for_pickup: 'collect',
  collect: 'collect',
  delivered: 'delivered',
  attemptfail: 'delivery_failed',
  attempted_delivery: 'delivery_failed',
  failed_attempt: 'delivery_failed',
  delivery_failed: 'delivery_failed',
  failure: 'delivery_failed',
  not_delivered: 'delivery_failed',
  return_created: 'return_created',
  return_to_sender: 'return_transit',
  returned_to_sender: 'return_transit',
  return_transit: 'return_transit',
  return_received: 'return_received',
  return_failed: 'return_failed',
  returned: 'returned',
};

/** Case and separators are dropped so `READY_FOR_PICKUP`, `readyForPickup` and `Ready for pickup` agree. */
const codeKey = (code: string) => code.toLowerCase().replace(/[\s_-]+/g, '');
const CODE_PHASE = new Map(Object.entries(CODES).map(([code, phase]) => [codeKey(code), phase]));

export function phaseForCode(code: string): Phase | null {
  return CODE_PHASE.get(codeKey(code)) ?? null;
}

export interface PhaseEvent {
  time: Date;
  code: string;
  phase?: Phase | null;
}

export interface PhaseInput {
  events: PhaseEvent[];
  /** A phase stated by the platform (e.g. Shopify's displayStatus); wins over events. */
  phaseOverride?: Phase | null;
  deliveredAtOverride?: Date | null;
}

export interface DerivedPhase {
  phase: Phase;
  deliveredAt: Date | null;
  lastEventAt: Date | null;
}

/** Phases after which a shipment no longer moves towards the customer. */
const SETTLED: ReadonlySet<Phase> = new Set<Phase>([
  'delivered',
  'return_created',
  'return_transit',
  'return_received',
  'return_failed',
  'returned',
]);

/**
 * The shipment's phase is the phase of its latest event that has one (events ordered by time, ties keep
 * input order). `delivered_at` is the first delivery (claim windows start there); a later phase
 * that still heads to the customer resets it, a return keeps it; a shipment with no events is
 * `order_processed` (a fulfilment exists).
 */
export function derivePhase(input: PhaseInput): DerivedPhase {
  const events = input.events
    .map((e, i) => ({ ...e, i, phase: e.phase ?? phaseForCode(e.code) }))
    .sort((a, b) => a.time.getTime() - b.time.getTime() || a.i - b.i);
  let phase: Phase = 'order_processed';
  let deliveredAt: Date | null = null;
  for (const e of events) {
    if (!e.phase) continue;
    if (e.phase === 'delivered') {
      deliveredAt ??= e.time; // a later delivered scan (repeat, return leg) does not restart the window
    } else if (!SETTLED.has(e.phase)) {
      deliveredAt = null; // the carrier took back its delivered scan (failed, in transit, pickup point)
    }
    phase = e.phase;
  }
  const lastEventAt = events.length ? events[events.length - 1].time : null;
  if (input.phaseOverride) {
    phase = input.phaseOverride;
    if (phase === 'delivered') deliveredAt = input.deliveredAtOverride ?? deliveredAt ?? lastEventAt;
    else if (!SETTLED.has(phase)) deliveredAt = null;
  } else if (input.deliveredAtOverride && phase === 'delivered') {
    deliveredAt = input.deliveredAtOverride;
  }
  return { phase, deliveredAt, lastEventAt };
}

/** Stuck: not delivered and no carrier event for `stuckAfterDays` (counted from the last event, or shipping). */
/** Whether a shipment in this phase is done moving towards the customer (delivered, or on its way back). */
export const isSettled = (phase: Phase) => SETTLED.has(phase);

export function isStuck(
  s: { phase: Phase; lastEventAt: Date | null; createdAt: Date },
  stuckAfterDays: number,
  now: Date,
): boolean {
  if (SETTLED.has(s.phase)) return false;
  const since = s.lastEventAt ?? s.createdAt;
  return now.getTime() - since.getTime() > stuckAfterDays * 86_400_000;
}
