import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { apiKeys } from '../src/db/schema.js';
import { createApiKey } from '../src/shops/api-keys.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, basicAuth, countOrders, ordersApi, type Res } from './support/http.js';
import { orderDoc } from './support/orders.js';

let ctx: TestContext;
let a: TestShop;
let b: TestShop;
/** The same order number (and external_id) in both shops. */
let orderA: { id: string; shipments: { id: string }[]; updated_at: string };
let orderB: { id: string; shipments: { id: string }[] };
const SAME = { order_number: 'SAME-1', external_id: 'same-ext-1' };
const event = [{ time: '2026-11-28T08:00:00Z', code: 'delivered', phase: 'delivered' }];

before(async () => {
  ctx = await startTestApp();
  a = await createTestShop(ctx.db, 'tenant-a');
  b = await createTestShop(ctx.db, 'tenant-b');
  const putA = await ordersApi(ctx.app, a.slug, a.auth.editor).put(
    orderDoc({ ...SAME, customer: { email: 'only-in-a@example.com' } }),
  );
  assert.equal(putA.statusCode, 201, putA.body);
  orderA = putA.json();
  const putB = await ordersApi(ctx.app, b.slug, b.auth.editor).put(orderDoc({ ...SAME }));
  assert.equal(putB.statusCode, 201, putB.body);
  orderB = putB.json();
});
after(() => ctx.close());

/** A 404 shop_not_found whose body differs from a non-existent shop's only by the slug. */
function assertShopNotFound(res: Res, slug: string, ghost: Res, ghostSlug: string) {
  assertError(res, 404, 'shop_not_found');
  assertError(ghost, 404, 'shop_not_found');
  assert.equal(res.body.replaceAll(slug, '<slug>'), ghost.body.replaceAll(ghostSlug, '<slug>'));
  assert.deepEqual(
    Object.keys(res.headers).filter((h) => h !== 'x-request-id' && h !== 'content-length' && h !== 'date'),
    Object.keys(ghost.headers).filter((h) => h !== 'x-request-id' && h !== 'content-length' && h !== 'date'),
  );
}

/** Every order endpoint, called on `slug` with `headers`. */
function everyEndpoint(slug: string, headers: Record<string, string>, orderId: string, shipmentId: string) {
  const api = ordersApi(ctx.app, slug, headers);
  return {
    put: () => api.put(orderDoc()),
    putInvalid: () => api.put({ nonsense: true }),
    bulk: () => api.bulk([orderDoc(), orderDoc()]),
    search: () => api.search({ order_number: SAME.order_number }),
    get: () => api.get(orderId),
    getByExternal: () => api.get(SAME.external_id),
    events: () => api.events(orderId, shipmentId, event),
  };
}

