import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { type App, buildApp } from '../src/app.js';
import { CSV_COLUMNS, csvCell, decimalAmount } from '../src/claims/export-csv.js';
import { EXPORT_BATCH } from '../src/claims/query-routes.js';
import type { Database } from '../src/db/client.js';
import { analyzeChangedTables } from '../src/db/embedded-vacuum.js';
import { createMetrics } from '../src/http/metrics.js';
import { createTestShop, type TestShop, testConfig } from './support/app.js';
import {
  type ClaimOut,
  claimsApi,
  csvRecords,
  ids,
  lineId,
  parseCsv,
  setTimes,
  shapedOrder,
} from './support/claims.js';
import { openTestDb } from './support/db.js';
import { assertError, assertInvalidAt, daysAgo } from './support/http.js';

// The app of this file logs to memory: the export's own log line tells how far it read.
let app: App;
let database: Database;
const logs: { msg: string; [k: string]: unknown }[] = [];
before(async () => {
  database = await openTestDb();
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
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
const exportLogs = () => logs.filter((l) => l.msg.startsWith('claims export'));

describe('CSV cells', () => {
  test('RFC 4180 quoting and formula neutralisation', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('two\nlines'), '"two\nlines"');
    assert.equal(csvCell('cr\r\nlf'), '"cr\r\nlf"');
    assert.equal(csvCell('=1+1'), "'=1+1");
    assert.equal(csvCell('+49 30 1234'), "'+49 30 1234");
    assert.equal(csvCell('-2'), "'-2");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('\tx'), "'\tx");
    assert.equal(csvCell('\rx'), '"\'\rx"');
    assert.equal(csvCell('=HYPERLINK("http://x","y")'), '"\'=HYPERLINK(""http://x"",""y"")"');
    assert.equal(csvCell('a=b'), 'a=b');
    assert.equal(csvCell('Größe 緑 🦄'), 'Größe 緑 🦄');
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(''), '');
    assert.equal(csvCell(42), '42');
  });

  test('money in major units per currency', () => {
    assert.equal(decimalAmount(1999, 'EUR'), '19.99');
    assert.equal(decimalAmount(5, 'EUR'), '0.05');
    assert.equal(decimalAmount(-5, 'EUR'), '-0.05');
    assert.equal(decimalAmount(1999, 'JPY'), '1999');
    assert.equal(decimalAmount(1999, 'BHD'), '1.999');
    assert.equal(decimalAmount(100, null), '1.00');
    assert.equal(decimalAmount(null, 'EUR'), null);
  });
});

