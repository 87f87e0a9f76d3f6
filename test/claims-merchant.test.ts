import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, asc, eq, sql } from 'drizzle-orm';
import { claimHistory, claims, events } from '../src/db/schema.js';
import type { OrderInputT } from '../src/orders/document.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, assertInvalidAt, basicAuth, daysAgo, type Res } from './support/http.js';
import { orderDoc } from './support/orders.js';

let ctx: TestContext;
before(async () => {
  ctx = await startTestApp();
});
after(() => ctx.close());

// ---------------------------------------------------------------------------------------------------------
// Helpers

const pickedUp = (days: number) => ({
  time: daysAgo(days),
  code: 'picked_up',
  phase: 'in_transit' as const,
  description: 'Parcel picked up',
  location: 'Berlin',
});

/** An order whose one shipment (all items) was delivered `days` days ago. */
function deliveredDoc(days = 2, overrides: Partial<OrderInputT> = {}): OrderInputT {
  const doc = orderDoc(overrides);
  return {
    ...doc,
    placed_at: daysAgo(days + 3),
    shipments: doc.shipments!.map((s) => ({
      ...s,
      events: [
        pickedUp(days + 1),
        {
          time: daysAgo(days),
          code: 'delivered',
          phase: 'delivered',
          description: 'Delivered',
          location: null,
        },
      ],
    })),
  };
}

function inTransitDoc(): OrderInputT {
  const doc = orderDoc();
  return {
    ...doc,
    placed_at: daysAgo(3),
    shipments: doc.shipments!.map((s) => ({ ...s, events: [pickedUp(1)] })),
  };
}

interface StoredOrder {
  id: string;
  external_id: string;
  order_number: string;
  line_items: { id: string; external_id: string }[];
  shipments: { id: string }[];
}

interface Claim {
  id: string;
  updated_at: string;
  number: string;
  status: string;
  flow: string;
  order_id: string;
  shipment_id: string | null;
  version: number;
  channel: string;
  tags: string[];
  assignee: string | null;
  resolution_preference: string | null;
  context: Record<string, unknown>;
  history?: {
    actor: { type: string; id: string | null; name: string | null };
    action: string;
    changes: Record<string, { from: unknown; to: unknown }>;
    note: string | null;
  }[];
  order?: { id: string };
  shipment?: { id: string } | null;
}

async function putOrder(s: TestShop, doc: OrderInputT): Promise<StoredOrder> {
  const res = await ctx.app.inject({
    method: 'PUT',
    url: `/v1/shops/${s.slug}/orders`,
    headers: s.auth.editor,
    payload: doc,
  });
  assert.ok([200, 201].includes(res.statusCode), res.body);
  return res.json();
}

const lineId = (o: StoredOrder, externalId: string) =>
  o.line_items.find((l) => l.external_id === externalId)!.id;

/** The id of a test shop's API key, which travels inside the secret (`rsk_<id>_<random>`). */
const keyId = (secret: string) => `key_${secret.split('_')[1]}`;

function api(s: TestShop, headers: Record<string, string> = s.auth.editor) {
  const base = `/v1/shops/${s.slug}/claims`;
  return {
    list: (q: Record<string, string | number> = {}) =>
      ctx.app.inject({
        method: 'GET',
        url: `${base}?${new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]))}`,
        headers,
      }),
    get: (id: string) => ctx.app.inject({ method: 'GET', url: `${base}/${encodeURIComponent(id)}`, headers }),
    create: (body: unknown, extra: Record<string, string> = {}) =>
      ctx.app.inject({
        method: 'POST',
        url: base,
        headers: { ...headers, ...extra },
        payload: body as object,
      }),
    patch: (id: string, body: unknown) =>
      ctx.app.inject({
        method: 'PATCH',
        url: `${base}/${encodeURIComponent(id)}`,
        headers,
        payload: body as object,
      }),
  };
}

/** A phone claim for a missing unit of `lineItemId` (no evidence needed). */
const missingItem = (orderId: string, lineItemId: string, extra: Record<string, unknown> = {}) => ({
  order_id: orderId,
  flow: 'missing_item',
  reason: 'missing_from_parcel',
  items: [{ line_item_id: lineItemId, quantity: 1 }],
  resolution_preference: 'replacement',
  ...extra,
});

