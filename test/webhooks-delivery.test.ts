import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq, sql } from 'drizzle-orm';
import { jobs, webhookEndpoints } from '../src/db/schema.js';
import { createTestShop, type TestShop } from './support/app.js';
import { daysAgo } from './support/http.js';
import { orderDoc } from './support/orders.js';
import { makePki, type TestPki } from './support/tls.js';
import {
  assertVerifies,
  attemptsOf,
  createEndpoint,
  emit,
  messagesOf,
  type Receiver,
  settled,
  startReceiver,
  startWebhookApp,
  verifySigned,
  type WebhookTestContext,
  waitFor,
} from './support/webhooks.js';

// Delivery end to end: real events (a claim through the API, and emitEvent), the real worker, a local HTTPS
// receiver with a certificate from a CA made for this run; every signature checked with `standardwebhooks`.

let pki: TestPki;
let ctx: WebhookTestContext;
let rx: Receiver;

before(async () => {
  pki = makePki();
  ctx = await startWebhookApp(pki);
  rx = await startReceiver(pki);
});
after(async () => {
  await rx?.close();
  await ctx?.close();
  pki?.remove();
});

interface Envelope {
  id: string;
  type: string;
  version: number;
  created_at: string;
  shop: string;
  data: { claim?: Record<string, unknown> | null; changes?: Record<string, unknown> } & Record<
    string,
    unknown
  >;
  context: {
    order: Record<string, unknown> | null;
    customer: Record<string, unknown> | null;
    shipments: Record<string, unknown>[];
  };
}

function deliveredDoc() {
  const doc = orderDoc();
  return {
    ...doc,
    placed_at: daysAgo(5),
    shipments: doc.shipments!.map((s) => ({
      ...s,
      events: [
        {
          time: daysAgo(3),
          code: 'picked_up',
          phase: 'in_transit' as const,
          description: null,
          location: null,
        },
        {
          time: daysAgo(2),
          code: 'delivered',
          phase: 'delivered' as const,
          description: null,
          location: null,
        },
      ],
    })),
  };
}

