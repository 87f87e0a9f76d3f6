import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { PlatformError } from '../src/connectors/platform.js';
import { registerPlatform } from '../src/connectors/platforms.js';
import { query } from '../src/db/client.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import type { OrderInputT } from '../src/orders/document.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { shapedOrder } from './support/claims.js';
import { FakePlatform } from './support/fake-platform.js';
import { assertError } from './support/http.js';
import { drainJobs } from './support/jobs.js';

/**
 * Refunds and replacements through the real app (inject) against a platform that refunds whatever it is told, as
 * the demo shop does: every cap here is Resolve's own, whatever a platform would check.
 */
describe('claim actions: caps across claims, state at execution, input', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let fake: FakePlatform;
  const run = () => drainJobs(ctx.db, jobHandlers(ctx.deps), ['claims.action']);
  const api = (method: 'GET' | 'PUT' | 'POST' | 'PATCH', url: string, payload?: unknown, s = shop) =>
    ctx.app.inject({
      method,
      url: `/v1/shops/${s.slug}${url}`,
      headers: s.auth.admin,
      payload: payload as object,
    });
  interface Order {
    id: string;
    line_items: { id: string; external_id: string; quantity: number }[];
  }
  const putOrder = async (doc: OrderInputT, s = shop): Promise<Order> => {
    const res = await api('PUT', '/orders', doc, s);
    assert.ok(res.statusCode < 300, res.body);
    return res.json();
  };
  /** Delivered 2 days ago: line 0 is 2 T-shirts, line 1 one mug; shipping 4.95. */
  const newDoc = (): OrderInputT => ({
    ...shapedOrder(),
    external_id: `ord-${randomBytes(4).toString('hex')}`,
  });
  const newClaim = async (
    order: Order,
    items: { line_item_id: string; quantity: number }[],
    flow: 'defective' | 'support' = 'defective',
    s = shop,
  ) => {
    const res = await api(
      'POST',
      '/claims',
      {
        order_id: order.id,
        flow,
        reason: flow === 'support' ? 'other' : 'broken_on_arrival',
        description: 'Taken by phone',
        items,
        ...(flow === 'support' ? {} : { resolution_preference: 'refund' }),
      },
      s,
    );
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; number: string; version: number };
  };
  const act = (claimId: string, body: unknown) => api('POST', `/claims/${claimId}/actions`, body);
  const actionsOf = async (claimId: string) =>
    (await api('GET', `/claims/${claimId}/actions`)).json().data as {
      id: string;
      status: string;
      error: string | null;
      lines: { line_item_id: string; quantity: number }[];
    }[];
  const unitsSentFor = (orderExternalId: string) =>
    fake.refunds
      .filter((r) => r.order === orderExternalId)
      .reduce((n, r) => n + r.lines.reduce((m, l) => m + l.quantity, 0), 0);
  const reject = async (claimId: string) => {
    const { version } = (await api('GET', `/claims/${claimId}`)).json();
    const res = await api('PATCH', `/claims/${claimId}`, { status: 'rejected', version });
    assert.equal(res.statusCode, 200, res.body);
  };

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'act');
    fake = new FakePlatform(`fake${randomBytes(3).toString('hex')}`);
    fake.capabilities = ['read_orders', 'refund'];
    registerPlatform(fake.connector());
    const res = await api('PUT', '/connection', {
      platform: fake.id,
      settings: { store: 'acme' },
      credentials: { token: 'good-token', webhook_secret: 'whsec-fake' },
      backfill_days: 1,
    });
    assert.equal(res.statusCode, 200, res.body);
    await ctx.db.execute(sql`delete from jobs where shop_id = ${shop.shop.id}`);
  });
  after(() => ctx.close());

  test('a line named twice in one request is refused, not refunded past the units claimed', async () => {
    const order = await putOrder(newDoc());
    const li = order.line_items[0].id;
    const claim = await newClaim(order, [{ line_item_id: li, quantity: 1 }]);
    const res = await act(claim.id, {
      type: 'refund',
      lines: [
        { line_item_id: li, quantity: 1 },
        { line_item_id: li, quantity: 1 },
      ],
    });
    assertError(res, 422, 'action_lines_invalid');
    assert.deepEqual(res.json().error.errors, [{ path: '/lines/1/line_item_id', message: 'listed twice' }]);
    assert.deepEqual(await actionsOf(claim.id), [], 'nothing stored');
  });

  test('a unit claimed by a support request and a defective claim is refunded once', async () => {
    const doc = newDoc();
    const order = await putOrder(doc);
    const mug = order.line_items[1].id; // one unit
    const support = await newClaim(order, [{ line_item_id: mug, quantity: 1 }], 'support');
    const defective = await newClaim(order, [{ line_item_id: mug, quantity: 1 }]);
    assert.equal((await act(defective.id, { type: 'refund' })).statusCode, 202);
    const again = await act(support.id, { type: 'refund' });
    assertError(again, 422, 'action_lines_invalid');
    assert.deepEqual(again.json().error.errors, [
      {
        path: '/lines/0/quantity',
        message: 'at most 0 more unit(s) of this line for a refund (1 already refunded)',
      },
    ]);
    // The form reads what each line has left before it offers anything (GET …/actions `lines`), by number too.
    const left = await api('GET', `/claims/${support.number.toLowerCase()}/actions`);
    assert.equal(left.statusCode, 200, left.body);
    assert.deepEqual(left.json().lines, [
      { line_item_id: mug, claimed: 1, left: 0, refunded: 1, replaced: 0 },
    ]);
    await run();
    assert.equal(unitsSentFor(doc.external_id as string), 1);
  });

  test('a refunded unit is not refunded again on a new claim after the first was rejected', async () => {
    const doc = newDoc();
    const order = await putOrder(doc);
    const mug = order.line_items[1].id;
    const first = await newClaim(order, [{ line_item_id: mug, quantity: 1 }]);
    assert.equal((await act(first.id, { type: 'refund' })).statusCode, 202);
    await run();
    assert.equal((await actionsOf(first.id))[0].status, 'succeeded');
    await reject(first.id); // gives the claimed unit back to eligibility …
    const second = await newClaim(order, [{ line_item_id: mug, quantity: 1 }]);
    // … but not the money: the unit was refunded.
    assertError(await act(second.id, { type: 'refund' }), 422, 'action_lines_invalid');
    assert.equal(unitsSentFor(doc.external_id as string), 1);
  });

  test('units the platform reports refunded count too', async () => {
    const doc = newDoc();
    const order = await putOrder(doc);
    const tee = order.line_items[0].id; // two units
    const claim = await newClaim(order, [{ line_item_id: tee, quantity: 2 }]);
    // The merchant refunded one shirt in the shop's admin; the sync brings it in.
    await putOrder({
      ...doc,
      line_items: doc.line_items.map((l, i) => (i === 0 ? { ...l, quantity_refunded: 1 } : l)),
    });
    const res = await act(claim.id, { type: 'refund' });
    assertError(res, 422, 'action_lines_invalid');
    assert.deepEqual(res.json().error.errors, [
      {
        path: '/lines/0/quantity',
        message: 'at most 1 more unit(s) of this line for a refund (1 already refunded)',
      },
    ]);
    assert.equal(
      (await act(claim.id, { type: 'refund', lines: [{ line_item_id: tee, quantity: 1 }] })).statusCode,
      202,
    );
  });

  test("an order's shipping is refunded once across its claims; only a refund includes shipping", async () => {
    const doc = newDoc();
    const order = await putOrder(doc);
    const a = await newClaim(order, [{ line_item_id: order.line_items[0].id, quantity: 1 }]);
    const b = await newClaim(order, [{ line_item_id: order.line_items[1].id, quantity: 1 }]);
    // The first try fails at the platform: it refunded nothing, so the shipping is still there to refund.
    const shippingRefunded = async (claimId: string) =>
      (await api('GET', `/claims/${claimId}/actions`)).json().shipping_refunded;
    await run();
    fake.failures.push(new PlatformError('rejected', 'The card issuer declined the refund.'));
    assert.equal((await act(a.id, { type: 'refund', include_shipping: true })).statusCode, 202);
    // Pending: it may take the shipping, so the order's other claim already says so.
    const pending = (await actionsOf(a.id))[0];
    assert.equal((await shippingRefunded(b.id))?.action_id, pending.id);
    await run();
    assert.equal((await actionsOf(a.id))[0].status, 'failed');
    assert.equal(await shippingRefunded(a.id), null, 'a refusal refunded nothing');
    assert.equal(await shippingRefunded(b.id), null);
    assert.equal((await act(a.id, { type: 'refund', include_shipping: true })).statusCode, 202);
    const taken = (await actionsOf(a.id))[1];
    const numberOfA = (await api('GET', `/claims/${a.id}`)).json().number;
    for (const id of [a.id, b.id])
      assert.deepEqual(await shippingRefunded(id), {
        action_id: taken.id,
        claim_id: a.id,
        claim_number: numberOfA,
      });
    // Another order's claims are not concerned.
    const otherOrder = await putOrder(newDoc());
    const elsewhere = await newClaim(otherOrder, [
      { line_item_id: otherOrder.line_items[0].id, quantity: 1 },
    ]);
    assert.equal(await shippingRefunded(elsewhere.id), null);
    const twice = await act(b.id, { type: 'refund', include_shipping: true });
    assertError(twice, 422, 'action_lines_invalid');
    assert.deepEqual(twice.json().error.errors, [
      { path: '/include_shipping', message: "this order's shipping was already refunded" },
    ]);
    assertError(
      await act(b.id, { type: 'replacement', include_shipping: true }),
      422,
      'action_unsupported', // this platform does no replacements: checked first
    );
    assert.equal((await act(b.id, { type: 'refund', include_shipping: false })).statusCode, 202);
  });

  test('the actions of a claim named by its number; a refund moves the claim’s updated_at, not its version', async () => {
    const order = await putOrder(newDoc());
    const claim = await newClaim(order, [{ line_item_id: order.line_items[0].id, quantity: 1 }]);
    const read = async () => (await api('GET', `/claims/${claim.id}`)).json();
    const before = await read();
    const byNumber = (path = '') => api('GET', `/claims/${before.number}/actions${path}`);
    assert.deepEqual((await byNumber()).json().data, []);

    await new Promise((r) => setTimeout(r, 5));
    const requested = await api('POST', `/claims/${before.number}/actions`, {
      type: 'refund',
      include_shipping: true,
    });
    assert.equal(requested.statusCode, 202, requested.body);
    const afterRequest = await read();
    assert.ok(afterRequest.updated_at > before.updated_at, 'the request is a change of the claim');
    assert.equal(afterRequest.version, before.version, 'an agent’s edit in progress is not made stale');
    assert.deepEqual(afterRequest.history.at(-1).changes, {
      action_id: requested.json().id,
      lines: [{ line_item_id: order.line_items[0].id, quantity: 1 }],
      include_shipping: true,
    });
    await new Promise((r) => setTimeout(r, 5));
    await run();
    const done = await read();
    assert.ok(done.updated_at > afterRequest.updated_at, 'so is its outcome');
    assert.equal(done.version, before.version);
    const listed = (await byNumber()).json().data;
    assert.deepEqual(
      listed.map((a: { id: string; status: string }) => [a.id, a.status]),
      [[requested.json().id, 'succeeded']],
    );
    // A sync by last update finds it first.
    const recent = (await api('GET', '/claims?sort=-updated_at&per_page=1')).json().data;
    assert.equal(recent[0].id, claim.id);
    assert.equal((await api('GET', '/claims/R-999999/actions')).json().error.key, 'claim_not_found');
  });

  test('a claim rejected after the request gets no refund: the action fails and says why', async () => {
    const doc = newDoc();
    const order = await putOrder(doc);
    const claim = await newClaim(order, [{ line_item_id: order.line_items[0].id, quantity: 1 }]);
    assert.equal((await act(claim.id, { type: 'refund' })).statusCode, 202);
    await reject(claim.id);
    await run();
    assert.equal(unitsSentFor(doc.external_id as string), 0, 'nothing sent to the platform');
    const [action] = await actionsOf(claim.id);
    assert.equal(action.status, 'failed');
    assert.match(action.error ?? '', /rejected after the refund was requested/);
    const history = (await api('GET', `/claims/${claim.id}`)).json().history as { action: string }[];
    assert.ok(history.some((h) => h.action === 'refund_failed'));
    const [ev] = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from events where shop_id = ${shop.shop.id} and type = 'claims/action' and subject_id = ${claim.id}`,
    );
    assert.equal(ev.n, 1);
  });

  test('a failed refund shows the platform error, in history and a claims/action event', async () => {
    const order = await putOrder(newDoc());
    const claim = await newClaim(order, [{ line_item_id: order.line_items[1].id, quantity: 1 }]);
    fake.failures.push(new PlatformError('rejected', 'The order is archived.'));
    assert.equal((await act(claim.id, { type: 'refund' })).statusCode, 202);
    await run();
    const [action] = await actionsOf(claim.id);
    assert.equal(action.status, 'failed');
    assert.equal(action.error, 'rejected: The order is archived.');
    const full = (await api('GET', `/claims/${claim.id}`)).json();
    const failed = full.history.find((h: { action: string }) => h.action === 'refund_failed');
    assert.equal(failed.note, 'rejected: The order is archived.');
  });

  test('concurrent requests for the same units: exactly one is recorded', async () => {
    const doc = newDoc();
    const order = await putOrder(doc);
    const tee = order.line_items[0].id;
    const b = await newClaim(order, [{ line_item_id: tee, quantity: 2 }], 'support');
    const a = await newClaim(order, [{ line_item_id: tee, quantity: 2 }]);
    const answers = await Promise.all([
      ...Array.from({ length: 4 }, () => act(a.id, { type: 'refund' })),
      ...Array.from({ length: 4 }, () => act(b.id, { type: 'refund' })),
    ]);
    const codes = answers.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [202, 422, 422, 422, 422, 422, 422, 422], answers.map((r) => r.body).join('\n'));
    await run();
    assert.equal(unitsSentFor(doc.external_id as string), 2);
  });

  test('bad input is a 4xx with a stable key and stores nothing; another shop’s claim is not found', async () => {
    const order = await putOrder(newDoc());
    const claim = await newClaim(order, [{ line_item_id: order.line_items[0].id, quantity: 2 }]);
    const li = order.line_items[0].id;
    const bad: unknown[] = [
      {},
      { type: 'store_credit' },
      { type: 'refund', lines: [] },
      { type: 'refund', lines: [{ line_item_id: li, quantity: 0 }] },
      { type: 'refund', lines: [{ line_item_id: li, quantity: -1 }] },
      { type: 'refund', lines: [{ line_item_id: li, quantity: 1.5 }] },
      { type: 'refund', lines: [{ line_item_id: li, quantity: '1' }] },
      { type: 'refund', lines: [{ line_item_id: li, quantity: 1e12 }] },
      { type: 'refund', lines: [{ line_item_id: '', quantity: 1 }] },
      { type: 'refund', lines: [{ line_item_id: 7, quantity: 1 }] },
      { type: 'refund', lines: [{ line_item_id: li }] },
      { type: 'refund', lines: [{ line_item_id: li, quantity: 1, amount: 99999 }] },
      { type: 'refund', lines: { line_item_id: li, quantity: 1 } },
      { type: 'refund', include_shipping: 'yes' },
      { type: 'refund', note: 'x'.repeat(1001) },
      { type: 'refund', amount: 1 },
      [],
      null,
    ];
    for (const body of bad) assertError(await act(claim.id, body), 400, 'validation_failed');
    for (const lines of [
      [{ line_item_id: 'li_unknown', quantity: 1 }],
      [{ line_item_id: order.line_items[1].id, quantity: 1 }], // on the order, not in the claim
      [{ line_item_id: li, quantity: 3 }],
      [{ line_item_id: li, quantity: 100000 }],
    ])
      assertError(await act(claim.id, { type: 'refund', lines }), 422, 'action_lines_invalid');
    const other = await createTestShop(ctx.db, 'act-other');
    const foreign = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${other.slug}/claims/${claim.id}/actions`,
      headers: other.auth.admin,
      payload: { type: 'refund' },
    });
    assertError(foreign, 404, 'claim_not_found');
    assert.deepEqual(await actionsOf(claim.id), []);
    const history = (await api('GET', `/claims/${claim.id}`)).json().history as { action: string }[];
    assert.deepEqual(
      history.filter((h) => h.action.endsWith('_requested')),
      [],
    );
  });
});

