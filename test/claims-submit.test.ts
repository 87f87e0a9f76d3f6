import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import { and, eq, isNotNull, like, sql } from 'drizzle-orm';
import {
  type ClaimInputT,
  type CreateClaimArgs,
  createClaim,
  tryCreateClaim,
} from '../src/claims/create-claim.js';
import {
  claimEvidence,
  claimHistory,
  claimItems,
  claims,
  events,
  resolveSessions,
  shops,
  uploads,
} from '../src/db/schema.js';
import type { AppError } from '../src/lib/errors.js';
import type { OrderInputT } from '../src/orders/document.js';
import { loadOneOrderView } from '../src/orders/read.js';
import { claimContext } from '../src/resolve/claim-context.js';
import { resolveSettingsOf } from '../src/resolve/settings.js';
import { removeStaleUploads } from '../src/resolve/uploads.js';
import { createStorage } from '../src/storage/index.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, assertInvalidAt, daysAgo, type Res } from './support/http.js';
import { photoForm } from './support/multipart.js';
import { orderDoc } from './support/orders.js';

let ctx: TestContext;
let shop: TestShop;
before(async () => {
  ctx = await startTestApp();
  shop = await createTestShop(ctx.db, 'csub');
});
after(() => ctx.close());

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** A random client address per lookup, so lookup rate limits (per IP, shared by all test files) never bite. */
const randomIp = () => {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}`;
};

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid 1×1 RGB PNG: signature, IHDR, IDAT (zlib), IEND, with correct CRCs. */
function tinyPng(rgb: [number, number, number] = [200, 30, 30]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0); // width
  ihdr.writeUInt32BE(1, 4); // height
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.from([0, ...rgb]))), // filter byte + one pixel
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const pickedUp = (days: number) => ({
  time: daysAgo(days),
  code: 'picked_up',
  phase: 'in_transit' as const,
  description: 'Parcel picked up',
  location: 'Berlin',
});
const deliveredEvent = (days: number) => ({
  time: daysAgo(days),
  code: 'delivered',
  phase: 'delivered' as const,
  description: 'Delivered',
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
      events: [pickedUp(days + 1), deliveredEvent(days)],
    })),
  };
}

/** An order whose one shipment is in transit (last event yesterday, so not stuck). */
function inTransitDoc(overrides: Partial<OrderInputT> = {}): OrderInputT {
  const doc = orderDoc(overrides);
  return {
    ...doc,
    placed_at: daysAgo(3),
    shipments: doc.shipments!.map((s) => ({ ...s, events: [pickedUp(1)] })),
  };
}

/** One line item of quantity 1, delivered two days ago: the last eligible unit is the only one. */
function singleUnitDoc(): OrderInputT {
  const doc = orderDoc();
  return deliveredDoc(2, {
    line_items: [doc.line_items[1]],
    shipments: [{ ...doc.shipments![0], line_items: [{ external_id: 'li-2', quantity: 1 }] }],
  });
}

interface StoredOrder {
  id: string;
  order_number: string;
  line_items: { id: string; external_id: string; quantity: number }[];
  shipments: { id: string; external_id: string; delivered_at: string | null; phase: string }[];
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

async function openSession(s: TestShop, doc: OrderInputT): Promise<string> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${s.slug}/sessions`,
    payload: { order_number: doc.order_number, zip_code: doc.shipping_address!.zip_code },
    remoteAddress: randomIp(),
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().session;
}

/** Puts the order and opens a zip-level customer session for it. */
async function customerOn(s: TestShop, doc: OrderInputT) {
  const order = await putOrder(s, doc);
  const session = await openSession(s, doc);
  return { doc, order, session, li1: lineId(order, doc.line_items[0].external_id!) };
}

const bearer = (session: string) => ({ authorization: `Bearer ${session}` });

async function upload(s: TestShop, session: string, file = tinyPng()): Promise<string> {
  const { payload, headers } = photoForm(file);
  const res = await ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${s.slug}/uploads`,
    headers: { ...bearer(session), ...headers },
    payload,
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

function submit(s: TestShop, session: string, body: unknown, headers: Record<string, string> = {}) {
  return ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${s.slug}/claims`,
    headers: { ...bearer(session), ...headers },
    payload: body as object,
  });
}

async function count(table: typeof claims | typeof claimItems | typeof claimHistory, shopId: string) {
  const [row] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(table)
    .where(eq(table.shopId, shopId));
  return Number(row.n);
}

/** Everything a claim submission writes, for "nothing stored" checks. */
async function footprint(shopId: string) {
  const [ev] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(events)
    .where(and(eq(events.shopId, shopId), like(events.type, 'claims/%')));
  const [ups] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(uploads)
    .where(and(eq(uploads.shopId, shopId), isNotNull(uploads.claimId)));
  const [evi] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(claimEvidence)
    .where(eq(claimEvidence.shopId, shopId));
  const [seq] = await ctx.db.select({ seq: shops.claimSeq }).from(shops).where(eq(shops.id, shopId));
  return {
    claims: await count(claims, shopId),
    items: await count(claimItems, shopId),
    history: await count(claimHistory, shopId),
    evidence: Number(evi.n),
    events: Number(ev.n),
    attachedUploads: Number(ups.n),
    claimSeq: seq.seq,
  };
}

/** Runs a request that must be refused, and checks it left no trace. */
async function refused(s: TestShop, run: () => Promise<Res>): Promise<Res> {
  const before = await footprint(s.shop.id);
  const res = await run();
  assert.ok(
    res.statusCode >= 400 && res.statusCode < 500,
    `expected a 4xx, got ${res.statusCode}: ${res.body}`,
  );
  assert.deepEqual(await footprint(s.shop.id), before, `a refused claim stored something: ${res.body}`);
  return res;
}

