import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { orderDoc } from './support/orders.js';

let ctx: TestContext;
let shop: TestShop;
before(async () => {
  ctx = await startTestApp();
  shop = await createTestShop(ctx.db);
});
after(() => ctx.close());

test('an order pushed through the API reads back with derived fields', async () => {
  const doc = orderDoc();
  const put = await ctx.app.inject({
    method: 'PUT',
    url: `/v1/shops/${shop.slug}/orders`,
    headers: shop.auth.editor,
    payload: doc,
  });
  assert.equal(put.statusCode, 201, put.body);
  const body = put.json();
  assert.match(body.id, /^ord_/);
  assert.equal(body.state, 'fulfilled');
  assert.equal(body.shipments[0].phase, 'in_transit');
  assert.equal(body.line_items[0].quantity_fulfilled, 2);
  const again = await ctx.app.inject({
    method: 'PUT',
    url: `/v1/shops/${shop.slug}/orders`,
    headers: shop.auth.editor,
    payload: doc,
  });
  assert.equal(again.statusCode, 200);
  assert.equal(again.headers['resolve-upsert'], 'unchanged');
  assert.deepEqual(again.json(), body);
});
