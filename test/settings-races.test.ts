import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { shops } from '../src/db/schema.js';
import { createTestShop, type TestShop } from './support/app.js';
import { type GatedContext, startGatedApp } from './support/gated-app.js';
import { assertInvalidAt } from './support/http.js';

// Two admins changing the shop's settings document at once: each change is kept (no lost update).

let ctx: GatedContext;
before(async () => {
  ctx = await startGatedApp();
});
after(() => ctx.close());

const patchSettings = (shop: TestShop, payload: object, gate?: string) =>
  ctx.app.inject({
    method: 'PATCH',
    url: `/v1/shops/${shop.slug}/settings/resolve`,
    headers: { ...shop.auth.admin, ...(gate ? { 'x-test-gate': gate } : {}) },
    payload,
  });

const rotate = (shop: TestShop, payload: object, gate?: string) =>
  ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/settings/token-keys/rotate`,
    headers: { ...shop.auth.admin, ...(gate ? { 'x-test-gate': gate } : {}) },
    payload,
  });

const storedSettings = async (shop: TestShop) =>
  (await ctx.db.select({ s: shops.settings }).from(shops).where(eq(shops.id, shop.shop.id)))[0].s as {
    resolve?: Record<string, unknown>;
    token_keys?: { current: string; retired: string[] };
  };

describe('settings PATCH while another admin saves', () => {
  test('two admins saving different sections at once: both sections are kept', async () => {
    const shop = await createTestShop(ctx.db, 'setrace');
    // Admin A has been authenticated (the shop read) when admin B saves the branding.
    const gate = ctx.gate('a');
    const a = patchSettings(shop, { claim_window_days: 14 }, 'a');
    await gate.reached;
    const b = await patchSettings(shop, { branding: { primary_color: '#aa0000' } });
    assert.equal(b.statusCode, 200, b.body);
    gate.release();
    const ra = await a;
    assert.equal(ra.statusCode, 200, ra.body);
    // A's answer is the settings now in effect, B's colour included.
    assert.equal(ra.json().branding.primary_color, '#aa0000');
    assert.equal(ra.json().claim_window_days, 14);

    const got = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${shop.slug}/settings/resolve`,
      headers: shop.auth.viewer,
    });
    assert.equal(got.json().claim_window_days, 14);
    assert.equal(got.json().branding.primary_color, '#aa0000', 'admin B’s branding was written over');
  });

  test('the merged document is validated against what is stored now, not what the request first read', async () => {
    const shop = await createTestShop(ctx.db, 'setrace');
    // A lowers photos.max to 2 while B raises photos.min to 3 for the same flow: the merged result is invalid.
    const gate = ctx.gate('a2');
    const a = patchSettings(shop, { flows: { return: { photos: { max: 2 } } } }, 'a2');
    await gate.reached;
    const b = await patchSettings(shop, { flows: { return: { photos: { min: 3 } } } });
    assert.equal(b.statusCode, 200, b.body);
    gate.release();
    const ra = await a;
    assertInvalidAt(ra, '/flows/return/photos/min');
    const stored = await storedSettings(shop);
    assert.deepEqual((stored.resolve as { flows: { return: { photos: object } } }).flows.return.photos, {
      min: 3,
    });
  });
});

describe('token key rotation while another admin rotates', () => {
  test('a rotation that retires old keys is not undone by a rotation that read the keys before it', async () => {
    const shop = await createTestShop(ctx.db, 'tokrace');
    const gate = ctx.gate('r');
    const a = rotate(shop, {}, 'r');
    await gate.reached;
    const b = await rotate(shop, { retire_previous: true });
    assert.equal(b.statusCode, 200, b.body);
    assert.deepEqual(b.json(), { current: 'k2', retired: ['k1'] });
    gate.release();
    const ra = await a;
    assert.equal(ra.statusCode, 200, ra.body);
    // A rotates after B: a new key, and k1 stays retired.
    assert.deepEqual(ra.json(), { current: 'k3', retired: ['k1'] });
    assert.deepEqual((await storedSettings(shop)).token_keys, { current: 'k3', retired: ['k1'] });
  });
});
