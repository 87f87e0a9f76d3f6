import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { asc, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { filterColumns, type SnapshotFields } from '../src/claims/denormalized.js';
import { MIGRATIONS_DIR, query } from '../src/db/client.js';
import { claims } from '../src/db/schema.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import {
  type ClaimOut,
  claimsApi,
  ids,
  lineId,
  type StoredOrder,
  setTimes,
  shapedOrder,
} from './support/claims.js';
import { DATABASE_URL } from './support/db.js';
import { holdWritesTogether } from './support/hold-writes.js';
import { assertError, assertInvalidAt, daysAgo } from './support/http.js';

let ctx: TestContext;
before(async () => {
  ctx = await startTestApp();
});
after(() => ctx.close());

const api = (s: TestShop, h?: Record<string, string>) => claimsApi(ctx.app, s, h);

describe('claims list: every filter, search, counts', () => {
  let s: TestShop;
  let other: TestShop;
  let o1: StoredOrder;
  let o2: StoredOrder;
  let o3: StoredOrder;
  let o4: StoredOrder;
  const c: Record<string, ClaimOut> = {};
  /** Claim ids by name, for readable expectations. */
  const of = (...names: string[]) => names.map((n) => c[n].id);

  before(async () => {
    s = await createTestShop(ctx.db, 'clist');
    other = await createTestShop(ctx.db, 'clistb');
    const a = api(s);
    o1 = await a.putOrder(
      shapedOrder({ number: '#LIST-1001', email: 'Kim.Berg@Example.com', carrier: 'dhl' }),
    );
    o2 = await a.putOrder(
      shapedOrder({ number: 'LIST-1002', email: 'lena@example.at', carrier: 'UPS', country: 'AT' }),
    );
    o3 = await a.putOrder(
      shapedOrder({
        number: 'LIST-1003',
        email: 'noah@example.co.uk',
        carrier: 'gls',
        country: 'GB',
        deliveredDaysAgo: null,
      }),
    );
    o4 = await a.putOrder(
      shapedOrder({ number: 'LIST-1004', email: null, country: 'FR', deliveredDaysAgo: 'none' }),
    );
    c.c1 = await a.create({
      order_id: o1.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: lineId(o1, 'li-2'), quantity: 1 }],
      resolution_preference: 'replacement',
    });
    c.c2 = await a.create({
      order_id: o1.id,
      flow: 'defective',
      reason: 'broken_on_arrival',
      items: [{ line_item_id: lineId(o1, 'li-1'), quantity: 1 }],
      resolution_preference: 'refund',
      channel: 'portal',
    });
    c.c3 = await a.create({
      order_id: o2.id,
      flow: 'return',
      reason: 'changed_mind',
      items: [{ line_item_id: lineId(o2, 'li-1'), quantity: 1 }],
      resolution_preference: 'store_credit',
    });
    c.c4 = await a.create({
      order_id: o2.id,
      flow: 'dissatisfied',
      reason: 'quality',
      items: [{ line_item_id: lineId(o2, 'li-2'), quantity: 1 }],
      resolution_preference: 'refund',
    });
    c.c5 = await a.create({
      order_id: o3.id,
      flow: 'not_received',
      reason: 'stuck_in_transit',
      items: [{ line_item_id: lineId(o3, 'li-1'), quantity: 2 }],
      resolution_preference: 'refund',
      dropoff_permission: false,
    });
    c.c6 = await a.create({
      order_id: o4.id,
      flow: 'support',
      reason: 'other',
      items: [],
      description: 'Where is my order? It has been days.',
    });
    const patch = async (name: string, body: Record<string, unknown>, h = s.auth.editor) => {
      const res = await api(s, h).patch(c[name].id, { version: c[name].version, ...body });
      assert.equal(res.statusCode, 200, res.body);
      c[name] = res.json();
    };
    await patch('c2', { status: 'accepted' });
    await patch('c3', { status: 'rejected', note: 'Worn.' });
    await patch('c3', { status: 'closed' });
    await patch('c1', { tags: ['vip', 'fragile'], assignee: 'anna@shop.test' });
    await patch('c4', { add_tags: ['vip'] });
    await patch('c5', { assignee: 'ben@shop.test' });
    // created_at out of id order (c6 is the newest id, created "20 days ago"); c3 and c4 tie.
    await setTimes(ctx.db, c.c1.id, daysAgo(10));
    await setTimes(ctx.db, c.c2.id, daysAgo(8));
    const tie = daysAgo(6);
    await setTimes(ctx.db, c.c3.id, tie);
    await setTimes(ctx.db, c.c4.id, tie);
    await setTimes(ctx.db, c.c5.id, daysAgo(2));
    await setTimes(ctx.db, c.c6.id, daysAgo(20));
    // Another shop with a look-alike claim (same email, same order number): never listed for `s`.
    const b = api(other);
    const ob = await b.putOrder(shapedOrder({ number: '#LIST-1001', email: 'kim.berg@example.com' }));
    await b.create({
      order_id: ob.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: lineId(ob, 'li-2'), quantity: 1 }],
      resolution_preference: 'replacement',
    });
  });

  test('the filter columns are filled from the context snapshot at creation', async () => {
    const rows = await ctx.db
      .select()
      .from(claims)
      .where(eq(claims.shopId, s.shop.id))
      .orderBy(asc(claims.id));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const r1 = byId.get(c.c1.id)!;
    assert.equal(r1.orderNumberNorm, 'list-1001');
    assert.equal(r1.customerEmail, 'kim.berg@example.com');
    assert.equal(r1.carrier, 'dhl');
    assert.equal(r1.countryCode, 'DE');
    assert.equal(r1.shipmentPhase, 'delivered');
    assert.equal(r1.claimValue, 999);
    assert.equal(r1.currency, 'EUR');
    assert.equal(byId.get(c.c3.id)!.carrier, 'ups');
    assert.equal(byId.get(c.c5.id)!.shipmentPhase, 'in_transit');
    assert.equal(byId.get(c.c5.id)!.claimValue, 2 * 1999);
    const r6 = byId.get(c.c6.id)!;
    assert.deepEqual(
      [r6.carrier, r6.shipmentPhase, r6.customerEmail, r6.countryCode],
      [null, null, null, 'FR'],
    );
    for (const r of rows) assert.deepEqual(pickCols(r), filterColumns(r.context as SnapshotFields));
  });

  test('a listed claim is the claim GET answers (items and evidence included), without history', async () => {
    // Evidence on c1, straight in the database (uploads go through the customer flow, tested elsewhere).
    await ctx.db.execute(sql`insert into claim_evidence (id, shop_id, claim_id, upload_id, kind, line_item_id, content_type, size)
      values ('cle_list_test_1', ${s.shop.id}, ${c.c1.id}, 'upl_list_test_1', 'photo', null, 'image/jpeg', 1234)`);
    const listed = (await api(s, s.auth.viewer).list({ per_page: 100 })).json().data as Record<
      string,
      unknown
    >[];
    assert.equal(listed.length, 6);
    for (const l of listed) {
      const full = (await api(s, s.auth.viewer).get(String(l.id))).json();
      const { history: _h, order: _o, shipment: _s, ...want } = full;
      assert.deepEqual({ ...l, evidence: strip(l.evidence) }, { ...want, evidence: strip(want.evidence) });
    }
    const one = listed.find((l) => l.id === c.c1.id)!;
    assert.equal((one.evidence as { id: string }[])[0].id, 'upl_list_test_1');
    assert.equal((one.items as unknown[]).length, 1);
  });

  test('default sort: newest created_at first, ties by id', async () => {
    const l = api(s, s.auth.viewer);
    const tied = [c.c3.id, c.c4.id].sort().reverse();
    assert.deepEqual(ids(await l.list()), [c.c5.id, ...tied, ...of('c2', 'c1', 'c6')]);
    assert.deepEqual(ids(await l.list({ sort: 'created_at' })), [
      ...of('c6', 'c1', 'c2'),
      ...tied.reverse(),
      c.c5.id,
    ]);
  });

  test('each filter alone', async () => {
    const l = api(s, s.auth.viewer);
    const set = async (q: Record<string, string>) => new Set(ids(await l.list({ ...q, per_page: 100 })));
    const expect = async (q: Record<string, string>, names: string[]) =>
      assert.deepEqual(await set(q), new Set(of(...names)), JSON.stringify(q));

    await expect({ status: 'accepted' }, ['c2']);
    await expect({ status: 'closed,accepted' }, ['c2', 'c3']);
    await expect({ status: 'pending' }, ['c1', 'c4', 'c5', 'c6']);
    await expect({ flow: 'return,support' }, ['c3', 'c6']);
    await expect({ reason: 'quality' }, ['c4']);
    await expect({ reason: 'stuck_in_transit,missing_from_parcel' }, ['c5', 'c1']);
    // A code is not unique across flows: flow:code names one flow's reason.
    await expect({ reason: 'support:other' }, ['c6']);
    await expect({ reason: 'return:other' }, []);
    await expect({ reason: 'return:changed_mind,quality' }, ['c3', 'c4']);
    await expect({ created_from: daysAgo(7) }, ['c3', 'c4', 'c5']);
    await expect({ created_to: daysAgo(7) }, ['c1', 'c2', 'c6']);
    await expect({ created_from: daysAgo(9), created_to: daysAgo(5) }, ['c2', 'c3', 'c4']);
    await expect({ carrier: 'dhl' }, ['c1', 'c2']);
    await expect({ carrier: 'UPS' }, ['c3', 'c4']);
    await expect({ carrier: ' ups ,gls' }, ['c3', 'c4', 'c5']);
    await expect({ carrier: 'none' }, ['c6']);
    await expect({ carrier: 'dhl,none' }, ['c1', 'c2', 'c6']);
    await expect({ country: 'de' }, ['c1', 'c2']);
    await expect({ country: 'AT,GB' }, ['c3', 'c4', 'c5']);
    await expect({ country: 'FR' }, ['c6']);
    await expect({ country: 'none' }, []);
    await expect({ shipment_phase: 'delivered' }, ['c1', 'c2', 'c3', 'c4']);
    await expect({ shipment_phase: 'in_transit' }, ['c5']);
    await expect({ shipment_phase: 'none' }, ['c6']);
    await expect({ resolution_preference: 'refund' }, ['c2', 'c4', 'c5']);
    await expect({ resolution_preference: 'store_credit,none' }, ['c3', 'c6']);
    await expect({ tag: 'vip' }, ['c1', 'c4']);
    await expect({ tag: 'fragile' }, ['c1']);
    await expect({ tag: 'nope,fragile' }, ['c1']);
    await expect({ tag: 'VIP' }, []);
    await expect({ assignee: 'anna@shop.test' }, ['c1']);
    await expect({ assignee: 'unassigned' }, ['c2', 'c3', 'c4', 'c6']);
    await expect({ assignee: 'anna@shop.test,unassigned' }, ['c1', 'c2', 'c3', 'c4', 'c6']);
    await expect({ channel: 'portal' }, ['c2']);
    await expect({ channel: 'api,zip' }, ['c1', 'c3', 'c4', 'c5', 'c6']);
    await expect({ order_id: o2.id }, ['c3', 'c4']);
    // By the shop's own id too, as POST …/claims takes it; another shop's order is nobody's.
    await expect({ order_id: o2.external_id }, ['c3', 'c4']);
    await expect({ order_id: 'no-such-order' }, []);
  });

  test('search: order number, claim number or email, normalised', async () => {
    const l = api(s, s.auth.viewer);
    const q = async (text: string) => new Set(ids(await l.list({ q: text })));
    for (const text of ['#LIST-1001', 'list-1001', '  # list-1001 ', '##LIST-1001'])
      assert.deepEqual(await q(text), new Set(of('c1', 'c2')), text);
    const n = c.c4.number; // R-100x
    const digits = n.slice(2);
    for (const text of [n, n.toLowerCase(), `r${digits}`, digits, ` ${n} `, `#${digits}`])
      assert.deepEqual(await q(text), new Set(of('c4')), text);
    for (const text of ['KIM.BERG@example.COM', ' kim.berg@example.com ', 'kim.berg @example.com'])
      assert.deepEqual(await q(text), new Set(of('c1', 'c2')), text);
    assert.deepEqual(await q('lena@example.at'), new Set(of('c3', 'c4')));
    // Prefixes and customer names match too (test/claims-search.test.ts): every order here is Kim Berg's LIST-100x.
    const all = new Set(of('c1', 'c2', 'c3', 'c4', 'c5', 'c6'));
    assert.deepEqual(await q('kim'), all, 'customer name');
    assert.deepEqual(await q('LIST-10'), all, 'order number prefix');
    assert.deepEqual(await q('LIST-10011'), new Set());
    assert.deepEqual(await q('nobody@example.com'), new Set());
    assert.deepEqual(await q('   '), new Set(ids(await l.list())), 'a blank search is no search');
    // Search combines with filters.
    assert.deepEqual(new Set(ids(await l.list({ q: '#LIST-1001', status: 'accepted' }))), new Set(of('c2')));
  });

  test('filters combine (AND) and the tenant is always in the WHERE', async () => {
    const l = api(s, s.auth.viewer);
    assert.deepEqual(
      ids(await l.list({ status: 'pending', carrier: 'dhl,ups', tag: 'vip' })),
      of('c4', 'c1'),
    );
    assert.deepEqual(
      ids(await l.list({ flow: 'defective', q: 'kim.berg@example.com', country: 'DE' })),
      of('c2'),
    );
    assert.deepEqual(ids(await l.list({ status: 'accepted', flow: 'return' })), []);
    // The look-alike claim of the other shop is only in its own list.
    const b = api(other, other.auth.viewer);
    assert.equal(ids(await b.list({ q: '#LIST-1001' })).length, 1);
    assert.equal(ids(await l.list({ q: '#LIST-1001' })).length, 2);
    assertError(await api(s, other.auth.admin).list(), 404, 'shop_not_found');
    assertError(await api(s, other.auth.admin).counts(), 404, 'shop_not_found');
    assertError(await api(s, { authorization: 'Bearer nope' }).list(), 401, 'unauthorized');
  });

  test('counts per status follow the filters', async () => {
    const l = api(s, s.auth.viewer);
    const all = await l.counts();
    assert.equal(all.statusCode, 200, all.body);
    assert.deepEqual(all.json(), { pending: 4, accepted: 1, rejected: 0, closed: 1, total: 6 });
    assert.deepEqual((await l.counts({ carrier: 'dhl' })).json(), {
      pending: 1,
      accepted: 1,
      rejected: 0,
      closed: 0,
      total: 2,
    });
    assert.deepEqual((await l.counts({ q: 'lena@example.at', tag: 'vip' })).json(), {
      pending: 1,
      accepted: 0,
      rejected: 0,
      closed: 0,
      total: 1,
    });
    // Each count equals the length of the list with that status added.
    const f = { country: 'DE,AT' };
    const counts = (await l.counts(f)).json();
    for (const st of ['pending', 'accepted', 'rejected', 'closed'])
      assert.equal(ids(await l.list({ ...f, status: st })).length, counts[st], st);
    assertInvalidAt(await l.counts({ status: 'pending' }), 'querystring:/status');
    assertInvalidAt(await l.counts({ flow: 'nope' }), 'querystring:/flow');
    assert.deepEqual((await api(other, other.auth.viewer).counts()).json().total, 1);
  });

  test('bad filters answer 400 validation_failed naming the field, never a 500', async () => {
    const l = api(s, s.auth.viewer);
    const cases: [Record<string, string | number>, string][] = [
      [{ status: 'open' }, 'status'],
      [{ status: 'pending,' }, 'status'],
      [{ flow: 'broken' }, 'flow'],
      [{ reason: 'Bad Reason' }, 'reason'],
      [{ reason: 'shipping:other' }, 'reason'],
      [{ reason: 'return:' }, 'reason'],
      [{ carrier: 'a,,b' }, 'carrier'],
      [{ carrier: 'x'.repeat(101) }, 'carrier'],
      [{ country: 'DEU' }, 'country'],
      [{ shipment_phase: 'flying' }, 'shipment_phase'],
      [{ resolution_preference: 'cash' }, 'resolution_preference'],
      [{ tag: ',' }, 'tag'],
      [{ assignee: 'a'.repeat(321) }, 'assignee'],
      [{ channel: 'fax' }, 'channel'],
      [{ created_from: 'yesterday' }, 'created_from'],
      [{ created_to: '2026-13-01T00:00:00Z' }, 'created_to'],
      [{ q: 'x'.repeat(321) }, 'q'],
      [{ sort: 'number' }, 'sort'],
      [{ per_page: 101 }, 'per_page'],
      [{ page: 0 }, 'page'],
      [{ status: Array.from({ length: 51 }, () => 'pending').join(',') }, 'status'],
      [{ cursor: 'not-a-cursor' }, 'cursor'],
      [{ cursor: Buffer.from('["-created_at","x","y"]').toString('base64url') }, 'cursor'],
      [{ cursor: Buffer.from('clm_00000000000000000000000000').toString('base64url') }, 'cursor'],
      [{ surprise: '1' }, 'surprise'],
    ];
    for (const [q, field] of cases) assertInvalidAt(await l.list(q), `querystring:/${field}`);
    // Junk in every parameter: 200 or 400, never anything else.
    const junk = [
      "'; drop table claims; --",
      '%00',
      '\u0000',
      '🦄',
      '\\',
      '%',
      '_',
      '*',
      '{}',
      '[]',
      'null',
      '-1',
      ' ',
    ];
    for (const field of [
      'status',
      'flow',
      'reason',
      'carrier',
      'country',
      'shipment_phase',
      'tag',
      'assignee',
      'q',
      'sort',
      'cursor',
      'order_id',
      'channel',
      'resolution_preference',
    ])
      for (const v of junk) {
        const res = await ctx.app.inject({
          method: 'GET',
          url: `/v1/shops/${s.slug}/claims?${field}=${encodeURIComponent(v)}`,
          headers: s.auth.viewer,
        });
        assert.ok(
          [200, 400].includes(res.statusCode),
          `${field}=${JSON.stringify(v)} → ${res.statusCode} ${res.body}`,
        );
      }
    const rows = await query<{ n: number }>(ctx.db, sql`select count(*)::int as n from claims`);
    assert.ok(Number(rows[0].n) >= 7, 'the claims are still there');
  });
});

