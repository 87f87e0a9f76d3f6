import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { orphanedActions } from '../src/actions/settle.js';
import { PlatformError } from '../src/connectors/platform.js';
import { registerPlatform } from '../src/connectors/platforms.js';
import { query } from '../src/db/client.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import { ShopifySimulator } from './simulators/shopify.js';
import { startWooSim, type WooSim } from './simulators/woocommerce.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { shapedOrder } from './support/claims.js';
import { FakePlatform } from './support/fake-platform.js';
import { assertError } from './support/http.js';
import { drainJobs } from './support/jobs.js';

const DAY = 86_400_000;

interface Action {
  id: string;
  status: string;
  outcome_unknown: boolean;
  error: string | null;
  external_id: string | null;
}

/** The app and one shop, with helpers to call the merchant API and run claim actions to the end. */
function harness() {
  const h = {
    ctx: undefined as unknown as TestContext,
    shop: undefined as unknown as TestShop,
    api: (method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown, as: 'admin' | 'viewer' = 'admin') =>
      h.ctx.app.inject({
        method,
        url: `/v1/shops/${h.shop.slug}${url}`,
        headers: h.shop.auth[as],
        payload: payload as object,
      }),
    /** Runs claim actions until none is queued, retries due at once, with at most `maxAttempts` attempts each. */
    runActions: async (maxAttempts = 3) => {
      for (let i = 0; i < 20; i++) {
        await h.ctx.db.execute(
          sql`update jobs set run_at = now(), max_attempts = ${maxAttempts}
              where shop_id = ${h.shop.shop.id} and type = 'claims.action' and status = 'queued'`,
        );
        const { ran } = await drainJobs(h.ctx.db, jobHandlers(h.ctx.deps), ['claims.action']);
        if (!ran) return;
      }
    },
    action: async (claimId: string, id: string): Promise<Action> =>
      ((await h.api('GET', `/claims/${claimId}/actions`)).json().data as Action[]).find((a) => a.id === id)!,
    events: async (claimId: string) =>
      (
        await query<{ n: number }>(
          h.ctx.db,
          sql`select count(*)::int as n from events where shop_id = ${h.shop.shop.id} and type = 'claims/action' and subject_id = ${claimId}`,
        )
      )[0].n,
    history: async (claimId: string) =>
      (await h.api('GET', `/claims/${claimId}`)).json().history as { action: string; note: string | null }[],
  };
  return h;
}

