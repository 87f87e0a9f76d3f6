import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Phase } from '../src/orders/phase.js';
import type { OrderView } from '../src/orders/read.js';
import {
  type ClaimedUnits,
  computeEligibility,
  type FlowEligibility,
  REASON_CODES,
} from '../src/resolve/eligibility.js';
import { defaultResolveSettings, FLOWS, type Flow, type ResolveSettings } from '../src/resolve/settings.js';

// The pure gating of SPEC §4, driven with hand-built order views and a fixed clock.

const NOW = new Date('2026-06-15T12:00:00.000Z');
const DAY = 86_400_000;
const ago = (days: number, ms = 0) => new Date(NOW.getTime() - days * DAY - ms).toISOString();

interface LineSpec {
  id: string;
  quantity: number;
  refunded?: number;
}
interface ShipmentSpec {
  id: string;
  phase: Phase;
  delivered_at?: string | null;
  stuck?: boolean;
  lines: [string, number][];
}

/** An OrderView as src/orders/read.ts builds it; `quantity_fulfilled` derived from the shipments. */
function order(spec: {
  state?: OrderView['state'];
  lines: LineSpec[];
  shipments?: ShipmentSpec[];
}): OrderView {
  const shipments = spec.shipments ?? [];
  const fulfilled = new Map<string, number>();
  for (const s of shipments) for (const [id, q] of s.lines) fulfilled.set(id, (fulfilled.get(id) ?? 0) + q);
  const totalShipped = [...fulfilled.values()].reduce((a, b) => a + b, 0);
  const totalOrdered = spec.lines.reduce((a, l) => a + l.quantity, 0);
  const state =
    spec.state ??
    (totalShipped === 0 ? 'placed' : totalShipped >= totalOrdered ? 'fulfilled' : 'partially_fulfilled');
  return {
    id: 'ord_test',
    external_id: 'ext-1',
    order_number: '1001',
    order_name: '#1001',
    placed_at: ago(70),
    cancelled_at: state === 'cancelled' ? ago(1) : null,
    currency: 'EUR',
    language: 'de',
    tags: [],
    state,
    customer: {
      external_id: null,
      email: 'kim@example.com',
      first_name: 'Kim',
      last_name: 'Berg',
      phone: null,
    },
    shipping_address: null,
    billing_address: null,
    totals: { subtotal: 0, shipping: 0, discount: 0, tax: 0, total: 0 },
    line_items: spec.lines.map((l, i) => ({
      id: l.id,
      external_id: `x-${l.id}`,
      sku: `SKU-${i}`,
      title: `Item ${l.id}`,
      variant_title: null,
      quantity: l.quantity,
      quantity_fulfilled: fulfilled.get(l.id) ?? 0,
      quantity_refunded: l.refunded ?? 0,
      unit_price: 1000,
      discount: 0,
      tax: 0,
      image_url: null,
      product_id: null,
      variant_id: null,
    })),
    shipments: shipments.map((s) => ({
      id: s.id,
      external_id: `x-${s.id}`,
      carrier: 'dhl',
      tracking_number: null,
      tracking_url: null,
      phase: s.phase,
      delivered_at: s.delivered_at ?? null,
      last_event_at: s.delivered_at ?? ago(1),
      stuck: s.stuck ?? false,
      line_items: s.lines.map(([line_item_id, quantity]) => ({
        line_item_id,
        external_id: `x-${line_item_id}`,
        quantity,
      })),
      events: [],
    })),
    created_at: ago(70),
    updated_at: ago(1),
  };
}

const delivered = (id: string, daysAgo: number, lines: [string, number][], ms = 0): ShipmentSpec => ({
  id,
  phase: 'delivered',
  delivered_at: ago(daysAgo, ms),
  lines,
});
const inTransit = (id: string, lines: [string, number][], stuck = false): ShipmentSpec => ({
  id,
  phase: 'in_transit',
  stuck,
  lines,
});

function settingsWith(patch: (s: ResolveSettings) => void = () => {}): ResolveSettings {
  const s = defaultResolveSettings();
  patch(s);
  return s;
}

