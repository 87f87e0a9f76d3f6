import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { query } from '../src/db/client.js';
import { shops } from '../src/db/schema.js';
import { loadMasterSecret } from '../src/lib/secret.js';
import { issuePreviewSession, PREVIEW_TTL_SECONDS } from '../src/resolve/preview.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, daysAgo, type Res } from './support/http.js';
import { photoForm } from './support/multipart.js';
import { orderDoc } from './support/orders.js';

// Preview mode (SPEC §5: "a preview mode in the portal runs the same flow on a test order and creates
// nothing"): POST /v1/shops/{slug}/resolve/preview hands an editor a signed, stateless preview bearer; with
// it the customer-flow API answers for an in-memory test order and stores nothing.

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'images');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

let ctx: TestContext;
let shop: TestShop;
let other: TestShop;
let master: Buffer;

before(async () => {
  ctx = await startTestApp();
  master = await loadMasterSecret(ctx.db, ctx.deps.config);
  shop = await createTestShop(ctx.db, 'prev');
  other = await createTestShop(ctx.db, 'prevb');
});
after(() => ctx.close());

// ---------------------------------------------------------------------------------------------------------
// Helpers

const createPreview = (s: TestShop, headers: Record<string, string>, payload?: object) =>
  ctx.app.inject({ method: 'POST', url: `/v1/shops/${s.slug}/resolve/preview`, headers, payload });

async function previewBearer(s: TestShop = shop): Promise<{ authorization: string }> {
  const res = await createPreview(s, s.auth.editor);
  assert.equal(res.statusCode, 201, res.body);
  return { authorization: `Bearer ${res.json().session}` };
}

const getOrder = (auth: { authorization: string }, s: TestShop = shop) =>
  ctx.app.inject({ method: 'GET', url: `/v1/resolve/${s.slug}/order`, headers: auth });

function upload(auth: { authorization: string }, data: Buffer, filename = 'photo.jpg', type = 'image/jpeg') {
  const { payload, headers } = photoForm(data, filename, type);
  return ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${shop.slug}/uploads`,
    headers: { ...auth, ...headers },
    payload,
  });
}

async function uploadId(auth: { authorization: string }, name = 'plain.jpg'): Promise<string> {
  const res = await upload(auth, fixture(name));
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

const submit = (auth: { authorization: string }, body: object, s: TestShop = shop) =>
  ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${s.slug}/claims`,
    headers: { ...auth, 'idempotency-key': randomBytes(8).toString('hex') },
    payload: body,
  });

const patchSettings = async (s: TestShop, payload: object) => {
  const res = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/shops/${s.slug}/settings/resolve`,
    headers: s.auth.admin,
    payload,
  });
  assert.equal(res.statusCode, 200, res.body);
};

interface FlowView {
  flow: string;
  available: boolean;
  reason_code: string | null;
  items: { line_item_id: string; max_quantity: number }[];
}
const flowOf = (res: Res, name: string) => (res.json().flows as FlowView[]).find((f) => f.flow === name)!;

/**
 * Every row that belongs to the shop, in every table with a `shop_id` column (claims, items, evidence,
 * history, uploads, sessions, events, rate limits, …), plus the shop's claim counter and its stored files.
 */
async function footprint(s: TestShop) {
  const tables = await query<{ table_name: string }>(
    ctx.db,
    sql`select table_name from information_schema.columns
        where column_name = 'shop_id' and table_schema = current_schema() order by table_name`,
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [row] = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from ${sql.identifier(table_name)} where shop_id = ${s.shop.id}`,
    );
    counts[table_name] = Number(row.n);
  }
  const [seq] = await ctx.db.select({ seq: shops.claimSeq }).from(shops).where(eq(shops.id, s.shop.id));
  const cfg = ctx.deps.config.storage;
  assert.equal(cfg.driver, 'local');
  const dir = path.join(cfg.dir, s.shop.id);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).length : 0;
  return { counts, claimSeq: seq.seq, files };
}

