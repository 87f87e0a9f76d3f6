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

/** A new session's id and bearer, and the hash of the bearer that is stored in its place. */
export function newSessionSecret() {
  const bearer = `rss_${randomBytes(32).toString('base64url')}`;
  return { id: newId('ses'), bearer, hash: hash(bearer) };
}

/** Opens a session; the bearer is returned once and stored only as a hash. */
export async function openSession(
  db: Db,
  input: { shopId: string; orderId: string; level: SessionLevel; tokenId?: string | null },
  now = new Date(),
) {
  const { id, bearer, hash: tokenHash } = newSessionSecret();
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await db.insert(resolveSessions).values({
    id,
    tokenHash,
    shopId: input.shopId,
    orderId: input.orderId,
    level: input.level,
    tokenId: input.tokenId ?? null,
    expiresAt,
    createdAt: now,
  });
  return { id, bearer, expiresAt };
}

/** RFC 6750: a 401 of the customer flow names the scheme it wants, and says when the bearer is no longer good. */
const challenge = (error?: string) => ({
  'www-authenticate': `Bearer realm="resolve"${error ? `, error="${error}"` : ''}`,
});

export const sessionRequired = () =>
  new AppError(
    'session_required',
    'Look up your order first: this needs the session from POST /sessions as a Bearer token.',
    [],
    401,
    challenge(),
  );

export const sessionExpired = (message = 'Your session has ended. Look up your order again to continue.') =>
  new AppError('session_expired', message, [], 401, challenge('invalid_token'));

/**
 * The stored hash of the session bearer in `Authorization: Bearer rss_…`; 401 `session_required` without one.
 */
export function sessionBearerHash(authorization: string | undefined): string {
  const m = /^Bearer\s+(rss_[A-Za-z0-9_-]{43})$/.exec(authorization ?? '');
  if (!m) throw sessionRequired();
  return hash(m[1]);
}

/**
 * A session's expiry after this use: sliding, renewed (stored) once half of its time is used; 401
 * `session_expired` when it has ended or is unknown (null).
 */
export async function slideExpiry(db: Db, id: string | null, expiresAt: Date | null, now = new Date()) {
  if (!id || !expiresAt || expiresAt.getTime() <= now.getTime()) throw sessionExpired();
  if (expiresAt.getTime() - now.getTime() >= SESSION_TTL_MS / 2) return expiresAt;
  const renewed = new Date(now.getTime() + SESSION_TTL_MS);
  await db.update(resolveSessions).set({ expiresAt: renewed }).where(eq(resolveSessions.id, id));
  return renewed;
}

/** The session behind `Authorization: Bearer …` for this shop; sliding expiry (renewed when half used). */
export async function requireSession(
  db: Db,
  shopId: string,
  authorization: string | undefined,
  now = new Date(),
): Promise<ResolveSession> {
  const tokenHash = sessionBearerHash(authorization);
  const [row] = await db
    .select()
    .from(resolveSessions)
    .where(and(eq(resolveSessions.tokenHash, tokenHash), eq(resolveSessions.shopId, shopId)));
  const expiresAt = await slideExpiry(db, row?.id ?? null, row?.expiresAt ?? null, now);
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