function run(
  o: OrderView,
  opts: { claimed?: ClaimedUnits[]; settings?: ResolveSettings; now?: Date; lang?: string | null } = {},
) {
  const flows = computeEligibility(
    o,
    opts.claimed ?? [],
    opts.settings ?? defaultResolveSettings(),
    opts.now ?? NOW,
    opts.lang === undefined ? 'en' : opts.lang,
  );
  const by = Object.fromEntries(flows.map((f) => [f.flow, f])) as Record<Flow, FlowEligibility>;
  return { flows, by };
}

/** flow → reason_code (null when available). */
const reasonsOf = (flows: FlowEligibility[]) =>
  Object.fromEntries(flows.map((f) => [f.flow, f.reason_code])) as Record<Flow, string | null>;

/** Items of a flow as `[line_item_id, max_quantity]`, in order. */
const itemsOf = (f: FlowEligibility) => f.items.map((i) => [i.line_item_id, i.max_quantity]);

const ITEM_FLOWS = ['defective', 'missing_item', 'wrong_item', 'dissatisfied'] as const;

describe('shape', () => {
  test('one entry per flow in the fixed order; available ⇔ no reason code; reason codes are stable', () => {
    const { flows } = run(order({ lines: [{ id: 'L1', quantity: 1 }] }));
    assert.deepEqual(
      flows.map((f) => f.flow),
      [...FLOWS],
    );
    for (const f of flows) {
      assert.equal(f.available, f.reason_code === null, f.flow);
      if (f.reason_code) assert.ok((REASON_CODES as readonly string[]).includes(f.reason_code));
      if (!f.available) assert.deepEqual(f.items, [], `${f.flow} has items although unavailable`);
    }
  });

  test('pure: the same input gives the same answer and the inputs are not changed', () => {
    const o = order({
      lines: [
        { id: 'L1', quantity: 2 },
        { id: 'L2', quantity: 1 },
      ],
      shipments: [delivered('S1', 3, [['L1', 2]]), inTransit('S2', [['L2', 1]], true)],
    });
    const claimed = [{ line_item_id: 'L1', shipment_id: 'S1', quantity: 1 }];
    const settings = defaultResolveSettings();
    const before = JSON.stringify([o, claimed, settings]);
    const a = computeEligibility(o, claimed, settings, NOW, 'de');
    const b = computeEligibility(o, claimed, settings, NOW, 'de');
    assert.deepEqual(a, b);
    assert.equal(JSON.stringify([o, claimed, settings]), before);
  });
});

