import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { shopNotices } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { ROLES, type Role, roleRank } from '../shops/api-keys.js';

/**
 * Per-shop notices: what the portal shows its people until someone dismisses it (the first: a webhook endpoint
 * was disabled). Email will go out from the same rows once email exists.
 */

export type NoticeRow = typeof shopNotices.$inferSelect;

export interface NoticeInput {
  kind: string;
  audience: Role;
  title: string;
  message: string;
  data: Record<string, unknown>;
}

export async function createNotice(tx: Db, shopId: string, input: NoticeInput, now = new Date()) {
  await tx.insert(shopNotices).values({ id: newId('ntc'), shopId, ...input, createdAt: now });
}

/** Notices the role may see (audience at or below it), newest first; dismissed ones only when asked. */
export async function listNotices(
  db: Db,
  shopId: string,
  role: Role,
  opts: { includeDismissed: boolean; after?: string; limit: number },
) {
  const audiences = ROLES.filter((r) => roleRank(r) <= roleRank(role));
  return db
    .select()
    .from(shopNotices)
    .where(
      and(
        eq(shopNotices.shopId, shopId),
        inArray(shopNotices.audience, audiences),
        opts.includeDismissed ? undefined : isNull(shopNotices.dismissedAt),
        opts.after ? sql`${shopNotices.id} < ${opts.after}` : undefined,
      ),
    )
    .orderBy(desc(shopNotices.id))
    .limit(opts.limit);
}

export async function dismissNotice(db: Db, shopId: string, id: string, role: Role, now = new Date()) {
  const audiences = ROLES.filter((r) => roleRank(r) <= roleRank(role));
  const [row] = await db
    .update(shopNotices)
    .set({ dismissedAt: sql`coalesce(${shopNotices.dismissedAt}, ${now.toISOString()}::timestamptz)` })
    .where(
      and(eq(shopNotices.shopId, shopId), eq(shopNotices.id, id), inArray(shopNotices.audience, audiences)),
    )
    .returning();
  if (!row) throw new AppError('notice_not_found', 'No such notice.');
  return row;
}

export function noticeView(row: NoticeRow) {
  return {
    id: row.id,
    kind: row.kind,
    audience: row.audience as Role,
    title: row.title,
    message: row.message,
    data: row.data as Record<string, unknown>,
    created_at: row.createdAt.toISOString(),
    dismissed_at: row.dismissedAt ? row.dismissedAt.toISOString() : null,
  };
}
