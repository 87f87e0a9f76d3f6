import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { and, asc, eq } from 'drizzle-orm';
import { jobs } from '../src/db/schema.js';
import { webhookJobs } from '../src/webhooks/jobs.js';
import { createTestShop, type TestShop } from './support/app.js';
import { makePki, type TestPki } from './support/tls.js';
import {
  assertVerifies,
  attemptsOf,
  createEndpoint,
  emit,
  endpointRow,
  messagesOf,
  type Receiver,
  settled,
  startReceiver,
  startWebhookApp,
  type WebhookTestContext,
  waitFor,
} from './support/webhooks.js';

// What a receiver's answer does: retries on a compressed schedule (0, 300, 600, 1500 ms, each ±10 % jitter),
// Retry-After within bounds, 410, redirects, timeouts, response excerpts, and the 5-day auto-disable (clock moved).

const SCHEDULE = [0, 300, 600, 1500];
let pki: TestPki;
let ctx: WebhookTestContext;
let rx: Receiver;

before(async () => {
  pki = makePki();
  ctx = await startWebhookApp(pki, { retryScheduleMs: SCHEDULE, timeoutMs: 2500, connectTimeoutMs: 2000 });
  rx = await startReceiver(pki);
});
after(async () => {
  await rx?.close();
  await ctx?.close();
  pki?.remove();
});

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);

