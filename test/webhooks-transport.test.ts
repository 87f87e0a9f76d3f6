import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { egressPolicy } from '../src/webhooks/egress-policy.js';
import { type Resolver, WebhookTransport } from '../src/webhooks/transport.js';
import { createTestShop } from './support/app.js';
import { makePki, type TestPki } from './support/tls.js';
import {
  attemptsOf,
  createEndpoint,
  emit,
  type Receiver,
  settled,
  startReceiver,
  startWebhookApp,
  type WebhookTestContext,
} from './support/webhooks.js';

// Transport policy (SPEC §10): TLS ≥ 1.2 with a verified certificate, no private destinations unless allow-listed
// (checked on the address actually connected to, so DNS rebinding is caught), egress through a CONNECT proxy.

let pki: TestPki;
let rx: Receiver;

before(async () => {
  pki = makePki();
  rx = await startReceiver(pki);
});
after(async () => {
  await rx?.close();
  pki?.remove();
});

const cidr = (address: string, prefix: number) =>
  ({ address, prefix, family: net.isIPv4(address) ? 'ipv4' : 'ipv6' }) as const;

/** A transport like the worker's, with its own policy and DNS. */
function transport(
  opts: { hosts?: string[]; cidrs?: ReturnType<typeof cidr>[]; resolve?: Resolver; proxyUrl?: string } = {},
) {
  return new WebhookTransport({
    policy: egressPolicy({ allowedHosts: opts.hosts ?? [], allowedCidrs: opts.cidrs ?? [] }),
    connectTimeoutMs: 2000,
    timeoutMs: 3000,
    extraCa: pki.caPem,
    proxyUrl: opts.proxyUrl ?? null,
    resolve: opts.resolve,
  });
}

/** DNS that answers from a table (and counts lookups); unknown names fail like NXDOMAIN. */
function fakeDns(table: Record<string, string[] | (() => string[])>) {
  const calls: string[] = [];
  const resolve: Resolver = async (host) => {
    calls.push(host);
    const entry = table[host];
    if (!entry) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    const list = typeof entry === 'function' ? entry() : entry;
    return list.map((address) => ({ address, family: net.isIPv4(address) ? 4 : 6 }));
  };
  return { resolve, calls };
}

const send = (t: WebhookTransport, url: string) =>
  t.send(url, { 'content-type': 'application/json', 'webhook-id': 'msg_test' }, '{"ok":true}');

