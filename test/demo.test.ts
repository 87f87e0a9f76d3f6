import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { and, eq, sql } from 'drizzle-orm';
import { query } from '../src/db/client.js';
import { apiKeys, memberships, shops, users } from '../src/db/schema.js';
import { DEMO_EMAIL, DEMO_SLUG, type DemoCredentials, seedDemo } from '../src/demo/seed.js';
import { isStuck, type Phase } from '../src/orders/phase.js';
import type { OrderView } from '../src/orders/read.js';
import { verifyPassword } from '../src/shops/users.js';
import { startTestApp, type TestContext } from './support/app.js';

const DAY = 86_400_000;
const STUCK_AFTER_DAYS = 5; // the default (config STUCK_AFTER_DAYS); the demo shop does not override it

let ctx: TestContext;
before(async () => {
  ctx = await startTestApp();
});
after(() => ctx.close());

const daysAgo = (now: Date, days: number) => new Date(now.getTime() - days * DAY).toISOString();

function basic(credentials: DemoCredentials) {
  return {
    authorization: `Basic ${Buffer.from(`${DEMO_SLUG}:${credentials.apiKey}`).toString('base64')}`,
  };
}

async function getOrder(credentials: DemoCredentials, orderNumber: string): Promise<OrderView> {
  const res = await ctx.app.inject({
    url: `/v1/shops/${DEMO_SLUG}/orders?order_number=${orderNumber}`,
    headers: basic(credentials),
  });
  assert.equal(res.statusCode, 200, res.body);
  const { data } = res.json() as { data: OrderView[] };
  assert.equal(data.length, 1, `exactly one demo order ${orderNumber}`);
  return data[0];
}

async function allDemoOrders(credentials: DemoCredentials): Promise<Map<string, OrderView>> {
  const out = new Map<string, OrderView>();
  for (const n of ['1001', '1002', '1003', '1004', '1005', '1006'])
    out.set(n, await getOrder(credentials, n));
  return out;
}

/** Stuck as of `now` (the API evaluates it at the wall clock, which differs from a re-anchored `now`). */
const stuckAt = (s: OrderView['shipments'][number], now: Date) =>
  isStuck(
    {
      phase: s.phase as Phase,
      lastEventAt: s.last_event_at ? new Date(s.last_event_at) : null,
      createdAt: new Date(0),
    },
    STUCK_AFTER_DAYS,
    now,
  );

/** Every row of SPEC §14's demo table, relative to `now`. */
function assertDemoTable(o: Map<string, OrderView>, now: Date) {
  const zip = (n: string) => o.get(n)!.shipping_address?.zip_code;

  // 1001: one shipment, delivered 2 days ago, 3 line items (one with quantity 2)
  const o1 = o.get('1001')!;
  assert.equal(zip('1001'), '10115');
  assert.equal(o1.shipments.length, 1);
  assert.equal(o1.shipments[0].phase, 'delivered');
  assert.equal(o1.shipments[0].delivered_at, daysAgo(now, 2));
  assert.equal(o1.shipments[0].stuck, false);
  assert.equal(o1.line_items.length, 3);
  assert.deepEqual(
    o1.line_items.map((l) => l.quantity).sort(),
    [1, 1, 2],
    'one of the three line items has quantity 2',
  );
  for (const l of o1.line_items) assert.equal(l.quantity_fulfilled, l.quantity);
  assert.equal(o1.state, 'fulfilled');

  // 1002: one shipment in transit, last event 1 day ago, not stuck
  const o2 = o.get('1002')!;
  assert.equal(zip('1002'), '80331');
  assert.equal(o2.shipments.length, 1);
  assert.equal(o2.shipments[0].phase, 'in_transit');
  assert.equal(o2.shipments[0].last_event_at, daysAgo(now, 1));
  assert.equal(o2.shipments[0].delivered_at, null);
  assert.equal(stuckAt(o2.shipments[0], now), false);

  // 1003: placed, nothing fulfilled
  const o3 = o.get('1003')!;
  assert.equal(zip('1003'), '20095');
  assert.equal(o3.state, 'placed');
  assert.equal(o3.cancelled_at, null);
  assert.deepEqual(o3.shipments, []);
  assert.ok(o3.line_items.length >= 1);
  for (const l of o3.line_items) assert.equal(l.quantity_fulfilled, 0);

  // 1004: stuck — last carrier event 9 days ago, not delivered
  const o4 = o.get('1004')!;
  assert.equal(zip('1004'), '50667');
  assert.equal(o4.shipments.length, 1);
  assert.notEqual(o4.shipments[0].phase, 'delivered');
  assert.equal(o4.shipments[0].delivered_at, null);
  assert.equal(o4.shipments[0].last_event_at, daysAgo(now, 9));
  assert.equal(stuckAt(o4.shipments[0], now), true);

  // 1005: SW1A 1AA (GB), two shipments: one delivered yesterday, one in transit
  const o5 = o.get('1005')!;
  assert.equal(zip('1005'), 'SW1A 1AA');
  assert.equal(o5.shipping_address?.country_code, 'GB');
  assert.equal(o5.shipments.length, 2);
  const delivered5 = o5.shipments.filter((s) => s.phase === 'delivered');
  const transit5 = o5.shipments.filter((s) => s.phase === 'in_transit');
  assert.equal(delivered5.length, 1, 'one shipment delivered');
  assert.equal(transit5.length, 1, 'one shipment in transit');
  assert.equal(delivered5[0].delivered_at, daysAgo(now, 1));
  assert.equal(transit5[0].delivered_at, null);
  assert.equal(stuckAt(transit5[0], now), false);

  // 1006: delivered 60 days ago
  const o6 = o.get('1006')!;
  assert.equal(zip('1006'), '10115');
  assert.equal(o6.shipments.length, 1);
  assert.equal(o6.shipments[0].phase, 'delivered');
  assert.equal(o6.shipments[0].delivered_at, daysAgo(now, 60));

  // Every demo order is readable and not cancelled, with each shipment's events in time order.
  for (const [n, order] of o) {
    assert.equal(order.order_number, n);
    assert.equal(order.cancelled_at, null, `${n} not cancelled`);
    for (const s of order.shipments) {
      const times = s.events.map((e) => e.time);
      assert.deepEqual(times, [...times].sort(), `${n} events in time order`);
      assert.equal(s.last_event_at, times.at(-1), `${n} last_event_at is the latest event`);
      assert.ok(new Date(s.last_event_at!).getTime() <= now.getTime(), `${n} has no event in the future`);
    }
  }
}

