import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createUser } from '../src/shops/users.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { claimsApi, lineId, shapedOrder } from './support/claims.js';
import { assertError } from './support/http.js';

let ctx: TestContext;
before(async () => {
  ctx = await startTestApp();
});
after(() => ctx.close());

interface Facets {
  reason: { flow: string; key: string; claims: number }[];
  carrier: { key: string | null; claims: number }[];
  country: { key: string | null; claims: number }[];
  tag: { key: string; claims: number }[];
  assignee: { key: string | null; claims: number }[];
}

describe('GET /v1/shops/{slug}/claims/facets and /assignees', () => {
  let s: TestShop;
  let other: TestShop;

  before(async () => {
    s = await createTestShop(ctx.db, 'facets');
    other = await createTestShop(ctx.db, 'facetsb');
    const a = claimsApi(ctx.app, s);
    const de = await a.putOrder(shapedOrder({ carrier: 'dhl', country: 'DE' }));
    const at = await a.putOrder(shapedOrder({ carrier: 'UPS', country: 'AT' }));
    const none = await a.putOrder(shapedOrder({ country: null, deliveredDaysAgo: 'none' }));
    const mk = async (o: typeof de, flow: string, reason: string, patch: Record<string, unknown> = {}) => {
      const c = await a.create({
        order_id: o.id,
        flow,
        reason,
        items: flow === 'support' ? [] : [{ line_item_id: lineId(o, 'li-1'), quantity: 1 }],
        ...(flow === 'support'
          ? { description: 'Where is my parcel, please?' }
          : { resolution_preference: 'refund' }),
      });
      if (Object.keys(patch).length) {
        const res = await a.patch(c.id, { version: c.version, ...patch });
        assert.equal(res.statusCode, 200, res.body);
      }
    };
    await mk(de, 'defective', 'broken_on_arrival', {
      tags: ['vip', 'carrier-claim'],
      assignee: 'kim@shop.test',
    });
    await mk(de, 'defective', 'broken_on_arrival', { tags: ['vip'] });
    await mk(at, 'return', 'too_small', { assignee: 'helpdesk:agent-7' });
    await mk(none, 'support', 'other');
    // Another shop's claim: never part of these answers.
    const b = claimsApi(ctx.app, other);
    const ob = await b.putOrder(shapedOrder({ carrier: 'gls', country: 'FR' }));
    const foreign = await b.create({
      order_id: ob.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: lineId(ob, 'li-1'), quantity: 1 }],
      resolution_preference: 'refund',
    });
    await b.patch(foreign.id, { version: foreign.version, tags: ['secret-tag'], assignee: 'x@other.test' });
  });

  test('the values of the shop’s claims per filter, most claims first, null for none', async () => {
    const res = await ctx.app.inject({ url: `/v1/shops/${s.slug}/claims/facets`, headers: s.auth.viewer });
    assert.equal(res.statusCode, 200, res.body);
    const f = res.json() as Facets;
    assert.deepEqual(f.reason, [
      { flow: 'defective', key: 'broken_on_arrival', claims: 2 },
      { flow: 'return', key: 'too_small', claims: 1 },
      { flow: 'support', key: 'other', claims: 1 },
    ]);
    assert.deepEqual(f.carrier, [
      { key: 'dhl', claims: 2 },
      { key: 'ups', claims: 1 },
      { key: null, claims: 1 },
    ]);
    assert.deepEqual(f.country, [
      { key: 'DE', claims: 2 },
      { key: 'AT', claims: 1 },
      { key: null, claims: 1 },
    ]);
    assert.deepEqual(f.tag, [
      { key: 'vip', claims: 2 },
      { key: 'carrier-claim', claims: 1 },
    ]);
    assert.deepEqual(f.assignee, [
      { key: null, claims: 2 },
      { key: 'helpdesk:agent-7', claims: 1 },
      { key: 'kim@shop.test', claims: 1 },
    ]);
    // Each value, sent back as the filter, finds its claims.
    const list = claimsApi(ctx.app, s, s.auth.viewer).list;
    const count = async (q: Record<string, string>) => (await list(q)).json().data.length as number;
    assert.equal(await count({ country: 'DE' }), 2);
    assert.equal(await count({ carrier: 'ups' }), 1);
    assert.equal(await count({ tag: 'carrier-claim' }), 1);
    assert.equal(await count({ assignee: 'helpdesk:agent-7' }), 1);
  });

  test('a shop without claims has empty facets; unknown query parameters are refused', async () => {
    const empty = await createTestShop(ctx.db, 'facetsc');
    const res = await ctx.app.inject({
      url: `/v1/shops/${empty.slug}/claims/facets`,
      headers: empty.auth.viewer,
    });
    assert.deepEqual(res.json(), { reason: [], carrier: [], country: [], tag: [], assignee: [] });
    assertError(
      await ctx.app.inject({ url: `/v1/shops/${s.slug}/claims/facets?x=1`, headers: s.auth.viewer }),
      400,
      'validation_failed',
    );
    assertError(await ctx.app.inject({ url: `/v1/shops/${s.slug}/claims/facets` }), 401, 'unauthorized');
  });

  test('assignees: the members who work claims (agents and admins), for any role', async () => {
    for (const [email, role] of [
      ['b.agent@facets.test', 'agent'],
      ['a.admin@facets.test', 'admin'],
      ['c.viewer@facets.test', 'viewer'],
    ] as const)
      await createUser(ctx.db, {
        shopId: s.shop.id,
        email,
        role,
        password: 'member-password-1',
        name: email,
      });
    await createUser(ctx.db, {
      shopId: other.shop.id,
      email: 'elsewhere@facets.test',
      role: 'admin',
      password: 'member-password-1',
    });
    const res = await ctx.app.inject({ url: `/v1/shops/${s.slug}/assignees`, headers: s.auth.viewer });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().data, [
      { email: 'a.admin@facets.test', name: 'a.admin@facets.test', role: 'admin' },
      { email: 'b.agent@facets.test', name: 'b.agent@facets.test', role: 'agent' },
    ]);
  });
});
