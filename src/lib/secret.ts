import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
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

const SEAL_VERSION = 'v1';

/**
 * Encrypts a secret at rest (AES-256-GCM under `key`, e.g. deriveKey(master, 'webhook-secrets')). `context` (the
 * owning row's id) is authenticated too, so a sealed value copied to another row does not open.
 */
export function sealSecret(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${SEAL_VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

/** Opens a value from sealSecret(); throws when the key, the context or the value does not match. */
export function openSecret(key: Buffer, sealed: string, context: string): string {
  const [version, data] = sealed.split('.', 2);
  if (version !== SEAL_VERSION || !data) throw new Error('unknown sealed secret format');
  const raw = Buffer.from(data, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}
