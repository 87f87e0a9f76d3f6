import { and, eq } from 'drizzle-orm';
import { type PlatformDeps, PlatformError, type PlatformErrorKind } from '../connectors/platform.js';
import { shopPlatform } from '../connectors/shop-client.js';
import type { Db } from '../db/client.js';
import { claimActions, claims, orders, shops } from '../db/schema.js';
import { type ClaimedJob, RetryLater } from '../jobs/queue.js';
import type { JobContext, JobHandler } from '../jobs/worker.js';
import { type ActionLineRow, type ActionRow, finishAction } from './actions.js';
import { abandonAction } from './settle.js';

/** The platform answered and refused (after looking up the key): nothing was done, the units are free again. */
const REFUSED: ReadonlySet<PlatformErrorKind> = new Set(['rejected', 'unsupported', 'not_found']);

type Fail = (error: string, uncertain?: boolean) => Promise<unknown>;

/**
 * Carries out one claim action on the shop's platform. The action's id is the idempotency key: the
 * connector finds a refund/replacement it already made with that key instead of making a second one, so
 * a crash between the platform's answer and our commit is safe to retry.
 *
 * Every path ends the action: `succeeded`, `failed` when the platform refused (or nothing was ever sent), or
 * `failed` with `outcome_unknown` when the platform may have acted without Resolve hearing back (no answer,
 * 5xx, still rate-limited or an unexpected error on the last attempt, the job given up) — those units stay
 * reserved until the merchant retries the same action or releases it.
 */
export function actionJobHandlers(
  master: () => Promise<Buffer>,
  platformDeps: (log: PlatformDeps['log']) => PlatformDeps,
): Record<string, JobHandler> {
  const run = async (job: ClaimedJob, { db, log }: JobContext) => {
    const { actionId } = job.payload as { actionId: string };
    const [action] = await db.select().from(claimActions).where(eq(claimActions.id, actionId));
    if (action?.status !== 'pending') return;
    // An earlier attempt (of this job, or before a retry) may have reached the platform: then only the
    // platform's own answer to this key is definite.
    const reached = job.attempts > 1 || action.attempts > 0;
    const fail: Fail = (error, uncertain = reached) =>
      db.transaction((tx) => finishAction(tx, action, { status: 'failed', error, uncertain }));
    try {
      await carryOut(db, action, reached, fail, () =>
        master().then((m) => ({ master: m, deps: platformDeps(log) })),
      );
    } catch (err) {
      const kind = err instanceof PlatformError ? err.kind : null;
      const message = `${kind ?? 'error'}: ${err instanceof Error ? err.message : String(err)}`;
      if (kind && REFUSED.has(kind)) return void (await fail(message, false));
      // Credentials refused: nothing was done now, but an earlier attempt may have been.
      if (kind === 'auth_failed') return void (await fail(message));
      // An outage, throttling or an unexpected error is retried (the key makes that safe) until the last
      // attempt, which ends the action instead of leaving it pending.
      if (job.attempts < job.max_attempts) {
        if (err instanceof PlatformError && err.kind === 'rate_limited')
          throw new RetryLater(err.retryAfterMs ?? 5000, err.message);
        throw err;
      }
      // Throttled every time and never sent before: the platform did nothing.
      await fail(
        `Gave up after ${job.attempts} attempt(s), the shop may have carried it out: ${message}`,
        reached || kind !== 'rate_limited',
      );
    }
  };
  // The queue parked the job without the handler finishing (lease expired on the last attempt, recording the
  // result failed): the action ends as a failure of unknown outcome.
  const giveUp = async (job: ClaimedJob, error: string, { db }: JobContext) => {
    await abandonAction(db, (job.payload as { actionId: string }).actionId, error.slice(0, 300));
  };
  return { 'claims.action': Object.assign(run, { giveUp }) };
}

async function carryOut(
  db: Db,
  action: ActionRow,
  reached: boolean,
  fail: Fail,
  connect: () => Promise<{ master: Buffer; deps: PlatformDeps }>,
): Promise<void> {
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
  if (!reached && (row.status === 'rejected' || row.outcome === 'rejected'))
    return void (await fail(
      `The claim was rejected after the ${action.type} was requested; nothing was sent to the shop.`,
    ));
  const { master, deps } = await connect();
  const platform = await shopPlatform(db, master, row.shop, deps);
  if (!platform) return void (await fail('The shop has no platform connection any more.'));
  const lines = (action.lines as ActionLineRow[]).map((l) => ({
    externalLineId: l.external_line_id ?? l.line_item_id,
    quantity: l.quantity,
  }));
  if (action.type === 'refund') {
    if (!platform.client.refund) return void (await fail('The platform cannot refund through Resolve.'));
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
}
