import { and, desc, eq, like } from 'drizzle-orm';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import { events } from '../db/schema.js';
import { ListMeta } from '../http/pagination.js';

/** How many of an order's events the activity shows (newest first); orders change a handful of times. */
export const ACTIVITY_LIMIT = 100;

export const OrderActivity = Type.Object({
  data: Type.Array(
    Type.Object({
      id: Type.String(),
      type: Type.String({ description: '`orders/cancelled` or `orders/address_changed`.' }),
      created_at: Type.String({ format: 'date-time' }),
      data: Type.Unknown({
        description:
          "The event's payload, as its webhook delivers it (`reason`, `initiated_by`, `from`/`to`, …).",
      }),
    }),
  ),
  ...ListMeta(ACTIVITY_LIMIT),
});

/**
 * What happened to an order in Resolve besides its claims: the customer's cancellation or address change
 * (token links), as the `orders/*` events written with the change. The merchant sees them in the portal, not
 * only by webhook. Up to `ACTIVITY_LIMIT + 1` rows: listAnswer() tells from the extra one that there are more.
 */
export async function orderActivity(db: Db, shopId: string, orderId: string) {
  const rows = await db
    .select({ id: events.id, type: events.type, createdAt: events.createdAt, data: events.data })
    .from(events)
    .where(and(eq(events.shopId, shopId), eq(events.subjectId, orderId), like(events.type, 'orders/%')))
    .orderBy(desc(events.id))
    .limit(ACTIVITY_LIMIT + 1);
  return rows.map((r) => ({ id: r.id, type: r.type, created_at: r.createdAt.toISOString(), data: r.data }));
}
