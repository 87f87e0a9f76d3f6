import { and, asc, count, eq, or, sql } from 'drizzle-orm';
import type { Static } from 'typebox';
import type { Db } from '../db/client.js';
import { claimViews } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { ViewQuery } from './filters.js';

export type ViewQueryT = Static<typeof ViewQuery>;
type ViewRow = typeof claimViews.$inferSelect;
export const MAX_VIEWS_PER_OWNER = 100;

export const viewOut = (v: ViewRow, caller: string) => ({
  id: v.id,
  name: v.name,
  query: v.query as ViewQueryT,
  shared: v.shared,
  owner: v.owner,
  mine: v.owner === caller,
  created_at: v.createdAt.toISOString(),
  updated_at: v.updatedAt.toISOString(),
});

/** The caller's own views and the views others shared, by name. */
export async function listViews(db: Db, shopId: string, caller: string) {
  const rows = await db
    .select()
    .from(claimViews)
    .where(and(eq(claimViews.shopId, shopId), or(eq(claimViews.owner, caller), eq(claimViews.shared, true))))
    .orderBy(asc(claimViews.name), asc(claimViews.id));
  return rows.map((v) => viewOut(v, caller));
}

/** A view the caller may see (own or shared); anything else is not found. */
async function visibleView(db: Db, shopId: string, caller: string, id: string): Promise<ViewRow> {
  const [v] = await db
    .select()
    .from(claimViews)
    .where(
      and(
        eq(claimViews.shopId, shopId),
        eq(claimViews.id, id),
        or(eq(claimViews.owner, caller), eq(claimViews.shared, true)),
      ),
    );
  if (!v) throw new AppError('view_not_found', 'No such saved view.');
  return v;
}

const nameTaken = (name: string) =>
  new AppError('view_name_taken', `You already have a view named "${name}".`, [
    { path: '/name', message: 'already used by one of your views' },
  ]);

const isUniqueViolation = (err: unknown) =>
  ((err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code) === '23505';

/**
 * Creates a view within the owner's limit. The count and the insert run under a lock per (shop, owner), so two
 * creations at the same moment cannot both see room for one more.
 */
export async function createView(
  db: Db,
  shopId: string,
  caller: string,
  input: { name: string; query: ViewQueryT; shared?: boolean },
) {
  const name = input.name.trim();
  try {
    return await db.transaction(async (tx) => {
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtextextended(${`claim_views:${shopId}:${caller}`}, 0))`,
      );
      const [{ n }] = await tx
        .select({ n: count() })
        .from(claimViews)
        .where(and(eq(claimViews.shopId, shopId), eq(claimViews.owner, caller)));
      if (Number(n) >= MAX_VIEWS_PER_OWNER)
        throw new AppError(
          'too_many_views',
          `At most ${MAX_VIEWS_PER_OWNER} saved views each; delete one first.`,
        );
      const [row] = await tx
        .insert(claimViews)
        .values({
          id: newId('cvw'),
          shopId,
          owner: caller,
          name,
          query: input.query,
          shared: input.shared ?? false,
        })
        .returning();
      return viewOut(row, caller);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken(name);
    throw err;
  }
}

/** Only the owner changes a view; another caller's shared view answers 403, a private one 404. */
async function ownView(db: Db, shopId: string, caller: string, id: string) {
  const v = await visibleView(db, shopId, caller, id);
  if (v.owner !== caller) throw new AppError('forbidden', 'Only the owner of a saved view can change it.');
  return v;
}

export async function updateView(
  db: Db,
  shopId: string,
  caller: string,
  id: string,
  patch: { name?: string; query?: ViewQueryT; shared?: boolean },
) {
  await ownView(db, shopId, caller, id);
  const name = patch.name?.trim();
  try {
    const [row] = await db
      .update(claimViews)
      .set({
        ...(name !== undefined ? { name } : {}),
        ...(patch.query !== undefined ? { query: patch.query } : {}),
        ...(patch.shared !== undefined ? { shared: patch.shared } : {}),
        updatedAt: sql`now()`,
      })
      .where(and(eq(claimViews.shopId, shopId), eq(claimViews.id, id)))
      .returning();
    return viewOut(row, caller);
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken(name ?? '');
    throw err;
  }
}

export async function deleteView(db: Db, shopId: string, caller: string, id: string): Promise<void> {
  await ownView(db, shopId, caller, id);
  await db.delete(claimViews).where(and(eq(claimViews.shopId, shopId), eq(claimViews.id, id)));
}
