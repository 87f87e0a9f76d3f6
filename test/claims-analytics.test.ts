import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { type ClaimOut, claimsApi, csvRecords, lineId, setTimes, shapedOrder } from './support/claims.js';
import { assertError, assertInvalidAt } from './support/http.js';

let ctx: TestContext;
before(async () => {
  ctx = await startTestApp();
});
after(() => ctx.close());

const FROM = '2026-03-01T00:00:00.000Z';
const TO = '2026-03-11T00:00:00.000Z';

interface Bucket {
  key: string | null;
  claims: number;
}
interface Analytics {
  from: string;
  to: string;
  interval: string;
  tz: string;
  totals: { claims: number; orders: number; units: number; value: { currency: string; amount: number }[] };
  series: { date: string; start: string; claims: number; orders: number }[];
  breakdowns: Record<string, (Bucket & { flow?: string })[]> & {
    product: { sku: string | null; title: string | null; claims: number; units: number }[];
  };
  products_truncated: boolean;
}

/** What the analytics should say, computed from the CSV export's rows (one per claim item). */
function fromCsv(rows: Record<string, string>[]) {
  const claims = new Map<string, Record<string, string>>();
  for (const r of rows) claims.set(r.claim_id, r);
  const orNull = (v: string) => (v === '' ? null : v);
  const group = (keyOf: (r: Record<string, string>) => string | null) => {
    const m = new Map<string | null, Set<string>>();
    for (const r of claims.values()) {
      const k = keyOf(r);
      m.set(k, (m.get(k) ?? new Set()).add(r.claim_id));
    }
    return [...m.entries()]
      .map(([key, g]) => ({ key, claims: g.size }))
      .sort((a, b) => String(a.key).localeCompare(String(b.key)));
  };
  const products = new Map<string, { sku: string | null; claims: Set<string>; units: number }>();
  let units = 0;
  for (const r of rows) {
    if (r.item_title === '') continue;
    const k = r.item_sku || `title:${r.item_title}`;
    const p = products.get(k) ?? { sku: orNull(r.item_sku), claims: new Set(), units: 0 };
    p.claims.add(r.claim_id);
    p.units += Number(r.item_quantity);
    units += Number(r.item_quantity);
    products.set(k, p);
  }
  const value = new Map<string, number>();
  for (const r of claims.values())
    value.set(r.currency, (value.get(r.currency) ?? 0) + Math.round(Number(r.claim_value) * 100));
  return {
    totals: {
      claims: claims.size,
      orders: new Set([...claims.values()].map((r) => r.order_id)).size,
      units,
      value: [...value.entries()]
        .map(([currency, amount]) => ({ currency, amount }))
        .sort((a, b) => a.currency.localeCompare(b.currency)),
    },
    breakdowns: {
      flow: group((r) => r.flow),
      reason: group((r) => `${r.flow}/${r.reason}`),
      resolution_preference: group((r) => orNull(r.resolution_preference)),
      carrier: group((r) => orNull(r.carrier)),
      country: group((r) => orNull(r.country)),
      shipment_phase: group((r) => orNull(r.shipment_phase)),
      status: group((r) => r.status),
      channel: group((r) => r.channel),
    },
    products: [...products.values()]
      .map((p) => ({ sku: p.sku, claims: p.claims.size, units: p.units }))
      .sort((a, b) => String(a.sku).localeCompare(String(b.sku))),
    /** Per UTC day: claims/distinct orders. */
    days: (() => {
      const d = new Map<string, { claims: number; orders: Set<string> }>();
      for (const r of claims.values()) {
        const day = r.created_at.slice(0, 10);
        const x = d.get(day) ?? { claims: 0, orders: new Set<string>() };
        x.claims++;
        x.orders.add(r.order_id);
        d.set(day, x);
      }
      return new Map([...d.entries()].map(([k, x]) => [k, `${x.claims}/${x.orders.size}`]));
    })(),
  };
}