async function createClaim(s: TestShop, body: unknown): Promise<Claim> {
  const res = await api(s).create(body);
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

/** History rows and events of one claim, straight from the database. */
async function trail(claimId: string) {
  const history = await ctx.db
    .select()
    .from(claimHistory)
    .where(eq(claimHistory.claimId, claimId))
    .orderBy(asc(claimHistory.id));
  const evts = await ctx.db
    .select()
    .from(events)
    .where(eq(events.subjectId, claimId))
    .orderBy(asc(events.id));
  const [row] = await ctx.db.select().from(claims).where(eq(claims.id, claimId));
  return { history, events: evts, row };
}

/** Asserts a PATCH was refused and changed nothing (version, status, history, events). */
async function refusedPatch(claimId: string, run: () => Promise<Res>): Promise<Res> {
  const before = await trail(claimId);
  const res = await run();
  assert.ok(
    res.statusCode >= 400 && res.statusCode < 500,
    `expected a 4xx, got ${res.statusCode}: ${res.body}`,
  );
  const after = await trail(claimId);
  assert.equal(after.history.length, before.history.length);
  assert.equal(after.events.length, before.events.length);
  assert.equal(after.row.version, before.row.version);
  assert.equal(after.row.status, before.row.status);
  assert.deepEqual(after.row.updatedAt, before.row.updatedAt);
  return res;
}

const ids = (res: Res) => (res.json().data as { id: string }[]).map((c) => c.id);

// ---------------------------------------------------------------------------------------------------------
// Listing, filters, paging, tenancy

describe('GET /v1/shops/{slug}/claims', () => {
  let s: TestShop;
  let other: TestShop;
  let o1: StoredOrder;
  let o2: StoredOrder;
  let c1: Claim;
  let c2: Claim;
  let c3: Claim;
  let c4: Claim;
  let foreign: Claim;

  before(async () => {
    s = await createTestShop(ctx.db, 'mlist');
    other = await createTestShop(ctx.db, 'mlistb');
    o1 = await putOrder(s, deliveredDoc());
    o2 = await putOrder(s, deliveredDoc());
    c1 = await createClaim(s, missingItem(o1.id, lineId(o1, 'li-2')));
    c2 = await createClaim(s, {
      order_id: o2.id,
      flow: 'dissatisfied',
      reason: 'quality',
      items: [{ line_item_id: lineId(o2, 'li-1'), quantity: 1 }],
      resolution_preference: 'refund',
    });
    c3 = await createClaim(s, {
      order_id: o2.external_id, // orders may be named by external_id
      flow: 'return',
      reason: 'changed_mind',
      items: [{ line_item_id: lineId(o2, 'li-2'), quantity: 1 }],
      resolution_preference: 'store_credit',
    });
    c4 = await createClaim(s, {
      order_id: o1.id,
      flow: 'not_received',
      reason: 'delivered_not_received',
      items: [{ line_item_id: lineId(o1, 'li-1'), quantity: 2 }],
      resolution_preference: 'refund',
      dropoff_permission: true,
    });
    const accept = await api(s).patch(c2.id, { version: 1, status: 'accepted' });
    assert.equal(accept.statusCode, 200, accept.body);
    // c1 was taken ten days ago.
    await ctx.db
      .update(claims)
      .set({ createdAt: new Date(Date.now() - 10 * 86_400_000) })
      .where(eq(claims.id, c1.id));
    const ob = await putOrder(other, deliveredDoc());
    foreign = await createClaim(other, missingItem(ob.id, lineId(ob, 'li-2')));
  });

  test('newest first, in the list envelope, merchant fields included', async () => {
    const res = await api(s, s.auth.viewer).list();
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual(ids(res), [c4.id, c3.id, c2.id, c1.id]);
    assert.equal(body.has_more, false);
    assert.equal(body.next_cursor, null);
    assert.deepEqual(
      body.data.map((c: Claim) => c.number),
      ['R-1004', 'R-1003', 'R-1002', 'R-1001'],
    );
    const first = body.data[0] as Claim;
    assert.equal(first.version, 1);
    assert.deepEqual(first.tags, []);
    assert.equal(typeof first.context, 'object');
    assert.equal(first.channel, 'api');
  });

  test('filters: status, flow, order_id, created_from/to', async () => {
    const l = api(s, s.auth.viewer);
    assert.deepEqual(ids(await l.list({ status: 'accepted' })), [c2.id]);
    assert.deepEqual(ids(await l.list({ status: 'pending' })), [c4.id, c3.id, c1.id]);
    assert.deepEqual(ids(await l.list({ status: 'pending,accepted' })), [c4.id, c3.id, c2.id, c1.id]);
    assert.deepEqual(ids(await l.list({ status: 'closed' })), []);
    assert.deepEqual(ids(await l.list({ flow: 'return' })), [c3.id]);
    assert.deepEqual(ids(await l.list({ flow: 'missing_item,return' })), [c3.id, c1.id]);
    assert.deepEqual(ids(await l.list({ order_id: o2.id })), [c3.id, c2.id]);
    assert.deepEqual(ids(await l.list({ order_id: o1.id, flow: 'not_received' })), [c4.id]);
    assert.deepEqual(ids(await l.list({ created_to: daysAgo(5) })), [c1.id]);
    assert.deepEqual(ids(await l.list({ created_from: daysAgo(5) })), [c4.id, c3.id, c2.id]);
    assert.deepEqual(ids(await l.list({ created_from: daysAgo(11), created_to: daysAgo(9) })), [c1.id]);
    assert.deepEqual(ids(await l.list({ created_from: daysAgo(-1) })), []);

    assertInvalidAt(await l.list({ status: 'open' }), 'querystring:/status');
    assertInvalidAt(await l.list({ flow: 'broken' }), 'querystring:/flow');
    assertInvalidAt(await l.list({ created_from: 'yesterday' }), 'querystring:/created_from');
    assertInvalidAt(await l.list({ surprise: 1 }), 'querystring:/surprise');
  });

  test('page/per_page and cursor paging', async () => {
    const l = api(s, s.auth.viewer);
    const p1 = await l.list({ per_page: 3, page: 1 });
    assert.equal(p1.statusCode, 200, p1.body);
    assert.deepEqual(ids(p1), [c4.id, c3.id, c2.id]);
    assert.equal(p1.json().has_more, true);
    assert.equal(p1.json().page, 1);
    assert.equal(p1.json().per_page, 3);
    const p2 = await l.list({ per_page: 3, page: 2 });
    assert.deepEqual(ids(p2), [c1.id]);
    assert.equal(p2.json().has_more, false);
    assert.deepEqual(ids(await l.list({ per_page: 3, page: 3 })), []);

    const k1 = await l.list({ per_page: 2 });
    assert.deepEqual(ids(k1), [c4.id, c3.id]);
    assert.equal(k1.json().has_more, true);
    assert.equal(typeof k1.json().next_cursor, 'string');
    assert.equal('page' in k1.json(), false);
    const k2 = await l.list({ per_page: 2, cursor: k1.json().next_cursor });
    assert.deepEqual(ids(k2), [c2.id, c1.id]);
    assert.equal(k2.json().has_more, false);
    assert.equal(k2.json().next_cursor, null);
    // A cursor combines with filters.
    const f1 = await l.list({ per_page: 1, status: 'pending' });
    assert.deepEqual(ids(f1), [c4.id]);
    const f2 = await l.list({ per_page: 5, status: 'pending', cursor: f1.json().next_cursor });
    assert.deepEqual(ids(f2), [c3.id, c1.id]);

    assertError(await l.list({ page: 1, cursor: k1.json().next_cursor }), 400, 'validation_failed');
    assertError(await l.list({ cursor: 'not-a-cursor' }), 400, 'validation_failed');
    assertInvalidAt(await l.list({ per_page: 101 }), 'querystring:/per_page');
    assertInvalidAt(await l.list({ page: 0 }), 'querystring:/page');
  });

  test("tenant isolation: another shop's key, claim or order is not found", async () => {
    // Shop B's key on shop A.
    assertError(await api(s, other.auth.admin).list(), 404, 'shop_not_found');
    assertError(await api(s, other.auth.admin).get(c1.id), 404, 'shop_not_found');
    // Shop B's claim through shop A.
    assertError(await api(s, s.auth.admin).get(foreign.id), 404, 'claim_not_found');
    // Numbers are per shop: shop B's R-1001 named through shop A is shop A's own R-1001.
    assert.equal(foreign.number, 'R-1001');
    assert.equal((await api(s, s.auth.admin).get(foreign.number)).json().id, c1.id);
    const before = await trail(foreign.id);
    assertError(
      await api(s, s.auth.admin).patch(foreign.id, { version: 1, status: 'rejected' }),
      404,
      'claim_not_found',
    );
    const after = await trail(foreign.id);
    assert.equal(after.row.status, 'pending');
    assert.equal(after.history.length, before.history.length);
    // Shop B's order through shop A: no claims listed, none can be created.
    assert.deepEqual(ids(await api(s, s.auth.viewer).list({ order_id: foreign.order_id })), []);
    assertError(
      await api(s).create(missingItem(foreign.order_id, 'li_00000000000000000000000000')),
      404,
      'order_not_found',
    );
    // A claim's actions: none yet for its own claim; another shop's claim or an unknown id is not found.
    const actionsOf = (id: string) =>
      ctx.app.inject({
        method: 'GET',
        url: `/v1/shops/${s.slug}/claims/${id}/actions`,
        headers: s.auth.viewer,
      });
    const own = await actionsOf(c1.id);
    assert.equal(own.statusCode, 200, own.body);
    assert.deepEqual(own.json().data, []);
    assertError(await actionsOf(foreign.id), 404, 'claim_not_found');
    assertError(await actionsOf('clm_00000000000000000000000000'), 404, 'claim_not_found');
    // And shop B's list does not show shop A's claims.
    assert.deepEqual(ids(await api(other, other.auth.viewer).list()), [foreign.id]);
    assertError(await api(s, { authorization: 'Bearer nope' }).list(), 401, 'unauthorized');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Get and create

describe('GET /v1/shops/{slug}/claims/{id} and POST (phone claims)', () => {
  let s: TestShop;
  before(async () => {
    s = await createTestShop(ctx.db, 'mget');
  });

  test('a claim by id and by number, with its order, shipment and history', async () => {
    const o = await putOrder(s, deliveredDoc());
    const created = await createClaim(s, missingItem(o.id, lineId(o, 'li-2')));
    const byId = await api(s, s.auth.viewer).get(created.id);
    assert.equal(byId.statusCode, 200, byId.body);
    const byNumber = await api(s, s.auth.viewer).get(created.number);
    assert.equal(byNumber.statusCode, 200, byNumber.body);
    assert.deepEqual(byNumber.json(), byId.json());
    const c = byId.json() as Claim;
    assert.equal(c.order!.id, o.id);
    assert.equal(c.shipment!.id, o.shipments[0].id);
    assert.equal(c.shipment_id, o.shipments[0].id);
    assert.equal(c.history!.length, 1);
    assert.equal(c.history![0].action, 'created');
    assert.deepEqual(c.history![0].changes, { status: { from: null, to: 'pending' } });
    assert.equal((c.context.shipment as { phase: string }).phase, 'delivered');
    // The POST answers the same document.
    assert.deepEqual(created, c);

    assertError(await api(s, s.auth.viewer).get('R-9999'), 404, 'claim_not_found');
    assertError(await api(s, s.auth.viewer).get('clm_00000000000000000000000000'), 404, 'claim_not_found');
  });

  test('a phone claim: channel api, the API key in the history, eligibility honoured', async () => {
    const o = await putOrder(s, deliveredDoc());
    const res = await api(s).create(missingItem(o.id, lineId(o, 'li-1')));
    assert.equal(res.statusCode, 201, res.body);
    const c = res.json() as Claim;
    assert.equal(c.channel, 'api');
    assert.equal(c.status, 'pending');
    assert.deepEqual(c.history![0].actor, { type: 'api_key', id: keyId(s.keys.editor), name: s.slug });
    const { history, events: evts } = await trail(c.id);
    assert.equal(history.length, 1);
    assert.equal(history[0].actorType, 'api_key');
    assert.equal(history[0].actorId, keyId(s.keys.editor));
    assert.deepEqual(
      evts.map((e) => e.type),
      ['claims/created'],
    );

    const portal = await api(s).create(missingItem(o.id, lineId(o, 'li-2'), { channel: 'portal' }));
    assert.equal(portal.statusCode, 201, portal.body);
    assert.equal(portal.json().channel, 'portal');

    // Same rules as the customer flow.
    // The mug's one unit is taken (the T-shirt still has one): that item is already claimed.
    assertError(await api(s).create(missingItem(o.id, lineId(o, 'li-2'))), 422, 'already_claimed');
    // With both T-shirts claimed as well, nothing is left on the order: the flow is already_claimed.
    const more = await api(s).create(missingItem(o.id, lineId(o, 'li-1')));
    assert.equal(more.statusCode, 201, more.body);
    const before2 = await api(s, s.auth.viewer).list({ per_page: 100 });
    assertError(await api(s).create(missingItem(o.id, lineId(o, 'li-1'))), 422, 'already_claimed');
    const transit = await putOrder(s, inTransitDoc());
    assertError(await api(s).create(missingItem(transit.id, lineId(transit, 'li-1'))), 422, 'not_delivered');
    const fresh = await putOrder(s, deliveredDoc());
    assertError(
      await api(s).create(
        missingItem(fresh.id, lineId(fresh, 'li-1'), {
          items: [{ line_item_id: lineId(fresh, 'li-1'), quantity: 3 }],
        }),
      ),
      422,
      'quantity_not_eligible',
    );
    assertInvalidAt(
      await api(s).create(missingItem(fresh.id, lineId(fresh, 'li-1'), { reason: 'nope' })),
      '/reason',
    );
    assertInvalidAt(
      await api(s).create(missingItem(fresh.id, lineId(fresh, 'li-1'), { channel: 'zip' })),
      '/channel',
    );
    assertInvalidAt(
      await api(s).create({ ...missingItem(fresh.id, lineId(fresh, 'li-1')), order_id: undefined }),
      '/order_id',
    );
    assertError(
      await api(s).create(missingItem('ord_00000000000000000000000000', 'x')),
      404,
      'order_not_found',
    );
    assertError(
      await api(s, s.auth.viewer).create(missingItem(fresh.id, lineId(fresh, 'li-1'))),
      403,
      'forbidden',
    );
    const afterList = await api(s, s.auth.viewer).list({ per_page: 100 });
    assert.deepEqual(ids(afterList), ids(before2));
  });

  test('override_gating allows an out-of-window claim or a disabled flow, never already-claimed units', async () => {
    const old = await putOrder(s, deliveredDoc(60));
    const body = missingItem(old.id, lineId(old, 'li-1'));
    assertError(await api(s).create(body), 422, 'outside_claim_window');
    assertError(await api(s).create({ ...body, override_gating: false }), 422, 'outside_claim_window');
    const res = await api(s).create({
      ...body,
      items: [{ line_item_id: lineId(old, 'li-1'), quantity: 2 }],
      override_gating: true,
    });
    assert.equal(res.statusCode, 201, res.body);
    const c = res.json() as Claim;
    assert.equal((c.context.shipment as { phase: string }).phase, 'delivered');
    // Goodwill does not make units claimable twice.
    assertError(await api(s).create({ ...body, override_gating: true }), 422, 'already_claimed');

    // A disabled flow.
    const patch = await ctx.app.inject({
      method: 'PATCH',
      url: `/v1/shops/${s.slug}/settings/resolve`,
      headers: s.auth.admin,
      payload: { flows: { dissatisfied: { enabled: false } } },
    });
    assert.equal(patch.statusCode, 200, patch.body);
    const o = await putOrder(s, deliveredDoc());
    const dis = {
      order_id: o.id,
      flow: 'dissatisfied',
      reason: 'quality',
      items: [{ line_item_id: lineId(o, 'li-2'), quantity: 1 }],
      resolution_preference: 'refund',
    };
    assertError(await api(s).create(dis), 422, 'flow_disabled');
    const ok = await api(s).create({ ...dis, override_gating: true });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().flow, 'dissatisfied');
    // The goodwill is on record: the claim's first history row says the rules were overridden, and by whom.
    const [created] = (await trail(ok.json().id)).history;
    assert.equal(created.action, 'created');
    assert.deepEqual(created.changes, { status: { from: null, to: 'pending' }, override_gating: true });
    assert.equal(created.actorType, 'api_key');
    const plain = await api(s).create(missingItem(o.id, lineId(o, 'li-1')));
    assert.deepEqual((await trail(plain.json().id)).history[0].changes, {
      status: { from: null, to: 'pending' },
    });

    // A parcel on its way (last scan a day ago, not stuck yet) that the customer reports lost: goodwill may record
    // it as stuck in transit; the claim's snapshot keeps the shipment as it is.
    const transit = await putOrder(s, inTransitDoc());
    const lost = {
      order_id: transit.id,
      flow: 'not_received',
      reason: 'stuck_in_transit',
      items: [{ line_item_id: lineId(transit, 'li-1'), quantity: 1 }],
      resolution_preference: 'refund',
    };
    assertError(await api(s).create(lost), 422, 'not_delivered');
    const goodwill = await api(s).create({ ...lost, override_gating: true });
    assert.equal(goodwill.statusCode, 201, goodwill.body);
    assert.equal(goodwill.json().reason, 'stuck_in_transit');
    assert.equal((goodwill.json().context.shipment as { stuck: boolean }).stuck, false);
    const eligibility = await ctx.app.inject({
      url: `/v1/shops/${s.slug}/orders/${transit.id}/eligibility?override_gating=true`,
      headers: s.auth.viewer,
    });
    const nr = eligibility.json().flows.find((f: { flow: string }) => f.flow === 'not_received');
    assert.equal(nr.available, true, JSON.stringify(nr));
  });

  test('Idempotency-Key on POST: a retry returns the same claim, another body is a conflict', async () => {
    const o = await putOrder(s, deliveredDoc());
    const body = missingItem(o.id, lineId(o, 'li-1'));
    const first = await api(s).create(body, { 'idempotency-key': 'phone-1' });
    assert.equal(first.statusCode, 201, first.body);
    const again = await api(s).create(body, { 'idempotency-key': 'phone-1' });
    assert.equal(again.statusCode, 201, again.body);
    assert.equal(again.json().id, first.json().id);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    // The same request serialised with its fields in another order (another client library) is the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    assert.notEqual(JSON.stringify(reordered), JSON.stringify(body));
    const third = await api(s).create(reordered, { 'idempotency-key': 'phone-1' });
    assert.equal(third.statusCode, 201, third.body);
    assert.equal(third.json().id, first.json().id);
    assert.equal(third.headers['idempotent-replayed'], 'true');
    assertError(
      await api(s).create({ ...body, description: 'Another story' }, { 'idempotency-key': 'phone-1' }),
      409,
      'idempotency_conflict',
    );
    const rows = await ctx.db.select().from(claims).where(eq(claims.orderId, o.id));
    assert.equal(rows.length, 1);
    // A 400 did nothing and is not kept, whichever check refused it (the schema, or the flow's rules): the
    // corrected body may use the same key. A 422 is an answer, and is answered again.
    const o2 = await putOrder(s, deliveredDoc());
    const body2 = missingItem(o2.id, lineId(o2, 'li-1'));
    assertInvalidAt(await api(s).create({ ...body2, flow: 7 }, { 'idempotency-key': 'phone-2' }), '/flow');
    assertInvalidAt(
      await api(s).create({ ...body2, dropoff_permission: true }, { 'idempotency-key': 'phone-2' }),
      '/dropoff_permission',
    );
    const fixed = await api(s).create(body2, { 'idempotency-key': 'phone-2' });
    assert.equal(fixed.statusCode, 201, fixed.body);
    assert.equal(fixed.headers['idempotent-replayed'], undefined);
    const notEligible = { ...body2, items: [{ line_item_id: lineId(o2, 'li-1'), quantity: 99 }] };
    assertError(
      await api(s).create(notEligible, { 'idempotency-key': 'phone-3' }),
      422,
      'quantity_not_eligible',
    );
    const replayed = await api(s).create(notEligible, { 'idempotency-key': 'phone-3' });
    assertError(replayed, 422, 'quantity_not_eligible');
    assert.equal(replayed.headers['idempotent-replayed'], 'true');
    // Without a key, a second identical POST is a second claim (the T-shirt has two units).
    const second = await api(s).create(body);
    assert.equal(second.statusCode, 201, second.body);
    assert.notEqual(second.json().id, first.json().id);
  });
});

// ---------------------------------------------------------------------------------------------------------
// PATCH: the status machine, optimistic concurrency, history and events

describe('PATCH /v1/shops/{slug}/claims/{id}', () => {
  let s: TestShop;
  let order: StoredOrder;
  before(async () => {
    s = await createTestShop(ctx.db, 'mpatch');
    const base = orderDoc();
    // Plenty of units so every test can take a claim on the same order.
    order = await putOrder(
      s,
      deliveredDoc(2, {
        line_items: [{ ...base.line_items[0], quantity: 50 }],
        shipments: [{ ...base.shipments![0], line_items: [{ external_id: 'li-1', quantity: 50 }] }],
      }),
    );
  });
  const newClaim = () => createClaim(s, missingItem(order.id, lineId(order, 'li-1')));

  test('pending → accepted → closed: each change bumps version, one history row, one claims/updated event', async () => {
    const c = await newClaim();
    const a = await api(s).patch(c.id, { version: 1, status: 'accepted', note: '  Refund approved.  ' });
    assert.equal(a.statusCode, 200, a.body);
    const accepted = a.json() as Claim;
    assert.equal(accepted.status, 'accepted');
    assert.equal(accepted.version, 2);
    assert.equal(accepted.history!.length, 2);
    assert.deepEqual(accepted.history![1].changes, { status: { from: 'pending', to: 'accepted' } });
    assert.equal(accepted.history![1].note, 'Refund approved.');
    assert.equal(accepted.history![1].action, 'accepted');
    assert.deepEqual(accepted.history![1].actor, { type: 'api_key', id: keyId(s.keys.editor), name: s.slug });

    let t = await trail(c.id);
    assert.equal(t.row.version, 2);
    assert.equal(t.history.length, 2);
    assert.deepEqual(
      t.events.map((e) => e.type),
      ['claims/created', 'claims/updated'],
    );
    const data = t.events[1].data as { changes: unknown; note: string; version: number; number: string };
    assert.deepEqual(data.changes, { status: { from: 'pending', to: 'accepted' } });
    assert.equal(data.note, 'Refund approved.');
    assert.equal(data.version, 2);
    assert.equal(data.number, c.number);
    assert.equal(t.row.updatedAt.toISOString(), accepted.updated_at);
    assert.ok(Date.parse(accepted.updated_at) >= Date.parse(c.updated_at));

    const closed = await api(s).patch(c.number, { version: 2, status: 'closed' });
    assert.equal(closed.statusCode, 200, closed.body);
    assert.equal(closed.json().status, 'closed');
    assert.equal(closed.json().version, 3);
    t = await trail(c.id);
    assert.equal(t.history.length, 3);
    assert.deepEqual(t.history[2].changes, { status: { from: 'accepted', to: 'closed' } });
    assert.equal(t.history[2].note, null);
    assert.equal(t.events.length, 3);
    assert.equal(t.events[2].type, 'claims/updated');
  });

  test('pending → rejected → closed', async () => {
    const c = await newClaim();
    const r = await api(s).patch(c.id, { version: 1, status: 'rejected', note: 'No proof.' });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().status, 'rejected');
    const cl = await api(s).patch(c.id, { version: 2, status: 'closed' });
    assert.equal(cl.statusCode, 200, cl.body);
    assert.equal(cl.json().status, 'closed');
    const t = await trail(c.id);
    assert.deepEqual(
      t.history.map((h) => [h.action, h.changes]),
      [
        ['created', { status: { from: null, to: 'pending' } }],
        ['rejected', { status: { from: 'pending', to: 'rejected' } }],
        ['closed', { status: { from: 'rejected', to: 'closed' } }],
      ],
    );
    assert.equal(t.events.filter((e) => e.type === 'claims/updated').length, 2);
  });

  test('invalid transitions answer 409 invalid_transition and change nothing', async () => {
    const c = await newClaim();
    assertError(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 1, status: 'closed' })),
      409,
      'invalid_transition',
    );
    assert.equal((await api(s).patch(c.id, { version: 1, status: 'accepted' })).statusCode, 200);
    assertError(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 2, status: 'rejected' })),
      409,
      'invalid_transition',
    );
    assert.equal((await api(s).patch(c.id, { version: 2, status: 'closed' })).statusCode, 200);
    for (const status of ['accepted', 'rejected']) {
      assertError(
        await refusedPatch(c.id, () => api(s).patch(c.id, { version: 3, status })),
        409,
        'invalid_transition',
      );
    }
    // A transition refused together with other changes applies none of them.
    assertError(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 3, status: 'accepted', tags: ['x'] })),
      409,
      'invalid_transition',
    );
    assert.deepEqual((await trail(c.id)).row.tags, []);
  });

  test('reopening (→ pending) needs an admin key', async () => {
    const c = await newClaim();
    assert.equal((await api(s).patch(c.id, { version: 1, status: 'accepted' })).statusCode, 200);
    assert.equal((await api(s).patch(c.id, { version: 2, status: 'closed' })).statusCode, 200);
    assertError(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 3, status: 'pending' })),
      403,
      'admin_required',
    );
    const reopened = await api(s, s.auth.admin).patch(c.id, {
      version: 3,
      status: 'pending',
      note: 'Customer sent proof.',
    });
    assert.equal(reopened.statusCode, 200, reopened.body);
    assert.equal(reopened.json().status, 'pending');
    assert.equal(reopened.json().version, 4);
    const last = (reopened.json() as Claim).history!.at(-1)!;
    assert.equal(last.action, 'reopened');
    assert.deepEqual(last.changes, { status: { from: 'closed', to: 'pending' } });
    assert.deepEqual(last.actor, { type: 'api_key', id: keyId(s.keys.admin), name: s.slug });
    // Reopened, it moves on normally (and may be rejected this time).
    assert.equal((await api(s).patch(c.id, { version: 4, status: 'rejected' })).statusCode, 200);
  });

  test('tags added or removed and notes go without a version: they merge with a colleague’s change', async () => {
    const o = await putOrder(s, deliveredDoc());
    const c = await createClaim(s, missingItem(o.id, lineId(o, 'li-1')));
    // A colleague accepts the claim (version 1 → 2) while this agent still holds version 1.
    assert.equal((await api(s).patch(c.id, { version: 1, status: 'accepted', note: 'ok' })).statusCode, 200);
    const tagged = await api(s).patch(c.id, { add_tags: ['carrier-claim'], note: 'Filed with DHL.' });
    assert.equal(tagged.statusCode, 200, tagged.body);
    assert.equal(tagged.json().status, 'accepted');
    assert.deepEqual(tagged.json().tags, ['carrier-claim']);
    assert.equal(tagged.json().version, 3);
    const untagged = await api(s).patch(c.id, { remove_tags: ['carrier-claim'] });
    assert.deepEqual(untagged.json().tags, []);
    const { history } = await trail(c.id);
    assert.deepEqual(
      history.map((h) => h.note),
      [null, 'ok', 'Filed with DHL.', null],
    );
  });

  test('stale or missing version, viewer key, unknown status', async () => {
    const c = await newClaim();
    assert.equal((await api(s).patch(c.id, { version: 1, tags: ['vip'] })).statusCode, 200);
    assertError(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 1, status: 'accepted' })),
      409,
      'stale_version',
    );
    assertError(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 3, status: 'accepted' })),
      409,
      'stale_version',
    );
    assertInvalidAt(await refusedPatch(c.id, () => api(s).patch(c.id, { status: 'accepted' })), '/version');
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { add_tags: ['x'], assignee: 'a@b.example' })),
      '/version',
    );
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 0, status: 'accepted' })),
      '/version',
    );
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 2, status: 'open' })),
      '/status',
    );
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 2, number: 'R-1' })),
      '/number',
    );
    assertError(
      await refusedPatch(c.id, () => api(s, s.auth.viewer).patch(c.id, { version: 2, status: 'accepted' })),
      403,
      'forbidden',
    );
    assertError(await api(s).patch('R-424242', { version: 1, status: 'accepted' }), 404, 'claim_not_found');
    // Basic auth with the shop slug as user works like Bearer.
    const basic = await api(s, basicAuth(s.slug, s.keys.editor)).patch(c.id, {
      version: 2,
      status: 'accepted',
    });
    assert.equal(basic.statusCode, 200, basic.body);
    assert.equal(basic.json().version, 3);
  });

  test('tags, assignee, preference and notes are recorded in the history', async () => {
    const c = await newClaim();
    const r1 = await api(s).patch(c.id, {
      version: 1,
      tags: [' fragile ', 'vip', 'vip'],
      assignee: 'agent@shop.test',
      resolution_preference: 'refund',
    });
    assert.equal(r1.statusCode, 200, r1.body);
    const after1 = r1.json() as Claim;
    assert.deepEqual(after1.tags, ['fragile', 'vip']);
    assert.equal(after1.assignee, 'agent@shop.test');
    assert.equal(after1.resolution_preference, 'refund');
    assert.equal(after1.version, 2);
    assert.equal(after1.history!.length, 2);
    assert.equal(after1.history![1].action, 'updated');
    assert.deepEqual(after1.history![1].changes, {
      tags: { from: [], to: ['fragile', 'vip'] },
      assignee: { from: null, to: 'agent@shop.test' },
      resolution_preference: { from: 'replacement', to: 'refund' },
    });

    // A note alone is a change too.
    const r2 = await api(s).patch(c.id, { version: 2, note: 'Called the customer.' });
    assert.equal(r2.statusCode, 200, r2.body);
    assert.equal(r2.json().version, 3);
    assert.deepEqual(
      [r2.json().history.at(-1).action, r2.json().history.at(-1).changes, r2.json().history.at(-1).note],
      ['noted', {}, 'Called the customer.'],
    );

    // Unassigning and clearing tags.
    const r3 = await api(s).patch(c.id, { version: 3, assignee: null, tags: [] });
    assert.equal(r3.statusCode, 200, r3.body);
    assert.deepEqual(r3.json().history.at(-1).changes, {
      tags: { from: ['fragile', 'vip'], to: [] },
      assignee: { from: 'agent@shop.test', to: null },
    });

    // Sending what is already there changes nothing: no version bump, no history row, no event.
    const before = await trail(c.id);
    const same = await api(s).patch(c.id, {
      version: 4,
      tags: [],
      assignee: null,
      resolution_preference: 'refund',
    });
    assert.equal(same.statusCode, 200, same.body);
    assert.equal(same.json().version, 4);
    const after = await trail(c.id);
    assert.equal(after.history.length, before.history.length);
    assert.equal(after.events.length, before.events.length);

    const t = await trail(c.id);
    assert.equal(t.history.length, 4);
    assert.equal(t.events.filter((e) => e.type === 'claims/updated').length, 3);
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 4, tags: [''] })),
      '/tags/0',
    );
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 4, resolution_preference: 'cash' })),
      '/resolution_preference',
    );
  });

  test('two parallel PATCHes with the same version: exactly one wins, the other is 409', async () => {
    const c = await newClaim();
    const [a, b] = await Promise.all([
      api(s).patch(c.id, { version: 1, status: 'accepted', note: 'A' }),
      api(s).patch(c.id, { version: 1, status: 'rejected', note: 'B' }),
    ]);
    const codes = [a.statusCode, b.statusCode].sort();
    assert.deepEqual(codes, [200, 409], `${a.body}\n${b.body}`);
    const loser = a.statusCode === 409 ? a : b;
    const winner = a.statusCode === 200 ? a : b;
    assertError(loser, 409, 'stale_version');
    const t = await trail(c.id);
    assert.equal(t.row.version, 2);
    assert.equal(t.row.status, winner.json().status);
    assert.equal(t.history.length, 2);
    assert.equal(t.history[1].note, winner === a ? 'A' : 'B');
    assert.equal(t.events.filter((e) => e.type === 'claims/updated').length, 1);

    // Many at once: still exactly one.
    const d = await newClaim();
    const many = await Promise.all(
      Array.from({ length: 6 }, (_, i) => api(s).patch(d.id, { version: 1, tags: [`t${i}`] })),
    );
    assert.equal(many.filter((r) => r.statusCode === 200).length, 1, many.map((r) => r.body).join('\n'));
    for (const r of many.filter((x) => x.statusCode !== 200)) assertError(r, 409, 'stale_version');
    const td = await trail(d.id);
    assert.equal(td.row.version, 2);
    assert.equal(td.history.length, 2);
    const [n] = await ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(events)
      .where(and(eq(events.subjectId, d.id), eq(events.type, 'claims/updated')));
    assert.equal(Number(n.n), 1);
  });
});

