import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type DerivedPhase,
  derivePhase,
  isStuck,
  PHASES,
  type Phase,
  type PhaseEvent,
  phaseForCode,
} from '../src/orders/phase.js';

const T0 = Date.UTC(2026, 0, 10, 12);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Hour `h` of the test timeline. */
const t = (h: number) => new Date(T0 + h * HOUR);
/** An event at hour `h` with a carrier code, or a stated phase when `phase` is given. */
const ev = (h: number, code: string, phase?: Phase | null): PhaseEvent => ({ time: t(h), code, phase });

const seenPhases = new Set<Phase>();

test('phaseForCode maps platform and carrier codes in any spelling', () => {
  const rows: [code: string, phase: Phase | null][] = [
    // AfterShip tags
    ['Pending', 'order_created'],
    ['InfoReceived', 'order_processed'],
    ['InTransit', 'in_transit'],
    ['OutForDelivery', 'in_delivery'],
    ['AvailableForPickup', 'collect'],
    ['Delivered', 'delivered'],
    ['AttemptFail', 'delivery_failed'],
    // Shopify FulfillmentEventStatus / FulfillmentDisplayStatus
    ['LABEL_PURCHASED', 'order_processed'],
    ['LABEL_PRINTED', 'order_processed'],
    ['CONFIRMED', 'order_processed'],
    ['CARRIER_PICKED_UP', 'in_transit'],
    ['PICKED_UP', 'in_transit'],
    ['IN_TRANSIT', 'in_transit'],
    ['OUT_FOR_DELIVERY', 'in_delivery'],
    ['READY_FOR_PICKUP', 'collect'],
    ['DELIVERED', 'delivered'],
    ['ATTEMPTED_DELIVERY', 'delivery_failed'],
    ['FAILURE', 'delivery_failed'],
    ['NOT_DELIVERED', 'delivery_failed'],
    // Carrier wording and the normalised vocabulary itself
    ['label_created', 'order_processed'],
    ['shipped', 'in_transit'],
    ['failed_attempt', 'delivery_failed'],
    ['return_created', 'return_created'],
    ['returned_to_sender', 'return_transit'],
    ['return_transit', 'return_transit'],
    ['return_received', 'return_received'],
    ['return_failed', 'return_failed'],
    ['returned', 'returned'],
    // snake / camel / space / dash / case / padding variants
    ['out_for_delivery', 'in_delivery'],
    ['out for delivery', 'in_delivery'],
    ['Out For Delivery', 'in_delivery'],
    ['out-for-delivery', 'in_delivery'],
    ['  out  for - delivery ', 'in_delivery'],
    ['outForDelivery', 'in_delivery'],
    ['readyForPickup', 'collect'],
    ['Ready-For-Pickup', 'collect'],
    ['available for pickup', 'collect'],
    ['attemptedDelivery', 'delivery_failed'],
    ['Attempted Delivery', 'delivery_failed'],
    ['returnToSender', 'return_transit'],
    ['Return to sender', 'return_transit'],
    ['in-transit', 'in_transit'],
    ['infoReceived', 'order_processed'],
    // Codes without a phase of their own
    ['Exception', null],
    ['Expired', null],
    ['DELAYED', null],
    ['customs_hold', null],
    ['', null],
    ['deliver', null],
  ];
  for (const [code, phase] of rows)
    assert.equal(phaseForCode(code), phase, `phaseForCode(${JSON.stringify(code)})`);
});

interface PhaseRow {
  name: string;
  events: PhaseEvent[];
  phaseOverride?: Phase | null;
  deliveredAtOverride?: Date | null;
  expect: { phase: Phase; deliveredAt: Date | null; lastEventAt: Date | null };
}

