// The CSV export reads its batches side by side on PostgreSQL (ranges between batch ends read first): the bytes
// are those of one batch at a time, on awkward data, for every sort, some filters, batch sizes and parallelism;
// and claims added while an export runs do not make it skip any other.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { type App, buildApp } from '../src/app.js';
import { CSV_COLUMNS, claimsCsv, type ExportOptions, type ExportProgress } from '../src/claims/export-csv.js';
import type { ClaimFilters, Sort } from '../src/claims/filters.js';
import type { Database } from '../src/db/client.js';
import { createMetrics } from '../src/http/metrics.js';
import { createTestShop, type TestShop, testConfig } from './support/app.js';
import { claimsApi, csvRecords, lineId, shapedOrder } from './support/claims.js';
import { openTestDb } from './support/db.js';

let app: App;
let database: Database;
before(async () => {
  database = await openTestDb();
  app = await buildApp({
    config: testConfig(),
    database,
    log: pino({ level: 'silent' }),
    metrics: createMetrics(),
  });
  await app.ready();
});
after(async () => {
  await app.close();
  await database.close();
});
const db = () => database.db;

async function exportText(shopId: string, f: ClaimFilters, o: Partial<ExportOptions> & { sort: Sort }) {
  let text = '';
  let progress: ExportProgress | undefined;
  for await (const chunk of claimsCsv(db(), shopId, f, {
    bom: false,
    batchSize: 1000,
    ...o,
    onEnd: (p) => {
      progress = p;
    },
  }))
    text += chunk;
  return { text, progress: progress! };
}

