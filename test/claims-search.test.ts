import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OrderInputT } from '../src/orders/document.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { type ClaimOut, claimsApi, csvRecords, ids, lineId, shapedOrder } from './support/claims.js';

let ctx: TestContext;
before(async () => {
  ctx = await startTestApp();
});
after(() => ctx.close());

/** An order document with this number, customer name and email. */
const orderOf = (number: string, first: string, last: string, email: string): OrderInputT => {
  const doc = shapedOrder({ number, email });
  return { ...doc, customer: { ...doc.customer!, first_name: first, last_name: last } };
};

describe('claims search (q): names, prefixes, literal input', () => {
  let s: TestShop;
  let other: TestShop;
  const c: Record<string, ClaimOut> = {};
  const docs: Record<string, OrderInputT> = {};
  let otherClaim: ClaimOut;
  const of = (...names: string[]) => new Set(names.map((n) => c[n].id));
  const find = async (shop: TestShop, q: string) =>
    new Set(ids(await claimsApi(ctx.app, shop, shop.auth.viewer).list({ q, per_page: 100 })));
  const expect = async (q: string, names: string[]) => assert.deepEqual(await find(s, q), of(...names), q);

  before(async () => {
    s = await createTestShop(ctx.db, 'csearch');
    other = await createTestShop(ctx.db, 'csearchb');
    const claimOn = async (shop: TestShop, doc: OrderInputT) => {
      const a = claimsApi(ctx.app, shop);
      const o = await a.putOrder(doc);
      return a.create({
        order_id: o.id,
        flow: 'defective',
        reason: 'broken_on_arrival',
        items: [{ line_item_id: lineId(o, 'li-1'), quantity: 1 }],
        resolution_preference: 'refund',
      });
    };
    docs.anna = orderOf('#5001', 'Anna', 'Schmidt', 'Anna.Schmidt@example.com');
    docs.joerg = orderOf('5002', 'Jörg', 'Müller-Lüdenscheid', 'jm@example.de');
    docs.annabel = orderOf('5099', 'Annabel', 'Smith', 'a.smith@example.org');
    docs.ben = orderOf('5100', 'Ben', 'Schneider', 'ben_s@example.com');
    docs.eve = orderOf('50_1', 'Eve', 'Ohm', 'eve@example.com');
    docs.bens = orderOf('7001', 'Bens', 'Plain', 'bens1@example.com');
    docs.lisa = orderOf('8001', 'Lisa', 'Weiß-Jones', 'lw@example.com');
    docs.kai = orderOf('8002', 'Kai', 'Smith-Jones', 'kai@example.com');
    for (const [name, doc] of Object.entries(docs)) c[name] = await claimOn(s, doc);
    // The look-alike in another shop: same name, email and order number.
    otherClaim = await claimOn(other, orderOf('#5001', 'Anna', 'Schmidt', 'anna.schmidt@example.com'));
  });

  test('customer name: every word starts a word of the first or last name, case and accents ignored', async () => {
    await expect('smi', ['annabel', 'kai']);
    await expect('schm', ['anna']);
    await expect('ann', ['anna', 'annabel']);
    await expect('ANNA', ['anna', 'annabel']);
    await expect('Annab', ['annabel']);
    await expect('müller', ['joerg']);
    await expect('MULLER', ['joerg']);
    await expect('lüdensch', ['joerg']);
    await expect('jorg', ['joerg']);
    await expect('mid', []); // inside a word, not its start
    await expect('schneider', ['ben']);
    // After a hyphen, in an ASCII name and in one with other letters; ß as ss both ways.
    await expect('jones', ['lisa', 'kai']);
    await expect('weiss', ['lisa']);
    await expect('WEISS-J', ['lisa']);
    await expect('weiß', ['lisa']);
    await expect('smith-j', ['kai']);
  });

  test('two words: each must start a word of the name, in any order', async () => {
    await expect('ann sch', ['anna']);
    await expect('Anna Sch', ['anna']);
    await expect('  schmidt   anna ', ['anna']);
    await expect('anna smi', ['annabel']);
    await expect('joerg müller', []);
    await expect('jörg müller-l', ['joerg']);
    await expect('ann xyz', []);
  });

  test("another shop's claims never match", async () => {
    await expect('anna schmidt', ['anna']);
    await expect('anna.schmidt@', ['anna']);
    await expect('#5001', ['anna']);
    await expect('#500', ['anna', 'joerg']);
    assert.deepEqual(await find(other, 'anna schmidt'), new Set([otherClaim.id]));
    assert.deepEqual(await find(other, 'smi'), new Set());
    assert.deepEqual(await find(other, 'ann'), new Set([otherClaim.id]));
  });

  test('email prefix (no spaces, case ignored)', async () => {
    await expect('anna.sch', ['anna']);
    await expect('ANNA.SCHMIDT@', ['anna']);
    await expect('a.smith@example', ['annabel']);
    await expect('jm@', ['joerg']);
    await expect('ben', ['ben', 'bens']); // name Ben, name Bens and the emails ben_s@, bens1@
    await expect('bens1', ['bens']);
    await expect('nobody@', []);
  });

  test('order number and claim number prefix', async () => {
    await expect('#50', ['anna', 'joerg', 'annabel', 'eve']);
    await expect('500', ['anna', 'joerg']);
    await expect('  #51 ', ['ben']);
    await expect('70', ['bens']);
    // The claim numbers: a claim number without its last digit finds the claims that start with it.
    const all = Object.keys(c);
    for (const name of ['anna', 'bens']) {
      const start = c[name].number.slice(0, -1);
      const expected = all.filter((n) => c[n].number.startsWith(start));
      await expect(start, expected);
      await expect(start.toLowerCase().replace('-', ''), expected);
    }
  });

  test('LIKE wildcards in q are literal', async () => {
    await expect('50_', ['eve']); // not 5001, 5002, 5099
    await expect('50_1', ['eve']);
    await expect('50%', []);
    await expect('ben_', ['ben']); // ben_s@…, not bens1@…
    await expect('%', []);
    await expect('_%', []);
    await expect('\\', []);
    await expect('a\\%', []);
    await expect('s%h', []);
    await expect('sch_idt', []); // not Schmidt
    await expect('s%t', []);
    await expect('anna s_', []);
  });

  test('exact matches still work; one character matches exactly only', async () => {
    await expect('#5001', ['anna']);
    await expect('5002', ['joerg']);
    await expect(c.annabel.number, ['annabel']);
    await expect(c.annabel.number.toLowerCase(), ['annabel']);
    await expect('anna.schmidt@EXAMPLE.com', ['anna']);
    await expect('anna.schmidt @example.com', ['anna']);
    await expect('a', []);
    await expect('5', []);
    await expect('#', []);
    // Search still combines with the other filters.
    const l = claimsApi(ctx.app, s, s.auth.viewer);
    assert.deepEqual(new Set(ids(await l.list({ q: 'ann', flow: 'return' }))), new Set());
  });

  test("the name is the order's current one", async () => {
    const a = claimsApi(ctx.app, s);
    const renamed = { ...docs.anna, customer: { ...docs.anna.customer!, last_name: 'Schulz' } };
    await a.putOrder(renamed);
    try {
      await expect('anna schulz', ['anna']);
      await expect('schmidt', []);
    } finally {
      await a.putOrder(docs.anna);
    }
    await expect('schmidt', ['anna']);
  });

  test('the CSV export and the counts search as the list does', async () => {
    const l = claimsApi(ctx.app, s, s.auth.viewer);
    const claimOrder = (body: string) => [...new Set(csvRecords(body).map((r) => r.claim_id))];
    for (const q of ['ann', 'ann sch', 'müller', '#50', 'ben_', 'anna.sch', c.anna.number, 'a', '50%']) {
      for (const sort of ['-created_at', 'created_at']) {
        const listed = ids(await l.list({ q, sort, per_page: 100 }));
        const res = await l.exportCsv({ q, sort });
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(claimOrder(res.body), listed, `${q} ${sort}`);
        const counts = await l.counts({ q });
        assert.equal(counts.statusCode, 200, counts.body);
        assert.equal(counts.json().total, listed.length, q);
      }
    }
  });
});
