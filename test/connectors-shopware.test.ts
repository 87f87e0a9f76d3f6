import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { PlatformClient, PlatformDeps } from '../src/connectors/platform.js';
import { PlatformError } from '../src/connectors/platform.js';
import { shopwareConnector } from '../src/connectors/shopware/index.js';
import { fromMinor, toMinor } from '../src/connectors/shopware/mappers.js';
import { bodyValidator } from '../src/http/validation.js';
import { normalizeOrder, OrderInput, type OrderInputT } from '../src/orders/document.js';
import {
  type OrderSpec,
  type ShopwareSim,
  type ShopwareSimOptions,
  startShopwareSim,
} from './simulators/shopware.js';

/**
 * Contract suite of the Shopware 6 connector against the Admin API simulator (no database). Every test ends by
 * asserting the simulator saw no request it did not expect.
 */

// A copy without `$id`: the app registers OrderInput under that id in the same validator.
const { $id: _id, ...orderInputSchema } = OrderInput as typeof OrderInput & { $id?: string };
const validDoc = bodyValidator(orderInputSchema);
const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const MIN = 60_000;

interface Ctx {
  sim: ShopwareSim;
  client: PlatformClient;
  clock: { t: number };
  sleeps: number[];
  warnings: object[];
}
let open: Ctx[] = [];

afterEach(async () => {
  const done = open;
  open = [];
  for (const c of done) await c.sim.close();
  for (const c of done)
    assert.deepEqual(c.sim.unexpected, [], 'the simulator saw requests it did not expect');
});

async function setup(opts: ShopwareSimOptions = {}, credentials: Record<string, string> = {}): Promise<Ctx> {
  const clock = { t: T0 };
  const sleeps: number[] = [];
  const warnings: object[] = [];
  const sim = await startShopwareSim({ now: () => clock.t, ...opts });
  const deps: PlatformDeps = {
    fetch,
    now: () => new Date(clock.t),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.t += ms;
    },
    log: { info() {}, warn: (obj) => warnings.push(obj) },
  };
  const client = shopwareConnector.create(
    {
      settings: { api_url: sim.url },
      credentials: {
        client_id: sim.clientId,
        client_secret: sim.clientSecret,
        app_secret: sim.appSecret,
        ...credentials,
      },
    },
    deps,
  );
  const ctx = { sim, client, clock, sleeps, warnings };
  open.push(ctx);
  return ctx;
}

