import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { query } from '../src/db/client.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import { startWooSim, type WooSim } from './simulators/woocommerce.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError } from './support/http.js';
import { drainJobs } from './support/jobs.js';

const TYPES = ['connector.backfill', 'connector.reconcile', 'connector.webhook', 'claims.action'];
const DAY = 86_400_000;

/**
 * WooCommerce through the whole Resolve path: connect → backfill → lookup by number + ZIP → claim → refund in
 * the shop (once, even when retried) → signed webhooks (replays change nothing, forgeries are refused).
 */
describe('WooCommerce end to end (simulator)', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let sim: WooSim;
  const run = () => drainJobs(ctx.db, jobHandlers(ctx.deps), TYPES);
  const admin = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown) =>
    ctx.app.inject({
      method,
      url: `/v1/shops/${shop.slug}${url}`,
      headers: shop.auth.admin,
      payload: payload as object,
    });

  before(async () => {
    ctx = await startTestApp({ connectorTestUrls: true });
    shop = await createTestShop(ctx.db, 'woo');
    // Deliveries go straight into the app, as Woo would POST them to the webhook URL.
    sim = await startWooSim({
      deliver: async (d) => {
        await ctx.app.inject({
          method: 'POST',
          url: new URL(d.url).pathname,
          headers: d.headers,
          payload: d.body,
        });
      },
    });
    sim.addProduct({
      id: 11,
      name: 'Espresso cup',
      sku: 'CUP-ESP',
      price: 1299,
      manage_stock: true,
      stock_quantity: 40,
    });
    sim.addProduct({ id: 12, name: 'Saucer', sku: 'SAU-1', price: 599 });
    const o = sim.createOrder({
      number: '7001',
      createdAt: new Date(Date.now() - 12 * DAY),
      billing: { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' },
      shipping: {
        first_name: 'Ada',
        last_name: 'Lovelace',
        address_1: 'Invalidenstr. 1',
        city: 'Berlin',
        postcode: '10115',
        country: 'DE',
      },
      lines: [
        { productId: 11, name: 'Espresso cup', sku: 'CUP-ESP', quantity: 2, price: 1299 },
        { productId: 12, name: 'Saucer', sku: 'SAU-1', quantity: 1, price: 599 },
      ],
      shippingTotal: 495,
    });
    // Shipped ten days ago and nothing since: the parcel is stuck (Woo never reports delivery).
    sim.addTracking(o.id, {
      provider: 'dhl',
      number: '00340434',
      shippedAt: new Date(Date.now() - 10 * DAY),
    });
  });
  after(async () => {
    await sim?.close();
    await ctx?.close();
  });

  const wooConnection = (secret: string) => ({
    platform: 'woocommerce',
    settings: { store_url: 'https://shop.example', api_base_url: sim.apiBase },
    credentials: { consumer_key: sim.consumerKey, consumer_secret: secret, webhook_secret: 'whsec_woo_test' },
    backfill_days: 30,
  });

  test('connecting: refused keys store nothing; accepted ones register webhooks and backfill', async () => {
    assertError(await admin('PUT', '/connection', wooConnection('cs_wrong')), 422, 'connection_failed');
    assert.equal(sim.webhooks.length, 0);
    const res = await admin('PUT', '/connection', wooConnection(sim.consumerSecret));
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(sim.webhooks.length >= 1, 'order webhooks registered at the connection’s URL');
    assert.ok(sim.webhooks.every((w) => w.delivery_url === res.json().connection.webhook_url));
    assert.deepEqual((await run()).failed, []);
    const conn = (await admin('GET', '/connection')).json();
    assert.equal(conn.sync.backfill.status, 'done');
    assert.equal(conn.sync.backfill.imported, 1);
    assert.deepEqual(sim.unexpected, []);
  });

  test('the customer finds the order by number + ZIP and reports the stuck parcel', async () => {
    const s = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/sessions`,
      payload: { order_number: '#7001', zip_code: '10115' },
    });
    assert.equal(s.statusCode, 201, s.body);
    const flows = s.json().flows as {
      flow: string;
      available: boolean;
      items: { line_item_id: string; max_quantity: number }[];
    }[];
    const nr = flows.find((f) => f.flow === 'not_received')!;
    assert.equal(nr.available, true, 'a stuck shipment opens not_received');
    const claim = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/claims`,
      headers: { authorization: `Bearer ${s.json().session}`, 'idempotency-key': 'woo-e2e-1' },
      payload: {
        flow: 'not_received',
        reason: 'stuck_in_transit',
        items: nr.items.map((i) => ({ line_item_id: i.line_item_id, quantity: i.max_quantity })),
        resolution_preference: 'refund',
        dropoff_permission: false,
      },
    });
    assert.equal(claim.statusCode, 201, claim.body);
    const claimId = claim.json().id as string;

    // The merchant refunds the cups only; the platform gets one refund, even if the job runs twice.
    const cups = nr.items.find((i) => i.max_quantity === 2)!;
    const req = await admin('POST', `/claims/${claimId}/actions`, {
      type: 'refund',
      lines: [{ line_item_id: cups.line_item_id, quantity: 2 }],
      note: 'Parcel lost by the carrier',
    });
    assert.equal(req.statusCode, 202, req.body);
    await run();
    await ctx.db.execute(sql`update claim_actions set status = 'pending' where id = ${req.json().id}`);
    await ctx.db.execute(
      sql`insert into jobs (id, type, payload, shop_id, run_at, max_attempts) values (${`job_retry_${req.json().id}`}, 'claims.action', ${JSON.stringify({ actionId: req.json().id })}::jsonb, ${shop.shop.id}, now(), 3)`,
    );
    await run();
    const order = [...sim.orders.values()][0];
    assert.equal(order.refunds.length, 1, 'exactly one refund in WooCommerce');
    const actions = (await admin('GET', `/claims/${claimId}/actions`)).json().data;
    assert.equal(actions[0].status, 'succeeded');
    assert.equal(actions[0].amount, 2598);
    assert.equal(actions[0].currency, 'EUR');
    assert.match(actions[0].external_id, /^\d+$/);
    assert.deepEqual(sim.unexpected, []);
  });

  test('webhooks: a change in the shop arrives signed; a replay changes nothing; a forgery is refused', async () => {
    const order = [...sim.orders.values()][0];
    order.billing.email = 'ada.new@example.com';
    const before = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from platform_events where shop_id = ${shop.shop.id}`,
    );
    await sim.fireWebhooks('order.updated', order.id);
    await run();
    const [row] = await query<{ email: string }>(
      ctx.db,
      sql`select customer_email as email from orders where shop_id = ${shop.shop.id} and order_number_norm = '7001'`,
    );
    assert.equal(row.email, 'ada.new@example.com');
    const d = sim.deliveries.at(-1)!;
    const path = new URL(d.url).pathname;
    const replay = await ctx.app.inject({ method: 'POST', url: path, headers: d.headers, payload: d.body });
    assert.deepEqual(replay.json(), { received: true, duplicate: true });
    const forged = await ctx.app.inject({
      method: 'POST',
      url: path,
      headers: { ...d.headers, 'x-wc-webhook-delivery-id': 'forged-1' },
      payload: Buffer.from(d.body.toString().replace('ada.new', 'mallory')),
    });
    assertError(forged, 401, 'webhook_signature_invalid');
    const afterCount = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from platform_events where shop_id = ${shop.shop.id}`,
    );
    assert.equal(
      afterCount[0].n,
      before[0].n + 1,
      'one stored event: the replay and the forgery left nothing',
    );
  });
});
