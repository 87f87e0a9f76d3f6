import assert from 'node:assert/strict';
import dnsPromises from 'node:dns/promises';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import { startShopwareSim } from './simulators/shopware.js';
import { startWooSim } from './simulators/woocommerce.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError } from './support/http.js';
import { drainJobs } from './support/jobs.js';
import { makePki, type TestPki } from './support/tls.js';

/**
 * CONNECTOR_ALLOWED_HOSTS and CONNECTOR_CA_FILE: a self-hosted shop platform on the private network (here the
 * loopback, behind https with a certificate from a test CA) can be connected once the operator allow-lists it
 * and trusts its CA — and only then. The webhooks' allow-list opens nothing for connectors, and the reverse.
 * Every platform request goes through the production transport (`checkedFetch`), from the app's own config.
 */

/** The configuration the app gets from these environment variables (parsed as at start). */
const fromEnv = (env: Record<string, string>) =>
  loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: path.join(os.tmpdir(), 'unused'), ...env });

/** Resolves `name` to 127.0.0.1 while set (an internal hostname of the merchant's network). */
function fakeDns(name: string) {
  const real = dnsPromises.lookup;
  dnsPromises.lookup = (async (host: string, opts?: unknown) =>
    host === name
      ? [{ address: '127.0.0.1', family: 4 }]
      : (real as (h: string, o?: unknown) => Promise<unknown>)(host, opts)) as typeof dnsPromises.lookup;
  return () => {
    dnsPromises.lookup = real;
  };
}

