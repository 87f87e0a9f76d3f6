import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { PlatformError } from '../src/connectors/platform.js';
import { registerPlatform } from '../src/connectors/platforms.js';
import { query } from '../src/db/client.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import type { ClaimedJob } from '../src/jobs/queue.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { FakePlatform, fakeConnection, putBackfillOrders } from './support/fake-platform.js';
import { assertError, daysAgo } from './support/http.js';
import { drainJobs } from './support/jobs.js';

/**
 * A backfill asked for while another one is being imported: the merchant gets a clear answer, and what GET
 * …/connection reports is what is really being imported (never a restart that the running job overwrites).
 */
describe('connector backfill: a second start while one runs', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let fake: FakePlatform;
  /** Runs inside the platform client's calls (the job is mid-run then), once per hook. */
  let onListOrders: ((q: { cursor: string | null }) => Promise<void>) | null = null;
  let onGetOrder: (() => Promise<void>) | null = null;
  const drain = (types = ['connector.backfill']) => drainJobs(ctx.db, jobHandlers(ctx.deps), types);
  const api = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown) =>
    ctx.app.inject({
      method,
      url: `/v1/shops/${shop.slug}${url}`,
      headers: shop.auth.admin,
      payload: payload as object,
    });
  const backfill = async () => (await api('GET', '/connection')).json().sync.backfill;
  const orderCount = async () =>
    (
      await query<{ n: number }>(
        ctx.db,
        sql`select count(*)::int as n from orders where shop_id = ${shop.shop.id}`,
      )
    )[0].n;
  const liveJobs = () =>
    query<{ id: string; status: string }>(
      ctx.db,
      sql`select id, status from jobs where shop_id = ${shop.shop.id} and type = 'connector.backfill'
           and unique_key is not null`,
    );
  const sameDay = (iso: string, days: number) =>
    assert.ok(
      Math.abs(new Date(iso).getTime() - new Date(daysAgo(days)).getTime()) < 3_600_000,
      `${iso} is ${days} days ago`,
    );

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'bfr');
    fake = new FakePlatform(`fakebf${randomBytes(3).toString('hex')}`);
    // The fake platform's client, with a hook into listOrders/getOrder: the test acts while a job runs.
    registerPlatform(fake.connector());
    fake.beforeListOrders = async (q) => {
      const hook = onListOrders;
      if (hook) await hook(q);
    };
    fake.beforeGetOrder = async () => {
      const hook = onGetOrder;
      onGetOrder = null;
      if (hook) await hook();
    };
    // 150 orders of the last 3 days (two pages of 100), 60 from 200 days ago.
    putBackfillOrders(fake, 'bf', 7000);
    const res = await api('PUT', '/connection', fakeConnection(fake));
    assert.equal(res.statusCode, 200, res.body);
  });
  after(() => ctx.close());

  test('a backfill started while one runs is refused with 409 backfill_running; the running one is not disturbed', async () => {
    // What the test saw while backfill A (last 10 days) was between its first and second page.
    const seen: {
      second?: Awaited<ReturnType<typeof api>>;
      during?: { since: string; imported: number; status: string };
    } = {};
    onListOrders = async (q) => {
      if (q.cursor !== '100' || seen.second) return;
      // The merchant asks for the last year while A runs.
      seen.second = await api('POST', '/connection/backfill', { days: 365 });
      seen.during = await backfill();
    };
    try {
      assert.deepEqual((await drain()).failed, []);
    } finally {
      onListOrders = null;
    }
    const { second, during } = seen;
    assert.ok(second && during, 'the second request was made while the first backfill ran');
    const err = assertError(second, 409, 'backfill_running');
    assert.match(err.message, /already running/);
    assert.match(err.message, /100 orders imported/, 'the running backfill’s progress');
    // Nothing changed: GET shows the running backfill, as far as it got.
    assert.equal(during.status, 'running');
    assert.equal(during.imported, 100);
    sameDay(during.since, 10);

    const done = await backfill();
    assert.equal(done.status, 'done');
    assert.equal(done.imported, 150);
    sameDay(done.since, 10);
    assert.equal(await orderCount(), 150);
    assert.deepEqual(await liveJobs(), [], 'no job left behind');

    // Once it is done, the wider backfill is accepted and imports its own range.
    const again = await api('POST', '/connection/backfill', { days: 365 });
    assert.equal(again.statusCode, 202, again.body);
    assert.equal(again.json().sync.backfill.status, 'running');
    sameDay(again.json().sync.backfill.since, 365);
    assert.deepEqual((await drain()).failed, []);
    const wide = await backfill();
    assert.equal(wide.status, 'done');
    assert.equal(wide.imported, 210);
    sameDay(wide.since, 365);
    assert.equal(await orderCount(), 210);
  });

  test('the same backfill asked for twice at once: one is accepted, the other refused', async () => {
    const answers = await Promise.all([
      api('POST', '/connection/backfill', { days: 10 }),
      api('POST', '/connection/backfill', { days: 10 }),
    ]);
    const codes = answers.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [202, 409], answers.map((r) => r.body).join('\n'));
    assertError(answers.find((r) => r.statusCode === 409)!, 409, 'backfill_running');
    assert.equal((await liveJobs()).length, 1, 'one job');
    assert.deepEqual((await drain()).failed, []);
    const b = await backfill();
    assert.equal(b.status, 'done');
    assert.equal(b.imported, 150);
    sameDay(b.since, 10);
  });

  test('a backfill whose job was given up can be started again (no 409 forever)', async () => {
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    // The job is parked for good (as after its last attempt): the progress still says running, no job is live.
    await ctx.db.execute(
      sql`update jobs set status = 'failed', unique_key = null, finished_at = now()
           where shop_id = ${shop.shop.id} and type = 'connector.backfill' and unique_key is not null`,
    );
    assert.equal((await backfill()).status, 'running');
    const res = await api('POST', '/connection/backfill', { days: 365 });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual((await drain()).failed, []);
    const b = await backfill();
    assert.equal(b.status, 'done');
    assert.equal(b.imported, 210);
    sameDay(b.since, 365);
  });

  test('a backfill whose platform stays down past the last retry says failed, not running forever', async () => {
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    const started = await backfill();
    // The last attempt: the job is allowed one, and the platform is down for it.
    await ctx.db.execute(
      sql`update jobs set max_attempts = 1 where shop_id = ${shop.shop.id} and type = 'connector.backfill'
           and unique_key is not null`,
    );
    fake.failures.push(new PlatformError('unavailable', 'The platform answered 503.'));
    const { failed } = await drain();
    assert.equal(failed.length, 1, failed.join('\n'));
    const b = await backfill();
    assert.equal(b.status, 'failed');
    assert.match(b.error, /Gave up after 1 attempt: .*503/);
    assert.equal(b.started_at, started.started_at, 'the same backfill, its counters kept');
    assert.deepEqual(await liveJobs(), []);
    // And a new one starts, and finishes.
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    assert.deepEqual((await drain()).failed, []);
    assert.equal((await backfill()).status, 'done');
  });

  test('the give-up of a parked backfill job leaves alone a backfill started after it was parked', async () => {
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    const [parked] = await query<ClaimedJob>(
      ctx.db,
      sql`update jobs set status = 'failed', unique_key = null, finished_at = now()
           where shop_id = ${shop.shop.id} and type = 'connector.backfill' and unique_key is not null
           returning id, type, shop_id, payload, attempts, max_attempts`,
    );
    // Parking freed the key: the merchant starts a new backfill before the parked job's give-up hook runs.
    assert.equal((await api('POST', '/connection/backfill', { days: 365 })).statusCode, 202);
    const newer = await backfill();
    const handler = jobHandlers(ctx.deps)['connector.backfill'];
    await handler.giveUp!(parked, 'The platform answered 503.', {
      db: ctx.db,
      log: pino({ level: 'silent' }),
    });
    assert.deepEqual(await backfill(), newer, 'the newer backfill is untouched');
    assert.deepEqual((await drain()).failed, []);
    assert.equal((await backfill()).status, 'done');
  });

  test('a webhook processed while the backfill runs does not put back the progress it read before', async () => {
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    const conn = (await api('GET', '/connection')).json();
    const body = JSON.stringify({ order_id: 'bf-001' });
    const hook = await ctx.app.inject({
      method: 'POST',
      url: new URL(conn.webhook_url).pathname,
      payload: body,
      headers: {
        'content-type': 'application/json',
        'x-fake-signature': fake.sign(body),
        'x-fake-event-id': `ev-${randomBytes(4).toString('hex')}`,
      },
    });
    assert.equal(hook.statusCode, 200, hook.body);
    // The webhook job has read the connection; while it asks the platform for the order, the backfill finishes.
    onGetOrder = async () => {
      assert.deepEqual((await drain()).failed, []);
      assert.equal((await backfill()).status, 'done');
    };
    assert.deepEqual((await drain(['connector.webhook'])).failed, []);
    assert.equal(onGetOrder, null, 'the webhook job ran');
    const after = (await api('GET', '/connection')).json().sync;
    assert.equal(after.backfill.status, 'done', 'not back to the running state the webhook job had read');
    assert.equal(after.backfill.imported, 150);
    assert.ok(after.last_webhook_at, 'the webhook’s own change is kept too');
  });
});