describe('units of rejected claims', () => {
  let s: TestShop;
  let order: StoredOrder;
  before(async () => {
    s = await createTestShop(ctx.db, 'munits');
    const base = orderDoc();
    order = await putOrder(
      s,
      deliveredDoc(2, {
        line_items: [{ ...base.line_items[0], quantity: 1 }],
        shipments: [{ ...base.shipments![0], line_items: [{ external_id: 'li-1', quantity: 1 }] }],
      }),
    );
  });

  test('a rejected claim stays released when closed, and cannot be reopened once its units are taken', async () => {
    const admin = api(s, s.auth.admin);
    const first = await createClaim(s, missingItem(order.id, lineId(order, 'li-1')));
    assert.equal((await admin.patch(first.id, { version: 1, status: 'rejected' })).statusCode, 200);
    assert.equal((await admin.patch(first.id, { version: 2, status: 'closed' })).statusCode, 200);
    // Closing the rejection does not take the unit back: a new claim on it succeeds.
    const second = await createClaim(s, missingItem(order.id, lineId(order, 'li-1')));
    assert.equal(second.status, 'pending');
    const reopen = await admin.patch(first.id, { version: 3, status: 'pending' });
    assert.equal(reopen.statusCode, 422, reopen.body);
    assert.equal(reopen.json().error.key, 'already_claimed');
    assert.equal((await admin.get(first.id)).json().status, 'closed');
    // Once the other claim is rejected, the first may be reopened and holds the unit again.
    assert.equal((await admin.patch(second.id, { version: 1, status: 'rejected' })).statusCode, 200);
    const again = await admin.patch(first.id, { version: 3, status: 'pending' });
    assert.equal(again.statusCode, 200, again.body);
    const third = await api(s).create(missingItem(order.id, lineId(order, 'li-1')));
    assert.equal(third.statusCode, 422, third.body);
    assert.equal(third.json().error.key, 'already_claimed');
  });

  test('a phone claim for a flow that needs photos is accepted without them', async () => {
    const other = await putOrder(s, deliveredDoc(2));
    const res = await api(s).create({
      order_id: other.id,
      flow: 'defective',
      reason: 'broken_on_arrival',
      items: [{ line_item_id: lineId(other, 'li-2'), quantity: 1 }],
      resolution_preference: 'refund',
      description: 'Customer called: mug arrived in pieces.',
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().channel, 'api');
  });
});

describe('PATCH: tag edits, notes, conflicts, and the list sees the change', () => {
  let s: TestShop;
  let order: StoredOrder;
  before(async () => {
    s = await createTestShop(ctx.db, 'mpatch2');
    const base = orderDoc();
    order = await putOrder(
      s,
      deliveredDoc(2, {
        line_items: [{ ...base.line_items[0], quantity: 50 }],
        shipments: [{ ...base.shipments![0], line_items: [{ external_id: 'li-1', quantity: 50 }] }],
      }),
    );
  });
  const newClaim = () => createClaim(s, missingItem(order.id, lineId(order, 'li-1')));

  test('add_tags / remove_tags edit the tags; tags replaces them; mixing them is a 400', async () => {
    const c = await newClaim();
    let r = await api(s).patch(c.id, { version: 1, add_tags: ['vip', ' fragile ', 'vip'] });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().tags, ['vip', 'fragile']);
    r = await api(s).patch(c.id, { version: 2, add_tags: ['carrier-claim'], remove_tags: ['vip', 'absent'] });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().tags, ['fragile', 'carrier-claim']);
    assert.deepEqual(r.json().history.at(-1).changes, {
      tags: { from: ['vip', 'fragile'], to: ['fragile', 'carrier-claim'] },
    });
    // Removing what is not there changes nothing: no new version.
    r = await api(s).patch(c.id, { version: 3, remove_tags: ['absent'] });
    assert.equal(r.json().version, 3);
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 3, tags: ['a'], add_tags: ['b'] })),
      '/tags',
    );
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 3, add_tags: ['a'], remove_tags: ['a'] })),
      '/remove_tags',
    );
    const many = Array.from({ length: 50 }, (_, i) => `t${i}`);
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 3, add_tags: many })),
      '/add_tags',
    );
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 3, remove_tags: [''] })),
      '/remove_tags/0',
    );
    // The tag filter separates tags with commas: a tag with one could never be found.
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 3, add_tags: ['ok', 'a,b'] })),
      '/add_tags/1',
    );
    assertInvalidAt(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 3, tags: ['x,y'] })),
      '/tags/0',
    );
    r = await api(s).patch(c.id, { version: 3, tags: ['only'] });
    assert.deepEqual(r.json().tags, ['only']);
  });

  test('tags are one whatever their case, blank tags and assignees are refused, the preference is one the flow offers', async () => {
    const c = await newClaim();
    let r = await api(s).patch(c.id, { version: 1, add_tags: ['vip'], assignee: ' anna@shop.test ' });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().assignee, 'anna@shop.test');
    r = await api(s).patch(c.id, { version: 2, add_tags: ['VIP', 'Fragile', 'fragile'] });
    assert.deepEqual(r.json().tags, ['vip', 'Fragile']);
    r = await api(s).patch(c.id, { version: 3, remove_tags: ['Vip'] });
    assert.deepEqual(r.json().tags, ['Fragile']);
    for (const [body, path] of [
      [{ add_tags: ['ok', '   '] }, '/add_tags/1'],
      [{ tags: [' '] }, '/tags/0'],
      [{ assignee: '  ' }, '/assignee'],
      [{ resolution_preference: 'store_credit' }, '/resolution_preference'],
    ] as const) {
      const e = assertInvalidAt(
        await refusedPatch(c.id, () => api(s).patch(c.id, { version: 4, ...body })),
        path,
      );
      assert.doesNotMatch(JSON.stringify(e), /pattern/);
    }
    r = await api(s).patch(c.id, { version: 4, resolution_preference: 'refund' });
    assert.equal(r.statusCode, 200, r.body);
    r = await api(s).patch(c.id, { version: 5, resolution_preference: null, assignee: null });
    assert.equal(r.json().resolution_preference, null);
    assert.equal(r.json().assignee, null);
    // A version never handed out is not "changed by someone else".
    const ahead = assertError(await api(s).patch(c.id, { version: 9, note: 'x' }), 409, 'stale_version');
    assert.match(ahead.message, /version 9 was never read/);
    const accepted = await api(s).patch(c.id, { version: 6, status: 'accepted' });
    assert.equal(accepted.statusCode, 200, accepted.body);
    const wrong = assertError(
      await api(s).patch(c.id, { version: 7, status: 'rejected' }),
      409,
      'invalid_transition',
    );
    assert.equal(wrong.message, 'An accepted claim cannot become rejected.');
  });

  test('a status change keeps its reason; notes are history rows returned by GET', async () => {
    const c = await newClaim();
    const r = await api(s).patch(c.id, { version: 1, status: 'rejected', note: 'No proof of damage.' });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal((await api(s).patch(c.id, { version: 2, note: 'Customer called back.' })).statusCode, 200);
    const got = (await api(s, s.auth.viewer).get(c.id)).json() as Claim;
    assert.deepEqual(
      got.history!.map((h) => [h.action, h.note]),
      [
        ['created', null],
        ['rejected', 'No proof of damage.'],
        ['noted', 'Customer called back.'],
      ],
    );
    assert.equal(got.version, 3);
  });

  test('a stale version answers 409 stale_version with a message a person can act on', async () => {
    const c = await newClaim();
    assert.equal((await api(s).patch(c.id, { version: 1, assignee: 'anna@shop.test' })).statusCode, 200);
    const err = assertError(
      await refusedPatch(c.id, () => api(s).patch(c.id, { version: 1, status: 'accepted', note: 'ok' })),
      409,
      'stale_version',
    );
    assert.match(err.message, /changed by someone else/);
    assert.match(err.message, /version 2/);
    assert.deepEqual(err.errors, [{ path: '/version', message: 'is 1; the claim is at version 2' }]);
  });

  test('the list filters, counts and updated_at sort see a PATCH at once', async () => {
    const c = await newClaim();
    const d = await newClaim();
    const l = api(s, s.auth.viewer);
    assert.ok(!ids(await l.list({ assignee: 'ben@shop.test' })).includes(c.id));
    const r = await api(s).patch(c.id, {
      version: 1,
      assignee: 'ben@shop.test',
      add_tags: ['escalated'],
      status: 'accepted',
      resolution_preference: 'refund',
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(ids(await l.list({ assignee: 'ben@shop.test' })), [c.id]);
    assert.deepEqual(ids(await l.list({ tag: 'escalated' })), [c.id]);
    assert.deepEqual(ids(await l.list({ status: 'accepted', resolution_preference: 'refund' })), [c.id]);
    assert.ok(ids(await l.list({ assignee: 'unassigned', per_page: 100 })).includes(d.id));
    assert.equal(ids(await l.list({ sort: '-updated_at', per_page: 1 }))[0], c.id);
    const counts = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${s.slug}/claims/counts?tag=escalated`,
      headers: s.auth.viewer,
    });
    assert.deepEqual(counts.json(), { pending: 0, accepted: 1, rejected: 0, closed: 0, total: 1 });
  });
});

test('the OpenAPI document describes the claims endpoints, with examples', async () => {
  const doc = (await ctx.app.inject({ url: '/v1/openapi.json' })).json();
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  const ops: [string, string][] = [
    ['/v1/shops/{slug}/claims', 'get'],
    ['/v1/shops/{slug}/claims', 'post'],
    ['/v1/shops/{slug}/claims/{id}', 'get'],
    ['/v1/shops/{slug}/claims/{id}', 'patch'],
    ['/v1/shops/{slug}/claims/counts', 'get'],
    ['/v1/shops/{slug}/claims/export.csv', 'get'],
    ['/v1/shops/{slug}/analytics/claims', 'get'],
    ['/v1/shops/{slug}/claim-views', 'get'],
    ['/v1/shops/{slug}/claim-views', 'post'],
    ['/v1/shops/{slug}/claim-views/{id}', 'patch'],
    ['/v1/shops/{slug}/claim-views/{id}', 'delete'],
  ];
  for (const [p, m] of ops) {
    const op = paths[p]?.[m] as { summary?: string; description?: string; security?: object[] } | undefined;
    assert.ok(op, `${m} ${p}`);
    assert.ok(op.summary, `${m} ${p} has a summary`);
    assert.ok((op.security ?? []).length >= 2, `${m} ${p} takes Basic or Bearer`);
  }
  const list = paths['/v1/shops/{slug}/claims'].get as {
    parameters: { name: string; description?: string }[];
    responses: Record<string, { content: Record<string, { example?: unknown }> }>;
  };
  const params = list.parameters.map((x) => x.name);
  for (const name of [
    'status',
    'flow',
    'reason',
    'created_from',
    'created_to',
    'carrier',
    'country',
    'shipment_phase',
    'resolution_preference',
    'tag',
    'assignee',
    'channel',
    'q',
    'sort',
    'page',
    'per_page',
    'cursor',
  ])
    assert.ok(params.includes(name), `list takes ${name}`);
  assert.ok(list.responses['200'].content['application/json'].example, 'list response example');
  const body = (p: string, m: string) =>
    (paths[p][m] as { requestBody: { content: Record<string, { example?: unknown; examples?: unknown }> } })
      .requestBody.content['application/json'];
  assert.ok(body('/v1/shops/{slug}/claims', 'post').example, 'create example');
  assert.ok(body('/v1/shops/{slug}/claims/{id}', 'patch').examples, 'patch examples');
  const csv = paths['/v1/shops/{slug}/claims/export.csv'].get as {
    responses: Record<string, { content: object }>;
  };
  assert.ok('text/csv' in csv.responses['200'].content);
});
