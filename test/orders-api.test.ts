import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { shops } from '../src/db/schema.js';
import type { OrderInputT } from '../src/orders/document.js';
import { createTestShop, startTestApp, type TestContext } from './support/app.js';
import { assertError, assertInvalidAt, countOrders, daysAgo, ordersApi } from './support/http.js';
import { orderDoc } from './support/orders.js';

let ctx: TestContext;
before(async () => {
  ctx = await startTestApp();
});
after(() => ctx.close());

async function freshShop() {
  const shop = await createTestShop(ctx.db, 'orders');
  return { shop, api: ordersApi(ctx.app, shop.slug, shop.auth.editor) };
}

type Line = OrderInputT['line_items'][number];
type Shipment = NonNullable<OrderInputT['shipments']>[number];

const line = (external_id: string, quantity: number, extra: Partial<Line> = {}): Line => ({
  external_id,
  sku: `SKU-${external_id}`,
  title: `Item ${external_id}`,
  quantity,
  unit_price: 1000,
  ...extra,
});

const shipment = (
  external_id: string,
  lines: [string, number][],
  events: Shipment['events'] = [],
  extra: Partial<Shipment> = {},
): Shipment => ({
  external_id,
  carrier: 'dhl',
  tracking_number: `TRK-${external_id}`,
  line_items: lines.map(([id, quantity]) => ({ external_id: id, quantity })),
  events,
  ...extra,
});

const ev = (time: string, code: string, phase: string | null = null) =>
  ({ time, code, phase }) as NonNullable<Shipment['events']>[number];

