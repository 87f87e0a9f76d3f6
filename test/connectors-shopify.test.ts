import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { PlatformClient, PlatformDeps } from '../src/connectors/platform.js';
import { PlatformError } from '../src/connectors/platform.js';
import { API_VERSION, shopifyConnector } from '../src/connectors/shopify/index.js';
import { normalizeOrder, type OrderInputT } from '../src/orders/document.js';
import { ShopifySimulator, SIM_API_VERSION, type SimOptions } from './simulators/shopify.js';

const T0 = Date.UTC(2026, 10, 20, 12);
const iso = (h: number) => new Date(T0 + h * 3_600_000).toISOString();
const SECRET = 'shpss_test_secret';

interface Harness {
  sim: ShopifySimulator;
  client: PlatformClient;
  waits: number[];
  deps: PlatformDeps;
  connect(over?: { token?: string; secret?: string; fetch?: typeof fetch }): PlatformClient;
}

/** A fresh simulator with a fake clock that the connector's fake sleep advances; no unexpected request allowed. */
async function withShop(opts: SimOptions, body: (h: Harness) => Promise<void>) {
  let clock = T0;
  const sim = await ShopifySimulator.start({ now: () => clock, clientSecret: SECRET, ...opts });
  const waits: number[] = [];
  const deps: PlatformDeps = {
    fetch,
    now: () => new Date(clock),
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    log: { info() {}, warn() {} },
  };
  const connect: Harness['connect'] = (over = {}) =>
    shopifyConnector.create(
      {
        settings: { shop_domain: 'acme.myshopify.com', api_base_url: sim.url },
        credentials: { access_token: over.token ?? sim.accessToken, webhook_secret: over.secret ?? SECRET },
      },
      { ...deps, fetch: over.fetch ?? fetch },
    );
  try {
    await body({ sim, client: connect(), waits, deps, connect });
    assert.deepEqual(sim.unexpected, [], 'the simulator saw unexpected requests');
  } finally {
    await sim.close();
  }
}

const rejects = (p: Promise<unknown>, kind: string) =>
  assert.rejects(p, (e: unknown) => e instanceof PlatformError && e.kind === kind);

