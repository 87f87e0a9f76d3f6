import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { query } from '../src/db/client.js';
import { createInvite } from '../src/portal/team.js';
import { createUser } from '../src/shops/users.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError } from './support/http.js';

const PASSWORD = 'correct horse battery';

describe('portal team: invitations, users and API keys', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let other: TestShop;
  let admin: { cookie: string; 'x-csrf-token': string };

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'team');
    other = await createTestShop(ctx.db, 'team-other');
    await createUser(ctx.db, {
      shopId: shop.shop.id,
      email: `admin@${shop.slug}.test`,
      role: 'admin',
      password: PASSWORD,
    });
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/login',
      payload: { email: `admin@${shop.slug}.test`, password: PASSWORD },
    });
    admin = {
      cookie: (res.headers['set-cookie'] as string).split(';')[0],
      'x-csrf-token': res.json().csrf_token,
    };
  });
  after(() => ctx.close());

  const api = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
    headers = admin,
  ) => ctx.app.inject({ method, url, payload: payload as object, headers });

  test('an admin invites someone; the link creates the account with the role, once', async () => {
    const email = `new-agent@${shop.slug}.test`;
    const res = await api('POST', `/v1/shops/${shop.slug}/invites`, { email, role: 'agent' });
    assert.equal(res.statusCode, 201, res.body);
    const invite = res.json();
    assert.match(invite.url, /^http:\/\/resolve\.test\/portal\/invite#token=inv_[A-Za-z0-9_-]{43}$/);
    const token = invite.url.split('#token=')[1];
    const listed = (await api('GET', `/v1/shops/${shop.slug}/invites`)).json().data;
    assert.deepEqual(
      listed.map((i: { email: string }) => i.email),
      [email],
    );
    assert.equal(JSON.stringify(listed).includes(token), false, 'the token is shown once');

    // The invitation page reads what it is for before anything is typed.
    const read = (t: string) =>
      ctx.app.inject({ method: 'GET', url: `/v1/portal/invite?token=${encodeURIComponent(t)}` });
    const about = await read(token);
    assert.equal(about.statusCode, 200, about.body);
    const { expires_at, ...rest } = about.json();
    assert.deepEqual(rest, { shop_name: shop.shop.name, email, role: 'agent', has_account: false });
    assert.ok(Date.parse(expires_at) > Date.now());
    assertError(await read(`${token.slice(0, -2)}xx`), 410, 'invite_invalid');
    const tooShort = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/invites/accept',
      payload: { token, password: 'short' },
    });
    assertError(tooShort, 400, 'validation_failed');
    const accepted = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/invites/accept',
      payload: { token, password: 'a long enough password', name: 'Ada Agent' },
    });
    assert.equal(accepted.statusCode, 200, accepted.body);
    assert.deepEqual(accepted.json().shops, [{ slug: shop.slug, name: shop.shop.name, role: 'agent' }]);
    const cookie = (accepted.headers['set-cookie'] as string).split(';')[0];
    assert.equal(
      (await ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}/claims`, headers: { cookie } }))
        .statusCode,
      200,
    );
    const again = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/invites/accept',
      payload: { token, password: 'another long password' },
    });
    assertError(again, 410, 'invite_invalid');
    assertError(await read(token), 410, 'invite_invalid');
    assert.deepEqual((await api('GET', `/v1/shops/${shop.slug}/invites`)).json().data, []);
  });

  test('an invitation cannot demote the shop’s last admin (sent before the account became the admin)', async () => {
    const solo = await createTestShop(ctx.db, 'team-solo');
    const email = `solo-admin@${solo.slug}.test`;
    // Invited as a viewer, then made the shop's only admin another way (the CLI): accepting the old link later
    // must not demote them.
    const { token } = await createInvite(ctx.db, {
      shopId: solo.shop.id,
      email,
      role: 'viewer',
      createdBy: 'usr_cli',
    });
    await createUser(ctx.db, { shopId: solo.shop.id, email, role: 'admin', password: PASSWORD });
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/login',
      payload: { email, password: PASSWORD },
    });
    assert.equal(login.statusCode, 200, login.body);
    const accepted = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/invites/accept',
      payload: { token, password: PASSWORD },
    });
    assertError(accepted, 409, 'last_admin');
    const [role] = await query<{ role: string }>(
      ctx.db,
      sql`select m.role from memberships m join users u on u.id = m.user_id
           where u.email = ${email} and m.shop_id = ${solo.shop.id}`,
    );
    assert.equal(role.role, 'admin', 'still the admin');
  });

  test('a member is not invited again (409 already_member); a new invitation replaces the open one', async () => {
    const member = await api('POST', `/v1/shops/${shop.slug}/invites`, {
      email: `ADMIN@${shop.slug}.test`,
      role: 'agent',
    });
    const err = assertError(member, 409, 'already_member');
    assert.match(err.message, /already a member of this shop \(admin\)/);
    assert.deepEqual(err.errors, [{ path: '/email', message: 'already a member of this shop' }]);

    const email = `reinvited@${shop.slug}.test`;
    const first = await api('POST', `/v1/shops/${shop.slug}/invites`, { email, role: 'viewer' });
    const second = await api('POST', `/v1/shops/${shop.slug}/invites`, { email, role: 'agent' });
    assert.equal(second.statusCode, 201, second.body);
    const open = (await api('GET', `/v1/shops/${shop.slug}/invites`)).json().data as {
      email: string;
      role: string;
    }[];
    assert.deepEqual(
      open.filter((i) => i.email === email).map((i) => i.role),
      ['agent'],
    );
    const old = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/invites/accept',
      payload: { token: first.json().url.split('#token=')[1], password: 'a long enough password' },
    });
    assertError(old, 410, 'invite_invalid');
    const latest = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/invites/accept',
      payload: { token: second.json().url.split('#token=')[1], password: 'a long enough password' },
    });
    assert.equal(latest.statusCode, 200, latest.body);
    assert.equal(latest.json().shops[0].role, 'agent');
  });

  test('a revoked or unknown invitation cannot be used', async () => {
    const res = await api('POST', `/v1/shops/${shop.slug}/invites`, {
      email: `gone@${shop.slug}.test`,
      role: 'viewer',
    });
    const token = res.json().url.split('#token=')[1];
    assert.equal((await api('DELETE', `/v1/shops/${shop.slug}/invites/${res.json().id}`)).statusCode, 204);
    for (const t of [token, 'inv_nonsense-token-000000000000000000000000000']) {
      const r = await ctx.app.inject({
        method: 'POST',
        url: '/v1/portal/invites/accept',
        payload: { token: t, password: 'a long enough password' },
      });
      assertError(r, 410, 'invite_invalid');
    }
    assertError(
      await api('DELETE', `/v1/shops/${shop.slug}/invites/${res.json().id}`),
      404,
      'invite_not_found',
    );
  });

  test("an invitation to an existing account needs that account's password; the link alone signs nobody in", async () => {
    const email = `existing@${shop.slug}.test`;
    await createUser(ctx.db, { shopId: other.shop.id, email, role: 'admin', password: PASSWORD });
    const token = (await api('POST', `/v1/shops/${shop.slug}/invites`, { email, role: 'viewer' }))
      .json()
      .url.split('#token=')[1];
    const accept = (password: string) =>
      ctx.app.inject({ method: 'POST', url: '/v1/portal/invites/accept', payload: { token, password } });
    // Whoever holds the link (here: an admin of this shop who invited another shop's admin) cannot take over
    // the account with a password of their choosing.
    const taken = await accept('attacker chosen password');
    assertError(taken, 401, 'invalid_credentials');
    assert.equal(taken.headers['set-cookie'], undefined, 'no session for a wrong password');
    const members = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from memberships m join users u on u.id = m.user_id where u.email = ${email}`,
    );
    assert.equal(Number(members[0].n), 1, 'no membership added');
    // The account's own password accepts it (the invite was still open).
    const r = await accept(PASSWORD);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(
      r
        .json()
        .shops.map((x: { slug: string }) => x.slug)
        .sort(),
      [shop.slug, other.slug].sort(),
    );
    assert.equal(
      (
        await ctx.app.inject({
          method: 'POST',
          url: '/v1/portal/login',
          payload: { email, password: PASSWORD },
        })
      ).statusCode,
      200,
      'the password is unchanged',
    );
  });

  test("guessing an existing account's password through invitations is locked out like sign-in", async () => {
    const email = `guessed@${shop.slug}.test`;
    await createUser(ctx.db, { shopId: other.shop.id, email, role: 'admin', password: PASSWORD });
    const token = (await api('POST', `/v1/shops/${shop.slug}/invites`, { email, role: 'viewer' }))
      .json()
      .url.split('#token=')[1];
    const answers: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await ctx.app.inject({
        method: 'POST',
        url: '/v1/portal/invites/accept',
        payload: { token, password: `wrong guess number ${i}` },
        remoteAddress: `10.77.0.${i + 1}`,
      });
      answers.push(r.statusCode);
    }
    assert.deepEqual(answers.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.deepEqual(answers.slice(5), [429, 429]);
    // Locked: even the right password waits.
    const locked = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/invites/accept',
      payload: { token, password: PASSWORD },
    });
    assertError(locked, 429, 'rate_limited');
  });

  test('creating a user whose email exists adds the membership and keeps the password (no silent reset)', async () => {
    const email = `twice@${shop.slug}.test`;
    const first = await createUser(ctx.db, {
      shopId: shop.shop.id,
      email,
      role: 'viewer',
      password: PASSWORD,
    });
    assert.equal(first.existed, false);
    const login = () =>
      ctx.app.inject({ method: 'POST', url: '/v1/portal/login', payload: { email, password: PASSWORD } });
    const before = await login();
    assert.equal(before.statusCode, 200);
    const again = await createUser(ctx.db, {
      shopId: other.shop.id,
      email: email.toUpperCase(),
      role: 'agent',
      password: 'a different password',
    });
    assert.equal(again.existed, true);
    assert.equal(again.id, first.id);
    const after = await login();
    assert.equal(after.statusCode, 200, 'the original password still works');
    assert.deepEqual(
      after
        .json()
        .shops.map((x: { slug: string; role: string }) => `${x.slug}:${x.role}`)
        .sort(),
      [`${other.slug}:agent`, `${shop.slug}:viewer`].sort(),
    );
  });

  test('users: list, change role, the last admin stays, removal signs the user out', async () => {
    const email = `member@${shop.slug}.test`;
    const user = await createUser(ctx.db, {
      shopId: shop.shop.id,
      email,
      role: 'viewer',
      password: PASSWORD,
    });
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/v1/portal/login',
      payload: { email, password: PASSWORD },
    });
    const cookie = (login.headers['set-cookie'] as string).split(';')[0];
    const users = (await api('GET', `/v1/shops/${shop.slug}/users`)).json().data as {
      id: string;
      email: string;
      role: string;
    }[];
    assert.ok(users.some((u) => u.email === email && u.role === 'viewer'));
    assert.equal(
      (await api('PATCH', `/v1/shops/${shop.slug}/users/${user.id}`, { role: 'agent' })).statusCode,
      204,
    );
    assertError(
      await api('PATCH', `/v1/shops/${shop.slug}/users/${user.id}`, { role: 'owner' }),
      400,
      'validation_failed',
    );
    const adminId = users.find((u) => u.email === `admin@${shop.slug}.test`)!.id;
    assertError(
      await api('PATCH', `/v1/shops/${shop.slug}/users/${adminId}`, { role: 'viewer' }),
      409,
      'last_admin',
    );
    assertError(await api('DELETE', `/v1/shops/${shop.slug}/users/${adminId}`), 409, 'last_admin');
    assert.equal((await api('DELETE', `/v1/shops/${shop.slug}/users/${user.id}`)).statusCode, 204);
    assertError(
      await ctx.app.inject({ method: 'GET', url: '/v1/portal/me', headers: { cookie } }),
      401,
      'unauthorized',
    );
    assertError(
      await api('PATCH', `/v1/shops/${shop.slug}/users/${user.id}`, { role: 'agent' }),
      404,
      'user_not_found',
    );
  });

  test('API keys: the secret once, a list without secrets, revocation that takes effect', async () => {
    const created = await api('POST', `/v1/shops/${shop.slug}/api-keys`, {
      name: 'helpdesk',
      role: 'viewer',
    });
    assert.equal(created.statusCode, 201, created.body);
    const { id, secret } = created.json();
    assert.match(secret, /^rsk_/);
    const list = await api('GET', `/v1/shops/${shop.slug}/api-keys`);
    assert.equal(list.body.includes(secret), false);
    assert.ok(
      list
        .json()
        .data.some(
          (k: { id: string; secret_hint: string }) => k.id === id && k.secret_hint === secret.slice(-4),
        ),
    );
    const use = () =>
      ctx.app.inject({
        method: 'GET',
        url: `/v1/shops/${shop.slug}/claims`,
        headers: { authorization: `Bearer ${secret}` },
      });
    assert.equal((await use()).statusCode, 200);
    assert.equal((await api('DELETE', `/v1/shops/${shop.slug}/api-keys/${id}`)).statusCode, 204);
    assertError(await use(), 401, 'unauthorized');
    assertError(await api('DELETE', `/v1/shops/${shop.slug}/api-keys/${id}`), 404, 'api_key_not_found');
    // Another shop's key is not this shop's to list or revoke.
    const [otherKey] = await query<{ id: string }>(
      ctx.db,
      sql`select id from api_keys where ${other.shop.id} = any(shop_ids) limit 1`,
    );
    assertError(
      await api('DELETE', `/v1/shops/${shop.slug}/api-keys/${otherKey.id}`),
      404,
      'api_key_not_found',
    );
    assertError(
      await api('POST', `/v1/shops/${shop.slug}/api-keys`, { name: 'bad name!', role: 'viewer' }),
      400,
      'validation_failed',
    );
    // A key that would be expired at birth.
    const expired = await api('POST', `/v1/shops/${shop.slug}/api-keys`, {
      name: 'past',
      role: 'viewer',
      expires_at: '2020-01-01T00:00:00Z',
    });
    assert.deepEqual(
      assertError(expired, 400, 'validation_failed').errors?.map((e) => e.path),
      ['/expires_at'],
    );
  });

  test('API keys: a name an active key of the shop already has is refused (409 api_key_name_taken)', async () => {
    const create = (slug = shop.slug, headers: Record<string, string> = admin) =>
      ctx.app.inject({
        method: 'POST',
        url: `/v1/shops/${slug}/api-keys`,
        payload: { name: 'dup-name', role: 'viewer' },
        headers,
      });
    const first = await create();
    assert.equal(first.statusCode, 201, first.body);
    const err = assertError(await create(), 409, 'api_key_name_taken');
    assert.match(
      err.message,
      /An API key named "dup-name" already exists; choose another name or revoke it first/,
    );
    assert.deepEqual(
      err.errors?.map((e) => e.path),
      ['/name'],
    );
    // Another shop may use the name; once the key is revoked, the name is free again.
    assert.equal((await create(other.slug, other.auth.admin)).statusCode, 201);
    assert.equal((await api('DELETE', `/v1/shops/${shop.slug}/api-keys/${first.json().id}`)).statusCode, 204);
    assert.equal((await create()).statusCode, 201);
    const active = (await api('GET', `/v1/shops/${shop.slug}/api-keys`))
      .json()
      .data.filter(
        (k: { name: string; revoked_at: string | null }) => k.name === 'dup-name' && !k.revoked_at,
      );
    assert.equal(active.length, 1);
  });

  test('API keys: an Idempotency-Key replay names the key but never shows (or stores) its secret again', async () => {
    const create = () =>
      ctx.app.inject({
        method: 'POST',
        url: `/v1/shops/${shop.slug}/api-keys`,
        payload: { name: 'idem-key', role: 'viewer' },
        headers: { ...admin, 'idempotency-key': 'create-idem-key' },
      });
    const first = await create();
    assert.equal(first.statusCode, 201, first.body);
    const { id, secret } = first.json();
    assert.match(secret, /^rsk_/);
    const again = await create();
    assert.equal(again.statusCode, 201, again.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json().id, id);
    assert.equal(again.json().secret, null);
    const stored = await query<{ body: string }>(
      ctx.db,
      sql`select response_body as body from idempotency_keys where key = 'create-idem-key'`,
    );
    assert.equal(stored.length, 1);
    assert.equal(stored[0].body.includes(secret), false, 'the stored answer holds no secret');
  });

  test('team endpoints of another shop are 404; API keys of other roles are refused', async () => {
    for (const url of [
      `/v1/shops/${other.slug}/users`,
      `/v1/shops/${other.slug}/invites`,
      `/v1/shops/${other.slug}/api-keys`,
    ])
      assertError(await api('GET', url), 404, 'shop_not_found');
    for (const role of ['viewer', 'editor'] as const)
      assertError(
        await ctx.app.inject({
          method: 'GET',
          url: `/v1/shops/${shop.slug}/api-keys`,
          headers: shop.auth[role],
        }),
        403,
        'forbidden',
      );
    assert.equal(
      (
        await ctx.app.inject({
          method: 'GET',
          url: `/v1/shops/${shop.slug}/api-keys`,
          headers: shop.auth.admin,
        })
      ).statusCode,
      200,
    );
  });
});

