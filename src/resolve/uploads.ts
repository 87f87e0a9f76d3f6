import { createHash } from 'node:crypto';
import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { uploads } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { BlobStorage } from '../storage/port.js';
import { ImageRejected, inspectAndClean } from './image.js';
import type { ResolveSession } from './sessions.js';

/** "Photos may be at most 10 MB." — with a decimal for limits under a whole MB step (100000 → 0.1 MB). */
export function tooLargeMessage(maxBytes: number): string {
  const mb = maxBytes / 1024 / 1024;
  return `Photos may be at most ${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB.`;
}

/** Checks an uploaded file by content and size; returns it as it would be stored (location metadata removed). */
export function checkUploadFile(file: Buffer, maxBytes: number): ReturnType<typeof inspectAndClean> {
  if (file.length === 0)
    throw new AppError('validation_failed', 'The file is empty.', [{ path: '/file', message: 'empty' }]);
  if (file.length > maxBytes) throw new AppError('payload_too_large', tooLargeMessage(maxBytes));
  try {
    return inspectAndClean(file);
  } catch (err) {
    if (err instanceof ImageRejected) throw new AppError(err.key, err.message);
    throw err;
  }
}

/**
 * Who uploads for which order: a customer's session (its claims may use only its own uploads), or the merchant
 * (`id: null`: a claim recorded by phone or email, POST /v1/shops/{slug}/claims, may use it).
 */
export type UploadOwner = Pick<ResolveSession, 'shopId' | 'orderId'> & { id: string | null };

/** Checks an uploaded file by content, strips location metadata, stores it and records it (unattached). */
export async function createUpload(
  db: Db,
  storage: BlobStorage,
  owner: UploadOwner,
  file: Buffer,
  maxBytes: number,
) {
  const cleaned = checkUploadFile(file, maxBytes);
  const id = newId('upl');
  const storageKey = `${owner.shopId}/${id}`;
  await storage.put(storageKey, cleaned.data, cleaned.type);
  const row = {
    id,
    shopId: owner.shopId,
    orderId: owner.orderId,
    sessionId: owner.id,
    storageKey,
    contentType: cleaned.type,
    size: cleaned.data.length,
    sha256: createHash('sha256').update(cleaned.data).digest('hex'),
  };
  try {
    await db.insert(uploads).values(row);
  } catch (err) {
    await storage.delete(storageKey).catch(() => {});
    throw err;
  }
  return { id, content_type: row.contentType, size: row.size };
}

export async function findUpload(db: Db, uploadId: string) {
  // The signed URL is the capability; the id alone reveals nothing without it.
  const [row] = await db.select().from(uploads).where(eq(uploads.id, uploadId));
  return row ?? null;
}

/**
 * Removes uploads no claim took within 24 hours. Row and file go together, one upload per transaction: the row
 * is deleted first and the file while that deletion is uncommitted, so a claim attaching the upload at the same
 * moment either locked the row first (the deletion then waits and skips it: it is no longer unattached) or waits
 * for the deletion and finds the row gone (the claim's write then stores nothing, see WRITE_CLAIM). A file that
 * cannot be deleted rolls its row back, to be tried again on the next run. A claim never points at a removed file.
 */
export async function removeStaleUploads(
  db: Db,
  storage: BlobStorage,
  olderThanHours = 24,
  batch = 500,
): Promise<number> {
  const stale = await db
    .select({ id: uploads.id, shopId: uploads.shopId })
    .from(uploads)
    .where(
      and(
        isNull(uploads.claimId),
        lt(uploads.createdAt, sql`now() - (${olderThanHours} * interval '1 hour')`),
      ),
    )
    .limit(batch);
  let removed = 0;
  for (const u of stale) {
    removed += await db.transaction(async (tx) => {
      const [row] = await tx
        .delete(uploads)
        .where(and(eq(uploads.shopId, u.shopId), eq(uploads.id, u.id), isNull(uploads.claimId)))
        .returning({ storageKey: uploads.storageKey });
      if (row) await storage.delete(row.storageKey);
      return row ? 1 : 0;
    });
  }
  return removed;
}
