import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { PlatformError } from '../src/connectors/platform.js';
import { registerPlatform } from '../src/connectors/platforms.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { FakePlatform } from './support/fake-platform.js';
import { daysAgo } from './support/http.js';
import { drainJobs } from './support/jobs.js';
import { orderDoc } from './support/orders.js';

/**
 * A job's verdict on the credentials it read (refused: the connection shows an error and syncing stops) must not
 * land on credentials the merchant saved while it ran: the merchant fixed the connection, it stays fixed.
 */
describe('connection status: a job that ran with replaced credentials', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let fake: FakePlatform;
  /** Runs inside the platform client's listOrders (the job is mid-run then). */
  let onListOrders: ((q: { updatedSince?: Date }) => Promise<unknown>) | null = null;
  const api = (method: 'GET' | 'PUT', url: string, payload?: unknown) =>
    ctx.app.inject({
      method,
      url: `/v1/shops/${shop.slug}${url}`,
      headers: shop.auth.admin,
      payload: payload as object,
    });
  const connect = () =>
    api('PUT', '/connection', {
      platform: fake.id,
      settings: { store: 'acme' },
      credentials: { token: 'good-token', webhook_secret: 'whsec-fake' },
      backfill_days: 10,
    });

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'cst');
    fake = new FakePlatform(`fakest${randomBytes(3).toString('hex')}`);
    registerPlatform(fake.connector());
    // A hook that answers false stays for the next call.
    fake.beforeListOrders = async (q) => {
      const hook = onListOrders;
      if (hook && (await hook(q)) !== false) onListOrders = null;
    };
    fake.put(orderDoc({ external_id: 'st-1', order_number: '7001', placed_at: daysAgo(2) }));
    const res = await connect();
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual((await drainJobs(ctx.db, jobHandlers(ctx.deps), ['connector.backfill'])).failed, []);
  });
  after(() => ctx.close());

  test('import errors recorded by a backfill while a reconcile runs are kept with the reconcile’s own', async () => {
    // Two documents the platform maps wrongly: one only the backfill sees (created lately, unchanged for a month),
    // one only the reconcile sees (created long ago, changed now).
    fake.put(
      {
        ...orderDoc({ external_id: 'st-bf', order_number: '7101', placed_at: daysAgo(3) }),
        currency: 'euro',
      },
      new Date(Date.now() - 30 * 86_400_000),
    );
    fake.put({
      ...orderDoc({ external_id: 'st-rc', order_number: '7102', placed_at: daysAgo(300) }),
      currency: 'euro',
    });
    await ctx.db.execute(
      sql`update jobs set run_at = now() where type = 'connector.reconcile' and shop_id = ${shop.shop.id} and status = 'queued'`,
    );
    // The reconcile has read the connection; a backfill runs to the end and records its failure.
    onListOrders = async (q) => {
      if (!q.updatedSince) return false;
      const started = await ctx.app.inject({
        method: 'POST',
        url: `/v1/shops/${shop.slug}/connection/backfill`,
        headers: shop.auth.admin,
        payload: { days: 10 },
      });
      assert.equal(started.statusCode, 202, started.body);
      assert.deepEqual((await drainJobs(ctx.db, jobHandlers(ctx.deps), ['connector.backfill'])).failed, []);
    };
    assert.deepEqual((await drainJobs(ctx.db, jobHandlers(ctx.deps), ['connector.reconcile'])).failed, []);
    assert.equal(onListOrders, null, 'the backfill ran inside the reconcile');

    const sync = (await api('GET', '/connection')).json().sync as {
      backfill: { status: string; failed: number };
      last_errors: { order: string | null }[];
    };
    assert.equal(sync.backfill.status, 'done');
    assert.equal(sync.backfill.failed, 1);
    const orders = sync.last_errors.map((e) => e.order);
    assert.ok(orders.includes('7102'), `the reconcile's error is listed: ${orders}`);
    assert.ok(orders.includes('7101'), `the backfill's error is listed: ${orders}`);
  });

  test('credentials re-entered while a reconcile runs with the old ones: the old ones’ refusal does not mark the connection broken', async () => {
    await ctx.db.execute(
      sql`update jobs set run_at = now() where type = 'connector.reconcile' and shop_id = ${shop.shop.id} and status = 'queued'`,
    );
    // The reconcile has read the connection; the merchant saves new credentials (the platform had revoked the
    // old token), then the platform refuses the old token the job still uses.
    onListOrders = async () => {
      const saved = await connect();
      assert.equal(saved.statusCode, 200, saved.body);
      fake.failures.push(new PlatformError('auth_failed', 'The token was refused.'));
    };
    await drainJobs(ctx.db, jobHandlers(ctx.deps), ['connector.reconcile']);
    assert.equal(onListOrders, null, 'the reconcile ran');

    const conn = (await api('GET', '/connection')).json();
    assert.equal(conn.status, 'active', `the saved connection reads ${conn.status}: ${conn.last_error}`);
    assert.equal(conn.last_error, null);
  });
});
