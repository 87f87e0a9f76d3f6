import { and, eq, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { emitEvent } from '../claims/events.js';
import type { PlatformCapability } from '../connectors/platform.js';
import type { Db } from '../db/client.js';
import { claimActions, claimHistory, claims, orders } from '../db/schema.js';
import { enqueue } from '../jobs/queue.js';
import { AppError, type FieldError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { claimUnits, holdsUnits, type Units } from './units.js';

export const ACTION_TYPES = ['refund', 'replacement'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];
const CAPABILITY: Record<ActionType, PlatformCapability> = { refund: 'refund', replacement: 'replacement' };

export type ActionRow = typeof claimActions.$inferSelect;
export interface ActionLineRow {
  line_item_id: string;
  external_line_id: string | null;
  quantity: number;
  unit_net_price: number;
}

export interface RequestActionInput {
  type: ActionType;
  lines?: { line_item_id: string; quantity: number }[];
  include_shipping?: boolean;
  note?: string | null;
}

/**
 * Records a resolution action and queues it (SPEC §6). The row — whose id is the idempotency key the
 * connector passes to the platform — exists before any platform call, in the same transaction as its job,
 * its history row and nothing else. Lines default to the claim's items; no unit is both refunded and replaced, and
 * no line is acted on for more units than were claimed, nor than the order line has left across all claims of
 * the order (see checkLines).
 */
export async function requestAction(
  tx: Db,
  input: RequestActionInput & {
    shopId: string;
    claimId: string;
    capabilities: PlatformCapability[] | null;
    actor: { type: string; id: string | null };
  },
): Promise<ActionRow> {
  const [claim] = await tx
    .select()
    .from(claims)
    .where(and(eq(claims.shopId, input.shopId), eq(claims.id, input.claimId)))
    .for('update');
  if (!claim) throw new AppError('claim_not_found', 'No such claim.');
  if (claim.status === 'rejected' || claim.outcome === 'rejected')
    throw new AppError(
      'action_not_allowed',
      'A rejected claim gets no refund or replacement; reopen it first.',
    );
  if (!input.capabilities)
    throw new AppError(
      'action_unsupported',
      'This shop has no platform connection: carry out the refund or replacement in the shop itself.',
    );
  if (!input.capabilities.includes(CAPABILITY[input.type]))
    throw new AppError(
      'action_unsupported',
      `The shop's platform cannot do a ${input.type} through Resolve.`,
    );

  // The order's row lock (after the claim's, as a reopening takes them): actions on any claim of the order, and
  // claims on it, wait here and then see each other's units.
  await tx.execute(
    sql`select id from orders where shop_id = ${input.shopId} and id = ${claim.orderId} for update`,
  );
  const u = await claimUnits(tx, input.shopId, claim);
  const wanted =
    input.lines ?? [...u.claimed].map(([line_item_id, quantity]) => ({ line_item_id, quantity }));
  const errors = checkLines(input, wanted, u);
  const { earlier } = u;
  if (errors.length) {
    // Units held by an action whose outcome is unknown: only retrying it (same key) or releasing it frees them.
    const held = earlier.find(
      (a) =>
        a.outcomeUnknown &&
        ((input.include_shipping && a.includeShipping) ||
          (a.lines as ActionLineRow[]).some((l) => wanted.some((w) => w.line_item_id === l.line_item_id))),
    );
    if (held)
      throw new AppError(
        'action_outcome_unknown',
        `The earlier ${held.type} ${held.id} of these items failed without a definite answer from the shop, which may have carried it out. Retry it (POST …/actions/${held.id}/retry: the shop recognises it and does not act twice) or, after checking the shop's admin, release it (POST …/actions/${held.id}/release).`,
        errors,
      );
    throw new AppError('action_lines_invalid', 'These lines cannot be acted on.', errors);
  }

  const price = new Map(u.items.map((i) => [i.lineItemId, i.unitNetPrice]));
  const rows: ActionLineRow[] = wanted.map((l) => ({
    line_item_id: l.line_item_id,
    external_line_id: u.lines.get(l.line_item_id)?.externalId ?? null,
    quantity: l.quantity,
    unit_net_price: price.get(l.line_item_id) ?? 0,
  }));
  const [order] = await tx
    .select({ currency: orders.currency })
    .from(orders)
    .where(and(eq(orders.shopId, input.shopId), eq(orders.id, claim.orderId)));
  const id = newId('act');
  const [row] = await tx
    .insert(claimActions)
    .values({
      id,
      shopId: input.shopId,
      claimId: claim.id,
      type: input.type,
      lines: rows,
      includeShipping: input.include_shipping ?? false,
      note: input.note ?? null,
      currency: order?.currency ?? null,
      createdBy: input.actor,
    })
    .returning();
  await tx.insert(claimHistory).values({
    id: newId('clh'),
    shopId: input.shopId,
    claimId: claim.id,
    actorType: input.actor.type,
    actorId: input.actor.id,
    action: `${input.type}_requested`,
    changes: {
      action_id: id,
      lines: rows.map((r) => ({ line_item_id: r.line_item_id, quantity: r.quantity })),
      ...(input.include_shipping ? { include_shipping: true } : {}),
    },
    note: input.note ?? null,
  });
  await touchClaim(tx, input.shopId, claim.id);
  await enqueue(
    tx,
    'claims.action',
    { actionId: id },
    { shopId: input.shopId, uniqueKey: `claims.action:${id}` },
  );
  return row;
}

/**
 * A refund or replacement requested or finished is a change of the claim: its `updated_at` moves, so a sync by
 * `sort=-updated_at` sees it. Its `version` does not: that guards the claim's own fields (status, tags, assignee),
 * and a refund finishing in the background must not make an agent's pending edit stale.
 */
export async function touchClaim(tx: Db, shopId: string, claimId: string) {
  await tx
    .update(claims)
    .set({ updatedAt: new Date() })
    .where(and(eq(claims.shopId, shopId), eq(claims.id, claimId)));
}

/**
 * No line more than once, none for more units than it has left (unitsLeft: claimed on this claim, and what the
 * order line has left across every claim of the order), shipping refunded at most once per order.
 */
function checkLines(
  input: RequestActionInput,
  wanted: { line_item_id: string; quantity: number }[],
  u: Units,
) {
  const seen = new Set<string>();
  const errors: FieldError[] = wanted.flatMap((l, i) => {
    const path = `/lines/${i}`;
    const left = u.left.get(l.line_item_id);
    if (!left) return [{ path: `${path}/line_item_id`, message: 'not an item of this claim' }];
    if (seen.has(l.line_item_id)) return [{ path: `${path}/line_item_id`, message: 'listed twice' }];
    seen.add(l.line_item_id);
    if (l.quantity > left.left) {
      // Say what holds the units: a refunded unit is not also replaced, nor vice versa.
      const held = [
        left.refunded ? `${left.refunded} already refunded` : '',
        left.replaced ? `${left.replaced} already replaced` : '',
      ].filter(Boolean);
      return [
        {
          path: `${path}/quantity`,
          message:
            `at most ${left.left} more unit(s) of this line for a ${input.type}` +
            (held.length ? ` (${held.join(', ')})` : ''),
        },
      ];
    }
    return [];
  });
  if (input.include_shipping && input.type !== 'refund')
    errors.push({ path: '/include_shipping', message: 'only a refund includes shipping' });
  else if (input.include_shipping && u.earlier.some((a) => a.type === 'refund' && a.includeShipping))
    errors.push({ path: '/include_shipping', message: "this order's shipping was already refunded" });
  if (!wanted.length && !input.include_shipping)
    errors.push({ path: '/lines', message: 'nothing to act on' });
  return errors;
}

/**
 * Records the platform's answer: the action's status, a history row and a `claims/action` event. A failure with
 * `uncertain` (no answer, 5xx, gave up: the platform may have acted) keeps its units reserved (`outcome_unknown`).
 */
export async function finishAction(
  tx: Db,
  action: ActionRow,
  outcome:
    | {
        status: 'succeeded';
        externalId: string;
        externalNumber?: string | null;
        amount?: number | null;
        currency?: string | null;
      }
    | { status: 'failed'; error: string; uncertain?: boolean },
) {
  const uncertain = outcome.status === 'failed' && !!outcome.uncertain;
  const [row] = await tx
    .update(claimActions)
    .set({
      status: outcome.status,
      externalId: outcome.status === 'succeeded' ? outcome.externalId : null,
      externalNumber: outcome.status === 'succeeded' ? (outcome.externalNumber ?? null) : null,
      amount: outcome.status === 'succeeded' ? (outcome.amount ?? null) : null,
      currency: (outcome.status === 'succeeded' ? outcome.currency : null) ?? action.currency,
      error: outcome.status === 'failed' ? outcome.error.slice(0, 2000) : null,
      outcomeUnknown: uncertain,
      attempts: sql`${claimActions.attempts} + 1`,
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(claimActions.id, action.id),
        eq(claimActions.shopId, action.shopId),
        eq(claimActions.status, 'pending'),
      ),
    )
    .returning();
  if (!row) return null; // finished by an earlier attempt
  await tx.insert(claimHistory).values({
    id: newId('clh'),
    shopId: action.shopId,
    claimId: action.claimId,
    actorType: 'system',
    actorId: null,
    action: `${action.type}_${outcome.status}`,
    changes: {
      action_id: action.id,
      external_id: row.externalId,
      amount: row.amount,
      currency: row.currency,
      ...(uncertain ? { outcome_unknown: true } : {}),
    },
    note: outcome.status === 'failed' ? outcome.error.slice(0, 500) : null,
  });
  await touchClaim(tx, action.shopId, action.claimId);
  await emitEvent(tx, action.shopId, 'claims/action', action.claimId, { action: actionView(row) });
  return row;
}

export function actionView(a: ActionRow) {
  return {
    id: a.id,
    claim_id: a.claimId,
    type: a.type as ActionType,
    status: a.status as 'pending' | 'succeeded' | 'failed',
    lines: (a.lines as ActionLineRow[]).map((l) => ({ line_item_id: l.line_item_id, quantity: l.quantity })),
    include_shipping: a.includeShipping,
    note: a.note,
    amount: a.amount,
    currency: a.currency,
    external_id: a.externalId,
    external_number: a.externalNumber,
    error: a.error,
    outcome_unknown: a.outcomeUnknown,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  };
}

/** A claim's actions; `claim_not_found` when the shop has no such claim (as for every other claim route). */
export async function listActions(db: Db, shopId: string, claimId: string) {
  const rows = await db
    .select({ claimId: claims.id, action: claimActions })
    .from(claims)
    .leftJoin(claimActions, and(eq(claimActions.shopId, claims.shopId), eq(claimActions.claimId, claims.id)))
    .where(and(eq(claims.shopId, shopId), eq(claims.id, claimId)))
    .orderBy(claimActions.id);
  if (!rows.length) throw new AppError('claim_not_found', 'No such claim.');
  return rows.flatMap((r) => (r.action ? [r.action] : []));
}

/**
 * The refund that took (or may have taken) the shipping cost of this claim's order, through this claim or another
 * one of the order: shipping is refunded at most once per order. Null when none did.
 */
export async function orderShippingRefund(db: Db, shopId: string, claimId: string) {
  const other = alias(claims, 'other');
  const [row] = await db
    .select({ action_id: claimActions.id, claim_id: other.id, claim_number: other.number })
    .from(claims)
    .innerJoin(other, and(eq(other.shopId, claims.shopId), eq(other.orderId, claims.orderId)))
    .innerJoin(claimActions, and(eq(claimActions.shopId, other.shopId), eq(claimActions.claimId, other.id)))
    .where(
      and(
        eq(claims.shopId, shopId),
        eq(claims.id, claimId),
        eq(claimActions.shopId, shopId),
        eq(claimActions.type, 'refund'),
        eq(claimActions.includeShipping, true),
        holdsUnits,
      ),
    )
    .orderBy(claimActions.id)
    .limit(1);
  return row ?? null;
}