describe('upsert', () => {
  test('re-sending the same document changes nothing', async () => {
    const { api } = await freshShop();
    const doc = orderDoc();
    const created = await api.put(doc);
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.headers['resolve-upsert'], 'created');
    const body = created.json();
    assert.match(body.id, /^ord_[0-9a-z]{26}$/);
    assert.equal(body.external_id, doc.external_id);
    assert.equal(body.order_number, doc.order_number);
    assert.equal(body.currency, 'EUR');
    assert.deepEqual(body.totals, doc.totals);
    assert.deepEqual(
      body.line_items.map((l: { external_id: string }) => l.external_id),
      ['li-1', 'li-2'],
    );

    for (let i = 0; i < 2; i++) {
      const again = await api.put(doc);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.headers['resolve-upsert'], 'unchanged');
      assert.deepEqual(again.json(), body);
    }
    const read = await api.get(body.id);
    assert.equal(read.statusCode, 200);
    assert.deepEqual(read.json(), body);
  });

  test('a changed document updates in place: stable line and shipment ids, removed parts disappear', async () => {
    const { api } = await freshShop();
    const doc = orderDoc({
      line_items: [line('a', 2), line('b', 1), line('c', 1)],
      shipments: [
        shipment('s1', [['a', 2]], [ev(daysAgo(2), 'picked_up')]),
        shipment('s2', [['b', 1]], [ev(daysAgo(1), 'picked_up')]),
      ],
    });
    const first = (await api.put(doc)).json();
    const liId = (ext: string) =>
      first.line_items.find((l: { external_id: string }) => l.external_id === ext).id;
    assert.equal(first.shipments.length, 2);
    assert.equal(first.state, 'partially_fulfilled');

    const changed = {
      ...doc,
      tags: ['vip', 'changed'],
      line_items: [line('b', 1, { title: 'Renamed' }), line('a', 2, { unit_price: 1500 }), line('d', 3)],
      shipments: [shipment('s1', [['a', 2]], [ev(daysAgo(2), 'picked_up')])],
    };
    const res = await api.put(changed);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['resolve-upsert'], 'updated');
    const updated = res.json();
    assert.equal(updated.id, first.id);
    assert.equal(updated.created_at, first.created_at);
    assert.ok(Date.parse(updated.updated_at) > Date.parse(first.updated_at), 'updated_at moves on update');
    assert.deepEqual(updated.tags, ['vip', 'changed']);
    // Order of the document is kept; ids of lines that stayed are the same.
    assert.deepEqual(
      updated.line_items.map((l: { external_id: string }) => l.external_id),
      ['b', 'a', 'd'],
    );
    const byExt = Object.fromEntries(
      updated.line_items.map((l: { external_id: string }) => [l.external_id, l]),
    );
    assert.equal(byExt.a.id, liId('a'));
    assert.equal(byExt.b.id, liId('b'));
    assert.equal(byExt.a.unit_price, 1500);
    assert.equal(byExt.b.title, 'Renamed');
    assert.notEqual(byExt.d.id, liId('c'));
    assert.equal(byExt.d.quantity_fulfilled, 0);
    assert.equal(byExt.b.quantity_fulfilled, 0, 'the shipment carrying b was removed');
    assert.deepEqual(
      updated.shipments.map((s: { id: string }) => s.id),
      [first.shipments[0].id],
    );

    const read = (await api.get(first.id)).json();
    assert.deepEqual(read, updated);
    assert.equal((await api.put(changed)).headers['resolve-upsert'], 'unchanged');
  });

  test('matched by external_id: the order number can change', async () => {
    const { shop, api } = await freshShop();
    const doc = orderDoc({ order_number: 'OLD-1' });
    const first = (await api.put(doc)).json();
    const res = await api.put({ ...doc, order_number: 'NEW-1' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['resolve-upsert'], 'updated');
    assert.equal(res.json().id, first.id);
    assert.equal(res.json().order_number, 'NEW-1');
    assert.equal((await api.search({ order_number: 'OLD-1' })).json().data.length, 0);
    assert.equal((await api.search({ order_number: 'NEW-1' })).json().data[0].id, first.id);
    assert.equal(await countOrders(ctx.db, shop.shop.id), 1);
  });

  test('a document without external_id updates the order with the same (normalised) number', async () => {
    const { shop, api } = await freshShop();
    const doc = orderDoc({ order_number: 'N-77' });
    const first = (await api.put(doc)).json();
    const res = await api.put({ ...doc, external_id: undefined, order_number: ' #n-77 ', tags: ['x'] });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['resolve-upsert'], 'updated');
    assert.equal(res.json().id, first.id);
    assert.deepEqual(res.json().tags, ['x']);
    assert.equal(await countOrders(ctx.db, shop.shop.id), 1);
  });

  test('a document with external_id adopts an order stored without one', async () => {
    const { shop, api } = await freshShop();
    const doc = orderDoc({ external_id: null, order_number: 'ADOPT-1' });
    const first = await api.put(doc);
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.json().external_id, null);
    const res = await api.put({ ...doc, external_id: 'platform-991' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['resolve-upsert'], 'updated');
    assert.equal(res.json().id, first.json().id);
    assert.equal(res.json().external_id, 'platform-991');
    const byExt = await api.get('platform-991');
    assert.equal(byExt.statusCode, 200);
    assert.equal(byExt.json().id, first.json().id);
    assert.equal(await countOrders(ctx.db, shop.shop.id), 1);
  });

  test('external_id of one order with the number of another → 409 order_exists, nothing changes', async () => {
    const { api } = await freshShop();
    const a = (await api.put(orderDoc({ order_number: 'A-1' }))).json();
    const bDoc = orderDoc({ order_number: 'B-1' });
    const b = (await api.put(bDoc)).json();
    assertError(await api.put({ ...bDoc, order_number: '#a-1' }), 409, 'order_exists');
    assert.deepEqual((await api.get(a.id)).json(), a);
    assert.deepEqual((await api.get(b.id)).json(), b);
  });

  test('concurrent pushes of the same new order create it once and never fail with 500', async () => {
    const { shop, api } = await freshShop();
    const doc = orderDoc();
    const answers = await Promise.all(Array.from({ length: 8 }, () => api.put(doc)));
    for (const r of answers) assert.ok([200, 201, 409].includes(r.statusCode), `${r.statusCode} ${r.body}`);
    assert.equal(answers.filter((r) => r.statusCode === 201).length, 1);
    for (const r of answers.filter((x) => x.statusCode === 409)) assertError(r, 409, 'order_exists');
    assert.equal(await countOrders(ctx.db, shop.shop.id), 1);
    const retry = await api.put(doc);
    assert.equal(retry.headers['resolve-upsert'], 'unchanged');
  });
});

