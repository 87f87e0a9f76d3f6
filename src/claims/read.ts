import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { apiKeys, claimEvidence, claimHistory, claimItems, claims, users } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import type { ClaimedUnits } from '../resolve/eligibility.js';
import { signedFileUrl } from '../resolve/files.js';
import { type ClaimFilters, orderBy, whereOf } from './filters.js';

export type ClaimRow = typeof claims.$inferSelect;

export interface ViewOptions {
  master: Buffer;
  publicUrl: string;
  shopSlug: string;
  /** Merchant views include internal fields (history, assignee, tags); customers see their claim only. */
  audience: 'merchant' | 'customer';
  withHistory?: boolean;
  /** Items and evidence already read with the claims (the list reads them in the same statement). */
  children?: ClaimChildren;
}

export interface ClaimChildren {
  items: (typeof claimItems.$inferSelect)[];
  evidence: (typeof claimEvidence.$inferSelect)[];
}

/** Claims with items, evidence (signed short-lived URLs) and, for merchants, history. */
export async function loadClaimViews(db: Db, shopId: string, rows: ClaimRow[], opts: ViewOptions) {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const [items, evidence, history] = await Promise.all([
    opts.children?.items ??
      db
        .select()
        .from(claimItems)
        .where(and(eq(claimItems.shopId, shopId), inArray(claimItems.claimId, ids)))
        .orderBy(asc(claimItems.id)),
    opts.children?.evidence ??
      db
        .select()
        .from(claimEvidence)
        .where(and(eq(claimEvidence.shopId, shopId), inArray(claimEvidence.claimId, ids)))
        .orderBy(asc(claimEvidence.id)),
    opts.withHistory
      ? // Who acted, by name: the team member's name or email, or the API key's name (a key of this shop).
        db
          .select({
            h: claimHistory,
            userName: sql<string | null>`coalesce(${users.name}, ${users.email})`,
            keyName: apiKeys.name,
          })
          .from(claimHistory)
          .leftJoin(users, and(eq(claimHistory.actorType, 'user'), eq(users.id, claimHistory.actorId)))
          .leftJoin(
            apiKeys,
            and(
              eq(claimHistory.actorType, 'api_key'),
              eq(apiKeys.id, claimHistory.actorId),
              sql`${shopId} = any(${apiKeys.shopIds})`,
            ),
          )
          .where(and(eq(claimHistory.shopId, shopId), inArray(claimHistory.claimId, ids)))
          .orderBy(asc(claimHistory.id))
      : Promise.resolve([]),
  ]);
  return rows.map((c) => {
    const base = {
      id: c.id,
      number: c.number,
      shop: opts.shopSlug,
      order_id: c.orderId,
      order_number: (c.context as { order_number?: string }).order_number ?? null,
      shipment_id: c.shipmentId,
      flow: c.flow,
      reason: c.reason,
      description: c.description,
      resolution_preference: c.resolutionPreference,
      status: c.status,
      items: items
        .filter((i) => i.claimId === c.id)
        .map((i) => ({
          line_item_id: i.lineItemId,
          shipment_id: i.shipmentId,
          sku: i.sku,
          title: i.title,
          variant_title: i.variantTitle,
          quantity: i.quantity,
          unit_net_price: i.unitNetPrice,
          image_url: i.imageUrl,
        })),
      evidence: evidence
        .filter((e) => e.claimId === c.id)
        .map((e) => ({
          id: e.uploadId,
          kind: e.kind,
          line_item_id: e.lineItemId,
          content_type: e.contentType,
          size: e.size,
          url: signedFileUrl(opts.master, opts.publicUrl, e.uploadId),
        })),
      answers: c.answers as { prompt_id: string; value: string | boolean }[],
      dropoff_permission: c.dropoffPermission,
      channel: c.channel,
      language: c.language,
      created_at: c.createdAt.toISOString(),
      updated_at: c.updatedAt.toISOString(),
    };
    if (opts.audience === 'customer') return base;
    return {
      ...base,
      context: c.context as Record<string, unknown>,
      tags: c.tags,
      assignee: c.assignee,
      version: c.version,
      ...(opts.withHistory
        ? {
            history: history
              .filter(({ h }) => h.claimId === c.id)
              .map(({ h, userName, keyName }) => ({
                id: h.id,
                actor: { type: h.actorType, id: h.actorId, name: userName ?? keyName ?? null },
                action: h.action,
                changes: h.changes as Record<string, unknown>,
                note: h.note,
                created_at: h.createdAt.toISOString(),
              })),
          }
        : {}),
    };
  });
}

export async function findClaimRow(db: Db, shopId: string, idOrNumber: string): Promise<ClaimRow> {
  // A number as people write it: r-1001, R1001, #R-1001 (as the list's search takes it).
  const n = /^#?r-?0*(\d{1,15})$/i.exec(idOrNumber.trim());
  const cond = idOrNumber.startsWith('clm_')
    ? eq(claims.id, idOrNumber)
    : eq(claims.number, n ? `R-${n[1]}` : idOrNumber);
  const [row] = await db
    .select()
    .from(claims)
    .where(and(eq(claims.shopId, shopId), cond))
    .limit(1);
  if (!row) throw new AppError('claim_not_found', 'No such claim.');
  return row;
}

/** Units already claimed on an order (rejected claims, closed or not, give their units back). */
export async function claimedUnits(db: Db, shopId: string, orderId: string): Promise<ClaimedUnits[]> {
  return db
    .select({
      line_item_id: claimItems.lineItemId,
      shipment_id: claimItems.shipmentId,
      quantity: claimItems.quantity,
    })
    .from(claimItems)
    .innerJoin(claims, eq(claims.id, claimItems.claimId))
    .where(
      and(
        eq(claims.shopId, shopId),
        eq(claimItems.shopId, shopId),
        eq(claims.orderId, orderId),
        sql`${claims.outcome} is distinct from 'rejected'`,
      ),
    );
}

export interface ClaimSearch extends ClaimFilters {
  offset?: number;
  limit: number;
}

/** A shop's claims for simple filters, newest first (e.g. the claims of one order, for its customer). */
export async function searchClaimRows(db: Db, shopId: string, q: ClaimSearch): Promise<ClaimRow[]> {
  return db
    .select()
    .from(claims)
    .where(whereOf(shopId, q))
    .orderBy(orderBy('-created_at'))
    .limit(q.limit)
    .offset(q.offset ?? 0);
}
