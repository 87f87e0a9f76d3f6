import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { claims, uploads } from '../src/db/schema.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { lineId, type StoredOrder } from './support/claims.js';
import { assertError, daysAgo, type Res, randomIp } from './support/http.js';
import { fixture, LAT_BE } from './support/images.js';
import { photoForm } from './support/multipart.js';
import { orderDoc } from './support/orders.js';

// Photos for claims the merchant records (taken by phone or email): POST /v1/shops/{slug}/orders/{id}/uploads,
// then `evidence` in POST /v1/shops/{slug}/claims. Checked like a customer's upload; a customer cannot use them.

let ctx: TestContext;
let shop: TestShop;
let other: TestShop;
before(async () => {
  ctx = await startTestApp();
  shop = await createTestShop(ctx.db, 'mup');
  other = await createTestShop(ctx.db, 'mup');
});
after(() => ctx.close());

async function deliveredOrder(s: TestShop = shop): Promise<StoredOrder & { zip: string }> {
  const doc = orderDoc();
  const events = [
    {
      time: daysAgo(3),
      code: 'picked_up',
      phase: 'in_transit' as const,
      description: 'Picked up',
      location: null,
    },
    {
      time: daysAgo(2),
      code: 'delivered',
      phase: 'delivered' as const,
      description: 'Delivered',
      location: null,
    },
  ];
  const res = await ctx.app.inject({
    method: 'PUT',
    url: `/v1/shops/${s.slug}/orders`,
    headers: s.auth.editor,
    payload: { ...doc, placed_at: daysAgo(6), shipments: doc.shipments!.map((x) => ({ ...x, events })) },
  });
  assert.equal(res.statusCode, 201, res.body);
  return { ...res.json(), zip: doc.shipping_address!.zip_code! };
}

function upload(
  orderId: string,
  file: Buffer,
  opts: { s?: TestShop; headers?: Record<string, string>; filename?: string; type?: string } = {},
): Promise<Res> {
  const s = opts.s ?? shop;
  const { payload, headers } = photoForm(file, opts.filename ?? 'photo.jpg', opts.type ?? 'image/jpeg');
  return ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${s.slug}/orders/${encodeURIComponent(orderId)}/uploads`,
    headers: { ...(opts.headers ?? s.auth.editor), ...headers },
    payload,
  });
}

const damaged = (o: StoredOrder, evidence: unknown[]) => ({
  order_id: o.id,
  flow: 'defective',
  reason: 'damaged_in_transit',
  items: [{ line_item_id: lineId(o, 'li-1'), quantity: 1 }],
  description: 'Customer emailed a photo: the mug arrived in pieces.',
  resolution_preference: 'replacement',
  evidence,
});

const record = (body: object): Promise<Res> =>
  ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/claims`,
    headers: shop.auth.editor,
    payload: body,
  });

const rowsOf = (orderId: string) =>
  ctx.db
    .select()
    .from(uploads)
    .where(and(eq(uploads.shopId, shop.shop.id), eq(uploads.orderId, orderId)));