describe('search', () => {
  let api: ReturnType<typeof ordersApi>;
  const ids: Record<string, string> = {};
  before(async () => {
    ({ api } = await freshShop());
    const docs: Record<string, OrderInputT> = {
      t123: orderDoc({
        order_number: 'T123',
        placed_at: '2026-01-10T10:00:00Z',
        customer: { email: 'Kim.Berg@Example.COM', first_name: 'Kim' },
        shipping_address: { zip_code: 'SW1A 1AA', country_code: 'GB', city: 'London' },
      }),
      t124: orderDoc({
        order_number: '#T124',
        placed_at: '2026-02-10T10:00:00Z',
        customer: { email: 'other@example.com' },
        shipping_address: { zip_code: '10115', country_code: 'DE' },
      }),
      t125: orderDoc({
        order_number: 'T125',
        placed_at: '2026-03-10T10:00:00Z',
        customer: { email: 'kim.berg@example.com' },
        shipping_address: { zip_code: 'sw1a1aa', country_code: 'GB' },
      }),
    };
    for (const [k, doc] of Object.entries(docs)) {
      const r = await api.put(doc);
      assert.equal(r.statusCode, 201, r.body);
      ids[k] = r.json().id;
    }
  });
  const found = async (q: Record<string, string | number>) => {
    const r = await api.search(q);
    assert.equal(r.statusCode, 200, r.body);
    return r.json().data.map((o: { id: string }) => o.id);
  };

  test('order_number is matched normalised (#, case, spaces)', async () => {
    for (const q of ['T123', '#T123', ' t123 ', '#t123', '##T123']) {
      assert.deepEqual(await found({ order_number: q }), [ids.t123], q);
    }
    assert.deepEqual(await found({ order_number: 't124' }), [ids.t124], 'stored with a #, found without');
    assert.deepEqual(await found({ order_number: 'T12' }), [], 'no prefix matching');
  });

  test('zip_code ignores case, spaces and dashes', async () => {
    const both = [ids.t125, ids.t123]; // newest first
    for (const q of ['SW1A 1AA', 'sw1a-1aa', 'sw1a1aa', ' SW1A  1AA ']) {
      assert.deepEqual(await found({ zip_code: q }), both, q);
    }
    assert.deepEqual(await found({ zip_code: '10115' }), [ids.t124]);
    assert.deepEqual(await found({ zip_code: 'SW1A 1AB' }), []);
    assert.deepEqual(await found({ zip_code: 'sw1a 1aa', order_number: '#t123' }), [ids.t123]);
    assert.deepEqual(
      await found({ zip_code: '10115', order_number: 'T123' }),
      [],
      'filters combine with AND',
    );
  });

  test('email is matched case-insensitively', async () => {
    const both = [ids.t125, ids.t123];
    assert.deepEqual(await found({ email: 'kim.berg@example.com' }), both);
    assert.deepEqual(await found({ email: 'KIM.BERG@EXAMPLE.COM' }), both);
    assert.deepEqual(await found({ email: 'OTHER@example.com' }), [ids.t124]);
    assert.deepEqual(await found({ email: 'kim@example.com' }), []);
  });

  test('placed_from / placed_to bound the placement date (inclusive)', async () => {
    assert.deepEqual(await found({ placed_from: '2026-02-01T00:00:00Z' }), [ids.t125, ids.t124]);
    assert.deepEqual(await found({ placed_to: '2026-02-28T00:00:00Z' }), [ids.t124, ids.t123]);
    assert.deepEqual(
      await found({ placed_from: '2026-02-10T10:00:00Z', placed_to: '2026-02-10T10:00:00Z' }),
      [ids.t124],
    );
    assert.deepEqual(
      await found({ placed_from: '2026-02-10T10:00:00.001Z', placed_to: '2026-03-10T09:59:59Z' }),
      [],
    );
    assertInvalidAt(await api.search({ placed_from: 'yesterday' }), 'querystring:/placed_from');
  });
});

