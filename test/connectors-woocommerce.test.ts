import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { PlatformClient, PlatformDeps, PlatformWebhook } from '../src/connectors/platform.js';
import { PlatformError } from '../src/connectors/platform.js';
import { woocommerceConnector } from '../src/connectors/woocommerce/index.js';
import { validatorCompiler } from '../src/http/validation.js';
import { normalizeOrder, OrderInput, type OrderInputT } from '../src/orders/document.js';
import { type LineSpec, startWooSim, type WooSim, type WooSimOptions } from './simulators/woocommerce.js';

const T0 = Date.UTC(2026, 10, 20, 9, 30);
const WEBHOOK_SECRET = 'whsec-test-1';
const checkDoc = validatorCompiler({
  schema: OrderInput,
  httpPart: 'body',
  method: 'PUT',
  url: '/',
} as never);

interface Env {
  sim: WooSim;
  client: PlatformClient;
  sleeps: number[];
  warnings: object[];
  clock: { ms: number };
}

async function setup(
  t: { after(fn: () => Promise<void>): void },
  opts: WooSimOptions = {},
  extra: { settings?: Record<string, string>; secret?: string; fetch?: typeof fetch } = {},
): Promise<Env> {
  const clock = { ms: T0 };
  const sim = await startWooSim({ now: () => clock.ms, deliver: null, ...opts });
  t.after(() => sim.close());
  const sleeps: number[] = [];
  const warnings: object[] = [];
  const deps: PlatformDeps = {
    fetch: extra.fetch ?? fetch,
    now: () => new Date(clock.ms),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.ms += ms;
    },
    log: { info: () => {}, warn: (o) => warnings.push(o) },
  };
  const client = woocommerceConnector.create(
    {
      settings: { store_url: 'https://shop.test', api_base_url: sim.apiBase, ...extra.settings },
      credentials: {
        consumer_key: sim.consumerKey,
        consumer_secret: extra.secret ?? sim.consumerSecret,
        webhook_secret: WEBHOOK_SECRET,
      },
    },
    deps,
  );
  return { sim, client, sleeps, warnings, clock };
}

const clean = (sim: WooSim) =>
  assert.deepEqual(sim.unexpected, [], 'the simulator saw requests it did not expect');
const calls = (sim: WooSim, method: string, path: RegExp) =>
  sim.requests.filter((r) => r.method === method && path.test(r.path));

async function rejects(p: Promise<unknown>, kind: PlatformError['kind']) {
  await assert.rejects(p, (err) => err instanceof PlatformError && err.kind === kind);
}

/** A valid document by the API's own schema and the upsert's checks. */
function assertValid(doc: OrderInputT | null): OrderInputT {
  assert.ok(doc);
  assert.ok(checkDoc(JSON.parse(JSON.stringify(doc))), 'document matches OrderInput');
  normalizeOrder(doc);
  return doc;
}

const KIM = {
  billing: {
    first_name: 'Kim',
    last_name: 'Berg',
    email: 'kim@example.com',
    phone: '+49 30 123',
    address_1: 'Invalidenstr. 1',
    city: 'Berlin',
    postcode: '10115',
    country: 'DE',
  },
  shipping: {
    first_name: 'Kim',
    last_name: 'Berg',
    company: 'Berg GmbH',
    address_1: 'Invalidenstr. 1',
    address_2: 'Hinterhaus',
    city: 'Berlin',
    state: 'BE',
    postcode: '10115',
    country: 'DE',
  },
};
const TEE: LineSpec = {
  productId: 10,
  variationId: 11,
  name: 'T-Shirt &ndash; M',
  sku: 'TEE-M',
  quantity: 2,
  price: 1999,
  discount: 400,
  taxRate: 19,
  meta: [{ id: 1, key: 'pa_size', value: 'm', display_key: 'Size', display_value: 'M' }],
};
const MUG: LineSpec = { productId: 20, name: 'Mug', sku: 'MUG', quantity: 1, price: 999, taxRate: 19 };