describe('destinations: private addresses are refused before any connection', () => {
  test('IP literals: loopback, IPv6 loopback and IPv4-mapped IPv6 loopback', async () => {
    const t = transport();
    try {
      const before = rx.received.length;
      for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]']) {
        const r = await send(t, `https://${host}:${rx.port}/private`);
        assert.equal(r.ok, false);
        assert.equal(r.errorKind, 'refused_destination', `${host}: ${r.error}`);
        assert.match(r.error ?? '', /loopback/);
      }
      assert.equal(rx.received.length, before, 'the receiver was never contacted');
    } finally {
      t.close();
    }
  });

  test('hostnames resolving to private, link-local (metadata), CGNAT or mapped addresses; mixed answers too', async () => {
    const dns = fakeDns({
      'ten.hooks.test': ['10.0.0.5'],
      'metadata.hooks.test': ['169.254.169.254'],
      'cgnat.hooks.test': ['100.64.1.1'],
      'mapped.hooks.test': ['::ffff:192.168.1.1'],
      'ula.hooks.test': ['fd00:ec2::254'],
      'zero.hooks.test': ['0.0.0.0'],
      'mixed.hooks.test': ['93.184.216.34', '10.1.2.3'],
    });
    const t = transport({ resolve: dns.resolve });
    try {
      const expect: Record<string, RegExp> = {
        'ten.hooks.test': /10\.0\.0\.5 \(private\)/,
        'metadata.hooks.test': /169\.254\.169\.254 \(link-local/,
        'cgnat.hooks.test': /CGNAT/,
        'mapped.hooks.test': /::ffff:192\.168\.1\.1 \(private \(embedded in IPv6\)\)/,
        'ula.hooks.test': /unique local/,
        'zero.hooks.test': /unspecified/,
        'mixed.hooks.test': /10\.1\.2\.3 \(private\)/,
      };
      for (const [host, why] of Object.entries(expect)) {
        const r = await send(t, `https://${host}/x`);
        assert.equal(r.errorKind, 'refused_destination', `${host}: ${r.error}`);
        assert.match(r.error ?? '', why);
        assert.match(r.error ?? '', new RegExp(`^refused: ${host.replaceAll('.', '\\.')} resolves to`));
        // A connection attempt would take the 3 s timeout (no route) or reach nothing: the refusal comes first.
        assert.ok(r.durationMs < 2000, `refused without trying to connect (${r.durationMs} ms)`);
      }
      const nx = await send(t, 'https://nowhere.hooks.test/x');
      assert.equal(nx.errorKind, 'dns');
    } finally {
      t.close();
    }
  });

  test('the operator allow-list admits hostnames and CIDR ranges', async () => {
    const dns = fakeDns({ 'hooks.test': ['127.0.0.1'], 'a.corp.test': ['127.0.0.1'] });
    const byHost = transport({ hosts: ['hooks.test'], resolve: dns.resolve });
    const byWildcard = transport({ hosts: ['*.corp.test'], resolve: dns.resolve });
    const byCidr = transport({ cidrs: [cidr('127.0.0.0', 8)] });
    try {
      const r1 = await send(byHost, `https://hooks.test:${rx.port}/allowed`);
      assert.equal(r1.ok, true, r1.error ?? '');
      // a.corp.test is admitted, but the certificate does not name it: verification still applies.
      const r2 = await send(byWildcard, `https://a.corp.test:${rx.port}/allowed`);
      assert.equal(r2.errorKind, 'tls');
      assert.match(r2.error ?? '', /ERR_TLS_CERT_ALTNAME_INVALID/);
      const r3 = await send(byCidr, `https://127.0.0.1:${rx.port}/allowed`);
      assert.equal(r3.ok, true, r3.error ?? '');
      // IPv4-mapped IPv6 is the same address as far as the allow-list is concerned.
      const r4 = await send(byCidr, `https://[::ffff:127.0.0.1]:${rx.port}/allowed`);
      assert.notEqual(r4.errorKind, 'refused_destination', r4.error ?? '');
    } finally {
      byHost.close();
      byWildcard.close();
      byCidr.close();
    }
  });
});

describe('answers', () => {
  test('a 2xx with a body far over the drained 64 KiB is a success, sent once; a big 500 is still a failure', async () => {
    const t = transport({ cidrs: [cidr('127.0.0.0', 8)] });
    rx.on('/big-ok', { status: 200, body: 'x'.repeat(200_000) });
    rx.on('/big-error', { status: 500, body: 'y'.repeat(200_000) });
    try {
      const ok = await send(t, `https://127.0.0.1:${rx.port}/big-ok`);
      assert.equal(ok.ok, true, ok.error ?? '');
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.responseExcerpt?.length, 4096, 'an excerpt is kept, not the whole body');
      assert.equal(rx.of('/big-ok').length, 1);
      const bad = await send(t, `https://127.0.0.1:${rx.port}/big-error`);
      assert.equal(bad.ok, false);
      assert.equal(bad.statusCode, 500);
      assert.equal(bad.errorKind, 'http_status');
    } finally {
      t.close();
    }
  });
});

