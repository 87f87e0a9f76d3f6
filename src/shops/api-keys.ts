import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { apiKeys } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';

export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const roleRank = (r: Role) => ROLES.indexOf(r);

export type ApiKey = typeof apiKeys.$inferSelect;

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

export interface CreateApiKeyInput {
  shopIds: string[];
  role: Role;
  /** HTTP Basic username; defaults to the first shop's slug. */
  name: string;
  expiresAt?: Date | null;
}

/** Creates a key and returns its secret, which is never stored or shown again. */
export async function createApiKey(
  db: Db,
  input: CreateApiKeyInput,
): Promise<{ key: ApiKey; secret: string }> {
  if (!ROLES.includes(input.role))
    throw new AppError('validation_failed', `role must be one of ${ROLES.join(', ')}`);
  if (!input.shopIds.length) throw new AppError('validation_failed', 'a key needs at least one shop');
  const id = newId('key');
  // The key id travels inside the secret so verification is one indexed lookup.
  const secret = `rsk_${id.slice(4)}_${randomBytes(32).toString('base64url')}`;
  const [key] = await db
    .insert(apiKeys)
    .values({
      id,
      name: input.name,
      role: input.role,
      shopIds: input.shopIds,
      secretHash: hash(secret),
      secretHint: secret.slice(-4),
      expiresAt: input.expiresAt ?? null,
    })
    .returning();
  return { key, secret };
}

/** Returns the key for a presented secret (and optional Basic username), or null. */
export async function verifyApiKey(db: Db, secret: string, username?: string): Promise<ApiKey | null> {
  const m = /^rsk_([0-9a-z]{26})_([A-Za-z0-9_-]{43})$/.exec(secret);
  const expected = hash(secret);
  if (!m) {
    timingSafeEqual(Buffer.from(expected), Buffer.from(expected)); // same work on malformed input
    return null;
  }
  const [key] = await db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.id, `key_${m[1]}`))
    .limit(1);
  if (!key) return null;
  const ok = timingSafeEqual(Buffer.from(key.secretHash), Buffer.from(expected));
  if (!ok || key.revokedAt) return null;
  if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return null;
  if (username && username !== key.name) return null;
  if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > 60_000) {
    // Throttled so reads do not turn into a write per request.
    await db
      .update(apiKeys)
      .set({ lastUsedAt: new Date() })
      .where(
        and(
          eq(apiKeys.id, key.id),
          sql`(last_used_at is null or last_used_at < now() - interval '60 seconds')`,
        ),
      );
  }
  return key;
}