describe('isolation between shops', () => {
  test('the same order_number and external_id exist in both shops as separate orders', () => {
    assert.notEqual(orderA.id, orderB.id);
    assert.notEqual(orderA.shipments[0].id, orderB.shipments[0].id);
  });

  test("shop A's key on shop B's URL → 404 shop_not_found, like a shop that does not exist, on every endpoint", async () => {
    const ghostSlug = 'no-such-shop-zz';
    for (const role of ['viewer', 'editor', 'admin'] as const) {
      const onB = everyEndpoint(b.slug, a.auth[role], orderB.id, orderB.shipments[0].id);
      const onGhost = everyEndpoint(ghostSlug, a.auth[role], orderB.id, orderB.shipments[0].id);
      for (const name of Object.keys(onB) as (keyof typeof onB)[]) {
        assertShopNotFound(await onB[name](), b.slug, await onGhost[name](), ghostSlug);
      }
    }
    assert.equal(await countOrders(ctx.db, b.shop.id), 1, 'nothing written into B');
    assert.equal(await countOrders(ctx.db, a.shop.id), 1, 'nor into A');
    const bOrder = (await ordersApi(ctx.app, b.slug, b.auth.viewer).get(orderB.id)).json();
    assert.equal(bOrder.shipments[0].events.length, 1, 'no event added to B');
  });

  test("shop A's order id under shop B (with B's key) → 404 order_not_found", async () => {
    const apiB = ordersApi(ctx.app, b.slug, b.auth.admin);
    assertError(await apiB.get(orderA.id), 404, 'order_not_found');
    assertError(await apiB.events(orderA.id, orderA.shipments[0].id, event), 404, 'order_not_found');
    assertError(await apiB.events(orderA.id, 'f-1', event), 404, 'order_not_found');
    // B's own order with A's shipment id: not B's shipment.
    assertError(await apiB.events(orderB.id, orderA.shipments[0].id, event), 404, 'shipment_not_found');
    // A's order is untouched.
    const read = (await ordersApi(ctx.app, a.slug, a.auth.viewer).get(orderA.id)).json();
    assert.equal(read.shipments[0].events.length, 1);
    assert.equal(read.updated_at, orderA.updated_at);
  });

  test('by external_id, each shop sees its own order', async () => {
    const gotA = await ordersApi(ctx.app, a.slug, a.auth.viewer).get(SAME.external_id);
    const gotB = await ordersApi(ctx.app, b.slug, b.auth.viewer).get(SAME.external_id);
    assert.equal(gotA.json().id, orderA.id);
    assert.equal(gotB.json().id, orderB.id);
  });

  test("searching B never returns A's orders, whatever the filter or cursor", async () => {
    const apiA = ordersApi(ctx.app, a.slug, a.auth.viewer);
    const apiB = ordersApi(ctx.app, b.slug, b.auth.viewer);
    const ids = async (res: Res) => {
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data.map((o: { id: string }) => o.id);
    };
    assert.deepEqual(await ids(await apiB.search({ order_number: '#same-1' })), [orderB.id]);
    assert.deepEqual(await ids(await apiA.search({ order_number: '#same-1' })), [orderA.id]);
    assert.deepEqual(await ids(await apiB.search({ email: 'only-in-a@example.com' })), []);
    assert.deepEqual(await ids(await apiB.search({ zip_code: '10115' })), [orderB.id]);
    assert.deepEqual(await ids(await apiB.search()), [orderB.id]);
    // A cursor taken from A's listing, replayed on B, still only walks B.
    const more = await ordersApi(ctx.app, a.slug, a.auth.editor).bulk([orderDoc(), orderDoc(), orderDoc()]);
    assert.equal(more.statusCode, 200);
    const pageA = (await apiA.search({ per_page: 1 })).json();
    assert.ok(pageA.next_cursor);
    const fromCursor = await ids(await apiB.search({ cursor: pageA.next_cursor, per_page: 100 }));
    assert.ok(fromCursor.every((id: string) => id === orderB.id));
    const pagesB = await ids(await apiB.search({ page: 1, per_page: 100 }));
    assert.deepEqual(pagesB, [orderB.id]);
  });

  test("upserting in B with A's numbers and external_ids creates B's own orders and leaves A alone", async () => {
    const apiA = ordersApi(ctx.app, a.slug, a.auth.editor);
    const apiB = ordersApi(ctx.app, b.slug, b.auth.editor);
    const docA = orderDoc({ order_number: 'SHARED-2', external_id: 'shared-ext-2' });
    const inA = (await apiA.put(docA)).json();
    const changed = { ...docA, tags: ['from-b'] };
    const bulk = await apiB.bulk([changed]);
    assert.equal(bulk.json().data[0].status, 'created', 'no match across shops');
    assert.notEqual(bulk.json().data[0].id, inA.id);
    const put = await apiB.put({ ...changed, tags: ['from-b', 'again'] });
    assert.equal(put.statusCode, 200);
    assert.equal(put.json().id, bulk.json().data[0].id);
    assert.deepEqual((await apiA.get(inA.id)).json(), inA);
  });

  test('Idempotency-Keys are per API key and shop: the same key in two shops does not collide', async () => {
    const key = { 'idempotency-key': 'shared-idem-key' };
    const inA = await ordersApi(ctx.app, a.slug, a.auth.editor).bulk([orderDoc()], key);
    const inB = await ordersApi(ctx.app, b.slug, b.auth.editor).bulk([orderDoc(), orderDoc()], key);
    assert.equal(inA.statusCode, 200, inA.body);
    assert.equal(inB.statusCode, 200, inB.body);
    assert.equal(inB.headers['idempotent-replayed'], undefined);
    assert.equal(inB.json().summary.created, 2);
  });
});