async function rejects(p: Promise<unknown>, kind: string, message?: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PlatformError, `expected PlatformError, got ${err}`);
    assert.equal(err.kind, kind, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** The document the connector hands Resolve is one Resolve's own upsert accepts. */
function assertValidDoc(doc: OrderInputT | null): OrderInputT {
  assert.ok(doc);
  assert.ok(validDoc(doc), JSON.stringify(validDoc.errors));
  normalizeOrder(doc);
  return doc;
}

const tokenRequests = (sim: ShopwareSim) => sim.count('POST', '/api/oauth/token');

describe('connection and tokens', () => {
  test('manifest names the settings and credentials a merchant enters', () => {
    const m = shopwareConnector.manifest;
    assert.equal(m.id, 'shopware');
    assert.deepEqual(
      m.settingsFields.map((f) => f.key),
      ['api_url'],
    );
    assert.deepEqual(
      m.credentialFields.map((f) => f.key),
      ['client_id', 'client_secret', 'app_secret'],
    );
    assert.ok(m.capabilities.includes('read_orders') && m.capabilities.includes('refund'));
  });

  test('testConnection answers the shop name; a wrong secret is auth_failed', async () => {
    const { client, sim } = await setup();
    assert.deepEqual(await client.testConnection(), { shopName: 'Sim Shop' });
    const bad = shopwareConnector.create(
      {
        settings: { api_url: `${sim.url}/` },
        credentials: { client_id: sim.clientId, client_secret: 'wrong' },
      },
      { fetch, now: () => new Date(), sleep: async () => {}, log: { info() {}, warn() {} } },
    );
    await rejects(bad.testConnection(), 'auth_failed', /credentials/);
  });

  test('a token is reused until shortly before it expires, then fetched again', async () => {
    const { client, sim, clock } = await setup();
    const o = sim.createOrder();
    await client.getOrder(o.id);
    await client.getOrder(o.id);
    assert.equal(tokenRequests(sim), 1);
    clock.t += 571_000; // 600 s lifetime, refreshed 30 s early
    await client.getOrder(o.id);
    assert.equal(tokenRequests(sim), 2);
    assert.equal(
      sim.log.filter((l) => l.status === 401).length,
      0,
      'refreshed before Shopware had to refuse it',
    );
  });

  test('a token the shop refuses early is replaced once; refused again is auth_failed', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder();
    await client.getOrder(o.id);
    sim.revokeTokens();
    assert.ok(await client.getOrder(o.id));
    assert.equal(tokenRequests(sim), 2);
    sim.control.denyTokens = true;
    await rejects(client.getOrder(o.id), 'auth_failed');
    assert.equal(tokenRequests(sim), 3, 'exactly one re-authentication');
  });

  test('429 is waited out per Retry-After; endless 429 becomes rate_limited', async () => {
    const { client, sim, sleeps } = await setup();
    const o = sim.createOrder();
    sim.force429(2, 3);
    assert.ok(await client.getOrder(o.id));
    assert.deepEqual(sleeps, [3000, 3000]);
    sim.force429(50, 7);
    await assert.rejects(
      client.getOrder(o.id),
      (e: PlatformError) => e.kind === 'rate_limited' && e.retryAfterMs === 7000,
    );
    assert.equal(sleeps.length, 2 + 5, 'bounded: five waits, then give up');
  });

  test('a malformed shop URL is a setting to fix, reported on use', async () => {
    const client = shopwareConnector.create(
      { settings: { api_url: 'shop.example.com' }, credentials: { client_id: 'a', client_secret: 'b' } },
      { fetch, now: () => new Date(), sleep: async () => {}, log: { info() {}, warn() {} } },
    );
    await rejects(client.testConnection(), 'auth_failed', /api_url/);
  });

  test('5xx and network failures are unavailable; missing orders are null', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder();
    sim.failNext('POST', /^\/api\/search\/order$/, 503);
    await rejects(client.getOrder(o.id), 'unavailable', /503/);
    assert.equal(await client.getOrder('0'.repeat(32)), null);
    const before = sim.log.length;
    assert.equal(await client.getOrder('not-a-uuid'), null);
    assert.equal(sim.log.length, before, 'a non-UUID id cannot exist in Shopware: no request');
    const dead = shopwareConnector.create(
      { settings: { api_url: 'http://127.0.0.1:9' }, credentials: { client_id: 'a', client_secret: 'b' } },
      { fetch, now: () => new Date(), sleep: async () => {}, log: { info() {}, warn() {} } },
    );
    await rejects(dead.testConnection(), 'unavailable');
  });
});

