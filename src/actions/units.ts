import { and, eq, inArray, ne, or } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { claimActions, claimItems, claims, lineItems } from '../db/schema.js';
import type { ActionLineRow } from './actions.js';

/** An action that did or may have happened: not failed, or failed without a definite answer from the shop. */
export const holdsUnits = or(ne(claimActions.status, 'failed'), eq(claimActions.outcomeUnknown, true));

/**
 * Earlier refunds and replacements on every claim of the order that did not fail definitively: a refusal by the
 * platform acted on nothing, a failure of unknown outcome may have (its units stay reserved until retried or
 * released).
 */
export async function earlierActions(tx: Db, shopId: string, orderId: string) {
  return tx
    .select({
      id: claimActions.id,
      type: claimActions.type,
      outcomeUnknown: claimActions.outcomeUnknown,
      claimId: claimActions.claimId,
      lines: claimActions.lines,
      includeShipping: claimActions.includeShipping,
    })
    .from(claimActions)
    .innerJoin(claims, and(eq(claims.shopId, claimActions.shopId), eq(claims.id, claimActions.claimId)))
    .where(
      and(
        eq(claimActions.shopId, shopId),
        eq(claims.orderId, orderId),
        inArray(claimActions.type, ['refund', 'replacement']),
        holdsUnits,
      ),
    );
}

export interface LineUnits {
  /** Units of the line on this claim. */
  claimed: number;
  /** Units a refund or a replacement may still take: a unit is refunded or replaced, never both, at most once. */
  left: number;
  /** Refunded on the order, across every claim (or as the platform reports, when that is more). */
  refunded: number;
  /** Replaced on the order, across every claim. */
  replaced: number;
}

export type Units = Awaited<ReturnType<typeof claimUnits>>;

/**
 * What each line of a claim has left for a refund or a replacement: no more than the claim has left after its
 * own refunds and replacements together, nor than the order line has left across every claim of the order (a unit
 * claimed twice — by a support request and a defective claim, or again after a rejection — is still covered once),
 * refunds counting what the platform reports refunded too (that figure includes Resolve's own refunds once synced,
 * hence the larger of the two). The same figures check a request (requestAction) and fill the portal's form.
 */
export async function claimUnits(tx: Db, shopId: string, claim: { id: string; orderId: string }) {
  const items = await tx
    .select()
    .from(claimItems)
    .where(and(eq(claimItems.shopId, shopId), eq(claimItems.claimId, claim.id)));
  const claimed = new Map<string, number>();
  for (const it of items) claimed.set(it.lineItemId, (claimed.get(it.lineItemId) ?? 0) + it.quantity);
  const ids = [...claimed.keys()];
  const lines = ids.length
    ? await tx
        .select({
          id: lineItems.id,
          externalId: lineItems.externalId,
          quantity: lineItems.quantity,
          refunded: lineItems.quantityRefunded,
        })
        .from(lineItems)
        .where(
          and(eq(lineItems.shopId, shopId), eq(lineItems.orderId, claim.orderId), inArray(lineItems.id, ids)),
        )
    : [];
  const earlier = await earlierActions(tx, shopId, claim.orderId);
  const byClaim = new Map<string, { refund: number; replacement: number }>();
  const byOrder = new Map<string, { refund: number; replacement: number }>();
  const add = (m: typeof byClaim, id: string, type: string, n: number) => {
    const cur = m.get(id) ?? { refund: 0, replacement: 0 };
    if (type === 'refund' || type === 'replacement') cur[type] += n;
    m.set(id, cur);
  };
  for (const a of earlier)
    for (const l of a.lines as ActionLineRow[]) {
      add(byOrder, l.line_item_id, a.type, l.quantity);
      if (a.claimId === claim.id) add(byClaim, l.line_item_id, a.type, l.quantity);
    }
  const left = new Map<string, LineUnits>();
  for (const l of lines) {
    const onClaim = byClaim.get(l.id) ?? { refund: 0, replacement: 0 };
    const onOrder = byOrder.get(l.id) ?? { refund: 0, replacement: 0 };
    const refunded = Math.max(onOrder.refund, l.refunded);
    const n = claimed.get(l.id)!;
    left.set(l.id, {
      claimed: n,
      left: Math.max(
        0,
        Math.min(n - onClaim.refund - onClaim.replacement, l.quantity - refunded - onOrder.replacement),
      ),
      refunded,
      replaced: onOrder.replacement,
    });
  }
  return { items, claimed, lines: new Map(lines.map((l) => [l.id, l])), earlier, left };
}
