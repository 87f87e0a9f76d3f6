import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OrderInputT } from '../src/orders/document.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, assertInvalidAt, countOrders, ordersApi, type Res } from './support/http.js';
import { orderDoc } from './support/orders.js';

let ctx: TestContext;
/** Only bad requests go to this shop: it must stay empty. */
let shop: TestShop;
let api: ReturnType<typeof ordersApi>;
before(async () => {
  ctx = await startTestApp();
  shop = await createTestShop(ctx.db, 'bad');
  api = ordersApi(ctx.app, shop.slug, shop.auth.editor);
});
after(() => ctx.close());

const url = () => `/v1/shops/${shop.slug}/orders`;
const nothingStored = async () => assert.equal(await countOrders(ctx.db, shop.shop.id), 0);

/** A valid document changed by `mutate` (which edits a deep copy). */
function broken(mutate: (d: OrderInputT & Record<string, unknown>) => void): OrderInputT {
  const d = structuredClone(orderDoc()) as OrderInputT & Record<string, unknown>;
  mutate(d);
  return d;
}

const rawPut = (payload: string | Buffer, headers: Record<string, string> = {}) =>
  ctx.app.inject({
    method: 'PUT',
    url: url(),
    headers: { 'content-type': 'application/json', ...shop.auth.editor, ...headers },
    payload,
  });

