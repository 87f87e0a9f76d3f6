import { createHmac, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { instanceSettings } from '../db/schema.js';

/**
 * The master secret every signing key derives from: RESOLVE_SECRET when set, else one generated on first
 * start and kept in the database so every process of the installation shares it.
 */
export async function loadMasterSecret(db: Db, config: Config): Promise<Buffer> {
  if (config.appSecret) return Buffer.from(config.appSecret, 'utf8');
  const fresh = randomBytes(32).toString('base64url');
  await db.insert(instanceSettings).values({ key: 'master_secret', value: fresh }).onConflictDoNothing();
  const [row] = await db.select().from(instanceSettings).where(eq(instanceSettings.key, 'master_secret'));
  return Buffer.from(row.value, 'utf8');
}

/** A purpose-bound key: a leaked key of one purpose (or shop) signs nothing else. */
export function deriveKey(master: Buffer, ...purpose: string[]): Buffer {
  return createHmac('sha256', master).update(purpose.join('|')).digest();
}