describe('pagination', () => {
  let api: ReturnType<typeof ordersApi>;
  let all: string[] = [];
  before(async () => {
    ({ api } = await freshShop());
    // Imported in an order that is not the shops' (a backfill reads the newest first); two share an instant.
    const placed = [
      '2026-03-01T10:00:00Z',
      '2026-05-01T10:00:00Z',
      '2026-01-01T10:00:00Z',
      '2026-04-01T10:00:00.250Z',
      '2026-04-01T10:00:00Z',
      '2026-04-01T10:00:00Z',
      '2026-02-01T10:00:00Z',
    ];
    const r = await api.bulk(placed.map((placed_at) => orderDoc({ placed_at })));
    assert.equal(r.statusCode, 200, r.body);
    const created = r.json().data.map((x: { id: string }, k: number) => ({ id: x.id, at: placed[k] }));
    assert.equal(new Set(created.map((c: { id: string }) => c.id)).size, 7);
    // Newest placed first; the same instant by id, highest first.
    all = [...created]
      .sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || (a.id < b.id ? 1 : -1))
      .map((c) => c.id);
  });

  test('by page: page and per_page in the answer, has_more, newest placed first', async () => {
    const pages: string[][] = [];
    for (let page = 1; page <= 3; page++) {
      const r = await api.search({ page, per_page: 3 });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.equal(body.page, page);
      assert.equal(body.per_page, 3);
      assert.equal(body.has_more, page < 3);
      pages.push(body.data.map((o: { id: string }) => o.id));
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [3, 3, 1],
    );
    const flat = pages.flat();
    assert.deepEqual(flat, all, 'every order once, newest placed_at first, then highest id');
    const beyond = (await api.search({ page: 4, per_page: 3 })).json();
    assert.deepEqual(beyond.data, []);
    assert.equal(beyond.has_more, false);
  });

  test('by cursor: next_cursor walks every row once, has_more false at the end', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let calls = 0;
    do {
      const q: Record<string, string | number> = { per_page: 2 };
      if (cursor) q.cursor = cursor;
      const r = await api.search(q);
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.equal(body.page, undefined, 'no page fields when paging by cursor');
      assert.equal(body.per_page, undefined);
      seen.push(...body.data.map((o: { id: string }) => o.id));
      assert.equal(body.has_more, body.next_cursor !== null);
      cursor = body.next_cursor;
      assert.ok(++calls <= 4, 'terminates');
    } while (cursor);
    assert.equal(calls, 4);
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    assert.deepEqual(seen, all);
  });

  test('a cursor of the version that listed by id (a bare order id) continues from that order', async () => {
    const old = Buffer.from(all[2]).toString('base64url');
    const r = await api.search({ per_page: 10, cursor: old });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(
      r.json().data.map((o: { id: string }) => o.id),
      all.slice(3),
    );
    const forged = (raw: unknown) => Buffer.from(JSON.stringify(raw)).toString('base64url');
    for (const bad of [
      ['2026-02-30T10:00:00.000000Z', all[0]],
      ['2026-02-01T10:00:00Z', all[0]],
      ['2026-02-01T10:00:00.000000Z', 'clm_0000000000000000000000000a'],
      ['2026-02-01T10:00:00.000000Z'],
    ])
      assertInvalidAt(await api.search({ cursor: forged(bad) }), 'querystring:/cursor');
  });

  test('default page size 25, per_page max 100, bad paging params → 400', async () => {
    const r = await api.search();
    assert.equal(r.json().data.length, 7);
    assert.equal(r.json().has_more, false);
    assert.equal(r.json().next_cursor, null);
    assert.equal((await api.search({ per_page: 100 })).statusCode, 200);
    assertInvalidAt(await api.search({ per_page: 101 }), 'querystring:/per_page');
    assertInvalidAt(await api.search({ per_page: 0 }), 'querystring:/per_page');
    assertInvalidAt(await api.search({ page: 0 }), 'querystring:/page');
    assertInvalidAt(await api.search({ per_page: 'ten' }), 'querystring:/per_page');
    assertInvalidAt(await api.search({ cursor: 'not-a-cursor' }), 'querystring:/cursor');
    const first = (await api.search({ per_page: 2 })).json();
    assertInvalidAt(await api.search({ page: 2, cursor: first.next_cursor }), 'querystring:/cursor');
    assertInvalidAt(await api.search({ colour: 'red' }), 'querystring:/colour');
  });
});