/** A valid defective claim body for one unit of `lineItemId` with one photo. */
const defective = (lineItemId: string, uploadId: string, extra: Record<string, unknown> = {}) => ({
  flow: 'defective',
  reason: 'damaged_in_transit',
  items: [{ line_item_id: lineItemId, quantity: 1 }],
  description: 'It arrived broken.',
  resolution_preference: 'refund',
  evidence: [{ upload_id: uploadId, kind: 'photo', line_item_id: lineItemId }],
  ...extra,
});

/** A valid missing-item claim (no evidence needed) for one unit of `lineItemId`. */
const missing = (lineItemId: string, extra: Record<string, unknown> = {}) => ({
  flow: 'missing_item',
  reason: 'missing_from_parcel',
  items: [{ line_item_id: lineItemId, quantity: 1 }],
  resolution_preference: 'replacement',
  ...extra,
});

// ---------------------------------------------------------------------------------------------------------
// The happy path

test('a defective claim with a photo: 201, number, items, evidence, context snapshot, history and event', async () => {
  const fresh = await createTestShop(ctx.db, 'cfirst');
  const base = orderDoc();
  const doc = deliveredDoc(2, {
    line_items: [{ ...base.line_items[0], discount: 200 }, base.line_items[1]],
  });
  const { order, session } = await customerOn(fresh, doc);
  const tee = lineId(order, 'li-1');
  const deliveredAt = order.shipments[0].delivered_at;
  assert.equal(order.shipments[0].phase, 'delivered');

  const png = tinyPng();
  const { payload, headers } = photoForm(png);
  const up = await ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${fresh.slug}/uploads`,
    headers: { ...bearer(session), ...headers },
    payload,
  });
  assert.equal(up.statusCode, 201, up.body);
  assert.equal(up.json().content_type, 'image/png');
  assert.equal(up.json().size, png.length);
  const uploadId = up.json().id as string;

  const res = await submit(
    fresh,
    session,
    {
      flow: 'defective',
      reason: 'damaged_in_transit',
      items: [{ line_item_id: tee, quantity: 2 }],
      description: '  Both shirts have a torn seam.  ',
      resolution_preference: 'replacement',
      evidence: [{ upload_id: uploadId, kind: 'photo', line_item_id: tee }],
    },
    { 'idempotency-key': 'first-claim' },
  );
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.headers['idempotent-replayed'], undefined);
  const claim = res.json();
  assert.match(claim.id, /^clm_[0-9a-z]{26}$/);
  assert.equal(claim.number, 'R-1001');
  assert.equal(claim.status, 'pending');
  assert.equal(claim.flow, 'defective');
  assert.equal(claim.reason, 'damaged_in_transit');
  assert.equal(claim.description, 'Both shirts have a torn seam.');
  assert.equal(claim.resolution_preference, 'replacement');
  assert.equal(claim.channel, 'zip');
  assert.equal(claim.order_id, order.id);
  assert.equal(claim.order_number, doc.order_number);
  assert.equal(claim.shipment_id, order.shipments[0].id);
  assert.equal(claim.dropoff_permission, null);
  assert.deepEqual(claim.answers, []);
  assert.deepEqual(claim.items, [
    {
      line_item_id: tee,
      shipment_id: order.shipments[0].id,
      sku: 'TEE-M',
      title: 'T-shirt',
      variant_title: 'M',
      quantity: 2,
      unit_net_price: 1899, // 1999 minus the line discount of 200 spread over 2 units
      image_url: null,
    },
  ]);
  assert.equal(claim.evidence.length, 1);
  const ev = claim.evidence[0];
  assert.equal(ev.id, uploadId);
  assert.equal(ev.kind, 'photo');
  assert.equal(ev.line_item_id, tee);
  assert.equal(ev.content_type, 'image/png');
  assert.equal(ev.size, png.length);
  assert.match(
    ev.url,
    new RegExp(`^http://resolve\\.test/v1/files/${uploadId}\\?exp=\\d+&sig=[A-Za-z0-9_-]+$`),
  );
  // Customers never see the merchant-only fields.
  for (const k of ['context', 'tags', 'assignee', 'history', 'version']) assert.equal(k in claim, false, k);

  // The signed URL serves the photo; a tampered signature does not.
  const fileUrl = new URL(ev.url);
  const file = await ctx.app.inject({ method: 'GET', url: fileUrl.pathname + fileUrl.search });
  assert.equal(file.statusCode, 200);
  assert.equal(file.headers['content-type'], 'image/png');
  assert.deepEqual(file.rawPayload, png);
  const tampered = await ctx.app.inject({
    method: 'GET',
    url: `${fileUrl.pathname}?exp=${fileUrl.searchParams.get('exp')}&sig=${'A'.repeat(43)}`,
  });
  assertError(tampered, 403, 'file_link_invalid');

  // The stored row: context snapshot taken at submission.
  const [row] = await ctx.db.select().from(claims).where(eq(claims.id, claim.id));
  assert.equal(row.shopId, fresh.shop.id);
  assert.equal(row.idempotencyKey, 'first-claim');
  assert.equal(row.version, 1);
  const c = row.context as Record<string, unknown> & {
    shipment: Record<string, unknown>;
    shipping_address: Record<string, unknown>;
    customer: Record<string, unknown>;
  };
  assert.equal(c.order_state, 'fulfilled');
  assert.equal(c.order_number, doc.order_number);
  assert.equal(c.currency, 'EUR');
  assert.equal(c.claim_value, 2 * 1899);
  assert.equal(c.shipment.id, order.shipments[0].id);
  assert.equal(c.shipment.phase, 'delivered');
  assert.equal(c.shipment.carrier, 'dhl');
  assert.equal(c.shipment.tracking_number, '00340434');
  assert.equal(c.shipment.delivered_at, deliveredAt);
  assert.equal(
    Date.parse(String(c.shipment.delivered_at)),
    Date.parse(doc.shipments![0].events!.at(-1)!.time),
  );
  assert.equal(c.shipping_address.zip_code, '10115');
  assert.equal(c.shipping_address.city, 'Berlin');
  assert.equal(c.shipping_address.country_code, 'DE');
  assert.equal(c.customer.email, 'kim@example.com');
  assert.equal(c.customer.first_name, 'Kim');

  const history = await ctx.db.select().from(claimHistory).where(eq(claimHistory.claimId, claim.id));
  assert.equal(history.length, 1);
  assert.equal(history[0].action, 'created');
  assert.equal(history[0].actorType, 'customer');
  assert.deepEqual(history[0].changes, { status: { from: null, to: 'pending' } });

  const evts = await ctx.db
    .select()
    .from(events)
    .where(and(eq(events.shopId, fresh.shop.id), eq(events.subjectId, claim.id)));
  assert.equal(evts.length, 1);
  assert.equal(evts[0].type, 'claims/created');
  assert.equal((evts[0].data as { number: string }).number, 'R-1001');

  const [u] = await ctx.db.select().from(uploads).where(eq(uploads.id, uploadId));
  assert.equal(u.claimId, claim.id);

  // The order's claims, as the customer sees them.
  const list = await ctx.app.inject({
    method: 'GET',
    url: `/v1/resolve/${fresh.slug}/claims`,
    headers: bearer(session),
  });
  assert.equal(list.statusCode, 200, list.body);
  assert.deepEqual(
    list.json().data.map((x: { id: string; number: string; status: string }) => [x.id, x.number, x.status]),
    [[claim.id, 'R-1001', 'pending']],
  );
  assert.equal(list.json().data[0].evidence.length, 1);

  // The claimed units are used up: the order view says so, and the next claim is numbered R-1002.
  const view = await ctx.app.inject({
    method: 'GET',
    url: `/v1/resolve/${fresh.slug}/order`,
    headers: bearer(session),
  });
  const def = view.json().flows.find((f: { flow: string }) => f.flow === 'defective');
  assert.deepEqual(
    def.items.map((i: { line_item_id: string }) => i.line_item_id),
    [lineId(order, 'li-2')],
  );
  const second = await submit(fresh, session, missing(lineId(order, 'li-2')));
  assert.equal(second.statusCode, 201, second.body);
  assert.equal(second.json().number, 'R-1002');
});

