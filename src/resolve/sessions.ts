import { createHash, randomBytes } from 'node:crypto';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { resolveSessions } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';

export type SessionLevel = 'zip' | 'token';
export const SESSION_TTL_MS = 60 * 60 * 1000;

export interface ResolveSession {
  id: string;
  shopId: string;
  orderId: string;
  level: SessionLevel;
  tokenId: string | null;
  expiresAt: Date;
}

const hash = (bearer: string) => createHash('sha256').update(bearer).digest('hex');

/** Opens a session; the bearer is returned once and stored only as a hash. */
export async function openSession(
  db: Db,
  input: { shopId: string; orderId: string; level: SessionLevel; tokenId?: string | null },
  now = new Date(),
) {
  const bearer = `rss_${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  const id = newId('ses');
  await db.insert(resolveSessions).values({
    id,
    tokenHash: hash(bearer),
    shopId: input.shopId,
    orderId: input.orderId,
    level: input.level,
    tokenId: input.tokenId ?? null,
    expiresAt,
    createdAt: now,
  });
  return { id, bearer, expiresAt };
}

/** The session behind `Authorization: Bearer …` for this shop; sliding expiry (renewed when half used). */
export async function requireSession(
  db: Db,
  shopId: string,
  authorization: string | undefined,
  now = new Date(),
): Promise<ResolveSession> {
  const m = /^Bearer\s+(rss_[A-Za-z0-9_-]{43})$/.exec(authorization ?? '');
  if (!m)
    throw new AppError(
      'session_required',
      'Look up your order first: this needs the session from POST /sessions as a Bearer token.',
    );
  const [row] = await db
    .select()
    .from(resolveSessions)
    .where(and(eq(resolveSessions.tokenHash, hash(m[1])), eq(resolveSessions.shopId, shopId)));
  if (!row || row.expiresAt.getTime() <= now.getTime()) {
    throw new AppError('session_expired', 'Your session has ended. Look up your order again to continue.');
  }
  let expiresAt = row.expiresAt;
  if (expiresAt.getTime() - now.getTime() < SESSION_TTL_MS / 2) {
    expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    await db.update(resolveSessions).set({ expiresAt }).where(eq(resolveSessions.id, row.id));
  }
  return {
    id: row.id,
    shopId: row.shopId,
    orderId: row.orderId,
    level: row.level as SessionLevel,
    tokenId: row.tokenId,
    expiresAt,
  };
}

export async function pruneSessions(db: Db): Promise<void> {
  await db.delete(resolveSessions).where(lt(resolveSessions.expiresAt, sql`now() - interval '1 hour'`));
}