describe('get', () => {
  test('by Resolve id and by external_id; unknown → 404 order_not_found', async () => {
    const { api } = await freshShop();
    const doc = orderDoc({ external_id: 'gid://shopify/Order/5123' });
    const created = (await api.put(doc)).json();
    const byId = await api.get(created.id);
    assert.equal(byId.statusCode, 200);
    assert.deepEqual(byId.json(), created);
    const byExt = await api.get('gid://shopify/Order/5123');
    assert.equal(byExt.statusCode, 200);
    assert.equal(byExt.json().id, created.id);
    assertError(await api.get('ord_00000000000000000000000000'), 404, 'order_not_found');
    assertError(await api.get('gid://shopify/Order/5124'), 404, 'order_not_found');
    assertError(await api.get(doc.order_number), 404, 'order_not_found');
  });

  test('an id that is both one order’s Resolve id and another’s external_id finds the first', async () => {
    const { api } = await freshShop();
    const a = (await api.put(orderDoc({ order_number: 'ALIAS-A' }))).json();
    const b = (await api.put(orderDoc({ order_number: 'ALIAS-B', external_id: a.id }))).json();
    assert.notEqual(b.id, a.id);
    // Both rows match a.id; which one the database meets first is up to its plan, so the lookup orders by it.
    for (let i = 0; i < 3; i++) assert.equal((await api.get(a.id)).json().id, a.id, 'the Resolve id wins');
    assert.equal((await api.get(b.id)).json().id, b.id);
  });
});

