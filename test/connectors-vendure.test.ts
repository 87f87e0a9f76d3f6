import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type PlatformDeps, PlatformError } from '../src/connectors/platform.js';
import { vendureConnector } from '../src/connectors/vendure/index.js';
import { query } from '../src/db/client.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import type { ClaimedJob } from '../src/jobs/queue.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, tokenSession } from './support/http.js';
import { drainJobs } from './support/jobs.js';
import { Gql, startVendure, type VendureShop } from './support/vendure.js';

/**
 * The Vendure connector end to end (issue 7): a REAL Vendure 3.7.3 server (in-process, sql.js) and the real
 * Resolve app on the real database. Orders are placed through Vendure's Shop API and fulfilled through its
 * Admin API; Resolve connects, backfills, serves the customer lookup and claim, and carries out refund,
 * replacement, cancel and address change in Vendure, where the tests then look for them.
 */

const TYPES = ['connector.backfill', 'connector.reconcile', 'connector.webhook', 'claims.action'];
const BOOT_TIMEOUT = 600_000;
const STEP_TIMEOUT = 240_000;
const t0 = Date.now();
const mark = (what: string, since: number) =>
  console.log(
    `[vendure e2e] ${what}: ${Date.now() - since} ms (total ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
const opName = (init?: RequestInit) =>
  typeof init?.body === 'string' ? (/"query":"(?:query|mutation) (\w+)/.exec(init.body)?.[1] ?? '?') : '?';
const deps = (fetch: typeof globalThis.fetch = globalThis.fetch): PlatformDeps => ({
  fetch,
  now: () => new Date(),
  sleep: async () => undefined,
  log: { info() {}, warn() {} },
});
const kindOf = (kind: string) => (err: unknown) => err instanceof PlatformError && err.kind === kind;
const randomIp = () => `10.${[...randomBytes(3)].join('.')}`;

describe('Vendure connector against a real Vendure server', () => {
  let v: VendureShop;
  let ctx: TestContext;
  let shop: TestShop;
  type Placed = { id: string; code: string };
  let delivered: Placed; // fulfilled, shipped and delivered before the backfill
  let toCancel: Placed;
  let toReaddress: Placed;
  let laterFulfilled: Placed; // GB, fulfilled only after the backfill
  let replacementId = '';
  const run = async () => {
    const t = Date.now();
    const r = await drainJobs(ctx.db, jobHandlers(ctx.deps), TYPES);
    mark(`drained ${r.ran} job(s)`, t);
    return r;
  };
  const api = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown) =>
    ctx.app.inject({
      method,
      url: `/v1/shops/${shop.slug}${url}`,
      headers: shop.auth.admin,
      payload: payload as object,
    });
  const customer = (session: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
    ctx.app.inject({
      method,
      url: `/v1/resolve/${shop.slug}${url}`,
      headers: { authorization: `Bearer ${session}` },
      payload: payload as object,
    });
  // The local Vendure is reached through the test-only api_base_url (CONNECTOR_TEST_URLS): admin_api_url itself
  // must be a public https URL.
  const settings = () => ({
    admin_api_url: 'https://vendure.example/admin-api',
    api_base_url: v.adminApiUrl,
    channel_token: 'e2e-default-channel',
  });
  const resolveOrder = async (externalId: string) => {
    const res = await api('GET', `/orders/${encodeURIComponent(externalId)}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const tokenSessionOf = (orderId: string) => tokenSession(ctx.app, shop, orderId);

  before(
    async () => {
      const t = Date.now();
      [v, ctx] = await Promise.all([startVendure(), startTestApp({ connectorTestUrls: true })]);
      mark('Vendure booted and seeded, Resolve app started', t);
      shop = await createTestShop(ctx.db, 'vendure');
      const t2 = Date.now();
      delivered = await v.placeOrder({
        items: [
          { sku: 'TEE-M', quantity: 2 },
          { sku: 'MUG-1', quantity: 1 },
        ],
        zip: '10115',
      });
      const f = await v.fulfil(delivered.id, { method: 'DHL', tracking: '00340434161234567890' });
      await v.transitionFulfillment(f, 'Shipped', 'Delivered');
      toCancel = await v.placeOrder({ items: [{ sku: 'MUG-1', quantity: 1 }], zip: '20095' });
      toReaddress = await v.placeOrder({ items: [{ sku: 'CAP-RED', quantity: 1 }], zip: '50667' });
      laterFulfilled = await v.placeOrder({
        items: [{ sku: 'TEE-M', quantity: 1 }],
        zip: 'SW1A 1AA',
        countryCode: 'GB',
        lastName: 'Smith',
      });
      mark('4 orders placed through the Shop API, one fulfilled and delivered', t2);
    },
    { timeout: BOOT_TIMEOUT },
  );
  after(async () => {
    await ctx?.close();
    await v?.close();
    mark('closed', t0);
  });

  test('wrong credentials are refused with 422 and store nothing; the admin login connects', {
    timeout: STEP_TIMEOUT,
  }, async () => {
    const t = Date.now();
    const connect = (credentials: Record<string, string>) =>
      api('PUT', '/connection', {
        platform: 'vendure',
        settings: settings(),
        credentials,
        backfill_days: 30,
      });
    assertError(
      await connect({ username: v.login.username, password: 'wrong-password' }),
      422,
      'connection_failed',
    );
    assertError(await connect({ api_key: 'not-a-key' }), 422, 'connection_failed');
    assertError(await api('GET', '/connection'), 404, 'connection_not_found');
    const res = await connect({ username: v.login.username, password: v.login.password });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().test.ok, true);
    assert.deepEqual(res.json().connection.credentials_set, ['password', 'username']);
    assert.equal(res.body.includes(v.login.password), false);
    mark('connect (2 refused, 1 accepted)', t);
  });

  test('the backfill maps Vendure orders into Resolve: number, ZIP, lines, fulfilment phase', {
    timeout: STEP_TIMEOUT,
  }, async () => {
    assert.deepEqual((await run()).failed, []);
    const conn = (await api('GET', '/connection')).json();
    assert.equal(conn.sync.backfill.status, 'done');
    assert.equal(conn.sync.backfill.imported, 4);
    assert.equal(conn.sync.backfill.failed, 0);
    const o = await resolveOrder(delivered.id);
    assert.equal(o.order_number, delivered.code);
    assert.equal(o.currency, 'EUR');
    assert.equal(o.state, 'fulfilled');
    assert.equal(o.shipping_address.zip_code, '10115');
    assert.equal(o.customer.email, 'erika@example.com');
    const tee = o.line_items.find((l: { sku: string }) => l.sku === 'TEE-M');
    assert.equal(tee.quantity, 2);
    assert.equal(tee.unit_price, 2379, 'gross unit price: 19.99 + 19 % tax');
    assert.equal(o.totals.total, 6799, '2 × 23.79 + 15.46 + 4.95 shipping');
    assert.equal(o.shipments.length, 1);
    const s = o.shipments[0];
    assert.equal(s.phase, 'delivered');
    assert.equal(s.carrier, 'DHL');
    assert.equal(s.tracking_number, '00340434161234567890');
    assert.ok(s.delivered_at);
    const gb = await resolveOrder(laterFulfilled.id);
    assert.equal(gb.state, 'placed');
    assert.equal(gb.shipping_address.country_code, 'GB');
  });

  test('lookup by number + ZIP → claim → refund and replacement in Vendure; lost answers never act twice', {
    timeout: STEP_TIMEOUT,
  }, async () => {
    const t = Date.now();
    const wrong = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/sessions`,
      payload: { order_number: delivered.code, zip_code: '10117' },
      remoteAddress: randomIp(),
    });
    assertError(wrong, 404, 'order_not_found');
    const opened = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/sessions`,
      payload: { order_number: ` #${delivered.code.toLowerCase()} `, zip_code: '10 115' },
      remoteAddress: randomIp(),
    });
    assert.equal(opened.statusCode, 201, opened.body);
    const session = opened.json().session as string;
    const view = (await customer(session, 'GET', '/order')).json();
    const lineOf = (sku: string) =>
      view.order.line_items.find((l: { sku: string }) => l.sku === sku).id as string;
    const claim = await customer(session, 'POST', '/claims', {
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [
        { line_item_id: lineOf('TEE-M'), quantity: 1 },
        { line_item_id: lineOf('MUG-1'), quantity: 1 },
      ],
      resolution_preference: 'replacement',
    });
    assert.equal(claim.statusCode, 201, claim.body);
    const claimId = claim.json().id as string;
    mark('lookup + eligible claim', t);

    // The platform's answers to the refund and to the replacement's last step are lost once each.
    const realFetch = globalThis.fetch;
    const lose = new Set(['ResolveRefund', 'ResolveManualPayment']);
    globalThis.fetch = async (input, init) => {
      const res = await realFetch(input, init);
      const op = opName(init);
      if (lose.delete(op)) throw new TypeError(`socket hang up after ${op}`);
      return res;
    };
    try {
      const refund = await api('POST', `/claims/${claimId}/actions`, {
        type: 'refund',
        lines: [{ line_item_id: lineOf('TEE-M'), quantity: 1 }],
        note: 'Missing shirt',
      });
      assert.equal(refund.statusCode, 202, refund.body);
      const repl = await api('POST', `/claims/${claimId}/actions`, {
        type: 'replacement',
        lines: [{ line_item_id: lineOf('MUG-1'), quantity: 1 }],
      });
      assert.equal(repl.statusCode, 202, repl.body);
      const first = await run();
      assert.equal(first.failed.length, 2, `both answers were lost: ${first.failed.join('; ')}`);
      assert.equal(lose.size, 0);
      await ctx.db.execute(
        sql`update jobs set run_at = now() where type = 'claims.action' and status = 'queued'`,
      );
      assert.deepEqual((await run()).failed, []);
    } finally {
      globalThis.fetch = realFetch;
    }
    const actions = (await api('GET', `/claims/${claimId}/actions`)).json().data as {
      id: string;
      type: string;
      status: string;
      external_id: string;
      external_number: string | null;
      amount: number | null;
      currency: string | null;
      error: string | null;
    }[];
    const refund = actions.find((a) => a.type === 'refund')!;
    const replacement = actions.find((a) => a.type === 'replacement')!;
    assert.equal(refund.status, 'succeeded', refund.error ?? '');
    assert.equal(replacement.status, 'succeeded', replacement.error ?? '');
    assert.equal(refund.amount, 2379);
    assert.equal(refund.currency, 'EUR');
    replacementId = replacement.external_id;

    // In Vendure: exactly one refund, of the shirt, carrying the action id …
    const original = await v.order(delivered.id);
    const refunds = original.payments.flatMap((p) => p.refunds);
    assert.equal(refunds.length, 1, 'refunded once although the answer was lost');
    assert.equal(refunds[0].id, refund.external_id);
    assert.equal(refunds[0].total, 2379);
    assert.ok(refunds[0].reason?.includes(refund.id));
    const teeLine = original.lines.find((l) => l.productVariant.sku === 'TEE-M')!;
    assert.deepEqual(refunds[0].lines, [{ orderLineId: teeLine.id, quantity: 1 }]);
    // … and exactly one replacement order: the mug at zero, paid by a zero payment carrying the action id.
    const made = await v.admin.request<{ orders: { items: { id: string }[] } }>(
      `query ($k: String!) { orders(options: { filter: { transactionId: { eq: $k } } }) { items { id } } }`,
      { k: replacement.id },
    );
    assert.deepEqual(
      made.orders.items.map((o) => o.id),
      [replacement.external_id],
    );
    const r = await v.order(replacement.external_id);
    assert.equal(r.code, replacement.external_number);
    assert.equal(r.state, 'PaymentSettled');
    assert.equal(r.totalWithTax, 0);
    assert.equal(r.shippingAddress.postalCode, '10115');
    assert.deepEqual(
      r.lines.map((l) => [l.productVariant.sku, l.quantity, l.proratedLinePriceWithTax]),
      [['MUG-1', 1, 0]],
    );
    assert.equal(r.payments[0].amount, 0);
    const coupons = await v.admin.request<{ promotions: { totalItems: number } }>(
      `query ($k: String!) { promotions(options: { filter: { couponCode: { contains: $k } } }) { totalItems } }`,
      { k: replacement.id },
    );
    assert.equal(coupons.promotions.totalItems, 0, 'the single-use coupon is gone');
    const drafts = await v.admin.request<{ orders: { totalItems: number } }>(
      `{ orders(options: { filter: { state: { eq: "Draft" } } }) { totalItems } }`,
    );
    assert.equal(drafts.orders.totalItems, 0, 'no half-made draft left behind');

    // Running the finished actions' jobs again changes nothing in Vendure.
    await ctx.db.execute(sql`update claim_actions set status = 'pending' where claim_id = ${claimId}`);
    for (const a of actions)
      await jobHandlers(ctx.deps)['claims.action'](
        {
          id: `job_again_${a.id}`,
          type: 'claims.action',
          shop_id: shop.shop.id,
          payload: { actionId: a.id },
          attempts: 1,
          max_attempts: 10,
        } satisfies ClaimedJob,
        { db: ctx.db, log: ctx.deps.log },
      );
    const again = await v.order(delivered.id);
    assert.equal(again.payments.flatMap((p) => p.refunds).length, 1);
    const still = await v.admin.request<{ orders: { totalItems: number } }>(
      `query ($k: String!) { orders(options: { filter: { transactionId: { eq: $k } } }) { totalItems } }`,
      { k: replacement.id },
    );
    assert.equal(still.orders.totalItems, 1);
    const [row] = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from claim_actions where claim_id = ${claimId} and status = 'succeeded'`,
    );
    assert.equal(row.n, 2);
    mark('refund + replacement (with lost answers and a replay)', t);
  });

  test('a token session cancels an unfulfilled order in Vendure', { timeout: STEP_TIMEOUT }, async () => {
    const t = Date.now();
    const o = await resolveOrder(toCancel.id);
    const session = await tokenSessionOf(o.id);
    const res = await customer(session, 'POST', '/order/cancel', { reason: 'Ordered twice' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().order.state, 'cancelled');
    assert.equal((await v.order(toCancel.id)).state, 'Cancelled');
    assert.equal((await resolveOrder(toCancel.id)).state, 'cancelled');
    mark('cancel', t);
  });

  test('a token session changes the shipping address in Vendure', { timeout: STEP_TIMEOUT }, async () => {
    const t = Date.now();
    const o = await resolveOrder(toReaddress.id);
    const session = await tokenSessionOf(o.id);
    const res = await customer(session, 'POST', '/order/address', {
      name: 'Erika Muster',
      address_line_1: 'Neue Str. 5',
      city: 'München',
      zip_code: '80331',
      country_code: 'DE',
    });
    assert.equal(res.statusCode, 200, res.body);
    const inVendure = await v.order(toReaddress.id);
    assert.equal(inVendure.shippingAddress.postalCode, '80331');
    assert.equal(inVendure.shippingAddress.streetLine1, 'Neue Str. 5');
    assert.equal(inVendure.state, 'PaymentSettled', 'back from Modifying');
    assert.equal((await resolveOrder(toReaddress.id)).shipping_address.zip_code, '80331');
    mark('address change', t);
  });

  test('reconcile picks up a delivery made in Vendure after the backfill', {
    timeout: STEP_TIMEOUT,
  }, async () => {
    const t = Date.now();
    const f = await v.fulfil(laterFulfilled.id, { method: 'Royal Mail', tracking: 'RM123456789GB' });
    await v.transitionFulfillment(f, 'Shipped', 'Delivered');
    await ctx.db.execute(
      sql`update jobs set run_at = now() where type = 'connector.reconcile' and shop_id = ${shop.shop.id} and status = 'queued'`,
    );
    assert.deepEqual((await run()).failed, []);
    const o = await resolveOrder(laterFulfilled.id);
    assert.equal(o.state, 'fulfilled');
    assert.equal(o.shipments[0].phase, 'delivered');
    assert.equal(o.shipments[0].carrier, 'Royal Mail');
    assert.equal(o.shipments[0].tracking_number, 'RM123456789GB');
    // What Resolve changed in Vendure reads back the same, and the replacement order is synced as an order.
    assert.equal((await resolveOrder(toCancel.id)).state, 'cancelled');
    assert.equal((await resolveOrder(toReaddress.id)).shipping_address.zip_code, '80331');
    const refunded = (await resolveOrder(delivered.id)).line_items.find(
      (l: { sku: string }) => l.sku === 'TEE-M',
    );
    assert.equal(refunded.quantity_refunded, 1);
    const replacement = await resolveOrder(replacementId);
    assert.equal(replacement.totals.total, 0);
    assert.deepEqual(replacement.tags, ['resolve-replacement']);
    assert.equal(replacement.line_items[0].sku, 'MUG-1');
    mark('reconcile', t);
  });
  test('a unit refunded in Vendure’s admin is not refunded again through the connector', {
    timeout: STEP_TIMEOUT,
  }, async () => {
    const client = vendureConnector.create(
      { settings: { admin_api_url: v.adminApiUrl }, credentials: { api_key: v.apiKey } },
      deps(),
    );
    const before = await v.order(delivered.id);
    const tee = before.lines.find((l) => l.productVariant.sku === 'TEE-M')!;
    // One shirt was refunded through Resolve above; the merchant refunds the other one in Vendure's admin, for
    // less than its price (so the payment's balance could still pay for a whole shirt).
    await v.admin.request(
      `mutation ($input: RefundOrderInput!) { refundOrder(input: $input) { ... on Refund { id } ... on ErrorResult { errorCode message } } }`,
      {
        input: {
          paymentId: before.payments[0].id,
          lines: [{ orderLineId: tee.id, quantity: 1 }],
          amount: 1000,
          shipping: 0,
          adjustment: 0,
          reason: 'refunded in the admin',
        },
      },
    );
    // Vendure itself checks only the payment's balance (6799 − 2379 − 1000 left), which covers a shirt.
    await assert.rejects(
      client.refund!({
        orderExternalId: delivered.id,
        lines: [{ externalLineId: tee.id, quantity: 1 }],
        includeShipping: false,
        reason: 'claimed again',
        idempotencyKey: 'act_refund_again',
      }),
      (err: unknown) => kindOf('rejected')(err) && /0 left to refund/.test((err as Error).message),
    );
    const after = await v.order(delivered.id);
    assert.equal(after.payments.flatMap((p) => p.refunds).length, 2, 'no third refund');
  });

  test('API key, an expired login session, stock check and refusals, straight through the connector', {
    timeout: STEP_TIMEOUT,
  }, async () => {
    const t = Date.now();
    const byKey = vendureConnector.create(
      { settings: { admin_api_url: v.adminApiUrl }, credentials: { api_key: v.apiKey } },
      deps(),
    );
    assert.deepEqual(await byKey.testConnection(), { shopName: null });
    const cap = (await v.order(toReaddress.id)).lines[0];
    assert.deepEqual(
      await byKey.stockCheck!({
        orderExternalId: toReaddress.id,
        lines: [
          { externalLineId: cap.id, quantity: 1 },
          { externalLineId: 'no-such-line', quantity: 1 },
        ],
      }),
      [
        { externalLineId: cap.id, available: 6 }, // 7 on hand, 1 allocated to this very order
        { externalLineId: 'no-such-line', available: null },
      ],
    );
    assert.equal(await byKey.getOrder('T_999999'), null);
    const badKey = vendureConnector.create(
      { settings: { admin_api_url: v.adminApiUrl }, credentials: { api_key: 'nope' } },
      deps(),
    );
    await assert.rejects(badKey.testConnection(), kindOf('auth_failed'));
    const down = vendureConnector.create(
      { settings: { admin_api_url: 'http://127.0.0.1:9/admin-api' }, credentials: { api_key: 'x' } },
      deps(),
    );
    await assert.rejects(down.testConnection(), kindOf('unavailable'));
    const bad = vendureConnector.create(
      { settings: { admin_api_url: 'shop.example.com' }, credentials: { api_key: 'x' } },
      deps(),
    );
    await assert.rejects(bad.testConnection(), kindOf('rejected'));
    await assert.rejects(
      byKey.cancelOrder!({ orderExternalId: delivered.id, reason: 'too late' }),
      kindOf('rejected'),
      'a delivered order cannot be cancelled',
    );

    // Removing the used coupon is housekeeping: refused (a role without DeletePromotion), the placed replacement
    // is still the answer — also on a retry — and never a refusal that would free its units for a second one.
    const noDelete: typeof fetch = async (input, init) =>
      opName(init) === 'ResolveDeletePromotion'
        ? Response.json({
            errors: [
              {
                message: 'You are not currently authorized to perform this action',
                extensions: { code: 'FORBIDDEN' },
              },
            ],
            data: null,
          })
        : globalThis.fetch(input, init);
    const keepsCoupons = vendureConnector.create(
      { settings: { admin_api_url: v.adminApiUrl }, credentials: { api_key: v.apiKey } },
      deps(noDelete),
    );
    const replace = {
      orderExternalId: toReaddress.id,
      lines: [{ externalLineId: cap.id, quantity: 1 }],
      note: 'Coupon clean-up refused',
      idempotencyKey: `act_coupon${t}`,
    };
    const placed = await keepsCoupons.createReplacement!(replace);
    assert.deepEqual(await keepsCoupons.createReplacement!(replace), placed);
    assert.equal((await v.order(placed.externalId)).code, placed.orderNumber);

    // Login sessions: logged in once, shared by later clients; a session ended in Vendure means one new login.
    const ops: string[] = [];
    let bearer = '';
    const tracking: typeof fetch = async (input, init) => {
      ops.push(opName(init));
      const auth = new Headers(init?.headers).get('authorization');
      if (auth) bearer = auth.slice('Bearer '.length);
      return globalThis.fetch(input, init);
    };
    const creds = { settings: { admin_api_url: v.adminApiUrl }, credentials: { ...v.login } };
    await vendureConnector.create(creds, deps(tracking)).testConnection();
    assert.deepEqual(ops.splice(0), ['ResolveLogin', 'ResolveProbe']);
    const client = vendureConnector.create(creds, deps(tracking));
    await client.testConnection();
    assert.deepEqual(ops.splice(0), ['ResolveProbe'], 'the session is reused');
    const other = new Gql(v.adminApiUrl);
    other.token = bearer;
    await other.request('mutation { logout { success } }');
    assert.equal((await client.getOrder(delivered.id))?.order_number, delivered.code);
    assert.deepEqual(ops.splice(0), ['ResolveOrder', 'ResolveLogin', 'ResolveOrder']);

    // A server that only sets cookies (Vendure's default tokenMethod) gets its cookies back.
    const sent: (string | null)[] = [];
    const cookieServer: typeof fetch = async (_input, init) => {
      sent.push(new Headers(init?.headers).get('cookie'));
      if (opName(init) === 'ResolveLogin')
        return new Response(JSON.stringify({ data: { login: { __typename: 'CurrentUser', id: '1' } } }), {
          headers: [
            ['content-type', 'application/json'],
            ['set-cookie', 'session=abc; Path=/; HttpOnly'],
            ['set-cookie', 'session.sig=xyz; Path=/; HttpOnly'],
          ],
        });
      return Response.json({
        data: { activeChannel: { code: 'eu-shop', token: 't' }, orders: { totalItems: 0 } },
      });
    };
    const cookies = vendureConnector.create(
      {
        settings: { admin_api_url: 'https://cookies.example/admin-api' },
        credentials: { username: 'a', password: 'b' },
      },
      deps(cookieServer),
    );
    assert.deepEqual(await cookies.testConnection(), { shopName: 'eu-shop' });
    assert.deepEqual(sent, [null, 'session=abc; session.sig=xyz']);
    mark('connector-level checks', t);
  });
});
