import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { type Database, MIGRATIONS_DIR, type OpenOptions, openDatabase } from '../../src/db/client.js';

/** The database URL tests run against: PostgreSQL when DATABASE_URL is set, else PGlite in memory. */
export const DATABASE_URL = process.env.DATABASE_URL || null;

function migrationsHash(): string {
  const h = createHash('sha256');
  for (const f of fs.readdirSync(MIGRATIONS_DIR).sort()) {
    if (f.endsWith('.sql')) h.update(f).update(fs.readFileSync(path.join(MIGRATIONS_DIR, f)));
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * A fresh PGlite initdb costs 5–7 s; restoring a migrated template dump costs ~1 s. The template is built
 * once per migrations version and shared by test files through the temp dir (written atomically).
 */
async function pgliteTemplate(): Promise<Blob> {
  const file = path.join(os.tmpdir(), `resolve-pglite-template-${migrationsHash()}.tar.gz`);
  if (!fs.existsSync(file)) {
    const db = await openDatabase({ databaseUrl: null, dataDir: null });
    await db.migrate();
    const pglite = (db as unknown as { pglite: PGlite }).pglite;
    const dump = await pglite.dumpDataDir('gzip');
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
    fs.renameSync(tmp, file);
    await db.close();
  }
  return new Blob([fs.readFileSync(file)]);
}

/** A migrated database for one test file. Tests isolate themselves by creating their own shops. */
export async function openTestDb(
  databaseUrl: string | null = DATABASE_URL,
  pglite: Pick<OpenOptions, 'analyzeEveryMs'> = {},
): Promise<Database> {
  if (databaseUrl) {
    const db = await openDatabase({ databaseUrl, dataDir: null, poolMax: 5 });
    await db.migrate();
    return db;
  }
  const db = await openDatabase({
    databaseUrl: null,
    dataDir: null,
    loadDataDir: await pgliteTemplate(),
    ...pglite,
  });
  await db.migrate(); // no-op on the template; keeps the contract the same as production
  return db;
}
