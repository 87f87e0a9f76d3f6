import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { memberships, portalSessions, users } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;
export const USER_ROLES = ['viewer', 'agent', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32);
  return `scrypt$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const got = await scrypt(password, Buffer.from(salt, 'base64url'), 32);
  return timingSafeEqual(got, Buffer.from(key, 'base64url'));
}

export function generatePassword(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Creates the user with `password` if the email is new; an existing account keeps its password (`existed`).
 * Either way the user gets `role` in the shop.
 */
export async function createUser(
  db: Db,
  input: { shopId: string; email: string; role: UserRole; password: string; name?: string },
) {
  if (!USER_ROLES.includes(input.role))
    throw new AppError('validation_failed', `role must be one of ${USER_ROLES.join(', ')}`);
  if (!/^[^\s@]+@[^\s@]+$/.test(input.email))
    throw new AppError('validation_failed', 'email is not an email address');
  if (input.password.length < 8)
    throw new AppError('validation_failed', 'password must be at least 8 characters');
  const email = input.email.trim().toLowerCase();
  const passwordHash = await hashPassword(input.password);
  const [created] = await db
    .insert(users)
    .values({ id: newId('usr'), email, name: input.name ?? null, passwordHash })
    .onConflictDoNothing({ target: users.email })
    .returning();
  // An account that exists keeps its password (resetPassword changes it, and signs the user out).
  const user = created ?? (await db.select().from(users).where(eq(users.email, email)))[0];
  await db
    .insert(memberships)
    .values({ userId: user.id, shopId: input.shopId, role: input.role })
    .onConflictDoUpdate({ target: [memberships.userId, memberships.shopId], set: { role: input.role } });
  return { ...user, existed: !created };
}

/** Sets a new password and ends every portal session of the user (CLI password reset). */
export async function resetPassword(db: Db, email: string, password: string): Promise<void> {
  if (password.length < 8) throw new AppError('validation_failed', 'password must be at least 8 characters');
  const passwordHash = await hashPassword(password);
  const [user] = await db
    .update(users)
    .set({ passwordHash, updatedAt: new Date() })
    .where(eq(users.email, email.trim().toLowerCase()))
    .returning({ id: users.id });
  if (!user) throw new AppError('user_not_found', `No user with the email ${email}.`);
  await db.delete(portalSessions).where(eq(portalSessions.userId, user.id));
}
