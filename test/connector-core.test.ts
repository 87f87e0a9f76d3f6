import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { PlatformError } from '../src/connectors/platform.js';
import { registerPlatform } from '../src/connectors/platforms.js';
import { query } from '../src/db/client.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { FakePlatform } from './support/fake-platform.js';
import { assertError } from './support/http.js';
import { drainJobs } from './support/jobs.js';
import { orderDoc } from './support/orders.js';

const TYPES = ['connector.backfill', 'connector.reconcile', 'connector.webhook', 'claims.action'];

describe('shop connections: connect, backfill, webhooks, reconcile, actions', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let fake: FakePlatform;
  const run = () => drainJobs(ctx.db, jobHandlers(ctx.deps), TYPES);
  const api = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown, s = shop) =>
    ctx.app.inject({
      method,
      url: `/v1/shops/${s.slug}${url}`,
      headers: s.auth.admin,
      payload: payload as object,
    });
  const doc = (n: number, days = 3) =>
    orderDoc({
      external_id: `fake-${n}`,
      order_number: String(5000 + n),
      placed_at: new Date(Date.now() - days * 86_400_000).toISOString(),
    });
  const connect = (credentials: Record<string, string>) =>
    api('PUT', '/connection', {
      platform: fake.id,
      settings: { store: 'acme' },
      credentials,
      backfill_days: 30,
    });

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'conn');
    fake = new FakePlatform(`fake${randomBytes(3).toString('hex')}`);
    registerPlatform(fake.connector());
    for (let i = 1; i <= 250; i++) fake.put(doc(i, i <= 240 ? 3 : 60)); // 10 are older than the window
  });
  after(() => ctx.close());

  test('refused credentials store nothing; good ones are sealed and never returned', async () => {
    const bad = await connect({ token: 'wrong', webhook_secret: 'whsec-fake' });
    assertError(bad, 422, 'connection_failed');
    assertError(await api('GET', '/connection'), 404, 'connection_not_found');
    const res = await connect({ token: 'good-token', webhook_secret: 'whsec-fake' });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.test.ok, true);
    assert.equal(body.test.shop_name, 'Fake acme');
    assert.deepEqual(body.connection.credentials_set, ['token', 'webhook_secret']);
    assert.equal(res.body.includes('good-token'), false);
    assert.match(body.connection.webhook_url, /\/v1\/connectors\/con_[0-9a-z]+\/webhooks$/);
    const [row] = await query<{ credentials_sealed: string }>(
      ctx.db,
      sql`select credentials_sealed from shop_connections where shop_id = ${shop.shop.id}`,
    );
    assert.equal(row.credentials_sealed.includes('good-token'), false, 'encrypted at rest');
    assert.equal((await api('GET', '/connection')).body.includes('good-token'), false);
    assert.equal((await api('POST', '/connection/test')).json().ok, true);
    for (const role of ['viewer', 'editor'] as const)
      assertError(
        await ctx.app.inject({
          method: 'GET',
          url: `/v1/shops/${shop.slug}/connection`,
          headers: shop.auth[role],
        }),
        403,
        'forbidden',
      );
  });

  test('the backfill imports the window in pages, with progress, through the order upsert', async () => {
    const { failed } = await run();
    assert.deepEqual(failed, []);
    const conn = (await api('GET', '/connection')).json();
    assert.equal(conn.sync.backfill.status, 'done');
    assert.equal(conn.sync.backfill.imported, 240, 'only orders inside the 30-day window');
    const [n] = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from orders where shop_id = ${shop.shop.id}`,
    );
    assert.equal(n.n, 240);
    // Re-running the import changes nothing.
    await api('POST', '/connection/backfill', { days: 30 });
    await run();
    const again = (await api('GET', '/connection')).json();
    assert.equal(again.sync.backfill.imported, 240);
    const [m] = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from orders where shop_id = ${shop.shop.id}`,
    );
    assert.equal(m.n, 240);
  });

  test('a rate-limited platform is waited for, as long as it asks', async () => {
    fake.failures.push(new PlatformError('rate_limited', 'slow down', 50));
    await api('POST', '/connection/backfill', { days: 1 });
    const first = await run();
    assert.equal(first.failed.length, 1);
    const [job] = await query<{ status: string; wait_ms: number }>(
      ctx.db,
      sql`select status, extract(epoch from (run_at - updated_at)) * 1000 as wait_ms from jobs
           where type = 'connector.backfill' and shop_id = ${shop.shop.id} order by created_at desc limit 1`,
    );
    assert.equal(job.status, 'queued');
    assert.ok(
      Number(job.wait_ms) < 1000,
      `retried after the platform's 50 ms, not a long backoff (${job.wait_ms} ms)`,
    );
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual((await run()).failed, []);
    assert.equal((await api('GET', '/connection')).json().sync.backfill.status, 'done');
  });

  test('webhooks: verified on the raw body, stored once, processed; forged ones leave no trace', async () => {
    const conn = (await api('GET', '/connection')).json();
    const url = new URL(conn.webhook_url).pathname;
    fake.put({ ...doc(7), customer: { ...doc(7).customer!, email: 'changed@example.com' } });
    const body = JSON.stringify({ order_id: 'fake-7', note: 'ünïcode' });
    const send = (headers: Record<string, string>, payload = body) =>
      ctx.app.inject({
        method: 'POST',
        url,
        payload,
        headers: { 'content-type': 'application/json', ...headers },
      });
    const count = async () =>
      (
        await query<{ n: number }>(
          ctx.db,
          sql`select count(*)::int as n from platform_events where shop_id = ${shop.shop.id}`,
        )
      )[0].n;

    assertError(
      await send({ 'x-fake-signature': fake.sign(body), 'x-fake-event-id': 'e1' }, `${body} `),
      401,
      'webhook_signature_invalid',
    );
    assertError(
      await send({ 'x-fake-signature': fake.sign(body, 'other secret'), 'x-fake-event-id': 'e1' }),
      401,
      'webhook_signature_invalid',
    );
    assertError(await send({ 'x-fake-event-id': 'e1' }), 401, 'webhook_signature_invalid');
    assertError(
      await ctx.app.inject({
        method: 'POST',
        url: '/v1/connectors/con_nope/webhooks',
        payload: body,
        headers: { 'x-fake-signature': fake.sign(body) },
      }),
      401,
      'webhook_signature_invalid',
    );
    assert.equal(await count(), 0, 'forged webhooks are stored nowhere');

    const ok = await send({ 'x-fake-signature': fake.sign(body), 'x-fake-event-id': 'e1' });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { received: true, duplicate: false });
    const replay = await send({ 'x-fake-signature': fake.sign(body), 'x-fake-event-id': 'e1' });
    assert.deepEqual(replay.json(), { received: true, duplicate: true });
    assert.equal(await count(), 1);
    const calls = fake.calls.length;
    await run();
    assert.equal(fake.calls.slice(calls).filter((c) => c === 'getOrder').length, 1, 'the replay did nothing');
    const [o] = await query<{ email: string }>(
      ctx.db,
      sql`select customer_email as email from orders where shop_id = ${shop.shop.id} and external_id = 'fake-7'`,
    );
    assert.equal(o.email, 'changed@example.com');
  });

  test('reconcile catches what webhooks missed', async () => {
    fake.put(
      { ...doc(9), customer: { ...doc(9).customer!, email: 'missed@example.com' } },
      new Date(Date.now() + 1000),
    );
    await ctx.db.execute(
      sql`update jobs set run_at = now() where type = 'connector.reconcile' and shop_id = ${shop.shop.id} and status = 'queued'`,
    );
    assert.deepEqual((await run()).failed, []);
    const [o] = await query<{ email: string }>(
      ctx.db,
      sql`select customer_email as email from orders where shop_id = ${shop.shop.id} and external_id = 'fake-9'`,
    );
    assert.equal(o.email, 'missed@example.com');
    const [next] = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from jobs where type = 'connector.reconcile' and shop_id = ${shop.shop.id} and status = 'queued' and run_at > now() + interval '10 minutes'`,
    );
    assert.equal(next.n, 1, 'the next reconcile is scheduled');
  });

  test('credentials refused during reconcile stop it; saving working ones starts it again', async () => {
    const liveReconciles = async () =>
      (
        await query<{ n: number }>(
          ctx.db,
          sql`select count(*)::int as n from jobs where type = 'connector.reconcile' and shop_id = ${shop.shop.id}
               and status in ('queued', 'running')`,
        )
      )[0].n;
    await ctx.db.execute(
      sql`update jobs set run_at = now() where type = 'connector.reconcile' and shop_id = ${shop.shop.id} and status = 'queued'`,
    );
    fake.failures.push(new PlatformError('auth_failed', 'The token was revoked.'));
    await run();
    const stopped = (await api('GET', '/connection')).json();
    assert.equal(stopped.status, 'error');
    assert.match(stopped.last_error, /revoked/);
    assert.equal(await liveReconciles(), 0, 'refused credentials: reconcile stops');

    // The merchant saves working credentials: checking for missed changes resumes at once.
    const res = await connect({ token: 'good-token', webhook_secret: 'whsec-fake' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(await liveReconciles(), 1, 'reconcile is scheduled again');
    fake.put(
      { ...doc(8), customer: { ...doc(8).customer!, email: 'while-stopped@example.com' } },
      new Date(Date.now() + 1000),
    );
    assert.deepEqual((await run()).failed, []);
    const [o] = await query<{ email: string }>(
      ctx.db,
      sql`select customer_email as email from orders where shop_id = ${shop.shop.id} and external_id = 'fake-8'`,
    );
    assert.equal(o.email, 'while-stopped@example.com');
    assert.equal((await api('GET', '/connection')).json().status, 'active');
    assert.equal(await liveReconciles(), 1, 'and the next one is scheduled');
  });

  test('a refund is recorded before the platform call; a lost answer never refunds twice', async () => {
    const order = (
      await ctx.app.inject({
        method: 'GET',
        url: `/v1/shops/${shop.slug}/orders/fake-3`,
        headers: shop.auth.admin,
      })
    ).json();
    const created = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${shop.slug}/claims`,
      headers: shop.auth.admin,
      payload: {
        order_id: order.id,
        flow: 'support',
        reason: 'other',
        description: 'Phoned in: wants a refund',
        items: [{ line_item_id: order.line_items[0].id, quantity: 1 }],
      },
    });
    assert.equal(created.statusCode, 201, created.body);
    const claimId = created.json().id;
    fake.loseNextRefundAnswer = true;
    const req = await api('POST', `/claims/${claimId}/actions`, { type: 'refund', note: 'Goodwill' });
    assert.equal(req.statusCode, 202, req.body);
    assert.equal(req.json().status, 'pending');
    await run(); // the platform refunds, the answer is lost: the job is retried later
    await ctx.db.execute(
      sql`update jobs set run_at = now() where type = 'claims.action' and status = 'queued'`,
    );
    await run();
    const actions = (await api('GET', `/claims/${claimId}/actions`)).json().data;
    assert.equal(actions.length, 1);
    assert.equal(actions[0].status, 'succeeded');
    assert.equal(actions[0].external_id, 'refund-1');
    assert.equal(fake.refunds.length, 1, 'exactly one refund on the platform');
    assert.equal(fake.refunds[0].key, actions[0].id, 'the action id is the idempotency key');
    // Nothing left to refund on that line; replacements are not something this platform does.
    assertError(
      await api('POST', `/claims/${claimId}/actions`, { type: 'refund' }),
      422,
      'action_lines_invalid',
    );
    assertError(
      await api('POST', `/claims/${claimId}/actions`, { type: 'replacement' }),
      422,
      'action_unsupported',
    );
    const [event] = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from events where shop_id = ${shop.shop.id} and type = 'claims/action' and subject_id = ${claimId}`,
    );
    assert.equal(event.n, 1);
  });

  test('a headless shop has no actions; another shop cannot see this connection', async () => {
    const other = await createTestShop(ctx.db, 'headless');
    assertError(await api('GET', '/connection', undefined, other), 404, 'connection_not_found');
    const claims = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${shop.slug}/claims`,
      headers: other.auth.admin,
    });
    assertError(claims, 404, 'shop_not_found');
  });

  test('disconnecting keeps the imported orders', async () => {
    const count = async () =>
      (
        await query<{ n: number }>(
          ctx.db,
          sql`select count(*)::int as n from orders where shop_id = ${shop.shop.id}`,
        )
      )[0].n;
    const before = await count();
    assert.ok(before >= 240);
    const res = await api('DELETE', '/connection');
    assert.equal(res.statusCode, 204);
    assertError(await api('GET', '/connection'), 404, 'connection_not_found');
    assert.equal(await count(), before);
  });
});