describe('listOrders', () => {
  async function drain(
    client: PlatformClient,
    q: { createdSince?: Date; updatedSince?: Date },
    pageSize: number,
  ) {
    const out: OrderInputT[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await client.listOrders({ ...q, cursor, pageSize });
      out.push(...page.orders);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    return { orders: out, pages };
  }

  test('pages through 250 orders oldest first, each once, ties on the same millisecond included', async () => {
    const { client, sim } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) {
      // orders 95..104 share one timestamp, straddling the first page boundary
      const placedAt = new Date(T0 - (300 - (i >= 95 && i < 105 ? 95 : i)) * MIN);
      ids.push(sim.createOrder({ placedAt }).id);
    }
    const { orders, pages } = await drain(client, {}, 100);
    assert.equal(pages, 3);
    assert.equal(sim.count('POST', '/api/search/order'), 3, 'one request per page, no trailing empty page');
    assert.equal(orders.length, 250);
    assert.deepEqual(new Set(orders.map((o) => o.external_id)), new Set(ids));
    const times = orders.map((o) => Date.parse(o.placed_at));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
    for (const o of orders.slice(0, 3)) assertValidDoc(o);
  });

  test('small pages over orders that all share one timestamp return each exactly once', async () => {
    const { client, sim } = await setup();
    for (let i = 0; i < 7; i++) sim.createOrder({ placedAt: new Date(T0 - MIN) });
    const { orders, pages } = await drain(client, {}, 2);
    assert.equal(pages, 4);
    assert.equal(new Set(orders.map((o) => o.external_id)).size, 7);
  });

  test("a bulk import of 600 orders on one timestamp pages within Shopware's 500-row limit", async () => {
    const { client, sim } = await setup({ maxLimit: 500 });
    for (let i = 0; i < 600; i++) sim.createOrder({ placedAt: new Date(T0 - 86_400_000) });
    for (let i = 0; i < 5; i++) sim.createOrder({ placedAt: new Date(T0 - i * MIN) });
    const { orders, pages } = await drain(client, {}, 250);
    assert.equal(orders.length, 605);
    assert.equal(new Set(orders.map((o) => o.external_id)).size, 605);
    assert.equal(pages, 4);
  });

  test('createdSince filters on the order date; updatedSince sees changes to deliveries and the order', async () => {
    const { client, sim, clock } = await setup();
    const old = sim.createOrder({ placedAt: new Date(T0 - 10 * 86_400_000) });
    const oldShipped = sim.createOrder({ placedAt: new Date(T0 - 9 * 86_400_000) });
    const oldCancelled = sim.createOrder({ placedAt: new Date(T0 - 8 * 86_400_000) });
    const recent = sim.createOrder({ placedAt: new Date(T0 - 3_600_000) });
    const since = new Date(T0 - 2 * 86_400_000);
    const created = await drain(client, { createdSince: since }, 50);
    assert.deepEqual(
      created.orders.map((o) => o.external_id),
      [recent.id],
    );

    clock.t += MIN;
    const mark = new Date(clock.t);
    clock.t += MIN;
    sim.shipDelivery(oldShipped.id); // only the delivery row changes; order.updatedAt stays null
    sim.setOrderState(oldCancelled.id, 'cancelled');
    const updated = await drain(client, { updatedSince: mark }, 50);
    assert.deepEqual(
      new Set(updated.orders.map((o) => o.external_id)),
      new Set([oldShipped.id, oldCancelled.id]),
    );
    assert.ok(!updated.orders.some((o) => o.external_id === old.id));
    assert.equal(
      updated.orders.find((o) => o.external_id === oldShipped.id)?.shipments?.[0]?.phase,
      'in_transit',
    );
  });

  test('a forged cursor is rejected; an order without product lines is skipped with a warning, also by getOrder', async () => {
    const { client, sim, warnings } = await setup();
    await rejects(client.listOrders({ cursor: 'bm9wZQ', pageSize: 10 }), 'rejected');
    const o = sim.createOrder();
    o.lineItems = o.lineItems.filter((l: { type: string }) => l.type !== 'product');
    sim.createOrder();
    const page = await client.listOrders({ cursor: null, pageSize: 10 });
    assert.equal(page.orders.length, 1);
    assert.equal(warnings.length, 1);
    assert.equal(
      await client.getOrder(o.id),
      null,
      'answered like a missing order, not a connection-stopping error',
    );
    assert.equal(warnings.length, 2);
  });
});