async function drain(client: PlatformClient, q: { createdSince?: Date; updatedSince?: Date }, pageSize = 50) {
  const all: OrderInputT[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await client.listOrders({ ...q, cursor, pageSize });
    all.push(...page.orders);
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  return { all, pages };
}

test('the connector and the simulator pin the same API version', () => {
  assert.equal(API_VERSION, SIM_API_VERSION);
  assert.deepEqual(
    shopifyConnector.manifest.settingsFields.map((f) => f.key),
    ['shop_domain', 'api_base_url'],
  );
  assert.deepEqual(
    shopifyConnector.manifest.credentialFields.map((f) => f.key),
    ['access_token', 'webhook_secret'],
  );
});

test('testConnection answers the shop name; a wrong token is auth_failed', () =>
  withShop({}, async ({ sim, client, connect }) => {
    assert.deepEqual(await client.testConnection(), { shopName: 'Acme Outfitters' });
    await rejects(connect({ token: 'shpat_wrong' }).testConnection(), 'auth_failed');
    assert.equal(sim.authFailures, 1);
  }));

test('a bad shop domain is rejected when connecting', () => {
  assert.throws(
    () =>
      shopifyConnector.create(
        { settings: { shop_domain: 'evil.com' }, credentials: { access_token: 'x' } },
        {} as PlatformDeps,
      ),
    (e: unknown) => e instanceof PlatformError && e.kind === 'rejected',
  );
});

test('backfill pages 120 orders by cursor from createdSince, every document accepted by the upsert', () =>
  withShop({}, async ({ sim, client }) => {
    sim.seedOrders(5, Date.UTC(2026, 5, 1)); // before the window
    const inWindow = sim.seedOrders(120, Date.UTC(2026, 9, 1));
    const { all, pages } = await drain(client, { createdSince: new Date(Date.UTC(2026, 8, 1)) });
    assert.deepEqual(
      all.map((o) => o.external_id),
      inWindow.map((o) => o.gid),
      'all 120, oldest first, no others',
    );
    for (const doc of all) normalizeOrder(doc);
    // The page size follows the requested cost: 6 orders × 162 points stay under the 1,000-point query limit.
    assert.equal(pages, 20);
    const list = sim.requests.filter((r) => r.operation === 'ResolveListOrders');
    assert.ok(list.every((r) => (r.requestedCost ?? 0) <= 1000 && r.variables.sortKey === 'CREATED_AT'));
    assert.equal(sim.throttled, 0);
  }));

test('reconcile by updatedSince returns only the orders changed since, by update time', () =>
  withShop({}, async ({ sim, client }) => {
    const orders = sim.seedOrders(30, Date.UTC(2026, 9, 1));
    const f = sim.fulfil(orders[7], { at: iso(1) });
    sim.event(f, 'IN_TRANSIT', iso(3));
    orders[3].updatedAt = iso(2);
    const { all } = await drain(client, { updatedSince: new Date(T0) });
    assert.deepEqual(
      all.map((o) => o.external_id),
      [orders[3].gid, orders[7].gid],
    );
    assert.equal(sim.requests.at(-1)?.variables.sortKey, 'UPDATED_AT');
  }));

test('getOrder maps money, addresses, GIDs, refunds, partial fulfilments and carrier phases', () =>
  withShop({}, async ({ sim, client }) => {
    const o = sim.addOrder({
      locale: 'de-DE',
      tags: ['vip'],
      email: 'kim@example.com',
      phone: '+4930123',
      shippingPrice: 495,
      shippingAddress: {
        firstName: 'Kim',
        lastName: 'Berg',
        address1: 'Invalidenstr. 1',
        city: 'Berlin',
        zip: '10115',
        countryCode: 'DE',
        provinceCode: 'BE',
      },
      lines: [
        {
          title: 'T-shirt',
          variantTitle: 'M',
          sku: 'TEE-M',
          quantity: 2,
          price: 1999,
          discount: 400,
          tax: 638,
          imageUrl: 'https://cdn.example/tee.png',
        },
        { title: 'Mug', quantity: 1, price: 1250, tax: 200, variant: false },
      ],
    });
    const delivered = sim.fulfil(o, {
      lines: [[0, 2]],
      company: 'DHL Express',
      number: '00340434',
      url: 'https://dhl.example/00340434',
      at: iso(-48),
    });
    sim.event(delivered, 'CONFIRMED', iso(-48));
    sim.event(delivered, 'IN_TRANSIT', iso(-40), {
      city: 'Berlin',
      country: 'DE',
      message: 'Parcel picked up',
    });
    sim.event(delivered, 'OUT_FOR_DELIVERY', iso(-26));
    sim.event(delivered, 'DELIVERED', iso(-24), { city: 'Berlin' });
    const moving = sim.fulfil(o, { lines: [[1, 1]], company: 'UPS', number: '1Z999', at: iso(-20) });
    sim.event(moving, 'IN_TRANSIT', iso(-10));

    const doc = await client.getOrder(o.gid);
    assert.ok(doc);
    assert.equal(doc.external_id, o.gid);
    assert.equal(doc.order_number, o.name.slice(1));
    assert.equal(doc.order_name, o.name);
    assert.equal(doc.language, 'de-DE');
    assert.deepEqual(doc.tags, ['vip']);
    assert.deepEqual(doc.totals, {
      subtotal: 2 * 1999 - 400 + 1250,
      shipping: 495,
      discount: 400,
      tax: 838,
      total: 4848 + 495 + 838,
    });
    assert.deepEqual(doc.shipping_address, {
      name: 'Kim Berg',
      company: null,
      address_line_1: 'Invalidenstr. 1',
      address_line_2: null,
      city: 'Berlin',
      zip_code: '10115',
      province: 'BE',
      country_code: 'DE',
      phone: null,
    });
    assert.deepEqual(doc.customer, {
      external_id: o.customer!.gid,
      email: 'kim@example.com',
      first_name: 'Kim',
      last_name: 'Berg',
      phone: '+4930123',
    });
    const [tee, mug] = doc.line_items;
    assert.deepEqual(
      {
        ...tee,
        product_id: tee.product_id?.startsWith('gid://shopify/Product/'),
        variant_id: tee.variant_id === o.lines[0].variantGid,
      },
      {
        external_id: o.lines[0].gid,
        sku: 'TEE-M',
        title: 'T-shirt',
        variant_title: 'M',
        quantity: 2,
        quantity_refunded: 0,
        unit_price: 1999,
        discount: 400,
        tax: 638,
        image_url: 'https://cdn.example/tee.png',
        product_id: true,
        variant_id: true,
      },
    );
    assert.equal(mug.variant_id, null);
    assert.equal(doc.shipments?.length, 2, 'two fulfilments, two shipments');
    const [s1, s2] = doc.shipments!;
    assert.deepEqual(
      {
        id: s1.external_id,
        carrier: s1.carrier,
        nr: s1.tracking_number,
        url: s1.tracking_url,
        phase: s1.phase,
        at: s1.delivered_at,
        lines: s1.line_items,
      },
      {
        id: delivered.gid,
        carrier: 'DHL Express',
        nr: '00340434',
        url: 'https://dhl.example/00340434',
        phase: 'delivered',
        at: iso(-24),
        lines: [{ external_id: o.lines[0].gid, quantity: 2 }],
      },
    );
    assert.deepEqual(
      s1.events?.map((e) => [e.code, e.phase]),
      [
        ['confirmed', 'order_processed'],
        ['in_transit', 'in_transit'],
        ['out_for_delivery', 'in_delivery'],
        ['delivered', 'delivered'],
      ],
    );
    assert.deepEqual(s1.events?.[1], {
      time: iso(-40),
      code: 'in_transit',
      phase: 'in_transit',
      description: 'Parcel picked up',
      location: 'Berlin, DE',
    });
    assert.deepEqual(
      [s2.phase, s2.delivered_at, s2.carrier, s2.line_items],
      ['in_transit', null, 'UPS', [{ external_id: o.lines[1].gid, quantity: 1 }]],
    );
    assert.equal(normalizeOrder(doc).state, 'fulfilled');
  }));

test('zero- and three-decimal currencies, refunded units, cancelled and unknown orders', () =>
  withShop({}, async ({ sim, client }) => {
    const yen = sim.addOrder({
      currency: 'JPY',
      lines: [{ title: 'Tea', quantity: 3, price: 1500, tax: 450 }],
      shippingPrice: 800,
    });
    const doc = await client.getOrder(yen.gid);
    assert.deepEqual(
      [doc?.currency, doc?.line_items[0].unit_price, doc?.totals?.total],
      ['JPY', 1500, 4500 + 450 + 800],
    );
    const kwd = sim.addOrder({ currency: 'KWD', lines: [{ title: 'Dates', quantity: 1, price: 12_345 }] });
    assert.equal((await client.getOrder(kwd.gid))?.line_items[0].unit_price, 12_345, '12.345 KWD');

    const refunded = sim.addOrder({ lines: [{ title: 'Socks', quantity: 3, price: 500 }] });
    await client.refund!({
      orderExternalId: refunded.gid,
      lines: [{ externalLineId: refunded.lines[0].gid, quantity: 1 }],
      includeShipping: false,
      reason: 'damaged',
      idempotencyKey: 'k-socks',
    });
    assert.equal((await client.getOrder(refunded.gid))?.line_items[0].quantity_refunded, 1);

    const gone = sim.addOrder({ lines: [{ title: 'Hat', quantity: 1, price: 900 }] });
    await client.cancelOrder!({ orderExternalId: gone.gid, reason: 'customer changed mind' });
    const cancelled = await client.getOrder(gone.gid);
    assert.equal(cancelled?.cancelled_at, gone.cancelledAt);
    assert.equal(normalizeOrder(cancelled!).state, 'cancelled');

    assert.equal(await client.getOrder('gid://shopify/Order/424242'), null);
    assert.equal(await client.getOrder('5123'), null, 'not an order GID: no request at all');
  }));

test('orders with more lines than one query fetches are completed by follow-up pages', () =>
  withShop({}, async ({ sim, client }) => {
    const big = sim.addOrder({
      lines: Array.from({ length: 23 }, (_, i) => ({ title: `Item ${i}`, quantity: 1, price: 100 + i })),
    });
    sim.fulfil(big);
    const doc = await client.getOrder(big.gid);
    assert.equal(doc?.line_items.length, 23);
    assert.equal(doc?.shipments?.[0].line_items.length, 23);
    const ops = sim.requests.map((r) => r.operation);
    assert.deepEqual(ops, ['ResolveGetOrder', 'ResolveOrderLinesPage', 'ResolveFulfillmentLinesPage']);
  }));

/** A receiver that keeps the raw bytes and headers of what it is sent, like the app's webhook route. */
async function receiver() {
  const got: { raw: Buffer; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    got.push({ raw: Buffer.concat(chunks), headers: req.headers });
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/shopify`;
  return { got, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('webhooks: verified on the raw body; forged, wrongly signed, foreign or unsigned ones are null', () =>
  withShop({}, async ({ sim, client, connect }) => {
    const rx = await receiver();
    try {
      const o = sim.addOrder({ lines: [{ title: 'Cap', quantity: 1, price: 1500 }] });
      const f = sim.fulfil(o);
      const delivery = sim.webhook('orders/updated', o.gid);
      assert.equal(await sim.deliver(rx.url, delivery), 200);
      assert.equal(await sim.deliver(rx.url, sim.redeliver(delivery)), 200);
      const [first, retry] = rx.got;
      const hook = client.verifyWebhook!(first.raw, first.headers);
      assert.deepEqual(hook, {
        eventId: `orders/updated:${delivery.headers['x-shopify-event-id']}`,
        topic: 'orders/updated',
        orderExternalId: o.gid,
      });
      assert.notEqual(first.headers['x-shopify-webhook-id'], retry.headers['x-shopify-webhook-id']);
      assert.equal(
        client.verifyWebhook!(retry.raw, retry.headers)?.eventId,
        hook?.eventId,
        'a retry dedupes to the same id',
      );

      const forged = Buffer.from(first.raw.toString().replace(o.name, '#9999'));
      assert.equal(client.verifyWebhook!(forged, first.headers), null, 'body changed after signing');
      assert.equal(
        connect({ secret: 'another-secret' }).verifyWebhook!(first.raw, first.headers),
        null,
        'wrong secret',
      );
      const { 'x-shopify-hmac-sha256': _h, ...unsigned } = first.headers;
      assert.equal(client.verifyWebhook!(first.raw, unsigned), null, 'missing signature');
      const other = sim.webhook('orders/updated', o.gid, { shopDomain: 'other.myshopify.com' });
      assert.equal(client.verifyWebhook!(other.body, other.headers), null, 'same app secret, other shop');

      const fh = sim.webhook('fulfillments/update', f.gid);
      assert.equal(
        client.verifyWebhook!(fh.body, fh.headers)?.orderExternalId,
        o.gid,
        'fulfilment → its order_id',
      );
      const refund = await client.refund!({
        orderExternalId: o.gid,
        lines: [{ externalLineId: o.lines[0].gid, quantity: 1 }],
        includeShipping: false,
        reason: 'x',
        idempotencyKey: 'k-hook',
      });
      const rh = sim.webhook('refunds/create', refund.externalId);
      assert.equal(
        client.verifyWebhook!(rh.body, rh.headers)?.orderExternalId,
        o.gid,
        'refund → its order_id',
      );
    } finally {
      await rx.close();
    }
  }));

test('registerWebhooks subscribes the sync topics once', () =>
  withShop({}, async ({ sim, client }) => {
    await client.registerWebhooks!('https://resolve.example/v1/hooks/shopify/acme');
    await client.registerWebhooks!('https://resolve.example/v1/hooks/shopify/acme');
    assert.deepEqual(sim.subscriptions.map((s) => s.topic).sort(), [
      'FULFILLMENTS_CREATE',
      'FULFILLMENTS_UPDATE',
      'ORDERS_CANCELLED',
      'ORDERS_CREATE',
      'ORDERS_UPDATED',
      'REFUNDS_CREATE',
    ]);
    await rejects(client.registerWebhooks!('http://insecure.example/hooks'), 'rejected');
  }));

test('refund per line, with and without shipping, partial quantity, through suggestedRefund', () =>
  withShop({}, async ({ sim, client }) => {
    const o = sim.addOrder({
      shippingPrice: 495,
      lines: [
        { title: 'Tee', quantity: 2, price: 2000, tax: 760 },
        { title: 'Mug', quantity: 1, price: 1000 },
      ],
    });
    const one = await client.refund!({
      orderExternalId: o.gid,
      lines: [{ externalLineId: o.lines[0].gid, quantity: 1 }],
      includeShipping: false,
      reason: 'damaged in transit',
      idempotencyKey: 'act_1',
    });
    assert.deepEqual({ amount: one.amount, currency: one.currency }, { amount: 2000 + 380, currency: 'EUR' });
    const withShipping = await client.refund!({
      orderExternalId: o.gid,
      lines: [{ externalLineId: o.lines[1].gid, quantity: 1 }],
      includeShipping: true,
      reason: 'lost',
      idempotencyKey: 'act_2',
    });
    assert.equal(withShipping.amount, 1000 + 495);
    assert.equal(o.refunds.length, 2);
    assert.deepEqual(
      o.refunds.map((r) => [r.lines, r.shipping, r.note]),
      [
        [
          [{ lineGid: o.lines[0].gid, quantity: 1, restockType: 'NO_RESTOCK' }],
          0,
          'damaged in transit [resolve:act_1]',
        ],
        [[{ lineGid: o.lines[1].gid, quantity: 1, restockType: 'NO_RESTOCK' }], 495, 'lost [resolve:act_2]'],
      ],
    );
    const create = sim.requests.filter((r) => r.operation === 'ResolveRefundCreate');
    const tx = (create[0].variables.input as { transactions: Record<string, unknown>[] }).transactions;
    assert.deepEqual(tx, [
      { orderId: o.gid, parentId: o.transactions[0].gid, gateway: 'manual', kind: 'REFUND', amount: '23.8' },
    ]);
    await rejects(
      client.refund!({
        orderExternalId: 'gid://shopify/Order/1',
        lines: [{ externalLineId: 'x', quantity: 1 }],
        includeShipping: false,
        reason: '',
        idempotencyKey: 'k',
      }),
      'not_found',
    );
  }));

test('a retried refund with the same idempotency key refunds once, also when both attempts race', () =>
  withShop({}, async ({ sim, client }) => {
    const o = sim.addOrder({ lines: [{ title: 'Lamp', quantity: 1, price: 5000 }] });
    const input = {
      orderExternalId: o.gid,
      lines: [{ externalLineId: o.lines[0].gid, quantity: 1 }],
      includeShipping: false,
      reason: 'broken',
      idempotencyKey: 'act_lamp',
    };
    const first = await client.refund!(input);
    const again = await client.refund!(input);
    assert.deepEqual(again, first);
    assert.equal(o.refunds.length, 1, 'the note carries the key: the retry finds the refund');
    assert.equal(sim.requests.filter((r) => r.operation === 'ResolveRefundCreate').length, 1);

    const p = sim.addOrder({ lines: [{ title: 'Chair', quantity: 1, price: 9000 }] });
    const race = {
      ...input,
      orderExternalId: p.gid,
      lines: [{ externalLineId: p.lines[0].gid, quantity: 1 }],
      idempotencyKey: 'act_chair',
    };
    const [a, b] = await Promise.all([client.refund!(race), client.refund!(race)]);
    assert.equal(a.externalId, b.externalId);
    assert.equal(
      p.refunds.length,
      1,
      'both passed the note check; the @idempotent key made Shopify create one refund',
    );
  }));

test('replacement: a zero-priced completed draft order for the lines, once per key', () =>
  withShop({}, async ({ sim, client }) => {
    const o = sim.addOrder({
      lines: [
        { title: 'Vase', quantity: 2, price: 3500 },
        { title: 'Engraving', quantity: 1, price: 900, variant: false },
      ],
    });
    const input = {
      orderExternalId: o.gid,
      lines: [
        { externalLineId: o.lines[0].gid, quantity: 1 },
        { externalLineId: o.lines[1].gid, quantity: 1 },
      ],
      note: 'Broken on arrival',
      idempotencyKey: 'act_vase',
    };
    const made = await client.createReplacement!(input);
    const replacement = sim.findOrder(made.externalId)!;
    assert.equal(made.orderNumber, replacement.name.slice(1));
    assert.equal(replacement.transactions.length, 0, 'nothing to pay');
    assert.deepEqual(
      replacement.lines.map((l) => [l.quantity, l.price * l.quantity - l.discount, l.variantGid]),
      [
        [1, 0, o.lines[0].variantGid],
        [1, 0, null],
      ],
    );
    assert.ok(
      replacement.note?.includes('[resolve:act_vase]') && replacement.tags.includes('resolve-replacement'),
    );
    assert.deepEqual(replacement.shippingAddress?.zip, '10115');
    assert.deepEqual(await client.createReplacement!(input), made, 'a retry finds the draft by its tag');
    assert.equal(sim.drafts.length, 1);
    assert.equal(sim.orders.length, 2);
  }));

test('cancel an unfulfilled order (once), refuse a fulfilled one', () =>
  withShop({}, async ({ sim, client }) => {
    const o = sim.addOrder({ lines: [{ title: 'Boots', quantity: 1, price: 12000 }], shippingPrice: 500 });
    const res = await client.cancelOrder!({ orderExternalId: o.gid, reason: 'customer' });
    assert.match(res.externalRef ?? '', /^gid:\/\/shopify\/Job\//);
    assert.equal(o.cancelReason, 'CUSTOMER');
    assert.equal(o.refunds[0].amount, 12500, 'refunded to the original payment method');
    assert.deepEqual(await client.cancelOrder!({ orderExternalId: o.gid, reason: 'customer' }), {
      externalRef: null,
    });
    assert.equal(sim.requests.filter((r) => r.operation === 'ResolveOrderCancel').length, 1);
    const shipped = sim.addOrder({ lines: [{ title: 'Scarf', quantity: 1, price: 3000 }] });
    sim.fulfil(shipped);
    await rejects(client.cancelOrder!({ orderExternalId: shipped.gid, reason: 'too late' }), 'rejected');
    await rejects(
      client.cancelOrder!({ orderExternalId: 'gid://shopify/Order/1', reason: 'x' }),
      'not_found',
    );
  }));

test('change the shipping address: the whole MailingAddressInput replaces the old one', () =>
  withShop({}, async ({ sim, client }) => {
    const o = sim.addOrder({ lines: [{ title: 'Desk', quantity: 1, price: 25000 }] });
    const address = {
      name: 'Kim Anna Berg',
      company: 'Acme',
      address_line_1: 'Torstr. 5',
      address_line_2: 'HH',
      city: 'Berlin',
      zip_code: '10119',
      province: 'BE',
      country_code: 'de',
      phone: '+4930',
    };
    assert.deepEqual(await client.changeShippingAddress!({ orderExternalId: o.gid, address }), {
      externalRef: o.gid,
    });
    assert.deepEqual(o.shippingAddress, {
      firstName: 'Kim',
      lastName: 'Anna Berg',
      company: 'Acme',
      address1: 'Torstr. 5',
      address2: 'HH',
      city: 'Berlin',
      provinceCode: 'BE',
      zip: '10119',
      countryCode: 'DE',
      phone: '+4930',
    });
    assert.equal((await client.getOrder(o.gid))?.shipping_address?.zip_code, '10119');
    await rejects(
      client.changeShippingAddress!({ orderExternalId: 'gid://shopify/Order/1', address }),
      'not_found',
    );
  }));

test('stock check sums available units over locations; untracked and custom lines are null', () =>
  withShop({}, async ({ sim, client }) => {
    const o = sim.addOrder({
      lines: [
        { title: 'Tracked', quantity: 1, price: 100, variant: { stock: [3, 4] } },
        { title: 'Untracked', quantity: 1, price: 100, variant: { stock: null } },
        { title: 'Custom', quantity: 1, price: 100, variant: false },
      ],
    });
    const lines = o.lines.map((l) => ({ externalLineId: l.gid, quantity: 1 }));
    assert.deepEqual(await client.stockCheck!({ orderExternalId: o.gid, lines }), [
      { externalLineId: o.lines[0].gid, available: 7 },
      { externalLineId: o.lines[1].gid, available: null },
      { externalLineId: o.lines[2].gid, available: null },
    ]);
  }));

test('unsupported: no read_inventory scope for stock, no payment to refund', () =>
  withShop({ scopes: ['read_orders', 'write_orders'] }, async ({ sim, client }) => {
    const o = sim.addOrder({ lines: [{ title: 'Kite', quantity: 1, price: 4000 }] });
    await rejects(
      client.stockCheck!({
        orderExternalId: o.gid,
        lines: [{ externalLineId: o.lines[0].gid, quantity: 1 }],
      }),
      'unsupported',
    );
    const unpaid = sim.addOrder({ paid: false, lines: [{ title: 'Kite', quantity: 1, price: 4000 }] });
    await rejects(
      client.refund!({
        orderExternalId: unpaid.gid,
        lines: [{ externalLineId: unpaid.lines[0].gid, quantity: 1 }],
        includeShipping: false,
        reason: '',
        idempotencyKey: 'k',
      }),
      'unsupported',
    );
  }));

test('cost throttling: with a small bucket the client waits instead of failing', () =>
  withShop({ bucket: { max: 1000, restoreRate: 10 } }, async ({ sim, client, waits }) => {
    sim.seedOrders(40, Date.UTC(2026, 9, 1));
    const { all } = await drain(client, {});
    assert.equal(all.length, 40);
    assert.equal(sim.throttled, 0, 'never sent a query the bucket could not hold');
    assert.ok(waits.length > 0 && waits.every((ms) => ms > 0));
    // Each wait is what the bucket needs to restore the next page's requested cost at 10 points/s.
    const list = sim.requests.filter((r) => r.operation === 'ResolveListOrders');
    assert.ok(
      waits.reduce((n, ms) => n + ms, 0) >=
        ((list.reduce((n, r) => n + (r.actualCost ?? 0), 0) - 1000) / 10) * 1000 - 1000,
    );
  }));

test('a THROTTLED answer is retried after the wait the throttle status implies', () =>
  withShop({ bucket: { max: 1000, restoreRate: 50 } }, async ({ sim, client, waits }) => {
    const o = sim.addOrder({ lines: [{ title: 'Kettle', quantity: 1, price: 3000 }] });
    assert.ok(await client.getOrder(o.gid));
    sim.drainBucket(950); // another worker of the app spent the bucket; the client's view is stale
    const doc = await client.getOrder(o.gid);
    assert.equal(doc?.external_id, o.gid);
    assert.equal(sim.throttled, 1);
    const [throttled, retried] = sim.requests.slice(-2);
    assert.deepEqual([throttled.throttled, retried.throttled, retried.status], [true, false, 200]);
    assert.equal(waits.length, 1);
    assert.ok(
      waits[0] >= ((162 - 50) / 50) * 1000 && waits[0] <= (162 / 50) * 1000 + 1000,
      `waited ${waits[0]} ms`,
    );
  }));

test('clients of one shop share the bucket they learned: a new client paces instead of being throttled', () =>
  withShop({ bucket: { max: 1000, restoreRate: 50 } }, async ({ sim, client, connect, waits }) => {
    sim.seedOrders(30, Date.UTC(2026, 9, 1));
    await client.listOrders({ cursor: null, pageSize: 6 });
    await client.listOrders({ cursor: null, pageSize: 6 });
    const fresh = connect(); // e.g. the next sync job
    await fresh.listOrders({ cursor: null, pageSize: 6 });
    assert.equal(sim.throttled, 0);
    assert.equal(waits.length, 2);
  }));

test('HTTP failures map to the port vocabulary', () =>
  withShop({}, async ({ connect }) => {
    const answer = (status: number) => (async () => new Response('{}', { status })) as typeof fetch;
    await rejects(connect({ fetch: answer(503) }).testConnection(), 'unavailable');
    await rejects(connect({ fetch: answer(403) }).testConnection(), 'auth_failed');
    await rejects(connect({ fetch: answer(404) }).testConnection(), 'not_found');
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    await rejects(connect({ fetch: down }).testConnection(), 'unavailable');
  }));
