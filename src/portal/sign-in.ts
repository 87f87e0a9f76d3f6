import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { users } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { clearBucket, hit, lockedFor, rateLimited } from '../resolve/rate-limit.js';
import { hashPassword, verifyPassword } from '../shops/users.js';

/** Per client IP, every attempt; per email, failures lock the account's sign-in for a while. */
export const LOGIN_LIMITS = {
  ip: { max: 30, windowSeconds: 600 },
  email: { max: 5, windowSeconds: 900, lockSeconds: 900 },
};

let dummyHash: Promise<string> | null = null;

const invalid = () => new AppError('invalid_credentials', 'The email address or password is not correct.');

/**
 * Checks a sign-in. An unknown email and a wrong password answer the same and cost the same (a hash is
 * verified either way); repeated failures for one email lock it (429 with Retry-After).
 */
export async function checkCredentials(db: Db, email: string, password: string, ip: string) {
  const normalised = email.trim().toLowerCase();
  await hit(db, `login:ip:${ip}`, null, LOGIN_LIMITS.ip);
  const locked = await lockedFor(db, `login:email:${normalised}`);
  if (locked > 0) throw rateLimited(locked, 'Too many failed sign-ins for this account. Please wait.');
  const [user] = await db.select().from(users).where(eq(users.email, normalised)).limit(1);
  dummyHash ??= hashPassword('not a real password');
  const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash));
  if (!user || !ok) {
    await hit(db, `login:email:${normalised}`, null, LOGIN_LIMITS.email);
    throw invalid();
  }
  await clearBucket(db, `login:email:${normalised}`);
  return user;
}
