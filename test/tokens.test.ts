import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { events } from '../src/db/schema.js';
import { loadMasterSecret } from '../src/lib/secret.js';
import type { OrderInputT } from '../src/orders/document.js';
import { issueOrderToken } from '../src/resolve/tokens.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, assertInvalidAt, daysAgo } from './support/http.js';
import { orderDoc } from './support/orders.js';

// SPEC §3 order tokens (resolve links) and the token-only order actions (§14).

let ctx: TestContext;
let master: Buffer;
before(async () => {
  ctx = await startTestApp();
  master = await loadMasterSecret(ctx.db, ctx.deps.config);
});
after(() => ctx.close());

const DAY = 86_400_000;
const ipPrefix = `10.${randomInt(256)}`;
let ipSeq = randomInt(1000);
const nextIp = () => {
  ipSeq++;
  return `${ipPrefix}.${Math.floor(ipSeq / 250) % 256}.${(ipSeq % 250) + 1}`;
};

type Shipment = NonNullable<OrderInputT['shipments']>[number];
const shipment = (lines: [string, number][], deliveredDaysAgo: number | null): Shipment => ({
  external_id: `f-${lines.map(([l]) => l).join('-')}`,
  carrier: 'dhl',
  tracking_number: '00340434',
  tracking_url: null,
  line_items: lines.map(([external_id, quantity]) => ({ external_id, quantity })),
  events: [
    { time: daysAgo(3), code: 'picked_up', phase: 'in_transit', description: null, location: null },
    ...(deliveredDaysAgo === null
      ? []
      : [
          {
            time: daysAgo(deliveredDaysAgo),
            code: 'delivered',
            phase: 'delivered' as const,
            description: null,
            location: null,
          },
        ]),
  ],
});
const FULL: [string, number][] = [
  ['li-1', 2],
  ['li-2', 1],
];

async function putOrder(shop: TestShop, overrides: Partial<OrderInputT> = {}) {
  const doc = orderDoc({ shipments: [shipment(FULL, 2)], ...overrides });
  const res = await ctx.app.inject({
    method: 'PUT',
    url: `/v1/shops/${shop.slug}/orders`,
    headers: shop.auth.editor,
    payload: doc,
  });
  assert.equal(res.statusCode, 201, res.body);
  return { doc, order: res.json() as { id: string; state: string } };
}
const placedOrder = (shop: TestShop) => putOrder(shop, { shipments: [] });

function createLink(shop: TestShop, orderId: string, body?: object, headers = shop.auth.editor) {
  return ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/orders/${encodeURIComponent(orderId)}/resolve-link`,
    headers,
    ...(body === undefined ? {} : { payload: body }),
  });
}

async function link(shop: TestShop, orderId: string, body?: object) {
  const res = await createLink(shop, orderId, body);
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { url: string; token: string; token_id: string; expires_at: string };
}

const openWithToken = (slug: string, token: string) =>
  ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${slug}/sessions`,
    payload: { token },
    remoteAddress: nextIp(),
  });

async function tokenSession(slug: string, token: string) {
  const res = await openWithToken(slug, token);
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as {
    session: string;
    level: string;
    order: { id: string };
    actions: Record<string, boolean>;
  };
}

async function zipSession(slug: string, orderNumber: string, zip = '10115') {
  const res = await ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${slug}/sessions`,
    payload: { order_number: orderNumber, zip_code: zip },
    remoteAddress: nextIp(),
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { session: string; level: string; actions: Record<string, boolean> };
}

const asCustomer = (slug: string, session: string, method: 'GET' | 'POST', path: string, payload?: object) =>
  ctx.app.inject({
    method,
    url: `/v1/resolve/${slug}${path}`,
    headers: { authorization: `Bearer ${session}` },
    remoteAddress: nextIp(),
    ...(payload === undefined ? {} : { payload }),
  });

const revoke = (shop: TestShop, orderId: string, body?: object) =>
  ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/orders/${orderId}/tokens/revoke`,
    headers: shop.auth.editor,
    ...(body === undefined ? {} : { payload: body }),
  });