describe('getOrder mapping', () => {
  test('money: floats become integer minor units per currency, rounding where the decimal says', () => {
    assert.equal(toMinor(19.99, 'EUR'), 1999);
    assert.equal(toMinor(0.1 + 0.2, 'EUR'), 30);
    assert.equal(toMinor(1.005, 'EUR'), 101);
    assert.equal(toMinor(1500, 'JPY'), 1500);
    assert.equal(toMinor(1.234, 'BHD'), 1234);
    assert.equal(fromMinor(1999, 'EUR'), 19.99);
    assert.equal(fromMinor(1500, 'JPY'), 1500);
  });

  test('an EUR order in detail: lines, totals, customer, addresses, language, tags', async () => {
    const { client, sim } = await setup();
    const spec: OrderSpec = {
      orderNumber: '10042',
      lines: [
        {
          label: 'T-Shirt',
          quantity: 2,
          unitPrice: 19.99,
          productNumber: 'TEE-M',
          options: [{ group: 'Size', option: 'M' }],
        },
        { label: 'Book', quantity: 1, unitPrice: 12.5, productNumber: 'BOOK-1', taxRate: 7 },
      ],
      promotion: 3,
      shipping: 4.95,
      address: {
        street: 'Invalidenstr. 1',
        zipcode: '10115',
        city: 'Berlin',
        countryIso: 'DE',
        stateCode: 'DE-BE',
      },
      tags: ['vip'],
    };
    const o = sim.createOrder(spec);
    const doc = assertValidDoc(await client.getOrder(o.id));
    assert.equal(doc.external_id, o.id);
    assert.equal(doc.order_number, '10042');
    assert.equal(doc.currency, 'EUR');
    assert.equal(doc.placed_at, new Date(T0).toISOString());
    assert.equal(doc.cancelled_at, null);
    assert.equal(doc.language, 'de-DE');
    assert.deepEqual(doc.tags, ['vip']);
    assert.deepEqual(doc.customer, {
      external_id: o.orderCustomer.customerId,
      email: 'kim@example.com',
      first_name: 'Kim',
      last_name: 'Berg',
      phone: '+49 30 123456',
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
      phone: '+49 30 123456',
    });
    assert.equal(doc.line_items.length, 2, 'the promotion line is not a line item');
    const [tee, book] = doc.line_items;
    assert.equal(tee.external_id, o.lineItems[0].id);
    assert.equal(tee.sku, 'TEE-M');
    assert.equal(tee.variant_title, 'Size: M');
    assert.equal(tee.quantity, 2);
    assert.equal(tee.unit_price, 1999);
    assert.equal(tee.tax, 638); // 39.98 gross at 19 %
    assert.equal(tee.product_id, o.lineItems[0].productId);
    assert.equal(tee.image_url, 'https://shop.example.com/media/0.jpg');
    assert.equal(book.unit_price, 1250);
    assert.equal(book.tax, 82);
    assert.deepEqual(doc.totals, { subtotal: 5248, shipping: 495, discount: 300, tax: 720, total: 5443 });
    assert.deepEqual(doc.shipments, [], 'an open delivery without tracking is not a shipment');
  });

  test('JPY has no minor digits; two deliveries are two shipments with their lines and states', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder({
      currency: 'JPY',
      lines: [
        { label: 'Tea', quantity: 3, unitPrice: 1500 },
        { label: 'Cup', quantity: 1, unitPrice: 2200 },
      ],
      shipping: 500,
      deliveries: [[0], [1]],
    });
    sim.shipDelivery(o.id, 0, ['JP123456789']);
    sim.shipDelivery(o.id, 1, ['JP987654321'], 'returned');
    const doc = assertValidDoc(await client.getOrder(o.id));
    assert.equal(doc.currency, 'JPY');
    assert.deepEqual(
      doc.line_items.map((l) => l.unit_price),
      [1500, 2200],
    );
    assert.equal(doc.totals?.total, 7200);
    assert.equal(doc.totals?.shipping, 500);
    assert.deepEqual(doc.shipments, [
      {
        external_id: o.deliveries[0].id,
        carrier: 'DHL Paket',
        tracking_number: 'JP123456789',
        tracking_url: 'https://www.dhl.de/track?piececode=JP123456789',
        phase: 'in_transit',
        delivered_at: null,
        line_items: [{ external_id: o.lineItems[0].id, quantity: 3 }],
      },
      {
        external_id: o.deliveries[1].id,
        carrier: 'DHL Paket',
        tracking_number: 'JP987654321',
        tracking_url: 'https://www.dhl.de/track?piececode=JP987654321',
        phase: 'returned',
        delivered_at: null,
        line_items: [{ external_id: o.lineItems[1].id, quantity: 1 }],
      },
    ]);
    assert.equal(normalizeOrder(doc).state, 'fulfilled');
  });

  test('delivery states: open with tracking is a label, cancelled is none; a cancelled order has cancelled_at', async () => {
    const { client, sim, clock } = await setup();
    const o = sim.createOrder({ deliveries: [[0], []] });
    sim.shipDelivery(o.id, 0, ['LABEL-1'], 'open');
    sim.shipDelivery(o.id, 1, ['X'], 'cancelled');
    clock.t += 5 * MIN;
    sim.setOrderState(o.id, 'cancelled');
    const doc = assertValidDoc(await client.getOrder(o.id));
    assert.deepEqual(
      doc.shipments?.map((s) => [s.tracking_number, s.phase]),
      [['LABEL-1', 'order_processed']],
    );
    assert.equal(doc.cancelled_at, new Date(T0 + 5 * MIN).toISOString());
    assert.equal(normalizeOrder(doc).state, 'cancelled');
  });

  test('a net-priced order keeps net unit prices and adds tax to the total', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder({
      taxStatus: 'net',
      lines: [{ label: 'Desk', quantity: 1, unitPrice: 100 }],
      shipping: 0,
    });
    const doc = assertValidDoc(await client.getOrder(o.id));
    assert.equal(doc.line_items[0].unit_price, 10000);
    assert.equal(doc.line_items[0].tax, 1900);
    assert.equal(doc.totals?.total, 11900);
  });
});

