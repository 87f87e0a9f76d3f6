import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type PlatformClient, PlatformError } from '../src/connectors/platform.js';
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
  let onListOrders: (() => Promise<void>) | null = null;
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
    const base = fake.connector();
    registerPlatform({
      ...base,
      create(conn, deps): PlatformClient {
        const client = base.create(conn, deps);
        return {
          ...client,
          async listOrders(q) {
            const hook = onListOrders;
            onListOrders = null;
            if (hook) await hook();
            return client.listOrders(q);
          },
        };
      },
    });
    fake.put(orderDoc({ external_id: 'st-1', order_number: '7001', placed_at: daysAgo(2) }));
    const res = await connect();
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual((await drainJobs(ctx.db, jobHandlers(ctx.deps), ['connector.backfill'])).failed, []);
  });
  after(() => ctx.close());

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