const phaseRows: PhaseRow[] = [
  // No events: a fulfilment exists, nothing has moved yet.
  {
    name: 'no events',
    events: [],
    expect: { phase: 'order_processed', deliveredAt: null, lastEventAt: null },
  },
  {
    name: 'a stated phase on the event',
    events: [ev(1, 'anything', 'order_created')],
    expect: { phase: 'order_created', deliveredAt: null, lastEventAt: t(1) },
  },
  {
    name: "a stated phase wins over the event's code",
    events: [ev(1, 'delivered', 'in_transit')],
    expect: { phase: 'in_transit', deliveredAt: null, lastEventAt: t(1) },
  },
  {
    name: 'codes map when the event states no phase',
    events: [ev(1, 'InfoReceived'), ev(2, 'InTransit', null), ev(3, 'OutForDelivery')],
    expect: { phase: 'in_delivery', deliveredAt: null, lastEventAt: t(3) },
  },
  {
    name: 'Shopify statuses map',
    events: [ev(1, 'LABEL_PURCHASED'), ev(2, 'IN_TRANSIT'), ev(3, 'READY_FOR_PICKUP')],
    expect: { phase: 'collect', deliveredAt: null, lastEventAt: t(3) },
  },
  {
    name: 'a failed attempt in Shopify wording',
    events: [ev(1, 'IN_TRANSIT'), ev(2, 'OUT_FOR_DELIVERY'), ev(3, 'ATTEMPTED_DELIVERY')],
    expect: { phase: 'delivery_failed', deliveredAt: null, lastEventAt: t(3) },
  },
  {
    name: 'code spelling variants map alike',
    events: [ev(1, 'in-transit'), ev(2, 'Out For Delivery'), ev(3, 'delivered')],
    expect: { phase: 'delivered', deliveredAt: t(3), lastEventAt: t(3) },
  },
  // Order of input does not matter; time does.
  {
    name: 'the latest event wins whatever the input order',
    events: [ev(3, 'Delivered'), ev(1, 'InTransit'), ev(2, 'OutForDelivery')],
    expect: { phase: 'delivered', deliveredAt: t(3), lastEventAt: t(3) },
  },
  {
    name: 'an early event listed last does not win',
    events: [ev(2, 'OutForDelivery'), ev(3, 'AttemptFail'), ev(1, 'InTransit')],
    expect: { phase: 'delivery_failed', deliveredAt: null, lastEventAt: t(3) },
  },
  // Unknown codes move nothing but still count as carrier activity.
  {
    name: 'an unknown code after a known one keeps the phase',
    events: [ev(1, 'InTransit'), ev(2, 'Exception')],
    expect: { phase: 'in_transit', deliveredAt: null, lastEventAt: t(2) },
  },
  {
    name: 'only unknown codes',
    events: [ev(1, 'customs_hold'), ev(2, 'DELAYED')],
    expect: { phase: 'order_processed', deliveredAt: null, lastEventAt: t(2) },
  },
  {
    name: 'an unknown code after delivery keeps it delivered',
    events: [ev(1, 'Delivered'), ev(2, 'Exception')],
    expect: { phase: 'delivered', deliveredAt: t(1), lastEventAt: t(2) },
  },
  // delivered_at is the first delivery ...
  {
    name: 'a repeated delivered scan keeps the first time',
    events: [ev(1, 'InTransit'), ev(2, 'Delivered'), ev(5, 'DELIVERED')],
    expect: { phase: 'delivered', deliveredAt: t(2), lastEventAt: t(5) },
  },
  // ... unless the carrier takes the delivery back ...
  {
    name: 'a failed delivery after delivered clears delivered_at',
    events: [ev(1, 'Delivered'), ev(2, 'delivery_failed')],
    expect: { phase: 'delivery_failed', deliveredAt: null, lastEventAt: t(2) },
  },
  {
    name: 'back in transit after delivered clears delivered_at',
    events: [ev(1, 'Delivered'), ev(2, 'in_transit')],
    expect: { phase: 'in_transit', deliveredAt: null, lastEventAt: t(2) },
  },
  {
    name: 'out for delivery after delivered clears delivered_at',
    events: [ev(1, 'Delivered'), ev(2, 'OutForDelivery')],
    expect: { phase: 'in_delivery', deliveredAt: null, lastEventAt: t(2) },
  },
  {
    name: 'at a pickup point after delivered clears delivered_at',
    events: [ev(1, 'Delivered'), ev(2, 'AvailableForPickup')],
    expect: { phase: 'collect', deliveredAt: null, lastEventAt: t(2) },
  },
  {
    name: 'delivered again after a failure counts from the new delivery',
    events: [ev(1, 'Delivered'), ev(2, 'AttemptFail'), ev(3, 'Delivered')],
    expect: { phase: 'delivered', deliveredAt: t(3), lastEventAt: t(3) },
  },
  // ... while a return after delivery keeps it (claim windows still count from the delivery).
  {
    name: 'return created after delivery',
    events: [ev(1, 'Delivered'), ev(4, 'return_created')],
    expect: { phase: 'return_created', deliveredAt: t(1), lastEventAt: t(4) },
  },
  {
    name: 'return in transit after delivery',
    events: [ev(1, 'Delivered'), ev(4, 'return_created'), ev(5, 'return_transit')],
    expect: { phase: 'return_transit', deliveredAt: t(1), lastEventAt: t(5) },
  },
  {
    name: 'return received after delivery',
    events: [ev(1, 'Delivered'), ev(5, 'return_transit'), ev(6, 'return_received')],
    expect: { phase: 'return_received', deliveredAt: t(1), lastEventAt: t(6) },
  },
  {
    name: 'return failed after delivery',
    events: [ev(1, 'Delivered'), ev(5, 'return_transit'), ev(6, 'return_failed')],
    expect: { phase: 'return_failed', deliveredAt: t(1), lastEventAt: t(6) },
  },
  {
    name: 'returned after delivery',
    events: [ev(1, 'Delivered'), ev(5, 'return_transit'), ev(6, 'returned')],
    expect: { phase: 'returned', deliveredAt: t(1), lastEventAt: t(6) },
  },
  {
    name: 'a delivered scan during the return does not restart the window',
    events: [ev(1, 'Delivered'), ev(4, 'return_created'), ev(6, 'Delivered')],
    expect: { phase: 'delivered', deliveredAt: t(1), lastEventAt: t(6) },
  },
  {
    name: 'returned to sender without ever being delivered',
    events: [ev(1, 'InTransit'), ev(3, 'return to sender')],
    expect: { phase: 'return_transit', deliveredAt: null, lastEventAt: t(3) },
  },
  // Ties on time keep the input order.
  {
    name: 'same time: the later-listed event wins (failed)',
    events: [ev(1, 'InTransit'), ev(2, 'Delivered'), ev(2, 'AttemptFail')],
    expect: { phase: 'delivery_failed', deliveredAt: null, lastEventAt: t(2) },
  },
  {
    name: 'same time: the later-listed event wins (delivered)',
    events: [ev(1, 'InTransit'), ev(2, 'AttemptFail'), ev(2, 'Delivered')],
    expect: { phase: 'delivered', deliveredAt: t(2), lastEventAt: t(2) },
  },
  {
    name: 'same time, input out of time order',
    events: [ev(2, 'OutForDelivery'), ev(1, 'InTransit'), ev(2, 'AvailableForPickup')],
    expect: { phase: 'collect', deliveredAt: null, lastEventAt: t(2) },
  },
  // A phase stated by the platform wins over events.
  {
    name: 'override delivered uses deliveredAtOverride',
    events: [ev(1, 'InTransit'), ev(2, 'Delivered')],
    phaseOverride: 'delivered',
    deliveredAtOverride: t(9),
    expect: { phase: 'delivered', deliveredAt: t(9), lastEventAt: t(2) },
  },
  {
    name: 'override delivered falls back to the delivered event',
    events: [ev(1, 'InTransit'), ev(2, 'Delivered'), ev(3, 'Exception')],
    phaseOverride: 'delivered',
    expect: { phase: 'delivered', deliveredAt: t(2), lastEventAt: t(3) },
  },
  {
    name: 'override delivered without a delivered event falls back to the last event',
    events: [ev(1, 'InTransit'), ev(3, 'OutForDelivery')],
    phaseOverride: 'delivered',
    deliveredAtOverride: null,
    expect: { phase: 'delivered', deliveredAt: t(3), lastEventAt: t(3) },
  },
  {
    name: 'override delivered with no events and no time',
    events: [],
    phaseOverride: 'delivered',
    expect: { phase: 'delivered', deliveredAt: null, lastEventAt: null },
  },
  {
    name: 'override to a moving phase drops delivered_at',
    events: [ev(1, 'Delivered')],
    phaseOverride: 'in_transit',
    deliveredAtOverride: t(1),
    expect: { phase: 'in_transit', deliveredAt: null, lastEventAt: t(1) },
  },
  {
    name: 'override to collect drops delivered_at',
    events: [ev(1, 'Delivered')],
    phaseOverride: 'collect',
    expect: { phase: 'collect', deliveredAt: null, lastEventAt: t(1) },
  },
  {
    name: 'override to a return phase keeps delivered_at',
    events: [ev(1, 'Delivered'), ev(2, 'InTransit'), ev(3, 'Delivered')],
    phaseOverride: 'returned',
    expect: { phase: 'returned', deliveredAt: t(3), lastEventAt: t(3) },
  },
  {
    name: 'override wins over later events',
    events: [ev(1, 'InTransit'), ev(2, 'Delivered')],
    phaseOverride: 'delivery_failed',
    expect: { phase: 'delivery_failed', deliveredAt: null, lastEventAt: t(2) },
  },
  {
    name: 'override order_created',
    events: [],
    phaseOverride: 'order_created',
    expect: { phase: 'order_created', deliveredAt: null, lastEventAt: null },
  },
  {
    name: 'deliveredAtOverride alone applies to a delivered shipment',
    events: [ev(1, 'InTransit'), ev(2, 'Delivered')],
    deliveredAtOverride: t(7),
    expect: { phase: 'delivered', deliveredAt: t(7), lastEventAt: t(2) },
  },
  {
    name: 'deliveredAtOverride alone is ignored while not delivered',
    events: [ev(1, 'InTransit')],
    deliveredAtOverride: t(7),
    expect: { phase: 'in_transit', deliveredAt: null, lastEventAt: t(1) },
  },
];