describe('webhooks', () => {
  test('a signed delivery-state event names the event, topic and order', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder();
    const w = sim.webhook('state_enter.order_delivery.state.shipped', {
      order: { id: o.id, orderNumber: o.orderNumber },
    });
    const got = client.verifyWebhook?.(w.rawBody, w.headers);
    assert.deepEqual(got, {
      eventId: w.headers['x-shopware-event-id'],
      topic: 'state_enter.order_delivery.state.shipped',
      orderExternalId: o.id,
    });
  });

  test('order.written carries primary keys (versioned: {id, versionId})', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder();
    const w = sim.webhook('order.written', [
      {
        entity: 'order',
        operation: 'update',
        primaryKey: { id: o.id, versionId: o.versionId },
        updatedFields: [],
      },
    ]);
    assert.equal(client.verifyWebhook?.(w.rawBody, w.headers)?.orderExternalId, o.id);
    const plain = sim.webhook('order.written', [{ entity: 'order', operation: 'insert', primaryKey: o.id }]);
    assert.equal(client.verifyWebhook?.(plain.rawBody, plain.headers)?.orderExternalId, o.id);
  });

  test('forged, wrongly signed and unsigned requests are null; a retry keeps its event id', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder();
    const w = sim.webhook('checkout.order.placed', { order: { id: o.id } }, { eventId: 'a'.repeat(32) });
    const forged = Buffer.from(w.rawBody.toString().replace(o.id, 'f'.repeat(32)));
    assert.equal(client.verifyWebhook?.(forged, w.headers), null);
    const wrong = sim.webhook(
      'checkout.order.placed',
      { order: { id: o.id } },
      { secret: 'not-the-app-secret' },
    );
    assert.equal(client.verifyWebhook?.(wrong.rawBody, wrong.headers), null);
    const unsigned = sim.webhook('checkout.order.placed', { order: { id: o.id } }, { sign: false });
    assert.equal(client.verifyWebhook?.(unsigned.rawBody, unsigned.headers), null);
    const garbage = { ...w.headers, 'shopware-shop-signature': 'zz' };
    assert.equal(client.verifyWebhook?.(w.rawBody, garbage), null);
    const retry = sim.webhook('checkout.order.placed', { order: { id: o.id } }, { eventId: 'a'.repeat(32) });
    const first = client.verifyWebhook?.(w.rawBody, w.headers);
    assert.equal(first?.eventId, 'a'.repeat(32));
    assert.equal(
      client.verifyWebhook?.(retry.rawBody, { ...retry.headers, 'x-shopware-attempt': '1' })?.eventId,
      first?.eventId,
    );
    assert.equal(sim.log.length, 0, 'verification makes no API call');
  });

  test('without an app secret the client offers no webhook verification and no registration', async () => {
    const { sim } = await setup();
    const client = shopwareConnector.create(
      {
        settings: { api_url: sim.url },
        credentials: { client_id: sim.clientId, client_secret: sim.clientSecret },
      },
      { fetch, now: () => new Date(), sleep: async () => {}, log: { info() {}, warn() {} } },
    );
    assert.equal(client.verifyWebhook, undefined);
    assert.equal(
      client.registerWebhooks,
      undefined,
      'webhooks are declared in the app manifest, not via API',
    );
  });
});