describe('body parsing', () => {
  test('malformed or empty JSON → 400 invalid_json', async () => {
    for (const body of ['{"order_number": ', '{order_number: 1}', "{'a': 1}", '[1,]', 'nul']) {
      assertError(await rawPut(body), 400, 'invalid_json');
    }
    // An empty body is no body (clients send the JSON header on every call): here a body is needed.
    for (const body of ['', '  \n']) assertInvalidAt(await rawPut(body), '/');
    assertError(
      await ctx.app.inject({
        method: 'POST',
        url: `${url()}/bulk`,
        headers: { 'content-type': 'application/json', ...shop.auth.editor },
        payload: '{"orders": [',
      }),
      400,
      'invalid_json',
    );
    await nothingStored();
  });

  test('a prototype-poisoning body is refused, not merged', async () => {
    const doc = JSON.stringify(orderDoc()).replace(/^\{/, '{"__proto__": {"admin": true},');
    for (const body of [doc, '{"constructor": {"prototype": {"x": 1}}}']) {
      const err = assertError(await rawPut(body), 400, 'validation_failed');
      assert.match(err.errors?.[0]?.message ?? '', /__proto__/);
    }
    await nothingStored();
  });

  test('a JSON value that is not an object → 400 validation_failed at /', async () => {
    for (const body of ['[]', '"order"', '42', 'null', 'true']) assertInvalidAt(await rawPut(body), '/');
    await nothingStored();
  });

  test('wrong content type → 415 unsupported_media_type', async () => {
    const body = JSON.stringify(orderDoc());
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'text/csv']) {
      assertError(await rawPut(body, { 'content-type': type }), 415, 'unsupported_media_type');
    }
    assertError(
      await ctx.app.inject({ method: 'PUT', url: url(), headers: shop.auth.editor, payload: body }),
      415,
      'unsupported_media_type',
    );
    await nothingStored();
    // A charset parameter is fine (checked on another shop: this one only ever gets bad input).
    const own = await createTestShop(ctx.db, 'charset');
    const ok = await ctx.app.inject({
      method: 'PUT',
      url: `/v1/shops/${own.slug}/orders`,
      headers: { 'content-type': 'application/json; charset=utf-8', ...own.auth.editor },
      payload: body,
    });
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('a body over the limit (5 MB) → 413 payload_too_large', async () => {
    const doc = orderDoc({ tags: ['x'.repeat(100)] });
    const huge = JSON.stringify({ ...doc, order_name: 'y'.repeat(5 * 1024 * 1024) });
    assertError(await rawPut(huge), 413, 'payload_too_large');
    const bulk = JSON.stringify({ orders: Array.from({ length: 4000 }, () => doc) });
    assert.ok(bulk.length > 5 * 1024 * 1024);
    assertError(
      await ctx.app.inject({
        method: 'POST',
        url: `${url()}/bulk`,
        headers: { 'content-type': 'application/json', ...shop.auth.editor },
        payload: bulk,
      }),
      413,
      'payload_too_large',
    );
    await nothingStored();
  });
});

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();

describe('schema violations name the field', () => {
  const cases: [string, (d: OrderInputT & Record<string, unknown>) => void, string][] = [
    ['missing order_number', (d) => delete (d as Partial<OrderInputT>).order_number, '/order_number'],
    ['missing line_items', (d) => delete (d as Partial<OrderInputT>).line_items, '/line_items'],
    ['no line items', (d) => (d.line_items = []), '/line_items'],
    ['empty order_number', (d) => (d.order_number = ''), '/order_number'],
    ['order_number only "#"', (d) => (d.order_number = ' # '), '/order_number'],
    [
      'order_number not a string',
      (d) => ((d as Record<string, unknown>).order_number = 1001),
      '/order_number',
    ],
    [
      'unit_price as string',
      (d) => ((d.line_items[0] as Record<string, unknown>).unit_price = '1999'),
      '/line_items/0/unit_price',
    ],
    ['negative unit_price', (d) => (d.line_items[0].unit_price = -1), '/line_items/0/unit_price'],
    ['fractional unit_price', (d) => (d.line_items[1].unit_price = 19.99), '/line_items/1/unit_price'],
    ['negative total', (d) => (d.totals = { total: -5 }), '/totals/total'],
    ['fractional tax', (d) => (d.totals = { tax: 0.5 }), '/totals/tax'],
    ['negative line discount', (d) => (d.line_items[0].discount = -100), '/line_items/0/discount'],
    ['money above the maximum', (d) => (d.line_items[0].unit_price = 1e15), '/line_items/0/unit_price'],
    ['zero quantity', (d) => (d.line_items[0].quantity = 0), '/line_items/0/quantity'],
    ['unknown currency', (d) => (d.currency = 'XYZ'), '/currency'],
    ['malformed currency', (d) => (d.currency = 'EURO'), '/currency'],
    ['bad placed_at', (d) => (d.placed_at = '20.11.2026'), '/placed_at'],
    ['placed_at without zone', (d) => (d.placed_at = '2026-11-20T09:30:00'), '/placed_at'],
    ['impossible date', (d) => (d.placed_at = '2026-02-30T09:30:00Z'), '/placed_at'],
    ['leap second', (d) => (d.placed_at = '2016-12-31T23:59:60Z'), '/placed_at'],
    ['year 0', (d) => (d.placed_at = '0000-01-01T00:00:00Z'), '/placed_at'],
    ['year 0 after the zone shift', (d) => (d.placed_at = '0001-01-01T00:00:00+14:00'), '/placed_at'],
    ['year 10000 after the zone shift', (d) => (d.placed_at = '9999-12-31T23:59:59-14:00'), '/placed_at'],
    ['bad event time', (d) => (d.shipments![0].events![0].time = 'yesterday'), '/shipments/0/events/0/time'],
    ['bad email', (d) => (d.customer = { email: 'not-an-email' }), '/customer/email'],
    ['bad country', (d) => (d.shipping_address = { country_code: 'DEU' }), '/shipping_address/country_code'],
    [
      'unknown event phase',
      (d) => ((d.shipments![0].events![0] as Record<string, unknown>).phase = 'teleported'),
      '/shipments/0/events/0/phase',
    ],
    [
      'unknown shipment phase',
      (d) => ((d.shipments![0] as Record<string, unknown>).phase = 'lost_in_space'),
      '/shipments/0/phase',
    ],
    [
      'shipment line not on the order',
      (d) => (d.shipments![0].line_items[0].external_id = 'li-404'),
      '/shipments/0/line_items/0/external_id',
    ],
    ['shipped above ordered', (d) => (d.shipments![0].line_items[0].quantity = 3), '/line_items/0/quantity'],
    [
      'shipped above ordered across shipments',
      (d) => d.shipments!.push({ external_id: 'f-2', line_items: [{ external_id: 'li-2', quantity: 1 }] }),
      '/line_items/1/quantity',
    ],
    ['duplicate line item', (d) => (d.line_items[1].external_id = 'li-1'), '/line_items/1/external_id'],
    [
      'refunded above quantity',
      (d) => (d.line_items[1].quantity_refunded = 2),
      '/line_items/1/quantity_refunded',
    ],
    ['unknown top-level field', (d) => (d.colour = 'red'), '/colour'],
    [
      'unknown nested field',
      (d) => ((d.line_items[0] as Record<string, unknown>).colour = 'red'),
      '/line_items/0/colour',
    ],
    ['unknown customer field', (d) => (d.customer = { email: null, vip: true } as never), '/customer/vip'],
    ['null line_items', (d) => ((d as Record<string, unknown>).line_items = null), '/line_items'],
    ['null currency', (d) => ((d as Record<string, unknown>).currency = null), '/currency'],
    ['tags not an array', (d) => ((d as Record<string, unknown>).tags = 'vip'), '/tags'],
    // Links customers and merchants click: http(s) only.
    [
      'a javascript: tracking URL',
      (d) => (d.shipments![0].tracking_url = 'javascript:alert(1)'),
      '/shipments/0/tracking_url',
    ],
    [
      'a data: image URL',
      (d) => (d.line_items[0].image_url = 'data:image/svg+xml,<svg/>'),
      '/line_items/0/image_url',
    ],
    // Times far ahead of the clock would hold claim windows open for years.
    ['placed next year', (d) => (d.placed_at = inDays(365)), '/placed_at'],
    ['delivered in 3 days', (d) => (d.shipments![0].delivered_at = inDays(3)), '/shipments/0/delivered_at'],
    [
      'an event in 1000 years',
      (d) =>
        (d.shipments![0].events = [
          {
            time: '3026-11-29T11:00:00Z',
            code: 'delivered',
            phase: 'delivered',
            description: null,
            location: null,
          },
        ]),
      '/shipments/0/events/0/time',
    ],
  ];
  for (const [name, mutate, path] of cases) {
    test(`${name} → 400 at ${path}`, async () => {
      assertInvalidAt(await api.put(broken(mutate)), path);
    });
  }
  test('nothing of it was stored', nothingStored);

  test('every problem is reported at once', async () => {
    const err = assertError(
      await api.put(
        broken((d) => {
          d.line_items[0].unit_price = -1;
          d.currency = 'eu';
          d.colour = 'red';
        }),
      ),
      400,
      'validation_failed',
    );
    const paths = err.errors!.map((e) => e.path).sort();
    assert.deepEqual(paths, ['/colour', '/currency', '/line_items/0/unit_price']);
  });

  test('a document is checked the same way through bulk (paths prefixed by the item)', async () => {
    const res = await api.bulk([
      broken((d) => (d.line_items[0].unit_price = -1)),
      broken((d) => (d.currency = 'XYZ')),
    ]);
    assert.equal(res.statusCode, 200, res.body);
    const { data, summary } = res.json();
    assert.deepEqual(summary, { created: 0, updated: 0, unchanged: 0, stale: 0, failed: 2 });
    assert.deepEqual(data[0].error.errors[0].path, '/orders/0/line_items/0/unit_price');
    assert.deepEqual(data[1].error.errors[0].path, '/orders/1/currency');
    await nothingStored();
  });

  test('bad event posts and bad queries → 400', async () => {
    const order = ordersApi(ctx.app, shop.slug, shop.auth.editor);
    for (const events of [
      [{ code: 'x' }],
      [{ time: '2026-11-20T09:30:00Z', code: '' }],
      [{ time: '2026-11-20T09:30:00Z', code: 'x', phase: 'nope' }],
      [{ time: '2026-11-20T09:30:00Z', code: 'x', extra: 1 }],
    ]) {
      assertError(
        await order.events('ord_00000000000000000000000000', 'f-1', events),
        400,
        'validation_failed',
      );
    }
    assertInvalidAt(
      await order.events('ord_00000000000000000000000000', 'f-1', [
        { time: '2026-11-20T09:30:00Z', code: 'x' },
        { time: inDays(2), code: 'delivered', phase: 'delivered' },
      ]),
      '/events/1/time',
    );
    assertInvalidAt(await api.search({ placed_from: 'soon' }), 'querystring:/placed_from');
    assertInvalidAt(await api.search({ placed_to: '2016-12-31T23:59:60Z' }), 'querystring:/placed_to');
    assertInvalidAt(await api.search({ page: -1 }), 'querystring:/page');
    assertInvalidAt(await api.search({ order_number: 'x'.repeat(101) }), 'querystring:/order_number');
  });
});

describe('text the database cannot hold', () => {
  test('NUL characters and unpaired surrogates in a body → 400 at the field, never 500', async () => {
    const cases: [OrderInputT, string][] = [
      [broken((d) => (d.order_number = 'T\u0000 1')), '/order_number'],
      [broken((d) => (d.tags = ['ok', 'a\u0000b'])), '/tags/1'],
      [broken((d) => (d.shipping_address = { city: 'Ber\u0000lin' })), '/shipping_address/city'],
      [broken((d) => (d.shipping_address = { phone: '\ud800' })), '/shipping_address/phone'],
      [broken((d) => (d.customer = { first_name: 'x\udc00' })), '/customer/first_name'],
      [broken((d) => (d.line_items[1].title = '\ud83d')), '/line_items/1/title'],
      [broken((d) => ((d as Record<string, unknown>)['bad\u0000key'] = 1)), '/bad\u0000key'],
    ];
    for (const [doc, path] of cases) assertInvalidAt(await api.put(doc), path);
    assertInvalidAt(await api.bulk(cases.map(([doc]) => doc)), '/orders/0/order_number');
    assertInvalidAt(
      await api.events('ord_00000000000000000000000000', 'f-1', [
        { time: '2026-11-20T09:30:00Z', code: '\ud800' },
      ]),
      '/events/0/code',
    );
    // Paired surrogates (emoji) are fine.
    const own = await createTestShop(ctx.db, 'emoji');
    const ok = await ordersApi(ctx.app, own.slug, own.auth.editor).put(
      broken((d) => (d.shipping_address = { name: 'Kim 😀', city: 'Berlin' })),
    );
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().shipping_address.name, 'Kim 😀');
    await nothingStored();
  });

  test('NUL characters in the query or path → 4xx, never 500', async () => {
    assertError(await api.search({ order_number: 'a\u0000' }), 400, 'invalid_request');
    assertError(await api.search({ email: 'a\u0000@b.c' }), 400, 'invalid_request');
    for (const res of [
      await api.get('ext-\u0000'),
      await ctx.app.inject({ method: 'GET', url: '/v1/shops/%00/orders', headers: shop.auth.viewer }),
    ]) {
      assert.ok([400, 404].includes(res.statusCode), res.body);
      assertError(res, res.statusCode, res.json().error.key);
    }
  });
});

