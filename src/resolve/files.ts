import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveKey } from '../lib/secret.js';

export const FILE_URL_TTL_SECONDS = 15 * 60;

function sig(master: Buffer, uploadId: string, exp: number): string {
  return createHmac('sha256', deriveKey(master, 'file-url')).update(`${uploadId}.${exp}`).digest('base64url');
}

/** A short-lived capability URL for one evidence file; files are never served without one. */
export function signedFileUrl(master: Buffer, publicUrl: string, uploadId: string, now = Date.now()): string {
  const exp = Math.floor(now / 1000) + FILE_URL_TTL_SECONDS;
  return `${publicUrl}/v1/files/${uploadId}?exp=${exp}&sig=${sig(master, uploadId, exp)}`;
}

export function verifyFileSignature(
  master: Buffer,
  uploadId: string,
  exp: number,
  given: string,
  now = Date.now(),
): boolean {
  if (!Number.isInteger(exp) || exp * 1000 < now) return false;
  const expected = Buffer.from(sig(master, uploadId, exp));
  const got = Buffer.from(given);
  return got.length === expected.length && timingSafeEqual(got, expected);
}