const defective = (evidence: object[], extra: object = {}) => ({
  flow: 'defective',
  reason: 'damaged_in_transit',
  items: [{ line_item_id: 'li_preview_1', quantity: 2 }],
  description: 'Both shirts arrived torn.',
  resolution_preference: 'refund',
  evidence,
  ...extra,
});

// ---------------------------------------------------------------------------------------------------------

describe('POST /v1/shops/{slug}/resolve/preview', () => {
  test('needs an API key with the editor role', async () => {
    assertError(await createPreview(shop, {}), 401, 'unauthorized');
    assertError(await createPreview(shop, shop.auth.viewer), 403, 'forbidden');
    // A key of another shop: that shop does not exist for it.
    assertError(await createPreview(shop, other.auth.admin), 404, 'shop_not_found');
    for (const role of ['editor', 'admin'] as const)
      assert.equal((await createPreview(shop, shop.auth[role])).statusCode, 201);
  });

  test('answers a signed bearer, its expiry and the page URL (bearer in the fragment); stores nothing', async () => {
    const before = await footprint(shop);
    const t0 = Date.now();
    const res = await createPreview(shop, shop.auth.editor);
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['expires_at', 'session', 'url']);
    assert.match(body.session, /^rsp_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.equal(body.url, `http://resolve.test/resolve/${shop.slug}?preview=1#preview=${body.session}`);
    const ttl = Date.parse(body.expires_at) - t0;
    assert.ok(ttl > (PREVIEW_TTL_SECONDS - 5) * 1000 && ttl <= (PREVIEW_TTL_SECONDS + 1) * 1000, `${ttl}`);
    assert.deepEqual(await footprint(shop), before);

    const de = await createPreview(shop, shop.auth.editor, { lang: 'de' });
    assert.equal(de.statusCode, 201, de.body);
    assert.match(de.json().url, new RegExp(`/resolve/${shop.slug}\\?preview=1&lang=de#preview=rsp_`));
    assertError(await createPreview(shop, shop.auth.editor, { lang: 'german' }), 400, 'validation_failed');
  });
});

test('the OpenAPI document describes the preview endpoint and the preview level', async () => {
  const doc = (await ctx.app.inject({ url: '/v1/openapi.json' })).json();
  const op = doc.paths['/v1/shops/{slug}/resolve/preview'].post;
  assert.match(op.summary, /preview/i);
  const ok = op.responses['201'].content['application/json'].schema;
  assert.deepEqual(Object.keys(ok.properties).sort(), ['expires_at', 'session', 'url']);
  const order = doc.paths['/v1/resolve/{slug}/order'].get.responses['200'].content['application/json'].schema;
  assert.ok(order.properties.level.enum.includes('preview'));
});