const rotate = (shop: TestShop, body?: object, headers = shop.auth.admin) =>
  ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/settings/token-keys/rotate`,
    headers,
    ...(body === undefined ? {} : { payload: body }),
  });

const decodePart = (token: string, i: number) =>
  JSON.parse(Buffer.from(token.split('.')[i], 'base64url').toString('utf8'));
const encodePart = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

async function orderEvents(shop: TestShop, orderId: string) {
  return ctx.db
    .select()
    .from(events)
    .where(and(eq(events.shopId, shop.shop.id), eq(events.subjectId, orderId)));
}

async function merchantOrder(shop: TestShop, id: string) {
  const res = await ctx.app.inject({
    method: 'GET',
    url: `/v1/shops/${shop.slug}/orders/${id}`,
    headers: shop.auth.viewer,
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

const assertDaysAhead = (iso: string, days: number, t0: number) => {
  const t = Date.parse(iso);
  assert.ok(
    t >= t0 + days * DAY - 2000 && t <= Date.now() + days * DAY + 1000,
    `${iso} is not ${days} days ahead`,
  );
};

describe('POST …/orders/{id}/resolve-link', () => {
  test('answers url, token, token_id and expires_at (default 30 days)', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await putOrder(shop);
    const t0 = Date.now();
    const res = await createLink(shop, order.id);
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['expires_at', 'token', 'token_id', 'url']);
    assert.equal(
      body.url,
      `http://resolve.test/resolve/${shop.slug}?token=${encodeURIComponent(body.token)}`,
    );
    assert.equal(new URL(body.url).searchParams.get('token'), body.token);
    assert.match(body.token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.match(body.token_id, /^tok_/);
    assertDaysAhead(body.expires_at, 30, t0);
    const header = decodePart(body.token, 0);
    const claims = decodePart(body.token, 1);
    assert.equal(header.alg, 'HS256');
    assert.equal(typeof header.kid, 'string');
    assert.equal(claims.jti, body.token_id);
    assert.equal(claims.sub, order.id);
    assert.equal(claims.shop, shop.shop.id);
    assert.equal(claims.exp * 1000, Date.parse(body.expires_at));
    // Each link is its own token.
    const again = await link(shop, order.id);
    assert.notEqual(again.token_id, body.token_id);
    // Generated clients send the JSON header with no body: that is no body, not "not valid JSON".
    for (const payload of [undefined, '', ' ']) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/v1/shops/${shop.slug}/orders/${order.id}/resolve-link`,
        headers: { ...shop.auth.editor, 'content-type': 'application/json' },
        ...(payload === undefined ? {} : { payload }),
      });
      assert.equal(res.statusCode, 201, res.body);
      assertDaysAhead(res.json().expires_at, 30, t0);
    }
  });

  test('the order may be named by external_id; expires_in_days and lang are honoured', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { doc, order } = await putOrder(shop);
    const t0 = Date.now();
    const res = await link(shop, doc.external_id!, { expires_in_days: 7, lang: 'de' });
    assertDaysAhead(res.expires_at, 7, t0);
    assert.equal(new URL(res.url).searchParams.get('lang'), 'de');
    assert.equal(decodePart(res.token, 1).sub, order.id);
    assertDaysAhead((await link(shop, order.id, { expires_in_days: 365 })).expires_at, 365, t0);
    assertDaysAhead((await link(shop, order.id, { expires_in_days: 1 })).expires_at, 1, t0);
  });

  test('the default lifetime is the shop’s token_ttl_days', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await putOrder(shop);
    const patch = await ctx.app.inject({
      method: 'PATCH',
      url: `/v1/shops/${shop.slug}/settings/resolve`,
      headers: shop.auth.admin,
      payload: { token_ttl_days: 10 },
    });
    assert.equal(patch.statusCode, 200, patch.body);
    const t0 = Date.now();
    assertDaysAhead((await link(shop, order.id)).expires_at, 10, t0);
  });

  test('bad input and access', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const other = await createTestShop(ctx.db, 'tok');
    const { order } = await putOrder(shop);
    for (const days of [366, 0, -1, 1.5, '7', null]) {
      assertInvalidAt(await createLink(shop, order.id, { expires_in_days: days }), '/expires_in_days');
    }
    assertInvalidAt(await createLink(shop, order.id, { lang: 'german' }), '/lang');
    // A language the customer page does not speak is refused, not put into the link.
    const xx = assertInvalidAt(await createLink(shop, order.id, { lang: 'xx' }), '/lang');
    assert.match(xx.errors![0].message, /^must be one of: en, de, fr/);
    assertInvalidAt(await createLink(shop, order.id, { scope: 'admin' }), '/scope');
    assertError(await createLink(shop, order.id, {}, shop.auth.viewer), 403, 'forbidden');
    assertError(await createLink(shop, order.id, {}, { authorization: 'Bearer nope' }), 401, 'unauthorized');
    assertError(await createLink(shop, 'ord_00000000000000000000000000'), 404, 'order_not_found');
    // Another shop's order is not found, with that shop's own key.
    assertError(await createLink(other, order.id, {}, other.auth.editor), 404, 'order_not_found');
  });
});

describe('opening a session with a token', () => {
  test('a link opens a token-level session of its order', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await putOrder(shop);
    await putOrder(shop);
    const { token } = await link(shop, order.id);
    const s = await tokenSession(shop.slug, token);
    assert.equal(s.level, 'token');
    assert.equal(s.order.id, order.id);
    const view = await asCustomer(shop.slug, s.session, 'GET', '/order');
    assert.equal(view.statusCode, 200, view.body);
    assert.equal(view.json().level, 'token');
    assert.equal(view.json().order.id, order.id);
    // A link may be used again (the customer reopens the email).
    assert.equal((await openWithToken(shop.slug, token)).statusCode, 201);
  });

  test('tampered, malformed or unsigned tokens are 401 token_invalid', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await putOrder(shop);
    const { order: second } = await putOrder(shop);
    const { token } = await link(shop, order.id);
    const [h, p, sig] = token.split('.');
    const claims = decodePart(token, 1);
    const sigBytes = Buffer.from(sig, 'base64url');
    sigBytes[0] ^= 0x01;
    const forged = [
      `${h}.${encodePart({ ...claims, sub: second.id })}.${sig}`,
      `${h}.${encodePart({ ...claims, exp: claims.exp + 365 * 86_400 })}.${sig}`,
      `${h}.${p}.${sigBytes.toString('base64url')}`,
      `${h}.${p}.`,
      `${encodePart({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${p}.`,
      `${encodePart({ ...decodePart(token, 0), kid: 'k9' })}.${p}.${sig}`,
      `${h}.${p}`,
      `${token}.x`,
      'garbage',
      'a.b.c',
      `${h}.!!!.${sig}`,
      // Header or claims that are valid JSON but not objects (null once gave a 500 before the signature check).
      `${Buffer.from('null').toString('base64url')}.${p}.${sig}`,
      `${Buffer.from('[]').toString('base64url')}.${p}.${sig}`,
      `${Buffer.from('1').toString('base64url')}.${p}.${sig}`,
      `${h}.${Buffer.from('null').toString('base64url')}.${sig}`,
      'bnVsbA.e30.x',
    ];
    for (const t of forged) {
      const res = await openWithToken(shop.slug, t);
      assertError(res, 401, 'token_invalid');
      assert.ok(!res.body.includes(order.id));
    }
    assert.equal((await openWithToken(shop.slug, token)).statusCode, 201);
  });

  test('an expired token is 401 token_expired', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await putOrder(shop);
    const past = new Date(Date.now() - 31 * DAY);
    const { token } = issueOrderToken(master, shop.shop, order.id, 30 * 86_400, past);
    assertError(await openWithToken(shop.slug, token), 401, 'token_expired');
    // The same signing path with a current clock works (the failure above is the expiry, not the signature).
    const fresh = issueOrderToken(master, shop.shop, order.id, 30 * 86_400);
    assert.equal((await openWithToken(shop.slug, fresh.token)).statusCode, 201);
    const justExpired = issueOrderToken(master, shop.shop, order.id, 60, new Date(Date.now() - 61_000));
    assertError(await openWithToken(shop.slug, justExpired.token), 401, 'token_expired');
  });

  test('a token of shop A is useless on shop B', async () => {
    const a = await createTestShop(ctx.db, 'tok');
    const b = await createTestShop(ctx.db, 'tok');
    const { doc, order } = await putOrder(a);
    await putOrder(b, { order_number: doc.order_number, external_id: doc.external_id });
    const { token } = await link(a, order.id);
    const res = await openWithToken(b.slug, token);
    assertError(res, 401, 'token_invalid');
    // Even a token signed with B's own key cannot name A's order.
    const crafted = issueOrderToken(master, b.shop, order.id, 86_400);
    assertError(await openWithToken(b.slug, crafted.token), 401, 'token_invalid');
    assert.equal((await openWithToken(a.slug, token)).statusCode, 201);
  });
});

describe('revocation', () => {
  test('by token id: that link and its sessions end, others live on', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { doc, order } = await putOrder(shop);
    const one = await link(shop, order.id);
    const two = await link(shop, order.id);
    const s1 = await tokenSession(shop.slug, one.token);
    const s2 = await tokenSession(shop.slug, two.token);
    const z = await zipSession(shop.slug, doc.order_number);

    const res = await revoke(shop, order.id, { token_id: one.token_id });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { revoked: one.token_id });
    assertError(await openWithToken(shop.slug, one.token), 401, 'token_revoked');
    assertError(await asCustomer(shop.slug, s1.session, 'GET', '/order'), 401, 'session_expired');
    assert.equal((await asCustomer(shop.slug, s2.session, 'GET', '/order')).statusCode, 200);
    assert.equal((await asCustomer(shop.slug, z.session, 'GET', '/order')).statusCode, 200);
    assert.equal((await openWithToken(shop.slug, two.token)).statusCode, 201);
    // Revoking again is harmless.
    assert.equal((await revoke(shop, order.id, { token_id: one.token_id })).statusCode, 200);
  });

  test("a token id named under another order does not touch that order's link", async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await putOrder(shop);
    const { order: other } = await putOrder(shop);
    const theirs = await link(shop, other.id);
    const s = await tokenSession(shop.slug, theirs.token);
    assert.equal((await revoke(shop, order.id, { token_id: theirs.token_id })).statusCode, 200);
    assert.equal(
      (await openWithToken(shop.slug, theirs.token)).statusCode,
      201,
      'the other order keeps its link',
    );
    assert.equal((await asCustomer(shop.slug, s.session, 'GET', '/order')).statusCode, 200);
    // Named under its own order, it is revoked.
    assert.equal((await revoke(shop, other.id, { token_id: theirs.token_id })).statusCode, 200);
    assertError(await openWithToken(shop.slug, theirs.token), 401, 'token_revoked');
    assertError(await asCustomer(shop.slug, s.session, 'GET', '/order'), 401, 'session_expired');
  });

  test('for the whole order: every link so far and its sessions end; zip sessions stay; new links work', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { doc, order } = await putOrder(shop);
    const { order: otherOrder } = await putOrder(shop);
    const one = await link(shop, order.id);
    const two = await link(shop, order.id);
    const elsewhere = await link(shop, otherOrder.id);
    const s1 = await tokenSession(shop.slug, one.token);
    const s2 = await tokenSession(shop.slug, two.token);
    const z = await zipSession(shop.slug, doc.order_number);

    const res = await revoke(shop, order.id);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { revoked: 'all' });
    for (const t of [one, two]) assertError(await openWithToken(shop.slug, t.token), 401, 'token_revoked');
    for (const s of [s1, s2])
      assertError(await asCustomer(shop.slug, s.session, 'GET', '/order'), 401, 'session_expired');
    assert.equal((await asCustomer(shop.slug, z.session, 'GET', '/order')).statusCode, 200);
    // Links of other orders are untouched.
    assert.equal((await openWithToken(shop.slug, elsewhere.token)).statusCode, 201);
    // A link created after the revocation works.
    const fresh = await link(shop, order.id);
    const s3 = await tokenSession(shop.slug, fresh.token);
    assert.equal(s3.level, 'token');
    // An empty JSON body revokes all as well.
    assert.deepEqual((await revoke(shop, order.id, {})).json(), { revoked: 'all' });
    assertError(await openWithToken(shop.slug, fresh.token), 401, 'token_revoked');
  });

  test('revocation needs an editor key of the order’s shop', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const other = await createTestShop(ctx.db, 'tok');
    const { order } = await putOrder(shop);
    const { token } = await link(shop, order.id);
    const asViewer = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${shop.slug}/orders/${order.id}/tokens/revoke`,
      headers: shop.auth.viewer,
    });
    assertError(asViewer, 403, 'forbidden');
    assertError(await revoke(other, order.id), 404, 'order_not_found');
    assertInvalidAt(await revoke(shop, order.id, { token_id: '' }), '/token_id');
    // A whole token pasted instead of its id, or a typo, is refused rather than accepted as a no-op.
    assertInvalidAt(await revoke(shop, order.id, { token_id: token }), '/token_id');
    assertInvalidAt(await revoke(shop, order.id, { token_id: 'tok_short' }), '/token_id');
    assert.equal((await openWithToken(shop.slug, token)).statusCode, 201);
  });
});

