import { isIP } from 'node:net';
import { and, eq, sql } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import { type Static, Type } from 'typebox';
import type { App } from '../app.js';
import { query } from '../db/client.js';
import { rateLimits } from '../db/schema.js';
import type { ReadyDeps } from '../http/context.js';
import { ListMeta, listAnswer } from '../http/pagination.js';
import { errorResponses, merchantSecurity, StrEnum } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { normalizeOrderNumber } from '../orders/document.js';
import { ipLockBucket, lockBucket } from './lookup.js';

/** Most lock-outs listed: guessing can lock many numbers that are no order; the newest matter. */
export const LOCKOUTS_LISTED = 500;

const Lockout = Type.Object({
  kind: StrEnum(['order_number', 'client_ip'] as const, {
    description:
      '`order_number`: one order number failed too often (wrong ZIP codes, or a number that is no order). `client_ip`: one client IP failed too often in this shop across order numbers; usually a shared network (an office, a mobile carrier) or someone guessing.',
  }),
  order_number: Type.Union([Type.String(), Type.Null()], {
    description:
      'The locked number as compared (normalised: lower case, no leading #); null for `client_ip`.',
  }),
  client_ip: Type.Union([Type.String(), Type.Null()], {
    description:
      'The locked client IP address as the server saw it (IPv4 or IPv6); null for `order_number`. Lift it with DELETE …/lookup-lockouts/ip/{ip}.',
  }),
  order: Type.Union([Type.Object({ id: Type.String(), order_number: Type.String() }), Type.Null()], {
    description:
      'The shop’s order with that number, or null when there is none (someone guessing numbers); always null for `client_ip`.',
  }),
  failures: Type.Integer({ description: 'Failed lookups counted for this number or from this IP.' }),
  locked_until: Type.String({ format: 'date-time' }),
});

type LockoutItem = Static<typeof Lockout>;

/**
 * The lock-outs a merchant can see and lift (SPEC §3): order numbers locked after repeated failed lookups (wrong
 * ZIP codes), and client IPs locked after repeated failed lookups in this shop (across order numbers). Both are
 * kept in the database whether or not Redis counts the other limits.
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
          summary: 'Order numbers and client IPs locked after repeated failed lookups',
          description: `Both kinds in one list, newest lock first, at most ${LOCKOUTS_LISTED}. \`policy\` is this server's rule: after \`failures\` failed lookups of one order number (\`kind: order_number\`), or \`ip_failures\` failed lookups from one client IP in this shop (\`kind: client_ip\`, whatever the numbers), lookups of that number, or from that IP in this shop, answer 429 \`rate_limited\` for \`lock_seconds\` (LOOKUP_ORDER_FAILURES, LOOKUP_IP_FAILURES, LOOKUP_LOCK_SECONDS). An IP lock-out holds in this shop only; the attempt limit per client IP (LOOKUP_IP_MAX per LOOKUP_IP_WINDOW_SECONDS) counts across all shops and is no lock-out.`,
          params: Type.Object({ slug: Type.String() }),
          response: {
            200: Type.Object({
              data: Type.Array(Lockout),
              ...ListMeta(LOCKOUTS_LISTED),
              policy: Type.Object({
                failures: Type.Integer({
                  description: 'Failed lookups of one order number that lock it.',
                }),
                ip_failures: Type.Integer({
                  description: 'Failed lookups from one client IP in this shop that lock it (in this shop).',
                }),
                lock_seconds: Type.Integer(),
              }),
            }),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const byNumber = lockBucket(req.shop.id, '');
        const byIp = ipLockBucket(req.shop.id, '');
        const rows = await query<{
          bucket: string;
          hits: number;
          until: Date | string;
          id: string | null;
          shown: string | null;
        }>(
          db,
          sql`select l.bucket, l.hits, l.locked_until as until, o.id, o.order_number as shown
                from rate_limits l
                left join orders o on starts_with(l.bucket, ${byNumber}) and o.shop_id = l.shop_id
                                  and o.order_number_norm = substr(l.bucket, ${byNumber.length + 1})
               where l.shop_id = ${req.shop.id} and l.locked_until > now()
                 and (starts_with(l.bucket, ${byNumber}) or starts_with(l.bucket, ${byIp}))
               order by l.locked_until desc, l.bucket
               limit ${LOCKOUTS_LISTED + 1}`,
        );
        const item = (r: (typeof rows)[number]): LockoutItem => {
          const common = { failures: Number(r.hits), locked_until: new Date(r.until).toISOString() };
          return r.bucket.startsWith(byIp)
            ? {
                kind: 'client_ip',
                order_number: null,
                client_ip: r.bucket.slice(byIp.length),
                order: null,
                ...common,
              }
            : {
                kind: 'order_number',
                order_number: r.bucket.slice(byNumber.length),
                client_ip: null,
                order: r.id ? { id: r.id, order_number: r.shown! } : null,
                ...common,
              };
        };
        return {
          ...listAnswer(rows.map(item), LOCKOUTS_LISTED),
          policy: {
            failures: limits.orderFailures,
            ip_failures: limits.ipFailures,
            lock_seconds: limits.lockSeconds,
          },
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
          summary: 'Lift an order number lock-out',
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

    app.delete(
      '/v1/shops/:slug/lookup-lockouts/ip/:ip',
      {
        config: { auth: 'editor' },
        schema: {
          tags: ['Settings'],
          security: merchantSecurity,
          summary: 'Lift a client IP lock-out',
          description:
            'The address as listed in `client_ip` (IPv6 as is or URL-encoded: `2001:db8::1` = `2001%3Adb8%3A%3A1`). Lifts this shop’s lock of that IP only; its failure count in this shop starts again from zero. Not an IPv4 or IPv6 address: 400 `validation_failed`.',
          params: Type.Object({
            slug: Type.String(),
            ip: Type.String({ maxLength: 64, description: 'An IPv4 or IPv6 address.' }),
          }),
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (req, reply) => {
        const { ip } = req.params as { ip: string };
        if (!isIP(ip))
          throw new AppError('validation_failed', 'Invalid IP address.', [
            { path: 'params:/ip', message: 'is not an IPv4 or IPv6 address' },
          ]);
        await db
          .delete(rateLimits)
          .where(
            and(eq(rateLimits.shopId, req.shop.id), eq(rateLimits.bucket, ipLockBucket(req.shop.id, ip))),
          );
        return reply.code(204).send(null);
      },
    );
  };
}
