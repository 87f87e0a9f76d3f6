import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { apiKeys, invites, memberships, shops, users } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { createUser, USER_ROLES, type UserRole } from '../shops/users.js';
import { closeUserSessions } from './sessions.js';

const sha = (v: string) => createHash('sha256').update(v).digest('hex');
export const INVITE_TTL_DAYS = 7;

export async function listMembers(db: Db, shopId: string) {
  return db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      role: memberships.role,
      created_at: memberships.createdAt,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.shopId, shopId))
    .orderBy(users.email);
}

/**
 * Serialises the shop's membership changes: the last-admin check counts the admins, and two demotions that each
 * lock only their own membership would both count two and both go through, leaving the shop with no admin.
 */
async function lockShop(tx: Db, shopId: string) {
  await tx.execute(sql`select id from shops where id = ${shopId} for update`);
}

/** The last admin of a shop cannot be demoted or removed: someone must be able to manage it. */
async function assertNotLastAdmin(db: Db, shopId: string, userId: string) {
  const admins = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.shopId, shopId), eq(memberships.role, 'admin')));
  if (admins.length === 1 && admins[0].userId === userId)
    throw new AppError('last_admin', 'A shop needs at least one admin: make someone else admin first.');
}

export async function changeMemberRole(db: Db, shopId: string, userId: string, role: UserRole) {
  return db.transaction(async (tx) => {
    await lockShop(tx, shopId);
    const [m] = await tx
      .select()
      .from(memberships)
      .where(and(eq(memberships.shopId, shopId), eq(memberships.userId, userId)))
      .for('update');
    if (!m) throw new AppError('user_not_found', 'No such user in this shop.');
    if (m.role === 'admin' && role !== 'admin') await assertNotLastAdmin(tx, shopId, userId);
    await tx
      .update(memberships)
      .set({ role })
      .where(and(eq(memberships.shopId, shopId), eq(memberships.userId, userId)));
  });
}

export async function removeMember(db: Db, shopId: string, userId: string) {
  await db.transaction(async (tx) => {
    await lockShop(tx, shopId);
    const [m] = await tx
      .select()
      .from(memberships)
      .where(and(eq(memberships.shopId, shopId), eq(memberships.userId, userId)))
      .for('update');
    if (!m) throw new AppError('user_not_found', 'No such user in this shop.');
    if (m.role === 'admin') await assertNotLastAdmin(tx, shopId, userId);
    await tx.delete(memberships).where(and(eq(memberships.shopId, shopId), eq(memberships.userId, userId)));
  });
  // Their open sessions may still name this shop: sign them out everywhere.
  await closeUserSessions(db, userId);
}

