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

/** Checks an uploaded file by content, strips location metadata, stores it and records it (unattached). */
export async function createUpload(
  db: Db,
  storage: BlobStorage,
  session: ResolveSession,
  file: Buffer,
  maxBytes: number,
) {
  const cleaned = checkUploadFile(file, maxBytes);
  const id = newId('upl');
  const storageKey = `${session.shopId}/${id}`;
  await storage.put(storageKey, cleaned.data, cleaned.type);
  const row = {
    id,
    shopId: session.shopId,
    orderId: session.orderId,
    sessionId: session.id,
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

/** Removes uploads no claim took within 24 hours (files first, then rows). */
export async function removeStaleUploads(
  db: Db,
  storage: BlobStorage,
  olderThanHours = 24,
  batch = 500,
): Promise<number> {
  const stale = await db
    .select({ id: uploads.id, shopId: uploads.shopId, storageKey: uploads.storageKey })
    .from(uploads)
    .where(
      and(
        isNull(uploads.claimId),
        lt(uploads.createdAt, sql`now() - (${olderThanHours} * interval '1 hour')`),
      ),
    )
    .limit(batch);
  for (const u of stale) {
    await storage.delete(u.storageKey);
    await db
      .delete(uploads)
      .where(and(eq(uploads.shopId, u.shopId), eq(uploads.id, u.id), isNull(uploads.claimId)));
  }
  return stale.length;
}
