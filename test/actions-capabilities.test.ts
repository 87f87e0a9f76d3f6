import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { registerPlatform } from '../src/connectors/platforms.js';
import { shopCapabilities } from '../src/connectors/shop-client.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { shapedOrder } from './support/claims.js';
import { FakePlatform } from './support/fake-platform.js';
import { assertError } from './support/http.js';

/**
 * GET …/claims/{id}/actions says what the shop's platform can do, so the portal can tell an agent (who may not
 * read the connection, which is admin-only) why it offers no refund or replacement.
 */
describe('claim actions: what the shop’s platform can do', () => {
  let ctx: TestContext;
  let headless: TestShop;
  let connected: TestShop;
  const api = (
    s: TestShop,
    method: 'GET' | 'PUT' | 'POST',
    url: string,
    payload?: unknown,
    role = s.auth.admin,
  ) =>
    ctx.app.inject({ method, url: `/v1/shops/${s.slug}${url}`, headers: role, payload: payload as object });
  const claimOn = async (s: TestShop) => {
    const order = await api(s, 'PUT', '/orders', {
      ...shapedOrder(),
      external_id: `ord-${randomBytes(4).toString('hex')}`,
    });
    assert.ok(order.statusCode < 300, order.body);
    const res = await api(s, 'POST', '/claims', {
      order_id: order.json().id,
      flow: 'defective',
      reason: 'broken_on_arrival',
      description: 'Taken by phone',
      items: [{ line_item_id: order.json().line_items[1].id, quantity: 1 }],
      resolution_preference: 'refund',
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };

  before(async () => {
    ctx = await startTestApp();
    headless = await createTestShop(ctx.db, 'caph');
    connected = await createTestShop(ctx.db, 'capc');
    const fake = new FakePlatform(`fake${randomBytes(3).toString('hex')}`);
    fake.capabilities = ['read_orders', 'refund'];
    registerPlatform(fake.connector());
    const res = await api(connected, 'PUT', '/connection', {
      platform: fake.id,
      settings: { store: 'acme' },
      credentials: { token: 'good-token', webhook_secret: 'whsec-fake' },
      backfill_days: 1,
    });
    assert.equal(res.statusCode, 200, res.body);
    await ctx.db.execute(sql`delete from jobs where shop_id = ${connected.shop.id}`);
  });
  after(() => ctx.close());

  test('a headless shop: neither, and a refund is refused as the answer said', async () => {
    const claim = await claimOn(headless);
    const res = await api(headless, 'GET', `/claims/${claim}/actions`, undefined, headless.auth.viewer);
    assert.equal(res.statusCode, 200, res.body);
    const { lines, ...rest } = res.json();
    assert.deepEqual(rest, {
      data: [],
      capabilities: { refund: false, replacement: false },
      shipping_refunded: null,
    });
    assert.deepEqual(
      lines.map((l: Record<string, unknown>) => ({ ...l, line_item_id: typeof l.line_item_id })),
      [{ line_item_id: 'string', claimed: 1, left: 1, refunded: 0, replaced: 0 }],
    );
    assertError(
      await api(headless, 'POST', `/claims/${claim}/actions`, { type: 'refund' }),
      422,
      'action_unsupported',
    );
  });

  test('a connected platform that refunds only: refund true, replacement false — for a viewer too', async () => {
    const claim = await claimOn(connected);
    const res = await api(connected, 'GET', `/claims/${claim}/actions`, undefined, connected.auth.viewer);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().capabilities, { refund: true, replacement: false });
    assertError(
      await api(connected, 'POST', `/claims/${claim}/actions`, { type: 'replacement' }),
      422,
      'action_unsupported',
    );
    // The actions are still listed beside it (the answer only gained a field).
    assert.equal(
      (await api(connected, 'POST', `/claims/${claim}/actions`, { type: 'refund' })).statusCode,
      202,
    );
    const after = (await api(connected, 'GET', `/claims/${claim}/actions`)).json();
    assert.deepEqual(
      after.data.map((a: { type: string; status: string }) => [a.type, a.status]),
      [['refund', 'pending']],
    );
    assert.deepEqual(after.capabilities, { refund: true, replacement: false });
  });

  test('the demo shop’s built-in platform does both (as the POST’s check reads it)', async () => {
    const caps = await shopCapabilities(ctx.db, { ...headless.shop, connector: 'demo' });
    assert.ok(caps?.includes('refund') && caps.includes('replacement'), String(caps));
    assert.equal(await shopCapabilities(ctx.db, headless.shop), null);
  });

  test('another shop’s claim: 404 claim_not_found, nothing about its platform', async () => {
    const foreign = await claimOn(connected);
    const res = await api(headless, 'GET', `/claims/${foreign}/actions`);
    assertError(res, 404, 'claim_not_found');
    assert.equal(res.json().capabilities, undefined);
    assertError(
      await api(headless, 'GET', '/claims/clm_00000000000000000000000000/actions'),
      404,
      'claim_not_found',
    );
  });

  test('the OpenAPI document describes it', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    const op = doc.paths['/v1/shops/{slug}/claims/{id}/actions']?.get;
    assert.ok(op, 'documented');
    assert.match(op.description, /`capabilities`/);
    assert.match(op.description, /headless/);
    const schema = op.responses['200'].content['application/json'].schema;
    assert.deepEqual(Object.keys(schema.properties).sort(), [
      'capabilities',
      'data',
      'lines',
      'shipping_refunded',
    ]);
    assert.deepEqual(Object.keys(schema.properties.capabilities.properties).sort(), [
      'refund',
      'replacement',
    ]);
  });
});