describe('authentication', () => {
  test('HTTP Basic (username = key name) and Bearer both work', async () => {
    const keyName = a.slug; // createTestShop names keys after the shop
    for (const headers of [
      basicAuth(keyName, a.keys.viewer),
      { authorization: `Bearer ${a.keys.viewer}` },
      { authorization: `bearer ${a.keys.viewer}` },
      { authorization: `Basic ${Buffer.from(`${keyName}:${a.keys.editor}`).toString('base64')}` },
    ]) {
      const res = await ordersApi(ctx.app, a.slug, headers).get(orderA.id);
      assert.equal(res.statusCode, 200, res.body);
    }
    const put = await ordersApi(ctx.app, a.slug, basicAuth(keyName, a.keys.editor)).put(orderDoc());
    assert.equal(put.statusCode, 201, put.body);
  });

  test('Basic with the wrong username → 401, even with a valid secret', async () => {
    for (const user of [b.slug, 'admin', `${a.slug}x`, a.slug.toUpperCase()]) {
      const res = await ordersApi(ctx.app, a.slug, basicAuth(user, a.keys.viewer)).get(orderA.id);
      assertError(res, 401, 'unauthorized');
      assert.ok(res.headers['www-authenticate']);
    }
  });

  test('a key named differently from the shop authenticates with its own name', async () => {
    const { secret } = await createApiKey(ctx.db, {
      shopIds: [a.shop.id],
      role: 'viewer',
      name: 'reporting',
    });
    assert.equal(
      (await ordersApi(ctx.app, a.slug, basicAuth('reporting', secret)).get(orderA.id)).statusCode,
      200,
    );
    assertError(
      await ordersApi(ctx.app, a.slug, basicAuth(a.slug, secret)).get(orderA.id),
      401,
      'unauthorized',
    );
  });

  test('a revoked key → 401 from then on', async () => {
    const { key, secret } = await createApiKey(ctx.db, {
      shopIds: [a.shop.id],
      role: 'editor',
      name: a.slug,
    });
    const api = ordersApi(ctx.app, a.slug, { authorization: `Bearer ${secret}` });
    assert.equal((await api.get(orderA.id)).statusCode, 200);
    await ctx.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, key.id));
    assertError(await api.get(orderA.id), 401, 'unauthorized');
    assertError(await api.put(orderDoc()), 401, 'unauthorized');
    const basic = ordersApi(ctx.app, a.slug, basicAuth(a.slug, secret));
    assertError(await basic.search(), 401, 'unauthorized');
  });

  test('an expired key → 401; one expiring later works', async () => {
    const expired = await createApiKey(ctx.db, {
      shopIds: [a.shop.id],
      role: 'admin',
      name: a.slug,
      expiresAt: new Date(Date.now() - 1000),
    });
    assertError(
      await ordersApi(ctx.app, a.slug, { authorization: `Bearer ${expired.secret}` }).get(orderA.id),
      401,
      'unauthorized',
    );
    const later = await createApiKey(ctx.db, {
      shopIds: [a.shop.id],
      role: 'admin',
      name: a.slug,
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    const res = await ordersApi(ctx.app, a.slug, { authorization: `Bearer ${later.secret}` }).get(orderA.id);
    assert.equal(res.statusCode, 200);
  });
});