describe('DNS rebinding', () => {
  let rx2: Receiver;
  before(async () => {
    // 127.0.0.2 stands in for a public address here: only it is allow-listed.
    rx2 = await startReceiver(pki, { host: '127.0.0.2' });
  });
  after(() => rx2?.close());

  test('each new connection resolves and checks again; a name that rebinds to loopback is refused', async () => {
    let answer = '127.0.0.2';
    const dns = fakeDns({ 'rebind.hooks.test': () => [answer] });
    const t = transport({ cidrs: [cidr('127.0.0.2', 32)], resolve: dns.resolve });
    try {
      const first = await send(t, `https://rebind.hooks.test:${rx2.port}/rb`);
      assert.equal(first.ok, true, first.error ?? '');
      assert.equal(rx2.of('/rb').length, 1);
      assert.equal(dns.calls.length, 1);

      answer = '127.0.0.1'; // the attacker's DNS now points the name at loopback
      rx2.server.closeAllConnections(); // no kept-alive connection to reuse: the next attempt connects anew
      await new Promise((r) => setTimeout(r, 50));
      const second = await send(t, `https://rebind.hooks.test:${rx2.port}/rb`);
      assert.equal(second.errorKind, 'refused_destination', second.error ?? '');
      assert.match(second.error ?? '', /rebind\.hooks\.test resolves to 127\.0\.0\.1 \(loopback\)/);
      assert.equal(dns.calls.length, 2, 'resolved once per connection, and checked on that answer');
      assert.equal(rx2.of('/rb').length, 1);
    } finally {
      t.close();
    }
  });

  test('the connection goes to the checked address itself (no second lookup by the socket)', async () => {
    // Alternate answers on every lookup: if anything resolved twice (check, then connect), it would reach loopback.
    let n = 0;
    const dns = fakeDns({ 'flip.hooks.test': () => (n++ % 2 === 0 ? ['127.0.0.2'] : ['127.0.0.1']) });
    const t = transport({ cidrs: [cidr('127.0.0.2', 32)], resolve: dns.resolve });
    try {
      const r = await send(t, `https://flip.hooks.test:${rx2.port}/flip`);
      assert.equal(r.ok, true, r.error ?? '');
      assert.equal(dns.calls.length, 1);
      assert.equal(rx2.of('/flip').length, 1);
    } finally {
      t.close();
    }
  });
});

describe('TLS', () => {
  let ctx: WebhookTestContext;
  before(async () => {
    ctx = await startWebhookApp(pki, { retryScheduleMs: [0] });
  });
  after(() => ctx?.close());

  async function attemptTo(url: string) {
    const s = await createTestShop(ctx.db, 'whtls');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url });
    await emit(ctx.db, s.shop.id);
    const [m] = await settled(ctx.db, ep.id, 1);
    const [a] = await attemptsOf(ctx.db, m.id);
    return { m, a };
  }

  test('a server that speaks only TLS 1.1 is refused (TLS 1.2 is the minimum)', async () => {
    const old = https.createServer(
      {
        key: pki.leaf.key,
        cert: pki.leaf.cert,
        minVersion: 'TLSv1.1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      },
      (_req, res) => res.end('old'),
    );
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    const port = (old.address() as net.AddressInfo).port;
    try {
      // The server really does speak TLS 1.1 to a client that allows it.
      const proto = await new Promise<string>((resolve, reject) => {
        const s = tls.connect(
          {
            port,
            host: '127.0.0.1',
            ca: pki.caPem,
            minVersion: 'TLSv1.1',
            maxVersion: 'TLSv1.1',
            ciphers: 'DEFAULT@SECLEVEL=0',
          },
          () => {
            resolve(String(s.getProtocol()));
            s.end();
          },
        );
        s.on('error', reject);
      });
      assert.equal(proto, 'TLSv1.1');
      const { m, a } = await attemptTo(`https://127.0.0.1:${port}/old`);
      assert.equal(m.status, 'failed');
      assert.equal(a.errorKind, 'tls');
      assert.match(a.error ?? '', /protocol version/i);
      assert.equal(a.statusCode, null);
    } finally {
      old.close();
    }
  });

  test('a certificate no trusted CA signed is refused', async () => {
    const self = await startReceiver(pki, { tls: { key: pki.untrusted.key, cert: pki.untrusted.cert } });
    try {
      const { m, a } = await attemptTo(self.url('/self'));
      assert.equal(m.status, 'failed');
      assert.equal(a.errorKind, 'tls');
      assert.match(a.error ?? '', /self-signed certificate|DEPTH_ZERO_SELF_SIGNED_CERT/);
      assert.equal(self.received.length, 0, 'no request was sent over the untrusted connection');
    } finally {
      await self.close();
    }
  });

  test('with the CA trusted (WEBHOOK_CA_FILE) the same receiver setup works, on TLS 1.2 or newer', async () => {
    const { m, a } = await attemptTo(rx.url('/trusted'));
    assert.equal(m.status, 'succeeded', a.error ?? '');
    assert.equal(a.statusCode, 200);
  });
});