async function demoCounts() {
  const [shop] = await ctx.db.select().from(shops).where(eq(shops.slug, DEMO_SLUG));
  const shopId = shop.id;
  const [u] = await query<{ n: number }>(
    ctx.db,
    sql`select count(*)::int as n from ${users} where ${users.email} = ${DEMO_EMAIL}`,
  );
  const [m] = await query<{ n: number }>(
    ctx.db,
    sql`select count(*)::int as n from ${memberships} where ${memberships.shopId} = ${shopId}`,
  );
  const [k] = await query<{ n: number }>(
    ctx.db,
    sql`select count(*)::int as n from ${apiKeys} where ${shopId} = any(${apiKeys.shopIds})`,
  );
  const [s] = await query<{ n: number }>(
    ctx.db,
    sql`select count(*)::int as n from ${shops} where ${shops.slug} = ${DEMO_SLUG}`,
  );
  return { shops: Number(s.n), users: Number(u.n), memberships: Number(m.n), keys: Number(k.n) };
}

let first: { now: Date; credentials: DemoCredentials; orders: Map<string, OrderView> };

test('seedDemo creates (or refreshes) the demo shop exactly as SPEC §14 describes', async () => {
  const now = new Date();
  // On PostgreSQL the database is shared across test files, so the demo shop may already exist. Two seeds
  // at once (several processes starting on one fresh database) must both succeed with the same result.
  const [{ shop, credentials }, other] = await Promise.all([
    seedDemo(ctx.db, { now }),
    seedDemo(ctx.db, { now }),
  ]);
  assert.deepEqual(other.credentials, credentials);
  assert.equal(other.shop.id, shop.id);
  assert.equal(shop.slug, DEMO_SLUG);
  assert.equal(shop.connector, 'demo');
  assert.equal(credentials.email, DEMO_EMAIL);
  assert.ok(credentials.password.length >= 8);
  assert.match(credentials.apiKey, /^rsk_/);

  // The printed portal password is the demo admin's real password.
  const [user] = await ctx.db.select().from(users).where(eq(users.email, DEMO_EMAIL));
  assert.ok(user, 'demo admin exists');
  assert.equal(await verifyPassword(credentials.password, user.passwordHash), true);
  const [membership] = await ctx.db
    .select()
    .from(memberships)
    .where(and(eq(memberships.userId, user.id), eq(memberships.shopId, shop.id)));
  assert.equal(membership?.role, 'admin');

  // Basic demo:<key> and Bearer <key> both work.
  const bearer = await ctx.app.inject({
    url: `/v1/shops/${DEMO_SLUG}/orders?order_number=1001`,
    headers: { authorization: `Bearer ${credentials.apiKey}` },
  });
  assert.equal(bearer.statusCode, 200, bearer.body);

  const orders = await allDemoOrders(credentials);
  assertDemoTable(orders, now);
  first = { now, credentials, orders };
});