/** A unit is refunded or replaced, never both: the caps count refunds and replacements together. */
describe('claim actions: one unit is refunded or replaced, not both', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let fake: FakePlatform;
  const run = () => drainJobs(ctx.db, jobHandlers(ctx.deps), ['claims.action']);
  const api = (method: 'GET' | 'PUT' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
    ctx.app.inject({
      method,
      url: `/v1/shops/${shop.slug}${url}`,
      headers: shop.auth.admin,
      payload: payload as object,
    });
  interface Order {
    id: string;
    line_items: { id: string; external_id: string; quantity: number }[];
  }
  const putOrder = async (doc: OrderInputT): Promise<Order> => {
    const res = await api('PUT', '/orders', doc);
    assert.ok(res.statusCode < 300, res.body);
    return res.json();
  };
  const newDoc = (): OrderInputT => ({
    ...shapedOrder(),
    external_id: `ord-${randomBytes(4).toString('hex')}`,
  });
  const newClaim = async (
    order: Order,
    items: { line_item_id: string; quantity: number }[],
    flow: 'defective' | 'support' = 'defective',
  ) => {
    const res = await api('POST', '/claims', {
      order_id: order.id,
      flow,
      reason: flow === 'support' ? 'other' : 'broken_on_arrival',
      description: 'Taken by phone',
      items,
      ...(flow === 'support' ? {} : { resolution_preference: 'replacement' }),
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string };
  };
  const act = (claimId: string, body: unknown) => api('POST', `/claims/${claimId}/actions`, body);
  const units = (list: { order: string; lines: { quantity: number }[] }[], order: string) =>
    list
      .filter((r) => r.order === order)
      .reduce((n, r) => n + r.lines.reduce((m, l) => m + l.quantity, 0), 0);

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'act-both');
    fake = new FakePlatform(`fake${randomBytes(3).toString('hex')}`);
    fake.capabilities = ['read_orders', 'refund', 'replacement'];
    registerPlatform(fake.connector());
    const res = await api('PUT', '/connection', {
      platform: fake.id,
      settings: { store: 'acme' },
      credentials: { token: 'good-token', webhook_secret: 'whsec-fake' },
      backfill_days: 1,
    });
    assert.equal(res.statusCode, 200, res.body);
    await ctx.db.execute(sql`delete from jobs where shop_id = ${shop.shop.id}`);
  });
  after(() => ctx.close());

  test('a claimed unit that was refunded is not replaced too, nor a replaced one refunded', async () => {
    const doc = newDoc();
    const order = await putOrder(doc);
    const mug = order.line_items[1].id; // one unit
    const claim = await newClaim(order, [{ line_item_id: mug, quantity: 1 }]);
    assert.equal((await act(claim.id, { type: 'refund' })).statusCode, 202);
    const twice = await act(claim.id, { type: 'replacement' });
    assertError(twice, 422, 'action_lines_invalid');
    assert.deepEqual(twice.json().error.errors, [
      {
        path: '/lines/0/quantity',
        message: 'at most 0 more unit(s) of this line for a replacement (1 already refunded)',
      },
    ]);
    await run();

    const doc2 = newDoc();
    const order2 = await putOrder(doc2);
    const claim2 = await newClaim(order2, [{ line_item_id: order2.line_items[1].id, quantity: 1 }]);
    assert.equal((await act(claim2.id, { type: 'replacement' })).statusCode, 202);
    await run();
    const back = await act(claim2.id, { type: 'refund' });
    assertError(back, 422, 'action_lines_invalid');
    assert.deepEqual(back.json().error.errors, [
      {
        path: '/lines/0/quantity',
        message: 'at most 0 more unit(s) of this line for a refund (1 already replaced)',
      },
    ]);
    assert.equal(units(fake.refunds, doc.external_id as string), 1);
    assert.equal(units(fake.replacements, doc.external_id as string), 0);
    assert.equal(units(fake.refunds, doc2.external_id as string), 0);
    assert.equal(units(fake.replacements, doc2.external_id as string), 1);
  });

  test('two units: one refunded and one replaced is fine, a third unit of either is not', async () => {
    const doc = newDoc();
    const order = await putOrder(doc);
    const tee = order.line_items[0].id; // two units
    const claim = await newClaim(order, [{ line_item_id: tee, quantity: 2 }]);
    assert.equal(
      (await act(claim.id, { type: 'refund', lines: [{ line_item_id: tee, quantity: 1 }] })).statusCode,
      202,
    );
    assertError(
      await act(claim.id, { type: 'replacement', lines: [{ line_item_id: tee, quantity: 2 }] }),
      422,
      'action_lines_invalid',
    );
    assert.equal(
      (await act(claim.id, { type: 'replacement', lines: [{ line_item_id: tee, quantity: 1 }] })).statusCode,
      202,
    );
    for (const type of ['refund', 'replacement'])
      assertError(
        await act(claim.id, { type, lines: [{ line_item_id: tee, quantity: 1 }] }),
        422,
        'action_lines_invalid',
      );
    await run();
    assert.equal(units(fake.refunds, doc.external_id as string), 1);
    assert.equal(units(fake.replacements, doc.external_id as string), 1);
  });

  test('across claims: a unit refunded on one claim is not replaced on another; shipping is no unit', async () => {
    const doc = newDoc();
    const order = await putOrder(doc);
    const mug = order.line_items[1].id;
    const support = await newClaim(order, [{ line_item_id: mug, quantity: 1 }], 'support');
    const defective = await newClaim(order, [{ line_item_id: mug, quantity: 1 }]);
    assert.equal((await act(support.id, { type: 'refund', include_shipping: true })).statusCode, 202);
    assertError(await act(defective.id, { type: 'replacement' }), 422, 'action_lines_invalid');
    // A unit refunded in the shop's own admin (synced) is not replaced either.
    const doc2 = newDoc();
    const order2 = await putOrder(doc2);
    const claim2 = await newClaim(order2, [{ line_item_id: order2.line_items[1].id, quantity: 1 }]);
    await putOrder({
      ...doc2,
      line_items: doc2.line_items.map((l, i) => (i === 1 ? { ...l, quantity_refunded: 1 } : l)),
    });
    assertError(await act(claim2.id, { type: 'replacement' }), 422, 'action_lines_invalid');
    // A replacement leaves the order's shipping refundable.
    const doc3 = newDoc();
    const order3 = await putOrder(doc3);
    const claim3 = await newClaim(order3, [
      { line_item_id: order3.line_items[0].id, quantity: 1 },
      { line_item_id: order3.line_items[1].id, quantity: 1 },
    ]);
    assert.equal(
      (
        await act(claim3.id, {
          type: 'replacement',
          lines: [{ line_item_id: order3.line_items[1].id, quantity: 1 }],
        })
      ).statusCode,
      202,
    );
    assert.equal(
      (
        await act(claim3.id, {
          type: 'refund',
          include_shipping: true,
          lines: [{ line_item_id: order3.line_items[0].id, quantity: 1 }],
        })
      ).statusCode,
      202,
    );
    await run();
  });

  test('a replacement of unknown outcome holds the unit against a refund until retried or released', async () => {
    const order = await putOrder(newDoc());
    const claim = await newClaim(order, [{ line_item_id: order.line_items[1].id, quantity: 1 }]);
    const req = await act(claim.id, { type: 'replacement' });
    assert.equal(req.statusCode, 202, req.body);
    await ctx.db.execute(
      sql`update claim_actions set status = 'failed', outcome_unknown = true, error = 'unavailable: timeout'
          where id = ${req.json().id}`,
    );
    await ctx.db.execute(sql`delete from jobs where unique_key = ${`claims.action:${req.json().id}`}`);
    const res = await act(claim.id, { type: 'refund' });
    assertError(res, 422, 'action_outcome_unknown');
    assert.match(res.json().error.message, new RegExp(`earlier replacement ${req.json().id}`));
    const released = await api('POST', `/claims/${claim.id}/actions/${req.json().id}/release`, {
      note: 'No replacement order in the shop admin',
    });
    assert.equal(released.statusCode, 200, released.body);
    assert.equal((await act(claim.id, { type: 'refund' })).statusCode, 202);
  });
});
