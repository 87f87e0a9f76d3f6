import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { and, eq, sql } from 'drizzle-orm';
import type { Config } from '../src/config.js';
import { rateLimits, resolveSessions } from '../src/db/schema.js';
import type { OrderInputT } from '../src/orders/document.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, daysAgo, type Res } from './support/http.js';
import { orderDoc } from './support/orders.js';

// SPEC §3 lookup by order number + ZIP, its limits, and the customer session (§14).

/** Low limits so throttling shows after a few calls. Every test uses its own client IPs and shop. */
const LIMITS: Config['lookup'] = {
  ipMax: 8,
  ipWindowSeconds: 600,
  shopMax: 20,
  orderFailures: 3,
  ipFailures: 6,
  lockSeconds: 900,
};

let ctx: TestContext;

/**
 * Every suite runs with the per-IP and per-shop counters in the database, and again in Redis when REDIS_URL is
 * set (CI's PostgreSQL pass). Failures and lock-outs are in the database either way.
 */
const MODES = [null, ...(process.env.REDIS_URL ? [process.env.REDIS_URL] : [])];
for (const redisUrl of MODES) {
  describe(redisUrl ? 'counters in Redis' : 'counters in the database', () => {
    before(async () => {
      ctx = await startTestApp({ lookup: LIMITS, redisUrl });
    });
    after(() => ctx.close());
    suites();
  });
}

// Client IPs unique to this run (rate-limit rows may outlive a run on a shared PostgreSQL database).
const ipPrefix = `10.${randomInt(256)}`;
let ipSeq = randomInt(1000);
const nextIp = () => {
  ipSeq++;
  return `${ipPrefix}.${Math.floor(ipSeq / 250) % 256}.${(ipSeq % 250) + 1}`;
};

// IPv6 client addresses unique to this run, for the IP lock-outs (their routes take addresses with ':').
const ip6Prefix = `2001:db8:${randomInt(0x10000).toString(16)}:${randomInt(0x10000).toString(16)}`;
const nextIp6 = () => {
  ipSeq++;
  return `${ip6Prefix}::${(ipSeq % 0xffff).toString(16)}`;
};

type Shipment = NonNullable<OrderInputT['shipments']>[number];
const deliveredShipment = (days: number): Shipment => ({
  external_id: 'f-1',
  carrier: 'dhl',
  tracking_number: '00340434',
  tracking_url: null,
  line_items: [
    { external_id: 'li-1', quantity: 2 },
    { external_id: 'li-2', quantity: 1 },
  ],
  events: [
    { time: daysAgo(days + 1), code: 'picked_up', phase: 'in_transit', description: null, location: null },
    { time: daysAgo(days), code: 'delivered', phase: 'delivered', description: null, location: null },
  ],
});

async function putOrder(shop: TestShop, overrides: Partial<OrderInputT> = {}) {
  const doc = orderDoc({ shipments: [deliveredShipment(2)], ...overrides });
  const res = await ctx.app.inject({
    method: 'PUT',
    url: `/v1/shops/${shop.slug}/orders`,
    headers: shop.auth.editor,
    payload: doc,
  });
  assert.equal(res.statusCode, 201, res.body);
  return { doc, order: res.json() as { id: string; order_number: string } };
}

const addressIn = (zip_code: string, country_code: string): OrderInputT['shipping_address'] => ({
  name: 'Kim Berg',
  company: null,
  address_line_1: 'Street 1',
  address_line_2: null,
  city: 'City',
  zip_code,
  province: null,
  country_code,
  phone: null,
});

