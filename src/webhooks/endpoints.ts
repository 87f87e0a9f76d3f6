import net from 'node:net';
import { and, count, desc, eq, sql } from 'drizzle-orm';
import { EVENT_TYPES } from '../claims/events.js';
import type { Db } from '../db/client.js';
import { webhookEndpoints } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { deriveKey, openSecret, sealSecret } from '../lib/secret.js';
import type { EgressPolicy } from './egress-policy.js';
import { newWebhookSecret } from './signing.js';

export type EndpointRow = typeof webhookEndpoints.$inferSelect;

export const MAX_ENDPOINTS_PER_SHOP = 50;
export const MAX_URL_LENGTH = 2048;
/** `*`, every source (`claims`, `orders`) and every exact type. */
export const EVENT_FILTERS = [
  '*',
  ...new Set(EVENT_TYPES.map((t) => t.split('/')[0])),
  ...EVENT_TYPES,
] as readonly string[];

/** Does an endpoint's filter take this event type? */
export function matchesFilter(filter: readonly string[], type: string): boolean {
  return filter.some((f) => f === '*' || f === type || (!f.includes('/') && type.startsWith(`${f}/`)));
}

const secretKey = (master: Buffer) => deriveKey(master, 'webhook-endpoint-secret');

/** The secrets to sign with now: the current one, plus the previous one while its overlap lasts. */
export function activeSecrets(row: EndpointRow, master: Buffer, now: Date): string[] {
  const key = secretKey(master);
  const out = [openSecret(key, row.secretSealed, row.id)];
  if (row.previousSecretSealed && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now)
    out.push(openSecret(key, row.previousSecretSealed, `${row.id}:previous`));
  return out;
}

const badUrl = (message: string) =>
  new AppError('invalid_webhook_url', `Invalid webhook URL: ${message}.`, [{ path: '/url', message }]);

/**
 * Checks an endpoint URL when it is set: https, no credentials, no fragment, bounded length, and not an address
 * (or `localhost`) the egress policy refuses. Hostnames are resolved only when delivering (transport.ts), where
 * the check that matters happens on every connection.
 */