for (const row of phaseRows) {
  test(`derivePhase: ${row.name}`, () => {
    const got: DerivedPhase = derivePhase({
      events: row.events,
      phaseOverride: row.phaseOverride,
      deliveredAtOverride: row.deliveredAtOverride,
    });
    assert.deepEqual(got, row.expect);
    seenPhases.add(got.phase);
  });
}

test('derivePhase does not reorder or change the caller’s events', () => {
  const events = [ev(3, 'Delivered'), ev(1, 'InTransit', null)];
  const copy = structuredClone(events);
  derivePhase({ events });
  assert.deepEqual(events, copy);
});

const NOW = new Date(T0 + 30 * DAY);
const ago = (ms: number) => new Date(NOW.getTime() - ms);

const stuckRows: {
  name: string;
  phase: Phase;
  lastEventAt: Date | null;
  createdAt: Date;
  days?: number;
  stuck: boolean;
}[] = [
  {
    name: 'in transit, quiet for 6 days',
    phase: 'in_transit',
    lastEventAt: ago(6 * DAY),
    createdAt: ago(9 * DAY),
    stuck: true,
  },
  {
    name: 'in transit, quiet for exactly 5 days',
    phase: 'in_transit',
    lastEventAt: ago(5 * DAY),
    createdAt: ago(9 * DAY),
    stuck: false,
  },
  {
    name: 'in transit, quiet for 5 days and 1 ms',
    phase: 'in_transit',
    lastEventAt: ago(5 * DAY + 1),
    createdAt: ago(9 * DAY),
    stuck: true,
  },
  {
    name: 'in transit, quiet for 4 days',
    phase: 'in_transit',
    lastEventAt: ago(4 * DAY),
    createdAt: ago(9 * DAY),
    stuck: false,
  },
  {
    name: 'a shop with N = 10',
    phase: 'in_transit',
    lastEventAt: ago(6 * DAY),
    createdAt: ago(9 * DAY),
    days: 10,
    stuck: false,
  },
  {
    name: 'a shop with N = 2',
    phase: 'in_transit',
    lastEventAt: ago(3 * DAY),
    createdAt: ago(9 * DAY),
    days: 2,
    stuck: true,
  },
  {
    name: 'out for delivery for a week',
    phase: 'in_delivery',
    lastEventAt: ago(7 * DAY),
    createdAt: ago(9 * DAY),
    stuck: true,
  },
  {
    name: 'at a pickup point for a week',
    phase: 'collect',
    lastEventAt: ago(7 * DAY),
    createdAt: ago(9 * DAY),
    stuck: true,
  },
  {
    name: 'failed delivery, no news for a week',
    phase: 'delivery_failed',
    lastEventAt: ago(7 * DAY),
    createdAt: ago(9 * DAY),
    stuck: true,
  },
  {
    name: 'label created, no scan for a week',
    phase: 'order_created',
    lastEventAt: ago(7 * DAY),
    createdAt: ago(8 * DAY),
    stuck: true,
  },
  {
    name: 'no events, shipped 6 days ago',
    phase: 'order_processed',
    lastEventAt: null,
    createdAt: ago(6 * DAY),
    stuck: true,
  },
  {
    name: 'no events, shipped exactly 5 days ago',
    phase: 'order_processed',
    lastEventAt: null,
    createdAt: ago(5 * DAY),
    stuck: false,
  },
  {
    name: 'no events, shipped 2 days ago',
    phase: 'order_processed',
    lastEventAt: null,
    createdAt: ago(2 * DAY),
    stuck: false,
  },
  {
    name: 'the last event counts, not the shipping date',
    phase: 'in_transit',
    lastEventAt: ago(1 * DAY),
    createdAt: ago(20 * DAY),
    stuck: false,
  },
  {
    name: 'delivered long ago',
    phase: 'delivered',
    lastEventAt: ago(25 * DAY),
    createdAt: ago(29 * DAY),
    stuck: false,
  },
  {
    name: 'delivered, no events',
    phase: 'delivered',
    lastEventAt: null,
    createdAt: ago(29 * DAY),
    stuck: false,
  },
  {
    name: 'returned long ago',
    phase: 'returned',
    lastEventAt: ago(25 * DAY),
    createdAt: ago(29 * DAY),
    stuck: false,
  },
  {
    name: 'return created long ago',
    phase: 'return_created',
    lastEventAt: ago(25 * DAY),
    createdAt: ago(29 * DAY),
    stuck: false,
  },
  {
    name: 'return in transit long ago',
    phase: 'return_transit',
    lastEventAt: ago(25 * DAY),
    createdAt: ago(29 * DAY),
    stuck: false,
  },
  {
    name: 'return received long ago',
    phase: 'return_received',
    lastEventAt: ago(25 * DAY),
    createdAt: ago(29 * DAY),
    stuck: false,
  },
  {
    name: 'return failed long ago',
    phase: 'return_failed',
    lastEventAt: ago(25 * DAY),
    createdAt: ago(29 * DAY),
    stuck: false,
  },
];

for (const row of stuckRows) {
  test(`isStuck: ${row.name}`, () => {
    const got = isStuck(
      { phase: row.phase, lastEventAt: row.lastEventAt, createdAt: row.createdAt },
      row.days ?? 5,
      NOW,
    );
    assert.equal(got, row.stuck);
  });
}

test('every phase of SPEC §2 is derived by at least one row and checked for stuck', () => {
  assert.equal(PHASES.length, 12);
  assert.deepEqual(
    PHASES.filter((p) => !seenPhases.has(p)),
    [],
  );
  const stuckPhases = new Set(stuckRows.map((r) => r.phase));
  assert.deepEqual(
    PHASES.filter((p) => !stuckPhases.has(p)),
    [],
  );
});
