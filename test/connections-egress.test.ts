import assert from 'node:assert/strict';
import dnsPromises from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { saveConnection } from '../src/connectors/connections.js';
import { checkedFetch, EgressRefused, platformUrlProblem } from '../src/connectors/egress.js';
import { shopwareConnector } from '../src/connectors/shopware/index.js';
import { startBackfill } from '../src/connectors/sync.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import { loadMasterSecret } from '../src/lib/secret.js';
import { egressPolicy } from '../src/webhooks/egress-policy.js';
import { startShopwareSim } from './simulators/shopware.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError } from './support/http.js';
import { drainJobs } from './support/jobs.js';
import { makePki, type TestPki } from './support/tls.js';

/**
 * Shop connections reach only public https addresses (SSRF): the webhooks' egress policy, checked when a
 * connection is saved (400 naming the field) and on every connection the server opens (DNS may change). The app
 * here runs WITHOUT CONNECTOR_TEST_URLS, as in production; a local listener proves nothing was ever sent.
 */

/** A TCP listener on the loopback that counts every connection it is offered. */
async function trap(host: string) {
  const seen: string[] = [];
  const server = net.createServer((socket) => {
    seen.push(`${socket.remoteAddress}`);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Resolves `name` to the given address while set (a merchant's hostname whose DNS points inward). */
function fakeDns(name: string, address: string) {
  const real = dnsPromises.lookup;
  const patched = (async (host: string, opts?: unknown) =>
    host === name
      ? [{ address, family: net.isIPv6(address) ? 6 : 4 }]
      : (real as (h: string, o?: unknown) => Promise<unknown>)(host, opts)) as typeof dnsPromises.lookup;
  dnsPromises.lookup = patched;
  return () => {
    dnsPromises.lookup = real;
  };
}

const PLATFORMS = [
  { platform: 'shopware', field: 'api_url', credentials: { client_id: 'a', client_secret: 'b' } },
  { platform: 'vendure', field: 'admin_api_url', credentials: { api_key: 'k' } },
  {
    platform: 'woocommerce',
    field: 'store_url',
    credentials: { consumer_key: 'ck_x', consumer_secret: 'cs_x', webhook_secret: 'w' },
  },
] as const;

describe('shop connections: platform addresses go through the egress policy', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let v4: Awaited<ReturnType<typeof trap>>;
  let v6: Awaited<ReturnType<typeof trap>> | null = null;
  const put = (body: object, s = shop) =>
    ctx.app.inject({
      method: 'PUT',
      url: `/v1/shops/${s.slug}/connection`,
      headers: s.auth.admin,
      payload: body,
    });
  const api = (method: 'GET' | 'POST', url: string, s = shop) =>
    ctx.app.inject({ method, url: `/v1/shops/${s.slug}${url}`, headers: s.auth.admin });
  const nothingReached = () => {
    assert.deepEqual(v4.seen, [], 'no connection reached the 127.0.0.1 listener');
    assert.deepEqual(v6?.seen ?? [], [], 'no connection reached the ::1 listener');
  };

  before(async () => {
    ctx = await startTestApp(); // connectorTestUrls off: production rules
    assert.equal(ctx.deps.config.connectorTestUrls, false);
    shop = await createTestShop(ctx.db, 'egress');
    v4 = await trap('127.0.0.1');
    v6 = await trap('::1').catch(() => null); // no IPv6 loopback in some containers
  });
  after(async () => {
    await v4?.close();
    await v6?.close();
    await ctx?.close();
  });

  test('internal, plain-http and malformed platform URLs are refused when saved, at the field, before any request', async () => {
    const p = v4.port;
    const refused = [
      `http://127.0.0.1:${p}`, // the audit's case, with a listener behind it
      `https://127.0.0.1:${p}`,
      `https://localhost:${p}`,
      `https://api.localhost:${p}`,
      `https://[::1]:${v6?.port ?? p}`,
      `https://[::ffff:127.0.0.1]:${p}`, // IPv4-mapped
      `https://2130706433:${p}`, // decimal
      `https://0x7f.0.0.1:${p}`, // hex
      `https://127.1:${p}`, // short form
      'https://10.0.0.5/api',
      'https://172.16.3.4',
      'https://192.168.1.10',
      'https://100.64.0.1', // CGNAT
      'https://169.254.169.254/latest/meta-data', // cloud metadata
      'https://[fe80::1]',
      'https://[fd00::1]',
      'https://224.0.0.1',
      'https://0.0.0.0',
      'https://intranet', // dotless: not a public hostname
      'http://shop.example.com', // public, but credentials would go in clear text
      'https://user:pw@shop.example.com',
      'shop.example.com',
    ];
    for (const { platform, field, credentials } of PLATFORMS) {
      for (const url of refused) {
        const res = await put({ platform, settings: { [field]: url }, credentials });
        assertError(res, 400, 'validation_failed');
        const body = res.json().error;
        assert.deepEqual(
          body.errors.map((e: { path: string }) => e.path),
          [`/settings/${field}`],
          `${platform} ${url}: ${res.body}`,
        );
        assert.ok(body.message.includes(field), body.message);
      }
    }
    assertError(await api('GET', '/connection'), 404, 'connection_not_found');
    nothingReached();
  });

  test('the messages say why, and a listening port answers exactly like a closed one', async () => {
    const closed = await trap('127.0.0.1');
    await closed.close();
    const answer = async (port: number) =>
      (
        await put({
          platform: 'shopware',
          settings: { api_url: `https://127.0.0.1:${port}` },
          credentials: { client_id: 'a', client_secret: 'secret' },
        })
      ).body;
    const open = await answer(v4.port);
    assert.equal(open, await answer(closed.port), 'no port-scan oracle');
    assert.match(
      JSON.parse(open).error.errors[0].message,
      /127\.0\.0\.1 \(loopback\) is not a public address/,
    );
    const metadata = await put({
      platform: 'vendure',
      settings: { admin_api_url: 'https://169.254.169.254/admin-api' },
      credentials: { api_key: 'k' },
    });
    assert.match(metadata.json().error.errors[0].message, /link-local/);
    const plain = await put({
      platform: 'woocommerce',
      settings: { store_url: 'http://shop.example.com' },
      credentials: { consumer_key: 'a', consumer_secret: 'b' },
    });
    assert.match(plain.json().error.errors[0].message, /https:\/\//);
    nothingReached();
  });

  test('a hostname whose DNS points inward is refused on connecting: 400 at the field, nothing sent', async () => {
    const restore = fakeDns('shop.rebind.test', '127.0.0.1');
    try {
      for (const { platform, field, credentials } of PLATFORMS) {
        const res = await put({
          platform,
          settings: { [field]: `https://shop.rebind.test:${v4.port}/` },
          credentials,
        });
        assertError(res, 400, 'validation_failed');
        const [err] = res.json().error.errors;
        assert.equal(err.path, `/settings/${field}`, res.body);
        assert.match(err.message, /shop\.rebind\.test resolves to 127\.0\.0\.1 \(loopback\)/);
      }
    } finally {
      restore();
    }
    assertError(await api('GET', '/connection'), 404, 'connection_not_found');
    nothingReached();
  });

  test('the test-only api_base_url is refused without CONNECTOR_TEST_URLS, on every platform', async () => {
    for (const { platform, field, credentials } of PLATFORMS) {
      const res = await put({
        platform,
        settings: { [field]: 'https://shop.example.com', api_base_url: `http://127.0.0.1:${v4.port}` },
        credentials,
      });
      assertError(res, 400, 'validation_failed');
      assert.equal(res.json().error.errors[0].path, '/settings/api_base_url');
    }
    nothingReached();
  });

  test('a bad Shopify shop_domain is a 400 at /settings/shop_domain, not a 500', async () => {
    for (const domain of [
      '127.0.0.1:4999',
      'evil.com/x?',
      'localhost',
      'acme.myshopify.com.evil.com',
      'acme.myshopify.com:4999',
      'https://acme.myshopify.com',
      'acme.myshopify.com/admin',
    ]) {
      const res = await put({
        platform: 'shopify',
        settings: { shop_domain: domain },
        credentials: { access_token: 'x', webhook_secret: 'y' },
      });
      assertError(res, 400, 'validation_failed');
      assert.deepEqual(res.json().error.errors, [
        {
          path: '/settings/shop_domain',
          message: "shop_domain must be the shop's myshopify domain, e.g. acme.myshopify.com",
        },
      ]);
    }
    nothingReached();
  });

  test('settings and credentials a connector cannot read are 400s naming the field', async () => {
    const cases: [object, string][] = [
      [{ platform: 'shopify', settings: { shop_domain: 'acme.myshopify.com' } }, '/credentials/access_token'],
      [
        {
          platform: 'shopware',
          settings: { api_url: 'https://shop.example.com' },
          credentials: { client_id: 'a' },
        },
        '/credentials/client_secret',
      ],
      [
        { platform: 'vendure', settings: { admin_api_url: 'https://shop.example.com/admin-api' } },
        '/credentials/api_key',
      ],
      [
        {
          platform: 'woocommerce',
          settings: { store_url: 'https://shop.example.com' },
          credentials: { consumer_secret: 'cs' },
        },
        '/credentials/consumer_key',
      ],
    ];
    for (const [body, path] of cases) {
      const res = await put(body);
      assertError(res, 400, 'validation_failed');
      assert.equal(res.json().error.errors[0].path, path, res.body);
    }
  });

  test('connections stored before the policy are refused when used: the test and the sync jobs send nothing', async () => {
    const master = await loadMasterSecret(ctx.db, ctx.deps.config);
    const restore = fakeDns('legacy.rebind.test', '127.0.0.1');
    try {
      const stored: { platform: string; settings: Record<string, string> }[] = [
        { platform: 'shopware', settings: { api_url: `http://127.0.0.1:${v4.port}` } },
        {
          platform: 'shopware',
          settings: { api_url: `https://legacy.rebind.test:${v4.port}` },
        },
        {
          platform: 'vendure',
          settings: { admin_api_url: `https://[::ffff:127.0.0.1]:${v4.port}/admin-api` },
        },
        {
          platform: 'woocommerce',
          settings: { store_url: `https://localhost:${v4.port}` },
        },
      ];
      for (const s of stored) {
        const legacy = await createTestShop(ctx.db, 'legacy');
        const credentials = PLATFORMS.find((p) => p.platform === s.platform)!.credentials;
        const row = await saveConnection(ctx.db, master, legacy.shop.id, {
          platform: s.platform,
          settings: s.settings,
          credentials,
        });
        const res = await api('POST', '/connection/test', legacy);
        assert.equal(res.statusCode, 200, res.body);
        const result = res.json();
        assert.equal(result.ok, false);
        assert.equal(result.error.kind, 'unsupported', JSON.stringify(result));
        assert.match(result.error.message, /was not contacted: .*not a public address|only https/);
        // The backfill stops and shows why on the connection instead of retrying a refused address forever.
        await startBackfill(ctx.db, row, new Date(Date.now() - 86_400_000));
        await drainJobs(ctx.db, jobHandlers(ctx.deps), ['connector.backfill']);
        const conn = (await api('GET', '/connection', legacy)).json();
        assert.equal(conn.status, 'error', JSON.stringify(conn));
        assert.match(conn.last_error, /was not contacted/);
        assert.equal(conn.sync.backfill.status, 'failed');
      }
    } finally {
      restore();
    }
    nothingReached();
  });

  test('with CONNECTOR_TEST_URLS the simulator goes in api_base_url; the platform URL is still checked', async () => {
    const testCtx = await startTestApp({ connectorTestUrls: true });
    try {
      const s = await createTestShop(testCtx.db, 'egress-t');
      const put2 = (body: object) =>
        testCtx.app.inject({
          method: 'PUT',
          url: `/v1/shops/${s.slug}/connection`,
          headers: s.auth.admin,
          payload: body,
        });
      const inward = await put2({
        platform: 'shopware',
        settings: { api_url: `https://127.0.0.1:${v4.port}`, api_base_url: 'http://127.0.0.1:9' },
        credentials: { client_id: 'a', client_secret: 'b' },
      });
      assertError(inward, 400, 'validation_failed');
      assert.equal(inward.json().error.errors[0].path, '/settings/api_url');
      const notUrl = await put2({
        platform: 'vendure',
        settings: { admin_api_url: 'https://shop.example.com/admin-api', api_base_url: 'file:///etc/passwd' },
        credentials: { api_key: 'k' },
      });
      assertError(notUrl, 400, 'validation_failed');
      assert.equal(notUrl.json().error.errors[0].path, '/settings/api_base_url');
    } finally {
      await testCtx.close();
    }
    nothingReached();
  });
});

describe('checkedFetch: the transport of production connectors', () => {
  let pki: TestPki;
  let server: https.Server;
  let port: number;
  let hits = 0;
  const local = egressPolicy({
    allowedHosts: [],
    allowedCidrs: [{ address: '127.0.0.1', prefix: 32, family: 'ipv4' }],
  });

  before(async () => {
    pki = makePki();
    server = https.createServer({ key: pki.leaf.key, cert: pki.leaf.cert }, (req, res) => {
      hits++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/gzip') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          return res.end(zlib.gzipSync(JSON.stringify({ zipped: true })));
        }
        if (req.url === '/redirect') {
          res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' });
          return res.end();
        }
        if (req.url === '/empty') {
          res.writeHead(204);
          return res.end();
        }
        if (req.url === '/slow') return void setTimeout(() => res.end('late'), 1000);
        res.writeHead(201, [
          ['content-type', 'application/json'],
          ['set-cookie', 'a=1; Path=/'],
          ['set-cookie', 'b=2; HttpOnly'],
        ]);
        res.end(
          JSON.stringify({
            method: req.method,
            auth: req.headers.authorization,
            type: req.headers['content-type'],
            body: Buffer.concat(chunks).toString(),
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    pki?.remove();
  });

  test('refuses plain http, internal literals and hostnames resolving inward (any of their addresses)', async () => {
    const strict = checkedFetch({ ca: pki.caPem });
    const before = hits;
    const refusedWith = async (f: typeof fetch, url: string, message: RegExp) =>
      assert.rejects(f(url, { method: 'POST', body: '{}' }), (err: unknown) => {
        assert.ok(err instanceof EgressRefused, `${url}: ${err}`);
        assert.match(err.message, message);
        return true;
      });
    await refusedWith(strict, `http://127.0.0.1:${port}/`, /only https/);
    await refusedWith(strict, `https://127.0.0.1:${port}/`, /loopback/);
    await refusedWith(strict, `https://[::ffff:127.0.0.1]:${port}/`, /loopback \(embedded in IPv6\)/);
    await refusedWith(strict, `https://localhost:${port}/`, /localhost resolves to .*loopback/);
    const rebinding = checkedFetch({
      ca: pki.caPem,
      resolve: async () => [
        { address: '93.184.215.14', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    });
    await refusedWith(
      rebinding,
      `https://shop.example.com:${port}/`,
      /shop\.example\.com resolves to 127\.0\.0\.1/,
    );
    const metadata = checkedFetch({ resolve: async () => [{ address: '169.254.169.254', family: 4 }] });
    await refusedWith(metadata, 'https://metadata.example.com/', /link-local/);
    assert.equal(hits, before, 'nothing reached the server');
  });

  test('speaks HTTP as the connectors need it: bodies, headers, cookies, gzip; redirects are not followed', async () => {
    const f = checkedFetch({ policy: local, ca: pki.caPem });
    const res = await f(`https://localhost:${port}/api`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ q: 'ü' }),
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2; HttpOnly']);
    assert.deepEqual(await res.json(), {
      method: 'POST',
      auth: 'Bearer t',
      type: 'application/json',
      body: '{"q":"ü"}',
    });
    assert.deepEqual(await (await f(`https://localhost:${port}/gzip`)).json(), { zipped: true });
    const redirect = await f(`https://localhost:${port}/redirect`);
    assert.equal(redirect.status, 302, 'answered as is, never followed');
    assert.equal(redirect.headers.get('location'), 'http://169.254.169.254/latest/meta-data');
    const empty = await f(`https://localhost:${port}/empty`, { method: 'DELETE' });
    assert.equal(empty.status, 204);
    assert.equal(await empty.text(), '');
    await assert.rejects(f(`https://localhost:${port}/slow`, { signal: AbortSignal.timeout(100) }), {
      name: 'TimeoutError',
    });
  });

  test('the Shopware connector works through it (token, search, config) behind a public-looking https URL', async () => {
    const sim = await startShopwareSim();
    // TLS in front of the (plain http) simulator.
    const front = https.createServer({ key: pki.leaf.key, cert: pki.leaf.cert }, (req, res) => {
      const upstream = http.request(
        `${sim.url}${req.url}`,
        { method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    try {
      const frontPort = (front.address() as net.AddressInfo).port;
      const client = shopwareConnector.create(
        {
          settings: { api_url: `https://shop.hooks.test:${frontPort}` },
          credentials: { client_id: sim.clientId, client_secret: sim.clientSecret },
        },
        {
          fetch: checkedFetch({
            policy: local,
            ca: pki.caPem,
            resolve: async () => [{ address: '127.0.0.1', family: 4 }],
          }),
          now: () => new Date(),
          sleep: async () => {},
          log: { info() {}, warn() {} },
        },
      );
      assert.equal(
        platformUrlProblem(
          `https://shop.hooks.test:${frontPort}`,
          egressPolicy({ allowedHosts: [], allowedCidrs: [] }),
        ),
        null,
      );
      assert.deepEqual(await client.testConnection(), { shopName: 'Sim Shop' });
    } finally {
      front.closeAllConnections();
      await new Promise<void>((r) => front.close(() => r()));
      await sim.close();
    }
  });
});
