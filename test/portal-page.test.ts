import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureWebBuild } from './browser/support.js';
import { startTestApp, type TestContext } from './support/app.js';

describe('serving the portal', () => {
  let ctx: TestContext;
  before(async () => {
    ensureWebBuild(null);
    ctx = await startTestApp();
  });
  after(() => ctx.close());

  test('every /portal path answers the SPA, never framed by other sites', async () => {
    for (const url of ['/portal', '/portal/demo/claims', '/portal/demo/claims/clm_123', '/portal/invite']) {
      const res = await ctx.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.headers['content-type'] as string, /text\/html/);
      assert.match(res.body, /<div id="root"><\/div>/);
      const csp = res.headers['content-security-policy'] as string;
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /script-src 'self'/);
      assert.equal(res.headers['cache-control'], 'no-store');
    }
  });

  test('its assets are served, the customer page’s bundle is separate', async () => {
    const html = (await ctx.app.inject({ method: 'GET', url: '/portal' })).body;
    const js = /src="(\/static\/portal\/assets\/index-[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(js);
    const res = await ctx.app.inject({ method: 'GET', url: js });
    assert.equal(res.statusCode, 200);
    const customer = (await ctx.app.inject({ method: 'GET', url: '/resolve/no-such-shop' })).body;
    const customerJs = /src="(\/static\/resolve\/assets\/index-[^"]+\.js)"/.exec(customer)?.[1];
    assert.ok(customerJs);
    const customerBundle = (await ctx.app.inject({ method: 'GET', url: customerJs })).body;
    assert.equal(customerBundle.includes('/v1/portal/'), false, 'no portal code in the customer page');
  });
});