/** Evidence without its signed URL (signed per request: the expiry differs between two answers). */
const strip = (e: unknown) => (e as { url: string }[]).map(({ url: _u, ...rest }) => rest);

const pickCols = (r: typeof claims.$inferSelect) => ({
  orderNumberNorm: r.orderNumberNorm,
  customerEmail: r.customerEmail,
  carrier: r.carrier,
  countryCode: r.countryCode,
  shipmentPhase: r.shipmentPhase,
  claimValue: r.claimValue,
  currency: r.currency,
});

describe('sort and keyset pagination', () => {
  let s: TestShop;
  let all: { id: string; created: string; updated: string; status: string }[];

  before(async () => {
    s = await createTestShop(ctx.db, 'cpage');
    const a = api(s);
    const big = shapedOrder({
      lineItems: [
        {
          external_id: 'li-1',
          sku: 'TEE-M',
          title: 'T-shirt',
          variant_title: 'M',
          quantity: 60,
          unit_price: 1999,
          discount: 0,
          tax: 0,
          image_url: null,
          product_id: 'p1',
          variant_id: 'v1',
        },
      ],
    });
    const o = await a.putOrder(big);
    const made: ClaimOut[] = [];
    for (let i = 0; i < 23; i++)
      made.push(
        await a.create({
          order_id: o.id,
          flow: 'missing_item',
          reason: 'missing_from_parcel',
          items: [{ line_item_id: lineId(o, 'li-1'), quantity: 1 }],
          resolution_preference: 'refund',
        }),
      );
    // Few distinct instants (ties everywhere), with microseconds a JS Date cannot hold.
    const instants = ['2026-01-05T10:00:00.123456Z', '2026-01-05T10:00:00.123457Z', '2026-01-04T08:00:00Z'];
    for (const [i, cl] of made.entries()) {
      await setTimes(ctx.db, cl.id, instants[i % 3], instants[(i * 7) % 3]);
      if (i % 4 === 0) {
        const res = await a.patch(cl.id, { version: 1, status: 'accepted' });
        assert.equal(res.statusCode, 200, res.body);
        await setTimes(ctx.db, cl.id, instants[i % 3], instants[(i * 7) % 3]);
      }
    }
    all = await query<{ id: string; created: string; updated: string; status: string }>(
      ctx.db,
      sql`select id, created_at::text as created, updated_at::text as updated, status from claims where shop_id = ${s.shop.id}`,
    );
  });

  /** The expected order, computed here from the stored values (exact text timestamps, then id). */
  const expected = (sort: string, filter?: (r: (typeof all)[number]) => boolean) => {
    const key = sort.endsWith('created_at') ? 'created' : 'updated';
    const rows = all.filter(filter ?? (() => true));
    const cmp = (a: (typeof all)[number], b: (typeof all)[number]) =>
      Date.parse(a[key]) - Date.parse(b[key]) ||
      Number(a[key].match(/\.(\d+)/)?.[1].padEnd(6, '0') ?? 0) -
        Number(b[key].match(/\.(\d+)/)?.[1].padEnd(6, '0') ?? 0) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const out = rows.sort(cmp).map((r) => r.id);
    return sort.startsWith('-') ? out.reverse() : out;
  };

  for (const sort of ['-created_at', 'created_at', '-updated_at', 'updated_at'])
    test(`${sort}: cursor pages cover every claim once, in order`, async () => {
      const l = api(s, s.auth.viewer);
      for (const perPage of [1, 4, 7, 23, 100]) {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const res = await l.list({ sort, per_page: perPage, ...(cursor ? { cursor } : {}) });
          assert.equal(res.statusCode, 200, res.body);
          const body = res.json();
          seen.push(...body.data.map((x: { id: string }) => x.id));
          assert.equal(body.has_more, body.next_cursor !== null);
          assert.ok(body.data.length <= perPage);
          cursor = body.next_cursor;
          pages++;
        } while (cursor && pages < 100);
        assert.deepEqual(seen, expected(sort), `per_page ${perPage}`);
        assert.equal(new Set(seen).size, seen.length);
      }
      // With a filter.
      const pending: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await l.list({ sort, per_page: 3, status: 'pending', ...(cursor ? { cursor } : {}) });
        pending.push(...ids(res));
        cursor = res.json().next_cursor;
      } while (cursor);
      assert.deepEqual(
        pending,
        expected(sort, (r) => r.status === 'pending'),
      );
      // Page paging gives the same order.
      const byPage: string[] = [];
      for (let page = 1; page <= 5; page++) byPage.push(...ids(await l.list({ sort, per_page: 5, page })));
      assert.deepEqual(byPage, expected(sort));
    });

  test("a cursor is bound to its sort; page and cursor don't mix", async () => {
    const l = api(s, s.auth.viewer);
    const first = (await l.list({ sort: '-created_at', per_page: 2 })).json();
    const err = assertInvalidAt(
      await l.list({ sort: 'updated_at', cursor: first.next_cursor }),
      'querystring:/cursor',
    );
    assert.match(err.errors![0].message, /sort=-created_at/);
    assertInvalidAt(await l.list({ cursor: first.next_cursor, page: 2 }), 'querystring:/cursor');
    // The default sort takes the default-sort cursor.
    assert.equal((await l.list({ cursor: first.next_cursor })).statusCode, 200);
    // Well-formed cursors holding a date that does not exist: 400, not a database error.
    const [, , id] = JSON.parse(Buffer.from(first.next_cursor, 'base64url').toString());
    for (const at of [
      '2026-02-30T00:00:00.000000Z',
      '0000-01-01T00:00:00.000000Z',
      '2026-13-01T00:00:00.000000Z',
    ])
      assertInvalidAt(
        await l.list({ cursor: Buffer.from(JSON.stringify(['-created_at', at, id])).toString('base64url') }),
        'querystring:/cursor',
      );
  });

  test('a claim added between pages does not shift the later pages', async () => {
    const l = api(s, s.auth.viewer);
    const want = expected('-created_at');
    const p1 = (await l.list({ per_page: 5 })).json();
    const o = await api(s).putOrder(shapedOrder());
    const added = await api(s).create({
      order_id: o.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: lineId(o, 'li-2'), quantity: 1 }],
      resolution_preference: 'refund',
    });
    const p2 = (await l.list({ per_page: 5, cursor: p1.next_cursor })).json();
    assert.deepEqual(
      [...p1.data, ...p2.data].map((x: { id: string }) => x.id),
      want.slice(0, 10),
    );
    // The new claim heads a fresh first page.
    assert.equal(ids(await l.list({ per_page: 1 }))[0], added.id);
  });
});