describe('the shop: name, default language, time zone', () => {
  let ctx: TestContext;
  let shop: TestShop;
  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'shopedit');
  });
  after(() => ctx.close());

  test('admins change it, viewers read it, bad values are 400', async () => {
    const get = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${shop.slug}`,
      headers: shop.auth.viewer,
    });
    assert.equal(get.statusCode, 200);
    assert.equal(get.json().default_language, 'en');
    const patch = (payload: unknown, headers = shop.auth.admin) =>
      ctx.app.inject({ method: 'PATCH', url: `/v1/shops/${shop.slug}`, headers, payload: payload as object });
    const ok = await patch({ default_language: 'de', timezone: 'Europe/Berlin', name: 'Neuer Name' });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(
      { l: ok.json().default_language, tz: ok.json().timezone, n: ok.json().name },
      { l: 'de', tz: 'Europe/Berlin', n: 'Neuer Name' },
    );
    assertError(await patch({ default_language: 'xx' }), 400, 'validation_failed');
    assertError(await patch({ timezone: 'Mars/Olympus' }), 400, 'validation_failed');
    assertError(await patch({}), 400, 'validation_failed');
    assertError(await patch({ name: 'x' }, shop.auth.editor), 403, 'forbidden');
    // A blank name is refused (it was stored as ""), and nothing else of that request is applied.
    const blank = await patch({ name: '   ', timezone: 'UTC' });
    assertError(blank, 400, 'validation_failed');
    assert.equal(blank.json().error.errors[0].path, '/name');
    // A time zone typed in another case is stored as IANA spells it (the portal and reports compare names).
    const tz = await patch({ timezone: ' europe/berlin ' });
    assert.equal(tz.statusCode, 200, tz.body);
    assert.deepEqual({ tz: tz.json().timezone, n: tz.json().name }, { tz: 'Europe/Berlin', n: 'Neuer Name' });
    // The customer page's default language follows.
    const page = await ctx.app.inject({ method: 'GET', url: `/resolve/${shop.slug}` });
    assert.match(page.body, /"default_language":"de"/);
  });
});
