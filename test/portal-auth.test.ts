import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { query } from '../src/db/client.js';
import { ABSOLUTE_MS, findPortalSession, IDLE_MS, openPortalSession } from '../src/portal/sessions.js';
import { createShop } from '../src/shops/shops.js';
import { createUser, resetPassword, type UserRole } from '../src/shops/users.js';
import { createTestShop, startTestApp, type TestContext, type TestShop, uniqueSlug } from './support/app.js';
import { claimsApi, lineId, shapedOrder } from './support/claims.js';
import { assertError } from './support/http.js';

const PASSWORD = 'correct horse battery';

describe('portal sign-in, sessions, CSRF and roles', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let other: TestShop;
  const emailOf = (role: string) => `${role}-${shop.slug}@example.test`;

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'portal');
    other = await createTestShop(ctx.db, 'portal-other');
    for (const role of ['viewer', 'agent', 'admin'] as UserRole[])
      await createUser(ctx.db, { shopId: shop.shop.id, email: emailOf(role), role, password: PASSWORD });
  });
  after(() => ctx.close());

  const login = (email: string, password = PASSWORD, ip = '10.0.0.1') =>
    ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/login',
      payload: { email, password },
      remoteAddress: ip,
    });

  /** Signs in and returns what a browser keeps: the cookie and the CSRF token from the answer. */
  async function signIn(role: UserRole | string, ip?: string) {
    const res = await login(role.includes('@') ? role : emailOf(role), PASSWORD, ip);
    assert.equal(res.statusCode, 200, res.body);
    const cookie = (res.headers['set-cookie'] as string).split(';')[0];
    return { cookie, csrf: res.json().csrf_token as string, body: res.json() };
  }

  test('signing in sets an httpOnly SameSite cookie and answers the shops, roles and CSRF token', async () => {
    const res = await login(emailOf('agent'));
    assert.equal(res.statusCode, 200);
    const setCookie = res.headers['set-cookie'] as string;
    assert.match(
      setCookie,
      /^resolve_portal=rps_[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/,
    );
    assert.doesNotMatch(setCookie, /Secure/, 'plain http (local use) cannot set Secure cookies');
    const body = res.json();
    assert.equal(body.user.email, emailOf('agent'));
    assert.deepEqual(body.shops, [{ slug: shop.slug, name: shop.shop.name, role: 'agent' }]);
    assert.match(body.csrf_token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(res.headers['cache-control'], 'no-store');
    // The session is stored hashed: the cookie value is nowhere in the database.
    const token = setCookie.split(';')[0].split('=')[1];
    const rows = await query(ctx.db, sql`select 1 from portal_sessions where token_hash = ${token}`);
    assert.equal(rows.length, 0);
  });

  test('on HTTPS the cookie is Secure with the __Host- prefix', async () => {
    const secure = await startTestApp({ publicUrl: 'https://resolve.example' });
    try {
      const slug = uniqueSlug('sec');
      const s = await createShop(secure.db, { slug, name: 'Secure' });
      await createUser(secure.db, {
        shopId: s.id,
        email: `a@${slug}.test`,
        role: 'admin',
        password: PASSWORD,
      });
      const res = await secure.app.inject({
        method: 'POST',
        url: '/v1/portal/login',
        payload: { email: `a@${slug}.test`, password: PASSWORD },
      });
      assert.equal(res.statusCode, 200);
      assert.match(
        res.headers['set-cookie'] as string,
        /^__Host-resolve_portal=rps_.*; HttpOnly; SameSite=Lax; .*; Secure$/,
      );
    } finally {
      await secure.close();
    }
  });

  test('a wrong password and an unknown email answer identically', async () => {
    const wrong = await login(emailOf('viewer'), 'not the password', '10.0.0.2');
    const unknown = await login(`nobody-${shop.slug}@example.test`, 'whatever', '10.0.0.2');
    assert.equal(wrong.statusCode, 401);
    assert.equal(unknown.statusCode, 401);
    assert.equal(wrong.body, unknown.body);
    assert.equal(wrong.json().error.key, 'invalid_credentials');
    assert.equal(wrong.headers['set-cookie'], undefined);
  });

  test('repeated failures lock the account (429 + Retry-After), even for the right password', async () => {
    const email = `locked-${shop.slug}@example.test`;
    await createUser(ctx.db, { shopId: shop.shop.id, email, role: 'viewer', password: PASSWORD });
    for (let i = 0; i < 5; i++)
      assertError(await login(email, `wrong ${i}`, `10.1.0.${i}`), 401, 'invalid_credentials');
    const locked = await login(email, 'wrong again', '10.1.0.9');
    assertError(locked, 429, 'rate_limited');
    assert.ok(Number(locked.headers['retry-after']) > 800);
    assertError(await login(email, PASSWORD, '10.1.0.10'), 429, 'rate_limited');
    // Other accounts are not affected.
    assert.equal((await login(emailOf('viewer'), PASSWORD, '10.1.0.11')).statusCode, 200);
  });

  test('too many attempts from one address are throttled', async () => {
    let last = 0;
    for (let i = 0; i < 31; i++)
      last = (await login(`x${i}-${shop.slug}@example.test`, 'nope', '10.9.9.9')).statusCode;
    assert.equal(last, 429);
  });

  test('the cookie authenticates the merchant API; state changes need the CSRF token', async () => {
    const { cookie, csrf } = await signIn('admin');
    const list = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${shop.slug}/claims`,
      headers: { cookie },
    });
    assert.equal(list.statusCode, 200, list.body);
    const patch = (headers: Record<string, string>) =>
      ctx.app.inject({
        method: 'PATCH',
        url: `/v1/shops/${shop.slug}/settings/resolve`,
        headers: { cookie, ...headers },
        payload: { claim_window_days: 31 },
      });
    assertError(await patch({}), 403, 'csrf_failed');
    assertError(await patch({ 'x-csrf-token': `${csrf.slice(0, -1)}x` }), 403, 'csrf_failed');
    const ok = await patch({ 'x-csrf-token': csrf });
    assert.equal(ok.statusCode, 200, ok.body);
    // Without any credential: 401, as for the API.
    assertError(
      await ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}/claims` }),
      401,
      'unauthorized',
    );
  });

  test("a team member's change is named in the claim's history: by name, else by email, to the API too", async () => {
    const api = claimsApi(ctx.app, shop);
    const order = await api.putOrder(shapedOrder({ number: `#PA-${Date.now()}`, deliveredDaysAgo: 2 }));
    const line = lineId(order, order.line_items[0].external_id);
    const claim = await api.create({
      order_id: order.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: line, quantity: 1 }],
      resolution_preference: 'refund',
    });
    await createUser(ctx.db, {
      shopId: shop.shop.id,
      email: `named-${shop.slug}@example.test`,
      role: 'agent',
      password: PASSWORD,
      name: 'Robin Agent',
    });
    let version = claim.version as number;
    for (const [who, status] of [
      [`named-${shop.slug}@example.test`, 'accepted'],
      ['agent', 'closed'],
    ] as const) {
      const { cookie, csrf } = await signIn(who);
      const res = await ctx.app.inject({
        method: 'PATCH',
        url: `/v1/shops/${shop.slug}/claims/${claim.id}`,
        headers: { cookie, 'x-csrf-token': csrf },
        payload: { version, status },
      });
      assert.equal(res.statusCode, 200, res.body);
      version = res.json().version;
    }
    // Read with the shop's API key: the actors are users, named without their ids being looked up.
    const read = await api.get(claim.id);
    const actors = (read.json().history as { actor: { type: string; name: string | null } }[]).map((h) => [
      h.actor.type,
      h.actor.name,
    ]);
    assert.deepEqual(actors.slice(-2), [
      ['user', 'Robin Agent'],
      ['user', emailOf('agent')],
    ]);
  });

  test('roles: viewers read, agents work claims but not settings, admins manage the team', async () => {
    const viewer = await signIn('viewer');
    const agent = await signIn('agent');
    const settings = (s: { cookie: string; csrf: string }) =>
      ctx.app.inject({
        method: 'PATCH',
        url: `/v1/shops/${shop.slug}/settings/resolve`,
        headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
        payload: { claim_window_days: 30 },
      });
    assertError(await settings(viewer), 403, 'forbidden');
    assertError(await settings(agent), 403, 'forbidden');
    const team = (s: { cookie: string }) =>
      ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}/users`, headers: { cookie: s.cookie } });
    assertError(await team(agent), 403, 'forbidden');
    assert.equal((await team(await signIn('admin'))).statusCode, 200);
    const read = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${shop.slug}/settings/resolve`,
      headers: { cookie: viewer.cookie },
    });
    assert.equal(read.statusCode, 200);
  });

  test('a shop the user does not belong to is 404, as for API keys', async () => {
    const { cookie } = await signIn('admin');
    for (const url of [
      `/v1/shops/${other.slug}/claims`,
      `/v1/shops/${other.slug}/users`,
      '/v1/shops/no-such-shop/claims',
    ]) {
      const res = await ctx.app.inject({ method: 'GET', url, headers: { cookie } });
      assertError(res, 404, 'shop_not_found');
    }
  });

  test('a user of several shops sees and switches between them', async () => {
    const email = `multi-${shop.slug}@example.test`;
    await createUser(ctx.db, { shopId: shop.shop.id, email, role: 'viewer', password: PASSWORD });
    await createUser(ctx.db, { shopId: other.shop.id, email, role: 'admin', password: PASSWORD });
    const { cookie, body } = await signIn(email);
    assert.deepEqual(
      body.shops.map((s: { slug: string; role: string }) => [s.slug, s.role]).sort(),
      [
        [other.slug, 'admin'],
        [shop.slug, 'viewer'],
      ].sort(),
    );
    for (const slug of [shop.slug, other.slug])
      assert.equal(
        (await ctx.app.inject({ method: 'GET', url: `/v1/shops/${slug}/claims`, headers: { cookie } }))
          .statusCode,
        200,
      );
    assertError(
      await ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}/users`, headers: { cookie } }),
      403,
      'forbidden',
    );
    assert.equal(
      (await ctx.app.inject({ method: 'GET', url: `/v1/shops/${other.slug}/users`, headers: { cookie } }))
        .statusCode,
      200,
    );
  });

  test('/me answers the session; logout needs the CSRF token and ends the session', async () => {
    const { cookie, csrf } = await signIn('viewer');
    const me = await ctx.app.inject({ method: 'GET', url: '/v1/portal/me', headers: { cookie } });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().csrf_token, csrf, 'the same token in every tab');
    assertError(
      await ctx.app.inject({ method: 'POST', url: '/v1/portal/logout', headers: { cookie } }),
      403,
      'csrf_failed',
    );
    const out = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/logout',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    assert.equal(out.statusCode, 204);
    assert.match(out.headers['set-cookie'] as string, /Max-Age=0/);
    assertError(
      await ctx.app.inject({ method: 'GET', url: '/v1/portal/me', headers: { cookie } }),
      401,
      'unauthorized',
    );
    assertError(
      await ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}/claims`, headers: { cookie } }),
      401,
      'unauthorized',
    );
  });

  test('sessions end after 12 idle hours and after 7 days in any case', async () => {
    const [user] = await query<{ id: string }>(
      ctx.db,
      sql`select id from users where email = ${emailOf('viewer')}`,
    );
    const t0 = new Date('2026-01-01T00:00:00Z');
    const s = await openPortalSession(ctx.db, user.id, { ip: null, userAgent: null }, t0);
    assert.ok(await findPortalSession(ctx.db, s.token, new Date(t0.getTime() + IDLE_MS - 60_000)));
    assert.equal(await findPortalSession(ctx.db, s.token, new Date(t0.getTime() + 2 * IDLE_MS + 1000)), null);
    // Active use keeps it alive, but not past the absolute limit.
    const s2 = await openPortalSession(ctx.db, user.id, { ip: null, userAgent: null }, t0);
    let at = t0.getTime();
    while (at + IDLE_MS / 2 < t0.getTime() + ABSOLUTE_MS) {
      at += IDLE_MS / 2;
      assert.ok(
        await findPortalSession(ctx.db, s2.token, new Date(at)),
        `alive at +${(at - t0.getTime()) / 3_600_000} h`,
      );
    }
    assert.equal(
      await findPortalSession(ctx.db, s2.token, new Date(t0.getTime() + ABSOLUTE_MS + 1000)),
      null,
    );
  });

  test('a password reset (CLI) sets the new password and signs the user out everywhere', async () => {
    const email = `reset-${shop.slug}@example.test`;
    await createUser(ctx.db, { shopId: shop.shop.id, email, role: 'agent', password: PASSWORD });
    const { cookie } = await signIn(email);
    await resetPassword(ctx.db, email, 'a brand new password');
    assertError(
      await ctx.app.inject({ method: 'GET', url: '/v1/portal/me', headers: { cookie } }),
      401,
      'unauthorized',
    );
    assertError(await login(email, PASSWORD, '10.3.0.1'), 401, 'invalid_credentials');
    assert.equal((await login(email, 'a brand new password', '10.3.0.2')).statusCode, 200);
  });

  test('bad input is a 400 with the field, never a 500', async () => {
    for (const payload of [
      {},
      { email: 'a@b.c' },
      { email: 'a@b.c', password: '' },
      { email: 1, password: 2 },
      { email: 'a@b.c', password: 'x', extra: 1 },
    ]) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/v1/portal/login',
        payload,
        remoteAddress: '10.4.0.1',
      });
      assertError(res, 400, 'validation_failed');
    }
  });

  test('a cookie that is not valid percent-encoding counts as no cookie (401), never a 500', async () => {
    for (const cookie of ['resolve_portal=%E0%A4%A', 'resolve_portal=%', 'other=1; resolve_portal=%zz']) {
      assertError(
        await ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}/claims`, headers: { cookie } }),
        401,
        'unauthorized',
      );
      const me = await ctx.app.inject({ method: 'GET', url: '/v1/portal/me', headers: { cookie } });
      assert.equal(me.statusCode, 401, me.body);
    }
  });
});
