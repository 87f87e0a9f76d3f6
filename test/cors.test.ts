import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';

let ctx: TestContext;
let shop: TestShop;
before(async () => {
  ctx = await startTestApp();
  shop = await createTestShop(ctx.db);
});
after(() => ctx.close());

test('the customer-flow API answers CORS preflights and requests per shop', async () => {
  const pre = await ctx.app.inject({
    method: 'OPTIONS',
    url: `/v1/resolve/${shop.slug}/sessions`,
    headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(pre.statusCode, 204);
  assert.equal(pre.headers['access-control-allow-origin'], '*');
  assert.match(String(pre.headers['access-control-allow-headers']), /idempotency-key/);
  const res = await ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${shop.slug}/sessions`,
    headers: { origin: 'https://shop.example' },
    payload: { order_number: 'nope', zip_code: '1' },
    remoteAddress: '10.250.0.1',
  });
  assert.equal(res.statusCode, 404);
  assert.equal(res.headers['access-control-allow-origin'], '*');
});

test('a shop that lists its origins allows only those', async () => {
  const patch = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/shops/${shop.slug}/settings/resolve`,
    headers: shop.auth.admin,
    payload: { allowed_origins: ['https://shop.example'] },
  });
  assert.equal(patch.statusCode, 200, patch.body);
  const ok = await ctx.app.inject({
    method: 'OPTIONS',
    url: `/v1/resolve/${shop.slug}/order`,
    headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET' },
  });
  assert.equal(ok.headers['access-control-allow-origin'], 'https://shop.example');
  assert.equal(ok.headers.vary, 'Origin');
  const other = await ctx.app.inject({
    method: 'OPTIONS',
    url: `/v1/resolve/${shop.slug}/order`,
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
  });
  assert.equal(other.statusCode, 204);
  assert.equal(other.headers['access-control-allow-origin'], undefined);
  const bad = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/shops/${shop.slug}/settings/resolve`,
    headers: shop.auth.admin,
    payload: { allowed_origins: ['javascript:alert(1)'] },
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.key, 'validation_failed');
});

test('merchant API routes carry no CORS headers', async () => {
  const res = await ctx.app.inject({
    method: 'GET',
    url: `/v1/shops/${shop.slug}/orders`,
    headers: { ...shop.auth.viewer, origin: 'https://shop.example' },
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['access-control-allow-origin'], undefined);
});
