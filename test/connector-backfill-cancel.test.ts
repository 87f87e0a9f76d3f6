import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { PlatformError } from '../src/connectors/platform.js';
import { registerPlatform } from '../src/connectors/platforms.js';
import { query } from '../src/db/client.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { FakePlatform, fakeConnection, putBackfillOrders } from './support/fake-platform.js';
import { assertError, daysAgo } from './support/http.js';
import { drainJobs } from './support/jobs.js';

/**
 * A merchant stops a backfill (a wrong range, or hours of importing on a big shop): POST …/backfill/cancel. The
 * backfill reads `cancelled` with its counters as far as it got, its job leaves the queue (a queued one at once,
 * a running one at its next page, without writing over the cancel or queueing a successor), and a new backfill
 * can start right away.
 */
describe('connector backfill: stopping it', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let fake: FakePlatform;
  /** Runs inside the platform client's listOrders (the job is mid-run then). */
  let onListOrders: ((q: { cursor: string | null }) => Promise<void>) | null = null;
  const drain = (maxRounds?: number) =>
    drainJobs(ctx.db, jobHandlers(ctx.deps), ['connector.backfill'], maxRounds);
  const api = (
    method: 'GET' | 'PUT' | 'POST',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = shop.auth.admin,
  ) => ctx.app.inject({ method, url: `/v1/shops/${shop.slug}${url}`, headers, payload: payload as object });
  const cancel = (headers?: Record<string, string>) =>
    api('POST', '/connection/backfill/cancel', undefined, headers);
  const backfill = async () => (await api('GET', '/connection')).json().sync.backfill;
  const liveJobs = () =>
    query<{ id: string; status: string }>(
      ctx.db,
      sql`select id, status from jobs where shop_id = ${shop.shop.id} and type = 'connector.backfill'
           and unique_key is not null`,
    );
  const jobRows = () =>
    query<{ id: string; status: string; last_error: string | null }>(
      ctx.db,
      sql`select id, status, last_error from jobs where shop_id = ${shop.shop.id} and type = 'connector.backfill'
           order by created_at, id`,
    );
  const sameDay = (iso: string, days: number) =>
    assert.ok(
      Math.abs(new Date(iso).getTime() - new Date(daysAgo(days)).getTime()) < 3_600_000,
      `${iso} is ${days} days ago`,
    );
  /** Lets the job finish the backfill in progress (so each test starts with none running). */
  const settle = async () => {
    onListOrders = null;
    assert.deepEqual((await drain()).failed, []);
  };

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'bfc');
    fake = new FakePlatform(`fakebc${randomBytes(3).toString('hex')}`);
    registerPlatform(fake.connector());
    // Pages of 10: 150 orders are 15 pages, more than one job run holds.
    fake.maxPageSize = 10;
    fake.beforeListOrders = async (q) => {
      const hook = onListOrders;
      if (hook) await hook(q);
    };
    // 150 orders of the last 3 days, 60 from 200 days ago.
    putBackfillOrders(fake, 'bc', 8000);
    const res = await api('PUT', '/connection', fakeConnection(fake));
    assert.equal(res.statusCode, 200, res.body);
    await settle();
    assert.equal((await backfill()).status, 'done');
  });
  after(() => ctx.close());

  test('stopped while its job is queued between runs: cancelled as far as it got, the job leaves the queue, a new backfill starts and completes', async () => {
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    // One run: 10 pages of 10, then the job queues its successor for the next pages.
    await drain(1);
    const between = await backfill();
    assert.equal(between.status, 'running');
    assert.equal(between.imported, 100);
    assert.equal((await liveJobs()).length, 1, 'the successor is queued');
    assert.equal((await liveJobs())[0].status, 'queued');

    const res = await cancel();
    assert.equal(res.statusCode, 200, res.body);
    const b = res.json().sync.backfill;
    assert.equal(b.status, 'cancelled');
    assert.ok(b.finished_at && Date.now() - new Date(b.finished_at).getTime() < 60_000, 'finished_at set');
    assert.equal(b.imported, 100, 'counters kept');
    assert.equal(b.failed, 0);
    assert.equal(b.cursor, '100', 'cursor kept');
    assert.equal(b.started_at, between.started_at);
    assert.deepEqual(await backfill(), b, 'GET …/connection shows the same');
    assert.deepEqual(await liveJobs(), [], 'no job holds the key');
    const last = (await jobRows()).at(-1);
    assert.equal(last?.status, 'failed');
    assert.equal(last?.last_error, 'cancelled');
    assert.equal((await drain()).ran, 0, 'nothing left to run');
    assert.equal((await backfill()).status, 'cancelled');

    // The wider range is accepted at once, and imports its own range to the end.
    const again = await api('POST', '/connection/backfill', { days: 365 });
    assert.equal(again.statusCode, 202, again.body);
    assert.deepEqual((await drain()).failed, []);
    const wide = await backfill();
    assert.equal(wide.status, 'done');
    assert.equal(wide.imported, 210);
    sameDay(wide.since, 365);
    assert.deepEqual(await liveJobs(), []);
  });

  test('stopped while a page is being imported: the job stops there, the status stays cancelled, no job is left', async () => {
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    const seen: { cancel?: Awaited<ReturnType<typeof api>>; pages: number } = { pages: 0 };
    onListOrders = async (q) => {
      seen.pages++;
      if (q.cursor === '30' && !seen.cancel) seen.cancel = await cancel();
    };
    try {
      assert.deepEqual((await drain()).failed, []);
    } finally {
      onListOrders = null;
    }
    assert.ok(seen.cancel, 'the cancel was asked for while the job ran');
    assert.equal(seen.cancel.statusCode, 200, seen.cancel.body);
    assert.equal(seen.cancel.json().sync.backfill.status, 'cancelled');
    assert.equal(seen.pages, 4, 'no page asked for after the cancel');
    const b = await backfill();
    assert.equal(b.status, 'cancelled', 'the page being imported did not write over the cancel');
    assert.equal(
      b.imported,
      40,
      'as far as it got: three pages before the cancel, and the one being imported',
    );
    assert.equal(b.cursor, '40');

    assert.ok(b.finished_at);
    assert.deepEqual(await liveJobs(), [], 'no job left behind, none re-queued');
    assert.deepEqual(
      (await jobRows()).filter((j) => j.status === 'queued' || j.status === 'running'),
      [],
    );
    assert.equal((await drain()).ran, 0);
    assert.deepEqual(await backfill(), b);
  });

  test('stopped on the last page of a run: no successor is queued', async () => {
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    let cancelled = 0;
    onListOrders = async (q) => {
      if (q.cursor === '90' && !cancelled) cancelled = (await cancel()).statusCode;
    };
    try {
      assert.deepEqual((await drain()).failed, []);
    } finally {
      onListOrders = null;
    }
    assert.equal(cancelled, 200);
    const b = await backfill();
    assert.equal(b.status, 'cancelled');
    assert.equal(b.imported, 100, 'the last page of the run was imported, and is counted');
    assert.deepEqual(await liveJobs(), []);
  });

  test('stopped and started again while a page of the stopped one is imported: the new backfill is not disturbed', async () => {
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    const seen: { cancel?: number; restart?: number } = {};
    onListOrders = async (q) => {
      if (q.cursor !== '50' || seen.cancel) return;
      seen.cancel = (await cancel()).statusCode;
      // The key is free at once: the new backfill does not wait for the stopped job's page.
      seen.restart = (await api('POST', '/connection/backfill', { days: 365 })).statusCode;
    };
    try {
      assert.deepEqual((await drain()).failed, []);
    } finally {
      onListOrders = null;
    }
    assert.deepEqual(seen, { cancel: 200, restart: 202 });
    const b = await backfill();
    assert.equal(b.status, 'done');
    assert.equal(b.imported, 210, 'the stopped job added nothing to the new backfill’s counters');
    sameDay(b.since, 365);
    assert.deepEqual(await liveJobs(), []);
  });

  test('stopped while its job waits to retry (rate limited): the job leaves the queue at once', async () => {
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    fake.failures.push(new PlatformError('rate_limited', 'Slow down.', 3_600_000));
    assert.equal((await drain()).failed.length, 1);
    assert.deepEqual(
      (await liveJobs()).map((j) => j.status),
      ['queued'],
      'waiting for its retry, an hour away',
    );
    const res = await cancel();
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().sync.backfill.status, 'cancelled');
    assert.deepEqual(await liveJobs(), []);
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    await settle();
    assert.equal((await backfill()).status, 'done');
  });

  test('nothing running: 409 backfill_not_running, nothing changes', async () => {
    const before = await backfill();
    assert.equal(before.status, 'done');
    const err = assertError(await cancel(), 409, 'backfill_not_running');
    assert.match(err.message, /No backfill is running.*done/);
    assert.deepEqual(await backfill(), before);
    // A cancelled one cannot be cancelled again.
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    assert.equal((await cancel()).statusCode, 200);
    const cancelled = await backfill();
    assertError(await cancel(), 409, 'backfill_not_running');
    assert.deepEqual(await backfill(), cancelled);
    // A shop with no connection: 404.
    const other = await createTestShop(ctx.db, 'bfc0');
    const none = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${other.slug}/connection/backfill/cancel`,
      headers: other.auth.admin,
    });
    assertError(none, 404, 'connection_not_found');
  });

  test('a viewer or editor key cannot stop it: 403 forbidden, the backfill runs on', async () => {
    assert.equal((await api('POST', '/connection/backfill', { days: 10 })).statusCode, 202);
    for (const role of ['viewer', 'editor'] as const)
      assertError(await cancel(shop.auth[role]), 403, 'forbidden');
    assert.equal((await backfill()).status, 'running');
    assert.equal((await liveJobs()).length, 1);
    await settle();
    assert.equal((await backfill()).status, 'done');
  });
});