describe('gating per SPEC §4 (table)', () => {
  const twoLines = [
    { id: 'L1', quantity: 2 },
    { id: 'L2', quantity: 1 },
  ];
  const cases: {
    name: string;
    order: OrderView;
    settings?: ResolveSettings;
    expect: Partial<Record<Flow, string | null>>;
  }[] = [
    {
      name: 'nothing fulfilled: only support',
      order: order({ lines: twoLines }),
      expect: {
        defective: 'not_fulfilled',
        not_received: 'not_fulfilled',
        missing_item: 'not_fulfilled',
        wrong_item: 'not_fulfilled',
        return: 'not_fulfilled',
        dissatisfied: 'not_fulfilled',
        support: null,
      },
    },
    {
      name: 'a shipment without line items is not a fulfilment',
      order: order({ state: 'placed', lines: twoLines, shipments: [inTransit('S1', [])] }),
      expect: { defective: 'not_fulfilled', not_received: 'not_fulfilled', support: null },
    },
    {
      name: 'cancelled order (even after delivery): only support',
      order: order({ state: 'cancelled', lines: twoLines, shipments: [delivered('S1', 2, [['L1', 2]])] }),
      expect: {
        defective: 'order_cancelled',
        not_received: 'order_cancelled',
        missing_item: 'order_cancelled',
        wrong_item: 'order_cancelled',
        return: 'order_cancelled',
        dissatisfied: 'order_cancelled',
        support: null,
      },
    },
    {
      name: 'cancelled before fulfilment says order_cancelled, not not_fulfilled',
      order: order({ state: 'cancelled', lines: twoLines }),
      expect: { defective: 'order_cancelled', return: 'order_cancelled', support: null },
    },
    {
      name: 'delivered 2 days ago: every flow available',
      order: order({
        lines: twoLines,
        shipments: [
          delivered('S1', 2, [
            ['L1', 2],
            ['L2', 1],
          ]),
        ],
      }),
      expect: Object.fromEntries(FLOWS.map((f) => [f, null])),
    },
    {
      name: 'in transit, not stuck: nothing but support (not_delivered)',
      order: order({ lines: twoLines, shipments: [inTransit('S1', [['L1', 2]])] }),
      expect: {
        defective: 'not_delivered',
        not_received: 'not_delivered',
        missing_item: 'not_delivered',
        wrong_item: 'not_delivered',
        return: 'not_delivered',
        dissatisfied: 'not_delivered',
        support: null,
      },
    },
    {
      name: 'stuck in transit: not_received only',
      order: order({ lines: twoLines, shipments: [inTransit('S1', [['L1', 2]], true)] }),
      expect: {
        defective: 'not_delivered',
        not_received: null,
        missing_item: 'not_delivered',
        wrong_item: 'not_delivered',
        return: 'not_delivered',
        dissatisfied: 'not_delivered',
        support: null,
      },
    },
    {
      name: 'delivery failed (not stuck) is not delivered',
      order: order({
        lines: twoLines,
        shipments: [{ id: 'S1', phase: 'delivery_failed', lines: [['L1', 2]] }],
      }),
      expect: { defective: 'not_delivered', not_received: 'not_delivered', support: null },
    },
    {
      name: 'delivered 31 days ago: outside both default windows',
      order: order({ lines: twoLines, shipments: [delivered('S1', 31, [['L1', 2]])] }),
      expect: {
        defective: 'outside_claim_window',
        not_received: 'outside_claim_window',
        missing_item: 'outside_claim_window',
        wrong_item: 'outside_claim_window',
        return: 'outside_return_window',
        dissatisfied: 'outside_claim_window',
        support: null,
      },
    },
    {
      name: 'return uses return_window_days (shorter than the claim window)',
      order: order({ lines: twoLines, shipments: [delivered('S1', 20, [['L1', 2]])] }),
      settings: settingsWith((s) => {
        s.return_window_days = 14;
      }),
      expect: { defective: null, not_received: null, return: 'outside_return_window', dissatisfied: null },
    },
    {
      name: 'return uses return_window_days (longer than the claim window)',
      order: order({ lines: twoLines, shipments: [delivered('S1', 45, [['L1', 2]])] }),
      settings: settingsWith((s) => {
        s.return_window_days = 60;
      }),
      expect: {
        defective: 'outside_claim_window',
        not_received: 'outside_claim_window',
        return: null,
        dissatisfied: 'outside_claim_window',
      },
    },
    {
      name: 'a stuck shipment keeps not_received open although the delivered one is out of the window',
      order: order({
        lines: twoLines,
        shipments: [delivered('S1', 40, [['L1', 2]]), inTransit('S2', [['L2', 1]], true)],
      }),
      // The stuck parcel's item has not arrived: its window has not even begun (not "too late").
      expect: { defective: 'not_delivered', not_received: null, return: 'not_delivered' },
    },
    {
      name: 'claim_window_days is a setting',
      order: order({ lines: twoLines, shipments: [delivered('S1', 10, [['L1', 2]])] }),
      settings: settingsWith((s) => {
        s.claim_window_days = 7;
      }),
      expect: {
        defective: 'outside_claim_window',
        not_received: 'outside_claim_window',
        missing_item: 'outside_claim_window',
        wrong_item: 'outside_claim_window',
        dissatisfied: 'outside_claim_window',
        return: null,
      },
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const got = reasonsOf(run(c.order, { settings: c.settings }).flows);
      const want = Object.fromEntries(Object.keys(c.expect).map((f) => [f, got[f as Flow]]));
      assert.deepEqual(want, c.expect);
    });
  }
});

describe('flow_disabled', () => {
  const o = order({ lines: [{ id: 'L1', quantity: 1 }], shipments: [delivered('S1', 2, [['L1', 1]])] });

  for (const flow of FLOWS) {
    test(`${flow} disabled → flow_disabled, the others unaffected`, () => {
      const { by } = run(o, {
        settings: settingsWith((s) => {
          s.flows[flow].enabled = false;
        }),
      });
      assert.equal(by[flow].available, false);
      assert.equal(by[flow].reason_code, 'flow_disabled');
      assert.deepEqual(by[flow].items, []);
      for (const other of FLOWS) if (other !== flow) assert.equal(by[other].reason_code, null, other);
    });
  }

  test('flow_disabled wins over not_fulfilled and order_cancelled', () => {
    const settings = settingsWith((s) => {
      s.flows.defective.enabled = false;
    });
    assert.equal(
      run(order({ lines: [{ id: 'L1', quantity: 1 }] }), { settings }).by.defective.reason_code,
      'flow_disabled',
    );
    assert.equal(
      run(order({ state: 'cancelled', lines: [{ id: 'L1', quantity: 1 }] }), { settings }).by.defective
        .reason_code,
      'flow_disabled',
    );
  });
});

