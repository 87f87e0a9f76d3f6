import type { OrderInputT } from '../../orders/document.js';
import { PlatformError } from '../platform.js';
import type { VendureApi } from './client.js';
import { mapOrder } from './mappers.js';
import { ORDER, ORDERS } from './queries.js';
import { OneOrder, OrderList } from './schemas.js';

/** Vendure's default `adminListQueryLimit`. */
const MAX_TAKE = 1000;
export const DEFAULT_RECONCILE_DAYS = 30;

/** The cursor is the offset into a listing sorted by an immutable key (see listOrders). */
function decodeCursor(cursor: string | null): number {
  if (!cursor) return 0;
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { skip?: unknown };
    if (Number.isSafeInteger(c.skip) && (c.skip as number) >= 0) return c.skip as number;
  } catch {
    // fall through
  }
  throw new PlatformError('rejected', 'invalid cursor');
}
const encodeCursor = (skip: number) => Buffer.from(JSON.stringify({ skip })).toString('base64url');

/**
 * Which orders a listing reads. Backfill: placed after `createdSince`. Reconcile: Vendure does NOT touch an
 * order's `updatedAt` when a fulfilment is created, shipped or delivered, nor on state transitions or address
 * modifications (measured on 3.7.3; cancelling does touch it) — so `updatedAt > since` alone would never see a
 * delivery. Reconcile therefore reads orders written since `updatedSince` OR placed within `reconcileDays`
 * before it and not cancelled: the window in which fulfilments still move. Carts, checkouts and drafts have no
 * `orderPlacedAt` and are never listed.
 */
function listFilter(q: { createdSince?: Date; updatedSince?: Date }, reconcileDays: number) {
  const filter: Record<string, unknown> = { orderPlacedAt: { isNull: false } };
  const and: object[] = [];
  if (q.createdSince) and.push({ orderPlacedAt: { after: q.createdSince.toISOString() } });
  if (q.updatedSince) {
    const horizon = new Date(q.updatedSince.getTime() - reconcileDays * 86_400_000);
    and.push({
      _or: [
        { updatedAt: { after: q.updatedSince.toISOString() } },
        { _and: [{ orderPlacedAt: { after: horizon.toISOString() } }, { state: { notIn: ['Cancelled'] } }] },
      ],
    });
  }
  if (and.length) filter._and = and;
  return filter;
}

/**
 * One page. Offset paging is safe here because the sort key (createdAt, then id) never changes and the filter
 * is monotone: an order that enters the set while we page lands at its creation position and at worst makes a
 * later page repeat an order (the upsert is idempotent); nothing leaves the set, so nothing is skipped.
 */
export async function listOrders(
  api: VendureApi,
  q: { createdSince?: Date; updatedSince?: Date; cursor: string | null; pageSize: number },
  reconcileDays: number,
): Promise<{ orders: OrderInputT[]; nextCursor: string | null }> {
  const skip = decodeCursor(q.cursor);
  const take = Math.max(1, Math.min(MAX_TAKE, q.pageSize));
  const data = await api.request(
    ORDERS,
    { options: { filter: listFilter(q, reconcileDays), sort: { createdAt: 'ASC', id: 'ASC' }, skip, take } },
    OrderList,
    'an order listing',
  );
  const { items, totalItems } = data.orders;
  const next = skip + items.length;
  return {
    orders: items.map(mapOrder).filter((o): o is OrderInputT => o !== null),
    nextCursor: items.length > 0 && next < totalItems ? encodeCursor(next) : null,
  };
}

export async function getOrder(api: VendureApi, id: string): Promise<OrderInputT | null> {
  try {
    const data = await api.request(ORDER, { id }, OneOrder, `order ${id}`);
    return data.order ? mapOrder(data.order) : null;
  } catch (err) {
    if (err instanceof PlatformError && err.kind === 'not_found') return null;
    throw err;
  }
}
