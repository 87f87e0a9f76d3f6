import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import pino from 'pino';
import { type App, buildApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { execCount, query } from '../src/db/client.js';
import { createMetrics } from '../src/http/metrics.js';
import { type LookupCounters, redisLookupCounters } from '../src/resolve/redis-counters.js';
import { createShop } from '../src/shops/shops.js';
import { createUser } from '../src/shops/users.js';
import { createTestShop, startTestApp, type TestContext, testConfig, uniqueSlug } from './support/app.js';
import { assertError, type Res } from './support/http.js';
import { orderDoc } from './support/orders.js';

// The merchant API's limit (SPEC §8): a fixed window per API key (or portal user) and shop, counted in the
// database (in the statement that authenticates the request) or, with REDIS_URL, in Redis. Each mode runs the
// same tests; without REDIS_URL only the database mode runs.
const REDIS_URL = process.env.REDIS_URL;
const LIMIT = { max: 5, windowSeconds: 60 };
const MODES = REDIS_URL ? (['database', 'redis'] as const) : (['database'] as const);
const PASSWORD = 'correct horse battery';

const keyIdOf = (secret: string) => `key_${secret.slice(4, 30)}`;

function rateHeaders(res: Res) {
  return {
    limit: res.headers['ratelimit-limit'],
    remaining: res.headers['ratelimit-remaining'],
    reset: res.headers['ratelimit-reset'],
    policy: res.headers['ratelimit-policy'],
  };
}

function assertCounted(res: Res, remaining: number) {
  const h = rateHeaders(res);
  assert.equal(h.limit, String(LIMIT.max), `RateLimit-Limit on ${res.statusCode} ${res.body.slice(0, 200)}`);
  assert.equal(
    h.remaining,
    String(remaining),
    `RateLimit-Remaining on ${res.statusCode} ${res.body.slice(0, 200)}`,
  );
  assert.equal(h.policy, `${LIMIT.max};w=${LIMIT.windowSeconds}`);
  const reset = Number(h.reset);
  assert.ok(
    Number.isInteger(reset) && reset >= 1 && reset <= LIMIT.windowSeconds,
    `RateLimit-Reset ${h.reset}`,
  );
}

function assertNotCounted(res: Res) {
  for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy'])
    assert.equal(res.headers[name], undefined, `${name} on ${res.statusCode} ${res.body.slice(0, 200)}`);
}

describe('merchant API rate limit', () => {
  let ctx: TestContext;
  const extra: { app: App; counters: LookupCounters | null }[] = [];
  const ipBase = `10.${randomInt(256)}.${randomInt(256)}`;
  let ipSeq = 0;

  before(async () => {
    ctx = await startTestApp({ redisUrl: null, apiRateLimit: LIMIT });
  });
  after(async () => {
    for (const e of extra) {
      await e.app.close();
      await e.counters?.close();
    }
    await ctx?.close();
  });

  /** An app on the test database; apps of one mode share their counters (one Redis key space, or the table). */
  async function appOn(mode: 'database' | 'redis', prefix: string, redisUrl = REDIS_URL): Promise<App> {
    const counters = mode === 'redis' ? redisLookupCounters(redisUrl!, prefix) : null;
    const app = await buildApp({
      config: testConfig({ apiRateLimit: LIMIT, redisUrl: mode === 'redis' ? redisUrl! : null }),
      database: ctx.database,
      log: pino({ level: 'silent' }),
      metrics: createMetrics(),
      lookupCounters: counters,
    });
    await app.ready();
    extra.push({ app, counters });
    return app;
  }

  const listOrders = (app: App, slug: string, headers: Record<string, string>) =>
    app.inject({ method: 'GET', url: `/v1/shops/${slug}/orders`, headers });

  for (const mode of MODES) {
    describe(`counted in ${mode === 'redis' ? 'Redis' : 'the database'}`, () => {
      const prefix = `resolve-test:${randomBytes(6).toString('hex')}:`;
      let app: App;
      let redis: Redis | null = null;

      before(async () => {
        app = await appOn(mode, prefix);
        if (mode === 'redis') redis = new Redis(REDIS_URL!, { keyPrefix: prefix, lazyConnect: true });
      });
      after(async () => {
        await redis?.quit();
      });

      /** Ends the caller's current window as time would: its row's window moves back, or its Redis key expires. */
      async function endWindow(bucket: string) {
        if (redis) {
          assert.equal(await redis.del(bucket), 1, `no Redis key ${bucket}`);
        } else {
          const moved = await execCount(
            ctx.db,
            sql`update rate_limits set window_started_at = window_started_at - interval '61 seconds' where bucket = ${bucket}`,
          );
          assert.equal(moved, 1, `no rate_limits row ${bucket}`);
        }
      }

      test('answers carry RateLimit-* with Remaining counting down; past the limit 429 rate_limited with Retry-After; other keys keep their budget', async () => {
        const shop = await createTestShop(ctx.db, 'rl');
        for (let i = 1; i <= LIMIT.max; i++) {
          const res = await listOrders(app, shop.slug, shop.auth.viewer);
          assert.equal(res.statusCode, 200, res.body);
          assertCounted(res, LIMIT.max - i);
        }
        const over = await listOrders(app, shop.slug, shop.auth.viewer);
        assertError(over, 429, 'rate_limited');
        assertCounted(over, 0);
        const retryAfter = Number(over.headers['retry-after']);
        assert.ok(
          retryAfter >= 1 && retryAfter <= LIMIT.windowSeconds,
          `Retry-After ${over.headers['retry-after']}`,
        );
        assert.equal(over.headers['retry-after'], over.headers['ratelimit-reset']);
        // Still refused while the window runs; Remaining stays 0.
        assertCounted(await listOrders(app, shop.slug, shop.auth.viewer), 0);

        // Another key of the same shop, by Bearer or Basic, has a budget of its own.
        const editor = await listOrders(app, shop.slug, shop.auth.editor);
        assert.equal(editor.statusCode, 200);
        assertCounted(editor, LIMIT.max - 1);
        const basic = `Basic ${Buffer.from(`${shop.slug}:${shop.keys.admin}`).toString('base64')}`;
        const admin = await listOrders(app, shop.slug, { authorization: basic });
        assert.equal(admin.statusCode, 200);
        assertCounted(admin, LIMIT.max - 1);
      });

      test('errors after authentication and idempotent replays carry the fields; a failed authentication neither carries nor counts', async () => {
        const shop = await createTestShop(ctx.db, 'rl-err');
        const missing = await app.inject({
          method: 'GET',
          url: `/v1/shops/${shop.slug}/orders/ord_missing`,
          headers: shop.auth.viewer,
        });
        assertError(missing, 404, 'order_not_found');
        assertCounted(missing, 4);
        const forbidden = await app.inject({
          method: 'PUT',
          url: `/v1/shops/${shop.slug}/orders`,
          headers: shop.auth.viewer,
          payload: orderDoc(),
        });
        assertError(forbidden, 403, 'forbidden');
        assertCounted(forbidden, 3);

        const invalid = await app.inject({
          method: 'PUT',
          url: `/v1/shops/${shop.slug}/orders`,
          headers: shop.auth.editor,
          payload: {},
        });
        assertError(invalid, 400, 'validation_failed');
        assertCounted(invalid, 4);
        const doc = orderDoc();
        const bulk = () =>
          app.inject({
            method: 'POST',
            url: `/v1/shops/${shop.slug}/orders/bulk`,
            headers: { ...shop.auth.editor, 'idempotency-key': 'rl-replay' },
            payload: { orders: [doc] },
          });
        const first = await bulk();
        assert.equal(first.statusCode, 200, first.body);
        assertCounted(first, 3);
        const replay = await bulk();
        assert.equal(replay.statusCode, 200);
        assert.equal(replay.headers['idempotent-replayed'], 'true');
        assert.equal(replay.body, first.body);
        assertCounted(replay, 2);

        // A wrong secret for the editor key's id, a wrong Basic username, a malformed secret, no credentials.
        const wrongSecret = `${shop.keys.editor.slice(0, -4)}AAAA`;
        const wrongUser = `Basic ${Buffer.from(`someone:${shop.keys.editor}`).toString('base64')}`;
        for (const authorization of [`Bearer ${wrongSecret}`, wrongUser, 'Bearer nope', undefined]) {
          const res = await app.inject({
            method: 'GET',
            url: `/v1/shops/${shop.slug}/orders`,
            headers: authorization ? { authorization } : {},
          });
          assertError(res, 401, 'unauthorized');
          assertNotCounted(res);
        }
        assertCounted(await listOrders(app, shop.slug, shop.auth.editor), 1);
        // A revoked or expired key is refused the same way; the statement that counts also notes a key's last use.
        await execCount(
          ctx.db,
          sql`update api_keys set revoked_at = now() where id = ${keyIdOf(shop.keys.admin)}`,
        );
        const revoked = await listOrders(app, shop.slug, shop.auth.admin);
        assertError(revoked, 401, 'unauthorized');
        assertNotCounted(revoked);
        const [used] = await query<{ used: boolean }>(
          ctx.db,
          sql`select last_used_at is not null as used from api_keys where id = ${keyIdOf(shop.keys.editor)}`,
        );
        assert.equal(used.used, true);
      });

      test('a shop the key cannot see counts like an unknown shop, apart from the budgets of its own shops', async () => {
        const shop = await createTestShop(ctx.db, 'rl-own');
        const other = await createTestShop(ctx.db, 'rl-other');
        const foreign = await listOrders(app, other.slug, shop.auth.viewer);
        assertError(foreign, 404, 'shop_not_found');
        assertCounted(foreign, 4);
        const unknown = await listOrders(app, uniqueSlug('rl-none'), shop.auth.viewer);
        assertError(unknown, 404, 'shop_not_found');
        assertCounted(unknown, 3);
        assertCounted(await listOrders(app, shop.slug, shop.auth.viewer), 4);
        assertCounted(await listOrders(app, other.slug, other.auth.viewer), 4);
      });

      test('the limit holds across two app instances on the same database', async () => {
        const shop = await createTestShop(ctx.db, 'rl-two');
        const second = await appOn(mode, prefix);
        for (let i = 1; i <= LIMIT.max; i++) {
          const res = await listOrders(i % 2 ? app : second, shop.slug, shop.auth.viewer);
          assert.equal(res.statusCode, 200);
          assertCounted(res, LIMIT.max - i);
        }
        assertError(await listOrders(second, shop.slug, shop.auth.viewer), 429, 'rate_limited');
        assertError(await listOrders(app, shop.slug, shop.auth.viewer), 429, 'rate_limited');
      });

      test('a new window starts with the full budget', async () => {
        const shop = await createTestShop(ctx.db, 'rl-reset');
        for (let i = 0; i < LIMIT.max; i++) await listOrders(app, shop.slug, shop.auth.viewer);
        assertError(await listOrders(app, shop.slug, shop.auth.viewer), 429, 'rate_limited');
        await endWindow(`api:key:${keyIdOf(shop.keys.viewer)}:${shop.shop.id}`);
        const res = await listOrders(app, shop.slug, shop.auth.viewer);
        assert.equal(res.statusCode, 200);
        assertCounted(res, LIMIT.max - 1);
        assert.ok(Number(res.headers['ratelimit-reset']) > LIMIT.windowSeconds - 5, 'a fresh window');
      });

      test('portal users are limited per user and shop, apart from API keys; a refused CSRF check is not counted', async () => {
        const shop = await createTestShop(ctx.db, 'rl-portal');
        const email = `agent-${shop.slug}@example.test`;
        await createUser(ctx.db, { shopId: shop.shop.id, email, role: 'agent', password: PASSWORD });
        const login = await app.inject({
          method: 'POST',
          url: '/v1/portal/login',
          payload: { email, password: PASSWORD },
          remoteAddress: `${ipBase}.${++ipSeq}`,
        });
        assert.equal(login.statusCode, 200, login.body);
        assertNotCounted(login);
        const cookie = (login.headers['set-cookie'] as string).split(';')[0];
        const csrf = login.json().csrf_token as string;

        const noCsrf = await app.inject({
          method: 'PUT',
          url: `/v1/shops/${shop.slug}/orders`,
          headers: { cookie },
          payload: orderDoc(),
        });
        assertError(noCsrf, 403, 'csrf_failed');
        assertNotCounted(noCsrf);
        const put = await app.inject({
          method: 'PUT',
          url: `/v1/shops/${shop.slug}/orders`,
          headers: { cookie, 'x-csrf-token': csrf },
          payload: orderDoc(),
        });
        assert.equal(put.statusCode, 201, put.body);
        assertCounted(put, 4);
        assertCounted(await listOrders(app, shop.slug, { cookie }), 3);
        // A shop the user is no member of: 404, counted apart from the user's shops.
        const other = await listOrders(app, (await createTestShop(ctx.db, 'rl-p-other')).slug, { cookie });
        assertError(other, 404, 'shop_not_found');
        assertCounted(other, 4);
        assertCounted(await listOrders(app, shop.slug, shop.auth.viewer), 4);
        for (let i = 0; i < 3; i++) await listOrders(app, shop.slug, { cookie });
        const over = await listOrders(app, shop.slug, { cookie });
        assertError(over, 429, 'rate_limited');
        assertCounted(over, 0);
      });
    });
  }

  test('Redis configured but unreachable: 503 service_unavailable with Retry-After, never unlimited', async () => {
    const shop = await createTestShop(ctx.db, 'rl-down');
    const down = await appOn('redis', 'resolve-test:down:', 'redis://127.0.0.1:1');
    const res = await listOrders(down, shop.slug, shop.auth.viewer);
    assertError(res, 503, 'service_unavailable');
    assert.ok(Number(res.headers['retry-after']) >= 1);
    assertNotCounted(res);
  });

  test('health, metrics, the OpenAPI document, the customer flow and the portal pages are not counted', async () => {
    const shop = await createTestShop(ctx.db, 'rl-free');
    const requests = [
      { method: 'GET', url: '/healthz' },
      { method: 'GET', url: '/readyz' },
      { method: 'GET', url: '/metrics' },
      { method: 'GET', url: '/v1/openapi.json' },
      { method: 'GET', url: '/portal' },
      { method: 'GET', url: `/resolve/${shop.slug}` },
      {
        method: 'POST',
        url: `/v1/resolve/${shop.slug}/sessions`,
        payload: { order_number: '1001', zip_code: '12345' },
      },
    ] as const;
    for (const r of requests) {
      const res = await ctx.app.inject({
        ...r,
        headers: shop.auth.viewer,
        remoteAddress: `${ipBase}.${++ipSeq}`,
      });
      assert.ok(res.statusCode < 500, `${r.url}: ${res.statusCode}`);
      assertNotCounted(res);
    }
    const rows = await query(
      ctx.db,
      sql`select 1 from rate_limits where bucket like ${`api:key:${keyIdOf(shop.keys.viewer)}:%`}`,
    );
    assert.equal(rows.length, 0);
  });

  test('the limit is configured by API_RATE_LIMIT_PER_MINUTE (default 600) and documented in the OpenAPI description', async () => {
    assert.deepEqual(loadConfig({}).apiRateLimit, { max: 600, windowSeconds: 60 });
    assert.deepEqual(loadConfig({ API_RATE_LIMIT_PER_MINUTE: '1200' }).apiRateLimit, {
      max: 1200,
      windowSeconds: 60,
    });
    assert.throws(() => loadConfig({ API_RATE_LIMIT_PER_MINUTE: 'lots' }), ConfigError);
    assert.throws(() => loadConfig({ API_RATE_LIMIT_PER_MINUTE: '0' }), ConfigError);
    const doc = (await ctx.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    assert.match(doc.info.description, /RateLimit-Remaining/);
    assert.match(doc.info.description, /RateLimit-Policy: 5;w=60/);
    assert.match(doc.info.description, /rate_limited/);
    // Each merchant operation documents the fields on its answers (not on 401) and a 429 with Retry-After.
    const list = doc.paths['/v1/shops/{slug}/orders'].get.responses;
    assert.deepEqual(list['200'].headers['RateLimit-Remaining'], {
      $ref: '#/components/headers/RateLimit-Remaining',
    });
    assert.equal(list['401'].headers?.['RateLimit-Remaining'], undefined);
    assert.deepEqual(list['429'].headers['Retry-After'], { $ref: '#/components/headers/Retry-After' });
    assert.equal(doc.components.headers['RateLimit-Policy'].schema.example, '5;w=60');
    const customer = doc.paths['/v1/resolve/{slug}/sessions'].post.responses;
    for (const r of Object.values(customer) as { headers?: object }[])
      assert.equal((r.headers as Record<string, unknown> | undefined)?.['RateLimit-Limit'], undefined);
  });

  test('a key of several shops has a budget per shop', async () => {
    const shop = await createTestShop(ctx.db, 'rl-multi');
    const second = await createShop(ctx.db, { slug: uniqueSlug('rl-multi2'), name: 'Second' });
    await ctx.db.execute(
      sql`update api_keys set shop_ids = array_append(shop_ids, ${second.id}) where id = ${keyIdOf(shop.keys.viewer)}`,
    );
    for (let i = 0; i < LIMIT.max; i++) await listOrders(ctx.app, shop.slug, shop.auth.viewer);
    assertError(await listOrders(ctx.app, shop.slug, shop.auth.viewer), 429, 'rate_limited');
    const res = await listOrders(ctx.app, second.slug, shop.auth.viewer);
    assert.equal(res.statusCode, 200);
    assertCounted(res, LIMIT.max - 1);
  });
});
