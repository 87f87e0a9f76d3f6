import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { query } from '../src/db/client.js';
import { createUser } from '../src/shops/users.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { DATABASE_URL } from './support/db.js';
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

  /**
   * Runs both requests with each held just before it writes its membership (a trigger waits on an advisory lock
   * the test holds) until both have read what they read or wait on each other; then lets them go.
   */
  async function together<T>(shopId: string, run: () => Promise<T>[]): Promise<T[]> {
    const key = Number.parseInt(shopId.replace(/[^0-9a-f]/g, '').slice(-7) || '1', 16);
    const fn = `test_hold_${shopId.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
    await ctx.db.execute(
      sql.raw(`create function ${fn}() returns trigger language plpgsql as $$
        begin perform pg_advisory_xact_lock_shared(${key}); return case when tg_op = 'DELETE' then old else new end; end $$`),
    );
    await ctx.db.execute(
      sql.raw(`create trigger ${fn} before update or delete on memberships for each row
        when (old.shop_id = '${shopId}') execute function ${fn}()`),
    );
    try {
      let pending: Promise<T>[] = [];
      await ctx.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${key})`);
        const [{ pid }] = await query<{ pid: number }>(tx, sql`select pg_backend_pid() as pid`);
        pending = run();
        // Both requests wait: on the test's lock, or on each other behind it.
        for (;;) {
          const rows = await query<{ pid: number; blockers: number[] }>(
            ctx.db,
            sql`select pid, pg_blocking_pids(pid) as blockers from pg_stat_activity
                where datname = current_database() and cardinality(pg_blocking_pids(pid)) > 0`,
          );
          const held = new Set([pid]);
          for (let grew = true; grew; ) {
            grew = false;
            for (const r of rows)
              if (!held.has(r.pid) && r.blockers.some((b) => held.has(b))) {
                held.add(r.pid);
                grew = true;
              }
          }
          if (held.size - 1 >= pending.length) break;
          await new Promise((r) => setImmediate(r));
        }
      });
      return await Promise.all(pending);
    } finally {
      await ctx.db.execute(sql.raw(`drop trigger ${fn} on memberships`));
      await ctx.db.execute(sql.raw(`drop function ${fn}()`));
    }
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
    const answers = await together(shop.shop.id, () =>
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
    const answers = await together(shop.shop.id, () =>
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
