import { and, eq } from 'drizzle-orm';
import { type PlatformDeps, PlatformError } from '../connectors/platform.js';
import { shopPlatform } from '../connectors/shop-client.js';
import { claimActions, claims, orders, shops } from '../db/schema.js';
import { RetryLater } from '../jobs/queue.js';
import type { JobHandler } from '../jobs/worker.js';
import { type ActionLineRow, finishAction } from './actions.js';

/**
 * Carries out one claim action on the shop's platform. The action's id is the idempotency key: the
 * connector finds a refund/replacement it already made with that key instead of making a second one, so
 * a crash between the platform's answer and our commit is safe to retry.
 */
export function actionJobHandlers(
  master: () => Promise<Buffer>,
  platformDeps: (log: PlatformDeps['log']) => PlatformDeps,
): Record<string, JobHandler> {
  return {
    'claims.action': async (job, { db, log }) => {
      const { actionId } = job.payload as { actionId: string };
      const [action] = await db.select().from(claimActions).where(eq(claimActions.id, actionId));
      if (action?.status !== 'pending') return;
      const fail = (error: string) =>
        db.transaction((tx) => finishAction(tx, action, { status: 'failed', error }));
      const [row] = await db
        .select({
          shop: shops,
          orderExternalId: orders.externalId,
          status: claims.status,
          outcome: claims.outcome,
        })
        .from(claims)
        .innerJoin(shops, eq(shops.id, claims.shopId))
        .innerJoin(orders, eq(orders.id, claims.orderId))
        .where(and(eq(claims.id, action.claimId), eq(claims.shopId, action.shopId)));
      if (!row?.orderExternalId) return void (await fail('The order has no id in the shop platform.'));
      // Rejected since the request: nothing is sent. A retry goes on, as its first attempt may have reached the
      // platform and only the same key tells (stopping then could leave a refund made but never recorded).
      if (job.attempts <= 1 && (row.status === 'rejected' || row.outcome === 'rejected'))
        return void (await fail(
          `The claim was rejected after the ${action.type} was requested; nothing was sent to the shop.`,
        ));
      const platform = await shopPlatform(db, await master(), row.shop, platformDeps(log));
      if (!platform) return void (await fail('The shop has no platform connection any more.'));
      const lines = (action.lines as ActionLineRow[]).map((l) => ({
        externalLineId: l.external_line_id ?? l.line_item_id,
        quantity: l.quantity,
      }));
      try {
        if (action.type === 'refund') {
          if (!platform.client.refund)
            return void (await fail('The platform cannot refund through Resolve.'));
          const r = await platform.client.refund({
            orderExternalId: row.orderExternalId,
            lines,
            includeShipping: action.includeShipping,
            reason: action.note ?? `Resolve claim ${action.claimId}`,
            idempotencyKey: action.id,
          });
          await db.transaction((tx) =>
            finishAction(tx, action, {
              status: 'succeeded',
              externalId: r.externalId,
              amount: r.amount,
              currency: r.currency,
            }),
          );
        } else {
          if (!platform.client.createReplacement)
            return void (await fail('The platform cannot create replacements.'));
          const r = await platform.client.createReplacement({
            orderExternalId: row.orderExternalId,
            lines,
            note: action.note ?? `Replacement for Resolve claim ${action.claimId}`,
            idempotencyKey: action.id,
          });
          await db.transaction((tx) =>
            finishAction(tx, action, {
              status: 'succeeded',
              externalId: r.externalId,
              externalNumber: r.orderNumber,
            }),
          );
        }
      } catch (err) {
        if (!(err instanceof PlatformError)) throw err;
        if (err.kind === 'rate_limited') throw new RetryLater(err.retryAfterMs ?? 5000, err.message);
        // An outage is retried (the idempotency key makes that safe) until the job's last attempt.
        if (err.kind === 'unavailable' && job.attempts < job.max_attempts) throw err;
        await fail(`${err.kind}: ${err.message}`);
      }
    },
  };
}
