import { and, eq, sql } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import { query } from '../db/client.js';
import { rateLimits } from '../db/schema.js';
import type { ReadyDeps } from '../http/context.js';
import { ListMeta, listAnswer } from '../http/pagination.js';
import { errorResponses, merchantSecurity } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { normalizeOrderNumber } from '../orders/document.js';
import { lockBucket } from './lookup.js';

/** Most lock-outs listed: guessing can lock many numbers that are no order; the newest matter. */
export const LOCKOUTS_LISTED = 500;

const Lockout = Type.Object({
  order_number: Type.String({
    description: 'The number as compared (normalised: lower case, no leading #).',
  }),
  order: Type.Union([Type.Object({ id: Type.String(), order_number: Type.String() }), Type.Null()], {
    description: 'The shop’s order with that number, or null when there is none (someone guessing numbers).',
  }),
  failures: Type.Integer({ description: 'Failed lookups counted for this number.' }),
  locked_until: Type.String({ format: 'date-time' }),
});

/**
 * The lock-outs a merchant can see and lift (SPEC §3): order numbers locked after repeated failed lookups (wrong
 * ZIP codes), kept in the database whether or not Redis counts the other limits.
 */
export function lockoutRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  const limits = deps.config.lookup;
  return async (plain) => {
    const app = plain as unknown as App;

    app.get(
      '/v1/shops/:slug/lookup-lockouts',
      {
        config: { auth: 'viewer' },
        schema: {
          tags: ['Settings'],
          security: merchantSecurity,
          summary: 'Order numbers locked after repeated failed lookups',
          description: `Newest lock first, at most ${LOCKOUTS_LISTED}. \`policy\` is this server's rule: after \`failures\` failed lookups of one order number, lookups of it answer 429 \`rate_limited\` for \`lock_seconds\` (LOOKUP_ORDER_FAILURES, LOOKUP_LOCK_SECONDS).`,
          params: Type.Object({ slug: Type.String() }),
          response: {
            200: Type.Object({
              data: Type.Array(Lockout),
              ...ListMeta(LOCKOUTS_LISTED),
              policy: Type.Object({ failures: Type.Integer(), lock_seconds: Type.Integer() }),
            }),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const prefix = lockBucket(req.shop.id, '');
        const rows = await query<{
          num: string;
          hits: number;
          until: Date | string;
          id: string | null;
          shown: string | null;
        }>(
          db,
          sql`select substr(l.bucket, ${prefix.length + 1}) as num, l.hits, l.locked_until as until,
                     o.id, o.order_number as shown
                from rate_limits l
                left join orders o on o.shop_id = l.shop_id and o.order_number_norm = substr(l.bucket, ${prefix.length + 1})
               where l.shop_id = ${req.shop.id} and starts_with(l.bucket, ${prefix}) and l.locked_until > now()
               order by l.locked_until desc
               limit ${LOCKOUTS_LISTED + 1}`,
        );
        return {
          ...listAnswer(
            rows.map((r) => ({
              order_number: r.num,
              order: r.id ? { id: r.id, order_number: r.shown! } : null,
              failures: Number(r.hits),
              locked_until: new Date(r.until).toISOString(),
            })),
            LOCKOUTS_LISTED,
          ),
          policy: { failures: limits.orderFailures, lock_seconds: limits.lockSeconds },
        };
      },
    );

    app.delete(
      '/v1/shops/:slug/lookup-lockouts/:order_number',
      {
        config: { auth: 'editor' },
        schema: {
          tags: ['Settings'],
          security: merchantSecurity,
          summary: 'Lift a lookup lock-out',
          description:
            'The number as the customer typed it or as listed (`#1001` = `1001`). Its failure count starts again from zero.',
          params: Type.Object({ slug: Type.String(), order_number: Type.String({ maxLength: 100 }) }),
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (req, reply) => {
        const { order_number } = req.params as { order_number: string };
        const n = normalizeOrderNumber(order_number);
        if (!n) throw new AppError('validation_failed', 'Invalid order number.');
        await db
          .delete(rateLimits)
          .where(and(eq(rateLimits.shopId, req.shop.id), eq(rateLimits.bucket, lockBucket(req.shop.id, n))));
        return reply.code(204).send(null);
      },
    );
  };
}
