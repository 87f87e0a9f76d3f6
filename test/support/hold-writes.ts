import { randomInt } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Db, query } from '../../src/db/client.js';

/**
 * PostgreSQL only. Starts the writers `run` returns and holds each just before it updates or deletes a row of
 * `table` matching `oldRow` (SQL over `old`, e.g. `old.shop_id = 'shop_…'`), or with `ops = 'insert'` just before
 * it inserts one (then the condition is over `new`): a trigger waits on an advisory lock
 * the caller holds until every writer waits (there, or on another writer's lock behind it). Then all go on.
 * What each read before its write, it read before any of the others wrote: the interleaving of a lost update or
 * write skew, without timing. The trigger is dropped afterwards; rows not matching `oldRow` are never held.
 */
export async function holdWritesTogether<T>(
  db: Db,
  table: string,
  oldRow: string,
  run: () => Promise<T>[],
  ops: 'update or delete' | 'insert' = 'update or delete',
): Promise<T[]> {
  const key = randomInt(1, 2 ** 31 - 1);
  const fn = `test_hold_${key}`;
  await db.execute(
    sql.raw(`create function ${fn}() returns trigger language plpgsql as $$
      begin perform pg_advisory_xact_lock_shared(${key}); return case when tg_op = 'DELETE' then old else new end; end $$`),
  );
  await db.execute(
    sql.raw(`create trigger ${fn} before ${ops} on ${table} for each row
      when (${oldRow}) execute function ${fn}()`),
  );
  try {
    let pending: Promise<T>[] = [];
    await db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${key})`);
      const [{ pid }] = await query<{ pid: number }>(tx, sql`select pg_backend_pid() as pid`);
      pending = run();
      // A writer that fails (or never writes) before reaching the trigger would keep this loop waiting forever.
      let allSettled = false;
      void Promise.allSettled(pending).then(() => {
        allSettled = true;
      });
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (allSettled) break;
        if (Date.now() > deadline)
          throw new Error(`holdWritesTogether: not every writer reached a write on ${table} within 20 s`);
        const rows = await query<{ pid: number; blockers: number[] }>(
          db,
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
    await db.execute(sql.raw(`drop trigger ${fn} on ${table}`));
    await db.execute(sql.raw(`drop function ${fn}()`));
  }
}
