import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { shapedOrder } from './support/claims.js';
import { randomIp } from './support/http.js';

/**
 * Shops that run returns in an external portal: a return claim answers `handoff_url` (the shop's template with the
 * order's values, URL-encoded), and the claims list keeps it on the return while it is open, so a customer who
 * left the confirmation page (a reload, "Back to my order") can still continue to the return label.
 */
describe('returns handed off to an external portal', () => {
  let ctx: TestContext;
  let shop: TestShop;
  const merchant = (method: 'GET' | 'PUT' | 'PATCH', url: string, payload?: unknown) =>
    ctx.app.inject({
      method,
      url: `/v1/shops/${shop.slug}${url}`,
      headers: shop.auth.admin,
      payload: payload as object,
    });
  const customer = (session: string, method: 'GET' | 'POST', url: string, payload?: unknown, key?: string) =>
    ctx.app.inject({
      method,
      url: `/v1/resolve/${shop.slug}${url}`,
      headers: { authorization: `Bearer ${session}`, ...(key ? { 'idempotency-key': key } : {}) },
      payload: payload as object,
    });
  const TEMPLATE = 'https://returns.example/start?order={orderNumber}&email={email}&skus={selectedItemSkus}';

  /** A delivered order with a ZIP-level session and a return claim on its first line. */
  const returned = async (number: string) => {
    const doc = { ...shapedOrder(), external_id: `rh-${number}`, order_number: number };
    doc.customer = { ...doc.customer!, email: 'kim+returns@example.com' };
    const put = await merchant('PUT', '/orders', doc);
    assert.ok(put.statusCode < 300, put.body);
    const s = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/sessions`,
      payload: { order_number: number, zip_code: doc.shipping_address!.zip_code },
      remoteAddress: randomIp(),
    });
    assert.equal(s.statusCode, 201, s.body);
    const session = s.json().session as string;
    const flow = (
      s.json().flows as {
        flow: string;
        available: boolean;
        reasons: { code: string }[];
        items: { line_item_id: string }[];
        resolutions: string[];
      }[]
    ).find((f) => f.flow === 'return')!;
    assert.ok(flow.available, JSON.stringify(flow));
    const res = await customer(
      session,
      'POST',
      '/claims',
      {
        flow: 'return',
        reason: flow.reasons[0].code,
        items: [{ line_item_id: flow.items[0].line_item_id, quantity: 1 }],
        resolution_preference: flow.resolutions[0] ?? null,
      },
      `rh-${number}`,
    );
    assert.equal(res.statusCode, 201, res.body);
    return { session, claim: res.json(), doc };
  };

  before(async () => {
    ctx = await startTestApp();
    shop = await createTestShop(ctx.db, 'handoff');
    const res = await merchant('PATCH', '/settings/resolve', {
      returns: { mode: 'external', external_url_template: TEMPLATE },
    });
    assert.equal(res.statusCode, 200, res.body);
  });
  after(() => ctx.close());

  test('the submission answers the portal’s URL; the claims list keeps it while the return is open', async () => {
    const { session, claim, doc } = await returned('7301');
    const sku = doc.line_items[0].sku!;
    const expected = `https://returns.example/start?order=7301&email=kim%2Breturns%40example.com&skus=${encodeURIComponent(sku)}`;
    assert.equal(claim.handoff_url, expected);

    const list = await customer(session, 'GET', '/claims');
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(
      list.json().data.map((c: { id: string; handoff_url?: string | null }) => [c.id, c.handoff_url]),
      [[claim.id, expected]],
    );

    // Rejected by the merchant: no way on to a return label any more.
    const patched = await merchant('PATCH', `/claims/${claim.id}`, {
      status: 'rejected',
      version: (await merchant('GET', `/claims/${claim.id}`)).json().version,
      note: 'Outside our return policy',
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const after = (await customer(session, 'GET', '/claims')).json().data;
    assert.equal(after[0].status, 'rejected');
    assert.equal(after[0].handoff_url ?? null, null);
  });

  test('a shop that handles returns itself: no handoff_url, on submission or in the list', async () => {
    const res = await merchant('PATCH', '/settings/resolve', {
      returns: { mode: 'native', external_url_template: null },
    });
    assert.equal(res.statusCode, 200, res.body);
    const { session, claim } = await returned('7302');
    assert.equal(claim.handoff_url ?? null, null);
    const list = (await customer(session, 'GET', '/claims')).json().data;
    assert.equal(list[0].handoff_url ?? null, null);
  });
});