describe('auth and routing', () => {
  const unauthorized = (res: Res) => {
    assertError(res, 401, 'unauthorized');
    assert.match(String(res.headers['www-authenticate']), /Basic realm="resolve"/);
    assert.match(String(res.headers['www-authenticate']), /Bearer/);
  };

  test('missing or wrong key → 401 with WWW-Authenticate, on every order endpoint', async () => {
    const doc = orderDoc();
    const wrongKey = `rsk_${'0'.repeat(26)}_${'A'.repeat(43)}`;
    const tampered = `${shop.keys.admin.slice(0, -1)}${shop.keys.admin.endsWith('A') ? 'B' : 'A'}`;
    for (const authorization of [
      undefined,
      '',
      'Bearer',
      'Bearer nonsense',
      `Bearer ${wrongKey}`,
      `Bearer ${tampered}`,
      `Token ${shop.keys.admin}`,
      'Basic !!!',
      `Basic ${Buffer.from(shop.keys.admin).toString('base64')}`,
      `Basic ${Buffer.from(`${shop.slug}:${tampered}`).toString('base64')}`,
    ]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      const anon = ordersApi(ctx.app, shop.slug, headers);
      unauthorized(await anon.put(doc));
      unauthorized(await anon.bulk([doc]));
      unauthorized(await anon.search());
      unauthorized(await anon.get('ord_00000000000000000000000000'));
      unauthorized(await anon.events('x', 'y', [{ time: '2026-11-20T09:30:00Z', code: 'x' }]));
    }
    await nothingStored();
  });

  test('authentication comes before the body: no key + a bad body → 401', async () => {
    const anon = ordersApi(ctx.app, shop.slug, {});
    unauthorized(await anon.put({ nonsense: true }));
    unauthorized(
      await ctx.app.inject({
        method: 'PUT',
        url: url(),
        headers: { 'content-type': 'application/json' },
        payload: '{"broken',
      }),
    );
  });

  test('unknown shop with a valid key → 404 shop_not_found', async () => {
    const other = ordersApi(ctx.app, 'no-such-shop-here', shop.auth.admin);
    const doc = orderDoc();
    for (const res of [
      await other.put(doc),
      await other.put({ nonsense: true }),
      await other.bulk([doc]),
      await other.search(),
      await other.get('x'),
      await other.events('x', 'y', [{ time: '2026-11-20T09:30:00Z', code: 'x' }]),
    ]) {
      assertError(res, 404, 'shop_not_found');
    }
    await nothingStored();
  });

  test('unknown route → 404 route_not_found', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nope'],
      ['GET', `/v1/shops/${shop.slug}/orderz`],
      ['POST', `${url()}/x/shipments/y`],
      ['DELETE', `${url()}/x/y/z`],
    ] as const) {
      const err = assertError(
        await ctx.app.inject({ method, url: path, headers: shop.auth.admin }),
        404,
        'route_not_found',
      );
      assert.match(err.message, new RegExp(method));
    }
  });

  test('a known path with a method it does not answer → 405 method_not_allowed with Allow', async () => {
    for (const [method, path, allow] of [
      ['DELETE', url(), 'GET, HEAD, PUT'],
      ['PATCH', `${url()}/ord_00000000000000000000000000`, 'GET, HEAD'],
      ['PUT', `${url()}/bulk/`, 'GET, HEAD, POST'],
      ['POST', `/v1/shops/${shop.slug}/claims/R-1001?x=1`, 'GET, HEAD, PATCH'],
      ['GET', `/v1/resolve/${shop.slug}/sessions`, 'OPTIONS, POST'],
    ] as const) {
      const res = await ctx.app.inject({ method, url: path, headers: shop.auth.admin });
      const err = assertError(res, 405, 'method_not_allowed');
      assert.equal(res.headers.allow, allow, `${method} ${path}`);
      assert.match(err.message, new RegExp(`^${method} is not allowed on /v1/.*; it answers ${allow}\\.$`));
    }
    await nothingStored();
  });
});

