import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { registerPlatform } from '../src/connectors/platforms.js';
import { query } from '../src/db/client.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { DATABASE_URL } from './support/db.js';
import { FakePlatform, fakeConnection } from './support/fake-platform.js';
import { daysAgo, randomIp, tokenSession } from './support/http.js';
import { drainJobs } from './support/jobs.js';
import { orderDoc } from './support/orders.js';

/**
 * A sync that read an order from the platform before the customer cancelled it or changed its address (through
 * Resolve, which carries it out in the platform) must not write that older document over the change: the order
 * would read as not cancelled, or need the old ZIP, until the next sync. The fake platform hands its answer over
 * only after the test has made the change (`afterRead`), so the answer is older than the change every time.
 */
describe('platform sync vs a customer’s change to the order', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let fake: FakePlatform;
  const handlers = () => jobHandlers(ctx.deps);
  const SYNC_JOBS = ['connector.backfill', 'connector.reconcile', 'connector.webhook', 'connector.refresh'];

  const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
    ctx.app.inject({
      method,
      url: `/v1/shops/${shop.slug}${url}`,
      headers: shop.auth.admin,
      payload: payload as object,
    });
  const stored = async (externalId: string) => {
    const res = await api('GET', `/orders/${encodeURIComponent(externalId)}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const customer = async (externalId: string, url: string, payload: unknown) => {
    const session = await tokenSession(ctx.app, shop, (await stored(externalId)).id);
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}${url}`,
      headers: { authorization: `Bearer ${session}` },
      payload: payload as object,
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const lookup = (number: string, zip: string) =>
    ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/sessions`,
      payload: { order_number: number, zip_code: zip },
      remoteAddress: randomIp(),
    });
  /** The order was changed long enough ago that a read now is newer than the change (clocks are not moved). */
  const ageLocalChange = (externalId: string) =>
    ctx.db.execute(
      sql`update orders set local_change_at = local_change_at - interval '1 minute'
          where shop_id = ${shop.shop.id} and external_id = ${externalId}`,
    );
  const queued = async (type: string) =>
    (
      await query<{ payload: { externalId?: string } }>(
        ctx.db,
        sql`select payload from jobs where shop_id = ${shop.shop.id} and type = ${type} and status = 'queued'`,
      )
    ).map((j) => j.payload.externalId);
  const runQueuedNow = (type: string) =>
    ctx.db.execute(
      sql`update jobs set run_at = now() where shop_id = ${shop.shop.id} and type = ${type} and status = 'queued'`,
    );
  const drain = async () => assert.deepEqual((await drainJobs(ctx.db, handlers(), SYNC_JOBS)).failed, []);
  /** A platform-side change Resolve has not seen yet, so the document read carries something new. */
  const retag = (externalId: string, tag: string) => {
    const o = fake.orders.get(externalId)!;
    fake.put({ ...o, tags: [...(o.tags ?? []), tag] });
  };

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'stale');
    fake = new FakePlatform(`fakestale${randomBytes(3).toString('hex')}`);
    fake.capabilities = ['read_orders', 'webhooks', 'refund', 'cancel_order', 'change_shipping_address'];
    registerPlatform(fake.connector());
    for (const [ext, number] of [
      ['sl-cancel', '9101'],
      ['sl-addr', '9102'],
      ['sl-hook', '9103'],
      ['sl-fresh', '9104'],
      ['sl-race', '9105'],
    ])
      fake.put(orderDoc({ external_id: ext, order_number: number, placed_at: daysAgo(2), shipments: [] }));
    const res = await api('PUT', '/connection', fakeConnection(fake));
    assert.equal(res.statusCode, 200, res.body);
    await drain();
    assert.equal((await stored('sl-cancel')).state, 'placed');
  });
  after(() => ctx.close());

  test('a reconcile page read before the customer cancelled does not undo the cancel; the order is read again', async () => {
    retag('sl-cancel', 'gift');
    fake.afterRead = async () => {
      fake.afterRead = null;
      const out = await customer('sl-cancel', '/order/cancel', { reason: 'Ordered twice' });
      assert.equal(out.order.state, 'cancelled');
    };
    await runQueuedNow('connector.reconcile');
    await drain();
    assert.equal(fake.afterRead, null, 'the reconcile read the platform');
    const after = await stored('sl-cancel');
    assert.equal(after.state, 'cancelled');
    assert.ok(after.cancelled_at);
    assert.deepEqual(after.tags, ['vip'], 'the older document was not written');
    assert.deepEqual(await queued('connector.refresh'), ['sl-cancel']);

    // The refresh, once the change is older than any clock difference, brings the platform's state: the cancel
    // (the platform carried it out) and the tag.
    await ageLocalChange('sl-cancel');
    await runQueuedNow('connector.refresh');
    await drain();
    const fresh = await stored('sl-cancel');
    assert.equal(fresh.state, 'cancelled');
    assert.deepEqual(fresh.tags, ['vip', 'gift']);
    assert.deepEqual(await queued('connector.refresh'), []);
  });

  test('a webhook’s order read before the customer changed the address does not bring the old ZIP back', async () => {
    retag('sl-addr', 'b2b');
    fake.afterRead = async () => {
      fake.afterRead = null;
      await customer('sl-addr', '/order/address', {
        name: 'Kim Berg',
        address_line_1: 'Neue Str. 5',
        city: 'München',
        zip_code: '80331',
        country_code: 'DE',
      });
    };
    const body = JSON.stringify({ order_id: 'sl-addr' });
    const hook = await ctx.app.inject({
      method: 'POST',
      url: new URL((await api('GET', '/connection')).json().webhook_url).pathname,
      headers: {
        'content-type': 'application/json',
        'x-fake-signature': fake.sign(body),
        'x-fake-event-id': `ev-${randomBytes(4).toString('hex')}`,
      },
      payload: body,
    });
    assert.ok(hook.statusCode < 300, hook.body);
    await drain();
    assert.equal(fake.afterRead, null, 'the webhook job read the platform');
    assert.equal((await stored('sl-addr')).shipping_address.zip_code, '80331');
    assert.equal((await lookup('9102', '80331')).statusCode, 201);
    assert.equal((await lookup('9102', '10115')).statusCode, 404);
    assert.deepEqual(await queued('connector.refresh'), ['sl-addr']);

    await ageLocalChange('sl-addr');
    await runQueuedNow('connector.refresh');
    await drain();
    const fresh = await stored('sl-addr');
    assert.equal(fresh.shipping_address.zip_code, '80331');
    assert.deepEqual(fresh.tags, ['vip', 'b2b']);
  });

  test('a refresh that still reads too early is queued again, not dropped', async () => {
    retag('sl-hook', 'again');
    fake.afterRead = async () => {
      fake.afterRead = null;
      await customer('sl-hook', '/order/cancel', {});
    };
    await runQueuedNow('connector.reconcile');
    await drain();
    assert.deepEqual(await queued('connector.refresh'), ['sl-hook']);
    // Run at once (the change is milliseconds old): still too close to the change to count as newer.
    await runQueuedNow('connector.refresh');
    await drain();
    assert.deepEqual(await queued('connector.refresh'), ['sl-hook']);
    assert.deepEqual((await stored('sl-hook')).tags, ['vip']);
    await ageLocalChange('sl-hook');
    await runQueuedNow('connector.refresh');
    await drain();
    assert.deepEqual((await stored('sl-hook')).tags, ['vip', 'again']);
    assert.equal((await stored('sl-hook')).state, 'cancelled');
  });

  // The sync's import starts while the customer's cancel is still in the platform (its transaction holds the
  // order's row): the import must wait for it and see the change, not read the order before and write after.
  test('an import that starts while the cancel is being carried out waits for it and leaves it alone', {
    skip: DATABASE_URL ? false : 'needs PostgreSQL (two transactions at once)',
  }, async () => {
    retag('sl-race', 'race');
    let reached!: () => void;
    const inPlatform = new Promise<void>((r) => {
      reached = r;
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    fake.beforeAction = async () => {
      fake.beforeAction = null;
      reached();
      await gate;
    };
    let cancel: Promise<unknown> | null = null;
    fake.afterRead = async () => {
      fake.afterRead = null;
      cancel = customer('sl-race', '/order/cancel', {});
      await inPlatform;
    };
    await runQueuedNow('connector.reconcile');
    const draining = drain();
    try {
      // The import is waiting on the order's row, which the cancel's transaction holds.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const [{ n }] = await query<{ n: number }>(
          ctx.db,
          sql`select count(*)::int as n from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock' and query ilike '%"orders"%'`,
        );
        if (Number(n) > 0) break;
        assert.ok(Date.now() < deadline, 'the import never waited for the order');
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      release();
    }
    await draining;
    await cancel;
    assert.equal((await stored('sl-race')).state, 'cancelled');
    assert.deepEqual((await stored('sl-race')).tags, ['vip']);
    assert.deepEqual(await queued('connector.refresh'), ['sl-race']);
    await ageLocalChange('sl-race');
    await runQueuedNow('connector.refresh');
    await drain();
    assert.deepEqual((await stored('sl-race')).tags, ['vip', 'race']);
  });

  test('documents read after the change, and orders the customer never changed, are written at once', async () => {
    retag('sl-fresh', 'new');
    retag('sl-cancel', 'later');
    await runQueuedNow('connector.reconcile');
    await drain();
    assert.deepEqual((await stored('sl-fresh')).tags, ['vip', 'new']);
    assert.deepEqual((await stored('sl-cancel')).tags, ['vip', 'gift', 'later']);
    assert.deepEqual(await queued('connector.refresh'), []);
  });
});
