import { type MutableRefObject, useCallback } from 'react';
import { type Api, ApiError } from './api';
import { type Draft, type EvidenceKind, newKey, type Photo, type PhotoError } from './draft';
import type { MessageKey } from './i18n/en';

/** What the customer is told about a refused upload, and whether sending the same file again could help. */
export function uploadError(err: unknown, maxBytes: number): Pick<Photo, 'error' | 'retryable'> {
  const says = (key: MessageKey, retryable: boolean, more: Omit<PhotoError, 'key'> = {}) => ({
    error: { key, ...more },
    retryable,
  });
  if (err instanceof ApiError) {
    if (err.key === 'unsupported_file_type' || err.key === 'unsupported_media_type')
      return says('evidence.rejected_type', false);
    // A damaged file or one carrying more than an image (src/resolve/image.ts): sending it again cannot help.
    if (err.key === 'invalid_evidence') return says('evidence.rejected_content', false);
    if (err.key === 'payload_too_large') return says('evidence.rejected_size', false, { maxBytes });
    if (err.key === 'offline') return says('page.offline', true);
    // 60 photos an hour per session (src/resolve/routes.ts).
    if (err.key === 'rate_limited') return says('evidence.throttled', true, { wait: err.retryAfter ?? 60 });
    // An empty file (or a body the server could not read as one photo).
    if (err.key === 'validation_failed') return says('evidence.empty', false);
    if (err.key === 'service_unavailable' || err.key === 'not_ready') return says('error.unavailable', true);
    if (err.key === 'shop_not_found') return says('page.shop_not_found', false);
  }
  // invalid_request (a body cut off on the way), internal_error, the session's end (handled by `fail`): retry.
  return says('evidence.failed', true);
}

/**
 * The report's photos: added ones upload at once (with progress), refusals say why, and a photo can be sent
 * again or removed. Changes go to the draft ref at once too: submit reads the draft between renders.
 */
export function usePhotos(o: {
  api: Api;
  /** The server's upload limit in bytes (checked here first, so a too-large file is not sent at all). */
  maxBytes: number | undefined;
  draftRef: MutableRefObject<Draft>;
  setDraft: (f: (d: Draft) => Draft) => void;
  /** Handles an error that ends the session or says the page is offline. */
  fail: (err: unknown) => boolean;
}) {
  const { api, maxBytes, draftRef, setDraft, fail } = o;
  const limit = maxBytes ?? 10 * 1024 * 1024;

  const patch = useCallback(
    (key: string, change: Partial<Photo>) => {
      const apply = (d: Draft) => ({
        ...d,
        photos: d.photos.map((p) => (p.key === key ? { ...p, ...change } : p)),
      });
      draftRef.current = apply(draftRef.current);
      setDraft(apply);
    },
    [draftRef, setDraft],
  );

  /** Sends one photo; its upload id, or undefined when it was refused (the tile says why). */
  const upload = useCallback(
    async (key: string, file: Blob, name: string): Promise<string | undefined> => {
      patch(key, { status: 'uploading', progress: 0, error: undefined });
      if (maxBytes && file.size > maxBytes)
        return void patch(key, {
          status: 'error',
          error: { key: 'evidence.rejected_size', maxBytes },
          retryable: false,
        });
      try {
        const up = await api.upload(file, name, (f) => patch(key, { progress: f }));
        patch(key, { status: 'done', progress: 1, uploadId: up.id, session: api.session ?? undefined });
        return up.id;
      } catch (err) {
        fail(err);
        patch(key, { status: 'error', ...uploadError(err, limit) });
      }
    },
    [api, fail, limit, maxBytes, patch],
  );

  const add = (kind: EvidenceKind, lineItemId: string | null, file: Blob, name: string) => {
    const key = newKey();
    const photo: Photo = {
      key,
      kind,
      lineItemId,
      file,
      name,
      preview: URL.createObjectURL(file),
      progress: 0,
      status: 'uploading',
    };
    setDraft((d) => ({ ...d, photos: [...d.photos, photo] }));
    void upload(key, file, name);
  };
  const remove = (key: string) =>
    setDraft((d) => {
      const p = d.photos.find((x) => x.key === key);
      if (p) URL.revokeObjectURL(p.preview);
      return { ...d, photos: d.photos.filter((x) => x.key !== key) };
    });
  const retry = (key: string) => {
    const p = draftRef.current.photos.find((x) => x.key === key);
    if (p) void upload(key, p.file, p.name);
  };
  return { upload, add, remove, retry };
}