describe('key rotation', () => {
  test('rotating keeps old links working; retire_previous breaks them; new links always work', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const bystander = await createTestShop(ctx.db, 'tok');
    const { order } = await putOrder(shop);
    const { order: bOrder } = await putOrder(bystander);
    const k1 = await link(shop, order.id);
    const bLink = await link(bystander, bOrder.id);

    assertError(await rotate(shop, {}, shop.auth.editor), 403, 'forbidden');
    const r1 = await rotate(shop);
    assert.equal(r1.statusCode, 200, r1.body);
    assert.deepEqual(r1.json(), { current: 'k2', retired: [] });
    const k2 = await link(shop, order.id);
    assert.equal(decodePart(k2.token, 0).kid, 'k2');
    assert.notEqual(decodePart(k1.token, 0).kid, 'k2');
    assert.equal((await openWithToken(shop.slug, k1.token)).statusCode, 201);
    assert.equal((await openWithToken(shop.slug, k2.token)).statusCode, 201);

    // A settings change in between keeps the key state.
    const patch = await ctx.app.inject({
      method: 'PATCH',
      url: `/v1/shops/${shop.slug}/settings/resolve`,
      headers: shop.auth.admin,
      payload: { claim_window_days: 20 },
    });
    assert.equal(patch.statusCode, 200, patch.body);
    assert.equal(decodePart((await link(shop, order.id)).token, 0).kid, 'k2');

    const r2 = await rotate(shop, { retire_previous: true });
    assert.equal(r2.statusCode, 200, r2.body);
    assert.deepEqual(r2.json(), { current: 'k3', retired: ['k1', 'k2'] });
    assertError(await openWithToken(shop.slug, k1.token), 401, 'token_invalid');
    assertError(await openWithToken(shop.slug, k2.token), 401, 'token_invalid');
    const k3 = await link(shop, order.id);
    assert.equal(decodePart(k3.token, 0).kid, 'k3');
    assert.equal((await openWithToken(shop.slug, k3.token)).statusCode, 201);
    // The settings survive the rotation.
    const settings = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${shop.slug}/settings/resolve`,
      headers: shop.auth.viewer,
    });
    assert.equal(settings.json().claim_window_days, 20);
    // Other shops are not affected.
    assert.equal((await openWithToken(bystander.slug, bLink.token)).statusCode, 201);
  });
});

describe('token-only order actions', () => {
  const newAddress = {
    name: 'Kim Berg',
    address_line_1: 'Chausseestr. 10',
    city: 'Berlin',
    zip_code: '10117',
    country_code: 'DE',
  };

  test('a zip session may not cancel or change the address (403 token_required)', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { doc, order } = await placedOrder(shop);
    const z = await zipSession(shop.slug, doc.order_number);
    assert.deepEqual(z.actions, { cancel: false, change_address: false });
    assertError(await asCustomer(shop.slug, z.session, 'POST', '/order/cancel'), 403, 'token_required');
    assertError(
      await asCustomer(shop.slug, z.session, 'POST', '/order/address', newAddress),
      403,
      'token_required',
    );
    const o = await merchantOrder(shop, order.id);
    assert.equal(o.state, 'placed');
    assert.equal(o.shipping_address.zip_code, '10115');
    assert.deepEqual(await orderEvents(shop, order.id), []);
  });

  test('without a session: 401', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const res = await ctx.app.inject({ method: 'POST', url: `/v1/resolve/${shop.slug}/order/cancel` });
    assertError(res, 401, 'session_required');
  });

  test('the caller is checked before the body: 401, 403 and 404 come before 400', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { doc } = await placedOrder(shop);
    const z = await zipSession(shop.slug, doc.order_number);
    const bad = { x: 1 };
    assertError(await asCustomer(shop.slug, z.session, 'POST', '/order/address', bad), 403, 'token_required');
    assertError(await asCustomer(shop.slug, z.session, 'POST', '/order/cancel', bad), 403, 'token_required');
    for (const path of ['/order/address', '/claims']) {
      const none = await ctx.app.inject({
        method: 'POST',
        url: `/v1/resolve/${shop.slug}${path}`,
        payload: bad,
      });
      assertError(none, 401, 'session_required');
      const noShop = await ctx.app.inject({
        method: 'POST',
        url: `/v1/resolve/no-such-shop${path}`,
        payload: bad,
      });
      assertError(noShop, 404, 'shop_not_found');
    }
    // With the right caller, the body is checked as before.
    assertInvalidAt(await asCustomer(shop.slug, z.session, 'POST', '/claims', bad), '/x');
  });

  test('actions are offered only to token sessions of a placed order', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const placed = await placedOrder(shop);
    const shipped = await putOrder(shop);
    const partly = await putOrder(shop, { shipments: [shipment([['li-1', 1]], null)] });
    assert.equal(partly.order.state, 'partially_fulfilled');
    assert.deepEqual((await tokenSession(shop.slug, (await link(shop, placed.order.id)).token)).actions, {
      cancel: true,
      change_address: true,
    });
    for (const o of [shipped, partly]) {
      const s = await tokenSession(shop.slug, (await link(shop, o.order.id)).token);
      assert.deepEqual(s.actions, { cancel: false, change_address: false });
      const view = await asCustomer(shop.slug, s.session, 'GET', '/order');
      assert.deepEqual(view.json().actions, { cancel: false, change_address: false });
    }
    const z = await zipSession(shop.slug, placed.doc.order_number);
    assert.deepEqual(z.actions, { cancel: false, change_address: false });
  });

  test('cancel with a token session: only while nothing is fulfilled', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    for (const o of [
      await putOrder(shop),
      await putOrder(shop, { shipments: [shipment([['li-1', 1]], null)] }),
    ]) {
      const s = await tokenSession(shop.slug, (await link(shop, o.order.id)).token);
      assertError(await asCustomer(shop.slug, s.session, 'POST', '/order/cancel'), 422, 'action_not_allowed');
      assert.equal((await merchantOrder(shop, o.order.id)).state, o.order.state);
      assert.deepEqual(await orderEvents(shop, o.order.id), []);
    }
  });

  test('cancel with a token session: the order is cancelled and an orders/cancelled event is written', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { doc, order } = await placedOrder(shop);
    const s = await tokenSession(shop.slug, (await link(shop, order.id)).token);
    const res = await asCustomer(shop.slug, s.session, 'POST', '/order/cancel', { reason: 'Ordered twice' });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.level, 'token');
    assert.equal(body.order.state, 'cancelled');
    assert.deepEqual(body.actions, { cancel: false, change_address: false });
    for (const f of body.flows as { flow: string; reason_code: string | null }[])
      assert.equal(f.reason_code, f.flow === 'support' ? null : 'order_cancelled', f.flow);

    const merchant = await merchantOrder(shop, order.id);
    assert.equal(merchant.state, 'cancelled');
    assert.ok(merchant.cancelled_at && Date.now() - Date.parse(merchant.cancelled_at) < 60_000);

    const evts = await orderEvents(shop, order.id);
    assert.equal(evts.length, 1);
    assert.equal(evts[0].type, 'orders/cancelled');
    const data = evts[0].data as Record<string, unknown>;
    assert.equal(data.order_id, order.id);
    assert.equal(data.order_number, doc.order_number);
    assert.equal(data.reason, 'Ordered twice');
    assert.equal(data.initiated_by, 'customer');

    // Once cancelled, neither action is possible any more.
    assertError(await asCustomer(shop.slug, s.session, 'POST', '/order/cancel'), 422, 'action_not_allowed');
    assertError(
      await asCustomer(shop.slug, s.session, 'POST', '/order/address', newAddress),
      422,
      'action_not_allowed',
    );
    assert.equal((await orderEvents(shop, order.id)).length, 1);
  });

  test('cancel and address change with an Idempotency-Key: a retry gets the first answer, another body a conflict', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await placedOrder(shop);
    const token = (await link(shop, order.id)).token;
    const s = await tokenSession(shop.slug, token);
    const send = (session: string, path: string, key: string, payload: object) =>
      ctx.app.inject({
        method: 'POST',
        url: `/v1/resolve/${shop.slug}${path}?lang=de`,
        headers: { authorization: `Bearer ${session}`, 'idempotency-key': key },
        remoteAddress: nextIp(),
        payload,
      });
    const moved = await send(s.session, '/order/address', 'addr-1', newAddress);
    assert.equal(moved.statusCode, 200, moved.body);
    const first = await send(s.session, '/order/cancel', 'cancel-1', { reason: 'Ordered twice' });
    assert.equal(first.statusCode, 200, first.body);
    // The answer was lost; the page retries from a session opened again with the same link.
    const again = await tokenSession(shop.slug, token);
    const retry = await send(again.session, '/order/cancel', 'cancel-1', { reason: 'Ordered twice' });
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.json().order.state, 'cancelled');
    assert.equal((await orderEvents(shop, order.id)).filter((e) => e.type === 'orders/cancelled').length, 1);
    // Without the key, or with a new one, the order is simply cancelled already.
    assertError(await send(s.session, '/order/cancel', 'cancel-2', {}), 422, 'action_not_allowed');
    assertError(
      await send(s.session, '/order/address', 'addr-1', { ...newAddress, city: 'Potsdam' }),
      409,
      'idempotency_conflict',
    );
    assertInvalidAt(await send(s.session, '/order/cancel', 'x'.repeat(256), {}), 'header:idempotency-key');
  });

  test('cancel validates its body', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await placedOrder(shop);
    const s = await tokenSession(shop.slug, (await link(shop, order.id)).token);
    assertInvalidAt(
      await asCustomer(shop.slug, s.session, 'POST', '/order/cancel', { reason: 'x'.repeat(501) }),
      '/reason',
    );
    assertInvalidAt(
      await asCustomer(shop.slug, s.session, 'POST', '/order/cancel', { force: true }),
      '/force',
    );
    assert.equal((await merchantOrder(shop, order.id)).state, 'placed');
  });

  test('address change: validated, stored, looked up by the new ZIP, orders/address_changed written', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { doc, order } = await placedOrder(shop);
    const s = await tokenSession(shop.slug, (await link(shop, order.id)).token);
    const res = await asCustomer(shop.slug, s.session, 'POST', '/order/address', {
      ...newAddress,
      zip_code: ' 10117 ',
      address_line_2: 'Hinterhaus',
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.order.shipping_address.zip_code, '10117');
    assert.equal(body.order.shipping_address.address_line_1, 'Chausseestr. 10');
    assert.equal(body.order.shipping_address.address_line_2, 'Hinterhaus');
    assert.deepEqual(body.actions, { cancel: true, change_address: true });

    const merchant = await merchantOrder(shop, order.id);
    assert.equal(merchant.state, 'placed');
    assert.equal(merchant.shipping_address.zip_code, '10117');
    assert.equal(merchant.shipping_address.city, 'Berlin');

    const evts = await orderEvents(shop, order.id);
    assert.equal(evts.length, 1);
    assert.equal(evts[0].type, 'orders/address_changed');
    const data = evts[0].data as {
      from: { zip_code: string };
      to: { zip_code: string };
      initiated_by: string;
    };
    assert.equal(data.from.zip_code, '10115');
    assert.equal(data.to.zip_code, '10117');
    assert.equal(data.initiated_by, 'customer');

    // The lookup follows the new address.
    const old = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/sessions`,
      payload: { order_number: doc.order_number, zip_code: '10115' },
      remoteAddress: nextIp(),
    });
    assertError(old, 404, 'order_not_found');
    assert.equal((await zipSession(shop.slug, doc.order_number, '10117')).level, 'zip');
  });

  test("the merchant sees the customer's changes in the order's activity (newest first), no other shop does", async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const other = await createTestShop(ctx.db, 'tok');
    const { doc, order } = await placedOrder(shop);
    const activity = (id: string, s = shop) =>
      ctx.app.inject({
        method: 'GET',
        url: `/v1/shops/${s.slug}/orders/${id}/activity`,
        headers: s.auth.viewer,
      });
    assert.deepEqual((await activity(order.id)).json(), { data: [], has_more: false, next_cursor: null });
    const s = await tokenSession(shop.slug, (await link(shop, order.id)).token);
    assert.equal(
      (await asCustomer(shop.slug, s.session, 'POST', '/order/address', newAddress)).statusCode,
      200,
    );
    assert.equal(
      (await asCustomer(shop.slug, s.session, 'POST', '/order/cancel', { reason: 'Too late' })).statusCode,
      200,
    );
    const res = await activity(doc.external_id as string);
    assert.equal(res.statusCode, 200, res.body);
    const data = res.json().data as { type: string; created_at: string; data: Record<string, unknown> }[];
    assert.deepEqual(
      data.map((e) => e.type),
      ['orders/cancelled', 'orders/address_changed'],
    );
    assert.equal(data[0].data.reason, 'Too late');
    assert.equal(data[0].data.initiated_by, 'customer');
    assert.equal((data[1].data.to as { zip_code: string }).zip_code, newAddress.zip_code);
    assert.ok(Date.now() - Date.parse(data[0].created_at) < 60_000);
    assertError(await activity(order.id, other), 404, 'order_not_found');
    assertError(await activity('ord_00000000000000000000000000'), 404, 'order_not_found');
  });

  test('address change: invalid addresses are 400 and change nothing', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await placedOrder(shop);
    const s = await tokenSession(shop.slug, (await link(shop, order.id)).token);
    const cases: [object, string][] = [
      [{ ...newAddress, zip_code: '1234' }, '/zip_code'],
      [{ ...newAddress, zip_code: 'ABCDE' }, '/zip_code'],
      [{ ...newAddress, zip_code: '1010', country_code: 'AT' }, '/country_code'],
      [{ ...newAddress, zip_code: 'SW1A 1AA', country_code: 'GB' }, '/country_code'],
      [{ ...newAddress, name: '   ' }, '/name'],
      [{ ...newAddress, city: '' }, '/city'],
      [{ ...newAddress, country_code: 'DEU' }, '/country_code'],
      [{ ...newAddress, zip_code: undefined }, '/zip_code'],
      [{ ...newAddress, address_line_1: undefined }, '/address_line_1'],
      [{ ...newAddress, email: 'kim@example.com' }, '/email'],
      [{ ...newAddress, zip_code: '1'.repeat(33) }, '/zip_code'],
    ];
    for (const [payload, path] of cases) {
      const res = await asCustomer(shop.slug, s.session, 'POST', '/order/address', payload);
      assertInvalidAt(res, path);
    }
    const merchant = await merchantOrder(shop, order.id);
    assert.equal(merchant.shipping_address.zip_code, '10115');
    assert.equal(merchant.shipping_address.address_line_1, 'Invalidenstr. 1');
    assert.deepEqual(await orderEvents(shop, order.id), []);
  });

  test('address change after fulfilment is 422 action_not_allowed', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await putOrder(shop, { shipments: [shipment([['li-1', 1]], null)] });
    const s = await tokenSession(shop.slug, (await link(shop, order.id)).token);
    assertError(
      await asCustomer(shop.slug, s.session, 'POST', '/order/address', newAddress),
      422,
      'action_not_allowed',
    );
    assert.equal((await merchantOrder(shop, order.id)).shipping_address.zip_code, '10115');
  });

  test('a revoked link’s session can no longer act', async () => {
    const shop = await createTestShop(ctx.db, 'tok');
    const { order } = await placedOrder(shop);
    const s = await tokenSession(shop.slug, (await link(shop, order.id)).token);
    assert.equal((await revoke(shop, order.id)).statusCode, 200);
    assertError(await asCustomer(shop.slug, s.session, 'POST', '/order/cancel'), 401, 'session_expired');
    assert.equal((await merchantOrder(shop, order.id)).state, 'placed');
  });
});