describe('bulk', () => {
  test('mixed batch: per-item results in input order, correct summary, valid ones stored', async () => {
    const { shop, api } = await freshShop();
    const x = orderDoc({ order_number: 'X-1' });
    const y = orderDoc({ order_number: 'Y-1' });
    const z = orderDoc({ order_number: 'Z-1' });
    for (const d of [x, y, z]) assert.equal((await api.put(d)).statusCode, 201);
    const storedX = (await api.get(x.external_id!)).json();

    const fresh = orderDoc({ order_number: 'NEW-1' });
    const negative = orderDoc({ order_number: 'BAD-1' });
    negative.line_items[0].unit_price = -1;
    const conflict = orderDoc({ order_number: '#x-1' }); // another external_id
    const changedZ = { ...z, tags: ['changed'] };
    const badCurrency = orderDoc({ order_number: 'BAD-2', currency: 'XYZ' });
    const dupOfFresh = { ...fresh, order_number: 'NEW-2' }; // same external_id as `fresh`
    const notAnOrder = { hello: 'world' };

    const r = await api.bulk([fresh, negative, conflict, y, changedZ, badCurrency, dupOfFresh, notAnOrder]);
    assert.equal(r.statusCode, 200, r.body);
    const { data, summary } = r.json();
    assert.deepEqual(
      data.map((d: { index: number }) => d.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.deepEqual(
      data.map((d: { status: string; error?: { key: string } }) => d.error?.key ?? d.status),
      [
        'created',
        'validation_failed',
        'order_exists',
        'unchanged',
        'updated',
        'validation_failed',
        'duplicate_in_request',
        'validation_failed',
      ],
    );
    for (const d of data) {
      if (d.error) assert.equal(d.status, 'error');
      else assert.match(d.id, /^ord_/);
    }
    assert.deepEqual(summary, { created: 1, updated: 1, unchanged: 1, stale: 0, failed: 5 });
    assert.equal(data[0].order_number, 'NEW-1');
    assert.equal(data[1].order_number, 'BAD-1');
    assert.equal(data[7].order_number, null);
    assert.ok(
      data[1].error.errors.some((e: { path: string }) => e.path === '/orders/1/line_items/0/unit_price'),
    );
    assert.ok(data[5].error.errors.some((e: { path: string }) => e.path === '/orders/5/currency'));
    assert.ok(data[7].error.errors.some((e: { path: string }) => e.path === '/orders/7/hello'));
    assert.ok(data[7].error.errors.some((e: { path: string }) => e.path === '/orders/7/order_number'));

    const created = await api.get(fresh.external_id!);
    assert.equal(created.statusCode, 200);
    assert.equal(created.json().id, data[0].id);
    assert.equal(created.json().order_number, 'NEW-1', 'the first of the duplicates wins');
    assert.deepEqual((await api.get(z.external_id!)).json().tags, ['changed']);
    assert.deepEqual((await api.get(x.external_id!)).json(), storedX, 'the conflicting doc changed nothing');
    for (const n of ['bad-1', 'bad-2', 'new-2'])
      assert.equal(await countOrders(ctx.db, shop.shop.id, n), 0, n);
    assert.equal(await countOrders(ctx.db, shop.shop.id), 4);
  });

  test('the same order twice in one request (by number, or by number and external_id) → duplicate_in_request', async () => {
    const { shop, api } = await freshShop();
    const stored = orderDoc({ order_number: 'S-1' });
    const storedId = (await api.put(stored)).json().id;

    const a = orderDoc({ order_number: 'D-1' });
    const sameNumber = orderDoc({ order_number: '#d-1' });
    // Both of these target the stored order: one by external_id (renaming it), one by its old number.
    const renamed = { ...stored, order_number: 'S-2' };
    const byOldNumber = { ...stored, external_id: null, tags: ['other'] };
    const r = await api.bulk([a, sameNumber, renamed, byOldNumber]);
    assert.equal(r.statusCode, 200, r.body);
    const { data, summary } = r.json();
    assert.deepEqual(
      data.map((d: { status: string; error?: { key: string } }) => d.error?.key ?? d.status),
      ['created', 'duplicate_in_request', 'updated', 'duplicate_in_request'],
    );
    assert.deepEqual(summary, { created: 1, updated: 1, unchanged: 0, stale: 0, failed: 2 });
    assert.equal(data[2].id, storedId);
    const read = (await api.get(storedId)).json();
    assert.equal(read.order_number, 'S-2');
    assert.deepEqual(read.tags, stored.tags);
    assert.equal(await countOrders(ctx.db, shop.shop.id), 2);
  });

  test('1,001 orders → 400 validation_failed, nothing stored; an empty list → 400', async () => {
    const { shop, api } = await freshShop();
    const docs = Array.from({ length: 1001 }, (_, i) => orderDoc({ order_number: `MANY-${i}` }));
    assertInvalidAt(await api.bulk(docs), '/orders');
    assert.equal(await countOrders(ctx.db, shop.shop.id), 0);
    assertInvalidAt(await api.bulk([]), '/orders');
    const ok = await api.bulk(docs.slice(0, 1000));
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().summary.created, 1000);
    assert.equal(await countOrders(ctx.db, shop.shop.id), 1000);
  });
});

describe('shipment events', () => {
  test('a delivered event moves the phase; re-posting adds nothing; a re-push keeps the events', async () => {
    const { api } = await freshShop();
    const pickedUp = daysAgo(3);
    const doc = orderDoc({
      line_items: [line('a', 1)],
      shipments: [shipment('f-1', [['a', 1]], [ev(pickedUp, 'picked_up', 'in_transit')])],
    });
    const order = (await api.put(doc)).json();
    const shp = order.shipments[0];
    assert.equal(shp.phase, 'in_transit');
    assert.equal(shp.delivered_at, null);

    const deliveredAt = daysAgo(1);
    const delivered = {
      time: deliveredAt,
      code: 'delivered',
      phase: 'delivered',
      description: 'Handed to resident',
      location: 'Berlin',
    };
    const r = await api.events(order.id, 'f-1', [delivered]);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().added, 1);
    const s = r.json().shipment;
    assert.equal(s.id, shp.id);
    assert.equal(s.phase, 'delivered');
    assert.equal(s.delivered_at, deliveredAt);
    assert.equal(s.last_event_at, deliveredAt);
    assert.equal(s.stuck, false);
    assert.deepEqual(
      s.events.map((e: { code: string }) => e.code),
      ['picked_up', 'delivered'],
    );
    assert.equal(s.events[1].description, 'Handed to resident');

    const afterEvent = (await api.get(order.id)).json();
    assert.deepEqual(afterEvent.shipments[0], s);
    assert.ok(Date.parse(afterEvent.updated_at) > Date.parse(order.updated_at));

    // Same event again (by Resolve shipment id and by external order id): nothing added.
    const again = await api.events(doc.external_id!, shp.id, [delivered]);
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().added, 0);
    assert.deepEqual(again.json().shipment, s);

    // An older scan arriving late does not undo the delivery.
    const late = await api.events(order.id, shp.id, [
      delivered,
      { time: daysAgo(2), code: 'out_for_delivery' },
    ]);
    assert.equal(late.json().added, 1);
    assert.equal(late.json().shipment.phase, 'delivered');
    assert.equal(late.json().shipment.delivered_at, deliveredAt);
    assert.equal(late.json().shipment.events.length, 3);

    const repush = await api.put(doc);
    assert.equal(repush.statusCode, 200, repush.body);
    assert.equal(repush.headers['resolve-upsert'], 'unchanged');
    assert.equal(repush.json().shipments[0].phase, 'delivered');
    assert.equal(repush.json().shipments[0].events.length, 3);

    // A changed document (without the added events) keeps them and the phase they imply.
    const changed = await api.put({ ...doc, tags: ['changed'] });
    assert.equal(changed.headers['resolve-upsert'], 'updated');
    const cs = changed.json().shipments[0];
    assert.equal(cs.id, shp.id);
    assert.equal(cs.phase, 'delivered');
    assert.equal(cs.delivered_at, deliveredAt);
    assert.deepEqual(
      cs.events.map((e: { code: string }) => e.code),
      ['picked_up', 'out_for_delivery', 'delivered'],
    );
  });

  test('unknown shipment → 404 shipment_not_found; unknown order → 404 order_not_found', async () => {
    const { api } = await freshShop();
    const order = (await api.put(orderDoc())).json();
    const e = [{ time: daysAgo(0), code: 'delivered' }];
    assertError(await api.events(order.id, 'f-404', e), 404, 'shipment_not_found');
    assertError(await api.events(order.id, 'shp_00000000000000000000000000', e), 404, 'shipment_not_found');
    assertError(await api.events('ord_00000000000000000000000000', 'f-1', e), 404, 'order_not_found');
    assertInvalidAt(await api.events(order.id, 'f-1', []), '/events');
    assertInvalidAt(await api.events(order.id, 'f-1', [{ time: 'now', code: 'x' }]), '/events/0/time');
    const read = (await api.get(order.id)).json();
    assert.deepEqual(read, order, 'nothing changed');
  });
});