// ------------------------------------------------------------------------------------------------- proxy

interface Proxy {
  url: string;
  connects: { target: string; auth: string | null }[];
  close(): Promise<void>;
}

/** A minimal HTTP CONNECT proxy that logs what it was asked to reach; 407 without the expected credentials. */
async function startProxy(expectedAuth: string | null): Promise<Proxy> {
  const connects: Proxy['connects'] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const lines = head.slice(0, end).split('\r\n');
      const [, target] = lines[0].split(' ');
      const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.split(': ')[1] ?? null;
      connects.push({ target, auth });
      if (expectedAuth && auth !== expectedAuth) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
        return;
      }
      const i = target.lastIndexOf(':');
      const upstream = net.connect(Number(target.slice(i + 1)), target.slice(0, i).replace(/^\[|\]$/g, ''));
      sockets.add(upstream);
      upstream.on('connect', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://${expectedAuth ? 'hook%40user:s3cret@' : ''}127.0.0.1:${port}`,
    connects,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('egress through an HTTP CONNECT proxy', () => {
  const basic = `Basic ${Buffer.from('hook@user:s3cret').toString('base64')}`;

  test('traffic goes through the proxy to the checked address; TLS is end to end with the hostname', async () => {
    const proxy = await startProxy(basic);
    const dns = fakeDns({ 'proxied.hooks.test': ['127.0.0.1'] });
    const t = transport({ cidrs: [cidr('127.0.0.1', 32)], resolve: dns.resolve, proxyUrl: proxy.url });
    try {
      const r = await send(t, `https://proxied.hooks.test:${rx.port}/via-proxy`);
      assert.equal(r.ok, true, r.error ?? '');
      assert.deepEqual(proxy.connects, [{ target: `127.0.0.1:${rx.port}`, auth: basic }]);
      const [got] = rx.of('/via-proxy');
      assert.equal(got.headers.host, `proxied.hooks.test:${rx.port}`);
    } finally {
      t.close();
      await proxy.close();
    }
  });

  test('the destination policy still applies: a private destination never reaches the proxy', async () => {
    const proxy = await startProxy(null);
    const dns = fakeDns({ 'inside.hooks.test': ['10.9.8.7'] });
    const t = transport({ resolve: dns.resolve, proxyUrl: proxy.url });
    try {
      const r = await send(t, 'https://inside.hooks.test/x');
      assert.equal(r.errorKind, 'refused_destination');
      const lit = await send(t, 'https://169.254.169.254/latest/meta-data');
      assert.equal(lit.errorKind, 'refused_destination');
      assert.deepEqual(proxy.connects, []);
    } finally {
      t.close();
      await proxy.close();
    }
  });

  test('a proxy that refuses (407) is a failed attempt of kind proxy', async () => {
    const proxy = await startProxy(basic);
    const t = transport({
      cidrs: [cidr('127.0.0.1', 32)],
      proxyUrl: proxy.url.replace('s3cret', 'wrong'),
    });
    try {
      const r = await send(t, `https://127.0.0.1:${rx.port}/x`);
      assert.equal(r.errorKind, 'proxy');
      assert.match(r.error ?? '', /HTTP 407/);
    } finally {
      t.close();
      await proxy.close();
    }
  });

  test('the worker uses WEBHOOK_PROXY_URL: a delivery through the proxy, signed and logged', async () => {
    const proxy = await startProxy(null);
    const ctx = await startWebhookApp(pki, { proxyUrl: proxy.url });
    try {
      const s = await createTestShop(ctx.db, 'whp');
      const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/worker-proxy') });
      await emit(ctx.db, s.shop.id);
      const [m] = await settled(ctx.db, ep.id, 1);
      assert.equal(m.status, 'succeeded', m.lastError ?? '');
      assert.deepEqual(
        proxy.connects.map((c) => c.target),
        [`127.0.0.1:${rx.port}`],
      );
      assert.equal(rx.of('/worker-proxy').length, 1);
    } finally {
      await ctx.close();
      await proxy.close();
    }
  });
});
