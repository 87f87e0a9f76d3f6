import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import pino from 'pino';
import { type App, buildApp } from '../src/app.js';
import type { Config } from '../src/config.js';
import { resolveSessions } from '../src/db/schema.js';
import { createMetrics } from '../src/http/metrics.js';
import { type LookupCounters, redisLookupCounters } from '../src/resolve/redis-counters.js';
import { createTestShop, startTestApp, type TestContext, type TestShop, testConfig } from './support/app.js';
import { assertError } from './support/http.js';
import { orderDoc } from './support/orders.js';

// The lookup's per-IP and per-shop counters in Redis (REDIS_URL): they hold across processes (here: two apps
// with connections of their own on one key space), failures and lock-outs stay in the database, and a Redis
// outage answers 503 instead of letting lookups through unlimited. CI runs this in its PostgreSQL pass
// (REDIS_URL set); without REDIS_URL there is nothing to test.
const REDIS_URL = process.env.REDIS_URL;
if (process.env.CI && !REDIS_URL) console.log('# lookup-redis: REDIS_URL is not set in this pass');

const LIMITS: Config['lookup'] = {
  ipMax: 6,
  ipWindowSeconds: 600,
  shopMax: 9,
  orderFailures: 3,
  ipFailures: 50,
  lockSeconds: 900,
};

describe('lookup counters in Redis', { skip: !REDIS_URL && 'REDIS_URL is not set' }, () => {
  let ctx: TestContext;
  const prefix = `resolve-test:${randomBytes(6).toString('hex')}:`;
  const extra: { app: App; counters: LookupCounters }[] = [];
  const ipBase = `172.${16 + randomInt(16)}.${randomInt(256)}`;
  let ipSeq = 0;
  const nextIp = () => `${ipBase}.${++ipSeq}`;

  /** A second app on the same database, with a Redis connection of its own on the same keys. */
  async function otherApp(url = REDIS_URL!): Promise<App> {
    const counters = redisLookupCounters(url, prefix);
    const app = await buildApp({
      config: testConfig({ lookup: LIMITS, redisUrl: url }),
      database: ctx.database,
      log: pino({ level: 'silent' }),
      metrics: createMetrics(),
      lookupCounters: counters,
    });
    await app.ready();
    extra.push({ app, counters });
    return app;
  }

  before(async () => {
    ctx = await startTestApp({ lookup: LIMITS, redisUrl: REDIS_URL });
  });
  after(async () => {
    for (const e of extra) {
      await e.app.close();
      await e.counters.close();
    }
    await ctx?.close();
  });

  async function shopWithOrder(): Promise<{ shop: TestShop; number: string }> {
    const shop = await createTestShop(ctx.db, 'lkredis');
    const doc = orderDoc({});
    const res = await ctx.app.inject({
      method: 'PUT',
      url: `/v1/shops/${shop.slug}/orders`,
      headers: shop.auth.editor,
      payload: doc,
    });
    assert.equal(res.statusCode, 201, res.body);
    return { shop, number: doc.order_number };
  }

  const lookup = (app: App, slug: string, body: object, ip: string) =>
    app.inject({ method: 'POST', url: `/v1/resolve/${slug}/sessions`, payload: body, remoteAddress: ip });

  test('the per-IP limit holds across two apps sharing Redis, with a Retry-After from the window', async () => {
    const { shop, number } = await shopWithOrder();
    const ip = nextIp();
    const appsInTurn = [await otherApp(), await otherApp()];
    for (let i = 0; i < LIMITS.ipMax; i++) {
      const res = await lookup(appsInTurn[i % 2], shop.slug, { order_number: number, zip_code: '10115' }, ip);
      assert.equal(res.statusCode, 201, `attempt ${i + 1}: ${res.body}`);
    }
    const over = await lookup(appsInTurn[0], shop.slug, { order_number: number, zip_code: '10115' }, ip);
    assertError(over, 429, 'rate_limited');
    const retry = Number(over.headers['retry-after']);
    assert.ok(retry >= 590 && retry <= 600, `Retry-After ${retry}`);
    // Another client is not affected; ctx.app counts under keys of its own (another Redis key prefix).
    assert.equal(
      (await lookup(appsInTurn[1], shop.slug, { order_number: number, zip_code: '10115' }, nextIp()))
        .statusCode,
      201,
    );
    assert.equal(
      (await lookup(ctx.app, shop.slug, { order_number: number, zip_code: '10115' }, ip)).statusCode,
      201,
    );
  });

  test('the per-shop limit counts every client of the shop, in any app', async () => {
    const apps = [await otherApp(), await otherApp()];
    const { shop, number } = await shopWithOrder();
    const other = await shopWithOrder();
    for (let i = 0; i < LIMITS.shopMax; i++) {
      const res = await lookup(apps[i % 2], shop.slug, { order_number: number, zip_code: '10115' }, nextIp());
      assert.equal(res.statusCode, 201, `attempt ${i + 1}: ${res.body}`);
    }
    const over = await lookup(apps[1], shop.slug, { order_number: number, zip_code: '10115' }, nextIp());
    assertError(over, 429, 'rate_limited');
    assert.ok(Number(over.headers['retry-after']) <= 60);
    // Another shop has its own counter.
    const res = await lookup(
      apps[0],
      other.shop.slug,
      { order_number: other.number, zip_code: '10115' },
      nextIp(),
    );
    assert.equal(res.statusCode, 201, res.body);
  });

  test('failures still lock the order number out (in the database), across apps', async () => {
    const apps = [await otherApp(), await otherApp()];
    const { shop, number } = await shopWithOrder();
    const wrong = await lookup(apps[0], shop.slug, { order_number: number, zip_code: '99999' }, nextIp());
    assertError(wrong, 404, 'order_not_found');
    for (let i = 1; i < LIMITS.orderFailures; i++)
      assertError(
        await lookup(apps[i % 2], shop.slug, { order_number: number, zip_code: '99999' }, nextIp()),
        404,
        'order_not_found',
      );
    // Even the right ZIP, from a fresh client, is locked out now.
    const locked = await lookup(apps[1], shop.slug, { order_number: number, zip_code: '10115' }, nextIp());
    assertError(locked, 429, 'rate_limited');
    assert.ok(Number(locked.headers['retry-after']) > 600);
  });

  test('Redis unreachable: 503 service_unavailable with Retry-After, no session opened, no order revealed', async () => {
    const { shop, number } = await shopWithOrder();
    const down = await otherApp('redis://127.0.0.1:1');
    const before = await ctx.db
      .select()
      .from(resolveSessions)
      .where(eq(resolveSessions.shopId, shop.shop.id));
    const res = await lookup(down, shop.slug, { order_number: number, zip_code: '10115' }, nextIp());
    assertError(res, 503, 'service_unavailable');
    assert.equal(res.headers['retry-after'], '5');
    assert.ok(!res.body.includes(number));
    const afterRows = await ctx.db
      .select()
      .from(resolveSessions)
      .where(eq(resolveSessions.shopId, shop.shop.id));
    assert.equal(afterRows.length, before.length);
  });
});