describe('items and quantities', () => {
  test('delivered order: every shipped unit is claimable, in the order of the line items', () => {
    const o = order({
      lines: [
        { id: 'L1', quantity: 2 },
        { id: 'L2', quantity: 1 },
        { id: 'L3', quantity: 3 },
      ],
      shipments: [
        delivered('S1', 2, [
          ['L3', 3],
          ['L1', 2],
          ['L2', 1],
        ]),
      ],
    });
    const { by } = run(o);
    for (const flow of [...ITEM_FLOWS, 'not_received', 'return'] as const) {
      assert.deepEqual(
        itemsOf(by[flow]),
        [
          ['L1', 2],
          ['L2', 1],
          ['L3', 3],
        ],
        flow,
      );
    }
    assert.deepEqual(by.defective.items[0].shipments, [{ shipment_id: 'S1', max_quantity: 2 }]);
  });

  test('support is available with nothing shipped, and offers no items then', () => {
    const { by } = run(order({ lines: [{ id: 'L1', quantity: 2 }] }));
    assert.equal(by.support.available, true);
    assert.deepEqual(by.support.items, []);
  });

  test('a partly shipped line counts only the shipped units', () => {
    const o = order({
      lines: [{ id: 'L1', quantity: 5 }],
      shipments: [delivered('S1', 2, [['L1', 2]])],
    });
    const { by } = run(o);
    assert.equal(o.state, 'partially_fulfilled');
    assert.deepEqual(itemsOf(by.defective), [['L1', 2]]);
  });

  test('refunded units are not claimable', () => {
    const o = order({
      lines: [
        { id: 'L1', quantity: 3, refunded: 1 },
        { id: 'L2', quantity: 1, refunded: 1 },
      ],
      shipments: [
        delivered('S1', 2, [
          ['L1', 3],
          ['L2', 1],
        ]),
      ],
    });
    const { by } = run(o);
    assert.deepEqual(itemsOf(by.defective), [['L1', 2]]);
    assert.deepEqual(itemsOf(by.return), [['L1', 2]]);
  });

  test('claimed units reduce max_quantity; a used-up line disappears', () => {
    const o = order({
      lines: [
        { id: 'L1', quantity: 3 },
        { id: 'L2', quantity: 1 },
      ],
      shipments: [
        delivered('S1', 2, [
          ['L1', 3],
          ['L2', 1],
        ]),
      ],
    });
    const claimed = [
      { line_item_id: 'L1', shipment_id: 'S1', quantity: 1 },
      { line_item_id: 'L1', shipment_id: 'S1', quantity: 1 },
      { line_item_id: 'L2', shipment_id: 'S1', quantity: 1 },
    ];
    const { by } = run(o, { claimed });
    for (const flow of [...ITEM_FLOWS, 'not_received', 'return'] as const)
      assert.deepEqual(itemsOf(by[flow]), [['L1', 1]], flow);
    assert.deepEqual(by.defective.items[0].shipments, [{ shipment_id: 'S1', max_quantity: 1 }]);
  });

  test('claims and refunds together: units shipped − claimed − refunded', () => {
    const o = order({
      lines: [{ id: 'L1', quantity: 4, refunded: 1 }],
      shipments: [delivered('S1', 2, [['L1', 4]])],
    });
    const { by } = run(o, { claimed: [{ line_item_id: 'L1', shipment_id: 'S1', quantity: 2 }] });
    assert.deepEqual(itemsOf(by.defective), [['L1', 1]]);
  });

  test('everything claimed → already_claimed for every item flow; support stays available', () => {
    const o = order({
      lines: [
        { id: 'L1', quantity: 2 },
        { id: 'L2', quantity: 1 },
      ],
      shipments: [
        delivered('S1', 2, [
          ['L1', 2],
          ['L2', 1],
        ]),
      ],
    });
    const claimed = [
      { line_item_id: 'L1', shipment_id: 'S1', quantity: 2 },
      { line_item_id: 'L2', shipment_id: 'S1', quantity: 1 },
    ];
    const { by } = run(o, { claimed });
    for (const flow of [...ITEM_FLOWS, 'not_received', 'return'] as const) {
      assert.equal(by[flow].reason_code, 'already_claimed', flow);
      assert.equal(by[flow].available, false, flow);
      assert.deepEqual(by[flow].items, [], flow);
    }
    assert.equal(by.support.available, true);
  });

  test('everything refunded → already_claimed', () => {
    const o = order({
      lines: [{ id: 'L1', quantity: 2, refunded: 2 }],
      shipments: [delivered('S1', 2, [['L1', 2]])],
    });
    assert.equal(run(o).by.defective.reason_code, 'already_claimed');
  });

  test('claims without a shipment (support) do not use up units', () => {
    const o = order({ lines: [{ id: 'L1', quantity: 2 }], shipments: [delivered('S1', 2, [['L1', 2]])] });
    const { by } = run(o, { claimed: [{ line_item_id: 'L1', shipment_id: null, quantity: 2 }] });
    assert.deepEqual(itemsOf(by.defective), [['L1', 2]]);
  });

  test('claims of another line or shipment do not reduce this one', () => {
    const o = order({
      lines: [
        { id: 'L1', quantity: 1 },
        { id: 'L2', quantity: 1 },
      ],
      shipments: [delivered('S1', 2, [['L1', 1]]), delivered('S2', 2, [['L2', 1]])],
    });
    const { by } = run(o, { claimed: [{ line_item_id: 'L2', shipment_id: 'S2', quantity: 1 }] });
    assert.deepEqual(itemsOf(by.defective), [['L1', 1]]);
  });
});

