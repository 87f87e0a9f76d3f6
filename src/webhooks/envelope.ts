import { and, eq, inArray } from 'drizzle-orm';
import { loadClaimViews } from '../claims/read.js';
import type { Db } from '../db/client.js';
import { claims, type events, orders } from '../db/schema.js';
import { newId } from '../lib/ids.js';
import { loadOrderViews } from '../orders/read.js';
import { resolveSettingsOf } from '../resolve/settings.js';
import type { Shop } from '../shops/shops.js';

/**
 * The body of a webhook (SPEC §10): `{id, type, version, created_at, shop, data, context}`.
 *
 * The event row carries what happened (the claim's id and, for updates, what changed); the claim and its order
 * context are loaded when the event is fanned out — normally milliseconds after the change — and the result is
 * stored on each message, so every retry and replay sends the same bytes. `data.changes` is authoritative for
 * what this event changed; `data.claim` is the claim as it stood at fan-out.
 */

export type EventRow = typeof events.$inferSelect;

export interface Envelope {
  id: string;
  type: string;
  version: number;
  created_at: string;
  shop: string;
  data: Record<string, unknown>;
  context: { order: Record<string, unknown> | null; customer: unknown; shipments: unknown[] };
}

export interface EnvelopeOptions {
  master: Buffer;
  publicUrl: string;
}

/** Event fields the claim view already holds. */
const CLAIM_FIELDS = new Set(['claim_id', 'number', 'order_id', 'flow', 'status', 'version']);

const str = (v: unknown) => (typeof v === 'string' ? v : null);
const claimIdOf = (e: EventRow) => str((e.data as Record<string, unknown>)?.claim_id) ?? e.subjectId;

/** Envelopes for a batch of one shop's events, with the claims and orders they need loaded once for all. */
export async function buildEnvelopes(
  db: Db,
  shop: Shop,
  batch: EventRow[],
  opts: EnvelopeOptions,
): Promise<Map<string, Envelope>> {
  const claimEvents = batch.filter((e) => e.type.startsWith('claims/'));
  const claimIds = [...new Set(claimEvents.map(claimIdOf))];
  const claimRows = claimIds.length
    ? await db
        .select()
        .from(claims)
        .where(and(eq(claims.shopId, shop.id), inArray(claims.id, claimIds)))
    : [];
  const claimViews = await loadClaimViews(db, shop.id, claimRows, {
    ...opts,
    shopSlug: shop.slug,
    audience: 'merchant',
  });
  // File links expire within minutes, while a message may be retried for days: receivers fetch the claim
  // through the API for fresh ones.
  const claimById = new Map(
    claimViews.map((v) => [v.id, { ...v, evidence: v.evidence.map(({ url: _url, ...e }) => e) }]),
  );
  const orderIdOf = (e: EventRow): string | null =>
    e.type.startsWith('claims/')
      ? (claimRows.find((c) => c.id === claimIdOf(e))?.orderId ?? null)
      : (str((e.data as Record<string, unknown>)?.order_id) ?? e.subjectId);
  const orderIds = [...new Set(batch.map(orderIdOf).filter((id): id is string => !!id))];
  const orderRows = orderIds.length
    ? await db
        .select()
        .from(orders)
        .where(and(eq(orders.shopId, shop.id), inArray(orders.id, orderIds)))
    : [];
  const orderViews = await loadOrderViews(db, shop.id, orderRows, {
    stuckAfterDays: resolveSettingsOf(shop).stuck_after_days,
  });
  const orderById = new Map(orderViews.map((o) => [o.id, o]));

  const out = new Map<string, Envelope>();
  for (const e of batch) {
    const raw = (e.data ?? {}) as Record<string, unknown>;
    const data = e.type.startsWith('claims/')
      ? {
          claim: claimById.get(claimIdOf(e)) ?? null,
          ...Object.fromEntries(Object.entries(raw).filter(([k]) => !CLAIM_FIELDS.has(k))),
        }
      : raw;
    const orderId = orderIdOf(e);
    const view = orderId ? orderById.get(orderId) : undefined;
    let context: Envelope['context'] = { order: null, customer: null, shipments: [] };
    if (view) {
      const { customer, shipments, ...order } = view;
      context = { order, customer, shipments };
    }
    out.set(e.id, {
      id: e.id,
      type: e.type,
      version: e.version,
      created_at: e.createdAt.toISOString(),
      shop: shop.slug,
      data,
      context,
    });
  }
  return out;
}

/** The body of a test message (POST …/webhooks/{id}/test): a real envelope with no order behind it. */
export function testEnvelope(shop: Shop, endpointId: string, now = new Date()): Envelope {
  return {
    id: newId('evt'),
    type: 'webhooks/test',
    version: 1,
    created_at: now.toISOString(),
    shop: shop.slug,
    data: { endpoint_id: endpointId, message: 'A test event from Resolve. Answer 2xx to acknowledge it.' },
    context: { order: null, customer: null, shipments: [] },
  };
}