async function notices(s: TestShop, role: 'viewer' | 'admin') {
  const res = await ctx.app.inject({
    method: 'GET',
    url: `/v1/shops/${s.slug}/notices`,
    headers: s.auth[role],
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().data as { id: string; kind: string; data: Record<string, unknown>; message: string }[];
}

describe('retries', () => {
  test('failed attempts are retried on the schedule, with the same webhook-id, until one succeeds', async () => {
    const s = await createTestShop(ctx.db, 'whr');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/flaky') });
    rx.on('/flaky', (n) => (n < 4 ? { status: 500, body: `failure ${n}` } : { status: 200, body: 'thanks' }));
    await emit(ctx.db, s.shop.id);
    const [m] = await settled(ctx.db, ep.id, 1);
    assert.equal(m.status, 'succeeded');
    assert.equal(m.attemptCount, 4);
    const got = rx.of('/flaky');
    assert.equal(got.length, 4);
    assert.equal(new Set(got.map((r) => r.id)).size, 1);
    for (const r of got) assertVerifies(ep.secret, r);
    assert.equal(new Set(got.map((r) => r.body)).size, 1, 'every attempt sends the same bytes');
    // Spacing: each gap is its schedule step ±10 %, plus a little worker latency.
    gaps(got.map((r) => r.at)).forEach((gap, i) => {
      const step = SCHEDULE[i + 1];
      assert.ok(gap >= step * 0.9 - 15, `gap ${i + 1} was ${gap} ms, expected ≥ ${step * 0.9}`);
      assert.ok(gap <= step * 1.1 + 1000, `gap ${i + 1} was ${gap} ms, expected about ${step}`);
    });
    const attempts = await attemptsOf(ctx.db, m.id);
    assert.deepEqual(
      attempts.map((a) => [a.attemptNumber, a.trigger, a.statusCode, a.outcome, a.responseExcerpt]),
      [
        [1, 'event', 500, 'failed', 'failure 1'],
        [2, 'retry', 500, 'failed', 'failure 2'],
        [3, 'retry', 500, 'failed', 'failure 3'],
        [4, 'retry', 200, 'succeeded', 'thanks'],
      ],
    );
    assert.ok(attempts.every((a) => a.durationMs >= 0 && a.url === ep.url));
    assert.equal(attempts[0].error, 'HTTP 500');
    assert.equal(attempts[0].errorKind, 'http_status');
    // Success clears the endpoint's failure record.
    const row = await endpointRow(ctx.db, s.shop.id, ep.id);
    assert.equal(row.failingSince, null);
    assert.ok(row.lastSuccessAt);
  });

  test('when the schedule is used up the message fails and the log says why', async () => {
    const s = await createTestShop(ctx.db, 'whr');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/down') });
    rx.on('/down', { status: 502, body: 'bad gateway' });
    await emit(ctx.db, s.shop.id);
    const [m] = await settled(ctx.db, ep.id, 1);
    assert.equal(m.status, 'failed');
    assert.equal(m.attemptCount, SCHEDULE.length);
    assert.equal(m.nextAttemptAt, null);
    const res = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${s.slug}/webhooks/${ep.id}/deliveries/${m.id}`,
      headers: s.auth.viewer,
    });
    assert.equal(res.statusCode, 200, res.body);
    const d = res.json();
    assert.equal(d.status, 'failed');
    assert.equal(d.last_status_code, 502);
    assert.equal(d.last_error, 'HTTP 502');
    assert.equal(d.next_attempt_at, null);
    assert.equal(d.attempts.length, SCHEDULE.length);
    assert.deepEqual(
      d.attempts.map((a: { trigger: string }) => a.trigger),
      ['event', 'retry', 'retry', 'retry'],
    );
    assert.equal(d.attempts[0].response_excerpt, 'bad gateway');
    assert.ok((await endpointRow(ctx.db, s.shop.id, ep.id)).failingSince, 'failing_since is set');
  });

  test('Retry-After on 503 and 429 is honoured: later than the schedule, but never past its longest step', async () => {
    const s = await createTestShop(ctx.db, 'whr');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/busy') });
    rx.on('/busy', (n) =>
      n === 1
        ? { status: 503, headers: { 'retry-after': '1' } }
        : n === 2
          ? { status: 429, headers: { 'retry-after': '3600' } }
          : { status: 200 },
    );
    await emit(ctx.db, s.shop.id);
    const [m] = await settled(ctx.db, ep.id, 1);
    assert.equal(m.status, 'succeeded');
    const [g1, g2] = gaps(rx.of('/busy').map((r) => r.at));
    // Step 1 is 300 ms; Retry-After: 1 makes it a second.
    assert.ok(g1 >= 990 && g1 < 1700, `Retry-After: 1 waited ${g1} ms`);
    // Step 2 is 600 ms; Retry-After: 3600 is capped at the longest step, 1500 ms.
    assert.ok(g2 >= 1490 && g2 < 2300, `Retry-After: 3600 waited ${g2} ms`);
    const attempts = await attemptsOf(ctx.db, m.id);
    assert.deepEqual(
      attempts.map((a) => a.statusCode),
      [503, 429, 200],
    );
  });

  test('a 3xx is a failure and is not followed', async () => {
    const s = await createTestShop(ctx.db, 'whr');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/moved') });
    rx.on('/moved', { status: 301, headers: { location: rx.url('/moved-here') } });
    await emit(ctx.db, s.shop.id);
    const [m] = await settled(ctx.db, ep.id, 1);
    assert.equal(m.status, 'failed');
    const attempts = await attemptsOf(ctx.db, m.id);
    assert.equal(attempts.length, SCHEDULE.length);
    assert.equal(attempts[0].statusCode, 301);
    assert.equal(attempts[0].errorKind, 'redirect');
    assert.match(attempts[0].error ?? '', /^redirect: HTTP 301 to https:\/\/127\.0\.0\.1:\d+\/moved-here/);
    assert.equal(rx.of('/moved-here').length, 0);
  });

  test('no answer within the timeout is a failure (timeout), and so is a server that never finishes TLS', async () => {
    const s = await createTestShop(ctx.db, 'whr');
    const slow = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/slow') });
    rx.on('/slow', (n) => (n === 1 ? { delayMs: 3500 } : { status: 200 }));
    await emit(ctx.db, s.shop.id);
    const [m] = await settled(ctx.db, slow.id, 1);
    assert.equal(m.status, 'succeeded');
    const [first, second] = await attemptsOf(ctx.db, m.id);
    assert.equal(first.errorKind, 'timeout');
    assert.equal(first.statusCode, null);
    // Not before the 2.5 s timeout; the upper bound only says it does not hang (timers fire late when the
    // embedded database, which runs on this thread, is busy with another query).
    assert.ok(first.durationMs >= 2450 && first.durationMs < 10_000, `took ${first.durationMs} ms`);
    assert.equal(second.outcome, 'succeeded');

    // A TCP server that accepts and says nothing: the TLS handshake never completes.
    const mute = net.createServer(() => {});
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    try {
      const port = (mute.address() as net.AddressInfo).port;
      const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: `https://127.0.0.1:${port}/x` });
      await ctx.app.inject({
        method: 'PATCH',
        url: `/v1/shops/${s.slug}/webhooks/${ep.id}`,
        headers: s.auth.admin,
        payload: { event_types: ['orders/cancelled'] },
      });
      await emit(ctx.db, s.shop.id, 'orders/cancelled', { order_id: 'ord_none' });
      const [mm] = await settled(ctx.db, ep.id, 1, 30_000);
      const att = await attemptsOf(ctx.db, mm.id);
      assert.equal(att[0].errorKind, 'connect_timeout');
      assert.match(att[0].error ?? '', /no connection within 2000 ms \(tls\)/);
      assert.ok(att[0].durationMs >= 1950 && att[0].durationMs < 10_000, `took ${att[0].durationMs} ms`);
    } finally {
      mute.close();
    }
  });

  test('the log keeps the first 4 kB of a response (NUL bytes replaced), whatever its size', async () => {
    const s = await createTestShop(ctx.db, 'whr');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/chatty') });
    const big = `${'é'.repeat(3000)}\u0000${'x'.repeat(200_000)}`;
    rx.on('/chatty', (n) => (n === 1 ? { status: 500, body: big } : { status: 200, body: 'a\u0000b' }));
    await emit(ctx.db, s.shop.id);
    const [m] = await settled(ctx.db, ep.id, 1);
    const [a1, a2] = await attemptsOf(ctx.db, m.id);
    assert.equal(Buffer.byteLength(a1.responseExcerpt ?? '', 'utf8') <= 4096 + 3, true);
    assert.ok((a1.responseExcerpt ?? '').startsWith('éé'));
    assert.equal(a1.statusCode, 500);
    assert.equal(a2.responseExcerpt, 'a\uFFFDb');
  });
});

describe('endpoints that are gone or keep failing are disabled, and admins are told', () => {
  test('410 disables the endpoint at once; later events are not sent to it', async () => {
    const s = await createTestShop(ctx.db, 'whr');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/gone') });
    rx.on('/gone', { status: 410, body: 'no longer here' });
    await emit(ctx.db, s.shop.id);
    const [m] = await settled(ctx.db, ep.id, 1);
    assert.equal(m.status, 'failed');
    assert.equal(m.attemptCount, 1);
    const row = await endpointRow(ctx.db, s.shop.id, ep.id);
    assert.equal(row.status, 'disabled');
    assert.equal(row.disabledReason, 'gone');
    const got = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${s.slug}/webhooks/${ep.id}`,
      headers: s.auth.viewer,
    });
    assert.equal(got.json().status, 'disabled');
    assert.equal(got.json().disabled_reason, 'gone');

    const notice = (await notices(s, 'admin')).find((n) => n.data.endpoint_id === ep.id);
    assert.ok(notice, 'an admin notice exists');
    assert.equal(notice.kind, 'webhook_endpoint_disabled');
    assert.equal(notice.data.reason, 'gone');
    assert.match(notice.message, /410 Gone/);
    assert.equal(
      (await notices(s, 'viewer')).some((n) => n.data.endpoint_id === ep.id),
      false,
      'viewers do not see admin notices',
    );

    await emit(ctx.db, s.shop.id);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await messagesOf(ctx.db, ep.id)).length, 1);
    assert.equal(rx.of('/gone').length, 1);

    // Dismissed notices leave the list.
    const dismissed = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${s.slug}/notices/${notice.id}/dismiss`,
      headers: s.auth.admin,
    });
    assert.equal(dismissed.statusCode, 200, dismissed.body);
    assert.ok(dismissed.json().dismissed_at);
    assert.equal(
      (await notices(s, 'admin')).some((n) => n.id === notice.id),
      false,
    );
  });

  test('an endpoint that has failed continuously for 5 days is disabled (clock moved)', async () => {
    const s = await createTestShop(ctx.db, 'whr');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/broken') });
    let ok = false;
    rx.on('/broken', () => (ok ? { status: 200 } : { status: 500 }));
    await emit(ctx.db, s.shop.id);
    await settled(ctx.db, ep.id, 1);
    const since = (await endpointRow(ctx.db, s.shop.id, ep.id)).failingSince;
    assert.ok(since);

    // Four days on, still failing: still enabled.
    ctx.clock.offsetMs = 4 * 86_400_000;
    try {
      await emit(ctx.db, s.shop.id);
      await settled(ctx.db, ep.id, 2);
      let row = await endpointRow(ctx.db, s.shop.id, ep.id);
      assert.equal(row.status, 'enabled');
      assert.equal(row.failingSince?.getTime(), since.getTime(), 'the failure streak keeps its start');

      // Five days after the first failure: the next failed attempt disables it.
      ctx.clock.offsetMs = 5 * 86_400_000 + 1000;
      await emit(ctx.db, s.shop.id);
      const ms = await settled(ctx.db, ep.id, 3);
      row = await endpointRow(ctx.db, s.shop.id, ep.id);
      assert.equal(row.status, 'disabled');
      assert.equal(row.disabledReason, 'failing');
      const last = ms[2];
      assert.equal(last.status, 'failed');
      assert.equal(last.attemptCount, 1, 'no retries once the endpoint is disabled');
      const notice = (await notices(s, 'admin')).find((n) => n.data.endpoint_id === ep.id);
      assert.equal(notice?.data.reason, 'failing');
      assert.match(notice?.message ?? '', /failed for 5 days/);
    } finally {
      ctx.clock.offsetMs = 0;
    }

    // Re-enabled, one success clears the streak.
    const en = await ctx.app.inject({
      method: 'PATCH',
      url: `/v1/shops/${s.slug}/webhooks/${ep.id}`,
      headers: s.auth.admin,
      payload: { status: 'enabled' },
    });
    assert.equal(en.statusCode, 200, en.body);
    assert.equal(en.json().disabled_reason, null);
    assert.equal(en.json().failing_since, null);
    ok = true;
    await emit(ctx.db, s.shop.id);
    await waitFor('a success', async () =>
      (await messagesOf(ctx.db, ep.id)).some((m) => m.status === 'succeeded'),
    );
    const row = await endpointRow(ctx.db, s.shop.id, ep.id);
    assert.equal(row.status, 'enabled');
    assert.equal(row.failingSince, null);
  });

  test('a success within the 5 days resets the streak', async () => {
    const s = await createTestShop(ctx.db, 'whr');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/intermittent') });
    let ok = false;
    rx.on('/intermittent', () => (ok ? { status: 200 } : { status: 500 }));
    try {
      await emit(ctx.db, s.shop.id);
      await settled(ctx.db, ep.id, 1);
      ctx.clock.offsetMs = 3 * 86_400_000;
      ok = true;
      await emit(ctx.db, s.shop.id);
      await settled(ctx.db, ep.id, 2);
      assert.equal((await endpointRow(ctx.db, s.shop.id, ep.id)).failingSince, null);
      ok = false;
      ctx.clock.offsetMs = 6 * 86_400_000; // 6 days after the first failure, 3 after the success
      await emit(ctx.db, s.shop.id);
      await settled(ctx.db, ep.id, 3);
      const row = await endpointRow(ctx.db, s.shop.id, ep.id);
      assert.equal(row.status, 'enabled');
      assert.ok(row.failingSince);
    } finally {
      ctx.clock.offsetMs = 0;
    }
  });
});

