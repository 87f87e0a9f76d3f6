import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OrderInputT } from '../src/orders/document.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, daysAgo } from './support/http.js';
import { orderDoc } from './support/orders.js';

// GET /v1/shops/{slug}/orders/{id}/eligibility: what a merchant may record a claim for, as the customer page
// is told (the same `flows`), so the portal's "Record a claim" form offers only what POST …/claims accepts.

let ctx: TestContext;
let s: TestShop;
let other: TestShop;
before(async () => {
  ctx = await startTestApp();
  s = await createTestShop(ctx.db, 'elig');
  other = await createTestShop(ctx.db, 'elig-other');
});
after(() => ctx.close());

interface Flow {
  flow: string;
  available: boolean;
  reason_code: string | null;
  reasons: { code: string; label: string }[];
  items: { line_item_id: string; max_quantity: number }[];
  resolutions: string[];
}
interface Stored {
  id: string;
  external_id: string;
  line_items: { id: string; external_id: string }[];
}

/** An order whose one shipment (all items) was delivered `days` days ago. */
function delivered(days: number, overrides: Partial<OrderInputT> = {}): OrderInputT {
  const doc = orderDoc(overrides);
  return {
    ...doc,
    placed_at: daysAgo(days + 3),
    shipments: doc.shipments!.map((sh) => ({
      ...sh,
      events: [
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

async function put(shop: TestShop, doc: OrderInputT): Promise<Stored> {
  const res = await ctx.app.inject({
    method: 'PUT',
    url: `/v1/shops/${shop.slug}/orders`,
    headers: shop.auth.editor,
    payload: doc,
  });
  assert.ok([200, 201].includes(res.statusCode), res.body);
  return res.json();
}

const eligibility = (
  shop: TestShop,
  id: string,
  headers: Record<string, string> = shop.auth.viewer,
  query = '',
) =>
  ctx.app.inject({
    method: 'GET',
    url: `/v1/shops/${shop.slug}/orders/${encodeURIComponent(id)}/eligibility${query}`,
    headers,
  });
const flow = (res: { json(): { flows: Flow[] } }, name: string) =>
  res.json().flows.find((f) => f.flow === name)!;

describe('GET /v1/shops/{slug}/orders/{id}/eligibility', () => {
  test('a viewer reads the flows the customer page gets, less what claims took, in the asked language', async () => {
    const o = await put(s, delivered(2));
    const tee = o.line_items.find((l) => l.external_id === 'li-1')!.id;
    const res = await eligibility(s, o.id, { ...s.auth.viewer, 'accept-language': 'en-GB,en;q=0.8' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().order_id, o.id);
    assert.equal(res.json().language, 'en');
    const defective = flow(res, 'defective');
    assert.equal(defective.available, true);
    assert.equal(defective.reason_code, null);
    assert.deepEqual(
      defective.items.map((i) => i.max_quantity),
      [2, 1],
    );
    assert.ok(
      defective.reasons.some((r) => r.code === 'damaged_in_transit' && r.label === 'Damaged in transit'),
    );
    // By external id too, labels in German.
    const de = await eligibility(s, o.external_id, { ...s.auth.viewer, 'accept-language': 'de' });
    assert.equal(de.json().language, 'de');
    assert.notEqual(flow(de, 'defective').reasons[0].label, defective.reasons[0].label);

    // A merchant claim on one T-shirt leaves one.
    const created = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${s.slug}/claims`,
      headers: s.auth.editor,
      payload: {
        order_id: o.id,
        flow: 'defective',
        reason: 'damaged_in_transit',
        items: [{ line_item_id: tee, quantity: 1 }],
        resolution_preference: 'refund',
        channel: 'portal',
      },
    });
    assert.equal(created.statusCode, 201, created.body);
    const after = flow(await eligibility(s, o.id), 'defective');
    assert.equal(after.items.find((i) => i.line_item_id === tee)!.max_quantity, 1);
  });

  test('a cancelled order gives order_cancelled; one outside the windows, outside_*_window unless it is goodwill', async () => {
    const cancelled = await put(s, { ...orderDoc(), cancelled_at: daysAgo(1), shipments: [] });
    const res = await eligibility(s, cancelled.id);
    assert.equal(res.statusCode, 200, res.body);
    for (const f of res.json().flows as Flow[])
      if (f.flow !== 'support') {
        assert.equal(f.available, false, f.flow);
        assert.equal(f.reason_code, 'order_cancelled', f.flow);
      }
    assert.equal(flow(res, 'support').available, true);

    const old = await put(s, delivered(60));
    const late = await eligibility(s, old.id);
    assert.equal(flow(late, 'defective').reason_code, 'outside_claim_window');
    assert.equal(flow(late, 'return').reason_code, 'outside_return_window');
    const goodwill = await eligibility(s, old.id, s.auth.viewer, '?override_gating=true');
    assert.equal(flow(goodwill, 'defective').available, true);
    assert.equal(flow(goodwill, 'defective').items.length, 2);
  });

  test('tenant isolation and unknown orders: 404 order_not_found; another shop’s key: 404 shop_not_found', async () => {
    const foreign = await put(other, delivered(2));
    assertError(await eligibility(s, foreign.id), 404, 'order_not_found');
    assertError(await eligibility(s, foreign.external_id), 404, 'order_not_found');
    assertError(await eligibility(s, 'ord_00000000000000000000000000'), 404, 'order_not_found');
    assertError(await eligibility(s, foreign.id, other.auth.admin), 404, 'shop_not_found');
    assertError(await eligibility(s, foreign.id, {}), 401, 'unauthorized');
  });

  test('the OpenAPI document describes it', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    const op = doc.paths['/v1/shops/{slug}/orders/{id}/eligibility']?.get;
    assert.ok(op, 'documented');
    assert.match(op.description, /reason_code/);
    assert.match(op.description, /override_gating/);
  });
});

describe('a document that drops a claimed line', () => {
  test('keeps the line for its claim, hides it from the order, and the same line comes back when listed again', async () => {
    const doc = delivered(2);
    const o = await put(s, doc);
    const tee = o.line_items.find((l) => l.external_id === 'li-1')!.id;
    const mug = o.line_items.find((l) => l.external_id === 'li-2')!.id;
    const claim = (quantity: number) =>
      ctx.app.inject({
        method: 'POST',
        url: `/v1/shops/${s.slug}/claims`,
        headers: s.auth.editor,
        payload: {
          order_id: o.id,
          flow: 'defective',
          reason: 'damaged_in_transit',
          items: [{ line_item_id: tee, quantity }],
          resolution_preference: 'refund',
          channel: 'portal',
        },
      });
    const first = await claim(2);
    assert.equal(first.statusCode, 201, first.body);

    // The shop drops the claimed T-shirt (an order edit): it stays for the claim, hidden from the order.
    const only = (ext: string) => ({
      ...doc,
      line_items: doc.line_items.filter((l) => l.external_id === ext),
      shipments: doc.shipments!.map((sh) => ({
        ...sh,
        line_items: sh.line_items.filter((l) => l.external_id === ext),
      })),
    });
    const dropped = await put(s, only('li-2'));
    assert.deepEqual(
      dropped.line_items.map((l) => l.id),
      [mug],
      'the order shows what the document says',
    );
    const got = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${s.slug}/claims/${first.json().id}`,
      headers: s.auth.viewer,
    });
    assert.equal(got.statusCode, 200, got.body);
    assert.deepEqual(
      got.json().items.map((i: { line_item_id: string; quantity: number }) => [i.line_item_id, i.quantity]),
      [[tee, 2]],
    );
    assert.deepEqual(
      flow(await eligibility(s, o.id), 'defective').items.map((i) => i.line_item_id),
      [mug],
    );

    // The unclaimed mug dropped goes for good; listed again, it is a new line. The T-shirt listed again is the same
    // line, its units still claimed.
    await put(s, only('li-1'));
    const back = await put(s, doc);
    assert.equal(back.line_items.find((l) => l.external_id === 'li-1')!.id, tee);
    assert.notEqual(back.line_items.find((l) => l.external_id === 'li-2')!.id, mug);
    const items = flow(await eligibility(s, o.id), 'defective').items;
    assert.equal(
      items.find((i) => i.line_item_id === tee),
      undefined,
      'both T-shirts are claimed already',
    );
    const second = await claim(1);
    assertError(second, 422, 'already_claimed');
  });
});
