import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { memberships, portalSessions, shops, users } from '../db/schema.js';
import { newId } from '../lib/ids.js';
import type { UserRole } from '../shops/users.js';

/** Signed out after this long without a request… */
export const IDLE_MS = 12 * 60 * 60 * 1000;
/** …and after this long in any case. */
export const ABSOLUTE_MS = 7 * 24 * 60 * 60 * 1000;

const sha = (v: string) => createHash('sha256').update(v).digest('hex');

export interface PortalSession {
  id: string;
  userId: string;
  email: string;
  name: string | null;
  expiresAt: Date;
  createdAt: Date;
}

/**
 * The CSRF token of a session: derived from the cookie value, so it is stable per session (every tab
 * agrees), needs no storage, and only someone who holds the httpOnly cookie can learn it (from the API).
 */
export function csrfFor(token: string): string {
  return createHash('sha256').update(`resolve-csrf:${token}`).digest('base64url');
}

/** A new session: the cookie value is returned once and stored only as a hash. */
export async function openPortalSession(
  db: Db,
  userId: string,
  meta: { ip: string | null; userAgent: string | null },
  now = new Date(),
) {
  const token = `rps_${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + IDLE_MS);
  await db.insert(portalSessions).values({
    id: newId('pss'),
    tokenHash: sha(token),
    userId,
    ip: meta.ip,
    userAgent: meta.userAgent?.slice(0, 300) ?? null,
    expiresAt,
    lastSeenAt: now,
    createdAt: now,
  });
  return { token, csrf: csrfFor(token), expiresAt };
}

/** The live session behind a cookie value; idle expiry slides (written at most once a minute). */
export async function findPortalSession(
  db: Db,
  token: string | undefined,
  now = new Date(),
): Promise<(PortalSession & { csrf: string }) | null> {
  if (!token || !/^rps_[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const [row] = await db
    .select({
      id: portalSessions.id,
      userId: portalSessions.userId,
      expiresAt: portalSessions.expiresAt,
      lastSeenAt: portalSessions.lastSeenAt,
      createdAt: portalSessions.createdAt,
      email: users.email,
      name: users.name,
    })
    .from(portalSessions)
    .innerJoin(users, eq(users.id, portalSessions.userId))
    .where(and(eq(portalSessions.tokenHash, sha(token)), gt(portalSessions.expiresAt, now)));
  if (!row) return null;
  if (now.getTime() - row.createdAt.getTime() > ABSOLUTE_MS) return null;
  if (now.getTime() - row.lastSeenAt.getTime() > 60_000) {
    const expiresAt = new Date(Math.min(now.getTime() + IDLE_MS, row.createdAt.getTime() + ABSOLUTE_MS));
    await db.update(portalSessions).set({ lastSeenAt: now, expiresAt }).where(eq(portalSessions.id, row.id));
    row.expiresAt = expiresAt;
  }
  return { ...row, csrf: csrfFor(token) };
}

export function csrfMatches(session: { csrf: string }, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function closePortalSession(db: Db, id: string): Promise<void> {
  await db.delete(portalSessions).where(eq(portalSessions.id, id));
}

/** Signs a user out everywhere (password reset, removal). */
export async function closeUserSessions(db: Db, userId: string): Promise<void> {
  await db.delete(portalSessions).where(eq(portalSessions.userId, userId));
}

export async function prunePortalSessions(db: Db): Promise<void> {
  await db.delete(portalSessions).where(lt(portalSessions.expiresAt, sql`now() - interval '1 day'`));
}

export interface ShopMembership {
  id: string;
  slug: string;
  name: string;
  role: UserRole;
}

export async function membershipsOf(db: Db, userId: string): Promise<ShopMembership[]> {
  const rows = await db
    .select({ id: shops.id, slug: shops.slug, name: shops.name, role: memberships.role })
    .from(memberships)
    .innerJoin(shops, eq(shops.id, memberships.shopId))
    .where(eq(memberships.userId, userId))
    .orderBy(shops.name);
  return rows.map((r) => ({ ...r, role: r.role as UserRole }));
}

export async function membershipRole(db: Db, userId: string, shopId: string): Promise<UserRole | null> {
  const [row] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.shopId, shopId)));
  return (row?.role as UserRole | undefined) ?? null;
}