describe('merchant uploads', () => {
  test('a photo uploaded to the order (by id or external_id) is evidence of a claim recorded for it', async () => {
    const o = await deliveredOrder();
    const gps = fixture('exif-gps-orientation.jpg');
    assert.ok(gps.includes(LAT_BE), 'the fixture carries a location');
    const first = await upload(o.id, gps);
    assert.equal(first.statusCode, 201, first.body);
    const up = first.json();
    assert.match(up.id, /^upl_/);
    assert.equal(up.content_type, 'image/jpeg');
    const byExternal = await upload(o.external_id, fixture('plain.jpg'));
    assert.equal(byExternal.statusCode, 201, byExternal.body);
    const rows = await rowsOf(o.id);
    assert.deepEqual(rows.map((r) => r.id).sort(), [up.id, byExternal.json().id].sort());
    assert.ok(rows.every((r) => r.sessionId === null && r.claimId === null));

    const res = await record(
      damaged(o, [
        { upload_id: up.id, kind: 'photo', line_item_id: lineId(o, 'li-1') },
        { upload_id: byExternal.json().id, kind: 'package_photo' },
      ]),
    );
    assert.equal(res.statusCode, 201, res.body);
    const claim = res.json();
    assert.deepEqual(
      claim.evidence.map((e: { id: string; kind: string }) => [e.id, e.kind]),
      [
        [up.id, 'photo'],
        [byExternal.json().id, 'package_photo'],
      ],
    );
    // Served through the signed URL, without the location the phone wrote into it.
    const url = new URL(claim.evidence[0].url);
    const file = await ctx.app.inject({ method: 'GET', url: `${url.pathname}${url.search}` });
    assert.equal(file.statusCode, 200);
    assert.equal(file.headers['content-type'], 'image/jpeg');
    assert.equal(file.rawPayload.length, up.size);
    assert.ok(!file.rawPayload.includes(LAT_BE), 'location removed');
    assert.ok((await rowsOf(o.id)).every((r) => r.claimId === claim.id));

    // Used once: a second claim cannot name it again.
    const again = await record({
      ...damaged(o, [{ upload_id: up.id, kind: 'photo' }]),
      override_gating: true,
    });
    assert.equal(assertError(again, 422, 'invalid_evidence').errors?.[0]?.path, '/evidence/0/upload_id');
  });

  test('an upload belongs to its order and its shop: not evidence elsewhere, and a customer cannot use it', async () => {
    const o = await deliveredOrder();
    const p = await deliveredOrder();
    const up = (await upload(o.id, fixture('plain.jpg'))).json();
    // Another order of the same shop.
    const elsewhere = await record(damaged(p, [{ upload_id: up.id, kind: 'photo' }]));
    assertError(elsewhere, 422, 'invalid_evidence');
    // The customer of that order, in a session of their own.
    const session = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/sessions`,
      payload: { order_number: o.order_number, zip_code: o.zip },
      remoteAddress: randomIp(),
    });
    assert.equal(session.statusCode, 201, session.body);
    const { order_id: _, ...customerBody } = damaged(o, [
      { upload_id: up.id, kind: 'photo', line_item_id: lineId(o, 'li-1') },
    ]);
    const byCustomer = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/claims`,
      headers: { authorization: `Bearer ${session.json().session}` },
      payload: customerBody,
    });
    assert.equal(assertError(byCustomer, 422, 'invalid_evidence').errors?.[0]?.path, '/evidence/0/upload_id');
    assert.equal((await ctx.db.select().from(claims).where(eq(claims.orderId, o.id))).length, 0);
    // Another shop's key cannot upload to this shop's order, nor find it through its own slug.
    assertError(
      await upload(o.id, fixture('plain.jpg'), { headers: other.auth.editor }),
      404,
      'shop_not_found',
    );
    assertError(await upload(o.id, fixture('plain.jpg'), { s: other }), 404, 'order_not_found');
    assertError(await upload('ord_nope', fixture('plain.jpg')), 404, 'order_not_found');
    assert.equal((await rowsOf(o.id)).length, 1);
  });

  test('bad uploads: a clear 4xx with a stable key, nothing stored', async () => {
    const o = await deliveredOrder();
    const text = Buffer.from('%PDF-1.7 not a photo');
    assertError(await upload(o.id, text, { filename: 'a.jpg' }), 415, 'unsupported_file_type');
    assertError(await upload(o.id, fixture('plain.jpg'), { headers: shop.auth.viewer }), 403, 'forbidden');
    const anonymous = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${shop.slug}/orders/${o.id}/uploads`,
      ...photoForm(fixture('plain.jpg')),
    });
    assert.equal(anonymous.statusCode, 401);
    const asJson = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${shop.slug}/orders/${o.id}/uploads`,
      headers: shop.auth.editor,
      payload: { file: 'x' },
    });
    assertError(asJson, 415, 'unsupported_media_type');
    const big = Buffer.concat([fixture('plain.jpg'), Buffer.alloc(11 * 1024 * 1024)]);
    assertError(await upload(o.id, big), 413, 'payload_too_large');
    const empty = await upload(o.id, Buffer.alloc(0));
    assert.equal(empty.statusCode, 400, empty.body);
    assert.equal((await rowsOf(o.id)).length, 0);
  });
});