/** An https front (the test CA's certificate) for a plain-http simulator, on 127.0.0.1; counts what reaches it. */
async function tlsFront(pki: TestPki, upstream: string) {
  let hits = 0;
  const server = https.createServer({ key: pki.leaf.key, cert: pki.leaf.cert }, (req, res) => {
    hits++;
    const up = http.request(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    hits: () => hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const INTERNAL = 'erp.hooks.test'; // the test CA's certificate names *.hooks.test and 127.0.0.1

describe('CONNECTOR_ALLOWED_HOSTS and CONNECTOR_CA_FILE open shop connections to a private network', () => {
  let pki: TestPki;
  let shopware: Awaited<ReturnType<typeof startShopwareSim>>;
  let woo: Awaited<ReturnType<typeof startWooSim>>;
  let swFront: Awaited<ReturnType<typeof tlsFront>>;
  let wooFront: Awaited<ReturnType<typeof tlsFront>>;
  let restoreDns: () => void;
  const apps: TestContext[] = [];

  const app = async (env: Record<string, string>) => {
    const c = fromEnv(env);
    const ctx = await startTestApp({ connectors: c.connectors, webhooks: c.webhooks });
    apps.push(ctx);
    return { ctx, shop: await createTestShop(ctx.db, 'allow') };
  };
  const put = (ctx: TestContext, shop: TestShop, body: object) =>
    ctx.app.inject({
      method: 'PUT',
      url: `/v1/shops/${shop.slug}/connection`,
      headers: shop.auth.admin,
      payload: body,
    });
  const get = (ctx: TestContext, shop: TestShop, url: string) =>
    ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}${url}`, headers: shop.auth.admin });
  const shopwareAt = (url: string) => ({
    platform: 'shopware',
    settings: { api_url: url },
    credentials: { client_id: shopware.clientId, client_secret: shopware.clientSecret },
  });
  const wooAt = (url: string) => ({
    platform: 'woocommerce',
    settings: { store_url: url },
    credentials: { consumer_key: woo.consumerKey, consumer_secret: woo.consumerSecret, webhook_secret: 'w' },
  });
  const hook = (ctx: TestContext, shop: TestShop, url: string) =>
    ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${shop.slug}/webhooks`,
      headers: shop.auth.admin,
      payload: { url },
    });
  /** A 400 at the platform URL's field, its message matching. */
  const refusedAt = (res: Awaited<ReturnType<typeof put>>, field: string, message: RegExp) => {
    assertError(res, 400, 'validation_failed');
    const [err] = res.json().error.errors;
    assert.equal(err.path, `/settings/${field}`, res.body);
    assert.match(err.message, message);
  };

  before(async () => {
    pki = makePki();
    shopware = await startShopwareSim();
    woo = await startWooSim({ siteName: 'Internal Woo', deliver: null });
    swFront = await tlsFront(pki, shopware.url);
    wooFront = await tlsFront(pki, woo.url);
    restoreDns = fakeDns(INTERNAL);
  });
  after(async () => {
    restoreDns?.();
    for (const ctx of apps) await ctx.close();
    await swFront?.close();
    await wooFront?.close();
    await shopware?.close();
    await woo?.close();
    pki?.remove();
  });

  test('without CONNECTOR_ALLOWED_HOSTS a private address is refused (saved, connecting), whatever WEBHOOK_ALLOWED_HOSTS allows', async () => {
    // The webhooks' list names the same host and range, and the webhooks get them: connectors do not.
    const { ctx, shop } = await app({
      CONNECTOR_CA_FILE: pki.caFile,
      WEBHOOK_ALLOWED_HOSTS: `${INTERNAL}, 127.0.0.0/8`,
      WEBHOOK_CA_FILE: pki.caFile,
    });
    const before = swFront.hits();
    refusedAt(
      await put(ctx, shop, shopwareAt(`https://127.0.0.1:${swFront.port}`)),
      'api_url',
      /127\.0\.0\.1 \(loopback\) is not a public address \(the operator can allow it with CONNECTOR_ALLOWED_HOSTS\)/,
    );
    refusedAt(
      await put(ctx, shop, shopwareAt(`https://${INTERNAL}:${swFront.port}`)),
      'api_url',
      /erp\.hooks\.test resolves to 127\.0\.0\.1 \(loopback\), not a public address .*CONNECTOR_ALLOWED_HOSTS/,
    );
    refusedAt(await put(ctx, shop, wooAt(`https://${INTERNAL}:${wooFront.port}`)), 'store_url', /loopback/);
    assertError(await get(ctx, shop, '/connection'), 404, 'connection_not_found');
    assert.equal(swFront.hits() + wooFront.hits(), before, 'nothing reached a platform');
    assert.equal((await hook(ctx, shop, `https://127.0.0.1:${swFront.port}/hook`)).statusCode, 201);
  });

  test('an allow-listed host with the CA file connects: saved, tested, and synced by the jobs', async () => {
    const { ctx, shop } = await app({ CONNECTOR_ALLOWED_HOSTS: INTERNAL, CONNECTOR_CA_FILE: pki.caFile });
    const res = await put(ctx, shop, shopwareAt(`https://${INTERNAL}:${swFront.port}`));
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().test, { ok: true, shop_name: 'Sim Shop', error: null });
    const tested = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${shop.slug}/connection/test`,
      headers: shop.auth.admin,
    });
    assert.deepEqual(tested.json(), { ok: true, shop_name: 'Sim Shop', error: null });
    // The worker's deps come from the same config (src/jobs/catalog.ts): the backfill reaches the platform.
    const { failed } = await drainJobs(ctx.db, jobHandlers(ctx.deps), ['connector.backfill']);
    assert.deepEqual(failed, []);
    const conn = (await get(ctx, shop, '/connection')).json();
    assert.equal(conn.status, 'active', JSON.stringify(conn));
    assert.equal(conn.sync.backfill.status, 'done', JSON.stringify(conn.sync));
    // The entry names that host, nothing else on the network; and https stays required.
    refusedAt(await put(ctx, shop, shopwareAt(`https://127.0.0.1:${swFront.port}`)), 'api_url', /loopback/);
    refusedAt(
      await put(ctx, shop, shopwareAt(`http://${INTERNAL}:${swFront.port}`)),
      'api_url',
      /must start with https:\/\/ .*plain http is refused even for an allow-listed host/,
    );
  });

  test('the CA file is read at start: deleted afterwards, connections and webhooks still trust its CA', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-gone-'));
    const ca = path.join(dir, 'ca.pem');
    fs.copyFileSync(pki.caFile, ca);
    const { ctx, shop } = await app({
      CONNECTOR_ALLOWED_HOSTS: INTERNAL,
      CONNECTOR_CA_FILE: ca,
      WEBHOOK_CA_FILE: ca,
    });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(fs.existsSync(ca), false);
    const res = await put(ctx, shop, shopwareAt(`https://${INTERNAL}:${swFront.port}`));
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().test, { ok: true, shop_name: 'Sim Shop', error: null });
    assert.equal(ctx.deps.config.webhooks.caPem, pki.caPem);
  });

  test('allow-listed but without the CA file: a clear certificate error (422, nothing stored), not a 500', async () => {
    const { ctx, shop } = await app({ CONNECTOR_ALLOWED_HOSTS: INTERNAL });
    const before = swFront.hits();
    const res = await put(ctx, shop, shopwareAt(`https://${INTERNAL}:${swFront.port}`));
    assertError(res, 422, 'connection_failed');
    assert.match(
      res.json().error.message,
      /the TLS certificate of erp\.hooks\.test is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE.*\); a certificate from a private CA needs that CA in CONNECTOR_CA_FILE/,
    );
    assert.equal(swFront.hits(), before, 'no request was sent over the untrusted connection');
    assertError(await get(ctx, shop, '/connection'), 404, 'connection_not_found');
  });

  test('a CIDR range admits its addresses, as IP literals and behind hostnames (WooCommerce through checkedFetch); webhooks stay closed', async () => {
    const { ctx, shop } = await app({
      CONNECTOR_ALLOWED_HOSTS: '127.0.0.0/8',
      CONNECTOR_CA_FILE: pki.caFile,
    });
    for (const url of [`https://127.0.0.1:${wooFront.port}`, `https://${INTERNAL}:${wooFront.port}`]) {
      const res = await put(ctx, shop, wooAt(url));
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      assert.deepEqual(res.json().test, { ok: true, shop_name: 'Internal Woo', error: null });
    }
    assert.ok(woo.requests.some((r) => r.path.endsWith('/orders') && r.auth === 'basic'));
    assert.deepEqual(woo.unexpected, []);
    const sw = await put(ctx, shop, shopwareAt(`https://127.0.0.1:${swFront.port}`));
    assert.equal(sw.statusCode, 200, sw.body);
    // Outside the range is still refused.
    refusedAt(await put(ctx, shop, wooAt('https://10.0.0.5')), 'store_url', /10\.0\.0\.5 \(private\)/);
    // The connectors' list opens nothing for webhooks.
    for (const url of [`https://127.0.0.1:${swFront.port}/hook`, `https://localhost:${swFront.port}/hook`]) {
      const res = await hook(ctx, shop, url);
      assertError(res, 400, 'invalid_webhook_url');
      assert.match(res.json().error.errors[0].message, /not a public (address|hostname)/, res.body);
    }
  });
});