describe('multi-shipment orders', () => {
  const lines = [
    { id: 'L1', quantity: 1 },
    { id: 'L2', quantity: 2 },
  ];

  test('one delivered, one in transit: only the delivered shipment’s items', () => {
    const o = order({ lines, shipments: [delivered('S1', 1, [['L1', 1]]), inTransit('S2', [['L2', 2]])] });
    const { by, flows } = run(o);
    for (const f of flows) assert.equal(f.reason_code, null, f.flow);
    for (const flow of [...ITEM_FLOWS, 'not_received', 'return'] as const) {
      assert.deepEqual(itemsOf(by[flow]), [['L1', 1]], flow);
      assert.deepEqual(by[flow].items[0].shipments, [{ shipment_id: 'S1', max_quantity: 1 }], flow);
    }
  });

  test('one delivered, one stuck: not_received offers both shipments, defective only the delivered one', () => {
    const o = order({
      lines,
      shipments: [delivered('S1', 1, [['L1', 1]]), inTransit('S2', [['L2', 2]], true)],
    });
    const { by } = run(o);
    assert.deepEqual(itemsOf(by.not_received), [
      ['L1', 1],
      ['L2', 2],
    ]);
    assert.deepEqual(itemsOf(by.defective), [['L1', 1]]);
  });

  test('only the stuck shipment’s items for not_received when nothing is delivered', () => {
    const o = order({ lines, shipments: [inTransit('S1', [['L1', 1]]), inTransit('S2', [['L2', 2]], true)] });
    const { by } = run(o);
    assert.deepEqual(itemsOf(by.not_received), [['L2', 2]]);
    assert.deepEqual(by.not_received.items[0].shipments, [{ shipment_id: 'S2', max_quantity: 2 }]);
  });

  test('a line split across a delivered and an in-transit shipment: only the delivered units', () => {
    const o = order({
      lines: [{ id: 'L1', quantity: 3 }],
      shipments: [delivered('S1', 1, [['L1', 2]]), inTransit('S2', [['L1', 1]])],
    });
    const { by } = run(o);
    assert.deepEqual(itemsOf(by.defective), [['L1', 2]]);
    assert.deepEqual(by.defective.items[0].shipments, [{ shipment_id: 'S1', max_quantity: 2 }]);
  });

  test('a line split across two delivered shipments: units add up, per shipment as well', () => {
    const o = order({
      lines: [{ id: 'L1', quantity: 3 }],
      shipments: [delivered('S1', 3, [['L1', 2]]), delivered('S2', 1, [['L1', 1]])],
    });
    const { by } = run(o);
    assert.deepEqual(itemsOf(by.defective), [['L1', 3]]);
    assert.deepEqual(by.defective.items[0].shipments, [
      { shipment_id: 'S1', max_quantity: 2 },
      { shipment_id: 'S2', max_quantity: 1 },
    ]);
  });

  test('a split line: claims count per shipment and per line', () => {
    const o = order({
      lines: [{ id: 'L1', quantity: 3 }],
      shipments: [delivered('S1', 3, [['L1', 2]]), delivered('S2', 1, [['L1', 1]])],
    });
    const one = run(o, { claimed: [{ line_item_id: 'L1', shipment_id: 'S1', quantity: 1 }] }).by.defective;
    assert.deepEqual(itemsOf(one), [['L1', 2]]);
    assert.deepEqual(one.items[0].shipments, [
      { shipment_id: 'S1', max_quantity: 1 },
      { shipment_id: 'S2', max_quantity: 1 },
    ]);
    const s2 = run(o, { claimed: [{ line_item_id: 'L1', shipment_id: 'S2', quantity: 1 }] }).by.defective;
    assert.deepEqual(itemsOf(s2), [['L1', 2]]);
    assert.deepEqual(s2.items[0].shipments, [{ shipment_id: 'S1', max_quantity: 2 }]);
  });

  test('a split line with a refund: the line total caps the sum of the shipments', () => {
    const o = order({
      lines: [{ id: 'L1', quantity: 2, refunded: 1 }],
      shipments: [delivered('S1', 3, [['L1', 1]]), delivered('S2', 1, [['L1', 1]])],
    });
    const f = run(o).by.defective;
    assert.deepEqual(itemsOf(f), [['L1', 1]]);
    for (const s of f.items[0].shipments) assert.ok(s.max_quantity <= 1);
  });

  test('a split line where one shipment is outside the window: only the recent shipment’s units', () => {
    const o = order({
      lines: [{ id: 'L1', quantity: 3 }],
      shipments: [delivered('S1', 40, [['L1', 2]]), delivered('S2', 5, [['L1', 1]])],
    });
    const { by } = run(o);
    assert.deepEqual(itemsOf(by.defective), [['L1', 1]]);
    assert.deepEqual(by.defective.items[0].shipments, [{ shipment_id: 'S2', max_quantity: 1 }]);
  });

  test('claims on the delivered shipment leave the in-transit units untouched for later', () => {
    const o = order({
      lines: [{ id: 'L1', quantity: 3 }],
      shipments: [delivered('S1', 1, [['L1', 2]]), inTransit('S2', [['L1', 1]])],
    });
    const claimed = [{ line_item_id: 'L1', shipment_id: 'S1', quantity: 2 }];
    // Not "already claimed": the unit on its way is not, and becomes claimable once delivered.
    assert.equal(run(o, { claimed }).by.defective.reason_code, 'not_delivered');
    // The second parcel arrives: its unit becomes claimable.
    const later = order({
      lines: [{ id: 'L1', quantity: 3 }],
      shipments: [delivered('S1', 1, [['L1', 2]]), delivered('S2', 0, [['L1', 1]])],
    });
    const f = run(later, { claimed }).by.defective;
    assert.deepEqual(itemsOf(f), [['L1', 1]]);
    assert.deepEqual(f.items[0].shipments, [{ shipment_id: 'S2', max_quantity: 1 }]);
  });
});