describe('the customer flow in preview', () => {
  test('reads the test order (1001: delivered 2 days ago, 3 lines, one of quantity 2) with flows', async () => {
    const res = await getOrder(await previewBearer());
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['resolve-preview'], 'true');
    const body = res.json();
    assert.equal(body.level, 'preview');
    assert.deepEqual(body.actions, { cancel: false, change_address: false });
    assert.equal(body.order.order_number, 'PREVIEW');
    assert.equal(body.order.id, 'ord_preview');
    assert.equal(body.order.state, 'fulfilled');
    const lines = body.order.line_items.map((l: { id: string; quantity: number }) => `${l.id}×${l.quantity}`);
    assert.deepEqual(lines, ['li_preview_1×2', 'li_preview_2×1', 'li_preview_3×1']);
    assert.equal(body.order.shipments.length, 1);
    const [s] = body.order.shipments;
    assert.equal(s.id, 'shp_preview_1');
    assert.equal(s.phase, 'delivered');
    const age = Date.now() - Date.parse(s.delivered_at);
    assert.ok(Math.abs(age - 2 * 86_400_000) < 60_000, `delivered ${age} ms ago`);

    const d = flowOf(res, 'defective');
    assert.equal(d.available, true);
    const items = d.items.map((i) => `${i.line_item_id}×${i.max_quantity}`);
    assert.deepEqual(items, ['li_preview_1×2', 'li_preview_2×1', 'li_preview_3×1']);
    for (const f of ['not_received', 'missing_item', 'wrong_item', 'return', 'dissatisfied', 'support'])
      assert.equal(flowOf(res, f).available, true, f);
    // The claim list of the test order is empty.
    const list = await ctx.app.inject({
      method: 'GET',
      url: `/v1/resolve/${shop.slug}/claims`,
      headers: await previewBearer(),
    });
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(list.json(), { data: [], has_more: false, next_cursor: null });
  });

  test('the shop’s current settings decide the flows', async () => {
    const s = await createTestShop(ctx.db, 'prevset');
    const auth = await previewBearer(s);
    assert.equal(flowOf(await getOrder(auth, s), 'defective').available, true);
    await patchSettings(s, { flows: { defective: { enabled: false } }, return_window_days: 1 });
    // The same bearer: the settings are read at each request.
    const res = await getOrder(auth, s);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(
      { available: flowOf(res, 'defective').available, reason: flowOf(res, 'defective').reason_code },
      { available: false, reason: 'flow_disabled' },
    );
    assert.equal(flowOf(res, 'return').reason_code, 'outside_return_window');
    assert.equal(flowOf(res, 'missing_item').available, true);
    const err = assertError(await submit(auth, defective([]), s), 422, 'flow_disabled');
    assert.match(err.message, /defective/);
  });

  test('uploads are checked like real ones and nothing is stored', async () => {
    const auth = await previewBearer();
    const before = await footprint(shop);
    for (const [name, type] of [
      ['plain.jpg', 'image/jpeg'],
      ['exif-gps.png', 'image/png'],
      ['exif-gps.webp', 'image/webp'],
      ['exif-gps.heic', 'image/heic'],
    ]) {
      const res = await upload(auth, fixture(name));
      assert.equal(res.statusCode, 201, `${name}: ${res.body}`);
      assert.equal(res.headers['resolve-preview'], 'true');
      const body = res.json();
      assert.match(body.id, /^upl_preview_[A-Za-z0-9_-]+$/);
      assert.equal(body.content_type, type, name);
      assert.ok(body.size > 0 && body.size <= fixture(name).length, name);
    }
    // Not an image (by content, whatever the name says): the same 415 as a real upload.
    assertError(
      await upload(auth, Buffer.from('%PDF-1.4 not a photo'), 'photo.jpg', 'image/jpeg'),
      415,
      'unsupported_file_type',
    );
    // A photo with a script appended: the same 422 as a real upload.
    const polyglot = Buffer.concat([fixture('plain.jpg'), Buffer.from('<script>alert(1)</script>')]);
    assert.equal((await upload(auth, polyglot)).statusCode, 422);
    assertError(await upload(auth, Buffer.alloc(0)), 400, 'validation_failed');
    assert.deepEqual(await footprint(shop), before);
  });

  test('a valid claim answers 201 as the claim it would be, and creates nothing', async () => {
    const auth = await previewBearer();
    const photo = await uploadId(auth, 'exif-gps.png');
    const before = await footprint(shop);
    const res = await submit(
      auth,
      defective([{ upload_id: photo, kind: 'photo', line_item_id: 'li_preview_1' }]),
    );
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['resolve-preview'], 'true');
    const claim = res.json();
    assert.equal(claim.number, 'PREVIEW-1');
    assert.equal(claim.status, 'pending');
    assert.equal(claim.channel, 'preview');
    assert.equal(claim.shop, shop.slug);
    assert.equal(claim.order_id, 'ord_preview');
    assert.equal(claim.order_number, 'PREVIEW');
    assert.equal(claim.shipment_id, 'shp_preview_1');
    assert.equal(claim.flow, 'defective');
    assert.equal(claim.resolution_preference, 'refund');
    assert.deepEqual(claim.items, [
      {
        line_item_id: 'li_preview_1',
        shipment_id: 'shp_preview_1',
        sku: 'TEE-BLK-M',
        title: 'Organic cotton T-shirt',
        variant_title: 'Black / M',
        quantity: 2,
        unit_net_price: 2499,
        image_url: null,
      },
    ]);
    assert.equal(claim.evidence.length, 1);
    assert.equal(claim.evidence[0].id, photo);
    assert.equal(claim.evidence[0].content_type, 'image/png');
    assert.equal(claim.evidence[0].line_item_id, 'li_preview_1');

    // Other flows: a not-received claim (drop-off answer) and a missing item (no evidence needed).
    const nr = await submit(auth, {
      flow: 'not_received',
      reason: 'delivered_not_received',
      items: [{ line_item_id: 'li_preview_2', quantity: 1 }],
      resolution_preference: 'replacement',
      dropoff_permission: false,
    });
    assert.equal(nr.statusCode, 201, nr.body);
    assert.equal(nr.json().dropoff_permission, false);
    const mi = await submit(auth, {
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: 'li_preview_3', quantity: 1 }],
      resolution_preference: 'replacement',
    });
    assert.equal(mi.statusCode, 201, mi.body);

    assert.deepEqual(await footprint(shop), before, 'a preview claim stored something');
    // Still nothing claimed on the test order.
    assert.equal(flowOf(await getOrder(auth), 'defective').items[0].max_quantity, 2);
  });

  test('ineligible or invalid input answers the same keys as a real submission', async () => {
    const auth = await previewBearer();
    const photo = await uploadId(auth);
    const ev = [{ upload_id: photo, kind: 'photo', line_item_id: 'li_preview_1' }];
    const before = await footprint(shop);
    const one = (line: string, quantity: number) => ({ items: [{ line_item_id: line, quantity }] });
    assertError(await submit(auth, defective(ev, one('li_preview_1', 3))), 422, 'quantity_not_eligible');
    assertError(await submit(auth, defective(ev, one('li_nope', 1))), 422, 'item_not_eligible');
    // defective needs a photo of each item.
    assertError(await submit(auth, defective([])), 422, 'evidence_required');
    // Evidence must be an upload of this preview: a made-up or real-looking id is refused.
    for (const upload_id of ['upl_01abc', 'upl_preview_AAAAAAAAAAAAAAAAAAAAAAAA'])
      assertError(
        await submit(auth, defective([{ upload_id, kind: 'photo', line_item_id: 'li_preview_1' }])),
        422,
        'invalid_evidence',
      );
    const bad = assertError(await submit(auth, defective(ev, { reason: 'nope' })), 400, 'validation_failed');
    assert.ok(bad.errors?.some((e) => e.path === '/reason'));
    const noDrop = assertError(
      await submit(auth, {
        flow: 'not_received',
        reason: 'delivered_not_received',
        items: [{ line_item_id: 'li_preview_1', quantity: 1 }],
        resolution_preference: 'refund',
      }),
      400,
      'validation_failed',
    );
    assert.ok(noDrop.errors?.some((e) => e.path === '/dropoff_permission'));
    assert.deepEqual(await footprint(shop), before);
  });

  test('order actions answer 403 preview_only', async () => {
    const auth = await previewBearer();
    const base = `/v1/resolve/${shop.slug}/order`;
    assertError(
      await ctx.app.inject({ method: 'POST', url: `${base}/cancel`, headers: auth, payload: {} }),
      403,
      'preview_only',
    );
    const address = {
      name: 'Kim Berg',
      address_line_1: 'Torstr. 1',
      city: 'Berlin',
      zip_code: '10119',
      country_code: 'DE',
    };
    assertError(
      await ctx.app.inject({ method: 'POST', url: `${base}/address`, headers: auth, payload: address }),
      403,
      'preview_only',
    );
  });
});