describe('actions', () => {
  const simpleOrder: OrderSpec = {
    lines: [
      { label: 'T-Shirt', quantity: 2, unitPrice: 19.99, stock: 12 },
      { label: 'Mug', quantity: 1, unitPrice: 9.5, stock: 3 },
    ],
    shipping: 4.95,
  };
  const refundsOf = (sim: ShopwareSim, orderId: string) =>
    sim.orders
      .get(orderId)!
      .transactions.flatMap((t: { captures: { refunds: unknown[] }[] }) =>
        t.captures.flatMap((c) => c.refunds),
      );

  test('refund: per line through the payment handler; a retry with the same key refunds nothing twice', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder(simpleOrder);
    const input = {
      orderExternalId: o.id,
      lines: [{ externalLineId: o.lineItems[0].id, quantity: 1 }],
      includeShipping: false,
      reason: 'damaged',
      idempotencyKey: 'clm_1:refund',
    };
    const first = await client.refund!(input);
    assert.deepEqual(first, { externalId: refundsOf(sim, o.id)[0].id, amount: 1999, currency: 'EUR' });
    const again = await client.refund!(input);
    assert.deepEqual(again, first);
    assert.deepEqual(sim.refundsExecuted, [{ refundId: first.externalId, amount: 19.99 }]);
    assert.equal(sim.count('POST', '/api/order-transaction-capture-refund'), 1);
    const stored = refundsOf(sim, o.id)[0];
    assert.equal(stored.customFields.resolve_idempotency_key, 'clm_1:refund');
    assert.equal(stored.positions[0].orderLineItemId, o.lineItems[0].id);

    const doc = assertValidDoc(await client.getOrder(o.id));
    assert.equal(doc.line_items[0].quantity_refunded, 1);
    const withShipping = await client.refund!({
      ...input,
      lines: [{ externalLineId: o.lineItems[0].id, quantity: 1 }],
      includeShipping: true,
      idempotencyKey: 'clm_2:refund',
    });
    assert.equal(withShipping.amount, 1999 + 495);
    await rejects(client.refund!({ ...input, idempotencyKey: 'clm_3:refund' }), 'rejected', /0 unit/);
    await rejects(
      client.refund!({ ...input, lines: [], includeShipping: true, idempotencyKey: 'clm_4:refund' }),
      'rejected',
      /shipping was already refunded/,
    );
    assert.equal(sim.refundsExecuted.length, 2);
  });

  test('refund: a crash after the refund was written is finished by the retry, not duplicated', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder(simpleOrder);
    const input = {
      orderExternalId: o.id,
      lines: [{ externalLineId: o.lineItems[1].id, quantity: 1 }],
      includeShipping: false,
      reason: 'lost',
      idempotencyKey: 'clm_9:refund',
    };
    sim.failNext('POST', /^\/api\/_action\/order_transaction_capture_refund\//, 502);
    await rejects(client.refund!(input), 'unavailable');
    assert.equal(refundsOf(sim, o.id).length, 1, 'written, not yet handed to the payment handler');
    assert.equal(sim.refundsExecuted.length, 0);
    const done = await client.refund!(input);
    assert.equal(done.amount, 950);
    assert.equal(sim.refundsExecuted.length, 1);
    assert.equal(refundsOf(sim, o.id).length, 1);
  });

  test('refund: promotions are spread over the goods; a failed provider refund is rejected, also on retry', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder({ lines: [{ label: 'Lamp', quantity: 1, unitPrice: 40 }], promotion: 10 });
    sim.control.refundOutcome = 'failed';
    const input = {
      orderExternalId: o.id,
      lines: [{ externalLineId: o.lineItems[0].id, quantity: 1 }],
      includeShipping: false,
      reason: 'damaged',
      idempotencyKey: 'clm_5:refund',
    };
    await rejects(client.refund!(input), 'rejected', /failed/);
    await rejects(client.refund!(input), 'rejected', /failed/);
    assert.equal(sim.count('POST', '/api/order-transaction-capture-refund'), 1);
    assert.equal(refundsOf(sim, o.id)[0].amount.totalPrice, 30, '40 less the 10 promotion');
  });

  test('refund: a discounted line refunded unit by unit adds up to its total, not a cent more', async () => {
    const { client, sim } = await setup();
    // 3 lamps at 10.00 less a 10.00 promotion: 20.00 paid for them, 6.666… a lamp.
    const o = sim.createOrder({
      lines: [{ label: 'Lamp', quantity: 3, unitPrice: 10 }],
      promotion: 10,
      shipping: 4.95,
    });
    const amounts: number[] = [];
    for (const n of [1, 2, 3])
      amounts.push(
        (
          await client.refund!({
            orderExternalId: o.id,
            lines: [{ externalLineId: o.lineItems[0].id, quantity: 1 }],
            includeShipping: false,
            reason: 'broken',
            idempotencyKey: `clm_lamp_${n}:refund`,
          })
        ).amount,
      );
    assert.equal(
      amounts.reduce((a, b) => a + b, 0),
      2000,
      `refunded ${amounts.join(' + ')}`,
    );
    assert.deepEqual(
      sim.refundsExecuted.map((r) => r.amount),
      amounts.map((a) => a / 100),
    );
  });

  test('refund: payment methods without a refund handler or capture are unsupported, nothing is written', async () => {
    const { client, sim } = await setup();
    const invoice = sim.createOrder({
      ...simpleOrder,
      payment: { refundable: false, captured: true, name: 'Invoice' },
    });
    const uncaptured = sim.createOrder({ ...simpleOrder, payment: { refundable: true, captured: false } });
    for (const o of [invoice, uncaptured])
      await rejects(
        client.refund!({
          orderExternalId: o.id,
          lines: [{ externalLineId: o.lineItems[0].id, quantity: 1 }],
          includeShipping: false,
          reason: 'x',
          idempotencyKey: `k-${o.id}`,
        }),
        'unsupported',
      );
    assert.equal(sim.count('POST', '/api/order-transaction-capture-refund'), 0);
    await rejects(
      client.refund!({
        orderExternalId: '0'.repeat(32),
        lines: [],
        includeShipping: true,
        reason: 'x',
        idempotencyKey: 'k',
      }),
      'not_found',
    );
  });

  test('replacement: two attempts with one key at once make one order, and both answer it', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder(simpleOrder);
    const input = {
      orderExternalId: o.id,
      lines: [{ externalLineId: o.lineItems[0].id, quantity: 1 }],
      note: 'Replacement for damaged T-Shirt',
      idempotencyKey: 'act_race',
    };
    // A retry that overlaps an attempt still under way (its answer late, its lease gone): both look, find nothing,
    // write the order with the id derived from the key; Shopware refuses the second write as a duplicate key.
    const [a, b] = await Promise.all([client.createReplacement!(input), client.createReplacement!(input)]);
    assert.deepEqual(a, b);
    assert.equal(sim.count('POST', '/api/order'), 2, 'both wrote');
    // The refused duplicate is expected here, and only here.
    assert.deepEqual(sim.unexpected.splice(0), ['POST /api/order: duplicate primary key']);
    assert.equal(
      [...sim.orders.values()].filter((x) => x.customFields?.resolve_idempotency_key === 'act_race').length,
      1,
    );
  });

  test('replacement: a zero-priced order for the claimed lines; the retry answers the same order', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder(simpleOrder);
    const input = {
      orderExternalId: o.id,
      lines: [{ externalLineId: o.lineItems[0].id, quantity: 1 }],
      note: 'Replacement for damaged T-Shirt',
      idempotencyKey: 'clm_7:replacement',
    };
    const made = await client.createReplacement!(input);
    assert.match(made.externalId, /^[0-9a-f]{32}$/);
    assert.ok(made.orderNumber);
    assert.deepEqual(await client.createReplacement!(input), made);
    assert.equal(sim.count('POST', '/api/order'), 1);
    const stored = sim.orders.get(made.externalId)!;
    assert.equal(stored.customFields.resolve_replacement_of, o.orderNumber);
    assert.equal(stored.salesChannelId, o.salesChannelId);
    const doc = assertValidDoc(await client.getOrder(made.externalId));
    assert.equal(doc.totals?.total, 0);
    assert.deepEqual(
      doc.line_items.map((l) => [l.title, l.quantity, l.unit_price]),
      [['T-Shirt', 1, 0]],
    );
    assert.equal(doc.shipping_address?.address_line_1, 'Invalidenstr. 1');
    await rejects(
      client.createReplacement!({
        ...input,
        lines: [{ externalLineId: o.lineItems[1].id, quantity: 5 }],
        idempotencyKey: 'k2',
      }),
      'rejected',
    );
  });

  test('cancel: the state transition once; already cancelled is done; shipped is rejected', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder();
    assert.deepEqual(await client.cancelOrder!({ orderExternalId: o.id, reason: 'customer asked' }), {
      externalRef: o.id,
    });
    assert.equal(sim.orders.get(o.id)!.stateMachineState.technicalName, 'cancelled');
    await client.cancelOrder!({ orderExternalId: o.id, reason: 'customer asked' });
    assert.equal(sim.count('POST', /^\/api\/_action\/order\/[0-9a-f]+\/state\/cancel$/), 1);
    const shipped = sim.createOrder();
    sim.shipDelivery(shipped.id);
    await rejects(client.cancelOrder!({ orderExternalId: shipped.id, reason: 'x' }), 'rejected', /shipped/);
    await rejects(client.cancelOrder!({ orderExternalId: '0'.repeat(32), reason: 'x' }), 'not_found');
  });

  test('address change: patches the shipping address, or splits it from a shared billing address', async () => {
    const { client, sim } = await setup();
    const address = {
      name: 'Kim van Berg',
      company: null,
      address_line_1: 'Neue Str. 5',
      address_line_2: 'Hinterhaus',
      city: 'Wien',
      zip_code: '1010',
      province: null,
      country_code: 'AT',
      phone: null,
    };
    const own = sim.createOrder();
    const r1 = await client.changeShippingAddress!({ orderExternalId: own.id, address });
    assert.equal(r1.externalRef, own.deliveries[0].shippingOrderAddressId);
    const doc1 = assertValidDoc(await client.getOrder(own.id));
    assert.deepEqual(doc1.shipping_address, { ...address, phone: null });
    assert.equal(doc1.billing_address?.zip_code, '10115');

    const shared = sim.createOrder({ sharedAddress: true });
    const r2 = await client.changeShippingAddress!({ orderExternalId: shared.id, address });
    assert.notEqual(r2.externalRef, shared.billingAddressId);
    const doc2 = assertValidDoc(await client.getOrder(shared.id));
    assert.equal(doc2.shipping_address?.city, 'Wien');
    assert.equal(doc2.billing_address?.city, 'Berlin', 'the billing address stays');
    await client.changeShippingAddress!({ orderExternalId: shared.id, address });
    assert.equal(sim.count('POST', '/api/order-address'), 1, 'the split happens once');

    const crashed = sim.createOrder({ sharedAddress: true });
    sim.failNext('PATCH', /^\/api\/order-delivery\//, 500);
    await rejects(client.changeShippingAddress!({ orderExternalId: crashed.id, address }), 'unavailable');
    await client.changeShippingAddress!({ orderExternalId: crashed.id, address });
    assert.equal(
      sim.count('POST', '/api/order-address'),
      2,
      'the retry reuses the address the first try wrote',
    );
    assert.equal(assertValidDoc(await client.getOrder(crashed.id)).shipping_address?.city, 'Wien');

    await rejects(
      client.changeShippingAddress!({ orderExternalId: own.id, address: { ...address, country_code: 'ZZ' } }),
      'rejected',
      /country/,
    );
    sim.shipDelivery(own.id);
    await rejects(client.changeShippingAddress!({ orderExternalId: own.id, address }), 'rejected', /shipped/);
  });

  test('stock check answers availableStock per line', async () => {
    const { client, sim } = await setup();
    const o = sim.createOrder(simpleOrder);
    const lines = o.lineItems.map((l: { id: string }) => ({ externalLineId: l.id, quantity: 1 }));
    assert.deepEqual(await client.stockCheck!({ orderExternalId: o.id, lines }), [
      { externalLineId: o.lineItems[0].id, available: 10 },
      { externalLineId: o.lineItems[1].id, available: 2 },
    ]);
    await rejects(
      client.stockCheck!({ orderExternalId: o.id, lines: [{ externalLineId: 'f'.repeat(32), quantity: 1 }] }),
      'rejected',
    );
  });
});
