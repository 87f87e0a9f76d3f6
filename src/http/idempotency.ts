import { createHash } from 'node:crypto';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/client.js';
import { idempotencyKeys } from '../db/schema.js';
import { AppError } from '../lib/errors.js';

export type IdempotencyBegin = { kind: 'new' } | { kind: 'replay'; statusCode: number; body: string };

/** JSON with every object's keys in order: `{"a":1,"b":2}` and `{"b":2,"a":1}` are one body. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The path with its query parameters in order: `?a=1&b=2` and `?b=2&a=1` are one URL. */
function canonicalUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  params.sort();
  return `${url.slice(0, q)}?${params}`;
}

/**
 * What an Idempotency-Key is bound to: method, URL and body, compared as data, not as bytes, so a client that
 * serialises the same request with its fields or query parameters in another order is replayed, not refused.
 */
export function requestHash(method: string, url: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${canonicalUrl(url)}\n${canonicalJson(body)}`)
    .digest('base64url');
}

/**
 * Claims (scope, key). A finished request with the same hash is replayed; a different request under the
 * same key is a conflict; one still running is `idempotency_in_progress` (the client retries later).
 */
export async function beginIdempotent(
  db: Db,
  scope: string,
  key: string,
  hash: string,
): Promise<IdempotencyBegin> {
  if (key.length < 1 || key.length > 255) {
    throw new AppError('validation_failed', 'Idempotency-Key must be 1–255 characters.', [
      { path: 'header:idempotency-key', message: 'length 1–255' },
    ]);
  }
  const inserted = await db
    .insert(idempotencyKeys)
    .values({ scope, key, requestHash: hash })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (inserted.length) return { kind: 'new' };
  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
  if (!row) return beginIdempotent(db, scope, key, hash); // expired between the two statements
  if (row.requestHash !== hash) {
    throw new AppError('idempotency_conflict', 'This Idempotency-Key was used with a different request.');
  }
  if (row.statusCode === null || row.responseBody === null) {
    throw new AppError(
      'idempotency_in_progress',
      'A request with this Idempotency-Key is still being processed.',
      [],
      409,
      { 'retry-after': '1' },
    );
  }
  return { kind: 'replay', statusCode: row.statusCode, body: row.responseBody };
}

/** Answers a replayed request with the stored answer, as the first one was answered. */
export function sendReplay(reply: FastifyReply, began: { statusCode: number; body: string }) {
  return reply
    .code(began.statusCode)
    .header('content-type', 'application/json; charset=utf-8')
    .header('idempotent-replayed', 'true')
    .send(began.body);
}

export async function finishIdempotent(
  db: Db,
  scope: string,
  key: string,
  statusCode: number,
  body: string,
): Promise<void> {
  if (statusCode >= 500 || statusCode === 400) {
    // Server errors are not answers, and an invalid request (400, whichever check refused it) did nothing: free
    // the key, so a retry runs again and a corrected body may use the same key.
    await db
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
    return;
  }
  await db
    .update(idempotencyKeys)
    .set({ statusCode, responseBody: body })
    .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
}

/**
 * An answer that carries a secret shown once (an API key, a webhook signing secret): stored for Idempotency-Key
 * replays here, with `secret: null`, instead of by the app-wide hook, so the stored copy never holds the secret
 * and a replay does not show it again.
 */
export async function withSecretOnce<T extends object>(
  db: Db,
  req: FastifyRequest,
  status: number,
  body: T,
  secret: string,
): Promise<T & { secret: string }> {
  if (req.idempotency) {
    const { scope, key } = req.idempotency;
    req.idempotency = undefined;
    await finishIdempotent(db, scope, key, status, JSON.stringify({ ...body, secret: null }));
  }
  return { ...body, secret };
}

/** Keys are kept 24 hours. */
export async function pruneIdempotencyKeys(db: Db): Promise<void> {
  await db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, sql`now() - interval '24 hours'`));
}