describe('the reason given when the delivered parcels offer nothing more', () => {
  // Order 1005 of the demo: the lamp arrived (and was claimed), the bulbs are still on their way.
  const split = () =>
    order({
      lines: [
        { id: 'L1', quantity: 1 },
        { id: 'L2', quantity: 2 },
      ],
      shipments: [delivered('S1', 1, [['L1', 1]]), inTransit('S2', [['L2', 2]])],
    });
  const lamp = [{ line_item_id: 'L1', shipment_id: 'S1', quantity: 1 }];

  test('delivered items all claimed, others on their way: not_delivered, not already_claimed', () => {
    const { by } = run(split(), { claimed: lamp });
    for (const flow of ['defective', 'not_received', 'missing_item', 'wrong_item', 'return', 'dissatisfied'])
      assert.equal(by[flow as Flow].reason_code, 'not_delivered', flow);
    assert.equal(by.support.reason_code, null);
  });

  test('every unit claimed, delivered or not: already_claimed', () => {
    const claimed = [...lamp, { line_item_id: 'L2', shipment_id: 'S2', quantity: 2 }];
    assert.equal(run(split(), { claimed }).by.defective.reason_code, 'already_claimed');
  });

  test('the delivered parcel is outside the window, another is on its way: not_delivered', () => {
    const o = order({
      lines: [
        { id: 'L1', quantity: 1 },
        { id: 'L2', quantity: 1 },
      ],
      shipments: [delivered('S1', 40, [['L1', 1]]), inTransit('S2', [['L2', 1]])],
    });
    const { by } = run(o);
    assert.equal(by.defective.reason_code, 'not_delivered');
    assert.equal(by.return.reason_code, 'not_delivered');
  });

  test('outside the window with nothing else on its way: still outside_claim_window', () => {
    const o = order({ lines: [{ id: 'L1', quantity: 1 }], shipments: [delivered('S1', 40, [['L1', 1]])] });
    assert.equal(run(o).by.defective.reason_code, 'outside_claim_window');
  });
});

