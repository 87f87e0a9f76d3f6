import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import { drizzle as drizzlePg, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite, type PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { ANALYZE_EVERY_MS, analyzeChangedTables } from './embedded-vacuum.js';
import { acquireDataDirLock, type DirLock } from './lock.js';
import * as schema from './schema.js';

// int8 (counts, money) as JS numbers on pg, as PGlite already does; amounts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** A Drizzle database or transaction over either driver; both speak the same pg-core API. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Runs pending migrations (serialised across processes on PostgreSQL). */
  migrate(): Promise<void>;
  /** Number of migrations applied vs shipped, for /readyz. */
  migrationStatus(): Promise<{ applied: number; shipped: number }>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl: string | null;
  /** Directory for PGlite; null = in memory. */
  dataDir: string | null;
  poolMax?: number;
  /** A PGlite data dir dump (from dumpDataDir) to start from: fast fresh databases for tests. */
  loadDataDir?: Blob;
  /** PGlite: how often changed tables are looked for and analyzed (default ANALYZE_EVERY_MS). */
  analyzeEveryMs?: number;
}

/** Rows of a raw `db.execute()` on either driver. */
export async function query<T>(db: Db, statement: SQL): Promise<T[]> {
  const res = (await db.execute(statement)) as unknown as { rows: T[] };
  return res.rows;
}

/**
 * Runs a statement built once with placeholders (`new PgDialect().sqlToQuery(sql\`…${sql.placeholder('x')}…\`)`):
 * no SQL is built per call. `values` maps placeholder names to values. Rows come back as the driver returns them
 * (no column mapping: decode timestamps with the column's own mapper).
 *
 * With a `name` it is a named prepared statement: PostgreSQL parses it once per connection and, after five
 * runs, may keep one generic plan until an ANALYZE of a table it reads invalidates it. Only for statements whose
 * plan cannot go badly wrong while a table grows from empty (primary-key and unique-index lookups). With `null`
 * PostgreSQL plans every run with the actual values and table sizes: a generic plan made while `claims` was
 * nearly empty (a new installation, the benchmark) kept nested-loop scans of claims and claim items once they
 * had grown (measured: ~130 ms of PostgreSQL CPU a claim in bench/claims.ts).
 */
export async function runPrepared<T>(
  db: Db,
  name: string | null,
  q: { sql: string; params: unknown[] },
  values: Record<string, unknown>,
): Promise<T[]> {
  const res = await db._.session.prepareQuery(q, undefined, name ?? undefined, false).execute(values);
  return (res as { rows: T[] }).rows;
}

/** Affected row count of a raw statement on either driver. */
export async function execCount(db: Db, statement: SQL): Promise<number> {
  const res = (await db.execute(statement)) as unknown as { rowCount?: number | null; affectedRows?: number };
  return res.rowCount ?? res.affectedRows ?? 0;
}

function shippedMigrations(): number {
  const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8'));
  return journal.entries.length;
}

async function appliedMigrations(db: Db): Promise<number> {
  const exists = await query<{ t: string | null }>(
    db,
    sql`select to_regclass('drizzle.__drizzle_migrations')::text as t`,
  );
  if (!exists[0]?.t) return 0;
  const rows = await query<{ n: number }>(
    db,
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  );
  return Number(rows[0].n);
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolMax ?? 10);
  return openPglite(opts.dataDir, opts.loadDataDir, opts.analyzeEveryMs ?? ANALYZE_EVERY_MS);
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {}); // idle-client errors surface on the next query instead of crashing
  const db = drizzlePg(pool, { schema }) as unknown as NodePgDatabase<typeof schema>;
  const database: Database = {
    db: db as unknown as Db,
    kind: 'postgres',
    async migrate() {
      // One dedicated connection holds an advisory lock so parallel starts migrate once.
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        await client.query('select pg_advisory_lock(727274)');
        await migratePg(drizzlePg(client), { migrationsFolder: MIGRATIONS_DIR });
      } finally {
        await client.query('select pg_advisory_unlock(727274)').catch(() => {});
        await client.end();
      }
    },
    async migrationStatus() {
      return { applied: await appliedMigrations(database.db), shipped: shippedMigrations() };
    },
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      await pool.end();
    },
  };
  return database;
}

async function openPglite(
  dataDir: string | null,
  loadDataDir: Blob | undefined,
  analyzeEveryMs: number,
): Promise<Database> {
  let lock: DirLock | null = null;
  let client: PGlite;
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
    lock = acquireDataDirLock(dataDir);
    try {
      client = await PGlite.create(path.join(dataDir, 'pg'));
    } catch (err) {
      lock.release();
      throw err;
    }
  } else {
    client = await PGlite.create(loadDataDir ? { loadDataDir } : {});
  }
  const db = drizzlePglite(client, { schema }) as unknown as PgliteDatabase<typeof schema>;
  const database: Database & { pglite: PGlite } = {
    db: db as unknown as Db,
    kind: 'pglite',
    pglite: client,
    async migrate() {
      await migratePglite(db, { migrationsFolder: MIGRATIONS_DIR });
    },
    async migrationStatus() {
      return { applied: await appliedMigrations(database.db), shipped: shippedMigrations() };
    },
    async ping() {
      await client.query('select 1');
    },
    async close() {
      clearInterval(autoAnalyze);
      await analyzing;
      await client.close();
      lock?.release();
    },
  };
  // No autovacuum in PGlite: statistics are kept current here (src/db/embedded-vacuum.ts). Each run waits for
  // open transactions like any query; a failure is retried on the next tick.
  let analyzing: Promise<unknown> | null = null;
  const autoAnalyze = setInterval(() => {
    analyzing ??= analyzeChangedTables(database.db)
      .catch(() => undefined)
      .finally(() => {
        analyzing = null;
      });
  }, analyzeEveryMs);
  autoAnalyze.unref();
  return database;
}