describe('roles', () => {
  test('a viewer can read but not write: PUT / bulk / events → 403 forbidden, nothing written', async () => {
    const viewer = ordersApi(ctx.app, a.slug, a.auth.viewer);
    const initial = await countOrders(ctx.db, a.shop.id);
    assert.equal((await viewer.get(orderA.id)).statusCode, 200);
    assert.equal((await viewer.search()).statusCode, 200);
    const doc = orderDoc();
    assertError(await viewer.put(doc), 403, 'forbidden');
    assertError(
      await viewer.put({ ...orderDoc(), external_id: SAME.external_id, tags: ['x'] }),
      403,
      'forbidden',
    );
    assertError(await viewer.bulk([doc]), 403, 'forbidden');
    assertError(await viewer.events(orderA.id, 'f-1', event), 403, 'forbidden');
    assert.equal(await countOrders(ctx.db, a.shop.id), initial);
    const read = (await viewer.get(orderA.id)).json();
    assert.equal(read.shipments[0].events.length, 1);
    assert.deepEqual(read.tags, ['vip']);
  });

  test('editor and admin can write', async () => {
    for (const role of ['editor', 'admin'] as const) {
      const api = ordersApi(ctx.app, a.slug, a.auth[role]);
      assert.equal((await api.put(orderDoc())).statusCode, 201);
      assert.equal((await api.bulk([orderDoc()])).json().summary.created, 1);
    }
    const ev = await ordersApi(ctx.app, a.slug, a.auth.editor).events(orderA.id, 'f-1', event);
    assert.equal(ev.statusCode, 200, ev.body);
    assert.equal(ev.json().added, 1);
  });

  test("a key's shop scope is checked before its role: a viewer of A on B → 404, not 403", async () => {
    assertError(await ordersApi(ctx.app, b.slug, a.auth.viewer).put(orderDoc()), 404, 'shop_not_found');
  });
});

describe('a key scoped to two shops', () => {
  test('reads and writes in both, each within its own shop; a third shop → 404', async () => {
    const c = await createTestShop(ctx.db, 'tenant-c');
    const { secret } = await createApiKey(ctx.db, {
      shopIds: [a.shop.id, b.shop.id],
      role: 'editor',
      name: 'agency',
    });
    const headers = basicAuth('agency', secret);
    const onA = ordersApi(ctx.app, a.slug, headers);
    const onB = ordersApi(ctx.app, b.slug, headers);
    assert.equal((await onA.get(orderA.id)).json().id, orderA.id);
    assert.equal((await onB.get(orderB.id)).json().id, orderB.id);
    assertError(await onA.get(orderB.id), 404, 'order_not_found');
    assertError(await onB.get(orderA.id), 404, 'order_not_found');
    assert.deepEqual(
      (await onB.search({ order_number: SAME.order_number })).json().data.map((o: { id: string }) => o.id),
      [orderB.id],
    );

    const countA = await countOrders(ctx.db, a.shop.id);
    const countB = await countOrders(ctx.db, b.shop.id);
    const doc = orderDoc({ order_number: 'AGENCY-1' });
    assert.equal((await onA.put(doc)).statusCode, 201);
    assert.equal(await countOrders(ctx.db, a.shop.id), countA + 1);
    assert.equal(await countOrders(ctx.db, b.shop.id), countB, 'written into A only');
    assert.equal((await onB.put(doc)).statusCode, 201, 'the same document is new in B');

    // Its Idempotency-Keys are kept per shop: the same key on A and B are two requests.
    const idem = { 'idempotency-key': 'agency-import-1' };
    const bulkA = await onA.bulk([orderDoc()], idem);
    const bulkB = await onB.bulk([orderDoc(), orderDoc()], idem);
    assert.equal(bulkA.statusCode, 200, bulkA.body);
    assert.equal(bulkB.statusCode, 200, bulkB.body);
    assert.equal(bulkB.headers['idempotent-replayed'], undefined);
    assert.equal(bulkB.json().summary.created, 2);
    assert.equal((await onA.bulk([orderDoc()], idem)).statusCode, 409, 'a different body on A conflicts');

    const onC = ordersApi(ctx.app, c.slug, headers);
    assertError(await onC.search(), 404, 'shop_not_found');
    assertError(await onC.put(orderDoc()), 404, 'shop_not_found');
    assert.equal(await countOrders(ctx.db, c.shop.id), 0);
  });
});