describe('batches: a backlog for one endpoint goes out one message after another', () => {
  /** `n` events fanned out by one fan-out job (run here, the worker stopped): one delivery job gets them all. */
  async function backlog(shopId: string, n: number) {
    await ctx.worker.stop();
    try {
      for (let i = 0; i < n; i++)
        await emit(ctx.db, shopId, 'claims/updated', { claim_id: `clm_${i}`, n: i });
      const [job] = await ctx.db
        .select()
        .from(jobs)
        .where(and(eq(jobs.shopId, shopId), eq(jobs.type, 'webhooks.fanout')))
        .orderBy(asc(jobs.runAt), asc(jobs.id))
        .limit(1);
      const { handlers, close } = webhookJobs(ctx.deps);
      await handlers['webhooks.fanout'](
        {
          id: job.id,
          type: job.type,
          shop_id: job.shopId,
          payload: job.payload,
          attempts: 1,
          max_attempts: 25,
        },
        { db: ctx.db, log: ctx.deps.log },
      );
      close();
      const deliveries = await ctx.db
        .select()
        .from(jobs)
        .where(and(eq(jobs.shopId, shopId), eq(jobs.type, 'webhooks.deliver')));
      assert.equal(deliveries.length, 1, 'one delivery job for the whole batch');
      assert.equal((deliveries[0].payload as { messages: unknown[] }).messages.length, n);
    } finally {
      ctx.worker.start();
    }
  }
  const nOf = (body: string) => (JSON.parse(body).data as { n: number }).n;

  test('a failure in the middle retries that message and hands the rest on; all arrive', async () => {
    const s = await createTestShop(ctx.db, 'whb');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/batch') });
    let failedOnce = false;
    rx.on('/batch', (_n, r) => {
      if (nOf(r.body) === 1 && !failedOnce) {
        failedOnce = true;
        return { status: 500 };
      }
      return { status: 200 };
    });
    await backlog(s.shop.id, 5);
    const ms = await settled(ctx.db, ep.id, 5);
    assert.ok(ms.every((m) => m.status === 'succeeded'));
    const arrivals = rx.of('/batch').map((r) => nOf(r.body));
    assert.deepEqual(arrivals.slice(0, 2), [0, 1], 'a batch goes in event order');
    assert.deepEqual([...arrivals].sort(), [0, 1, 1, 2, 3, 4]);
    for (const m of ms) {
      const attempts = await attemptsOf(ctx.db, m.id);
      const n = nOf(m.payload);
      assert.deepEqual(
        attempts.map((a) => a.trigger),
        n === 1 ? ['event', 'retry'] : ['event'],
        `message ${n}`,
      );
    }
  });

  test('410 in the middle disables the endpoint; the rest of the batch fails unsent', async () => {
    const s = await createTestShop(ctx.db, 'whb');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/batch-gone') });
    rx.on('/batch-gone', (_n, r) => (nOf(r.body) === 2 ? { status: 410 } : { status: 200 }));
    await backlog(s.shop.id, 5);
    const ms = await settled(ctx.db, ep.id, 5);
    const byN = new Map(ms.map((m) => [nOf(m.payload), m]));
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((n) => byN.get(n)?.status),
      ['succeeded', 'succeeded', 'failed', 'failed', 'failed'],
    );
    assert.match(byN.get(3)?.lastError ?? '', /not sent: the endpoint is disabled \(gone\)/);
    assert.equal((await attemptsOf(ctx.db, byN.get(3)!.id)).length, 0);
    assert.equal(rx.of('/batch-gone').length, 3);
    assert.equal((await endpointRow(ctx.db, s.shop.id, ep.id)).disabledReason, 'gone');
  });
});