export async function createInvite(
  db: Db,
  input: { shopId: string; email: string; role: UserRole; createdBy: string },
) {
  if (!USER_ROLES.includes(input.role)) throw new AppError('validation_failed', 'Unknown role.');
  const email = input.email.trim().toLowerCase();
  const token = `inv_${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(Date.now() + INVITE_TTL_DAYS * 86_400_000);
  return db.transaction(async (tx) => {
    // A member is not invited again (accepting would quietly change their role): their role is changed in the
    // team list. The shop row lock orders this with an acceptance of another invitation for the same email.
    await lockShop(tx, input.shopId);
    const [member] = await tx
      .select({ role: memberships.role })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.shopId, input.shopId), eq(users.email, email)));
    if (member)
      throw new AppError(
        'already_member',
        `${email} is already a member of this shop (${member.role}). Change their role in the team list instead.`,
        [{ path: '/email', message: 'already a member of this shop' }],
      );
    // A new invitation for the same email replaces the open one: only the latest link works.
    await tx
      .update(invites)
      .set({ revokedAt: new Date() })
      .where(
        and(
          eq(invites.shopId, input.shopId),
          eq(invites.email, email),
          isNull(invites.acceptedAt),
          isNull(invites.revokedAt),
        ),
      );
    const [row] = await tx
      .insert(invites)
      .values({
        id: newId('inv'),
        shopId: input.shopId,
        email,
        role: input.role,
        tokenHash: sha(token),
        createdBy: input.createdBy,
        expiresAt,
      })
      .returning();
    return { invite: row, token };
  });
}

export async function listInvites(db: Db, shopId: string) {
  return db
    .select()
    .from(invites)
    .where(and(eq(invites.shopId, shopId), isNull(invites.acceptedAt), isNull(invites.revokedAt)))
    .orderBy(desc(invites.id));
}

export async function revokeInvite(db: Db, shopId: string, id: string) {
  const n = await db
    .update(invites)
    .set({ revokedAt: new Date() })
    .where(
      and(
        eq(invites.shopId, shopId),
        eq(invites.id, id),
        isNull(invites.acceptedAt),
        isNull(invites.revokedAt),
      ),
    )
    .returning({ id: invites.id });
  if (!n.length) throw new AppError('invite_not_found', 'No open invite with this id.');
}

/** Accepting creates the user (or adds the shop to an existing one) with the invited role, once. */
const inviteInvalid = () =>
  new AppError('invite_invalid', 'This invitation is invalid, used or expired. Ask for a new one.');

/** An invitation for an email that has an account already is accepted with that account's password. */
export const accountPasswordRequired = () =>
  new AppError(
    'invalid_credentials',
    'This email address already has a Resolve account: enter its current password to join the shop.',
  );

/** An open (unused, unrevoked, unexpired) invitation: its email, shop and role, and whether the email has an account. */
export async function openInvite(db: Db, token: string) {
  const [inv] = await db
    .select({
      email: invites.email,
      userId: users.id,
      role: invites.role,
      shopName: shops.name,
      expiresAt: invites.expiresAt,
    })
    .from(invites)
    .innerJoin(shops, eq(shops.id, invites.shopId))
    .leftJoin(users, eq(users.email, invites.email))
    .where(
      and(
        eq(invites.tokenHash, sha(token)),
        isNull(invites.acceptedAt),
        isNull(invites.revokedAt),
        gt(invites.expiresAt, sql`now()`),
      ),
    )
    .limit(1);
  if (!inv) throw inviteInvalid();
  return {
    email: inv.email,
    hasAccount: inv.userId !== null,
    role: inv.role as UserRole,
    shopName: inv.shopName,
    expiresAt: inv.expiresAt,
  };
}

/**
 * Accepts an invitation: a new account with `password`, or, for an email that has an account already, the
 * membership for that account, which only `verifiedUserId` (the account whose password the caller has proven,
 * see checkCredentials) may get. The invite link alone never signs anybody in to an existing account.
 */
export async function acceptInvite(
  db: Db,
  token: string,
  password: string,
  name: string | null,
  verifiedUserId: string | null,
) {
  return db.transaction(async (tx) => {
    const [inv] = await tx
      .select()
      .from(invites)
      .where(
        and(
          eq(invites.tokenHash, sha(token)),
          isNull(invites.acceptedAt),
          isNull(invites.revokedAt),
          gt(invites.expiresAt, sql`now()`),
        ),
      )
      .for('update');
    if (!inv) throw inviteInvalid();
    const [existing] = await tx.select().from(users).where(eq(users.email, inv.email)).limit(1);
    let userId: string;
    if (existing) {
      if (existing.id !== verifiedUserId) throw accountPasswordRequired();
      // A member already: the invite's role replaces theirs, as a role change would, so the shop's last admin
      // cannot be demoted this way either (the shop row lock orders it with concurrent role changes).
      await lockShop(tx, inv.shopId);
      const [member] = await tx
        .select({ role: memberships.role })
        .from(memberships)
        .where(and(eq(memberships.userId, existing.id), eq(memberships.shopId, inv.shopId)));
      if (member?.role === 'admin' && inv.role !== 'admin')
        await assertNotLastAdmin(tx, inv.shopId, existing.id);
      // An existing account keeps its password: the invite only adds the shop.
      await tx
        .insert(memberships)
        .values({ userId: existing.id, shopId: inv.shopId, role: inv.role })
        .onConflictDoUpdate({ target: [memberships.userId, memberships.shopId], set: { role: inv.role } });
      userId = existing.id;
    } else {
      userId = (
        await createUser(tx, {
          shopId: inv.shopId,
          email: inv.email,
          role: inv.role as UserRole,
          password,
          name: name ?? undefined,
        })
      ).id;
    }
    await tx.update(invites).set({ acceptedAt: new Date() }).where(eq(invites.id, inv.id));
    return { userId, existing: !!existing };
  });
}

export async function listApiKeys(db: Db, shopId: string) {
  return db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      role: apiKeys.role,
      secret_hint: apiKeys.secretHint,
      expires_at: apiKeys.expiresAt,
      last_used_at: apiKeys.lastUsedAt,
      revoked_at: apiKeys.revokedAt,
      created_at: apiKeys.createdAt,
      shop_ids: apiKeys.shopIds,
    })
    .from(apiKeys)
    .where(sql`${shopId} = any(${apiKeys.shopIds})`)
    .orderBy(desc(apiKeys.id));
}

/** Revoking a key that also serves other shops needs it to be this shop's only key scope. */
export async function revokeApiKey(db: Db, shopId: string, id: string) {
  const [key] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), sql`${shopId} = any(${apiKeys.shopIds})`));
  if (!key || key.revokedAt) throw new AppError('api_key_not_found', 'No active API key with this id.');
  if (key.shopIds.length > 1)
    throw new AppError('api_key_shared', 'This key serves several shops; revoke it with the CLI.');
  await db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, id));
}
