import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { query } from '../src/db/client.js';
import { createUser } from '../src/shops/users.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { DATABASE_URL } from './support/db.js';
import { holdWritesTogether } from './support/hold-writes.js';
import { assertError } from './support/http.js';

// The last admin of a shop cannot be demoted or removed — also when two admins are demoted at the same moment.
// Each request locks its own membership and counts the admins; without a shared lock both count two and both go
// through, leaving the shop with no admin. The interleaving needs two transactions open at once: PostgreSQL only
// (the embedded database runs one transaction at a time).

const PASSWORD = 'correct horse battery';

describe('last admin under concurrent demotions', { skip: DATABASE_URL ? false : 'needs PostgreSQL' }, () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await startTestApp();
  });
  after(() => ctx?.close());

  async function twoAdmins(): Promise<{ shop: TestShop; ids: string[] }> {
    const shop = await createTestShop(ctx.db, 'lastadm');
    const ids: string[] = [];
    for (const n of ['a', 'b'])
      ids.push(
        (
          await createUser(ctx.db, {
            shopId: shop.shop.id,
            email: `${n}@${shop.slug}.test`,
            role: 'admin',
            password: PASSWORD,
          })
        ).id,
      );
    return { shop, ids };
  }

  const admins = async (shopId: string) =>
    Number(
      (
        await query<{ n: number }>(
          ctx.db,
          sql`select count(*)::int as n from memberships where shop_id = ${shopId} and role = 'admin'`,
        )
      )[0].n,
    );

  test('two admins demoted at once: one is, the other is 409 last_admin', async () => {
    const { shop, ids } = await twoAdmins();
    const answers = await holdWritesTogether(ctx.db, 'memberships', `old.shop_id = '${shop.shop.id}'`, () =>
      ids.map((id) =>
        ctx.app.inject({
          method: 'PATCH',
          url: `/v1/shops/${shop.slug}/users/${id}`,
          headers: shop.auth.admin,
          payload: { role: 'viewer' },
        }),
      ),
    );
    assert.deepEqual(
      answers.map((r) => r.statusCode).sort(),
      [204, 409],
      answers.map((r) => r.body).join('\n'),
    );
    const refused = answers.find((r) => r.statusCode === 409);
    if (refused) assertError(refused, 409, 'last_admin');
    assert.equal(await admins(shop.shop.id), 1, 'the shop kept no admin');
  });

  test('two admins removed at once: one is, the other is 409 last_admin', async () => {
    const { shop, ids } = await twoAdmins();
    const answers = await holdWritesTogether(ctx.db, 'memberships', `old.shop_id = '${shop.shop.id}'`, () =>
      ids.map((id) =>
        ctx.app.inject({
          method: 'DELETE',
          url: `/v1/shops/${shop.slug}/users/${id}`,
          headers: shop.auth.admin,
        }),
      ),
    );
    assert.deepEqual(
      answers.map((r) => r.statusCode).sort(),
      [204, 409],
      answers.map((r) => r.body).join('\n'),
    );
    const refused = answers.find((r) => r.statusCode === 409);
    if (refused) assertError(refused, 409, 'last_admin');
    assert.equal(await admins(shop.shop.id), 1, 'the shop kept no admin');
  });
});