describe('a refund whose outcome is unknown is never paid twice (WooCommerce simulator)', () => {
  const h = harness();
  let sim: WooSim;
  const refundsPost = (m: string, p: string) => m === 'POST' && p.endsWith('/refunds');
  const orderOf = (number: string) => [...sim.orders.values()].find((o) => o.number === number)!;
  /** A support claim on the order for its first line (2 cups), by the merchant. */
  const claimCups = async (number: string) => {
    const [o] = await query<{ id: string; li: string }>(
      h.ctx.db,
      sql`select o.id, li.id as li from orders o join line_items li on li.shop_id = o.shop_id and li.order_id = o.id
          where o.shop_id = ${h.shop.shop.id} and o.order_number_norm = ${number} and li.quantity = 2`,
    );
    const res = await h.api('POST', '/claims', {
      order_id: o.id,
      flow: 'support',
      reason: 'other',
      description: 'Taken by phone',
      items: [{ line_item_id: o.li, quantity: 2 }],
    });
    assert.equal(res.statusCode, 201, res.body);
    return { claimId: res.json().id as string, li: o.li };
  };
  const refund = (claimId: string) => h.api('POST', `/claims/${claimId}/actions`, { type: 'refund' });

  before(async () => {
    h.ctx = await startTestApp({ connectorTestUrls: true });
    h.shop = await createTestShop(h.ctx.db, 'unk');
    sim = await startWooSim({ deliver: null });
    sim.addProduct({ id: 11, name: 'Espresso cup', sku: 'CUP-ESP', price: 1299 });
    sim.addProduct({ id: 12, name: 'Saucer', sku: 'SAU-1', price: 599 });
    for (const number of ['7101', '7102', '7103', '7104'])
      sim.createOrder({
        number,
        status: 'completed',
        createdAt: new Date(Date.now() - 5 * DAY),
        billing: { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' },
        lines: [
          { productId: 11, name: 'Espresso cup', sku: 'CUP-ESP', quantity: 2, price: 1299 },
          { productId: 12, name: 'Saucer', sku: 'SAU-1', quantity: 1, price: 599 },
        ],
        shippingTotal: 495,
      });
    const res = await h.api('PUT', '/connection', {
      platform: 'woocommerce',
      settings: { store_url: 'https://shop.example', api_base_url: sim.apiBase },
      credentials: {
        consumer_key: sim.consumerKey,
        consumer_secret: sim.consumerSecret,
        webhook_secret: 'whsec_woo_test',
      },
      backfill_days: 30,
    });
    assert.equal(res.statusCode, 200, res.body);
    await drainJobs(h.ctx.db, jobHandlers(h.ctx.deps), ['connector.backfill']);
  });
  after(async () => {
    await sim?.close();
    await h.ctx?.close();
  });

  test('refund made, every answer lost: outcome unknown, units held, a retry finds it — one refund', async () => {
    const { claimId } = await claimCups('7101');
    const req = await refund(claimId);
    assert.equal(req.statusCode, 202, req.body);
    assert.equal(req.json().outcome_unknown, false);
    // The store saves the refund and the connection drops; from then on it answers 500 to everything.
    sim.loseAnswer(1, 'drop', refundsPost);
    await drainJobs(h.ctx.db, jobHandlers(h.ctx.deps), ['claims.action']);
    assert.equal(orderOf('7101').refunds.length, 1, 'the store refunded');
    sim.failNext(1000, 500);
    await h.runActions(3);

    const failed = await h.action(claimId, req.json().id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.outcome_unknown, true);
    assert.match(failed.error ?? '', /Gave up after 3 attempt\(s\).*unavailable/);
    assert.equal(await h.events(claimId), 1, 'a claims/action event');
    assert.ok((await h.history(claimId)).some((x) => x.action === 'refund_failed'));

    // Its units stay reserved: a new request (a new key) is refused and points at retry/release.
    const again = await refund(claimId);
    assertError(again, 422, 'action_outcome_unknown');
    assert.match(again.json().error.message, new RegExp(`${failed.id}/retry`));
    assertError(
      await h.api('POST', `/claims/${claimId}/actions/${failed.id}/retry`, undefined, 'viewer'),
      403,
      'forbidden',
    );

    // The store is back: the retry sends the same key, the connector finds the earlier refund.
    sim.heal();
    const retry = await h.api('POST', `/claims/${claimId}/actions/${failed.id}/retry`);
    assert.equal(retry.statusCode, 202, retry.body);
    assert.equal(retry.json().status, 'pending');
    await h.runActions(3);
    const done = await h.action(claimId, failed.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.outcome_unknown, false);
    assert.equal(orderOf('7101').refunds.length, 1, 'still exactly one refund in the store');
    assert.equal(done.external_id, String(orderOf('7101').refunds[0].id));
    assert.equal(await h.events(claimId), 2);
    assert.ok((await h.history(claimId)).some((x) => x.action === 'refund_retried'));

    // Nothing left to retry or release; nor a new refund of the refunded units.
    assertError(
      await h.api('POST', `/claims/${claimId}/actions/${failed.id}/retry`),
      409,
      'action_not_uncertain',
    );
    assertError(
      await h.api('POST', `/claims/${claimId}/actions/${failed.id}/release`, { note: 'checked' }),
      409,
      'action_not_uncertain',
    );
    assertError(await refund(claimId), 422, 'action_lines_invalid');
    assert.deepEqual(sim.unexpected, []);
  });

  test('release after checking the shop frees the units, with a note in history and an event', async () => {
    const { claimId } = await claimCups('7102');
    // The store is down for good (it never saves the refund): 500 on every attempt.
    sim.failNext(1000, 500);
    const req = await refund(claimId);
    assert.equal(req.statusCode, 202, req.body);
    await h.runActions(2);
    sim.heal();
    const failed = await h.action(claimId, req.json().id);
    assert.equal(failed.outcome_unknown, true);
    assertError(await refund(claimId), 422, 'action_outcome_unknown');

    const url = `/claims/${claimId}/actions/${failed.id}/release`;
    assertError(await h.api('POST', url, {}), 400, 'validation_failed');
    assertError(await h.api('POST', url, { note: '   ' }), 400, 'validation_failed');
    assertError(await h.api('POST', url, { note: 'x' }, 'viewer'), 403, 'forbidden');
    assertError(
      await h.api('POST', `/claims/${claimId}/actions/act_nope/release`, { note: 'x' }),
      404,
      'action_not_found',
    );
    const other = await createTestShop(h.ctx.db, 'unk-other');
    const foreign = await h.ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${other.slug}/claims/${claimId}/actions/${failed.id}/release`,
      headers: other.auth.admin,
      payload: { note: 'x' },
    });
    assertError(foreign, 404, 'claim_not_found');
    assert.equal((await h.action(claimId, failed.id)).outcome_unknown, true, 'untouched');

    const released = await h.api('POST', url, { note: 'No refund in the WooCommerce admin' });
    assert.equal(released.statusCode, 200, released.body);
    assert.equal(released.json().status, 'failed');
    assert.equal(released.json().outcome_unknown, false);
    // An API reader sees it was released, not the old "outcome unknown" error; that stays in the history.
    const says =
      "Released: not carried out, as checked in the shop's admin (No refund in the WooCommerce admin).";
    assert.equal(released.json().error, says);
    assert.equal((await h.action(claimId, failed.id)).error, says);
    const history = await h.history(claimId);
    assert.equal(history.find((x) => x.action === 'refund_failed')?.note, failed.error);
    const row = history.find((x) => x.action === 'refund_released');
    assert.equal(row?.note, 'No refund in the WooCommerce admin');
    assert.equal(await h.events(claimId), 2, 'failed, then released');
    assertError(await h.api('POST', url, { note: 'again' }), 409, 'action_not_uncertain');

    // The units are free: a new refund goes through, once.
    const fresh = await refund(claimId);
    assert.equal(fresh.statusCode, 202, fresh.body);
    await h.runActions(3);
    assert.equal((await h.action(claimId, fresh.json().id)).status, 'succeeded');
    assert.equal(orderOf('7102').refunds.length, 1);
  });

  test('a replacement whose order note is refused is still the replacement: one order, units taken', async () => {
    const { claimId, li } = await claimCups('7104');
    const notesPost = (m: string, p: string) => m === 'POST' && /\/orders\/\d+\/notes$/.test(p);
    sim.failNext(1, 400, undefined, notesPost);
    const req = await h.api('POST', `/claims/${claimId}/actions`, {
      type: 'replacement',
      lines: [{ line_item_id: li, quantity: 1 }],
    });
    assert.equal(req.statusCode, 202, req.body);
    await h.runActions(3);
    const done = await h.action(claimId, req.json().id);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    const children = [...sim.orders.values()].filter((o) => o.parent_id === orderOf('7104').id);
    assert.equal(children.length, 1, 'exactly one replacement order');
    assert.equal(done.external_id, String(children[0].id));
    const again = await h.api('POST', `/claims/${claimId}/actions`, {
      type: 'replacement',
      lines: [{ line_item_id: li, quantity: 2 }],
    });
    assertError(again, 422, 'action_lines_invalid');
    sim.heal();
  });

  test('a refusal by the store is definite: units free at once, nothing to retry', async () => {
    const { claimId } = await claimCups('7103');
    sim.failNext(1, 400, undefined, refundsPost);
    const req = await refund(claimId);
    await h.runActions(3);
    const failed = await h.action(claimId, req.json().id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.outcome_unknown, false);
    assert.match(failed.error ?? '', /^rejected: WooCommerce 400/);
    assertError(
      await h.api('POST', `/claims/${claimId}/actions/${failed.id}/retry`),
      409,
      'action_not_uncertain',
    );
    assert.equal((await refund(claimId)).statusCode, 202);
  });
});

describe('a replacement whose answer is lost is made once (Shopify simulator)', () => {
  const h = harness();
  let sim: ShopifySimulator;
  /** A Shopify order of two vases, synced into Resolve, and a support claim for one of them. */
  const claimVase = async () => {
    const o = sim.addOrder({
      email: 'kim@example.com',
      shippingAddress: {
        firstName: 'Kim',
        lastName: 'Berg',
        address1: 'Invalidenstr. 1',
        city: 'Berlin',
        zip: '10115',
        countryCode: 'DE',
      },
      lines: [{ title: 'Vase', quantity: 2, price: 3500 }],
      createdAt: new Date(Date.now() - 5 * DAY).toISOString(),
    });
    const f = sim.fulfil(o, { at: new Date(Date.now() - 4 * DAY).toISOString() });
    sim.event(f, 'DELIVERED', new Date(Date.now() - 2 * DAY).toISOString());
    const sync = await h.api('POST', '/connection/backfill', { days: 30 });
    assert.equal(sync.statusCode, 202, sync.body);
    await drainJobs(h.ctx.db, jobHandlers(h.ctx.deps), ['connector.backfill']);
    const [row] = await query<{ id: string; li: string }>(
      h.ctx.db,
      sql`select o.id, li.id as li from orders o join line_items li on li.shop_id = o.shop_id and li.order_id = o.id
          where o.shop_id = ${h.shop.shop.id} and o.external_id = ${o.gid}`,
    );
    assert.ok(row, 'the order is synced');
    const claim = await h.api('POST', '/claims', {
      order_id: row.id,
      flow: 'support',
      reason: 'other',
      description: 'Taken by phone',
      items: [{ line_item_id: row.li, quantity: 1 }],
    });
    assert.equal(claim.statusCode, 201, claim.body);
    const req = await h.api('POST', `/claims/${claim.json().id}/actions`, { type: 'replacement' });
    assert.equal(req.statusCode, 202, req.body);
    return {
      claimId: claim.json().id as string,
      actionId: req.json().id as string,
      line: row.li,
      gid: o.gid,
    };
  };
  const connection = () => ({
    platform: 'shopify',
    settings: { shop_domain: 'acme.myshopify.com', api_base_url: sim.url },
    credentials: { access_token: sim.accessToken, webhook_secret: 'shpss_test_secret' },
    backfill_days: 30,
  });
  /** Orders made by completing a draft Resolve tagged as the replacement for order `gid`. */
  const replacementsOf = (gid: string) =>
    sim
      .draftOrdersCompleted()
      .filter(
        ({ draft }) =>
          draft.tags.includes('resolve-replacement') &&
          !!draft.note?.includes(`(replacement for ${sim.findOrder(gid)!.name})`),
      );
  const draftsOf = (gid: string) =>
    sim.drafts.filter((d) => d.note?.includes(`(replacement for ${sim.findOrder(gid)!.name})`));

  before(async () => {
    h.ctx = await startTestApp({ connectorTestUrls: true });
    h.shop = await createTestShop(h.ctx.db, 'shopify-repl');
    sim = await ShopifySimulator.start();
    const res = await h.api('PUT', '/connection', connection());
    assert.equal(res.statusCode, 200, res.body);
    await drainJobs(h.ctx.db, jobHandlers(h.ctx.deps), ['connector.backfill']);
  });
  after(async () => {
    await sim?.close();
    await h.ctx?.close();
  });

  test('the draft is made, its answer lost: the retry completes that draft — one replacement order', async () => {
    const { claimId, actionId, gid } = await claimVase();
    sim.loseAnswer(1, 'drop', 'ResolveDraftOrderCreate');
    await h.runActions(3);
    const done = await h.action(claimId, actionId);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    const made = replacementsOf(gid);
    assert.equal(made.length, 1, 'exactly one replacement order');
    assert.equal(draftsOf(gid).length, 1, 'one draft');
    assert.equal(done.external_id, made[0].order.gid);
    assert.deepEqual(sim.unexpected, []);
  });

  test('the draft is completed, that answer lost: the retry finds the order — one replacement order', async () => {
    const { claimId, actionId, gid } = await claimVase();
    sim.loseAnswer(1, 502, 'ResolveDraftOrderComplete');
    await h.runActions(3);
    const done = await h.action(claimId, actionId);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    const made = replacementsOf(gid);
    assert.equal(made.length, 1, 'exactly one replacement order');
    assert.equal(done.external_id, made[0].order.gid);
    assert.deepEqual(sim.unexpected, []);
  });

  test('the draft is completed by another attempt first: that order is the replacement, not a refusal', async () => {
    const { claimId, actionId, gid, line } = await claimVase();
    // Between this attempt's lookup and its draftOrderComplete, an earlier attempt (or the merchant) completes it.
    sim.loseAnswer(1, 'drop', 'ResolveDraftOrderCreate');
    await drainJobs(h.ctx.db, jobHandlers(h.ctx.deps), ['claims.action']);
    const [draft] = draftsOf(gid);
    assert.equal(draft?.status, 'OPEN');
    sim.beforeNext('ResolveDraftOrderComplete', () => sim.completeDraft(draft.gid));
    await h.runActions(3);
    const done = await h.action(claimId, actionId);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    const made = replacementsOf(gid);
    assert.equal(made.length, 1, 'exactly one replacement order');
    assert.equal(done.external_id, made[0].order.gid);
    // Its unit stays taken: no second replacement, nor a refund of it.
    for (const type of ['replacement', 'refund'])
      assertError(
        await h.api('POST', `/claims/${claimId}/actions`, {
          type,
          lines: [{ line_item_id: line, quantity: 1 }],
        }),
        422,
        'action_lines_invalid',
      );
    assert.deepEqual(sim.unexpected, []);
  });
});

describe('a claim action never stays pending: every give-up ends it with history and an event', () => {
  const h = harness();
  let fake: FakePlatform;
  const newAction = async () => {
    const doc = { ...shapedOrder(), external_id: `ord-${randomBytes(4).toString('hex')}` };
    const order = (await h.api('PUT', '/orders', doc)).json();
    const claim = await h.api('POST', '/claims', {
      order_id: order.id,
      flow: 'defective',
      reason: 'broken_on_arrival',
      description: 'Taken by phone',
      items: [{ line_item_id: order.line_items[1].id, quantity: 1 }],
      resolution_preference: 'refund',
    });
    assert.equal(claim.statusCode, 201, claim.body);
    const req = await h.api('POST', `/claims/${claim.json().id}/actions`, { type: 'refund' });
    assert.equal(req.statusCode, 202, req.body);
    return { claimId: claim.json().id as string, actionId: req.json().id as string };
  };
  const assertEnded = async (claimId: string, actionId: string, error: RegExp) => {
    const a = await h.action(claimId, actionId);
    assert.equal(a.status, 'failed');
    assert.equal(a.outcome_unknown, true);
    assert.match(a.error ?? '', error);
    assert.equal(await h.events(claimId), 1);
    assert.ok((await h.history(claimId)).some((x) => x.action === 'refund_failed'));
    assertError(
      await h.api('POST', `/claims/${claimId}/actions`, { type: 'refund' }),
      422,
      'action_outcome_unknown',
    );
  };

  before(async () => {
    h.ctx = await startTestApp();
    h.shop = await createTestShop(h.ctx.db, 'giveup');
    fake = new FakePlatform(`fake${randomBytes(3).toString('hex')}`);
    fake.capabilities = ['read_orders', 'refund'];
    registerPlatform(fake.connector());
    const res = await h.api('PUT', '/connection', {
      platform: fake.id,
      settings: { store: 'acme' },
      credentials: { token: 'good-token', webhook_secret: 'whsec-fake' },
      backfill_days: 1,
    });
    assert.equal(res.statusCode, 200, res.body);
    await h.ctx.db.execute(sql`delete from jobs where shop_id = ${h.shop.shop.id}`);
  });
  after(() => h.ctx.close());

  test('rate-limited on every attempt', async () => {
    const { claimId, actionId } = await newAction();
    for (let i = 0; i < 3; i++) fake.failures.push(new PlatformError('rate_limited', 'Slow down', 2000));
    await h.runActions(3);
    await assertEnded(claimId, actionId, /Gave up after 3 attempt\(s\).*rate_limited: Slow down/);
  });

  test('an unexpected error on every attempt', async () => {
    const { claimId, actionId } = await newAction();
    for (let i = 0; i < 2; i++) fake.failures.push(new TypeError('bad platform answer') as PlatformError);
    await h.runActions(2);
    await assertEnded(claimId, actionId, /Gave up after 2 attempt\(s\).*bad platform answer/);
  });

  test('the lease runs out on the last attempt (the worker died mid-run)', async () => {
    const { claimId, actionId } = await newAction();
    await h.ctx.db.execute(
      sql`update jobs set status = 'running', attempts = max_attempts, locked_by = 'dead-worker',
            locked_until = now() - interval '1 second'
          where unique_key = ${`claims.action:${actionId}`}`,
    );
    await drainJobs(h.ctx.db, jobHandlers(h.ctx.deps), ['claims.action']);
    await assertEnded(claimId, actionId, /lease expired on the last attempt/);
    // A retry of the same action is what gets it done, once.
    const refundsBefore = fake.refunds.length;
    assert.equal((await h.api('POST', `/claims/${claimId}/actions/${actionId}/retry`)).statusCode, 202);
    await h.runActions(3);
    assert.equal((await h.action(claimId, actionId)).status, 'succeeded');
    assert.equal(fake.refunds.length, refundsBefore + 1);
  });
  test('a pending action whose job is gone (its give-up not recorded) is ended by maintenance', async () => {
    const { claimId, actionId } = await newAction();
    const fresh = await newAction();
    for (const id of [actionId, fresh.actionId])
      await h.ctx.db.execute(sql`delete from jobs where unique_key = ${`claims.action:${id}`}`);
    await h.ctx.db.execute(
      sql`update claim_actions set updated_at = now() - interval '1 hour' where id = ${actionId}`,
    );
    const prune = jobHandlers(h.ctx.deps)['maintenance.prune'];
    await prune(
      {
        id: 'job_test_prune',
        type: 'maintenance.prune',
        shop_id: null,
        payload: {},
        attempts: 1,
        max_attempts: 1,
      },
      { db: h.ctx.db, log: pino({ level: 'silent' }) },
    );
    await assertEnded(claimId, actionId, /lost track of this action/);
    assert.equal(
      (await h.action(fresh.claimId, fresh.actionId)).status,
      'pending',
      'a recent one is left alone',
    );
  });

  test("maintenance's scan reads only pending actions, through their partial index", async () => {
    // Without the index the hourly scan reads every action ever made; the planner is told not to scan the table
    // so a tiny test table shows which index serves the query.
    const plan = await h.ctx.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      return query<{ 'QUERY PLAN': string }>(tx, sql`explain ${orphanedActions(tx).getSQL()}`);
    });
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(text, /claim_actions_pending_idx/, text);
  });
});