export function checkWebhookUrl(raw: string, policy: EgressPolicy): string {
  if (raw.length > MAX_URL_LENGTH) throw badUrl(`at most ${MAX_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badUrl('not an absolute URL');
  }
  if (u.protocol !== 'https:') throw badUrl('must start with https:// (webhooks are sent over TLS only)');
  if (u.username || u.password)
    throw badUrl('must not contain credentials; verify the webhook-signature header instead');
  if (u.hash) throw badUrl('must not contain a #fragment');
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!host) throw badUrl('has no host');
  if (!policy.hostAllowed(host)) {
    if (net.isIP(host)) {
      const why = policy.refuseAddress(host);
      if (why) throw badUrl(`${why} is not a public address`);
    } else if (host === 'localhost' || host.endsWith('.localhost') || !host.includes('.')) {
      throw badUrl(`${host} is not a public hostname`);
    }
  }
  return u.toString();
}

export function checkEventFilter(types: string[]): string[] {
  const bad = types.findIndex((t) => !EVENT_FILTERS.includes(t));
  if (bad >= 0)
    throw new AppError('validation_failed', 'The request is invalid.', [
      { path: `/event_types/${bad}`, message: `must be one of ${EVENT_FILTERS.join(', ')}` },
    ]);
  return [...new Set(types)];
}

/** With `lock`, the row stays locked (`for update`) until the caller's transaction ends. */
export async function findEndpoint(db: Db, shopId: string, id: string, lock = false): Promise<EndpointRow> {
  const q = db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.shopId, shopId), eq(webhookEndpoints.id, id)))
    .limit(1);
  const [row] = lock ? await q.for('update') : await q;
  if (!row) throw new AppError('webhook_endpoint_not_found', 'No such webhook endpoint.');
  return row;
}

export async function listEndpoints(db: Db, shopId: string, after: string | undefined, limit: number) {
  return db
    .select()
    .from(webhookEndpoints)
    .where(
      and(eq(webhookEndpoints.shopId, shopId), after ? sql`${webhookEndpoints.id} < ${after}` : undefined),
    )
    .orderBy(desc(webhookEndpoints.id))
    .limit(limit);
}

export interface EndpointInput {
  url: string;
  description?: string | null;
  event_types?: string[];
}

/** Creates an endpoint; its secret is returned here and on rotation only (stored sealed). */
export async function createEndpoint(
  tx: Db,
  shopId: string,
  master: Buffer,
  policy: EgressPolicy,
  input: EndpointInput,
): Promise<{ row: EndpointRow; secret: string }> {
  const url = checkWebhookUrl(input.url, policy);
  const eventTypes = checkEventFilter(input.event_types ?? ['*']);
  // The shop row lock serialises creations, so the limit holds under concurrency.
  await tx.execute(sql`select id from shops where id = ${shopId} for update`);
  const [{ n }] = await tx
    .select({ n: count() })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.shopId, shopId));
  if (Number(n) >= MAX_ENDPOINTS_PER_SHOP)
    throw new AppError(
      'webhook_endpoint_limit',
      `A shop can have at most ${MAX_ENDPOINTS_PER_SHOP} webhook endpoints; delete one first.`,
    );
  const id = newId('whe');
  const secret = newWebhookSecret();
  const [row] = await tx
    .insert(webhookEndpoints)
    .values({
      id,
      shopId,
      url,
      description: input.description?.trim() || null,
      eventTypes,
      secretSealed: sealSecret(secretKey(master), secret, id),
    })
    .returning();
  return { row, secret };
}

export interface EndpointPatch {
  url?: string;
  description?: string | null;
  event_types?: string[];
  status?: 'enabled' | 'disabled';
}

export async function updateEndpoint(
  tx: Db,
  shopId: string,
  id: string,
  policy: EgressPolicy,
  patch: EndpointPatch,
  now = new Date(),
): Promise<EndpointRow> {
  const current = await findEndpoint(tx, shopId, id);
  const set: Partial<typeof webhookEndpoints.$inferInsert> = { updatedAt: now };
  if (patch.url !== undefined) set.url = checkWebhookUrl(patch.url, policy);
  if (patch.description !== undefined) set.description = patch.description?.trim() || null;
  if (patch.event_types !== undefined) set.eventTypes = checkEventFilter(patch.event_types);
  if (patch.status === 'enabled' && current.status !== 'enabled')
    Object.assign(set, { status: 'enabled', disabledReason: null, disabledAt: null, failingSince: null });
  if (patch.status === 'disabled' && current.status !== 'disabled')
    Object.assign(set, { status: 'disabled', disabledReason: 'manual', disabledAt: now });
  const [row] = await tx
    .update(webhookEndpoints)
    .set(set)
    .where(and(eq(webhookEndpoints.shopId, shopId), eq(webhookEndpoints.id, id)))
    .returning();
  return row;
}

/** Deletes the endpoint with its messages and attempts; its queued deliveries find nothing and stop. */
export async function deleteEndpoint(tx: Db, shopId: string, id: string): Promise<void> {
  const rows = await tx
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.shopId, shopId), eq(webhookEndpoints.id, id)))
    .returning({ id: webhookEndpoints.id });
  if (!rows.length) throw new AppError('webhook_endpoint_not_found', 'No such webhook endpoint.');
}

/**
 * A new current secret; the old one keeps signing too (a second signature) for `overlapSeconds`, so receivers
 * can switch without losing a message. A rotation during an overlap drops the oldest secret at once.
 */
export async function rotateSecret(
  tx: Db,
  shopId: string,
  id: string,
  master: Buffer,
  overlapSeconds: number,
  now = new Date(),
): Promise<{ row: EndpointRow; secret: string }> {
  // Locked: a rotation at the same moment that read the same current secret would keep it as `previous` and
  // drop this one's new secret, which would then never sign anything.
  const current = await findEndpoint(tx, shopId, id, true);
  const key = secretKey(master);
  const secret = newWebhookSecret();
  const previous = openSecret(key, current.secretSealed, id);
  const [row] = await tx
    .update(webhookEndpoints)
    .set({
      secretSealed: sealSecret(key, secret, id),
      previousSecretSealed: overlapSeconds > 0 ? sealSecret(key, previous, `${id}:previous`) : null,
      previousSecretExpiresAt: overlapSeconds > 0 ? new Date(now.getTime() + overlapSeconds * 1000) : null,
      secretRotatedAt: now,
      updatedAt: now,
    })
    .where(and(eq(webhookEndpoints.shopId, shopId), eq(webhookEndpoints.id, id)))
    .returning();
  return { row, secret };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The API view of an endpoint; never the secret. */
export function endpointView(row: EndpointRow, now = new Date()) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    event_types: row.eventTypes,
    status: row.status as 'enabled' | 'disabled',
    disabled_reason: row.disabledReason as 'manual' | 'gone' | 'failing' | null,
    disabled_at: iso(row.disabledAt),
    failing_since: iso(row.failingSince),
    last_success_at: iso(row.lastSuccessAt),
    secret_rotated_at: iso(row.secretRotatedAt),
    previous_secret_expires_at:
      row.previousSecretExpiresAt && row.previousSecretExpiresAt > now
        ? iso(row.previousSecretExpiresAt)
        : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