describe('conflicts', () => {
  test('the same order_number under a different external_id → 409 order_exists; the stored order stays', async () => {
    const own = await createTestShop(ctx.db, 'conflict');
    const ownApi = ordersApi(ctx.app, own.slug, own.auth.editor);
    const doc = orderDoc({ order_number: 'C-1' });
    const stored = (await ownApi.put(doc)).json();
    for (const number of ['C-1', '#c-1', ' c-1 ']) {
      const err = assertError(
        await ownApi.put({ ...doc, external_id: 'someone-else', order_number: number, tags: ['x'] }),
        409,
        'order_exists',
      );
      assert.equal(err.errors, undefined);
    }
    assert.deepEqual((await ownApi.get(stored.id)).json(), stored);
    assert.equal(await countOrders(ctx.db, own.shop.id), 1);
    assertError(await ownApi.get('someone-else'), 404, 'order_not_found');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Fuzzing: random mutations of a valid document answer 2xx or 4xx, never 5xx.

/** mulberry32: a small seeded PRNG so a failure can be replayed with FUZZ_SEED. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function deep(depth: number): Json {
  let v: Json = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

const WEIRD: (() => Json)[] = [
  () => null,
  () => true,
  () => 0,
  () => -1,
  () => 1.5,
  () => -0.000001,
  () => 1e300,
  () => -1e300,
  () => Number.MAX_SAFE_INTEGER + 2,
  () => '',
  () => ' ',
  () => '#',
  () => 'x'.repeat(100_000),
  () => '\u0000',
  () => 'a\u0000b',
  () => '\ud800',
  () => '😀'.repeat(300),
  () => '<script>alert(1)</script>',
  () => "'; drop table orders; --",
  () => '2016-12-31T23:59:60Z',
  () => '0000-01-01T00:00:00Z',
  () => '275760-09-13T00:00:00Z',
  () => '2026-11-20T09:30:00+14:00',
  () => 'EUR',
  () => 'delivered',
  () => [],
  () => [null],
  () => ['x'.repeat(10_000)],
  () => ({}),
  () => JSON.parse('{"__proto__": {"x": 1}}'),
  () => ({ constructor: { prototype: { x: 1 } } }),
  () => deep(200),
  () => deep(2000),
  () => Array.from({ length: 1000 }, (_, i) => i),
];

/** Paths to every value in the document (object keys and array indexes). */
function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) out.push(...paths(x, [...prefix, i]));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  }
  return out;
}

function mutate(doc: Json, rnd: () => number): Json {
  const copy = structuredClone(doc);
  const all = paths(copy).filter((p) => p.length > 0);
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) {
    const path = all[Math.floor(rnd() * all.length)];
    let parent = copy as Record<string | number, Json>;
    for (const k of path.slice(0, -1)) {
      const next = parent?.[k];
      if (next === null || typeof next !== 'object') break;
      parent = next as Record<string | number, Json>;
    }
    const last = path[path.length - 1];
    if (parent === null || typeof parent !== 'object') continue;
    const r = rnd();
    if (r < 0.1) delete parent[last];
    else if (r < 0.2 && !Array.isArray(parent)) parent[`extra_${i}`] = 1;
    else parent[last] = WEIRD[Math.floor(rnd() * WEIRD.length)]();
  }
  return copy;
}