describe('CONNECTOR_ALLOWED_HOSTS and CONNECTOR_CA_FILE configuration', () => {
  const problems = (env: Record<string, string>) => {
    try {
      fromEnv(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.join('\n');
      throw err;
    }
    return '';
  };

  test('parsed with the syntax of WEBHOOK_ALLOWED_HOSTS, into the connectors’ list only', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concfg-'));
    try {
      const ca = path.join(dir, 'ca.pem');
      fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const c = fromEnv({
        CONNECTOR_ALLOWED_HOSTS: 'Shopware.Internal, *.corp.example, 10.0.0.0/8, fd00::/8, 192.168.1.10',
        CONNECTOR_CA_FILE: ca,
      });
      assert.deepEqual(c.connectors.allowedHosts, ['shopware.internal', '*.corp.example']);
      assert.deepEqual(
        c.connectors.allowedCidrs.map((x) => `${x.address}/${x.prefix}`),
        ['10.0.0.0/8', 'fd00::/8', '192.168.1.10/32'],
      );
      assert.equal(c.connectors.caFile, ca);
      assert.equal(c.connectors.caPem, fs.readFileSync(ca, 'utf8'));
      assert.deepEqual([c.webhooks.allowedHosts, c.webhooks.allowedCidrs, c.webhooks.caFile], [[], [], null]);
      const w = fromEnv({ WEBHOOK_ALLOWED_HOSTS: 'hooks.internal, 10.0.0.0/8', WEBHOOK_CA_FILE: ca });
      assert.deepEqual(w.connectors, { allowedHosts: [], allowedCidrs: [], caFile: null, caPem: null });

      fs.writeFileSync(path.join(dir, 'empty.pem'), 'nothing');
      const cases: [Record<string, string>, RegExp][] = [
        [
          { CONNECTOR_ALLOWED_HOSTS: 'bad host' },
          /^CONNECTOR_ALLOWED_HOSTS: "bad host" is neither a hostname/,
        ],
        [
          { CONNECTOR_ALLOWED_HOSTS: '10.0.0.0/33' },
          /^CONNECTOR_ALLOWED_HOSTS: "10.0.0.0\/33" is not a valid CIDR/,
        ],
        [{ CONNECTOR_ALLOWED_HOSTS: 'ok.example, https://x' }, /^CONNECTOR_ALLOWED_HOSTS: "https:\/\/x"/],
        [
          { CONNECTOR_CA_FILE: path.join(dir, 'missing.pem') },
          /^CONNECTOR_CA_FILE: cannot read .*missing\.pem/,
        ],
        [
          { CONNECTOR_CA_FILE: path.join(dir, 'empty.pem') },
          /^CONNECTOR_CA_FILE: .*holds no PEM certificate/,
        ],
      ];
      for (const [env, message] of cases) {
        const text = problems(env);
        assert.match(text, message);
        assert.doesNotMatch(text, /WEBHOOK_/, 'the message names the connectors’ variable');
      }
      assert.match(problems({ WEBHOOK_ALLOWED_HOSTS: 'bad host' }), /^WEBHOOK_ALLOWED_HOSTS: "bad host"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