describe('a claim through the API reaches the endpoint, signed, with its order context', () => {
  let s: TestShop;
  before(async () => {
    s = await createTestShop(ctx.db, 'whd');
  });

  test('claims/created and claims/updated arrive in order with the SPEC §10 envelope', async () => {
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, {
      url: rx.url('/claims'),
      event_types: ['claims'],
    });
    const put = await ctx.app.inject({
      method: 'PUT',
      url: `/v1/shops/${s.slug}/orders`,
      headers: s.auth.editor,
      payload: deliveredDoc(),
    });
    assert.equal(put.statusCode, 201, put.body);
    const order = put.json();
    const created = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${s.slug}/claims`,
      headers: s.auth.editor,
      payload: {
        order_id: order.id,
        flow: 'defective',
        reason: 'broken_on_arrival',
        description: 'The mug arrived in pieces.',
        resolution_preference: 'refund',
        items: [{ line_item_id: order.line_items[1].id, quantity: 1 }],
      },
    });
    assert.equal(created.statusCode, 201, created.body);
    const claim = created.json();
    const patched = await ctx.app.inject({
      method: 'PATCH',
      url: `/v1/shops/${s.slug}/claims/${claim.id}`,
      headers: s.auth.editor,
      payload: { status: 'accepted', version: claim.version },
    });
    assert.equal(patched.statusCode, 200, patched.body);

    await waitFor('two deliveries', () => rx.of('/claims').length >= 2);
    // Deliveries run concurrently: no order is promised (receivers order by the event's created_at).
    const byType = (t: string) => rx.of('/claims').find((r) => (JSON.parse(r.body) as Envelope).type === t)!;
    const first = byType('claims/created');
    const second = byType('claims/updated');
    assert.ok(
      first && second,
      rx
        .of('/claims')
        .map((r) => r.body)
        .join('\n'),
    );
    for (const r of [first, second]) {
      assertVerifies(ep.secret, r);
      assert.match(r.id, /^msg_[0-9a-z]{26}$/);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.ok(Math.abs(Number(r.timestamp) - Date.now() / 1000) < 60);
      assert.match(r.signature, /^v1,[A-Za-z0-9+/]+=*$/);
    }
    const a = JSON.parse(first.body) as Envelope;
    const b = JSON.parse(second.body) as Envelope;
    assert.deepEqual(Object.keys(a).sort(), [
      'context',
      'created_at',
      'data',
      'id',
      'shop',
      'type',
      'version',
    ]);
    assert.equal(a.type, 'claims/created');
    assert.match(a.id, /^evt_/);
    assert.equal(a.version, 1);
    assert.equal(a.shop, s.slug);
    assert.equal(a.data.claim?.id, claim.id);
    assert.equal(a.data.claim?.number, claim.number);
    assert.equal(a.data.claim?.reason, 'broken_on_arrival');
    assert.equal(a.context.order?.id, order.id);
    assert.equal(a.context.order?.order_number, order.order_number);
    assert.equal(a.context.customer?.email, 'kim@example.com');
    assert.equal(a.context.shipments.length, 1);
    assert.equal(a.context.shipments[0].phase, 'delivered');
    assert.equal('shipments' in (a.context.order ?? {}), false);
    // Evidence links expire within minutes; a retried message must not carry them.
    for (const e of (a.data.claim?.evidence as Record<string, unknown>[]) ?? [])
      assert.equal('url' in e, false);

    assert.equal(b.type, 'claims/updated');
    assert.deepEqual(b.data.changes, { status: { from: 'pending', to: 'accepted' } });
    assert.equal(b.data.claim?.id, claim.id);
    assert.equal(b.context.order?.id, order.id);
    assert.notEqual(first.id, second.id);
  });
});

describe('fan-out', () => {
  test('each event goes to every matching enabled endpoint, once; filters by source and exact type', async () => {
    const s = await createTestShop(ctx.db, 'whf');
    const all = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/f-all') });
    const claimsOnly = await createEndpoint(ctx, s.slug, s.auth.admin, {
      url: rx.url('/f-claims'),
      event_types: ['claims'],
    });
    const cancelled = await createEndpoint(ctx, s.slug, s.auth.admin, {
      url: rx.url('/f-cancel'),
      event_types: ['orders/cancelled'],
    });
    const off = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/f-off') });
    const dis = await ctx.app.inject({
      method: 'PATCH',
      url: `/v1/shops/${s.slug}/webhooks/${off.id}`,
      headers: s.auth.admin,
      payload: { status: 'disabled' },
    });
    assert.equal(dis.statusCode, 200, dis.body);

    const e1 = await emit(ctx.db, s.shop.id, 'claims/updated', { claim_id: 'clm_x', changes: {} });
    const e2 = await emit(ctx.db, s.shop.id, 'orders/cancelled', { order_id: 'ord_x', reason: 'test' });
    const e3 = await emit(ctx.db, s.shop.id, 'orders/address_changed', { order_id: 'ord_x' });

    await settled(ctx.db, all.id, 3);
    await settled(ctx.db, claimsOnly.id, 1);
    await settled(ctx.db, cancelled.id, 1);
    const eventsOf = (path: string) => rx.of(path).map((r) => (JSON.parse(r.body) as Envelope).id);
    assert.deepEqual(eventsOf('/f-all').sort(), [e1, e2, e3].sort());
    assert.deepEqual(eventsOf('/f-claims'), [e1]);
    assert.deepEqual(eventsOf('/f-cancel'), [e2]);
    assert.deepEqual(rx.of('/f-off'), []);
    assert.equal((await messagesOf(ctx.db, off.id)).length, 0);
    for (const r of rx.of('/f-all')) assertVerifies(all.secret, r);
    // The same event has one envelope (same event id) but a message id per endpoint.
    const idsForE1 = rx.received.filter((r) => (JSON.parse(r.body) as Envelope).id === e1).map((r) => r.id);
    assert.equal(new Set(idsForE1).size, idsForE1.length);
  });

  test('a shop without endpoints queues no fan-out job; an endpoint gets only events after its creation', async () => {
    const s = await createTestShop(ctx.db, 'whn');
    const before = await emit(ctx.db, s.shop.id);
    const [row] = await ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(jobs)
      .where(and(eq(jobs.type, 'webhooks.fanout'), eq(jobs.shopId, s.shop.id)));
    assert.equal(Number(row.n), 0);
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/late') });
    const afterId = await emit(ctx.db, s.shop.id);
    const ms = await settled(ctx.db, ep.id, 1);
    assert.deepEqual(
      ms.map((m) => m.eventId),
      [afterId],
    );
    assert.notEqual(before, afterId);
  });

  test('a re-run fan-out job (worker died after its commit) creates no second message', async () => {
    const s = await createTestShop(ctx.db, 'whr');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/rerun') });
    const evt = await emit(ctx.db, s.shop.id);
    await settled(ctx.db, ep.id, 1);
    // Queue the same fan-out again, as a lease expiry after the commit would.
    await ctx.db.insert(jobs).values({
      id: `job_rerun${evt.slice(9)}`,
      type: 'webhooks.fanout',
      shopId: s.shop.id,
      payload: { event_id: evt },
    });
    ctx.worker.nudge();
    // A fan-out job's row goes in the transaction that writes its messages.
    await waitFor('the re-run to finish', async () => {
      const [j] = await ctx.db
        .select()
        .from(jobs)
        .where(eq(jobs.id, `job_rerun${evt.slice(9)}`));
      return !j || j.status === 'succeeded';
    });
    assert.equal((await messagesOf(ctx.db, ep.id)).length, 1);
    assert.equal(rx.of('/rerun').length, 1);
  });
});

describe('test events and replays', () => {
  let s: TestShop;
  before(async () => {
    s = await createTestShop(ctx.db, 'wht');
  });

  test('POST …/test queues a signed webhooks/test message', async () => {
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/test-ev') });
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${s.slug}/webhooks/${ep.id}/test`,
      headers: s.auth.editor,
    });
    assert.equal(res.statusCode, 202, res.body);
    const msg = res.json();
    assert.equal(msg.event_type, 'webhooks/test');
    assert.equal(msg.status, 'pending');
    await waitFor('the test delivery', () => rx.of('/test-ev').length === 1);
    const [r] = rx.of('/test-ev');
    assert.equal(r.id, msg.id);
    const body = verifySigned(ep.secret, r) as Envelope;
    assert.equal(body.type, 'webhooks/test');
    assert.equal(body.data.endpoint_id, ep.id);
    assert.deepEqual(body.context, { order: null, customer: null, shipments: [] });
    const [m] = await settled(ctx.db, ep.id, 1);
    assert.equal(m.status, 'succeeded');
    const [att] = await attemptsOf(ctx.db, m.id);
    assert.equal(att.trigger, 'test');
    assert.equal(att.statusCode, 200);
    assert.equal(att.responseExcerpt, 'ok');
  });

  test('replaying one message sends the same id and body again, newly signed', async () => {
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/replay-one') });
    await emit(ctx.db, s.shop.id);
    const [m] = await settled(ctx.db, ep.id, 1);
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${s.slug}/webhooks/${ep.id}/deliveries/${m.id}/replay`,
      headers: s.auth.editor,
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().status, 'pending');
    await waitFor('the replay', () => rx.of('/replay-one').length === 2);
    const [one, two] = rx.of('/replay-one');
    assert.equal(one.id, two.id);
    assert.equal(one.body, two.body);
    assertVerifies(ep.secret, two);
    const [done] = await settled(ctx.db, ep.id, 1);
    assert.equal(done.attemptCount, 2);
    assert.deepEqual(
      (await attemptsOf(ctx.db, m.id)).map((a) => a.trigger),
      ['event', 'replay'],
    );
  });

  test('replay-failed sends every failed message of the range again, and only those', async () => {
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/replay-range') });
    let down = true;
    rx.on('/replay-range', () => (down ? { status: 500, body: 'down' } : { status: 204, body: '' }));
    const t0 = new Date();
    for (let i = 0; i < 3; i++) await emit(ctx.db, s.shop.id);
    const failed = await settled(ctx.db, ep.id, 3);
    assert.ok(failed.every((m) => m.status === 'failed' && m.attemptCount === 4));
    down = false;
    await emit(ctx.db, s.shop.id); // succeeds: not replayed
    await settled(ctx.db, ep.id, 4);
    const before = rx.of('/replay-range').length;
    const empty = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${s.slug}/webhooks/${ep.id}/replay-failed`,
      headers: s.auth.editor,
      payload: { since: new Date(t0.getTime() - 86_400_000).toISOString(), until: t0.toISOString() },
    });
    assert.equal(empty.statusCode, 202, empty.body);
    assert.deepEqual(empty.json(), { replayed: 0 });
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${s.slug}/webhooks/${ep.id}/replay-failed`,
      headers: s.auth.editor,
      payload: { since: new Date(t0.getTime() - 1000).toISOString() },
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), { replayed: 3 });
    await waitFor('three replays', () => rx.of('/replay-range').length === before + 3);
    const ms = await settled(ctx.db, ep.id, 4);
    assert.ok(
      ms.every((m) => m.status === 'succeeded'),
      JSON.stringify(ms.map((m) => m.status)),
    );
    const replayedIds = rx
      .of('/replay-range')
      .slice(before)
      .map((r) => r.id)
      .sort();
    assert.deepEqual(replayedIds, failed.map((m) => m.id).sort());
  });
});

describe('secret rotation', () => {
  test('during the overlap both secrets verify every delivery; after it only the new one', async () => {
    const s = await createTestShop(ctx.db, 'whs');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/rotate') });
    const rot = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${s.slug}/webhooks/${ep.id}/rotate-secret`,
      headers: s.auth.admin,
      payload: { overlap_seconds: 3600 },
    });
    assert.equal(rot.statusCode, 200, rot.body);
    const { secret: fresh, previous_secret_expires_at } = rot.json();
    assert.notEqual(fresh, ep.secret);
    assert.ok(Date.parse(previous_secret_expires_at) > Date.now() + 3500_000);

    await emit(ctx.db, s.shop.id);
    await waitFor('delivery during the overlap', () => rx.of('/rotate').length === 1);
    const during = rx.of('/rotate')[0];
    assert.equal(during.signature.split(' ').length, 2);
    assertVerifies(fresh, during);
    assertVerifies(ep.secret, during);

    ctx.clock.offsetMs = 3601_000; // the overlap is over
    try {
      await emit(ctx.db, s.shop.id);
      await waitFor('delivery after the overlap', () => rx.of('/rotate').length === 2);
    } finally {
      ctx.clock.offsetMs = 0;
    }
    const afterOverlap = rx.of('/rotate')[1];
    assert.equal(afterOverlap.signature.split(' ').length, 1);
    assertVerifies(fresh, afterOverlap);
    assert.throws(() => verifySigned(ep.secret, afterOverlap), /No matching signature/);

    // overlap_seconds 0 retires the old secret at once.
    const now = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${s.slug}/webhooks/${ep.id}/rotate-secret`,
      headers: s.auth.admin,
      payload: { overlap_seconds: 0 },
    });
    assert.equal(now.statusCode, 200, now.body);
    assert.equal(now.json().previous_secret_expires_at, null);
    await emit(ctx.db, s.shop.id);
    await waitFor('delivery after an immediate rotation', () => rx.of('/rotate').length === 3);
    const third = rx.of('/rotate')[2];
    assertVerifies(now.json().secret, third);
    assert.throws(() => verifySigned(fresh, third), /No matching signature/);
  });
});

describe('deleting and disabling', () => {
  test('messages queued for an endpoint that is then disabled fail without an attempt', async () => {
    const s = await createTestShop(ctx.db, 'whx');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/disabled-later') });
    await ctx.worker.stop();
    try {
      await emit(ctx.db, s.shop.id);
      // Fan-out runs, then the endpoint is disabled before delivery.
      const { handlers } = await import('../src/webhooks/jobs.js').then((m) => m.webhookJobs(ctx.deps));
      const [job] = await ctx.db
        .select()
        .from(jobs)
        .where(and(eq(jobs.shopId, s.shop.id), eq(jobs.type, 'webhooks.fanout')));
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
      await ctx.db.delete(jobs).where(eq(jobs.id, job.id));
      await ctx.db
        .update(webhookEndpoints)
        .set({ status: 'disabled', disabledReason: 'manual' })
        .where(eq(webhookEndpoints.id, ep.id));
    } finally {
      ctx.worker.start();
    }
    const [m] = await settled(ctx.db, ep.id, 1);
    assert.equal(m.status, 'failed');
    assert.match(m.lastError ?? '', /endpoint is disabled/);
    assert.equal((await attemptsOf(ctx.db, m.id)).length, 0);
    assert.equal(rx.of('/disabled-later').length, 0);
  });
});

test('metrics count deliveries by outcome, failures by kind, and queue lag', async () => {
  const text = await ctx.deps.metrics.registry.metrics();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  assert.ok(value(/^resolve_webhook_deliveries_total\{outcome="succeeded"\} (\d+)/m) > 5, text);
  assert.ok(value(/^resolve_webhook_deliveries_total\{outcome="failed"\} (\d+)/m) >= 3);
  assert.ok(value(/^resolve_webhook_failures_total\{kind="http_status"\} (\d+)/m) >= 12);
  assert.ok(value(/^resolve_webhook_queue_lag_seconds_count (\d+)/m) > 5);
  assert.ok(value(/^resolve_webhook_attempt_duration_seconds_count (\d+)/m) > 5);
});