describe('an export read in ranges side by side', () => {
  /** In the ids written here: a database reused by another run already has those of that run. */
  const run = Math.random().toString(36).slice(2, 8).padEnd(6, '0');
  let s: TestShop;
  let templateId: string;
  /** Awkward claims, copied from one made through the API with the columns below replaced. */
  const awkward: Record<string, unknown>[] = [
    {
      number: 'R-=1',
      description: 'Line one\r\nLine "two", with a comma\nand ünïcödé 緑 🦄',
      tags: ['=1+1', 'vip'],
    },
    {
      number: '+R2',
      description: '=HYPERLINK("http://x","y")',
      assignee: '\tagent@shop.test',
      currency: 'JPY',
    },
    {
      number: '-3',
      description: '',
      resolution_preference: '',
      carrier: null,
      country_code: null,
      currency: 'bhd',
    },
    { number: '@4', description: null, assignee: '@ops', currency: 'CLF', claim_value: -5 },
    { number: 'R-5', description: '\rstarts with CR', tags: [], currency: null, claim_value: 0 },
    { number: 'R-6', description: 'tab\tinside, "quoted"', currency: 'ısk', claim_value: 123456789012 },
    { number: 'R-7', description: 'plain', tags: ['a,b', 'c"d', '-x'], currency: 'Jpy', claim_value: 1999 },
    { number: 'R-8', description: "'already quoted'", channel: 'portal', language: null, status: 'accepted' },
    { number: 'R-9', description: '"', customer_email: '=cmd@x.test', order_number_norm: 'X' },
    { number: 'R,10', description: ',', carrier: 'dhl,express', shipment_phase: '=phase' },
    { number: 'R"11', description: '\n', country_code: '+4', reason: 'a\nb', flow: '-flow' },
    { number: 'R-12', description: 'Größe 緑 🦄 ok', status: 'closed', currency: 'EUR', claim_value: 5 },
  ];
  /** Items per awkward claim (by index): none, one or several, awkward too. */
  const itemsOf = (k: number): Record<string, unknown>[] =>
    [
      [],
      [
        {
          sku: '=SKU',
          title: 'T-shirt, "Classic"',
          variant_title: 'Größe M / 緑',
          quantity: 2,
          unit_net_price: 1999,
        },
      ],
      [
        { sku: null, title: '@Mug\nsecond line', variant_title: null, quantity: 1, unit_net_price: 0 },
        { sku: '-MUG', title: 'Mug', variant_title: '+1', quantity: 3, unit_net_price: -150 },
        { sku: 'x', title: '\tTab', variant_title: '', quantity: 1000, unit_net_price: 99999999 },
      ],
    ][k % 3];

  before(async () => {
    s = await createTestShop(db(), 'cexppar');
    const a = claimsApi(app, s);
    const o = await a.putOrder(shapedOrder({ number: '#SQL-1' }));
    const template = await a.create({
      order_id: o.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: lineId(o, 'li-1'), quantity: 1 }],
      description: 'template',
      resolution_preference: 'refund',
    });
    templateId = template.id;
    // The template's customer name and tracking number come from its context: make those awkward too.
    await db().execute(sql`update claims set context = jsonb_set(jsonb_set(context, '{customer,first_name}',
      '"=Kim, \\"K\\""'), '{shipment,tracking_number}', '"-0034\\n0434"') where id = ${templateId}`);
    for (const [k, c] of awkward.entries()) {
      const id = `clm_sqlcsv${run}${String(k).padStart(14, '0')}`;
      await db().execute(sql`insert into claims (id, shop_id, number, order_id, shipment_id, flow, reason, description,
          resolution_preference, status, channel, language, answers, context, tags, assignee, order_number_norm,
          customer_email, carrier, country_code, shipment_phase, claim_value, currency, version, created_at, updated_at)
        select ${id}, shop_id, ${c.number as string}, order_id, shipment_id, flow, reason, description, resolution_preference, status,
          channel, language, answers, context, tags, assignee, order_number_norm, customer_email, carrier, country_code,
          shipment_phase, claim_value, currency, version,
          created_at - ${`${k + 1} hours`}::interval, updated_at - ${`${(k * 7) % 12} minutes`}::interval
        from claims where id = ${templateId}`);
      for (const [col, v] of Object.entries(c).filter(([col]) => col !== 'number')) {
        const value = Array.isArray(v)
          ? sql`${`{${v.map((t) => JSON.stringify(t)).join(',')}}`}::text[]`
          : sql`${v}`;
        await db().execute(sql`update claims set ${sql.identifier(col)} = ${value} where id = ${id}`);
      }
      for (const [n, item] of itemsOf(k).entries())
        await db().execute(sql`insert into claim_items (id, shop_id, claim_id, line_item_id, shipment_id, sku, title,
            variant_title, quantity, unit_net_price)
          select ${`cli_sqlcsv${run}${String(k).padStart(12, '0')}${n}`}, shop_id, ${id}, line_item_id, shipment_id,
            ${item.sku as string | null}, ${item.title as string}, ${item.variant_title as string | null},
            ${item.quantity as number}, ${item.unit_net_price as number}
          from claim_items where claim_id = ${templateId} limit 1`);
    }
  });

  test('same bytes for every sort, filter, batch size and parallelism', async () => {
    const filters: ClaimFilters[] = [{}, { status: 'accepted,closed' }, { q: 'R-12' }];
    for (const f of filters)
      for (const sort of ['-created_at', 'created_at', '-updated_at', 'updated_at'] as const) {
        const reference = await exportText(s.shop.id, f, { sort, batchSize: 1000, parallel: 1 });
        for (const [batchSize, parallel] of [
          [1, 1],
          [2, 2],
          [3, 3],
          [4, 2],
        ]) {
          const got = await exportText(s.shop.id, f, { sort, batchSize, parallel });
          const label = JSON.stringify({ f, sort, batchSize, parallel });
          assert.equal(got.text, reference.text, label);
          assert.equal(got.progress.claims, reference.progress.claims, label);
          assert.equal(got.progress.rows, reference.progress.rows, label);
          // Batches end as they did: the last read is the first that finds fewer than batchSize claims.
          assert.equal(got.progress.batches, Math.floor(reference.progress.claims / batchSize) + 1, label);
        }
      }
    const all = await exportText(s.shop.id, {}, { sort: '-created_at', parallel: 2, batchSize: 5 });
    const rows = csvRecords(all.text);
    assert.equal(new Set(rows.map((r) => r.claim_id)).size, awkward.length + 1);
    assert.equal(rows.length, 1 + awkward.reduce<number>((n, _c, k) => n + (itemsOf(k).length || 1), 0));
    assert.deepEqual(Object.keys(rows[0]), [...CSV_COLUMNS]);
    const yen = rows.find((r) => r.claim_number === "'+R2")!;
    assert.deepEqual([yen.currency, yen.item_unit_net_price, yen.item_net_total], ['JPY', '1999', '3998']);
    const clf = rows.find((r) => r.claim_number === "'@4")!;
    assert.deepEqual([clf.claim_value, clf.currency, clf.item_unit_net_price], ['-0.0005', 'CLF', '']);
    const bhd = rows.filter((r) => r.claim_number === "'-3");
    assert.deepEqual(
      bhd.map((r) => [r.currency, r.item_sku, r.item_unit_net_price, r.item_net_total]),
      [
        ['bhd', '', '0.000', '0.000'],
        ['bhd', "'-MUG", '-0.150', '-0.450'],
        ['bhd', 'x', '99999.999', '99999999.000'],
      ],
    );
  });

  test('claims added during an export make it skip none of the others', async () => {
    const before = csvRecords((await exportText(s.shop.id, {}, { sort: '-created_at' })).text);
    const gen = claimsCsv(
      db(),
      s.shop.id,
      {},
      { sort: '-created_at', bom: false, batchSize: 2, parallel: 2 },
    );
    let text = '';
    // The header and the first batch: by now the ends of the next batches are known, and the second and third
    // batches are being read.
    text += (await gen.next()).value;
    text += (await gen.next()).value;
    // Six claims just older than the sixth newest: in the fourth batch's range, which now holds eight claims.
    for (let n = 0; n < 6; n++)
      await db().execute(sql`insert into claims (id, shop_id, number, order_id, flow, reason, status, channel,
          answers, context, tags, order_number_norm, claim_value, currency, version, created_at, updated_at)
        select ${`clm_sqlcsvadd${run}${String(n).padStart(11, '0')}`}, shop_id, ${`R-ADD-${n}`}, order_id, flow, reason,
          status, channel, answers, context, tags, order_number_norm, claim_value, currency, version,
          created_at - interval '1 second', updated_at
        from claims where id = (select id from claims where shop_id = ${s.shop.id} and id not like 'clm_sqlcsvadd%'
          order by created_at desc, id desc offset 5 limit 1)`);
    for await (const chunk of gen) text += chunk;
    const got = csvRecords(text);
    const ids = new Set(got.map((r) => r.claim_id));
    assert.deepEqual(
      before.filter((r) => !ids.has(r.claim_id)),
      [],
      'no claim that existed before is missing',
    );
    assert.equal(got.length, before.length + 6, 'each claim once, the added ones (no items) included');
    await db().execute(sql`delete from claims where id like 'clm_sqlcsvadd%'`);
  });
});
