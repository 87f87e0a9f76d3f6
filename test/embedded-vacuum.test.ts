import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { type Database, type Db, query } from '../src/db/client.js';
import { analyzeChangedTables, PRUNED_TABLES } from '../src/db/embedded-vacuum.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import type { ClaimedJob } from '../src/jobs/queue.js';
import { startTestApp } from './support/app.js';
import { openTestDb } from './support/db.js';

/**
 * PGlite has no autovacuum. The embedded database analyzes tables that changed (a timer) and the hourly
 * maintenance vacuums the tables it prunes. These tests always use PGlite, whatever DATABASE_URL says:
 * on PostgreSQL the server's own autovacuum does this.
 */

const statsOf = async (db: Db, table: string) =>
  (
    await query<{ rows: number; analyzed: boolean; vacuumed: boolean }>(
      db,
      sql`select c.reltuples::float8 as rows, s.last_analyze is not null as analyzed,
                 s.last_vacuum is not null as vacuumed
          from pg_class c join pg_stat_user_tables s on s.relid = c.oid
          where c.relname = ${table} and c.relnamespace = to_regnamespace(current_schema())`,
    )
  )[0];

/** Rows in rate_limits (no foreign keys): `n` counters of a test run. */
const fill = (db: Db, n: number, tag: string) =>
  db.execute(sql`insert into rate_limits (bucket, shop_id, hits, window_started_at, updated_at)
                 select ${tag} || g, null, 1, now(), now() from generate_series(1, ${n}) g`);

describe('the embedded database keeps its statistics (no autovacuum in PGlite)', () => {
  const opened: Database[] = [];
  after(async () => {
    for (const d of opened) await d.close();
  });

  test('analyzeChangedTables analyzes a table that grew, once; small changes wait', async () => {
    const database = await openTestDb(null, { analyzeEveryMs: 3_600_000 });
    opened.push(database);
    const { db } = database;
    assert.equal(database.kind, 'pglite');
    // The tables the migrations left empty are never analyzed: nothing to do.
    assert.deepEqual(await analyzeChangedTables(db), []);
    await fill(db, 5000, 'a:');
    assert.equal((await statsOf(db, 'rate_limits')).analyzed, false);
    assert.deepEqual(await analyzeChangedTables(db), ['rate_limits']);
    const s = await statsOf(db, 'rate_limits');
    assert.equal(s.analyzed, true);
    assert.equal(s.rows, 5000);
    assert.deepEqual(await analyzeChangedTables(db), [], 'nothing changed since');
    await fill(db, 20, 'b:');
    assert.deepEqual(await analyzeChangedTables(db), [], 'under 10 % + 5 pages of growth');
    await fill(db, 5000, 'c:');
    assert.deepEqual(await analyzeChangedTables(db), ['rate_limits']);
    assert.equal((await statsOf(db, 'rate_limits')).rows, 10_020);
  });

  test('the embedded database runs it by itself, on a timer', async () => {
    const database = await openTestDb(null, { analyzeEveryMs: 50 });
    opened.push(database);
    await fill(database.db, 3000, 'timer:');
    const until = Date.now() + 10_000;
    while (!(await statsOf(database.db, 'rate_limits')).analyzed) {
      assert.ok(Date.now() < until, 'rate_limits was not analyzed within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await statsOf(database.db, 'rate_limits')).rows, 3000);
  });

  test('the hourly maintenance vacuums the tables it prunes', async () => {
    const ctx = await startTestApp({}, { databaseUrl: null });
    try {
      assert.equal(ctx.deps.database.kind, 'pglite');
      await fill(ctx.db, 2000, 'old:');
      await ctx.db.execute(sql`delete from rate_limits where bucket like 'old:%'`);
      assert.equal((await statsOf(ctx.db, 'rate_limits')).vacuumed, false);
      const job: ClaimedJob = {
        id: `job_x${randomBytes(4).toString('hex')}`,
        type: 'maintenance.prune',
        shop_id: null,
        payload: {},
        attempts: 1,
        max_attempts: 10,
      };
      await jobHandlers(ctx.deps)['maintenance.prune'](job, { db: ctx.db, log: pino({ level: 'silent' }) });
      for (const table of PRUNED_TABLES) assert.equal((await statsOf(ctx.db, table)).vacuumed, true, table);
      assert.equal((await statsOf(ctx.db, 'rate_limits')).rows, 0);
    } finally {
      await ctx.close();
    }
  });
});