describe('GET /v1/shops/{slug}/claims/export.csv', () => {
  let s: TestShop;
  let other: TestShop;
  let multi: ClaimOut;
  let support: ClaimOut;
  let yen: ClaimOut;
  const description = 'Line one\r\nLine "two", with a comma\nand ünïcödé 緑 🦄';

  before(async () => {
    s = await createTestShop(ctx(), 'cexp');
    other = await createTestShop(ctx(), 'cexpb');
    const a = claimsApi(app, s);
    const base = shapedOrder();
    const doc = shapedOrder({
      number: '#EXP-1',
      email: 'Kim+Test@Example.com',
      lineItems: [
        { ...base.line_items[0], sku: '=SKU-1', title: 'T-shirt, "Classic"', variant_title: 'Größe M / 緑' },
        { ...base.line_items[1], sku: '-MUG', title: '@Mug\nsecond line', variant_title: '+1' },
      ],
    });
    // The customer's first name starts a formula too.
    const o = await a.putOrder({ ...doc, customer: { ...doc.customer!, first_name: '=Kim' } });
    multi = await a.create({
      order_id: o.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [
        { line_item_id: lineId(o, 'li-1'), quantity: 2 },
        { line_item_id: lineId(o, 'li-2'), quantity: 1 },
      ],
      description,
      resolution_preference: 'refund',
    });
    const tagged = await a.patch(multi.id, {
      version: 1,
      tags: ['=1+1', 'vip'],
      assignee: '@agent@shop.test',
    });
    assert.equal(tagged.statusCode, 200, tagged.body);
    const none = await a.putOrder(shapedOrder({ number: 'EXP-2', deliveredDaysAgo: 'none', country: 'AT' }));
    support = await a.create({
      order_id: none.id,
      flow: 'support',
      reason: 'other',
      items: [],
      description: 'Question about my order.',
    });
    const jp = await a.putOrder({ ...shapedOrder({ number: 'EXP-3', country: 'JP' }), currency: 'JPY' });
    yen = await a.create({
      order_id: jp.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: lineId(jp, 'li-1'), quantity: 1 }],
      resolution_preference: 'replacement',
    });
    const accepted = await a.patch(yen.id, { version: 1, status: 'accepted' });
    assert.equal(accepted.statusCode, 200, accepted.body);
    await setTimes(ctx(), multi.id, daysAgo(3));
    await setTimes(ctx(), support.id, daysAgo(2));
    await setTimes(ctx(), yen.id, daysAgo(1));
    // A claim of another shop: never in this shop's export.
    const ob = await claimsApi(app, other).putOrder(shapedOrder({ number: '#EXP-1' }));
    await claimsApi(app, other).create({
      order_id: ob.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: lineId(ob, 'li-2'), quantity: 1 }],
      resolution_preference: 'refund',
    });
  });

  test('headers, one row per item, values round-trip through an RFC 4180 parser', async () => {
    const before = new Date().toISOString().slice(0, 10);
    const res = await claimsApi(app, s, s.auth.viewer).exportCsv();
    const afterDay = new Date().toISOString().slice(0, 10);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
    const disposition = String(res.headers['content-disposition']);
    assert.ok(
      [before, afterDay].some((d) => disposition === `attachment; filename="claims-${s.slug}-${d}.csv"`),
      disposition,
    );
    assert.ok(!res.body.startsWith('\uFEFF'), 'no BOM unless asked');
    const [header] = parseCsv(res.body);
    assert.deepEqual(header, [...CSV_COLUMNS]);
    const rows = csvRecords(res.body);
    // Newest first: the yen claim (1 item), the support claim (no items: one row), the multi claim (2 items).
    assert.deepEqual(
      rows.map((r) => r.claim_number),
      [yen.number, support.number, multi.number, multi.number],
    );
    assert.equal(new Set(rows.map((r) => r.claim_id)).size, 3, 'no claim of the other shop');

    const [m1, m2] = rows.filter((r) => r.claim_id === multi.id);
    assert.equal(m1.description, description, 'CRLF, LF, quotes, commas and non-ASCII survive');
    assert.equal(m1.item_sku, "'=SKU-1");
    assert.equal(m1.item_title, 'T-shirt, "Classic"');
    assert.equal(m1.item_variant, 'Größe M / 緑');
    assert.equal(m1.item_quantity, '2');
    assert.equal(m1.item_unit_net_price, '19.99');
    assert.equal(m1.item_net_total, '39.98');
    assert.equal(m2.item_sku, "'-MUG");
    assert.equal(m2.item_title, "'@Mug\nsecond line");
    assert.equal(m2.item_variant, "'+1");
    assert.equal(m2.item_quantity, '1');
    assert.equal(m2.item_unit_net_price, '9.99');
    for (const r of [m1, m2]) {
      assert.equal(r.claim_value, '49.97');
      assert.equal(r.currency, 'EUR');
      assert.equal(r.tags, "'=1+1, vip");
      assert.equal(r.assignee, "'@agent@shop.test");
      assert.equal(r.customer_name, "'=Kim Berg");
      assert.equal(r.customer_email, 'kim+test@example.com');
      assert.equal(r.order_number, '#EXP-1');
      assert.equal(r.carrier, 'dhl');
      assert.equal(r.tracking_number, '00340434');
      assert.equal(r.country, 'DE');
      assert.equal(r.shipment_phase, 'delivered');
      assert.equal(r.status, 'pending');
      assert.equal(r.flow, 'missing_item');
      assert.equal(r.reason, 'missing_from_parcel');
      assert.equal(r.resolution_preference, 'refund');
      assert.equal(r.channel, 'api');
      assert.equal(r.language, 'de');
      assert.match(r.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const sup = rows.find((r) => r.claim_id === support.id)!;
    for (const k of [
      'item_sku',
      'item_title',
      'item_variant',
      'item_quantity',
      'item_unit_net_price',
      'item_net_total',
    ])
      assert.equal(sup[k], '', k);
    assert.deepEqual([sup.carrier, sup.shipment_phase, sup.country, sup.claim_value], ['', '', 'AT', '0.00']);
    const y = rows.find((r) => r.claim_id === yen.id)!;
    assert.deepEqual(
      [y.item_unit_net_price, y.claim_value, y.currency, y.status],
      ['1999', '1999', 'JPY', 'accepted'],
    );
  });

  test('bom=1 prepends a UTF-8 BOM; the bytes are UTF-8', async () => {
    const res = await claimsApi(app, s, s.auth.viewer).exportCsv({ bom: 1 });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual([...res.rawPayload.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    assert.ok(res.rawPayload.includes(Buffer.from('緑 🦄', 'utf8')));
    assert.deepEqual(parseCsv(res.body.slice(1))[0], [...CSV_COLUMNS]);
    assert.equal(
      (await claimsApi(app, s, s.auth.viewer).exportCsv({ bom: 'true' })).body.charCodeAt(0),
      0xfeff,
    );
    assert.notEqual(
      (await claimsApi(app, s, s.auth.viewer).exportCsv({ bom: 0 })).body.charCodeAt(0),
      0xfeff,
    );
  });

  test('the same filters, search and sort as the list', async () => {
    const l = claimsApi(app, s, s.auth.viewer);
    const claimOrder = (body: string) => [...new Set(csvRecords(body).map((r) => r.claim_id))];
    for (const q of [
      {},
      { sort: 'created_at' },
      { sort: '-updated_at' },
      { status: 'accepted' },
      { flow: 'missing_item', sort: 'created_at' },
      { q: '#exp-1' },
      { q: 'KIM+TEST@example.com' },
      { country: 'AT,JP' },
      { carrier: 'none' },
      { tag: 'vip' },
      { created_from: daysAgo(2.5) },
    ] as Record<string, string>[]) {
      const res = await l.exportCsv(q);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(claimOrder(res.body), ids(await l.list(q)), JSON.stringify(q));
    }
    // Nothing matches: the header alone.
    const empty = await l.exportCsv({ status: 'closed' });
    assert.equal(empty.body, `${CSV_COLUMNS.join(',')}\r\n`);
  });

  test('roles, tenancy and bad input', async () => {
    assertError(await claimsApi(app, s, { authorization: 'Bearer nope' }).exportCsv(), 401, 'unauthorized');
    assertError(await claimsApi(app, s, other.auth.admin).exportCsv(), 404, 'shop_not_found');
    const l = claimsApi(app, s, s.auth.viewer);
    assertInvalidAt(await l.exportCsv({ status: 'open' }), 'querystring:/status');
    assertInvalidAt(await l.exportCsv({ bom: 2 }), 'querystring:/bom');
    assertInvalidAt(await l.exportCsv({ cursor: 'x' }), 'querystring:/cursor');
    assertInvalidAt(await l.exportCsv({ sort: 'number' }), 'querystring:/sort');
    assertInvalidAt(await l.exportCsv({ created_to: 'soon' }), 'querystring:/created_to');
  });
});

describe('streaming', () => {
  const N = 30_000;
  let s: TestShop;
  let base: string;

  before(async () => {
    s = await createTestShop(ctx(), 'cstream');
    const a = claimsApi(app, s);
    const o = await a.putOrder(shapedOrder());
    const template = await a.create({
      order_id: o.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: lineId(o, 'li-2'), quantity: 1 }],
      resolution_preference: 'refund',
      description: 'A claim copied many times to make a large export.',
    });
    // N - 1 copies of that claim (and its item), one second apart, straight in SQL.
    await ctx().execute(sql`
      insert into claims (id, shop_id, number, order_id, shipment_id, flow, reason, description, resolution_preference,
        status, channel, language, answers, context, tags, order_number_norm, customer_email, carrier, country_code,
        shipment_phase, claim_value, currency, version, created_at, updated_at)
      select 'clm_zz' || lpad(g::text, 24, '0'), shop_id, 'R-' || (100000 + g), order_id, shipment_id, flow, reason,
        description, resolution_preference, status, channel, language, answers, context, tags, order_number_norm,
        customer_email, carrier, country_code, shipment_phase, claim_value, currency, version,
        created_at - g * interval '1 second', updated_at
      from claims, generate_series(1, ${N - 1}) g where id = ${template.id}`);
    await ctx().execute(sql`
      insert into claim_items (id, shop_id, claim_id, line_item_id, shipment_id, sku, title, variant_title, quantity,
        unit_net_price, image_url)
      select 'cli_zz' || lpad(g::text, 24, '0'), shop_id, 'clm_zz' || lpad(g::text, 24, '0'), line_item_id,
        shipment_id, sku, title, variant_title, quantity, unit_net_price, image_url
      from claim_items, generate_series(1, ${N - 1}) g where claim_id = ${template.id}`);
    // What autovacuum (PostgreSQL) or the embedded database's timer (PGlite) does within a minute of such a
    // load: without statistics PGlite's plans for 30,000 claims made the export ~15× slower.
    await analyzeChangedTables(ctx());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as AddressInfo;
    base = `http://127.0.0.1:${address.port}/v1/shops/${s.slug}/claims/export.csv`;
  });

  const get = (url: string) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(url, { headers: s.auth.viewer }, resolve).on('error', reject);
    });
  const waitFor = async <T>(fn: () => T | undefined, ms = 20_000): Promise<T> => {
    const until = Date.now() + ms;
    for (;;) {
      const v = fn();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  test('the first bytes arrive before the export has read all its batches', async () => {
    const seen = exportLogs().length;
    const res = await get(base);
    assert.equal(res.statusCode, 200);
    let bytes = 0;
    let lines = 0;
    let endedBeforeFirstChunk: boolean | undefined;
    for await (const chunk of res) {
      endedBeforeFirstChunk ??= exportLogs().length > seen;
      bytes += chunk.length;
      for (const b of chunk as Buffer) if (b === 0x0a) lines++;
    }
    assert.equal(endedBeforeFirstChunk, false, 'the response started while the export was still reading');
    const done = await waitFor(() =>
      exportLogs()
        .slice(seen)
        .find((l) => l.msg === 'claims export done'),
    );
    assert.equal(done.claims, N);
    assert.equal(done.rows, N);
    assert.equal(done.batches, Math.floor(N / EXPORT_BATCH) + 1);
    assert.equal(lines, N + 1, 'header + one line per claim item');
    assert.ok(bytes > 5_000_000, `${bytes} bytes`);
  });

  test('a client that stops reading pauses the export; one that goes away ends its reads', async () => {
    const seen = exportLogs().length;
    const res = await get(base);
    assert.equal(res.statusCode, 200);
    await new Promise<void>((resolve) => res.once('data', () => resolve()));
    res.pause();
    // The whole export takes ~4 s here when read; unread, it must stall on the socket's backpressure.
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(exportLogs().length, seen, 'the export stalls while the client does not read');
    res.destroy();
    const aborted = await waitFor(() => exportLogs().slice(seen)[0]);
    assert.equal(aborted.msg, 'claims export aborted');
    assert.equal(aborted.complete, false);
    const total = Math.floor(N / EXPORT_BATCH) + 1;
    assert.ok((aborted.batches as number) < total, `read ${aborted.batches} of ${total} batches`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(exportLogs().slice(seen).length, 1);
  });
});

function ctx() {
  return database.db;
}
