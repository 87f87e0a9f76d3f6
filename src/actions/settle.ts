import { and, eq, sql } from 'drizzle-orm';
import { emitEvent } from '../claims/events.js';
import type { Db } from '../db/client.js';
import { claimActions, claimHistory, claims } from '../db/schema.js';
import { enqueue } from '../jobs/queue.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { type ActionRow, actionView, finishAction, touchClaim } from './actions.js';

/**
 * The two ways out of a failure whose outcome is unknown (the platform may have refunded or created the
 * replacement without Resolve hearing back): retry the SAME action — same id, so the same idempotency key, which
 * the connector looks up before acting again — or, after the merchant checked the shop's admin, release its
 * units with a note. Both lock the claim and then the order, as requestAction does.
 */
async function uncertainAction(
  tx: Db,
  shopId: string,
  claimId: string,
  actionId: string,
  what: 'retried' | 'released',
): Promise<ActionRow> {
  const [claim] = await tx
    .select({ id: claims.id, orderId: claims.orderId })
    .from(claims)
    .where(and(eq(claims.shopId, shopId), eq(claims.id, claimId)))
    .for('update');
  if (!claim) throw new AppError('claim_not_found', 'No such claim.');
  await tx.execute(sql`select id from orders where shop_id = ${shopId} and id = ${claim.orderId} for update`);
  const [action] = await tx
    .select()
    .from(claimActions)
    .where(
      and(eq(claimActions.shopId, shopId), eq(claimActions.claimId, claimId), eq(claimActions.id, actionId)),
    )
    .for('update');
  if (!action) throw new AppError('action_not_found', 'This claim has no such action.');
  if (action.status !== 'failed' || !action.outcomeUnknown)
    throw new AppError(
      'action_not_uncertain',
      action.status === 'failed'
        ? `Only an action whose outcome is unknown can be ${what}; the shop refused this one, so it did nothing: request a new one.`
        : `Only an action whose outcome is unknown can be ${what}; this one is ${action.status}.`,
    );
  return action;
}

async function history(
  tx: Db,
  action: ActionRow,
  verb: 'retried' | 'released',
  actor: { type: string; id: string | null },
  note: string | null,
) {
  await tx.insert(claimHistory).values({
    id: newId('clh'),
    shopId: action.shopId,
    claimId: action.claimId,
    actorType: actor.type,
    actorId: actor.id,
    action: `${action.type}_${verb}`,
    changes: { action_id: action.id },
    note,
  });
  await touchClaim(tx, action.shopId, action.claimId);
}

/** Queues the same action again (status `pending`); its result arrives as a normal finish does. */
export async function retryAction(
  tx: Db,
  input: { shopId: string; claimId: string; actionId: string; actor: { type: string; id: string | null } },
): Promise<ActionRow> {
  const action = await uncertainAction(tx, input.shopId, input.claimId, input.actionId, 'retried');
  const [row] = await tx
    .update(claimActions)
    .set({ status: 'pending', outcomeUnknown: false, error: null, updatedAt: new Date() })
    .where(and(eq(claimActions.shopId, input.shopId), eq(claimActions.id, action.id)))
    .returning();
  await history(tx, action, 'retried', input.actor, null);
  await enqueue(
    tx,
    'claims.action',
    { actionId: action.id },
    { shopId: input.shopId, uniqueKey: `claims.action:${action.id}` },
  );
  return row;
}

/** What a released action's `error` says: not carried out, by the merchant's word after checking the shop. */
export const releasedError = (note: string) =>
  `Released: not carried out, as checked in the shop's admin (${note.trim()}).`.slice(0, 2000);

/**
 * The merchant checked the shop: the action was not carried out. It stays `failed`, its units are free again,
 * its `error` says it was released (the failure's own error stays in its history row), a history row keeps who
 * said so and why, and a `claims/action` event tells integrations.
 */
export async function releaseAction(
  tx: Db,
  input: {
    shopId: string;
    claimId: string;
    actionId: string;
    note: string;
    actor: { type: string; id: string | null };
  },
): Promise<ActionRow> {
  if (!input.note.trim())
    throw new AppError('validation_failed', 'Say what was checked.', [
      { path: '/note', message: 'must not be blank' },
    ]);
  const action = await uncertainAction(tx, input.shopId, input.claimId, input.actionId, 'released');
  // The old error (kept in the failure's history row) said the outcome was unknown; it is known now.
  const [row] = await tx
    .update(claimActions)
    .set({ outcomeUnknown: false, error: releasedError(input.note), updatedAt: new Date() })
    .where(and(eq(claimActions.shopId, input.shopId), eq(claimActions.id, action.id)))
    .returning();
  await history(tx, action, 'released', input.actor, input.note);
  await emitEvent(tx, action.shopId, 'claims/action', action.claimId, { action: actionView(row) });
  return row;
}

/**
 * A `claims.action` job the queue gave up on without its handler finishing the action (the lease expired on the
 * last attempt, or recording the result failed): the action ends as a failure of unknown outcome, never
 * `pending` for ever. No-op when the action already finished.
 */
export async function abandonAction(db: Db, actionId: string, reason: string) {
  const [action] = await db.select().from(claimActions).where(eq(claimActions.id, actionId));
  if (action?.status !== 'pending') return null;
  return db.transaction((tx) =>
    finishAction(tx, action, {
      status: 'failed',
      uncertain: true,
      error: `Resolve stopped trying without an answer from the shop (${reason}). The shop may have carried it out: check its admin, then retry or release the action.`,
    }),
  );
}

const orphanedCondition = (idleMinutes: number) => sql`${claimActions.status} = 'pending'
    and ${claimActions.updatedAt} < now() - (${idleMinutes} * interval '1 minute')
    and not exists (select 1 from jobs j where j.unique_key = 'claims.action:' || ${claimActions.id})`;

/** The maintenance scan: pending actions idle that long with no job. Served by claim_actions_pending_idx. */
export const orphanedActions = (db: Db, idleMinutes = 15, limit = 200) =>
  db.select({ id: claimActions.id }).from(claimActions).where(orphanedCondition(idleMinutes)).limit(limit);

/**
 * Safety net, run by maintenance: a pending action with no live job (its give-up could not be recorded, e.g. the
 * database was down just then) ends as a failure of unknown outcome. Each is re-checked under its row lock — the
 * lock retryAction takes — so an action retried meanwhile is left alone. Returns how many were ended.
 */
export async function settleOrphanedActions(db: Db, idleMinutes = 15, limit = 200): Promise<number> {
  const orphaned = orphanedCondition(idleMinutes);
  const rows = await orphanedActions(db, idleMinutes, limit);
  let n = 0;
  for (const { id } of rows) {
    const done = await db.transaction(async (tx) => {
      const [action] = await tx
        .select()
        .from(claimActions)
        .where(and(eq(claimActions.id, id), orphaned))
        .for('update');
      if (!action) return null;
      return finishAction(tx, action, {
        status: 'failed',
        uncertain: true,
        error:
          'Resolve lost track of this action without an answer from the shop. The shop may have carried it out: check its admin, then retry or release the action.',
      });
    });
    if (done) n++;
  }
  return n;
}
