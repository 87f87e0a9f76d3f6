import { and, eq, sql } from 'drizzle-orm';
import { type Static, Type } from 'typebox';
import { type Db, query } from '../db/client.js';
import { claimHistory, claims } from '../db/schema.js';
import { Str, StrEnum } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { RESOLUTIONS } from '../resolve/settings.js';
import type { Actor } from './create-claim.js';
import { emitEvent } from './events.js';
import { CLAIM_STATUSES, type ClaimStatus, checkTransition } from './status.js';

export const ClaimPatch = Type.Object(
  {
    version: Type.Integer({
      minimum: 1,
      description: 'The `version` you read; a stale one answers 409 `stale_version`.',
    }),
    status: Type.Optional(StrEnum(CLAIM_STATUSES)),
    resolution_preference: Type.Optional(Type.Union([StrEnum(RESOLUTIONS), Type.Null()])),
    tags: Type.Optional(Type.Array(Str(100, { minLength: 1 }), { maxItems: 50 })),
    assignee: Type.Optional(Type.Union([Str(320, { minLength: 1 }), Type.Null()])),
    note: Type.Optional(
      Str(5000, { description: 'Why (kept in the claim history), e.g. the reason for a rejection.' }),
    ),
  },
  { additionalProperties: false },
);
export type ClaimPatchT = Static<typeof ClaimPatch>;

/**
 * The one way a claim changes (DESIGN convention 6): checks the status machine, bumps `version`
 * (optimistic concurrency), appends one history row and a `claims/updated` event, in one transaction.
 */
export async function transitionClaim(
  tx: Db,
  shopId: string,
  claimId: string,
  patch: ClaimPatchT,
  actor: Actor,
  isAdmin: boolean,
  now = new Date(),
) {
  const [c] = await tx
    .select()
    .from(claims)
    .where(and(eq(claims.shopId, shopId), eq(claims.id, claimId)))
    .for('update');
  if (!c) throw new AppError('claim_not_found', 'No such claim.');
  if (c.version !== patch.version)
    throw new AppError(
      'stale_version',
      `The claim changed since you read it (version ${c.version}, you sent ${patch.version}). Reload and retry.`,
    );

  const changes: Record<string, { from: unknown; to: unknown }> = {};
  const set: Partial<typeof claims.$inferInsert> = {};
  if (patch.status !== undefined && patch.status !== c.status) {
    checkTransition(c.status as ClaimStatus, patch.status, isAdmin);
    if (patch.status === 'pending' && c.outcome === 'rejected')
      await checkUnitsStillFree(tx, shopId, c.id, c.orderId);
    if (patch.status === 'accepted' || patch.status === 'rejected') set.outcome = patch.status;
    if (patch.status === 'pending') set.outcome = null;
    changes.status = { from: c.status, to: patch.status };
    set.status = patch.status;
  }
  if (patch.resolution_preference !== undefined && patch.resolution_preference !== c.resolutionPreference) {
    changes.resolution_preference = { from: c.resolutionPreference, to: patch.resolution_preference };
    set.resolutionPreference = patch.resolution_preference;
  }
  if (patch.tags !== undefined) {
    const tags = [...new Set(patch.tags.map((t) => t.trim()).filter(Boolean))];
    if (JSON.stringify(tags) !== JSON.stringify(c.tags)) {
      changes.tags = { from: c.tags, to: tags };
      set.tags = tags;
    }
  }
  if (patch.assignee !== undefined && patch.assignee !== c.assignee) {
    changes.assignee = { from: c.assignee, to: patch.assignee };
    set.assignee = patch.assignee;
  }
  const note = patch.note?.trim() || null;
  if (!Object.keys(changes).length && !note) return { changed: false, version: c.version };

  const version = c.version + 1;
  await tx
    .update(claims)
    .set({ ...set, version, updatedAt: now })
    .where(and(eq(claims.shopId, shopId), eq(claims.id, claimId)));
  const action = changes.status
    ? changes.status.to === 'pending'
      ? 'reopened'
      : String(changes.status.to)
    : Object.keys(changes).length
      ? 'updated'
      : 'noted';
  await tx.insert(claimHistory).values({
    id: newId('clh'),
    shopId,
    claimId,
    actorType: actor.type,
    actorId: actor.id,
    action,
    changes,
    note,
    createdAt: now,
  });
  await emitEvent(tx, shopId, 'claims/updated', claimId, {
    claim_id: claimId,
    number: c.number,
    changes,
    note,
    version,
  });
  return { changed: true, version };
}

/**
 * A rejected claim gave its units back; reopening (or closing a rejection is fine) must not claim units
 * that another claim has taken since. Runs under the order row lock, like claim creation.
 */
async function checkUnitsStillFree(tx: Db, shopId: string, claimId: string, orderId: string): Promise<void> {
  await tx.execute(sql`select id from orders where shop_id = ${shopId} and id = ${orderId} for update`);
  const over = await query<{ line_item_id: string }>(
    tx,
    sql`select ci.line_item_id
        from claim_items ci
        join shipment_line_items sli on sli.shipment_id = ci.shipment_id and sli.line_item_id = ci.line_item_id
        where ci.shop_id = ${shopId} and ci.claim_id = ${claimId}
          and ci.quantity > sli.quantity - coalesce((
            select sum(o.quantity) from claim_items o join claims oc on oc.id = o.claim_id
            where o.shop_id = ${shopId} and oc.order_id = ${orderId} and oc.id <> ${claimId} and oc.outcome is distinct from 'rejected'
              and o.shipment_id = ci.shipment_id and o.line_item_id = ci.line_item_id), 0)`,
  );
  if (over.length) {
    throw new AppError(
      'already_claimed',
      'Another claim has taken these units since this claim was rejected; it cannot be reopened.',
    );
  }
}