describe('the preview bearer', () => {
  const bearer = (session: string) => ({ authorization: `Bearer ${session}` });

  test('of one shop is refused on another, like an unknown session', async () => {
    const auth = await previewBearer(shop);
    assertError(await getOrder(auth, other), 401, 'session_expired');
    assert.equal((await upload(auth, fixture('plain.jpg'))).statusCode, 201); // its own shop is fine
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${other.slug}/uploads`,
      headers: auth,
    });
    assertError(res, 401, 'session_expired');
  });

  test('tampered, forged, malformed or expired bearers are refused', async () => {
    const { session } = issuePreviewSession(master, shop.shop.id);
    assert.equal((await getOrder(bearer(session))).statusCode, 200);
    const [payload, sig] = session.split('.');
    // Another shop id in the payload, the original signature.
    const swapped = `rsp_${Buffer.from(JSON.stringify({ shop: other.shop.id, exp: 4_102_444_800 })).toString('base64url')}`;
    assertError(await getOrder(bearer(`${swapped}.${sig}`), other), 401, 'session_expired');
    // A later expiry, the original signature.
    const later = `rsp_${Buffer.from(JSON.stringify({ shop: shop.shop.id, exp: 4_102_444_800 })).toString('base64url')}`;
    assertError(await getOrder(bearer(`${later}.${sig}`)), 401, 'session_expired');
    // A changed signature.
    const flipped = `${payload}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    assertError(await getOrder(bearer(flipped)), 401, 'session_expired');
    // Signed with another secret.
    const forged = issuePreviewSession(Buffer.from('not the master secret'), shop.shop.id).session;
    assertError(await getOrder(bearer(forged)), 401, 'session_expired');
    // Malformed.
    assertError(await getOrder(bearer('rsp_abc')), 401, 'session_required');
    assertError(await getOrder(bearer(`${payload}.`)), 401, 'session_required');
    // Expired (issued two hours ago).
    const old = issuePreviewSession(master, shop.shop.id, new Date(Date.now() - 2 * 3_600_000)).session;
    const err = assertError(await getOrder(bearer(old)), 401, 'session_expired');
    assert.match(err.message, /preview/i);
    assertError(await submit(bearer(old), defective([])), 401, 'session_expired');
  });

  test('is no merchant credential, and preview uploads are no evidence for a real claim', async () => {
    const auth = await previewBearer();
    const photo = await uploadId(auth);
    assertError(
      await ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}/claims`, headers: auth }),
      401,
      'unauthorized',
    );
    // A real order delivered yesterday, a real zip-level session.
    const doc = orderDoc();
    doc.placed_at = daysAgo(4);
    doc.shipments = doc.shipments!.map((x) => ({
      ...x,
      events: [
        {
          time: daysAgo(1),
          code: 'delivered',
          phase: 'delivered' as const,
          description: null,
          location: null,
        },
      ],
    }));
    const put = await ctx.app.inject({
      method: 'PUT',
      url: `/v1/shops/${shop.slug}/orders`,
      headers: shop.auth.editor,
      payload: doc,
    });
    assert.equal(put.statusCode, 201, put.body);
    const line = put.json().line_items[0].id as string;
    const open = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/sessions`,
      payload: { order_number: doc.order_number, zip_code: '10115' },
      remoteAddress: `10.77.${randomBytes(1)[0]}.${randomBytes(1)[0]}`,
    });
    assert.equal(open.statusCode, 201, open.body);
    const real = bearer(open.json().session);
    assert.equal(open.json().level, 'zip');
    assertError(
      await submit(
        real,
        defective([{ upload_id: photo, kind: 'photo', line_item_id: line }], {
          items: [{ line_item_id: line, quantity: 1 }],
        }),
      ),
      422,
      'invalid_evidence',
    );
    // …and the real path is unchanged: with a real upload the claim is created.
    const before = await footprint(shop);
    const realPhoto = await uploadId(real);
    assert.match(realPhoto, /^upl_(?!preview)/);
    const ok = await submit(
      real,
      defective([{ upload_id: realPhoto, kind: 'photo', line_item_id: line }], {
        items: [{ line_item_id: line, quantity: 1 }],
      }),
    );
    assert.equal(ok.statusCode, 201, ok.body);
    assert.match(ok.json().number, /^R-\d+$/);
    assert.equal(ok.json().channel, 'zip');
    assert.equal(ok.headers['resolve-preview'], undefined);
    // (The footprint sees what a real claim writes.)
    const after = await footprint(shop);
    for (const table of ['claims', 'claim_items', 'claim_evidence', 'claim_history', 'uploads', 'events'])
      assert.ok(after.counts[table] > before.counts[table], table);
    assert.equal(after.claimSeq, before.claimSeq + 1);
    assert.equal(after.files, before.files + 1);
  });
});
