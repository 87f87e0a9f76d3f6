import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, isNull, or, sql } from 'drizzle-orm';
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
  /**
   * Refuse (409 `api_key_name_taken`) when an active key (not revoked, not expired) of this shop already
   * has the name: the name is the HTTP Basic username, so two live keys of one name are ambiguous.
   * A rotation that replaces a key of the same name must revoke the old key in the same transaction first.
   */
  uniqueNameInShop?: string;
}

/** Throws 409 `api_key_name_taken` when an active key of the shop already carries `name`. */
export async function assertApiKeyNameFree(db: Db, shopId: string, name: string): Promise<void> {
  const [taken] = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(
      and(
        sql`${shopId} = any(${apiKeys.shopIds})`,
        eq(apiKeys.name, name),
        isNull(apiKeys.revokedAt),
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, sql`now()`)),
      ),
    )
    .limit(1);
  if (taken)
    throw new AppError(
      'api_key_name_taken',
      `An API key named "${name}" already exists; choose another name or revoke it first.`,
      [{ path: '/name', message: `an API key named "${name}" already exists` }],
      409,
    );
}

/** Whether an active key of the shop already carries `name` (what assertApiKeyNameFree() refuses). */
async function apiKeyNameTaken(db: Db, shopId: string, name: string): Promise<boolean> {
  try {
    await assertApiKeyNameFree(db, shopId, name);
    return false;
  } catch (err) {
    if (err instanceof AppError && err.key === 'api_key_name_taken') return true;
    throw err;
  }
}

/**
 * The first of `base`, `base-2`, `base-3`, … that no active key of these shops carries: the CLI's default name
 * (the shop's slug) when the shop has a key of that name already, e.g. the demo shop's seeded key "demo".
 */
export async function freeApiKeyName(db: Db, shopIds: string[], base: string): Promise<string> {
  for (let n = 1; n <= 1000; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    let taken = false;
    for (const shopId of shopIds) if (await apiKeyNameTaken(db, shopId, name)) taken = true;
    if (!taken) return name;
  }
  throw new AppError(
    'api_key_name_taken',
    `Every name from "${base}" to "${base}-1000" is taken; pass --name.`,
    [],
    409,
  );
}

/** Creates a key and returns its secret, which is never stored or shown again. */
export async function createApiKey(
  db: Db,
  input: CreateApiKeyInput,
): Promise<{ key: ApiKey; secret: string }> {
  if (!ROLES.includes(input.role))
    throw new AppError('validation_failed', `role must be one of ${ROLES.join(', ')}`);
  if (!input.shopIds.length) throw new AppError('validation_failed', 'a key needs at least one shop');
  const shopId = input.uniqueNameInShop;
  if (shopId)
    return db.transaction(async (tx) => {
      // Serialises creations of one name in one shop, so two at once cannot both find it free.
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtextextended(${`api_key_name:${shopId}:${input.name}`}, 0))`,
      );
      await assertApiKeyNameFree(tx, shopId, input.name);
      return insertApiKey(tx, input);
    });
  return insertApiKey(db, input);
}

async function insertApiKey(db: Db, input: CreateApiKeyInput): Promise<{ key: ApiKey; secret: string }> {
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
