import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestShop, startTestApp, type TestContext } from './support/app.js';
import { assertError } from './support/http.js';
import { orderDoc } from './support/orders.js';

// "Revoke every link of this order" is stored on the order (tokens_valid_after). The order document is written
// again whenever it changes (merchant API, platform sync): that write must keep the revocation.

let ctx: TestContext;
before(async () => {
  ctx = await startTestApp();
});
after(() => ctx.close());

test('links revoked for an order stay revoked after the order is updated', async () => {
  const s = await createTestShop(ctx.db, 'revkeep');
  const doc = orderDoc({});
  const put = (d: object) =>
    ctx.app.inject({ method: 'PUT', url: `/v1/shops/${s.slug}/orders`, headers: s.auth.editor, payload: d });
  const created = await put(doc);
  assert.equal(created.statusCode, 201, created.body);
  const order = created.json() as { id: string };
  const link = await ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${s.slug}/orders/${order.id}/resolve-link`,
    headers: s.auth.editor,
  });
  assert.equal(link.statusCode, 201, link.body);
  const revoked = await ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${s.slug}/orders/${order.id}/tokens/revoke`,
    headers: s.auth.editor,
  });
  assert.equal(revoked.statusCode, 200, revoked.body);
  const open = () =>
    ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${s.slug}/sessions`,
      payload: { token: link.json().token },
      remoteAddress: '10.77.0.1',
    });
  assertError(await open(), 401, 'token_revoked');

  // The document changes (a tag added in the shop): the order is written again.
  const updated = await put({ ...doc, tags: [...(doc.tags ?? []), 'revkeep-changed'] });
  assert.equal(updated.statusCode, 200, updated.body);
  assert.ok(updated.json().tags.includes('revkeep-changed'));
  assertError(await open(), 401, 'token_revoked');
});