describe('saved views', () => {
  let s: TestShop;
  let other: TestShop;
  before(async () => {
    s = await createTestShop(ctx.db, 'cview');
    other = await createTestShop(ctx.db, 'cviewb');
  });

  test('CRUD by the owner; others see shared views only; tenancy', async () => {
    const mine = api(s, s.auth.editor).views;
    const theirs = api(s, s.auth.viewer).views; // another key of the same shop: another owner
    const query = { status: 'pending,accepted', carrier: 'dhl', q: '#1001', sort: 'created_at' };
    const created = await mine.create({ name: ' Open DHL ', query });
    assert.equal(created.statusCode, 201, created.body);
    const v = created.json();
    assert.equal(v.name, 'Open DHL');
    assert.deepEqual(v.query, query);
    assert.equal(v.shared, false);
    assert.equal(v.mine, true);
    assert.match(v.id, /^cvw_/);
    assert.match(v.owner, /^key_/);

    assert.deepEqual(
      (await mine.list()).json().data.map((x: { id: string }) => x.id),
      [v.id],
    );
    assert.deepEqual((await theirs.list()).json().data, []);
    assertError(await theirs.patch(v.id, { name: 'x' }), 404, 'view_not_found');
    assertError(await theirs.delete(v.id), 404, 'view_not_found');

    const shared = await mine.patch(v.id, { shared: true, name: 'DHL open' });
    assert.equal(shared.statusCode, 200, shared.body);
    assert.equal(shared.json().shared, true);
    assert.equal(shared.json().name, 'DHL open');
    const seen = (await theirs.list()).json().data;
    assert.equal(seen.length, 1);
    assert.equal(seen[0].mine, false);
    assertError(await theirs.patch(v.id, { name: 'mine now' }), 403, 'forbidden');
    assertError(await theirs.delete(v.id), 403, 'forbidden');

    // A viewer saves views for themselves, but may not share them.
    const own = await theirs.create({ name: 'Mine', query: { tag: 'vip' } });
    assert.equal(own.statusCode, 201, own.body);
    assertError(await theirs.create({ name: 'Shared', query: {}, shared: true }), 403, 'forbidden');
    assertError(await theirs.patch(own.json().id, { shared: true }), 403, 'forbidden');
    // Names are unique per owner, not per shop.
    assertError(await mine.create({ name: 'DHL open', query: {} }), 409, 'view_name_taken');
    assert.equal((await theirs.create({ name: 'DHL open', query: {} })).statusCode, 201);
    const second = (await mine.create({ name: 'Second', query: {} })).json();
    assertError(await mine.patch(second.id, { name: 'DHL open' }), 409, 'view_name_taken');

    const replaced = await mine.patch(v.id, { query: { flow: 'return' } });
    assert.deepEqual(replaced.json().query, { flow: 'return' });

    // Another shop: its keys do not reach this shop, and this shop's view id is unknown there.
    assertError(await api(s, other.auth.admin).views.list(), 404, 'shop_not_found');
    assertError(await api(other, other.auth.admin).views.patch(v.id, { name: 'x' }), 404, 'view_not_found');
    assertError(await api(other, other.auth.admin).views.delete(v.id), 404, 'view_not_found');
    assert.deepEqual((await api(other, other.auth.admin).views.list()).json().data, []);

    const del = await mine.delete(v.id);
    assert.equal(del.statusCode, 204, del.body);
    assert.equal(del.body, '');
    assertError(await mine.delete(v.id), 404, 'view_not_found');
  });

  test("a view's query is validated like the list's and gives the same list back", async () => {
    const mine = api(s, s.auth.editor).views;
    assertInvalidAt(await mine.create({ name: 'x', query: { status: 'open' } }), '/query/status');
    assertInvalidAt(await mine.create({ name: 'x', query: { page: 2 } }), '/query/page');
    assertInvalidAt(await mine.create({ name: 'x', query: { sort: 'price' } }), '/query/sort');
    assertInvalidAt(await mine.create({ name: 'x', query: { country: 5 } }), '/query/country');
    assertInvalidAt(await mine.create({ name: '   ', query: {} }), '/name');
    assertInvalidAt(await mine.create({ name: 'x'.repeat(101), query: {} }), '/name');
    assertInvalidAt(await mine.create({ query: {} }), '/name');
    assertInvalidAt(await mine.create({ name: 'x', query: {}, owner: 'me' }), '/owner');
    assertInvalidAt(await mine.patch('cvw_00000000000000000000000000', {}), '/');
    assertError(await mine.patch('cvw_00000000000000000000000000', { name: 'y' }), 404, 'view_not_found');

    const a = api(s);
    const o = await a.putOrder(shapedOrder({ number: 'VIEW-1', carrier: 'dpd' }));
    await a.create({
      order_id: o.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: lineId(o, 'li-2'), quantity: 1 }],
      resolution_preference: 'refund',
    });
    const v = (await mine.create({ name: 'DPD', query: { carrier: 'dpd', sort: '-updated_at' } })).json();
    const viaView = await a.list(v.query);
    assert.equal(ids(viaView).length, 1);
    assert.deepEqual(ids(viaView), ids(await a.list({ carrier: 'dpd' })));
  });

  test('at most 100 views per owner', async () => {
    const t = await createTestShop(ctx.db, 'cviewmax');
    const mine = api(t, t.auth.viewer).views;
    for (let i = 0; i < 100; i++)
      assert.equal((await mine.create({ name: `v${i}`, query: {} })).statusCode, 201);
    assertError(await mine.create({ name: 'one more', query: {} }), 422, 'too_many_views');
    assert.equal((await api(t, t.auth.editor).views.create({ name: 'v1', query: {} })).statusCode, 201);
  });

  // The count and the insert must not interleave: two creations that both read 99 would store 101 views. The
  // writers are held just before their inserts until both got there (or one waits behind the other's lock).
  test('two views created at the same moment on the 99th: one is stored, the other is 422 too_many_views', {
    skip: DATABASE_URL ? false : 'needs PostgreSQL (two transactions at once)',
  }, async () => {
    const t = await createTestShop(ctx.db, 'cviewrace');
    const mine = api(t, t.auth.viewer).views;
    for (let i = 0; i < 99; i++)
      assert.equal((await mine.create({ name: `v${i}`, query: {} })).statusCode, 201);
    const answers = await holdWritesTogether(
      ctx.db,
      'claim_views',
      `new.shop_id = '${t.shop.id}'`,
      () => ['a', 'b'].map((name) => mine.create({ name, query: {} })),
      'insert',
    );
    assert.deepEqual(answers.map((r) => r.statusCode).sort(), [201, 422]);
    assertError(answers.find((r) => r.statusCode === 422)!, 422, 'too_many_views');
    const [{ n }] = await query<{ n: number }>(
      ctx.db,
      sql`select count(*)::int as n from claim_views where shop_id = ${t.shop.id}`,
    );
    assert.equal(Number(n), 100);
  });
});

