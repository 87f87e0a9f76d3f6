import type { Config } from '../config.js';
import { type Database, openDatabase } from './client.js';

/** Opens the configured database and applies pending migrations (every command that touches data). */
export async function openAndMigrate(config: Config): Promise<Database> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolMax: config.pgPoolMax,
  });
  try {
    await database.migrate();
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}
