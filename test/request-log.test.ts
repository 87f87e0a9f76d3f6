// The request log never holds a credential from a URL: a signed link's token (30 days of access to an order, with
// cancel and address change) or an evidence file's signature. Logs travel further than the database.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { type App, buildApp } from '../src/app.js';
import type { Database } from '../src/db/client.js';
import { loggedUrl } from '../src/http/log-url.js';
import { createMetrics } from '../src/http/metrics.js';
import { createTestShop, testConfig } from './support/app.js';
import { openTestDb } from './support/db.js';

let app: App;
let database: Database;
const lines: Record<string, unknown>[] = [];
before(async () => {
  database = await openTestDb();
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  app = await buildApp({
    config: testConfig(),
    database,
    log: pino({ level: 'info' }, sink),
    metrics: createMetrics(),
  });
  await app.ready();
});
after(async () => {
  await app.close();
  await database.close();
});

test('credential parameters are redacted in the request log, other parameters kept', async () => {
  const shop = await createTestShop(database.db, 'logs');
  const token = 'eyJhbGciOiJIUzI1NiJ9.secret-part.signature-part';
  await app.inject({ method: 'GET', url: `/resolve/${shop.slug}?lang=de&token=${token}` });
  await app.inject({ method: 'GET', url: '/v1/files/upl_x?exp=1893456000&sig=c2lnbmF0dXJlLXNlY3JldA' });
  await app.inject({
    method: 'GET',
    url: `/v1/shops/${shop.slug}/claims?q=kim&%74oken=percent-encoded-secret`,
  });
  const requests = lines.filter((l) => l.msg === 'request').map((l) => String(l.url));
  assert.ok(requests.includes(`/resolve/${shop.slug}?lang=de&token=[redacted]`), requests.join('\n'));
  assert.ok(requests.includes('/v1/files/upl_x?exp=1893456000&sig=[redacted]'), requests.join('\n'));
  assert.ok(requests.includes(`/v1/shops/${shop.slug}/claims?q=kim&%74oken=[redacted]`), requests.join('\n'));
  const all = JSON.stringify(lines);
  for (const secret of [token, 'c2lnbmF0dXJlLXNlY3JldA', 'percent-encoded-secret'])
    assert.ok(!all.includes(secret), `${secret} is in the log`);
});

test('loggedUrl keeps URLs without credentials as they are', () => {
  for (const url of ['/v1/shops/demo/claims', '/v1/shops/demo/claims?status=open&q=token', '/x?token', '/x?'])
    assert.equal(loggedUrl(url), url);
  assert.equal(loggedUrl('/x?a=1&Token=2&b=%ZZ'), '/x?a=1&Token=[redacted]&b=%ZZ');
});