describe('fuzz', () => {
  test('200 random mutations of a valid document never answer 5xx', async (t) => {
    const fuzzShop = await createTestShop(ctx.db, 'fuzz');
    const fuzzApi = ordersApi(ctx.app, fuzzShop.slug, fuzzShop.auth.editor);
    const seed = Number(process.env.FUZZ_SEED) || Date.now() % 1_000_000;
    const rnd = prng(seed);
    const statuses = new Map<number, number>();
    const batch: Json[] = [];
    for (let i = 0; i < 200; i++) {
      const doc = mutate(orderDoc() as unknown as Json, rnd);
      batch.push(doc);
      const res = await fuzzApi.put(doc);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      assert.ok(
        res.statusCode < 500,
        `FUZZ_SEED=${seed} case ${i}: ${res.statusCode} ${res.body}\n${JSON.stringify(doc).slice(0, 2000)}`,
      );
      if (res.statusCode >= 400) assertError(res, res.statusCode, res.json().error.key);
      else assert.match(res.json().id, /^ord_/);
    }
    // The same documents through bulk and the events endpoint.
    for (let i = 0; i < batch.length; i += 50) {
      const res = await fuzzApi.bulk(batch.slice(i, i + 50));
      assert.ok(
        res.statusCode < 500,
        `FUZZ_SEED=${seed} bulk ${i}: ${res.statusCode} ${res.body.slice(0, 500)}`,
      );
    }
    const order = (await fuzzApi.put(orderDoc())).json();
    for (let i = 0; i < 50; i++) {
      const event = mutate({ time: '2026-11-22T08:00:00Z', code: 'delivered', phase: 'delivered' }, rnd);
      const res = await fuzzApi.events(order.id, 'f-1', [event]);
      assert.ok(res.statusCode < 500, `FUZZ_SEED=${seed} event ${i}: ${res.statusCode} ${res.body}`);
    }
    t.diagnostic(`FUZZ_SEED=${seed} statuses ${JSON.stringify([...statuses].sort())}`);
    // Mostly rejected, and the app still works afterwards.
    assert.ok((statuses.get(400) ?? 0) > 100, JSON.stringify([...statuses]));
    const sanity = await fuzzApi.put(orderDoc());
    assert.equal(sanity.statusCode, 201);
  });
});