/** The analytics answer in the shape fromCsv() gives (sorted by key, reasons keyed flow/reason). */
function comparable(a: Analytics) {
  const sortKey = (xs: Bucket[]) =>
    xs
      .map((x) => ({ key: x.key, claims: x.claims }))
      .sort((p, q) => String(p.key).localeCompare(String(q.key)));
  const b = a.breakdowns;
  return {
    totals: a.totals,
    breakdowns: {
      flow: sortKey(b.flow),
      reason: sortKey(b.reason.map((r) => ({ ...r, key: `${r.flow}/${r.key}` }))),
      resolution_preference: sortKey(b.resolution_preference),
      carrier: sortKey(b.carrier),
      country: sortKey(b.country),
      shipment_phase: sortKey(b.shipment_phase),
      status: sortKey(b.status),
      channel: sortKey(b.channel),
    },
    products: b.product
      .map((p) => ({ sku: p.sku, claims: p.claims, units: p.units }))
      .sort((p, q) => String(p.sku).localeCompare(String(q.sku))),
    days: new Map(a.series.filter((x) => x.claims > 0).map((x) => [x.date, `${x.claims}/${x.orders}`])),
  };
}

describe('GET /v1/shops/{slug}/analytics/claims', () => {
  let s: TestShop;
  let other: TestShop;
  const k: Record<string, ClaimOut> = {};

  before(async () => {
    s = await createTestShop(ctx.db, 'cana');
    other = await createTestShop(ctx.db, 'canab');
    const a = claimsApi(ctx.app, s);
    const oA = await a.putOrder(shapedOrder({ carrier: 'dhl', country: 'DE' }));
    const oB = await a.putOrder(shapedOrder({ carrier: 'UPS', country: 'AT' }));
    const oC = await a.putOrder(shapedOrder({ carrier: 'gls', country: 'GB', deliveredDaysAgo: null }));
    const oD = await a.putOrder(shapedOrder({ country: 'FR', deliveredDaysAgo: 'none' }));
    const oE = await a.putOrder({ ...shapedOrder({ carrier: 'dhl', country: 'CH' }), currency: 'CHF' });
    const mk = (order: typeof oA, flow: string, reason: string, items: [string, number][], extra = {}) =>
      a.create({
        order_id: order.id,
        flow,
        reason,
        items: items.map(([li, quantity]) => ({ line_item_id: lineId(order, li), quantity })),
        resolution_preference: 'refund',
        ...extra,
      });
    k.k1 = await mk(oA, 'missing_item', 'missing_from_parcel', [
      ['li-1', 2],
      ['li-2', 1],
    ]);
    k.k2 = await mk(oB, 'defective', 'broken_on_arrival', [['li-2', 1]], {
      resolution_preference: 'replacement',
    });
    k.k3 = await mk(oB, 'return', 'changed_mind', [['li-1', 1]], {
      resolution_preference: 'store_credit',
      channel: 'portal',
    });
    k.k4 = await mk(
      oC,
      'not_received',
      'stuck_in_transit',
      [
        ['li-1', 2],
        ['li-2', 1],
      ],
      { dropoff_permission: true },
    );
    k.k5 = await mk(oD, 'support', 'other', [], {
      description: 'Where is my parcel, please?',
      resolution_preference: undefined,
    });
    k.k6 = await mk(oE, 'dissatisfied', 'other', [['li-1', 1]]); // outside the range (to is exclusive)
    k.k7 = await mk(await a.putOrder(shapedOrder()), 'return', 'too_small', [['li-2', 1]]); // outside the range (before from)
    k.k8 = await mk(oE, 'dissatisfied', 'quality', [['li-2', 1]]);
    const patched = await a.patch(k.k2.id, { version: 1, status: 'accepted' });
    assert.equal(patched.statusCode, 200, patched.body);
    await setTimes(ctx.db, k.k1.id, '2026-03-01T00:00:00Z');
    await setTimes(ctx.db, k.k2.id, '2026-03-02T23:30:00Z');
    await setTimes(ctx.db, k.k3.id, '2026-03-02T10:00:00Z');
    await setTimes(ctx.db, k.k4.id, '2026-03-05T12:00:00Z');
    await setTimes(ctx.db, k.k5.id, '2026-03-10T23:59:59.999Z');
    await setTimes(ctx.db, k.k6.id, '2026-03-11T00:00:00Z');
    await setTimes(ctx.db, k.k7.id, '2026-02-28T23:59:59Z');
    await setTimes(ctx.db, k.k8.id, '2026-03-05T08:00:00Z');
    // Another shop's claim in the same range: never counted here.
    const b = claimsApi(ctx.app, other);
    const ob = await b.putOrder(shapedOrder());
    const foreign = await b.create({
      order_id: ob.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: lineId(ob, 'li-1'), quantity: 1 }],
      resolution_preference: 'refund',
    });
    await setTimes(ctx.db, foreign.id, '2026-03-03T00:00:00Z');
  });

  const get = async (q: Record<string, string>, h?: Record<string, string>) => {
    const res = await claimsApi(ctx.app, s, h ?? s.auth.viewer).analytics(q);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as Analytics;
  };

  test('daily series in UTC, zero-filled, with totals and breakdowns', async () => {
    const r = await get({ from: FROM, to: TO, interval: 'day', tz: 'UTC' });
    assert.equal(r.from, FROM);
    assert.equal(r.to, TO);
    assert.equal(r.series.length, 10);
    assert.deepEqual(
      r.series.map((x) => [x.date, x.claims, x.orders]),
      [
        ['2026-03-01', 1, 1],
        ['2026-03-02', 2, 1],
        ['2026-03-03', 0, 0],
        ['2026-03-04', 0, 0],
        ['2026-03-05', 2, 2],
        ['2026-03-06', 0, 0],
        ['2026-03-07', 0, 0],
        ['2026-03-08', 0, 0],
        ['2026-03-09', 0, 0],
        ['2026-03-10', 1, 1],
      ],
    );
    assert.equal(r.series[0].start, '2026-03-01T00:00:00Z');
    assert.deepEqual(r.totals, {
      claims: 6,
      orders: 5,
      units: 2 + 1 + 1 + 1 + 2 + 1 + 1,
      value: [
        { currency: 'CHF', amount: 999 },
        { currency: 'EUR', amount: 2 * 1999 + 999 + 999 + 1999 + 2 * 1999 + 999 },
      ],
    });
    assert.deepEqual(r.breakdowns.flow[0], { key: 'defective', claims: 1 });
    assert.deepEqual(
      r.breakdowns.carrier.map((b) => [b.key, b.claims]),
      [
        ['dhl', 2],
        ['ups', 2],
        ['gls', 1],
        [null, 1],
      ],
    );
    assert.deepEqual(
      r.breakdowns.shipment_phase.map((b) => [b.key, b.claims]),
      [
        ['delivered', 4],
        ['in_transit', 1],
        [null, 1],
      ],
    );
    assert.deepEqual(
      r.breakdowns.status.map((b) => [b.key, b.claims]),
      [
        ['pending', 5],
        ['accepted', 1],
      ],
    );
    assert.deepEqual(
      r.breakdowns.product.map((p) => [p.sku, p.title, p.claims, p.units]),
      [
        ['TEE-M', 'T-shirt', 3, 5],
        ['MUG', 'Mug', 4, 4],
      ],
    );
    assert.ok(r.breakdowns.reason.some((x) => x.key === 'other' && x.flow === 'support'));
    assert.ok(r.breakdowns.reason.some((x) => x.key === 'quality' && x.flow === 'dissatisfied'));
    assert.equal(r.products_truncated, false);
  });

  test("local days in the caller's time zone; weeks start on Monday; months", async () => {
    const berlin = await get({ from: FROM, to: TO, tz: 'Europe/Berlin' });
    assert.equal(berlin.tz, 'Europe/Berlin');
    // 23:30Z on the 2nd is the 3rd in Berlin; 23:59:59.999Z on the 10th is the 11th.
    assert.deepEqual(
      berlin.series.filter((x) => x.claims).map((x) => [x.date, x.claims]),
      [
        ['2026-03-01', 1],
        ['2026-03-02', 1],
        ['2026-03-03', 1],
        ['2026-03-05', 2],
        ['2026-03-11', 1],
      ],
    );
    assert.equal(berlin.series[0].start, '2026-02-28T23:00:00Z');
    assert.equal(berlin.series.length, 11);
    assert.equal(berlin.totals.claims, 6);

    const weeks = await get({ from: FROM, to: TO, interval: 'week', tz: 'UTC' });
    assert.deepEqual(
      weeks.series.map((x) => [x.date, x.claims]),
      [
        ['2026-02-23', 1],
        ['2026-03-02', 4],
        ['2026-03-09', 1],
      ],
    );
    for (const w of weeks.series) assert.equal(new Date(`${w.date}T00:00:00Z`).getUTCDay(), 1);
    const months = await get({
      from: '2026-02-15T00:00:00Z',
      to: '2026-04-02T00:00:00Z',
      interval: 'month',
      tz: 'UTC',
    });
    assert.deepEqual(
      months.series.map((x) => [x.date, x.claims]),
      [
        ['2026-02-01', 1],
        ['2026-03-01', 7],
        ['2026-04-01', 0],
      ],
    );
  });

  test('the same numbers as the CSV export of the same filters and range', async () => {
    const l = claimsApi(ctx.app, s, s.auth.viewer);
    for (const f of [
      {},
      { flow: 'missing_item,not_received' },
      { carrier: 'dhl,none' },
      { status: 'pending', country: 'DE,AT,FR' },
      { q: k.k2.number },
      { tag: 'nothing-has-this' },
    ] as Record<string, string>[]) {
      const csv = await l.exportCsv({ ...f, created_from: FROM, created_to: TO });
      assert.equal(csv.statusCode, 200, csv.body);
      const want = fromCsv(csvRecords(csv.body));
      const got = comparable(await get({ ...f, from: FROM, to: TO, tz: 'UTC' }));
      assert.deepEqual(got, want, JSON.stringify(f));
    }
    // And over all time (the default range is the last 30 days, so give it explicitly).
    const csv = await l.exportCsv();
    const want = fromCsv(csvRecords(csv.body));
    const got = comparable(
      await get({ from: '2000-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z', interval: 'month' }),
    );
    assert.deepEqual(got.totals, want.totals);
    assert.deepEqual(got.breakdowns, want.breakdowns);
    assert.deepEqual(got.products, want.products);
  });

  test('defaults: the last 30 days by day in the shop time zone', async () => {
    const r = await get({});
    assert.equal(r.interval, 'day');
    assert.equal(r.tz, 'UTC');
    assert.equal(r.series.length, 31);
    assert.ok(Math.abs(Date.parse(r.to) - Date.now()) < 60_000);
    assert.equal(Date.parse(r.to) - Date.parse(r.from), 30 * 86_400_000);
  });

  test('bad input is a 400 naming the field; tenancy; roles', async () => {
    const l = claimsApi(ctx.app, s, s.auth.viewer);
    assertInvalidAt(await l.analytics({ from: TO, to: FROM }), 'querystring:/to');
    assertInvalidAt(await l.analytics({ from: FROM, to: FROM }), 'querystring:/to');
    assertInvalidAt(await l.analytics({ tz: 'Mars/Olympus_Mons' }), 'querystring:/tz');
    assertInvalidAt(await l.analytics({ tz: "UTC'; drop table claims; --" }), 'querystring:/tz');
    assertInvalidAt(await l.analytics({ interval: 'year' }), 'querystring:/interval');
    assertInvalidAt(
      await l.analytics({ from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', interval: 'day' }),
      'querystring:/interval',
    );
    assertInvalidAt(await l.analytics({ from: 'last week' }), 'querystring:/from');
    assertInvalidAt(await l.analytics({ created_from: FROM }), 'querystring:/created_from');
    assertInvalidAt(await l.analytics({ status: 'open' }), 'querystring:/status');
    assertInvalidAt(await l.analytics({ sort: 'created_at' }), 'querystring:/sort');
    // 5 years by month is fine.
    assert.equal(
      (await l.analytics({ from: '2021-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', interval: 'month' }))
        .statusCode,
      200,
    );
    assertError(await claimsApi(ctx.app, s, other.auth.admin).analytics(), 404, 'shop_not_found');
    assertError(await claimsApi(ctx.app, s, { authorization: 'Bearer x' }).analytics(), 401, 'unauthorized');
    const theirs = await get({ from: FROM, to: TO, tz: 'UTC' }, undefined);
    assert.equal(theirs.totals.claims, 6, 'the other shop’s claim on the 3rd is not counted');
    const res = await claimsApi(ctx.app, other, other.auth.viewer).analytics({
      from: FROM,
      to: TO,
      tz: 'UTC',
    });
    assert.equal(res.json().totals.claims, 1);
  });
});
