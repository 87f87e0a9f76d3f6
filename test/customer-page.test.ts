import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { createShop } from '../src/shops/shops.js';
import { CUSTOMER_PAGE_DIR } from '../src/web/customer-page.js';
import { ensureWebBuild } from './browser/support.js';
import { startTestApp, type TestContext, uniqueSlug } from './support/app.js';

const boot = (html: string) => {
  const m = /<script type="application\/json" id="resolve-boot">(.*?)<\/script>/s.exec(html);
  assert.ok(m, 'boot data inlined');
  return JSON.parse(m[1]) as Record<string, unknown> & { branding: Record<string, unknown> };
};

describe('serving the customer page', () => {
  let ctx: TestContext;
  before(async () => {
    ensureWebBuild('resolve');
    ctx = await startTestApp();
  });
  after(() => ctx.close());

  test('/resolve/{slug} answers the page with the shop name, languages and branding inlined', async () => {
    const slug = uniqueSlug('page');
    await createShop(ctx.db, { slug, name: 'Page </script><script>alert(1)</script> Shop' });
    const res = await ctx.app.inject({ method: 'GET', url: `/resolve/${slug}` });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /text\/html/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const csp = res.headers['content-security-policy'] as string;
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors \*/);
    // A shop name cannot break out of the boot element.
    assert.equal((res.body.match(/<script/g) ?? []).length, 2, 'only the boot data and the bundle');
    const data = boot(res.body);
    assert.equal(data.name, 'Page </script><script>alert(1)</script> Shop');
    assert.equal(data.slug, slug);
    assert.deepEqual(data.languages, ['en', 'de', 'fr', 'es', 'it', 'nl', 'da']);
    assert.equal(data.branding.primary_color, '#1f5fbf');
    assert.equal(data.upload_max_bytes, 10 * 1024 * 1024);
  });

  test('the served page says its language before any script runs: ?lang, the browser’s, the shop’s', async () => {
    const slug = uniqueSlug('page');
    await createShop(ctx.db, { slug, name: 'Lang Shop', defaultLanguage: 'nl' });
    const langOf = async (query: string, headers: Record<string, string> = {}) =>
      /<html lang="([a-z]{2})">/.exec(
        (await ctx.app.inject({ method: 'GET', url: `/resolve/${slug}${query}`, headers })).body,
      )?.[1];
    assert.equal(await langOf('?lang=de'), 'de');
    assert.equal(await langOf('', { 'accept-language': 'xx, fr-CH;q=0.9, en;q=0.5' }), 'fr');
    assert.equal(await langOf('?lang=zz"><script>', { 'accept-language': 'da' }), 'da');
    assert.equal(await langOf(''), 'nl');
  });

  test('an unknown shop is a 404 page that still explains itself', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/resolve/no-such-shop' });
    assert.equal(res.statusCode, 404);
    assert.equal(boot(res.body).name, null);
  });

  test('frame-ancestors follow the shop’s allowed origins', async () => {
    const slug = uniqueSlug('frame');
    await createShop(ctx.db, {
      slug,
      name: 'Framed',
      settings: { resolve: { allowed_origins: ['https://shop.example'] } },
    });
    const res = await ctx.app.inject({ method: 'GET', url: `/resolve/${slug}` });
    assert.match(
      res.headers['content-security-policy'] as string,
      /frame-ancestors 'self' https:\/\/shop\.example(;|$)/,
    );
  });

  test('assets: hashed names cached for a year, gzip when accepted, nothing outside the build', async () => {
    const html = (await ctx.app.inject({ method: 'GET', url: '/resolve/no-such-shop' })).body;
    const js = /src="(\/static\/resolve\/assets\/index-[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(js, 'the page references its bundle');
    const plain = await ctx.app.inject({ method: 'GET', url: js });
    assert.equal(plain.statusCode, 200);
    assert.match(plain.headers['content-type'] as string, /text\/javascript/);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(plain.headers['content-encoding'], undefined);
    const gz = await ctx.app.inject({ method: 'GET', url: js, headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(gz.rawPayload).toString(), plain.body);
    for (const url of [
      '/static/resolve/../../package.json',
      '/static/resolve/%2e%2e/%2e%2e/package.json',
      '/static/resolve/index.html',
      '/static/resolve/assets/nope.js',
    ]) {
      const res = await ctx.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
    }
  });

  test('the built page stays within its JavaScript budget (120 kB gzipped)', () => {
    const assets = path.join(CUSTOMER_PAGE_DIR, 'assets');
    const gz = fs.readdirSync(assets).filter((f) => f.endsWith('.js.gz'));
    const total = gz.reduce((n, f) => n + fs.statSync(path.join(assets, f)).size, 0);
    assert.ok(gz.length >= 7, 'the main bundle and six language chunks');
    assert.ok(total <= 120 * 1024, `all JavaScript together is ${(total / 1024).toFixed(1)} kB gzipped`);
  });
});
