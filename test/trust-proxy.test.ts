import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { orderDoc } from './support/orders.js';

// Behind a reverse proxy every request comes from the proxy's address. With TRUST_PROXY naming the proxies, the
// client IP (lookup limits and lock-outs, logs) is the customer's from X-Forwarded-For, and a client that is
// not a trusted proxy cannot choose its address by sending the header.

test('TRUST_PROXY: false, true or proxy addresses/CIDR ranges; anything else is a configuration error', () => {
  const of = (v: string | undefined) => loadConfig({ TRUST_PROXY: v }).trustProxy;
  assert.equal(of(undefined), false);
  assert.equal(of(''), false);
  assert.equal(of('false'), false);
  assert.equal(of('0'), false);
  assert.equal(of('true'), true);
  assert.equal(of('1'), true);
  assert.deepEqual(of('10.0.0.0/8, 127.0.0.1 ,fd00::/8,loopback'), [
    '10.0.0.0/8',
    '127.0.0.1',
    'fd00::/8',
    'loopback',
  ]);
  for (const bad of ['yes', '10.0.0.0/33', 'proxy.internal', '2', ',']) {
    assert.throws(
      () => of(bad),
      (err: unknown) => err instanceof ConfigError && /TRUST_PROXY/.test(String(err.message)),
      bad,
    );
  }
});

// Addresses unique to this run: lock-out rows may outlive a run on a shared PostgreSQL database.
const net = `203.0.${randomInt(1, 255)}`;
const customerA = `${net}.10`;
const customerB = `${net}.11`;

describe('the client IP behind a trusted proxy', () => {
  let ctx: TestContext;
  let shop: TestShop;
  let order: ReturnType<typeof orderDoc>;
  before(async () => {
    const base = loadConfig({}).lookup;
    ctx = await startTestApp({ trustProxy: ['10.0.0.0/8'], lookup: { ...base, ipFailures: 3 } });
    shop = await createTestShop(ctx.db, 'prx');
    order = orderDoc();
    const put = await ctx.app.inject({
      method: 'PUT',
      url: `/v1/shops/${shop.slug}/orders`,
      headers: shop.auth.editor,
      payload: order,
    });
    assert.equal(put.statusCode, 201, put.body);
  });
  after(() => ctx.close());

  const lookup = (peer: string, forwarded: string | null, zip: string) =>
    ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/sessions`,
      remoteAddress: peer,
      headers: forwarded ? { 'x-forwarded-for': forwarded } : {},
      payload: { order_number: order.order_number, zip_code: zip },
    });
  const lockedIps = async () => {
    const res = await ctx.app.inject({
      url: `/v1/shops/${shop.slug}/lookup-lockouts`,
      headers: shop.auth.viewer,
    });
    assert.equal(res.statusCode, 200, res.body);
    return (res.json().data as { kind: string; client_ip: string | null }[])
      .filter((l) => l.kind === 'client_ip')
      .map((l) => l.client_ip);
  };

  test('each customer counts as themselves, not as the proxy', async () => {
    // Customer A mistypes the ZIP through two proxies of the trusted network, until locked out.
    for (let i = 0; i < 3; i++)
      assert.equal((await lookup('10.0.0.2', `${customerA}, 10.20.0.5`, '99999')).statusCode, 404);
    assert.equal(
      (await lookup('10.0.0.2', `${customerA}, 10.20.0.5`, order.shipping_address!.zip_code!)).statusCode,
      429,
    );
    assert.deepEqual(await lockedIps(), [customerA]);
    // Customer B, behind the same proxy, is not locked out by A.
    const b = await lookup('10.0.0.2', customerB, order.shipping_address!.zip_code!);
    assert.equal(b.statusCode, 201, b.body);
  });

  test('a client that is no trusted proxy cannot choose its address with X-Forwarded-For', async () => {
    const direct = `198.51.${randomInt(1, 255)}.7`;
    // Claiming to be customer B does not make it B: its failures are its own.
    for (let i = 0; i < 3; i++) assert.equal((await lookup(direct, customerB, '99999')).statusCode, 404);
    assert.deepEqual((await lockedIps()).sort(), [customerA, direct].sort());
    assert.equal((await lookup('10.0.0.2', customerB, order.shipping_address!.zip_code!)).statusCode, 201);
    // Nor can it pose as customer A to be refused in A's place, or escape its own lock by naming another.
    assert.equal((await lookup(direct, `${net}.99`, order.shipping_address!.zip_code!)).statusCode, 429);
  });
});

test('without TRUST_PROXY, X-Forwarded-For is ignored', async () => {
  const ctx = await startTestApp({ lookup: { ...loadConfig({}).lookup, ipFailures: 2 } });
  try {
    const shop = await createTestShop(ctx.db, 'prx');
    const peer = `192.0.2.${randomInt(1, 255)}`;
    for (let i = 0; i < 2; i++) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/v1/resolve/${shop.slug}/sessions`,
        remoteAddress: peer,
        headers: { 'x-forwarded-for': `${net}.${50 + i}` },
        payload: { order_number: '#1', zip_code: '10115' },
      });
      assert.equal(res.statusCode, 404);
    }
    const res = await ctx.app.inject({
      url: `/v1/shops/${shop.slug}/lookup-lockouts`,
      headers: shop.auth.viewer,
    });
    assert.deepEqual(
      (res.json().data as { kind: string; client_ip: string | null }[])
        .filter((l) => l.kind === 'client_ip')
        .map((l) => l.client_ip),
      [peer],
    );
  } finally {
    await ctx.close();
  }
});