describe('derived fields', () => {
  test('state placed / partially_fulfilled / fulfilled / cancelled and quantity_fulfilled', async () => {
    const { api } = await freshShop();
    const lines = [line('a', 2), line('b', 1)];

    const placed = (await api.put(orderDoc({ line_items: lines, shipments: [] }))).json();
    assert.equal(placed.state, 'placed');
    assert.equal(placed.cancelled_at, null);
    assert.deepEqual(
      placed.line_items.map((l: { quantity_fulfilled: number }) => l.quantity_fulfilled),
      [0, 0],
    );

    const partial = (
      await api.put(orderDoc({ line_items: lines, shipments: [shipment('s1', [['a', 1]])] }))
    ).json();
    assert.equal(partial.state, 'partially_fulfilled');
    assert.deepEqual(
      partial.line_items.map((l: { quantity_fulfilled: number }) => l.quantity_fulfilled),
      [1, 0],
    );
    assert.equal(partial.shipments[0].phase, 'order_processed', 'a shipment without events');
    assert.equal(partial.shipments[0].stuck, false, 'just created');

    const full = (
      await api.put(
        orderDoc({
          line_items: lines,
          shipments: [
            shipment('s1', [['a', 1]]),
            shipment('s2', [
              ['a', 1],
              ['b', 1],
            ]),
          ],
        }),
      )
    ).json();
    assert.equal(full.state, 'fulfilled');
    assert.deepEqual(
      full.line_items.map((l: { quantity_fulfilled: number }) => l.quantity_fulfilled),
      [2, 1],
    );
    assert.deepEqual(full.shipments[1].line_items, [
      { line_item_id: full.line_items[0].id, external_id: 'a', quantity: 1 },
      { line_item_id: full.line_items[1].id, external_id: 'b', quantity: 1 },
    ]);

    const cancelledDoc = orderDoc({
      line_items: lines,
      shipments: [],
      cancelled_at: '2026-11-21T10:00:00+01:00',
    });
    const cancelled = (await api.put(cancelledDoc)).json();
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.cancelled_at, '2026-11-21T09:00:00.000Z');

    // Un-cancelling (cancelled_at back to null) re-derives the state.
    const reopened = (await api.put({ ...cancelledDoc, cancelled_at: null })).json();
    assert.equal(reopened.id, cancelled.id);
    assert.equal(reopened.state, 'placed');
    assert.equal(reopened.cancelled_at, null);
  });

  test('stuck: not delivered and no event for more than 5 days', async () => {
    const { shop, api } = await freshShop();
    const doc = orderDoc({
      line_items: [line('a', 1), line('b', 1), line('c', 1), line('d', 1)],
      shipments: [
        shipment('old-transit', [['a', 1]], [ev(daysAgo(9), 'picked_up'), ev(daysAgo(6), 'in_transit')]),
        shipment('recent-transit', [['b', 1]], [ev(daysAgo(9), 'picked_up'), ev(daysAgo(4.9), 'in_transit')]),
        shipment('old-delivered', [['c', 1]], [ev(daysAgo(20), 'picked_up'), ev(daysAgo(10), 'delivered')]),
        shipment('old-returned', [['d', 1]], [ev(daysAgo(30), 'returned')]),
      ],
    });
    const order = (await api.put(doc)).json();
    const stuck = Object.fromEntries(
      order.shipments.map((s: { external_id: string; stuck: boolean }) => [s.external_id, s.stuck]),
    );
    assert.deepEqual(stuck, {
      'old-transit': true,
      'recent-transit': false,
      'old-delivered': false,
      'old-returned': false,
    });
    const delivered = order.shipments.find((s: { external_id: string }) => s.external_id === 'old-delivered');
    assert.equal(delivered.phase, 'delivered');
    assert.equal(delivered.delivered_at, doc.shipments![2].events![1].time);

    // A fresh carrier event un-sticks the shipment.
    const r = await api.events(order.id, 'old-transit', [{ time: daysAgo(0.5), code: 'in_transit' }]);
    assert.equal(r.json().shipment.stuck, false);

    // The shop's own stuck_after_days replaces the default of 5.
    await ctx.db
      .update(shops)
      .set({ settings: { resolve: { stuck_after_days: 3 } } })
      .where(eq(shops.id, shop.shop.id));
    const later = (await api.get(order.id)).json();
    const recent = later.shipments.find((s: { external_id: string }) => s.external_id === 'recent-transit');
    assert.equal(recent.stuck, true);
  });
});

