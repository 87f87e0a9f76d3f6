import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { type App, buildApp } from '../src/app.js';
import { type Database, openDatabase } from '../src/db/client.js';
import { createMetrics } from '../src/http/metrics.js';
import { testConfig } from './support/app.js';
import { assertError } from './support/http.js';

// A database that cannot be reached (down, restarting, out of connections) is a retryable 503 with Retry-After,
// never a 500 that reads like a bug of the request. PostgreSQL's pool is pointed at a port nothing listens on.

let app: App;
let database: Database;

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

before(async () => {
  const port = await closedPort();
  database = await openDatabase({
    databaseUrl: `postgres://postgres@127.0.0.1:${port}/gone`,
    dataDir: null,
    poolMax: 2,
  });
  app = await buildApp({
    config: { ...testConfig(), redisUrl: null },
    database,
    log: pino({ level: 'silent' }),
    metrics: createMetrics(),
    lookupCounters: null,
    masterSecret: randomBytes(32),
  });
  await app.ready();
});
after(async () => {
  await app?.close();
  await database?.close();
});

test('the merchant API and the customer lookup answer 503 service_unavailable with Retry-After', async () => {
  const merchant = await app.inject({
    method: 'GET',
    url: '/v1/shops/demo/orders',
    headers: { authorization: `Bearer rsk_${'a'.repeat(26)}_${'b'.repeat(43)}` },
  });
  assertError(merchant, 503, 'service_unavailable');
  assert.equal(merchant.headers['retry-after'], '5');
  const lookup = await app.inject({
    method: 'POST',
    url: '/v1/resolve/demo/sessions',
    payload: { order_number: '1001', zip_code: '10115' },
  });
  assertError(lookup, 503, 'service_unavailable');
  assert.equal(lookup.headers['retry-after'], '5');
  // Readiness says the same to the load balancer.
  assert.equal((await app.inject({ url: '/readyz' })).statusCode, 503);
});
