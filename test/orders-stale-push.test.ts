import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OrderInputT } from '../src/orders/document.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { daysAgo, tokenSession } from './support/http.js';
import { orderDoc } from './support/orders.js';

/**
 * A headless shop learns of a customer's cancellation or new address from the `orders/…` events and may push the
 * order again from a queue that read it before: with the document's own `updated_at`, a push older than the
 * customer's change writes nothing (`stale`), so it cannot bring the order back or the old ZIP with it.
 */
describe('order push (PUT …/orders, bulk) vs a customer’s change through a Resolve link', () => {
  let ctx: TestContext;
  let shop: TestShop;
  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
    ctx.app.inject({
      method,
      url: `/v1/shops/${shop.slug}${url}`,
      headers: shop.auth.admin,
      payload: payload as object,
    });
  /** What the customer does with a signed link: a token session, then the action. */
  const customer = async (orderId: string, url: string, payload: unknown) => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}${url}`,
      headers: { authorization: `Bearer ${await tokenSession(ctx.app, shop, orderId)}` },
      payload: payload as object,
    });
    assert.equal(res.statusCode, 200, res.body);
  };
  const put = async (doc: OrderInputT) => {
    const res = await api('PUT', '/orders', doc);
    assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
    return { upsert: res.headers['resolve-upsert'], order: res.json() };
  };
  const placed = (ext: string, number: string) =>
    orderDoc({ external_id: ext, order_number: number, placed_at: daysAgo(2), shipments: [] });
  const secondsAgo = (s: number) => new Date(Date.now() - s * 1000).toISOString();

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'stalepush');
  });
  after(() => ctx.close());

  test('a push older than the customer’s cancellation writes nothing; a newer one, or one without a time, does', async () => {
    const doc = placed('sp-cancel', '9201');
    const { order } = await put({ ...doc, updated_at: secondsAgo(600) });
    await customer(order.id, '/order/cancel', { reason: 'Ordered twice' });

    // The shop's queue pushes what it read before the cancellation, with something new in it too.
    const late = await put({ ...doc, tags: ['late'], updated_at: secondsAgo(30) });
    assert.equal(late.upsert, 'stale');
    assert.equal(late.order.state, 'cancelled', 'the answer is the order as stored');
    assert.ok(late.order.cancelled_at);
    assert.deepEqual(late.order.tags, doc.tags);

    // The shop recorded the cancellation: its document is newer and is taken whole.
    const cancelledAt = new Date().toISOString();
    const ack = await put({ ...doc, cancelled_at: cancelledAt, tags: ['ack'], updated_at: cancelledAt });
    assert.equal(ack.upsert, 'updated');
    assert.equal(ack.order.state, 'cancelled');
    assert.deepEqual(ack.order.tags, ['ack']);
  });

  test('a push older than the customer’s new address keeps the new ZIP; bulk counts it as stale', async () => {
    const doc = placed('sp-addr', '9202');
    const { order } = await put({ ...doc, updated_at: secondsAgo(600) });
    const address = { ...doc.shipping_address!, address_line_1: 'Neue Straße 5', zip_code: '10117' };
    await customer(order.id, '/order/address', address);
    assert.equal((await api('GET', `/orders/${order.id}`)).json().shipping_address.zip_code, '10117');

    const other = placed('sp-new', '9203');
    const res = await api('POST', '/orders/bulk', {
      orders: [
        // Read before the change, and with something new (the very same document is `unchanged` anyway).
        { ...doc, tags: ['late'], updated_at: secondsAgo(30) },
        { ...other, updated_at: secondsAgo(30) },
      ],
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual(
      body.data.map((r: { status: string }) => r.status),
      ['stale', 'created'],
    );
    assert.deepEqual(body.summary, { created: 1, updated: 0, unchanged: 0, stale: 1, failed: 0 });
    assert.equal((await api('GET', `/orders/${order.id}`)).json().shipping_address.zip_code, '10117');
  });

  test('without updated_at the document is taken as current (documented), even over the customer’s change', async () => {
    const doc = placed('sp-plain', '9204');
    const { order } = await put(doc);
    await customer(order.id, '/order/cancel', { reason: 'Changed my mind' });
    const res = await put({ ...doc, tags: ['reopened'] });
    assert.equal(res.upsert, 'updated');
    assert.equal(res.order.state, 'placed');
  });

  test('the very document sent before the customer’s change, sent again, is stale, not unchanged', async () => {
    const doc = placed('sp-again', '9206');
    const { order } = await put(doc);
    await customer(order.id, '/order/cancel', { reason: 'Ordered twice' });
    const again = await put(doc);
    assert.equal(again.upsert, 'stale', 'the stored order no longer matches this document');
    assert.equal(again.order.state, 'cancelled');
    const bulk = await api('POST', '/orders/bulk', { orders: [doc] });
    assert.deepEqual(bulk.json().summary, { created: 0, updated: 0, unchanged: 0, stale: 1, failed: 0 });
    // With a time after the change, the shop says its order is current: taken.
    const current = await put({ ...doc, updated_at: new Date(Date.now() + 1000).toISOString() });
    assert.equal(current.upsert, 'updated');
    assert.equal(current.order.state, 'placed');
    // Once a document is applied after the change, sending it again is unchanged.
    assert.equal((await put(doc)).upsert, 'unchanged');
  });

  test('updated_at is not part of the document: the same document with a newer time changes nothing', async () => {
    const doc = placed('sp-same', '9205');
    assert.equal((await put({ ...doc, updated_at: secondsAgo(60) })).upsert, 'created');
    assert.equal((await put({ ...doc, updated_at: secondsAgo(1) })).upsert, 'unchanged');
    const bad = await api('PUT', '/orders', { ...doc, updated_at: 'yesterday' });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().error.key, 'validation_failed');
    assert.ok(
      bad.json().error.errors.some((e: { path: string }) => e.path === '/updated_at'),
      bad.body,
    );
  });
});