test('the demo orders are found the way a customer identifies them (order number + ZIP)', async () => {
  const { credentials } = first;
  const lookup = async (qs: string) => {
    const res = await ctx.app.inject({
      url: `/v1/shops/${DEMO_SLUG}/orders?${qs}`,
      headers: basic(credentials),
    });
    assert.equal(res.statusCode, 200, res.body);
    return (res.json().data as OrderView[]).map((o) => o.order_number).sort();
  };
  assert.deepEqual(await lookup('order_number=1005&zip_code=SW1A%201AA'), ['1005']);
  assert.deepEqual(await lookup('order_number=1005&zip_code=sw1a1aa'), ['1005']);
  assert.deepEqual(await lookup('order_number=1001&zip_code=80331'), []);
  const berlin = await lookup('zip_code=10115');
  assert.ok(berlin.includes('1001') && berlin.includes('1006'), `10115 finds 1001 and 1006: ${berlin}`);
});

test('seeding again with a later now re-anchors every state without duplicating anything', async () => {
  const before = await demoCounts();
  assert.equal(before.shops, 1);
  assert.equal(before.users, 1);

  const later = new Date(first.now.getTime() + 10 * DAY);
  const { credentials } = await seedDemo(ctx.db, { now: later });
  assert.deepEqual(credentials, first.credentials, 'same portal password and API key');
  assert.deepEqual(await demoCounts(), before, 'no duplicate shop, user, membership or API key');

  const orders = await allDemoOrders(credentials);
  assertDemoTable(orders, later);

  for (const [n, order] of orders) {
    const was = first.orders.get(n)!;
    assert.equal(order.id, was.id, `${n} keeps its id`);
    assert.deepEqual(
      order.line_items.map((l) => [l.external_id, l.id]),
      was.line_items.map((l) => [l.external_id, l.id]),
      `${n} keeps its line item ids`,
    );
    assert.deepEqual(
      order.shipments.map((s) => [s.external_id, s.id]),
      was.shipments.map((s) => [s.external_id, s.id]),
      `${n} keeps its shipment ids`,
    );
    assert.deepEqual(
      order.shipments.map((s) => s.events.length),
      was.shipments.map((s) => s.events.length),
      `${n}: old events are replaced, not accumulated`,
    );
  }

  // And back to today, as the next `resolve start` would do.
  const again = await seedDemo(ctx.db, { now: first.now });
  assert.deepEqual(again.credentials, first.credentials);
  assertDemoTable(await allDemoOrders(credentials), first.now);
  assert.deepEqual(await demoCounts(), before);
});

test('a restart within the hour keeps the demo orders as anchored; a later one re-anchors them', async () => {
  const HOUR = 3_600_000;
  // The test before left the orders anchored on first.now.
  const soon = new Date(first.now.getTime() + HOUR / 2);
  await seedDemo(ctx.db, { now: soon, keepAnchoredWithinMs: HOUR });
  assertDemoTable(await allDemoOrders(first.credentials), first.now);
  const later = new Date(first.now.getTime() + 2 * DAY);
  await seedDemo(ctx.db, { now: later, keepAnchoredWithinMs: HOUR });
  assertDemoTable(await allDemoOrders(first.credentials), later);
  await seedDemo(ctx.db, { now: first.now });
  assertDemoTable(await allDemoOrders(first.credentials), first.now);
});

test('a configured demo password (RESOLVE_DEMO_PASSWORD) replaces the generated one', async () => {
  const password = `demo-pw-${Date.now()}`;
  const { credentials } = await seedDemo(ctx.db, { now: first.now, password });
  assert.equal(credentials.password, password);
  assert.equal(credentials.apiKey, first.credentials.apiKey);
  const [user] = await ctx.db.select().from(users).where(eq(users.email, DEMO_EMAIL));
  assert.equal(await verifyPassword(password, user.passwordHash), true);
  // Without the option the configured password is kept, not regenerated.
  const again = await seedDemo(ctx.db, { now: first.now });
  assert.equal(again.credentials.password, password);
});