describe('Idempotency-Key on bulk', () => {
  test('same key and body → replayed answer, nothing written twice; different body → 409', async () => {
    const { shop, api } = await freshShop();
    const docs = [orderDoc(), orderDoc()];
    const key = { 'idempotency-key': `bulk-${Date.now()}` };
    const first = await api.bulk(docs, key);
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.deepEqual(
      first.json().data.map((d: { status: string }) => d.status),
      ['created', 'created'],
    );
    const stored = (await api.get(first.json().data[0].id)).json();

    const replay = await api.bulk(docs, key);
    assert.equal(replay.statusCode, 200);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.match(String(replay.headers['content-type']), /^application\/json/);
    assert.equal(replay.body, first.body, 'the stored answer, not a re-run (which would say "unchanged")');
    assert.equal(await countOrders(ctx.db, shop.shop.id), 2);
    assert.deepEqual((await api.get(stored.id)).json(), stored, 'not rewritten');

    const other = orderDoc();
    assertError(await api.bulk([other], key), 409, 'idempotency_conflict');
    assertError(await api.bulk([...docs].reverse(), key), 409, 'idempotency_conflict');
    assert.equal(await countOrders(ctx.db, shop.shop.id), 2);
    assert.equal(await countOrders(ctx.db, shop.shop.id, other.order_number.toLowerCase()), 0);

    // Without the key the same body runs again.
    const rerun = await api.bulk(docs);
    assert.equal(rerun.headers['idempotent-replayed'], undefined);
    assert.deepEqual(
      rerun.json().data.map((d: { status: string }) => d.status),
      ['unchanged', 'unchanged'],
    );

    // Keys are per API key: another key of the same shop does not see this one's answers.
    const admin = ordersApi(ctx.app, shop.slug, shop.auth.admin);
    const asAdmin = await admin.bulk([other], key);
    assert.equal(asAdmin.statusCode, 200, asAdmin.body);
    assert.equal(asAdmin.headers['idempotent-replayed'], undefined);
    assert.equal(asAdmin.json().data[0].status, 'created');
  });

  test('a key longer than 255 characters → 400', async () => {
    const { shop, api } = await freshShop();
    assertError(
      await api.bulk([orderDoc()], { 'idempotency-key': 'k'.repeat(256) }),
      400,
      'validation_failed',
    );
    assert.equal(await countOrders(ctx.db, shop.shop.id), 0);
  });
});