function seedCatalog(sim: WooSim) {
  sim.addProduct({
    id: 10,
    name: 'T-Shirt',
    price: 1999,
    manage_stock: true,
    stock_quantity: 7,
    variations: [
      {
        id: 11,
        name: 'M',
        sku: 'TEE-M',
        price: 1999,
        manage_stock: 'parent',
        stock_quantity: null,
        stock_status: 'instock',
        variations: [],
      },
      {
        id: 12,
        name: 'L',
        sku: 'TEE-L',
        price: 1999,
        manage_stock: true,
        stock_quantity: 3,
        stock_status: 'instock',
        variations: [],
      },
    ],
  });
  sim.addProduct({ id: 20, name: 'Mug', price: 999 });
  sim.addProduct({ id: 30, name: 'Poster', price: 500, stock_status: 'outofstock' });
}

function seedOrder(sim: WooSim, over: Partial<Parameters<WooSim['createOrder']>[0]> = {}) {
  return sim.createOrder({
    currency: 'EUR',
    customerId: 7,
    ...KIM,
    lines: [TEE, MUG],
    shippingTotal: 495,
    shippingTaxRate: 19,
    ...over,
  });
}

/** What the merchant does in wp-admin: a refund not made by Resolve. */
async function merchantRefund(sim: WooSim, orderId: number, body: object) {
  const res = await fetch(`${sim.apiBase}/orders/${orderId}/refunds`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${sim.consumerKey}:${sim.consumerSecret}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201);
}

const quiet: PlatformDeps = {
  fetch,
  now: () => new Date(),
  sleep: async () => {},
  log: { info() {}, warn() {} },
};
const connect = (sim: WooSim, credentials: Record<string, string>, deps = quiet) =>
  woocommerceConnector.create(
    { settings: { store_url: 'https://shop.test', api_base_url: sim.apiBase }, credentials },
    deps,
  );

test('testConnection answers the site title; a bad key or secret is auth_failed; plain http is refused', async (t) => {
  const { sim, client } = await setup(t, { siteName: 'Berg & Söhne' });
  assert.deepEqual(await client.testConnection(), { shopName: 'Berg & Söhne' });
  assert.match(calls(sim, 'GET', /\/orders$/)[0].query, /per_page=1/);

  await rejects(
    connect(sim, { consumer_key: 'ck_nope', consumer_secret: sim.consumerSecret }).testConnection(),
    'auth_failed',
  );
  await rejects(
    connect(sim, { consumer_key: sim.consumerKey, consumer_secret: 'cs_wrong' }).testConnection(),
    'auth_failed',
  );
  await rejects(
    connect(sim, { consumer_key: sim.consumerKey, consumer_secret: '' }).testConnection(),
    'auth_failed',
  );
  assert.deepEqual(
    sim.requests.slice(-2).map((r) => r.status),
    [401, 401],
  );

  const plain = woocommerceConnector.create(
    {
      settings: { store_url: 'http://shop.test' },
      credentials: { consumer_key: 'ck', consumer_secret: 'cs' },
    },
    { ...quiet, fetch: () => assert.fail('no request over plain http') },
  );
  await rejects(plain.testConnection(), 'unsupported');
  clean(sim);
});

test('testConnection works with keys in the query string (hosts that strip Authorization)', async (t) => {
  const { sim, client } = await setup(t, {}, { settings: { query_string_auth: 'true' } });
  assert.equal((await client.testConnection()).shopName, 'Simulated Woo Store');
  assert.deepEqual(
    sim.requests.map((r) => r.auth),
    ['query', 'none'],
    'keys in the query for the API; the public index gets none',
  );
  clean(sim);
});

