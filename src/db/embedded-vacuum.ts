import { getTableName, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import {
  idempotencyKeys,
  jobs,
  portalSessions,
  rateLimits,
  resolveSessions,
  uploads,
  webhookAttempts,
  webhookMessages,
} from './schema.js';

/**
 * PGlite runs PostgreSQL in one process without its background workers: no autovacuum. Without it, tables are
 * never analyzed — the planner never learns how large `claims` has grown, and picks plans for an empty table (an
 * export of 30,000 claims took 15× longer than after an ANALYZE) — and the space of deleted rows (sessions,
 * counters, idempotency keys, delivered webhook messages, all pruned hourly) is never made reusable, so those
 * files grow for ever. These two functions do autovacuum's part on the embedded database; on PostgreSQL the
 * server's autovacuum does it.
 */

/** Pages of growth (or shrinkage) since the last ANALYZE that make a table's statistics stale: autovacuum's 50 rows + 10 %, in pages. */
const STALE_PAGES = 5;
const STALE_FRACTION = 0.1;

/**
 * ANALYZEs each table of the schema that was never analyzed and has rows, or whose size moved by more than 10 %
 * (and 5 pages) since its last ANALYZE or VACUUM. One catalog read when nothing changed. Answers the tables
 * analyzed.
 */
export async function analyzeChangedTables(db: Db): Promise<string[]> {
  const res = await db.execute(
    sql`select c.relname as name, (pg_relation_size(c.oid) / current_setting('block_size')::int)::int as pages,
               c.relpages as known_pages, c.reltuples::float8 as known_rows
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and c.relkind = 'r'
        order by c.relname`,
  );
  const tables = (
    res as unknown as { rows: { name: string; pages: number; known_pages: number; known_rows: number }[] }
  ).rows;
  const stale = tables.filter((t) =>
    t.known_rows < 0
      ? t.pages > 0
      : Math.abs(t.pages - t.known_pages) > STALE_PAGES + STALE_FRACTION * t.known_pages,
  );
  for (const t of stale) await db.execute(sql`analyze ${sql.identifier(t.name)}`);
  return stale.map((t) => t.name);
}

/** Tables the hourly maintenance deletes from: after it, their freed space is made reusable (and re-analyzed). */
export const PRUNED_TABLES = [
  resolveSessions,
  rateLimits,
  idempotencyKeys,
  webhookMessages,
  webhookAttempts,
  portalSessions,
  jobs,
  uploads,
].map(getTableName);

/** How often the embedded database looks for tables to analyze (a catalog read when nothing changed). */
export const ANALYZE_EVERY_MS = 60_000;

/** VACUUM (ANALYZE) of the given tables; not inside a transaction. */
export async function vacuumTables(db: Db, tables: readonly string[]): Promise<void> {
  for (const t of tables) await db.execute(sql`vacuum (analyze) ${sql.identifier(t)}`);
}