describe('window boundaries', () => {
  const at = (days: number, ms = 0) =>
    order({ lines: [{ id: 'L1', quantity: 1 }], shipments: [delivered('S1', days, [['L1', 1]], ms)] });

  test('exactly claim_window_days after delivery is still inside; a millisecond later is outside', () => {
    assert.equal(run(at(30)).by.defective.reason_code, null);
    assert.equal(run(at(30)).by.not_received.reason_code, null);
    assert.equal(run(at(30, 1)).by.defective.reason_code, 'outside_claim_window');
    assert.equal(run(at(30, 1)).by.not_received.reason_code, 'outside_claim_window');
  });

  test('exactly return_window_days after delivery is still inside; a millisecond later is outside', () => {
    const settings = settingsWith((s) => {
      s.return_window_days = 14;
    });
    assert.equal(run(at(14), { settings }).by.return.reason_code, null);
    assert.equal(run(at(14, 1), { settings }).by.return.reason_code, 'outside_return_window');
  });

  test('the window follows the clock passed in', () => {
    const o = at(0);
    const later = new Date(NOW.getTime() + 31 * DAY);
    assert.equal(run(o, { now: later }).by.defective.reason_code, 'outside_claim_window');
    assert.equal(run(o, { now: later }).by.return.reason_code, 'outside_return_window');
  });

  test('delivered just now is inside', () => {
    assert.equal(run(at(0)).by.defective.reason_code, null);
  });
});

describe('not_received offers the reasons that fit its parcels', () => {
  const lines = [
    { id: 'L1', quantity: 1 },
    { id: 'L2', quantity: 2 },
  ];
  const codes = (f: FlowEligibility) => f.reasons.map((r) => r.code);
  const cases: { name: string; shipments: ShipmentSpec[]; claimed?: ClaimedUnits[]; want: string[] }[] = [
    {
      name: 'delivered only',
      shipments: [delivered('S1', 1, [['L1', 1]])],
      want: ['delivered_not_received'],
    },
    { name: 'stuck only', shipments: [inTransit('S1', [['L1', 1]], true)], want: ['stuck_in_transit'] },
    {
      name: 'one delivered, one stuck',
      shipments: [delivered('S1', 1, [['L1', 1]]), inTransit('S2', [['L2', 2]], true)],
      want: ['delivered_not_received', 'stuck_in_transit'],
    },
    {
      name: 'the delivered parcel already claimed, one stuck',
      shipments: [delivered('S1', 1, [['L1', 1]]), inTransit('S2', [['L2', 2]], true)],
      claimed: [{ line_item_id: 'L1', shipment_id: 'S1', quantity: 1 }],
      want: ['stuck_in_transit'],
    },
    {
      name: 'the stuck parcel already claimed, one delivered',
      shipments: [delivered('S1', 1, [['L1', 1]]), inTransit('S2', [['L2', 2]], true)],
      claimed: [{ line_item_id: 'L2', shipment_id: 'S2', quantity: 2 }],
      want: ['delivered_not_received'],
    },
    {
      name: 'delivered outside the claim window, one stuck',
      shipments: [delivered('S1', 31, [['L1', 1]]), inTransit('S2', [['L2', 2]], true)],
      want: ['stuck_in_transit'],
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const { by } = run(order({ lines, shipments: c.shipments }), { claimed: c.claimed });
      assert.equal(by.not_received.available, true);
      assert.deepEqual(codes(by.not_received), c.want);
    });

  test('reasons the merchant added are always offered; other flows keep all theirs', () => {
    const settings = settingsWith((s) => {
      s.flows.not_received.reasons.push({ code: 'wrong_address', labels: { en: 'Sent to a wrong address' } });
    });
    const { by } = run(order({ lines, shipments: [inTransit('S1', [['L1', 1]], true)] }), { settings });
    assert.deepEqual(codes(by.not_received), ['stuck_in_transit', 'wrong_address']);
    const d = run(order({ lines, shipments: [delivered('S1', 1, [['L1', 1]])] })).by;
    assert.deepEqual(
      codes(d.defective),
      defaultResolveSettings().flows.defective.reasons.map((r) => r.code),
    );
  });
});