test('listOrders pages 250 orders by 100, oldest first, with createdSince and updatedSince', async (t) => {
  const { sim, client, clock } = await setup(t);
  seedCatalog(sim);
  for (let i = 0; i < 260; i++) seedOrder(sim, { createdAt: new Date(T0 - (260 - i) * 60_000) });
  const since = new Date(T0 - 250 * 60_000); // the first 10 orders are older
  const seen: OrderInputT[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { orders: OrderInputT[]; nextCursor: string | null } = await client.listOrders({
      createdSince: since,
      cursor,
      pageSize: 100,
    });
    seen.push(...page.orders);
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.equal(seen.length, 250);
  assert.equal(new Set(seen.map((o) => o.external_id)).size, 250);
  assert.deepEqual(
    seen.map((o) => Date.parse(o.placed_at)),
    [...seen.map((o) => Date.parse(o.placed_at))].sort((a, b) => a - b),
  );
  assert.equal(seen[0].placed_at, since.toISOString(), 'createdSince is inclusive');
  const q = new URLSearchParams(calls(sim, 'GET', /\/orders$/)[0].query);
  assert.deepEqual(Object.fromEntries(q), {
    page: '1',
    per_page: '100',
    orderby: 'date',
    order: 'asc',
    after: '2026-11-20T05:19:59',
    dates_are_gmt: 'true',
  });

  clock.ms += 3_600_000;
  const changed = [...sim.orders.values()].slice(5, 8);
  for (const o of changed) sim.addTracking(o.id, { provider: 'dhl', number: `DHL${o.id}` });
  const upd = await client.listOrders({
    updatedSince: new Date(clock.ms - 1000),
    cursor: null,
    pageSize: 500,
  });
  assert.deepEqual(
    upd.orders.map((o) => o.external_id),
    changed.map((o) => String(o.id)),
  );
  assert.equal(upd.nextCursor, null);
  const uq = new URLSearchParams(calls(sim, 'GET', /\/orders$/).at(-1)!.query);
  assert.equal(uq.get('orderby'), 'modified');
  assert.equal(uq.get('per_page'), '100', 'page size is capped at 100');
  clean(sim);
});

test('an order Woo sends in an unexpected shape is skipped and logged, not the whole page', async (t) => {
  const { sim, client, warnings } = await setup(t);
  seedCatalog(sim);
  const [a, b, c] = [seedOrder(sim), seedOrder(sim), seedOrder(sim)];
  Object.assign(b.lines[0], { name: 42 }); // e.g. a plugin filtering the REST response
  const page = await client.listOrders({ cursor: null, pageSize: 10 });
  assert.deepEqual(
    page.orders.map((o) => o.external_id),
    [String(a.id), String(c.id)],
  );
  assert.deepEqual(
    warnings.map((w) => (w as { orderId: number }).orderId),
    [b.id],
  );
  await rejects(client.getOrder(String(b.id)), 'unsupported');
  clean(sim);
});

test('getOrder maps money, addresses, lines, refunds and tracking into a valid document', async (t) => {
  const { sim, client, clock } = await setup(t);
  seedCatalog(sim);
  const o = seedOrder(sim, { number: 'WC-1001', meta: [{ key: 'wpml_language', value: 'de' }] });
  const [tee, mug] = o.lines;
  await merchantRefund(sim, o.id, {
    amount: '21.41',
    reason: 'merchant goodwill',
    api_refund: false,
    line_items: [
      { id: tee.id, quantity: 1, refund_total: 17.99, refund_tax: [{ id: 1, refund_total: 3.42 }] },
    ],
  });
  clock.ms += 86_400_000;
  sim.addTracking(o.id, { provider: 'dhl', number: '00340434', shippedAt: new Date(T0 + 3_600_000) });
  sim.addTracking(o.id, {
    customProvider: 'Hermes',
    customLink: 'https://hermes.test/t/%1$s?zip=%2$s',
    number: 'H 1',
  });

  const doc = assertValid(await client.getOrder(String(o.id)));
  assert.equal(doc.external_id, String(o.id));
  assert.equal(doc.order_number, 'WC-1001');
  assert.equal(doc.order_name, '#WC-1001');
  assert.equal(doc.placed_at, new Date(T0).toISOString(), 'GMT date, not the site-local one');
  assert.equal(doc.currency, 'EUR');
  assert.equal(doc.language, 'de');
  assert.equal(doc.cancelled_at, null);
  assert.deepEqual(doc.customer, {
    external_id: '7',
    email: 'kim@example.com',
    first_name: 'Kim',
    last_name: 'Berg',
    phone: '+49 30 123',
  });
  assert.deepEqual(doc.shipping_address, {
    name: 'Kim Berg',
    company: 'Berg GmbH',
    address_line_1: 'Invalidenstr. 1',
    address_line_2: 'Hinterhaus',
    city: 'Berlin',
    zip_code: '10115',
    province: 'BE',
    country_code: 'DE',
    phone: null,
  });
  assert.equal(doc.billing_address?.zip_code, '10115');
  assert.deepEqual(doc.totals, { subtotal: 4997, shipping: 495, discount: 400, tax: 968, total: 6060 });
  assert.deepEqual(doc.line_items[0], {
    external_id: String(tee.id),
    sku: 'TEE-M',
    title: 'T-Shirt',
    variant_title: 'M',
    quantity: 2,
    quantity_refunded: 1,
    unit_price: 1999,
    discount: 400,
    tax: 684,
    image_url: 'https://shop.test/wp-content/uploads/p10.jpg',
    product_id: '10',
    variant_id: '11',
  });
  assert.equal(doc.line_items[1].external_id, String(mug.id));
  assert.equal(doc.line_items[1].quantity_refunded, 0);
  assert.equal(doc.shipments?.length, 2);
  assert.deepEqual(doc.shipments?.[0], {
    external_id: doc.shipments?.[0].external_id,
    carrier: 'dhl',
    tracking_number: '00340434',
    tracking_url: null,
    phase: null,
    delivered_at: null,
    line_items: [
      { external_id: String(tee.id), quantity: 2 },
      { external_id: String(mug.id), quantity: 1 },
    ],
    events: [
      {
        time: new Date(T0 + 3_600_000).toISOString(),
        code: 'shipped',
        phase: 'in_transit',
        description: 'Shipped with dhl',
        location: null,
      },
    ],
  });
  assert.match(doc.shipments![0].external_id, /^wcst-[0-9a-f]{32}$/);
  assert.deepEqual(
    [doc.shipments![1].carrier, doc.shipments![1].tracking_url, doc.shipments![1].line_items],
    ['Hermes', 'https://hermes.test/t/H%201?zip=10115', []],
  );

  assert.equal(await client.getOrder('999999'), null);
  assert.equal(await client.getOrder('not-a-woo-id'), null);
  clean(sim);
});

test('getOrder: JPY has no minor digits whatever the store prints; cancelled and completed orders', async (t) => {
  for (const priceDecimals of [0, 2]) {
    const { sim, client } = await setup(t, { priceDecimals });
    const o = sim.createOrder({
      currency: 'JPY',
      lines: [{ productId: 5, name: 'Tea', quantity: 3, price: 1200, taxRate: 10 }],
      shippingTotal: 500,
    });
    assert.equal(sim.orderJson(o.id).total, priceDecimals ? '4460.00' : '4460');
    const doc = assertValid(await client.getOrder(String(o.id)));
    assert.deepEqual(
      [doc.line_items[0].unit_price, doc.line_items[0].tax, doc.totals?.total, doc.customer?.email],
      [1200, 360, 4460, null],
    );
    clean(sim);
  }
  const { sim, client, clock } = await setup(t);
  seedCatalog(sim);
  const c = seedOrder(sim, { status: 'cancelled' });
  clock.ms += 5000;
  sim.completeOrder(seedOrder(sim).id);
  const cancelled = assertValid(await client.getOrder(String(c.id)));
  assert.equal(cancelled.cancelled_at, new Date(T0).toISOString());
  const done = assertValid(await client.getOrder(String([...sim.orders.keys()].at(-1))));
  assert.equal(done.shipments?.length, 1);
  assert.equal(done.shipments![0].tracking_number, null);
  assert.equal(done.shipments![0].events?.[0].phase, 'in_transit', 'completed is shipped, not delivered');
  const draft = sim.createOrder({ status: 'checkout-draft', lines: [MUG] });
  assert.equal(await client.getOrder(String(draft.id)), null);
  clean(sim);
});

test('tracking items that list their products (AST) split the lines across parcels', async (t) => {
  const { sim, client } = await setup(t);
  seedCatalog(sim);
  const o = seedOrder(sim);
  const [tee, mug] = o.lines;
  sim.addTracking(o.id, { provider: 'ups', number: '1Z1', productsList: [{ item_id: tee.id, qty: 1 }] });
  sim.addTracking(o.id, {
    provider: 'ups',
    number: '1Z2',
    productsList: [
      { item_id: tee.id, qty: 5 },
      { item_id: mug.id, qty: 1 },
    ],
  });
  const doc = assertValid(await client.getOrder(String(o.id)));
  assert.deepEqual(
    doc.shipments?.map((s) => [s.tracking_number, s.line_items]),
    [
      ['1Z1', [{ external_id: String(tee.id), quantity: 1 }]],
      [
        '1Z2',
        [
          { external_id: String(tee.id), quantity: 1 },
          { external_id: String(mug.id), quantity: 1 },
        ],
      ],
    ],
    'a parcel never carries more than was ordered',
  );
  clean(sim);
});

test('webhooks: registration is idempotent; the signature is checked on the raw body', async (t) => {
  // A receiver the simulator POSTs to (pings and deliveries), verifying what arrives byte for byte.
  const received: { body: string; hook: PlatformWebhook | null }[] = [];
  let verify: PlatformClient['verifyWebhook'];
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ body: body.toString(), hook: verify!(body, req.headers) });
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => receiver.close(() => r())));
  const live = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/woo/shop_1`;

  const { sim, client, clock } = await setup(t, { deliver: undefined });
  verify = client.verifyWebhook;
  seedCatalog(sim);
  const a = seedOrder(sim);
  const b = seedOrder(sim);
  await client.registerWebhooks!(live);
  await client.registerWebhooks!(live);
  assert.deepEqual(
    sim.webhooks.map((w) => [w.topic, w.secret, w.status]),
    ['order.created', 'order.updated', 'order.deleted', 'order.restored'].map((x) => [
      x,
      WEBHOOK_SECRET,
      'active',
    ]),
  );
  assert.equal(calls(sim, 'POST', /\/webhooks$/).length, 4);
  assert.equal(calls(sim, 'PUT', /\/webhooks\/\d+$/).length, 4);
  await sim.fireWebhooks('order.created', a.id);
  for (let i = 0; i < 200 && received.length < 5; i++) await new Promise((r) => setTimeout(r, 10)); // pings go out in the background
  const pings = received.filter((x) => x.body.startsWith('webhook_id='));
  assert.equal(pings.length, 4);
  assert.ok(
    pings.every((p) => p.hook === null),
    'a ping is not an event',
  );
  assert.deepEqual(
    received.filter((x) => x.hook).map((x) => [x.hook?.topic, x.hook?.orderExternalId]),
    [['order.created', String(a.id)]],
  );

  const d = sim.signedDelivery('order.updated', a.id);
  const ok = client.verifyWebhook!(d.body, d.headers);
  assert.deepEqual(ok && { topic: ok.topic, order: ok.orderExternalId }, {
    topic: 'order.updated',
    order: String(a.id),
  });
  assert.equal(
    client.verifyWebhook!(Buffer.from(d.body.toString().replace('"processing"', '"cancelled"')), d.headers),
    null,
    'forged body',
  );
  const reserialised = Buffer.from(JSON.stringify(JSON.parse(d.body.toString())));
  assert.equal(client.verifyWebhook!(reserialised, d.headers), null, 'the same JSON, serialised again');
  const { 'x-wc-webhook-signature': _, ...unsigned } = d.headers;
  assert.equal(client.verifyWebhook!(d.body, unsigned), null, 'missing signature');
  const ping = sim.deliveries.find((x) => x.body.toString().startsWith('webhook_id='))!;
  assert.equal(client.verifyWebhook!(ping.body, ping.headers), null, 'ping');
  const other = connect(sim, { consumer_key: 'k', consumer_secret: 's', webhook_secret: 'another' });
  assert.equal(other.verifyWebhook!(d.body, d.headers), null, 'wrong secret');

  const replay = client.verifyWebhook!(d.body, { ...d.headers });
  assert.equal(replay?.eventId, ok?.eventId, 'a replay keeps its event id');
  const sameSecond = sim.signedDelivery('order.updated', b.id);
  assert.equal(
    sameSecond.headers['x-wc-webhook-delivery-id'],
    d.headers['x-wc-webhook-delivery-id'],
    'Woo reuses delivery ids within a second',
  );
  assert.notEqual(client.verifyWebhook!(sameSecond.body, sameSecond.headers)?.eventId, ok?.eventId);
  clock.ms += 1000;
  const del = sim.signedDelivery('order.deleted', b.id);
  assert.deepEqual(client.verifyWebhook!(del.body, del.headers)?.orderExternalId, String(b.id));
  clean(sim);
});

test('refund per line without shipping, with shipping, and partially; amounts in minor units', async (t) => {
  const { sim, client } = await setup(t);
  seedCatalog(sim);
  const o = seedOrder(sim);
  const [tee, mug] = o.lines;
  const r1 = await client.refund!({
    orderExternalId: String(o.id),
    lines: [{ externalLineId: String(tee.id), quantity: 1 }],
    includeShipping: false,
    reason: 'damaged',
    idempotencyKey: 'act_1',
  });
  assert.deepEqual(
    { ...r1, externalId: undefined },
    { externalId: undefined, amount: 2141, currency: 'EUR' },
  );
  const r2 = await client.refund!({
    orderExternalId: String(o.id),
    lines: [{ externalLineId: String(mug.id), quantity: 1 }],
    includeShipping: true,
    reason: 'lost',
    idempotencyKey: 'act_2',
  });
  assert.equal(r2.amount, 999 + 190 + 495 + 94);
  const r3 = await client.refund!({
    orderExternalId: String(o.id),
    lines: [{ externalLineId: String(tee.id), quantity: 1 }],
    includeShipping: true,
    reason: 'rest',
    idempotencyKey: 'act_3',
  });
  assert.equal(
    r3.amount,
    1799 + 342,
    'the second half of the line adds up to its total; shipping is not refunded twice',
  );
  const refunds = sim.orders.get(o.id)!.refunds;
  assert.equal(refunds.length, 3);
  assert.equal(
    refunds.reduce((n, r) => n + r.amount, 0),
    6060,
  );
  assert.equal(sim.orders.get(o.id)!.status, 'refunded');
  assert.equal(sim.products.get(10)!.stock_quantity, 7, 'claimed goods are not restocked');
  const first = refunds.find((r) => String(r.id) === r1.externalId)!;
  assert.equal(first.reason, 'resolve:act_1 damaged');
  assert.deepEqual(
    first.items.map((i) => [i.orig, i.quantity, i.total, i.tax]),
    [[tee.id, 1, 1799, 342]],
  );
  const doc = assertValid(await client.getOrder(String(o.id)));
  assert.deepEqual(
    doc.line_items.map((l) => l.quantity_refunded),
    [2, 1],
  );
  await rejects(
    client.refund!({
      orderExternalId: String(o.id),
      lines: [{ externalLineId: String(tee.id), quantity: 1 }],
      includeShipping: false,
      reason: 'again',
      idempotencyKey: 'act_4',
    }),
    'rejected',
  );
  await rejects(
    client.refund!({
      orderExternalId: '424242',
      lines: [],
      includeShipping: true,
      reason: 'x',
      idempotencyKey: 'act_5',
    }),
    'not_found',
  );
  clean(sim);
});

test('a retried refund (response lost) refunds exactly once', async (t) => {
  let lose = true;
  const lossy: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (lose && init?.method === 'POST' && String(input).includes('/refunds')) {
      lose = false;
      throw new TypeError('socket hang up');
    }
    return res;
  };
  const { sim, client } = await setup(t, {}, { fetch: lossy });
  seedCatalog(sim);
  const o = seedOrder(sim);
  const input = {
    orderExternalId: String(o.id),
    lines: [{ externalLineId: String(o.lines[1].id), quantity: 1 }],
    includeShipping: false,
    reason: 'broken',
    idempotencyKey: 'act_retry',
  };
  await rejects(client.refund!(input), 'unavailable');
  const again = await client.refund!(input);
  const third = await client.refund!(input);
  assert.equal(sim.orders.get(o.id)!.refunds.length, 1);
  assert.deepEqual([again.externalId, again.amount], [String(sim.orders.get(o.id)!.refunds[0].id), 1189]);
  assert.deepEqual(third, again);
  assert.equal(calls(sim, 'POST', /\/refunds$/).length, 1);
  assert.match(calls(sim, 'GET', /\/orders\/\d+\/refunds$/)[0].query, /per_page=100/);
  clean(sim);
});

test('replacement: a zero-priced paid order under the original; a retry after a lost response finds it', async (t) => {
  let lose = true;
  const lossy: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (lose && init?.method === 'POST' && /\/orders$/.test(String(input))) {
      lose = false;
      throw new TypeError('timeout');
    }
    return res;
  };
  const { sim, client } = await setup(t, {}, { fetch: lossy });
  seedCatalog(sim);
  const o = seedOrder(sim);
  const input = {
    orderExternalId: String(o.id),
    lines: [{ externalLineId: String(o.lines[0].id), quantity: 1 }],
    note: 'Claim clm_1: arrived torn',
    idempotencyKey: 'act_rep',
  };
  await rejects(client.createReplacement!(input), 'unavailable');
  const rep = await client.createReplacement!(input);
  const children = [...sim.orders.values()].filter((x) => x.parent_id === o.id);
  assert.equal(children.length, 1);
  const c = children[0];
  assert.deepEqual(rep, { externalId: String(c.id), orderNumber: c.number });
  assert.deepEqual([c.status, c.currency, sim.orderJson(c.id).total], ['processing', 'EUR', '0.00']);
  assert.deepEqual(
    c.lines.map((l) => [l.product_id, l.variation_id, l.quantity, l.subtotal, l.total]),
    [[10, 11, 1, 0, 0]],
  );
  assert.deepEqual(c.shipping, { ...sim.orders.get(o.id)!.shipping });
  assert.equal(c.meta.find((m) => m.key === 'resolve_key')?.value, 'act_rep');
  assert.equal(sim.products.get(10)!.stock_quantity, 6, 'stock taken from the parent product');
  const doc = assertValid(await client.getOrder(rep.externalId));
  assert.deepEqual(doc.tags, ['resolve-replacement']);
  assert.equal(calls(sim, 'POST', /\/orders$/).length, 1);
  clean(sim);
});

test('cancel and change the shipping address', async (t) => {
  const { sim, client } = await setup(t);
  seedCatalog(sim);
  const o = seedOrder(sim);
  assert.deepEqual(await client.cancelOrder!({ orderExternalId: String(o.id), reason: 'customer asked' }), {
    externalRef: String(o.id),
  });
  assert.equal(sim.orders.get(o.id)!.status, 'cancelled');
  assert.deepEqual(
    sim.notes.get(o.id)?.map((n) => [n.note, n.customer_note]),
    [['Cancelled through Resolve. customer asked', false]],
  );
  await client.cancelOrder!({ orderExternalId: String(o.id), reason: 'retry' });
  assert.equal(calls(sim, 'PUT', /\/orders\/\d+$/).length, 1, 'a retry changes nothing');
  const done = seedOrder(sim);
  sim.completeOrder(done.id);
  await rejects(client.cancelOrder!({ orderExternalId: String(done.id), reason: 'late' }), 'rejected');

  const p = seedOrder(sim);
  const address = {
    name: 'Kim van Berg',
    company: null,
    address_line_1: 'Hauptstr. 5',
    address_line_2: null,
    city: 'Hamburg',
    zip_code: '20095',
    province: null,
    country_code: 'de',
    phone: '+49 40 1',
  };
  assert.deepEqual(await client.changeShippingAddress!({ orderExternalId: String(p.id), address }), {
    externalRef: String(p.id),
  });
  assert.deepEqual(sim.orders.get(p.id)!.shipping, {
    first_name: 'Kim',
    last_name: 'van Berg',
    company: '',
    address_1: 'Hauptstr. 5',
    address_2: '',
    city: 'Hamburg',
    state: '',
    postcode: '20095',
    country: 'DE',
    phone: '+49 40 1',
  });
  const doc = assertValid(await client.getOrder(String(p.id)));
  assert.deepEqual(doc.shipping_address, { ...address, country_code: 'DE' });
  await rejects(client.changeShippingAddress!({ orderExternalId: '999999', address }), 'not_found');
  clean(sim);
});

test('stock check per line: managed, managed at the parent, unmanaged, out of stock, deleted', async (t) => {
  const { sim, client } = await setup(t);
  seedCatalog(sim);
  const o = seedOrder(sim, {
    lines: [
      TEE,
      MUG,
      { ...TEE, variationId: 12, name: 'T-Shirt - L' },
      { productId: 30, name: 'Poster', quantity: 1, price: 500 },
      { productId: 99, name: 'Gone', quantity: 1, price: 100 },
    ],
  });
  const got = await client.stockCheck!({
    orderExternalId: String(o.id),
    lines: o.lines.map((l) => ({ externalLineId: String(l.id), quantity: 1 })),
  });
  assert.deepEqual(
    got.map((x) => x.available),
    [7, null, 3, 0, 0],
  );
  assert.equal(calls(sim, 'GET', /^\/wp-json\/wc\/v3\/products\/10$/).length, 1, 'one read per product');
  assert.deepEqual(sim.unexpected, [], 'a deleted product is a 404, not a stray request');
});

test('429 with Retry-After is waited out through deps.sleep, bounded; 503 is retried only when safe', async (t) => {
  const { sim, client, sleeps, warnings, clock } = await setup(t, { rateLimit: { perSecond: 2 } });
  seedCatalog(sim);
  const o = seedOrder(sim);
  for (let i = 0; i < 3; i++) assert.ok(await client.getOrder(String(o.id)));
  assert.deepEqual(sleeps, [1000], 'third call waited the announced second');
  assert.equal(calls(sim, 'GET', /\/orders\/\d+$/).filter((r) => r.status === 429).length, 1);
  assert.equal(warnings.length, 1);

  sleeps.length = 0;
  sim.failNext(5, 429, '1');
  await assert.rejects(
    client.getOrder(String(o.id)),
    (e) => e instanceof PlatformError && e.kind === 'rate_limited' && e.retryAfterMs === 1000,
  );
  assert.deepEqual(sleeps, [1000, 1000, 1000, 1000], 'five attempts, then the job layer takes over');

  sleeps.length = 0;
  sim.failNext(1, 429, '120');
  await assert.rejects(
    client.getOrder(String(o.id)),
    (e) => e instanceof PlatformError && e.kind === 'rate_limited' && e.retryAfterMs === 120_000,
  );
  assert.deepEqual(sleeps, [], 'a long wait is not slept in the worker');

  clock.ms += 10_000; // the bucket refills; what follows is about the scripted answers only
  sim.failNext(1, 503, '2');
  assert.ok(await client.getOrder(String(o.id)));
  assert.deepEqual(sleeps, [2000]);
  sim.failNext(1, 503, '2', (m, p) => m === 'POST' && p.endsWith('/refunds'));
  await rejects(
    client.refund!({
      orderExternalId: String(o.id),
      lines: [{ externalLineId: String(o.lines[1].id), quantity: 1 }],
      includeShipping: false,
      reason: 'x',
      idempotencyKey: 'act_503',
    }),
    'unavailable',
  );
  assert.equal(sim.orders.get(o.id)!.refunds.length, 0);
  clean(sim);
});

test('unsupported: a gateway without API refunds; record-only refunds work when configured', async (t) => {
  const { sim, client } = await setup(t, { gatewayRefunds: false });
  seedCatalog(sim);
  const o = seedOrder(sim);
  const input = {
    orderExternalId: String(o.id),
    lines: [{ externalLineId: String(o.lines[1].id), quantity: 1 }],
    includeShipping: false,
    reason: 'x',
    idempotencyKey: 'act_gw',
  };
  await rejects(client.refund!(input), 'unsupported');
  const env2 = await setup(t, { gatewayRefunds: false }, { settings: { gateway_refunds: 'false' } });
  seedCatalog(env2.sim);
  const o2 = seedOrder(env2.sim);
  assert.equal(
    (
      await env2.client.refund!({
        ...input,
        orderExternalId: String(o2.id),
        lines: [{ externalLineId: String(o2.lines[1].id), quantity: 1 }],
      })
    ).amount,
    1189,
  );
  clean(sim);
  clean(env2.sim);
});

test('stores before WooCommerce 9.0 (no /refunds collection) fall back to per-order refund reads', async (t) => {
  const { sim, client } = await setup(t, { refundsCollection: false });
  seedCatalog(sim);
  const orders = [seedOrder(sim), seedOrder(sim), seedOrder(sim)];
  for (const o of orders.slice(0, 2))
    await merchantRefund(sim, o.id, {
      amount: '11.89',
      api_refund: false,
      line_items: [
        { id: o.lines[1].id, quantity: 1, refund_total: 9.99, refund_tax: [{ id: 1, refund_total: 1.9 }] },
      ],
    });
  const a = await client.listOrders({ cursor: null, pageSize: 100 });
  const b = await client.listOrders({ cursor: null, pageSize: 100 });
  for (const page of [a, b])
    assert.deepEqual(
      page.orders.map((d) => d.line_items[1].quantity_refunded),
      [1, 1, 0],
    );
  assert.equal(sim.unexpected.length, 1, 'only the first probe of /refunds');
  assert.match(sim.unexpected[0], /GET \/wp-json\/wc\/v3\/refunds.*rest_no_route/);
  assert.equal(calls(sim, 'GET', /\/orders\/\d+\/refunds$/).length, 4);
});
