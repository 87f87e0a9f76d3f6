import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { ACTIVITY_LIMIT } from '../src/orders/activity.js';
import { LOCKOUTS_LISTED } from '../src/resolve/lockout-routes.js';
import { ipLockBucket, lockBucket } from '../src/resolve/lookup.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { ordersApi } from './support/http.js';
import { orderDoc } from './support/orders.js';

/** Every list answers `{data, has_more, next_cursor}`: one client loop reads them all (SPEC §14). */
describe('list envelopes of the short lists', () => {
  let ctx: TestContext;
  let shop: TestShop;
  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'lists');
  });
  after(() => ctx.close());

  const get = async (path: string) => {
    const res = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${shop.slug}${path}`,
      headers: shop.auth.admin,
    });
    assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
    return res.json() as { data: unknown[]; has_more: boolean; next_cursor: null };
  };

  test('lists answered whole say so: has_more false, next_cursor null, also in the OpenAPI document', async () => {
    const order = (await ordersApi(ctx.app, shop.slug, shop.auth.editor).put(orderDoc())).json();
    const paths = [
      '/users',
      '/invites',
      '/api-keys',
      '/claim-views',
      '/assignees',
      `/orders/${order.id}/activity`,
      '/lookup-lockouts',
    ];
    for (const path of paths) {
      const body = await get(path);
      assert.ok(Array.isArray(body.data), path);
      assert.equal(body.has_more, false, path);
      assert.equal(body.next_cursor, null, path);
    }
    // API keys of the test shop are listed (it has some), so `data` is the real list, not an empty stand-in.
    assert.ok((await get('/api-keys')).data.length >= 1);
    const doc = (await ctx.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    for (const path of paths) {
      const route = `/v1/shops/{slug}${path.replace(order.id, '{id}')}`;
      const schema = doc.paths[route]?.get?.responses?.['200']?.content?.['application/json']?.schema;
      assert.ok(schema, `no 200 schema for ${route}`);
      assert.deepEqual(
        Object.keys(schema.properties).slice(0, 3),
        ['data', 'has_more', 'next_cursor'],
        route,
      );
      assert.ok(schema.required.includes('has_more') && schema.required.includes('next_cursor'), route);
    }
  });

  test('capped lists say when rows were left out: the newest are kept', async () => {
    const order = (await ordersApi(ctx.app, shop.slug, shop.auth.editor).put(orderDoc())).json();
    const insertEvents = (n: number, from: number) =>
      ctx.db.execute(sql`insert into events (id, shop_id, type, subject_id, data)
        select 'evt_list' || lpad((${from} + g)::text, 6, '0'), ${shop.shop.id}, 'orders/address_changed', ${order.id},
               jsonb_build_object('n', ${from} + g)
          from generate_series(1, ${n}) g`);
    await insertEvents(ACTIVITY_LIMIT, 0);
    let activity = await get(`/orders/${order.id}/activity`);
    assert.equal(activity.data.length, ACTIVITY_LIMIT);
    assert.equal(activity.has_more, false, 'exactly the limit: nothing left out');
    await insertEvents(1, ACTIVITY_LIMIT);
    activity = await get(`/orders/${order.id}/activity`);
    assert.equal(activity.data.length, ACTIVITY_LIMIT);
    assert.equal(activity.has_more, true);
    assert.deepEqual((activity.data[0] as { data: unknown }).data, { n: ACTIVITY_LIMIT + 1 }, 'newest first');

    const lock = (n: number, from: number) =>
      ctx.db.execute(sql`insert into rate_limits (bucket, shop_id, hits, window_started_at, locked_until, updated_at)
        select ${lockBucket(shop.shop.id, '')} || 'guess-' || (${from} + g), ${shop.shop.id}, 10, now(),
               now() + ((${from} + g) * interval '1 second') + interval '1 hour', now()
          from generate_series(1, ${n}) g`);
    await lock(LOCKOUTS_LISTED, 0);
    let locks = await get('/lookup-lockouts');
    assert.equal(locks.data.length, LOCKOUTS_LISTED);
    assert.equal(locks.has_more, false);
    await lock(1, LOCKOUTS_LISTED);
    locks = await get('/lookup-lockouts');
    assert.equal(locks.data.length, LOCKOUTS_LISTED);
    assert.equal(locks.has_more, true);
    assert.equal((locks.data[0] as { order_number: string }).order_number, `guess-${LOCKOUTS_LISTED + 1}`);

    // Client-IP lock-outs are in the same list, by the same order (newest lock first) and cap. A global bucket
    // of the old form (shop_id null) and another shop's IP lock are not this shop's.
    const other = await createTestShop(ctx.db, 'lists');
    const lockIp = (bucket: string, shopId: string | null, seconds: number) =>
      ctx.db.execute(sql`insert into rate_limits (bucket, shop_id, hits, window_started_at, locked_until, updated_at)
        values (${bucket}, ${shopId}, 10, now(), now() + (${seconds} * interval '1 second'), now())`);
    const later = LOCKOUTS_LISTED + 3600 + 60;
    await lockIp(ipLockBucket(shop.shop.id, '2001:db8::7'), shop.shop.id, later);
    await lockIp(`lookup:fail-ip:2001:db8::8`, null, later + 60);
    await lockIp(ipLockBucket(other.shop.id, '2001:db8::9'), other.shop.id, later + 60);
    locks = await get('/lookup-lockouts');
    assert.equal(locks.data.length, LOCKOUTS_LISTED);
    assert.equal(locks.has_more, true);
    const [first, second] = locks.data as {
      kind: string;
      client_ip: string | null;
      order_number: string | null;
    }[];
    assert.deepEqual([first.kind, first.client_ip, first.order_number], ['client_ip', '2001:db8::7', null]);
    assert.deepEqual(
      [second.kind, second.client_ip, second.order_number],
      ['order_number', null, `guess-${LOCKOUTS_LISTED + 1}`],
    );
    assert.equal(
      locks.data.filter((l) => (l as { kind: string }).kind === 'client_ip').length,
      1,
      'only this shop’s IP lock',
    );
  });
});