describe('migration 0003 backfills the filter columns of existing claims', () => {
  test('claims stored before the migration get the same values createClaim writes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-mig-'));
    fs.mkdirSync(path.join(dir, 'meta'));
    const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8'));
    const before = journal.entries.filter((e: { tag: string }) => e.tag < '0003');
    for (const e of before)
      fs.copyFileSync(path.join(MIGRATIONS_DIR, `${e.tag}.sql`), path.join(dir, `${e.tag}.sql`));
    fs.writeFileSync(path.join(dir, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: before }));
    const pg = await PGlite.create();
    try {
      const db = drizzle(pg);
      await migrate(db, { migrationsFolder: dir });
      await pg.exec(`insert into shops (id, slug, name) values ('shop_m', 'm', 'M');
        insert into orders (id, shop_id, order_number, order_number_norm, placed_at, currency, state, doc_hash)
          values ('ord_m', 'shop_m', '#A-1', 'a-1', now(), 'EUR', 'fulfilled', 'x');`);
      const contexts: SnapshotFields[] = [
        {
          order_number: ' #A-1 ',
          currency: 'EUR',
          claim_value: 1234,
          shipment: { phase: 'delivered', carrier: ' DHL Express ' },
          shipping_address: { country_code: 'de' },
          customer: { email: ' Kim@Example.COM ' },
        },
        {
          order_number: 'b-2',
          currency: 'JPY',
          claim_value: 0,
          shipment: null,
          shipping_address: null,
          customer: { email: null },
        },
        {
          order_number: '##C 3',
          currency: 'GBP',
          claim_value: 5,
          shipment: { phase: 'in_transit', carrier: null },
          shipping_address: { country_code: null },
          customer: { email: '' },
        },
      ];
      for (const [i, ctxt] of contexts.entries())
        await pg.query(
          `insert into claims (id, shop_id, number, order_id, flow, reason, status, channel, context)
           values ($1, 'shop_m', $2, 'ord_m', 'defective', 'x', 'pending', 'api', $3)`,
          [`clm_m${i}`, `R-${i}`, JSON.stringify(ctxt)],
        );
      await migrate(db, { migrationsFolder: MIGRATIONS_DIR });
      const { rows } = await pg.query<Record<string, unknown>>(
        `select id, order_number_norm, customer_email, carrier, country_code, shipment_phase, claim_value::int as claim_value, currency
         from claims order by id`,
      );
      assert.deepEqual(
        rows.map((r) => ({
          orderNumberNorm: r.order_number_norm,
          customerEmail: r.customer_email,
          carrier: r.carrier,
          countryCode: r.country_code,
          shipmentPhase: r.shipment_phase,
          claimValue: r.claim_value,
          currency: r.currency,
        })),
        contexts.map((x) => filterColumns(x)),
      );
    } finally {
      await pg.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