test('the claims list of a session shows only its own order', async () => {
  const a = await customerOn(shop, deliveredDoc());
  const b = await customerOn(shop, deliveredDoc());
  const ca = await submit(shop, a.session, missing(a.li1));
  assert.equal(ca.statusCode, 201, ca.body);
  const listB = await ctx.app.inject({
    method: 'GET',
    url: `/v1/resolve/${shop.slug}/claims`,
    headers: bearer(b.session),
  });
  assert.equal(listB.statusCode, 200);
  assert.deepEqual(listB.json(), { data: [], has_more: false, next_cursor: null });
  const listA = await ctx.app.inject({
    method: 'GET',
    url: `/v1/resolve/${shop.slug}/claims`,
    headers: bearer(a.session),
  });
  assert.deepEqual(
    listA.json().data.map((c: { id: string }) => c.id),
    [ca.json().id],
  );
  assert.equal(listA.json().has_more, false);
  const noSession = await ctx.app.inject({ method: 'GET', url: `/v1/resolve/${shop.slug}/claims` });
  assertError(noSession, 401, 'session_required');
});

test('a not_received claim records dropoff_permission and answers to a merchant prompt', async () => {
  const s = await createTestShop(ctx.db, 'cprompt');
  const patch = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/shops/${s.slug}/settings/resolve`,
    headers: s.auth.admin,
    payload: {
      flows: {
        not_received: {
          prompts: [
            {
              id: 'neighbours',
              type: 'yes_no',
              labels: { en: 'Did you ask your neighbours?' },
              required: true,
            },
          ],
        },
      },
    },
  });
  assert.equal(patch.statusCode, 200, patch.body);
  const { order, session } = await customerOn(s, deliveredDoc());
  const body = {
    flow: 'not_received',
    reason: 'delivered_not_received',
    items: order.line_items.map((l) => ({ line_item_id: l.id, quantity: l.quantity })),
    resolution_preference: 'refund',
    dropoff_permission: false,
  };
  // The required prompt must be answered, and with the right type.
  const missingAnswer = await refused(s, () => submit(s, session, body));
  assertInvalidAt(missingAnswer, '/answers');
  const wrongType = await refused(s, () =>
    submit(s, session, { ...body, answers: [{ prompt_id: 'neighbours', value: 'maybe' }] }),
  );
  assertInvalidAt(wrongType, '/answers/0/value');

  const res = await submit(s, session, { ...body, answers: [{ prompt_id: 'neighbours', value: true }] });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().dropoff_permission, false);
  assert.deepEqual(res.json().answers, [{ prompt_id: 'neighbours', value: true }]);
  assert.equal(res.json().items.length, 2);
  const [row] = await ctx.db.select().from(claims).where(eq(claims.id, res.json().id));
  assert.equal(row.dropoffPermission, false);
});

test('a stuck parcel is reported as stuck, not as "marked as delivered": the reason must fit the parcel', async () => {
  const s = await createTestShop(ctx.db, 'cstuckr');
  const doc = orderDoc();
  const stuck: OrderInputT = {
    ...doc,
    placed_at: daysAgo(14),
    shipments: doc.shipments!.map((sh) => ({ ...sh, events: [pickedUp(12)] })),
  };
  const { order, session } = await customerOn(s, stuck);
  const view = await ctx.app.inject({
    method: 'GET',
    url: `/v1/resolve/${s.slug}/order`,
    headers: bearer(session),
  });
  const nr = view.json().flows.find((f: { flow: string }) => f.flow === 'not_received');
  assert.deepEqual(
    nr.reasons.map((r: { code: string }) => r.code),
    ['stuck_in_transit'],
  );
  const body = {
    flow: 'not_received',
    items: order.line_items.map((l) => ({ line_item_id: l.id, quantity: l.quantity })),
    resolution_preference: 'refund',
    dropoff_permission: false,
  };
  const wrong = await refused(s, () => submit(s, session, { ...body, reason: 'delivered_not_received' }));
  const err = assertInvalidAt(wrong, '/reason');
  assert.match(JSON.stringify(err), /does not fit this order's parcels: must be one of stuck_in_transit/);
  const ok = await submit(s, session, { ...body, reason: 'stuck_in_transit' });
  assert.equal(ok.statusCode, 201, ok.body);
});

// ---------------------------------------------------------------------------------------------------------
// Bad input: a clear 4xx with a stable key, and nothing stored

describe('bad input is refused with a stable key and stores nothing', () => {
  test('an item that is not on the order', async () => {
    const c = await customerOn(shop, deliveredDoc());
    const res = await refused(shop, () => submit(shop, c.session, missing('li_00000000000000000000000000')));
    const err = assertError(res, 422, 'item_not_eligible');
    assert.deepEqual(
      err.errors!.map((e) => e.path),
      ['/items/0/line_item_id'],
    );
  });

  test('an item of the order that is not eligible (its parcel is still in transit)', async () => {
    const base = orderDoc();
    const doc = deliveredDoc(2, {
      shipments: [
        { ...base.shipments![0], line_items: [{ external_id: 'li-1', quantity: 2 }] },
        {
          external_id: 'f-2',
          carrier: 'ups',
          tracking_number: '1Z999',
          tracking_url: null,
          line_items: [{ external_id: 'li-2', quantity: 1 }],
          events: [],
        },
      ],
    });
    // deliveredDoc gave both shipments delivered events: put the second one back in transit.
    doc.shipments![1].events = [pickedUp(1)];
    const c = await customerOn(shop, doc);
    assert.deepEqual(c.order.shipments.map((s) => s.phase).sort(), ['delivered', 'in_transit']);
    const mug = lineId(c.order, 'li-2');
    const res = await refused(shop, () => submit(shop, c.session, missing(mug)));
    assertError(res, 422, 'item_not_eligible');
    // The delivered item of the same order is fine.
    const ok = await submit(shop, c.session, missing(c.li1));
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('quantity 0 or negative (400) and above the eligible units (422 quantity_not_eligible)', async () => {
    const c = await customerOn(shop, deliveredDoc());
    for (const quantity of [0, -1, 1.5]) {
      const res = await refused(shop, () =>
        submit(shop, c.session, missing(c.li1, { items: [{ line_item_id: c.li1, quantity }] })),
      );
      assertInvalidAt(res, '/items/0/quantity');
    }
    const res = await refused(shop, () =>
      submit(shop, c.session, missing(c.li1, { items: [{ line_item_id: c.li1, quantity: 3 }] })),
    );
    const err = assertError(res, 422, 'quantity_not_eligible');
    assert.deepEqual(
      err.errors!.map((e) => e.path),
      ['/items/0/quantity'],
    );
    // Exactly the eligible quantity is accepted.
    const ok = await submit(
      shop,
      c.session,
      missing(c.li1, { items: [{ line_item_id: c.li1, quantity: 2 }] }),
    );
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('the same item listed twice', async () => {
    const c = await customerOn(shop, deliveredDoc());
    const res = await refused(shop, () =>
      submit(
        shop,
        c.session,
        missing(c.li1, {
          items: [
            { line_item_id: c.li1, quantity: 1 },
            { line_item_id: c.li1, quantity: 1 },
          ],
        }),
      ),
    );
    assertInvalidAt(res, '/items/1/line_item_id');
  });

  test('an unknown flow, reason or resolution', async () => {
    const c = await customerOn(shop, deliveredDoc());
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, missing(c.li1, { flow: 'broken' }))),
      '/flow',
    );
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, missing(c.li1, { reason: 'because' }))),
      '/reason',
    );
    // A real reason of another flow is not a reason of this one.
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, missing(c.li1, { reason: 'wrong_size' }))),
      '/reason',
    );
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, missing(c.li1, { resolution_preference: 'cash' }))),
      '/resolution_preference',
    );
    // store_credit exists, but missing_item does not offer it by default.
    assertInvalidAt(
      await refused(shop, () =>
        submit(shop, c.session, missing(c.li1, { resolution_preference: 'store_credit' })),
      ),
      '/resolution_preference',
    );
    // Flows with resolutions need one.
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, missing(c.li1, { resolution_preference: null }))),
      '/resolution_preference',
    );
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, missing(c.li1, { surprise: true }))),
      '/surprise',
    );
  });

  test('a flow that is not available answers 422 with the eligibility reason code', async () => {
    const transit = await customerOn(shop, inTransitDoc());
    assertError(
      await refused(shop, () => submit(shop, transit.session, missing(transit.li1))),
      422,
      'not_delivered',
    );

    const old = await customerOn(shop, deliveredDoc(60));
    assertError(
      await refused(shop, () => submit(shop, old.session, missing(old.li1))),
      422,
      'outside_claim_window',
    );
    assertError(
      await refused(shop, () =>
        submit(shop, old.session, {
          flow: 'return',
          reason: 'changed_mind',
          items: [{ line_item_id: old.li1, quantity: 1 }],
          resolution_preference: 'refund',
        }),
      ),
      422,
      'outside_return_window',
    );

    const unfulfilled = await customerOn(shop, { ...orderDoc(), shipments: [] });
    assertError(
      await refused(shop, () => submit(shop, unfulfilled.session, missing(unfulfilled.li1))),
      422,
      'not_fulfilled',
    );
  });

  test('a defective claim without the required photo', async () => {
    const c = await customerOn(shop, deliveredDoc());
    const res = await refused(shop, () =>
      submit(shop, c.session, { ...defective(c.li1, 'x'), evidence: [] }),
    );
    const err = assertError(res, 422, 'evidence_required');
    assert.deepEqual(
      err.errors!.map((e) => e.path),
      ['/items/0'],
    );
  });

  test('evidence from someone else, another session, unknown or already used', async () => {
    const c = await customerOn(shop, deliveredDoc());
    const other = await customerOn(shop, deliveredDoc());
    const foreignUpload = await upload(shop, other.session);
    const err = assertError(
      await refused(shop, () => submit(shop, c.session, defective(c.li1, foreignUpload))),
      422,
      'invalid_evidence',
    );
    assert.deepEqual(
      err.errors!.map((e) => e.path),
      ['/evidence/0/upload_id'],
    );

    // Another session on the same order (e.g. a second lookup) does not lend its uploads either.
    const secondSession = await openSession(shop, c.doc);
    const otherSessionUpload = await upload(shop, secondSession);
    assertError(
      await refused(shop, () => submit(shop, c.session, defective(c.li1, otherSessionUpload))),
      422,
      'invalid_evidence',
    );
    assertError(
      await refused(shop, () => submit(shop, c.session, defective(c.li1, 'upl_00000000000000000000000000'))),
      422,
      'invalid_evidence',
    );

    // The same upload twice in one claim.
    const mine = await upload(shop, c.session);
    assertError(
      await refused(shop, () =>
        submit(
          shop,
          c.session,
          defective(c.li1, mine, {
            evidence: [
              { upload_id: mine, kind: 'photo', line_item_id: c.li1 },
              { upload_id: mine, kind: 'photo', line_item_id: c.li1 },
            ],
          }),
        ),
      ),
      422,
      'invalid_evidence',
    );

    // Used once, it cannot be used again (the T-shirt has a second unit left to claim).
    const first = await submit(shop, c.session, defective(c.li1, mine));
    assert.equal(first.statusCode, 201, first.body);
    assertError(
      await refused(shop, () => submit(shop, c.session, defective(c.li1, mine))),
      422,
      'invalid_evidence',
    );
    // …and none of those refusals attached the other uploads.
    const [u] = await ctx.db.select().from(uploads).where(eq(uploads.id, otherSessionUpload));
    assert.equal(u.claimId, null);
  });

  test('only item photos name an item; an item in a shipment it is not in is not eligible', async () => {
    const c = await customerOn(shop, deliveredDoc());
    const packagePhoto = await upload(shop, c.session);
    const err = assertError(
      await refused(shop, () =>
        submit(
          shop,
          c.session,
          missing(c.li1, {
            evidence: [{ upload_id: packagePhoto, kind: 'package_photo', line_item_id: c.li1 }],
          }),
        ),
      ),
      422,
      'invalid_evidence',
    );
    assert.deepEqual(
      err.errors!.map((e) => e.path),
      ['/evidence/0/line_item_id'],
    );
    const wrongShipment = assertError(
      await refused(shop, () =>
        submit(
          shop,
          c.session,
          missing(c.li1, { items: [{ line_item_id: c.li1, quantity: 1, shipment_id: 'shp_nope' }] }),
        ),
      ),
      422,
      'item_not_eligible',
    );
    assert.deepEqual(
      wrongShipment.errors!.map((e) => e.path),
      ['/items/0/shipment_id'],
    );
    // Without the item, the package photo goes through.
    const ok = await submit(
      shop,
      c.session,
      missing(c.li1, { evidence: [{ upload_id: packagePhoto, kind: 'package_photo' }] }),
    );
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('a description too long, or missing/too short where the flow requires one', async () => {
    const c = await customerOn(shop, deliveredDoc());
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, missing(c.li1, { description: 'x'.repeat(2001) }))),
      '/description',
    );
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, missing(c.li1, { description: 'x'.repeat(10001) }))),
      '/description',
    );
    const support = { flow: 'support', reason: 'other', items: [] };
    assertInvalidAt(await refused(shop, () => submit(shop, c.session, support)), '/description');
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, { ...support, description: '     ' })),
      '/description',
    );
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, { ...support, description: 'too short' })),
      '/description',
    );
    // Support takes no resolution.
    assertInvalidAt(
      await refused(shop, () =>
        submit(shop, c.session, {
          ...support,
          description: 'Where can I find the invoice?',
          resolution_preference: 'refund',
        }),
      ),
      '/resolution_preference',
    );
    const ok = await submit(shop, c.session, { ...support, description: 'Where can I find the invoice?' });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().resolution_preference, null);
    assert.deepEqual(ok.json().items, []);
  });

  test('not_received without dropoff_permission, and dropoff_permission on another flow', async () => {
    const c = await customerOn(shop, deliveredDoc());
    const body = {
      flow: 'not_received',
      reason: 'delivered_not_received',
      items: [{ line_item_id: c.li1, quantity: 2 }],
      resolution_preference: 'refund',
    };
    assertInvalidAt(await refused(shop, () => submit(shop, c.session, body)), '/dropoff_permission');
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, { ...body, dropoff_permission: null })),
      '/dropoff_permission',
    );
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, { ...body, dropoff_permission: 'yes' })),
      '/dropoff_permission',
    );
    assertInvalidAt(
      await refused(shop, () => submit(shop, c.session, missing(c.li1, { dropoff_permission: true }))),
      '/dropoff_permission',
    );
    const ok = await submit(shop, c.session, { ...body, dropoff_permission: true });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().dropoff_permission, true);
  });

  test('a parcel stuck in transit: no drop-off question, and none required (it never reached the door)', async () => {
    // Picked up 9 days ago and silent since: stuck, not delivered.
    const doc = { ...inTransitDoc(), placed_at: daysAgo(12) };
    doc.shipments = doc.shipments!.map((sh) => ({ ...sh, events: [pickedUp(9)] }));
    const c = await customerOn(shop, doc);
    const order = await ctx.app.inject({
      method: 'GET',
      url: `/v1/resolve/${shop.slug}/order`,
      headers: bearer(c.session),
    });
    const nr = order.json().flows.find((f: { flow: string }) => f.flow === 'not_received');
    assert.ok(nr.available, order.body);
    assert.deepEqual(
      nr.reasons.map((r: { code: string }) => r.code),
      ['stuck_in_transit'],
    );
    assert.equal(nr.steps.dropoff_permission, false);
    const ok = await submit(
      shop,
      c.session,
      {
        flow: 'not_received',
        reason: 'stuck_in_transit',
        items: [{ line_item_id: c.li1, quantity: 2 }],
        resolution_preference: 'refund',
      },
      { 'idempotency-key': `stuck-${randomBytes(4).toString('hex')}` },
    );
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().dropoff_permission, null);
  });

  test('answers to prompts the flow does not have', async () => {
    const c = await customerOn(shop, deliveredDoc());
    const res = await refused(shop, () =>
      submit(shop, c.session, missing(c.li1, { answers: [{ prompt_id: 'favourite_colour', value: 'red' }] })),
    );
    assertInvalidAt(res, '/answers/0/prompt_id');
  });

  test('an expired, unknown or missing session (401)', async () => {
    const c = await customerOn(shop, deliveredDoc());
    await ctx.db
      .update(resolveSessions)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(resolveSessions.orderId, c.order.id));
    assertError(await refused(shop, () => submit(shop, c.session, missing(c.li1))), 401, 'session_expired');
    const made = `rss_${randomBytes(32).toString('base64url')}`;
    assertError(await refused(shop, () => submit(shop, made, missing(c.li1))), 401, 'session_expired');
    assertError(
      await refused(shop, () =>
        ctx.app.inject({ method: 'POST', url: `/v1/resolve/${shop.slug}/claims`, payload: missing(c.li1) }),
      ),
      401,
      'session_required',
    );
  });

  test("a session of one shop is useless on another shop's claims", async () => {
    const other = await createTestShop(ctx.db, 'cother');
    const c = await customerOn(shop, deliveredDoc());
    const before = await footprint(shop.shop.id);
    const res = await refused(other, () => submit(other, c.session, missing(c.li1)));
    assertError(res, 401, 'session_expired');
    assert.deepEqual(await footprint(shop.shop.id), before);
  });

  test('an Idempotency-Key that is too long', async () => {
    const c = await customerOn(shop, deliveredDoc());
    const res = await refused(shop, () =>
      submit(shop, c.session, missing(c.li1), { 'idempotency-key': 'k'.repeat(256) }),
    );
    assertError(res, 400, 'validation_failed');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Idempotency and concurrency

test('Idempotency-Key: a retry returns the same claim; another body under the key is a conflict', async () => {
  const c = await customerOn(shop, deliveredDoc());
  const photo = await upload(shop, c.session);
  const body = defective(c.li1, photo);
  const first = await submit(shop, c.session, body, { 'idempotency-key': 'retry-me' });
  assert.equal(first.statusCode, 201, first.body);
  const before = await footprint(shop.shop.id);

  const again = await submit(shop, c.session, body, { 'idempotency-key': 'retry-me' });
  assert.equal(again.statusCode, 201, again.body);
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.equal(again.json().id, first.json().id);
  assert.equal(again.json().number, first.json().number);
  assert.deepEqual(await footprint(shop.shop.id), before);
  // Fields in another order, nested ones too: the same request, replayed.
  const reordered = Object.fromEntries(
    Object.entries({
      ...body,
      items: body.items.map((i) => Object.fromEntries(Object.entries(i).reverse())),
    }).reverse(),
  );
  const third = await submit(shop, c.session, reordered, { 'idempotency-key': 'retry-me' });
  assert.equal(third.statusCode, 201, third.body);
  assert.equal(third.headers['idempotent-replayed'], 'true');
  assert.equal(third.json().id, first.json().id);
  assert.deepEqual(await footprint(shop.shop.id), before);

  const changed = await submit(
    shop,
    c.session,
    { ...body, description: 'Something else.' },
    {
      'idempotency-key': 'retry-me',
    },
  );
  assertError(changed, 409, 'idempotency_conflict');
  assert.deepEqual(await footprint(shop.shop.id), before);

  // The same key on another order is a different request altogether.
  const d = await customerOn(shop, deliveredDoc());
  const other = await submit(shop, d.session, missing(d.li1), { 'idempotency-key': 'retry-me' });
  assert.equal(other.statusCode, 201, other.body);
  assert.notEqual(other.json().id, first.json().id);
});

test('concurrency: the same request with the same key 5× in parallel makes one claim', async () => {
  const c = await customerOn(shop, deliveredDoc());
  const photo = await upload(shop, c.session);
  const body = defective(c.li1, photo);
  const before = await count(claims, shop.shop.id);
  const answers = await Promise.all(
    Array.from({ length: 5 }, () => submit(shop, c.session, body, { 'idempotency-key': 'double-click' })),
  );
  for (const a of answers) assert.equal(a.statusCode, 201, a.body);
  const ids = new Set(answers.map((a) => a.json().id));
  assert.equal(ids.size, 1, `expected one claim id, got ${[...ids].join(', ')}`);
  assert.equal(answers.filter((a) => a.headers['idempotent-replayed'] === 'true').length, 4);
  assert.equal(await count(claims, shop.shop.id), before + 1);
  const rows = await ctx.db.select().from(claims).where(eq(claims.orderId, c.order.id));
  assert.equal(rows.length, 1);
  assert.equal(rows[0].id, [...ids][0]);
  const items = await ctx.db.select().from(claimItems).where(eq(claimItems.claimId, rows[0].id));
  assert.equal(items.length, 1);
  const evts = await ctx.db.select().from(events).where(eq(events.subjectId, rows[0].id));
  assert.equal(evts.length, 1);
});

test('concurrency: 5 different claims on the last eligible unit: exactly one succeeds', async () => {
  const c = await customerOn(shop, singleUnitDoc());
  const mug = c.li1;
  // Different flows and bodies, each with its own key: none is a retry of another.
  const bodies = [
    missing(mug, { description: 'Attempt 0' }),
    {
      flow: 'dissatisfied',
      reason: 'quality',
      items: [{ line_item_id: mug, quantity: 1 }],
      resolution_preference: 'refund',
    },
    {
      flow: 'return',
      reason: 'changed_mind',
      items: [{ line_item_id: mug, quantity: 1 }],
      resolution_preference: 'refund',
    },
    missing(mug, { description: 'Attempt 3' }),
    {
      flow: 'return',
      reason: 'too_small',
      items: [{ line_item_id: mug, quantity: 1 }],
      resolution_preference: 'store_credit',
    },
  ];
  const answers = await Promise.all(
    bodies.map((body, i) => submit(shop, c.session, body, { 'idempotency-key': `unit-${i}` })),
  );
  const ok = answers.filter((a) => a.statusCode === 201);
  assert.equal(ok.length, 1, answers.map((a) => `${a.statusCode} ${a.body.slice(0, 120)}`).join('\n'));
  for (const a of answers.filter((x) => x.statusCode !== 201)) {
    assert.equal(a.statusCode, 422, a.body);
    assert.ok(
      ['already_claimed', 'item_not_eligible', 'quantity_not_eligible'].includes(a.json().error.key),
      a.body,
    );
  }
  const rows = await ctx.db.select().from(claims).where(eq(claims.orderId, c.order.id));
  assert.equal(rows.length, 1);
  assert.equal(rows[0].id, ok[0].json().id);
  const [units] = await ctx.db
    .select({ n: sql<number>`coalesce(sum(${claimItems.quantity}), 0)::int` })
    .from(claimItems)
    .innerJoin(claims, eq(claims.id, claimItems.claimId))
    .where(eq(claims.orderId, c.order.id));
  assert.equal(Number(units.n), 1);
});

test('concurrency: claim numbers stay unique and gap-free under 20 parallel submissions', async () => {
  const s = await createTestShop(ctx.db, 'cnum');
  const customers = await Promise.all(Array.from({ length: 20 }, () => customerOn(s, deliveredDoc())));
  const answers = await Promise.all(customers.map((c) => submit(s, c.session, missing(c.li1))));
  for (const a of answers) assert.equal(a.statusCode, 201, a.body);
  const numbers = answers.map((a) => a.json().number as string);
  const expected = Array.from({ length: 20 }, (_, i) => `R-${1001 + i}`);
  assert.deepEqual([...numbers].sort(), expected);
  const rows = await ctx.db
    .select({ number: claims.number })
    .from(claims)
    .where(eq(claims.shopId, s.shop.id));
  assert.deepEqual(rows.map((r) => r.number).sort(), expected);
  const [seq] = await ctx.db.select({ seq: shops.claimSeq }).from(shops).where(eq(shops.id, s.shop.id));
  assert.equal(seq.seq, 1020);
});

test('a claim checked on a snapshot of the order writes nothing when the order changed since, then the lock decides', async () => {
  const s = await createTestShop(ctx.db, 'csnap');
  const c = await customerOn(s, singleUnitDoc());
  const read = () =>
    claimContext(ctx.db, s.slug, `Bearer ${c.session}`, { preview: false, key: null, uploadIds: [] });
  const context = await read();
  assert.ok(!context.preview && context.snapshot, 'the claim context reads the order');
  const args = (): CreateClaimArgs => ({
    shop: context.shop,
    settings: resolveSettingsOf(context.shop),
    loadOrder: () => Promise.reject(new Error('not used by tryCreateClaim')),
    orderId: c.order.id,
    input: missing(c.li1) as ClaimInputT,
    channel: 'zip',
    language: 'en',
    actor: { type: 'customer', id: context.session.id },
    idempotencyKey: null,
    requestHash: null,
    sessionId: context.session.id,
  });
  // Another claim takes the only unit after the snapshot was read.
  const other = await submit(s, c.session, missing(c.li1));
  assert.equal(other.statusCode, 201, other.body);
  const before = await footprint(s.shop.id);
  assert.equal(await tryCreateClaim(ctx.db, args(), context.snapshot, context.snapshot.rowVersion), null);
  assert.deepEqual(await footprint(s.shop.id), before, 'a write on a stale snapshot stored something');
  // The locking path sees the other claim.
  await assert.rejects(
    ctx.db.transaction((tx) =>
      createClaim(tx, {
        ...args(),
        loadOrder: (t) => loadOneOrderView(t, s.shop.id, c.order.id, { stuckAfterDays: 7 }),
      }),
    ),
    (err: AppError) => err.key === 'already_claimed',
  );
  // Any change of the order row (here a merchant's update) makes the snapshot stale too.
  const d = await customerOn(s, deliveredDoc());
  const fresh = await claimContext(ctx.db, s.slug, `Bearer ${d.session}`, {
    preview: false,
    key: null,
    uploadIds: [],
  });
  assert.ok(!fresh.preview && fresh.snapshot);
  await putOrder(s, { ...d.doc, tags: ['changed-by-the-merchant'] });
  const stale = {
    ...args(),
    orderId: d.order.id,
    input: missing(d.li1) as ClaimInputT,
    sessionId: fresh.session.id,
  };
  assert.equal(await tryCreateClaim(ctx.db, stale, fresh.snapshot, fresh.snapshot.rowVersion), null);
  const again = await claimContext(ctx.db, s.slug, `Bearer ${d.session}`, {
    preview: false,
    key: null,
    uploadIds: [],
  });
  assert.ok(!again.preview && again.snapshot);
  assert.notEqual(again.snapshot.rowVersion, fresh.snapshot.rowVersion);
  const made = await tryCreateClaim(ctx.db, stale, again.snapshot, again.snapshot.rowVersion);
  assert.equal(made?.created.row.number, 'R-1002', 'numbers stay gap-free: the refused writes took none');
  assert.equal((await footprint(s.shop.id)).claimSeq, 1002);
});

test('an upload removed by the clean-up after the claim read it: nothing is stored, the claim is refused', async () => {
  const s = await createTestShop(ctx.db, 'cgone');
  const c = await customerOn(s, deliveredDoc());
  const photo = await upload(s, c.session);
  const context = await claimContext(ctx.db, s.slug, `Bearer ${c.session}`, {
    preview: false,
    key: null,
    uploadIds: [photo],
  });
  assert.ok(!context.preview && context.snapshot);
  assert.deepEqual(
    context.snapshot.uploads.map((u) => u.id),
    [photo],
  );
  // The clean-up job runs now (the upload is made to look 25 hours old).
  await ctx.db
    .update(uploads)
    .set({ createdAt: sql`now() - interval '25 hours'` })
    .where(eq(uploads.id, photo));
  assert.ok((await removeStaleUploads(ctx.db, createStorage(ctx.deps.config))) >= 1);

  const before = await footprint(s.shop.id);
  const args: CreateClaimArgs = {
    shop: context.shop,
    settings: resolveSettingsOf(context.shop),
    loadOrder: (t) => loadOneOrderView(t, s.shop.id, c.order.id, { stuckAfterDays: 7 }),
    orderId: c.order.id,
    input: defective(c.li1, photo) as ClaimInputT,
    channel: 'zip',
    language: 'en',
    actor: { type: 'customer', id: context.session.id },
    idempotencyKey: null,
    requestHash: null,
    sessionId: context.session.id,
  };
  assert.equal(await tryCreateClaim(ctx.db, args, context.snapshot, context.snapshot.rowVersion), null);
  assert.deepEqual(await footprint(s.shop.id), before, 'a claim was written with a removed upload');
  // The locking path (where the server goes next) refuses it with the evidence error.
  await assert.rejects(
    ctx.db.transaction((tx) => createClaim(tx, args)),
    (err: AppError) => err.key === 'invalid_evidence',
  );
  assertError(await refused(s, () => submit(s, c.session, defective(c.li1, photo))), 422, 'invalid_evidence');
  // A new photo makes the same claim go through, with the next number.
  const again = await submit(s, c.session, defective(c.li1, await upload(s, c.session)));
  assert.equal(again.statusCode, 201, again.body);
  assert.equal(again.json().number, 'R-1001');
});

test('a rejected claim gives its units back', async () => {
  const c = await customerOn(shop, singleUnitDoc());
  const first = await submit(shop, c.session, missing(c.li1));
  assert.equal(first.statusCode, 201, first.body);
  assertError(await refused(shop, () => submit(shop, c.session, missing(c.li1))), 422, 'already_claimed');

  const reject = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/shops/${shop.slug}/claims/${first.json().id}`,
    headers: shop.auth.editor,
    payload: { version: 1, status: 'rejected', note: 'Parcel was complete on the scale.' },
  });
  assert.equal(reject.statusCode, 200, reject.body);
  assert.equal(reject.json().status, 'rejected');

  const view = await ctx.app.inject({
    method: 'GET',
    url: `/v1/resolve/${shop.slug}/order`,
    headers: bearer(c.session),
  });
  const flow = view.json().flows.find((f: { flow: string }) => f.flow === 'missing_item');
  assert.equal(flow.available, true);
  assert.deepEqual(
    flow.items.map((i: { max_quantity: number }) => i.max_quantity),
    [1],
  );

  const again = await submit(shop, c.session, missing(c.li1, { description: 'Second try.' }));
  assert.equal(again.statusCode, 201, again.body);
  assert.notEqual(again.json().id, first.json().id);
  // An accepted claim keeps them.
  const accept = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/shops/${shop.slug}/claims/${again.json().id}`,
    headers: shop.auth.editor,
    payload: { version: 1, status: 'accepted' },
  });
  assert.equal(accept.statusCode, 200, accept.body);
  assertError(await refused(shop, () => submit(shop, c.session, missing(c.li1))), 422, 'already_claimed');
});

test('a support request naming an item does not use up the units a later claim needs', async () => {
  const c = await customerOn(shop, singleUnitDoc());
  const ask = await submit(shop, c.session, {
    flow: 'support',
    reason: 'other',
    items: [{ line_item_id: c.li1, quantity: 1 }],
    description: 'How do I clean this mug?',
  });
  assert.equal(ask.statusCode, 201, ask.body);
  assert.deepEqual(
    ask.json().items.map((i: { line_item_id: string; quantity: number }) => [i.line_item_id, i.quantity]),
    [[c.li1, 1]],
  );
  const view = await ctx.app.inject({
    method: 'GET',
    url: `/v1/resolve/${shop.slug}/order`,
    headers: bearer(c.session),
  });
  const flow = view.json().flows.find((f: { flow: string }) => f.flow === 'missing_item');
  assert.equal(flow.available, true, JSON.stringify(flow));
  const claim = await submit(shop, c.session, missing(c.li1));
  assert.equal(claim.statusCode, 201, claim.body);
});