describe('labels, steps and resolutions', () => {
  const o = order({ lines: [{ id: 'L1', quantity: 1 }], shipments: [delivered('S1', 2, [['L1', 1]])] });

  test('reason labels in the requested language', () => {
    const { by } = run(o, { lang: 'de' });
    assert.deepEqual(by.defective.reasons[0], {
      code: 'damaged_in_transit',
      label: 'Beim Transport beschädigt',
    });
    assert.deepEqual(by.not_received.reasons, [
      { code: 'delivered_not_received', label: 'Als zugestellt markiert, aber nicht erhalten' },
    ]);
    assert.equal(run(o, { lang: 'fr' }).by.support.reasons[0].label, 'Autre');
  });

  test('English when the language is unknown, missing or has no label', () => {
    assert.equal(run(o, { lang: null }).by.defective.reasons[0].label, 'Damaged in transit');
    assert.equal(run(o, { lang: 'pt' }).by.defective.reasons[0].label, 'Damaged in transit');
    const settings = settingsWith((s) => {
      s.flows.defective.reasons = [{ code: 'scratched', labels: { en: 'Scratched', nl: 'Gekrast' } }];
      s.flows.defective.prompts = [
        {
          id: 'colour',
          type: 'choice',
          labels: { en: 'Which colour?', de: 'Welche Farbe?' },
          required: true,
          options: [
            { value: 'red', labels: { en: 'Red', de: 'Rot' } },
            { value: 'blue', labels: { en: 'Blue' } },
          ],
        },
      ];
    });
    const de = run(o, { settings, lang: 'de' }).by.defective;
    assert.deepEqual(de.reasons, [{ code: 'scratched', label: 'Scratched' }]);
    assert.deepEqual(de.steps.prompts, [
      {
        id: 'colour',
        type: 'choice',
        label: 'Welche Farbe?',
        required: true,
        options: [
          { value: 'red', label: 'Rot' },
          { value: 'blue', label: 'Blue' },
        ],
      },
    ]);
    assert.equal(run(o, { settings, lang: 'nl' }).by.defective.reasons[0].label, 'Gekrast');
    assert.equal(run(o, { settings, lang: 'fr' }).by.defective.steps.prompts[0].label, 'Which colour?');
  });

  test('labels and steps are given for unavailable flows too (the page explains them)', () => {
    const { by } = run(order({ lines: [{ id: 'L1', quantity: 1 }] }), { lang: 'de' });
    assert.equal(by.defective.available, false);
    assert.equal(by.defective.reasons.length, 4);
    assert.deepEqual(by.defective.steps.photos, { min: 1, max: 5 });
  });

  test('steps and resolutions come from the settings; drop-off permission only for not_received', () => {
    const settings = settingsWith((s) => {
      s.flows.wrong_item.photos = { min: 2, max: 3 };
      s.flows.wrong_item.resolutions = ['replacement'];
      s.returns = { mode: 'external', external_url_template: 'https://returns.example/{orderNumber}' };
    });
    const { by, flows } = run(o, { settings });
    assert.deepEqual(by.wrong_item.steps.photos, { min: 2, max: 3 });
    assert.deepEqual(by.wrong_item.resolutions, ['replacement']);
    assert.deepEqual(by.defective.steps.photos, { min: 1, max: 5 });
    for (const f of flows) {
      assert.equal(f.steps.dropoff_permission, f.flow === 'not_received', f.flow);
      assert.equal(f.steps.handoff, f.flow === 'return' ? 'external' : 'native', f.flow);
    }
  });
});