function lookup(slug: string, body: unknown, ip = nextIp(), query = ''): Promise<Res> {
  return ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${slug}/sessions${query}`,
    payload: body as object,
    remoteAddress: ip,
  });
}

function getOrder(slug: string, session: string | null, extra: Record<string, string> = {}, query = '') {
  return ctx.app.inject({
    method: 'GET',
    url: `/v1/resolve/${slug}/order${query}`,
    headers: { ...(session === null ? {} : { authorization: `Bearer ${session}` }), ...extra },
    remoteAddress: nextIp(),
  });
}

async function openZipSession(shop: TestShop, number: string, zip = '10115') {
  const res = await lookup(shop.slug, { order_number: number, zip_code: zip });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { session: string; expires_at: string; order: { id: string } };
}

const sessionHash = (bearer: string) => createHash('sha256').update(bearer).digest('hex');

/** Asserts a 429 `rate_limited` with a Retry-After of 1..max seconds. */
function assertThrottled(res: Res, maxSeconds: number) {
  assertError(res, 429, 'rate_limited');
  const retry = Number(res.headers['retry-after']);
  assert.ok(
    Number.isInteger(retry) && retry >= 1 && retry <= maxSeconds,
    `Retry-After ${res.headers['retry-after']}`,
  );
}

/** A guess of a number that is no order of the shop. */
const guessBody = (i: number) => ({ order_number: `guess-${i}-${randomInt(1e9)}`, zip_code: '10115' });

interface Listed {
  data: {
    kind: 'order_number' | 'client_ip';
    order_number: string | null;
    client_ip: string | null;
    order: { id: string; order_number: string } | null;
    failures: number;
    locked_until: string;
  }[];
  has_more: boolean;
  next_cursor: null;
  policy: { failures: number; ip_failures: number; lock_seconds: number };
}
const LOCKOUT_KEYS = ['kind', 'order_number', 'client_ip', 'order', 'failures', 'locked_until'];

async function lockouts(shop: TestShop): Promise<Listed> {
  const res = await ctx.app.inject({
    method: 'GET',
    url: `/v1/shops/${shop.slug}/lookup-lockouts`,
    headers: shop.auth.viewer,
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Listed;
}

/** DELETE …/lookup-lockouts/ip/{ip}, the address as given (encode it yourself to test encodings). */
const liftIp = (shop: TestShop, ip: string, headers: Record<string, string>, asSent = ip) =>
  ctx.app.inject({
    method: 'DELETE',
    url: `/v1/shops/${shop.slug}/lookup-lockouts/ip/${asSent}`,
    headers,
  });

/** Nothing of the order may leak before verification. */
function assertRevealsNothing(res: Res, doc: OrderInputT, orderId: string) {
  for (const secret of [
    orderId,
    doc.customer!.email!,
    doc.customer!.last_name!,
    doc.shipping_address!.zip_code!,
    doc.shipping_address!.city,
    doc.shipping_address!.address_line_1,
    doc.line_items[0].title,
    doc.line_items[0].sku!,
  ] as string[])
    assert.ok(!res.body.includes(secret), `answer reveals ${secret}: ${res.body}`);
  assert.equal(res.headers['set-cookie'], undefined);
}

function suites() {
  describe('lookup by order number + ZIP', () => {
    test('a match answers 201 with a zip session, the order, the flows and no order actions', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { doc, order } = await putOrder(shop);
      const t0 = Date.now();
      const res = await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json();
      assert.deepEqual(Object.keys(body).sort(), [
        'actions',
        'expires_at',
        'flows',
        'level',
        'order',
        'session',
      ]);
      assert.match(body.session, /^rss_[A-Za-z0-9_-]{43}$/);
      assert.equal(body.level, 'zip');
      const exp = Date.parse(body.expires_at);
      assert.ok(exp >= t0 + 59 * 60_000 && exp <= Date.now() + 61 * 60_000, body.expires_at);
      assert.equal(body.order.id, order.id);
      assert.equal(body.order.order_number, doc.order_number);
      assert.equal(body.order.shipping_address.zip_code, '10115');
      assert.equal(body.order.line_items.length, 2);
      assert.deepEqual(body.actions, { cancel: false, change_address: false });
      assert.equal(body.flows.length, 7);
      const defective = body.flows.find((f: { flow: string }) => f.flow === 'defective');
      assert.equal(defective.available, true);
      assert.equal(defective.items.length, 2);
      // The session is stored only as a hash, bound to shop and order.
      const [row] = await ctx.db
        .select()
        .from(resolveSessions)
        .where(eq(resolveSessions.tokenHash, sessionHash(body.session)));
      assert.equal(row.shopId, shop.shop.id);
      assert.equal(row.orderId, order.id);
      assert.equal(row.level, 'zip');
      const [raw] = await ctx.db
        .select({ n: sql<number>`count(*)::int` })
        .from(resolveSessions)
        .where(eq(resolveSessions.tokenHash, body.session));
      assert.equal(Number(raw.n), 0);
    });

    test('order number: a leading #, case and surrounding spaces do not matter', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { doc, order } = await putOrder(shop, { order_number: 'AB-7731', order_name: '#AB-7731' });
      for (const typed of ['AB-7731', 'ab-7731', '#AB-7731', '  #ab-7731  ', ' Ab-7731']) {
        const res = await lookup(shop.slug, { order_number: typed, zip_code: '10115' });
        assert.equal(res.statusCode, 201, `${JSON.stringify(typed)}: ${res.body}`);
        assert.equal(res.json().order.id, order.id);
      }
      // Dashes inside an order number are significant (only ZIPs ignore them).
      assertError(
        await lookup(shop.slug, { order_number: 'AB7731', zip_code: '10115' }),
        404,
        'order_not_found',
      );
      assert.equal(doc.order_number, 'AB-7731');
    });

    test('a stored order number with a # is found without it, and with it', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { order } = await putOrder(shop, { order_number: '#5512' });
      for (const typed of ['5512', '#5512']) {
        const res = await lookup(shop.slug, { order_number: typed, zip_code: '10115' });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.json().order.id, order.id);
      }
    });

    test('ZIP: case, spaces and dashes do not matter (GB, DE, NL)', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const gb = await putOrder(shop, { shipping_address: addressIn('SW1A 1AA', 'GB') });
      const de = await putOrder(shop, { shipping_address: addressIn('10119', 'DE') });
      const nl = await putOrder(shop, { shipping_address: addressIn('1012 AB', 'NL') });
      const cases: [typeof gb, string[]][] = [
        [gb, ['SW1A 1AA', 'sw1a1aa', 'SW1A-1AA', ' sw1a 1aa ', 'Sw1A1aA']],
        [de, ['10119', ' 10119 ', '101 19']],
        [nl, ['1012 AB', '1012ab', '1012-AB', '1012AB']],
      ];
      for (const [{ doc, order }, typed] of cases) {
        for (const zip of typed) {
          const res = await lookup(shop.slug, { order_number: doc.order_number, zip_code: zip });
          assert.equal(res.statusCode, 201, `${JSON.stringify(zip)}: ${res.body}`);
          assert.equal(res.json().order.id, order.id);
        }
      }
      // A different postcode is still a different postcode.
      for (const [{ doc }, zip] of [
        [gb, 'SW1A 1AB'],
        [de, '10118'],
        [nl, '1012 AC'],
      ] as const) {
        assertError(
          await lookup(shop.slug, { order_number: doc.order_number, zip_code: zip }),
          404,
          'order_not_found',
        );
      }
    });

    test('an order without a shipping address cannot be opened by ZIP', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { doc } = await putOrder(shop, { shipping_address: null });
      for (const zip of ['10115', '0', '-'].slice(0, LIMITS.orderFailures)) {
        assertError(
          await lookup(shop.slug, { order_number: doc.order_number, zip_code: zip }),
          404,
          'order_not_found',
        );
      }
    });

    test('an order of another shop is not found', async () => {
      const a = await createTestShop(ctx.db, 'lookup');
      const b = await createTestShop(ctx.db, 'lookup');
      const { doc } = await putOrder(a);
      assertError(
        await lookup(b.slug, { order_number: doc.order_number, zip_code: '10115' }),
        404,
        'order_not_found',
      );
    });
  });

  describe('no enumeration', () => {
    test('a wrong order number and a wrong ZIP give byte-identical 404 answers revealing nothing', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { doc, order } = await putOrder(shop);
      const wrongZip = await lookup(shop.slug, { order_number: doc.order_number, zip_code: '99999' });
      const wrongNumber = await lookup(shop.slug, {
        order_number: `${doc.order_number}9`,
        zip_code: '10115',
      });
      const bothWrong = await lookup(shop.slug, { order_number: 'nope-1', zip_code: '00000' });
      const other = await createTestShop(ctx.db, 'lookup');
      const otherShop = await lookup(other.slug, { order_number: doc.order_number, zip_code: '10115' });
      for (const res of [wrongZip, wrongNumber, bothWrong, otherShop]) {
        assertError(res, 404, 'order_not_found');
        assertRevealsNothing(res, doc, order.id);
      }
      assert.equal(wrongZip.body, wrongNumber.body);
      assert.equal(wrongZip.body, bothWrong.body);
      assert.equal(wrongZip.body, otherShop.body);
      assert.equal(wrongZip.statusCode, wrongNumber.statusCode);
      for (const h of ['content-type', 'content-length', 'retry-after', 'cache-control'])
        assert.equal(wrongZip.headers[h], wrongNumber.headers[h], h);
    });
  });

  describe('throttling and lock-out', () => {
    test('order-token sessions are limited per client IP too (429 with the window as Retry-After)', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { order } = await putOrder(shop);
      const linkRes = await ctx.app.inject({
        method: 'POST',
        url: `/v1/shops/${shop.slug}/orders/${order.id}/resolve-link`,
        headers: shop.auth.editor,
      });
      assert.equal(linkRes.statusCode, 201, linkRes.body);
      const { token } = linkRes.json() as { token: string };
      const ip = nextIp();
      for (let i = 0; i < LIMITS.ipMax; i++) {
        const res = await lookup(shop.slug, { token }, ip);
        assert.equal(res.statusCode, 201, `attempt ${i + 1}: ${res.body}`);
      }
      const over = await lookup(shop.slug, { token }, ip);
      assertThrottled(over, LIMITS.ipWindowSeconds);
      assert.ok(Number(over.headers['retry-after']) > LIMITS.ipWindowSeconds - 60);
      // Wrong tokens count as well; another client is not affected.
      assertThrottled(await lookup(shop.slug, { token: `${token}x` }, ip), LIMITS.ipWindowSeconds);
      assert.equal((await lookup(shop.slug, { token }, nextIp())).statusCode, 201);
    });

    test('brute force: after the configured failures the order is locked, even for the right ZIP and other IPs', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { doc, order } = await putOrder(shop);
      const ip = nextIp();
      const bodies = new Set<string>();
      for (let i = 0; i < LIMITS.orderFailures; i++) {
        const res = await lookup(shop.slug, { order_number: doc.order_number, zip_code: `1${i}000` }, ip);
        assertError(res, 404, 'order_not_found');
        bodies.add(res.body);
      }
      assert.equal(bodies.size, 1, 'every failed attempt answers the same');
      const right = await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }, ip);
      assertThrottled(right, LIMITS.lockSeconds);
      assert.ok(Number(right.headers['retry-after']) > LIMITS.lockSeconds - 60);
      assertRevealsNothing(right, doc, order.id);
      // The lock is on the order number, not the caller: a fresh IP is locked out as well.
      const fresh = await lookup(shop.slug, {
        order_number: `#${doc.order_number.toLowerCase()}`,
        zip_code: '10115',
      });
      assertThrottled(fresh, LIMITS.lockSeconds);
      // No session was opened for the order.
      const [n] = await ctx.db
        .select({ n: sql<number>`count(*)::int` })
        .from(resolveSessions)
        .where(eq(resolveSessions.orderId, order.id));
      assert.equal(Number(n.n), 0);
      // Other orders of the shop are not affected.
      const { doc: doc2 } = await putOrder(shop);
      assert.equal(
        (await lookup(shop.slug, { order_number: doc2.order_number, zip_code: '10115' })).statusCode,
        201,
      );
    });

    test('an unknown order number locks the same way as a known one', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const ghost = `ghost-${randomInt(1e9)}`;
      const answers: Res[] = [];
      for (let i = 0; i < LIMITS.orderFailures; i++)
        answers.push(await lookup(shop.slug, { order_number: ghost, zip_code: '10115' }));
      for (const res of answers) assertError(res, 404, 'order_not_found');
      assertThrottled(
        await lookup(shop.slug, { order_number: ghost, zip_code: '10115' }),
        LIMITS.lockSeconds,
      );
      // The merchant sees it as a number that is no order of the shop (someone guessing).
      const list = await ctx.app.inject({
        method: 'GET',
        url: `/v1/shops/${shop.slug}/lookup-lockouts`,
        headers: shop.auth.viewer,
      });
      assert.deepEqual(
        list.json().data.map((l: { order_number: string; order: unknown }) => [l.order_number, l.order]),
        [[ghost, null]],
      );
    });

    test('the merchant sees the lock-out and can lift it', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const other = await createTestShop(ctx.db, 'lookup');
      const { doc, order } = await putOrder(shop, { order_number: '#LK-4401' });
      const t0 = Date.now();
      for (let i = 0; i < LIMITS.orderFailures; i++)
        assertError(
          await lookup(shop.slug, { order_number: 'lk-4401', zip_code: '00000' }),
          404,
          'order_not_found',
        );
      assertThrottled(
        await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }),
        LIMITS.lockSeconds,
      );

      const list = await ctx.app.inject({
        method: 'GET',
        url: `/v1/shops/${shop.slug}/lookup-lockouts`,
        headers: shop.auth.viewer,
      });
      assert.equal(list.statusCode, 200, list.body);
      const listed = list.json() as Listed;
      const data = listed.data;
      assert.deepEqual(listed.policy, {
        failures: LIMITS.orderFailures,
        ip_failures: LIMITS.ipFailures,
        lock_seconds: LIMITS.lockSeconds,
      });
      assert.equal(data.length, 1, list.body);
      assert.deepEqual(Object.keys(data[0]), LOCKOUT_KEYS, 'every item has the same keys');
      assert.equal(data[0].kind, 'order_number');
      assert.equal(data[0].client_ip, null);
      assert.equal(data[0].order_number, 'lk-4401');
      assert.deepEqual(data[0].order, { id: order.id, order_number: '#LK-4401' }, 'the order it belongs to');
      assert.ok(data[0].failures >= LIMITS.orderFailures);
      const until = Date.parse(data[0].locked_until);
      assert.ok(
        until >= t0 + (LIMITS.lockSeconds - 60) * 1000 &&
          until <= Date.now() + LIMITS.lockSeconds * 1000 + 5000,
      );

      // Tenant-scoped: another shop sees nothing and cannot lift it.
      const otherList = await ctx.app.inject({
        method: 'GET',
        url: `/v1/shops/${other.slug}/lookup-lockouts`,
        headers: other.auth.viewer,
      });
      assert.deepEqual(otherList.json().data, []);
      const foreign = await ctx.app.inject({
        method: 'DELETE',
        url: `/v1/shops/${other.slug}/lookup-lockouts/${encodeURIComponent('#LK-4401')}`,
        headers: other.auth.editor,
      });
      assert.equal(foreign.statusCode, 204);
      assertThrottled(
        await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }),
        LIMITS.lockSeconds,
      );

      // A viewer may look but not lift.
      const viewerDelete = await ctx.app.inject({
        method: 'DELETE',
        url: `/v1/shops/${shop.slug}/lookup-lockouts/${encodeURIComponent('#LK-4401')}`,
        headers: shop.auth.viewer,
      });
      assertError(viewerDelete, 403, 'forbidden');

      const lift = await ctx.app.inject({
        method: 'DELETE',
        url: `/v1/shops/${shop.slug}/lookup-lockouts/${encodeURIComponent('#LK-4401')}`,
        headers: shop.auth.editor,
      });
      assert.equal(lift.statusCode, 204, lift.body);
      assert.equal(lift.body, '');
      const after = await ctx.app.inject({
        method: 'GET',
        url: `/v1/shops/${shop.slug}/lookup-lockouts`,
        headers: shop.auth.viewer,
      });
      assert.deepEqual(after.json().data, []);
      const res = await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' });
      assert.equal(res.statusCode, 201, res.body);
    });

    test('lock-outs need an API key', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const res = await ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}/lookup-lockouts` });
      assertError(res, 401, 'unauthorized');
    });

    test('per client IP: after ipMax attempts in the window the IP gets 429, other IPs do not', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { doc } = await putOrder(shop);
      const ip = nextIp();
      for (let i = 0; i < LIMITS.ipMax; i++) {
        const res = await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }, ip);
        assert.equal(res.statusCode, 201, `attempt ${i + 1}: ${res.body}`);
      }
      const over = await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }, ip);
      assertThrottled(over, LIMITS.ipWindowSeconds);
      assert.equal(
        (await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' })).statusCode,
        201,
      );
    });

    test('per (shop, client IP): repeated failures across order numbers lock that IP out of that shop', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { doc } = await putOrder(shop);
      const ip = nextIp();
      for (let i = 0; i < LIMITS.ipFailures; i++) {
        const res = await lookup(
          shop.slug,
          { order_number: `guess-${i}-${randomInt(1e9)}`, zip_code: '10115' },
          ip,
        );
        assertError(res, 404, 'order_not_found');
      }
      assertThrottled(
        await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }, ip),
        LIMITS.lockSeconds,
      );
      assert.equal(
        (await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' })).statusCode,
        201,
      );
    });

    test('the IP lock-out is listed for its shop as client_ip, not for another shop, and lifting it lets the IP in', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const other = await createTestShop(ctx.db, 'lookup');
      const { doc } = await putOrder(shop);
      const ip = nextIp6();
      const t0 = Date.now();
      const bodies = new Set<string>();
      for (let i = 0; i < LIMITS.ipFailures; i++) {
        // Wrong numbers and a wrong ZIP of a real order alike (once: below its own limit): the same 404, each
        // counted for the IP.
        const guess = i === 1 ? { order_number: doc.order_number, zip_code: '99999' } : guessBody(i);
        const res = await lookup(shop.slug, guess, ip);
        assertError(res, 404, 'order_not_found');
        bodies.add(res.body);
      }
      assert.equal(bodies.size, 1, 'every failed attempt answers the same');
      assertThrottled(
        await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }, ip),
        LIMITS.lockSeconds,
      );

      const listed = await lockouts(shop);
      assert.equal(listed.data.length, 1, JSON.stringify(listed));
      const [lock] = listed.data;
      assert.deepEqual(Object.keys(lock), LOCKOUT_KEYS, 'every item has the same keys');
      assert.equal(lock.kind, 'client_ip');
      assert.equal(lock.client_ip, ip, 'the address as the server saw it');
      assert.equal(lock.order_number, null);
      assert.equal(lock.order, null);
      assert.equal(lock.failures, LIMITS.ipFailures);
      const until = Date.parse(lock.locked_until);
      assert.ok(
        until >= t0 + (LIMITS.lockSeconds - 60) * 1000 &&
          until <= Date.now() + LIMITS.lockSeconds * 1000 + 5000,
        lock.locked_until,
      );
      assert.equal(listed.policy.ip_failures, LIMITS.ipFailures);
      // The row is the shop's: its bucket names the shop, and no global bucket of the IP was written.
      const rows = await ctx.db
        .select({ bucket: rateLimits.bucket, shopId: rateLimits.shopId })
        .from(rateLimits)
        .where(sql`${rateLimits.bucket} like ${`lookup:fail-ip:%${ip}`}`);
      assert.deepEqual(rows, [{ bucket: `lookup:fail-ip:${shop.shop.id}:${ip}`, shopId: shop.shop.id }]);

      // Tenant-scoped: another shop neither sees it nor lifts it.
      assert.deepEqual((await lockouts(other)).data, []);
      const foreign = await liftIp(other, ip, other.auth.editor);
      assert.equal(foreign.statusCode, 204, foreign.body);
      // (Still locked; not tried with a lookup: the IP's attempts in the window are nearly used up, ipMax.)
      assert.deepEqual((await lockouts(shop)).data, [lock]);

      // A viewer may look but not lift.
      assertError(await liftIp(shop, ip, shop.auth.viewer), 403, 'forbidden');

      // Lifted (the address URL-encoded, as a client would send it): the next lookup from that IP gets through.
      const lift = await liftIp(shop, ip, shop.auth.editor, encodeURIComponent(ip));
      assert.equal(lift.statusCode, 204, lift.body);
      assert.equal(lift.body, '');
      assert.deepEqual((await lockouts(shop)).data, []);
      const res = await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }, ip);
      assert.equal(res.statusCode, 201, res.body);
    });

    test('an IPv4 lock-out is lifted by its address as listed', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { doc } = await putOrder(shop);
      const ip = nextIp();
      for (let i = 0; i < LIMITS.ipFailures; i++)
        assertError(await lookup(shop.slug, guessBody(i), ip), 404, 'order_not_found');
      const [lock] = (await lockouts(shop)).data;
      assert.deepEqual([lock.kind, lock.client_ip], ['client_ip', ip]);
      assert.equal((await liftIp(shop, lock.client_ip!, shop.auth.editor)).statusCode, 204);
      assert.equal(
        (await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }, ip)).statusCode,
        201,
      );
    });

    test('new: an IP locked out in shop A still looks up in shop B (the failure lock is per shop)', async () => {
      const a = await createTestShop(ctx.db, 'lookup');
      const b = await createTestShop(ctx.db, 'lookup');
      const { doc: docA } = await putOrder(a);
      const { doc: docB } = await putOrder(b);
      const ip = nextIp();
      for (let i = 0; i < LIMITS.ipFailures; i++)
        assertError(await lookup(a.slug, guessBody(i), ip), 404, 'order_not_found');
      assertThrottled(
        await lookup(a.slug, { order_number: docA.order_number, zip_code: '10115' }, ip),
        LIMITS.lockSeconds,
      );
      const inB = await lookup(b.slug, { order_number: docB.order_number, zip_code: '10115' }, ip);
      assert.equal(inB.statusCode, 201, inB.body);
      assert.deepEqual((await lockouts(b)).data, []);
      assert.equal((await lockouts(a)).data[0]?.client_ip, ip);
    });

    test('the attempt limit per client IP still counts across shops', async () => {
      // Under the failure limit in each shop, but over the IP's attempts in the window altogether.
      const shops = [
        await createTestShop(ctx.db, 'lookup'),
        await createTestShop(ctx.db, 'lookup'),
        await createTestShop(ctx.db, 'lookup'),
      ];
      const ip = nextIp();
      for (let i = 0; i < LIMITS.ipMax; i++)
        assertError(await lookup(shops[i % 2].slug, guessBody(i), ip), 404, 'order_not_found');
      assertThrottled(await lookup(shops[2].slug, guessBody(99), ip), LIMITS.ipWindowSeconds);
      // Nothing is locked: the attempt limit is no lock-out, and no shop saw ipFailures failures.
      for (const shop of shops) assert.deepEqual((await lockouts(shop)).data, [], shop.slug);
    });

    test('lifting an IP lock-out: not an IP address is 400, without an API key 401', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      for (const bad of [
        'not-an-ip',
        '10.0.0',
        '10.0.0.256',
        '2001:db8::g',
        '1.2.3.4.5',
        encodeURIComponent('1.2.3.4 '),
      ]) {
        const res = await liftIp(shop, bad, shop.auth.editor);
        const err = assertError(res, 400, 'validation_failed');
        assert.ok(
          err.errors?.some((e) => e.path === 'params:/ip'),
          `${bad}: ${res.body}`,
        );
      }
      assertError(await liftIp(shop, 'x'.repeat(65), shop.auth.editor), 400, 'validation_failed');
      const anon = await ctx.app.inject({
        method: 'DELETE',
        url: `/v1/shops/${shop.slug}/lookup-lockouts/ip/10.0.0.1`,
      });
      assertError(anon, 401, 'unauthorized');
      // Lifting an IP that is not locked is fine (idempotent), and the order-number route still takes "ip".
      assert.equal((await liftIp(shop, '10.0.0.1', shop.auth.editor)).statusCode, 204);
      const number = await ctx.app.inject({
        method: 'DELETE',
        url: `/v1/shops/${shop.slug}/lookup-lockouts/ip`,
        headers: shop.auth.editor,
      });
      assert.equal(number.statusCode, 204, number.body);
    });

    test('token attempts are limited per client IP too', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const ip = nextIp();
      for (let i = 0; i < LIMITS.ipMax; i++)
        assertError(await lookup(shop.slug, { token: `a.b.c${i}` }, ip), 401, 'token_invalid');
      assertThrottled(await lookup(shop.slug, { token: 'a.b.c' }, ip), LIMITS.ipWindowSeconds);
    });
  });

  describe('per-shop limit', () => {
    test('a shop gets at most shopMax lookups a minute, whatever the IPs; other shops are unaffected', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const other = await createTestShop(ctx.db, 'lookup');
      const { doc } = await putOrder(shop);
      const { doc: otherDoc } = await putOrder(other);
      const results = await Promise.all(
        Array.from({ length: LIMITS.shopMax }, () =>
          lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }),
        ),
      );
      for (const res of results) assert.equal(res.statusCode, 201, res.body);
      assertThrottled(await lookup(shop.slug, { order_number: doc.order_number, zip_code: '10115' }), 60);
      assert.equal(
        (await lookup(other.slug, { order_number: otherDoc.order_number, zip_code: '10115' })).statusCode,
        201,
      );
    });
  });

  describe('validation', () => {
    test('an unknown shop is 404 shop_not_found', async () => {
      assertError(
        await lookup(`nope-${randomInt(1e9)}`, { order_number: '1001', zip_code: '10115' }),
        404,
        'shop_not_found',
      );
      assertError(await getOrder(`nope-${randomInt(1e9)}`, `rss_${'a'.repeat(43)}`), 404, 'shop_not_found');
    });

    test('malformed bodies are 400 and open nothing', async () => {
      const shop = await createTestShop(ctx.db, 'lookup');
      const { doc, order } = await putOrder(shop);
      const n = doc.order_number;
      const bad: [unknown, string][] = [
        [{}, 'validation_failed'],
        [{ order_number: n }, 'validation_failed'],
        [{ zip_code: '10115' }, 'validation_failed'],
        [{ order_number: '', zip_code: '10115' }, 'validation_failed'],
        [{ order_number: n, zip_code: '' }, 'validation_failed'],
        [{ order_number: Number(n.slice(1)), zip_code: '10115' }, 'validation_failed'],
        [{ order_number: n, zip_code: 10115 }, 'validation_failed'],
        [{ order_number: n, zip_code: '10115', email: 'kim@example.com' }, 'validation_failed'],
        [{ order_number: n, zip_code: '1'.repeat(33) }, 'validation_failed'],
        [{ order_number: 'x'.repeat(101), zip_code: '10115' }, 'validation_failed'],
        [{ order_number: n, zip_code: '10115', token: 'a.b.c' }, 'validation_failed'],
        [{ token: '' }, 'validation_failed'],
        [{ token: 'x'.repeat(2049) }, 'validation_failed'],
        [[{ order_number: n, zip_code: '10115' }], 'validation_failed'],
        [{ order_number: `${n}\u0000`, zip_code: '10115' }, 'validation_failed'],
      ];
      for (const [body, key] of bad) {
        const res = await lookup(shop.slug, body);
        assert.equal(
          res.statusCode,
          400,
          `${JSON.stringify(body).slice(0, 80)} → ${res.statusCode} ${res.body}`,
        );
        assertError(res, 400, key);
      }
      // The errors are those of the shape the body came closest to (number + ZIP, or a token), not of both.
      const pathsOf = async (body: unknown) =>
        assertError(await lookup(shop.slug, body), 400, 'validation_failed').errors?.map((e) => e.path);
      assert.deepEqual(await pathsOf({ order_number: 'x'.repeat(101), zip_code: '10115' }), [
        '/order_number',
      ]);
      assert.deepEqual(await pathsOf({ order_number: 1001, zip_code: 10115 }), [
        '/order_number',
        '/zip_code',
      ]);
      assert.deepEqual(await pathsOf({ token: 'x'.repeat(2049) }), ['/token']);
      assert.deepEqual(await pathsOf({ order_number: n }), ['/zip_code']);
      // Both ways in at once: said as such.
      for (const both of [
        { order_number: n, zip_code: '10115', token: 'a.b.c' },
        { zip_code: '10115', token: 'a.b.c' },
      ]) {
        const err = assertError(await lookup(shop.slug, both), 400, 'validation_failed');
        assert.deepEqual(err.errors, [
          { path: '/token', message: 'send either token, or order_number and zip_code, not both' },
        ]);
      }
      const notJson = await ctx.app.inject({
        method: 'POST',
        url: `/v1/resolve/${shop.slug}/sessions`,
        headers: { 'content-type': 'application/json' },
        payload: '{"order_number": ',
        remoteAddress: nextIp(),
      });
      assertError(notJson, 400, 'invalid_json');
      const [count] = await ctx.db
        .select({ n: sql<number>`count(*)::int` })
        .from(resolveSessions)
        .where(eq(resolveSessions.orderId, order.id));
      assert.equal(Number(count.n), 0);
      // Malformed requests do not count as failed lookups of the order.
      const locks = await ctx.db.select().from(rateLimits).where(eq(rateLimits.shopId, shop.shop.id));
      assert.ok(
        locks.every((r) => !r.bucket.startsWith('lookup:fail-order')),
        JSON.stringify(locks),
      );
    });
  });

  describe('the session', () => {
    test('GET /order with the session answers the view of the session’s own order', async () => {
      const shop = await createTestShop(ctx.db, 'session');
      const { doc, order } = await putOrder(shop);
      const { order: other } = await putOrder(shop);
      const s = await openZipSession(shop, doc.order_number);
      const res = await getOrder(shop.slug, s.session);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json();
      assert.deepEqual(Object.keys(body).sort(), ['actions', 'expires_at', 'flows', 'level', 'order']);
      assert.equal(body.level, 'zip');
      assert.equal(body.order.id, order.id);
      assert.notEqual(body.order.id, other.id);
      assert.deepEqual(body.actions, { cancel: false, change_address: false });
      assert.deepEqual(
        body.flows.map((f: { flow: string }) => f.flow),
        ['defective', 'not_received', 'missing_item', 'wrong_item', 'return', 'dissatisfied', 'support'],
      );
      // What the customer sees of the order: no platform-internal fields.
      for (const k of ['external_id', 'tags', 'billing_address', 'created_at'])
        assert.ok(!(k in body.order), k);
    });

    test('labels follow ?lang=, then Accept-Language, then the order language', async () => {
      const shop = await createTestShop(ctx.db, 'session');
      const { doc } = await putOrder(shop, { language: 'de' });
      const s = await openZipSession(shop, doc.order_number);
      const labelOf = (res: Res) =>
        res.json().flows.find((f: { flow: string }) => f.flow === 'defective').reasons[0].label as string;
      assert.equal(labelOf(await getOrder(shop.slug, s.session)), 'Beim Transport beschädigt');
      assert.equal(
        labelOf(await getOrder(shop.slug, s.session, { 'accept-language': 'fr-CH,fr;q=0.9' })),
        'Endommagé pendant le transport',
      );
      assert.equal(
        labelOf(await getOrder(shop.slug, s.session, { 'accept-language': 'fr' }, '?lang=en')),
        'Damaged in transit',
      );
      const viaLookup = await lookup(
        shop.slug,
        { order_number: doc.order_number, zip_code: '10115' },
        nextIp(),
        '?lang=nl',
      );
      assert.equal(labelOf(viaLookup), 'Beschadigd tijdens transport');
    });

    test('without, with a malformed or with an unknown session: 401', async () => {
      const shop = await createTestShop(ctx.db, 'session');
      assertError(await getOrder(shop.slug, null), 401, 'session_required');
      assertError(await getOrder(shop.slug, 'garbage'), 401, 'session_required');
      assertError(await getOrder(shop.slug, `rss_${'a'.repeat(10)}`), 401, 'session_required');
      assertError(
        await getOrder(shop.slug, null, { authorization: 'Basic Zm9vOmJhcg==' }),
        401,
        'session_required',
      );
      // A merchant API key is not a customer session.
      assertError(await getOrder(shop.slug, null, shop.auth.admin), 401, 'session_required');
      assertError(await getOrder(shop.slug, `rss_${'a'.repeat(43)}`), 401, 'session_expired');
      // RFC 6750: the challenge names the scheme; a bearer that is no longer good says invalid_token.
      assert.equal((await getOrder(shop.slug, null)).headers['www-authenticate'], 'Bearer realm="resolve"');
      for (const bearer of [`rss_${'a'.repeat(43)}`, `rsp_${'a'.repeat(20)}.${'b'.repeat(43)}`])
        assert.equal(
          (await getOrder(shop.slug, bearer)).headers['www-authenticate'],
          'Bearer realm="resolve", error="invalid_token"',
          bearer,
        );
    });

    test('an expired session is 401 session_expired', async () => {
      const shop = await createTestShop(ctx.db, 'session');
      const { doc } = await putOrder(shop);
      const s = await openZipSession(shop, doc.order_number);
      assert.equal((await getOrder(shop.slug, s.session)).statusCode, 200);
      await ctx.db
        .update(resolveSessions)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(resolveSessions.tokenHash, sessionHash(s.session)));
      assertError(await getOrder(shop.slug, s.session), 401, 'session_expired');
      assertError(
        await ctx.app.inject({
          method: 'GET',
          url: `/v1/resolve/${shop.slug}/claims`,
          headers: { authorization: `Bearer ${s.session}` },
        }),
        401,
        'session_expired',
      );
    });

    test('a session of shop A is useless on shop B', async () => {
      const a = await createTestShop(ctx.db, 'session');
      const b = await createTestShop(ctx.db, 'session');
      const { doc } = await putOrder(a);
      await putOrder(b, { order_number: doc.order_number });
      const s = await openZipSession(a, doc.order_number);
      const res = await getOrder(b.slug, s.session);
      assert.equal(res.statusCode, 401, res.body);
      assert.ok(['session_expired', 'session_required'].includes(res.json().error.key));
      assert.ok(!res.body.includes(doc.order_number));
      assert.equal((await getOrder(a.slug, s.session)).statusCode, 200);
    });

    test('sliding expiry: a session past half its life is extended on use, a fresh one is not', async () => {
      const shop = await createTestShop(ctx.db, 'session');
      const { doc } = await putOrder(shop);
      const s = await openZipSession(shop, doc.order_number);
      const where = eq(resolveSessions.tokenHash, sessionHash(s.session));
      const soon = new Date(Date.now() + 10 * 60_000);
      await ctx.db.update(resolveSessions).set({ expiresAt: soon }).where(where);
      const t0 = Date.now();
      const res = await getOrder(shop.slug, s.session);
      assert.equal(res.statusCode, 200, res.body);
      const extended = Date.parse(res.json().expires_at);
      assert.ok(
        extended >= t0 + 59 * 60_000 && extended <= Date.now() + 60 * 60_000 + 1000,
        res.json().expires_at,
      );
      const [row] = await ctx.db.select().from(resolveSessions).where(where);
      assert.equal(row.expiresAt.getTime(), extended);

      const later = new Date(Date.now() + 50 * 60_000);
      await ctx.db.update(resolveSessions).set({ expiresAt: later }).where(where);
      const again = await getOrder(shop.slug, s.session);
      assert.equal(Date.parse(again.json().expires_at), later.getTime());
      const [row2] = await ctx.db.select().from(resolveSessions).where(and(where));
      assert.equal(row2.expiresAt.getTime(), later.getTime());
    });
  });
}
