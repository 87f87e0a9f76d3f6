import type { OrderInputT } from '../../orders/document.js';
import { PlatformError } from '../platform.js';
import type { ShopwareApi } from './client.js';
import { mapOrder } from './mappers.js';
import { OrderSearch, type SwOrder } from './schemas.js';

/**
 * Everything the mapper and the actions read. Since 6.6 Shopware loads no association unless asked, not
 * even the state of a delivery, so each one is named here.
 */
export const ORDER_ASSOCIATIONS = {
  currency: {},
  language: { associations: { locale: {} } },
  stateMachineState: {},
  orderCustomer: {},
  tags: {},
  billingAddress: { associations: { country: {}, countryState: {} } },
  addresses: {},
  lineItems: { associations: { cover: {} } },
  deliveries: {
    associations: {
      stateMachineState: {},
      shippingMethod: {},
      positions: {},
      shippingOrderAddress: { associations: { country: {}, countryState: {} } },
    },
  },
  transactions: {
    associations: {
      stateMachineState: {},
      paymentMethod: {},
      captures: {
        associations: {
          stateMachineState: {},
          refunds: { associations: { stateMachineState: {}, positions: {} } },
        },
      },
    },
  },
};

export const MAX_PAGE_SIZE = 250;
const HEX_ID = /^[0-9a-f]{32}$/;

/** Shopware's storage format for date-times (UTC, milliseconds), as DAL range filters compare them. */
export const storageTime = (d: Date | string) => new Date(d).toISOString().replace('T', ' ').slice(0, 23);

/**
 * Keyset cursor over (orderDateTime, id): `t` is the last page's newest orderDateTime, `n` how many orders with
 * exactly that time were already returned (DAL range filters pass ids to SQL unconverted, so a range on `id`
 * is unusable and ties are skipped by count); `x` marks every order at `t` as done. Paging by an immutable
 * key means an order that changes while we page is neither skipped nor repeated.
 */
interface Cursor {
  t: string;
  n: number;
  x?: 1;
}

function decodeCursor(cursor: string | null): Cursor | null {
  if (!cursor) return null;
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.t === 'string' && Number.isInteger(c.n) && c.n >= 0) return c;
  } catch {
    // fall through
  }
  throw new PlatformError('rejected', 'invalid cursor');
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

/** Shopware setups often cap `limit` at 500 (`shopware.api.max_limit`); a tie group past it pages by number. */
const MAX_LIMIT = 500;
const BY_TIME_AND_ID = [
  { field: 'orderDateTime', order: 'ASC' },
  { field: 'id', order: 'ASC' },
];

/**
 * Filters for a listing. `updatedSince` has to look past the order row: a delivery shipped or a payment
 * refunded changes only that child's `updatedAt`, and an order never written again keeps `updatedAt` null.
 */
function listFilters(q: { createdSince?: Date; updatedSince?: Date }) {
  const gte = (field: string, d: Date) => ({ type: 'range', field, parameters: { gte: storageTime(d) } });
  const filter: object[] = [];
  if (q.createdSince) filter.push(gte('orderDateTime', q.createdSince));
  if (q.updatedSince) {
    const since = q.updatedSince;
    const fields = [
      'createdAt',
      'updatedAt',
      'deliveries.updatedAt',
      'transactions.updatedAt',
      'addresses.updatedAt',
    ];
    filter.push({ type: 'multi', operator: 'or', queries: fields.map((f) => gte(f, since)) });
  }
  return filter;
}

function mapPage(page: SwOrder[], warn: (obj: object, msg: string) => void): OrderInputT[] {
  const orders: OrderInputT[] = [];
  for (const o of page) {
    const doc = mapOrder(o);
    if (doc) orders.push(doc);
    else warn({ orderId: o.id, orderNumber: o.orderNumber }, 'shopware order without product lines skipped');
  }
  return orders;
}

const search = (api: ShopwareApi, criteria: object) =>
  api.search('order', { ...criteria, associations: ORDER_ASSOCIATIONS }, OrderSearch, 'an order search');

export async function listOrders(
  api: ShopwareApi,
  q: { createdSince?: Date; updatedSince?: Date; cursor: string | null; pageSize: number },
  warn: (obj: object, msg: string) => void,
): Promise<{ orders: OrderInputT[]; nextCursor: string | null }> {
  const pageSize = Math.min(Math.max(Math.trunc(q.pageSize) || 1, 1), MAX_PAGE_SIZE);
  const after = decodeCursor(q.cursor);
  const filter = listFilters(q);
  const skip = after && !after.x ? after.n : 0;

  if (after && !after.x && skip + pageSize + 1 > MAX_LIMIT) {
    // Hundreds of orders share one timestamp (bulk imports): walk that group by page number, then move past it.
    const equal = { type: 'equals', field: 'orderDateTime', value: after.t };
    const res = await search(api, {
      filter: [...filter, equal],
      sort: BY_TIME_AND_ID,
      page: Math.floor(skip / pageSize) + 1,
      limit: pageSize,
    });
    const page = res.data.slice(skip % pageSize);
    const next: Cursor =
      res.data.length < pageSize ? { t: after.t, n: 0, x: 1 } : { t: after.t, n: skip + page.length };
    return { orders: mapPage(page, warn), nextCursor: encodeCursor(next) };
  }

  const from = after
    ? [{ type: 'range', field: 'orderDateTime', parameters: { [after.x ? 'gt' : 'gte']: after.t } }]
    : [];
  const res = await search(api, {
    filter: [...filter, ...from],
    sort: BY_TIME_AND_ID,
    page: 1,
    limit: skip + pageSize + 1, // one more than a page says whether another page follows
  });
  const rows = res.data.slice(skip);
  const page = rows.slice(0, pageSize);
  const orders = mapPage(page, warn);
  if (rows.length <= pageSize || !page.length) return { orders, nextCursor: null };
  const t = storageTime(page[page.length - 1].orderDateTime);
  let n = page.filter((o) => storageTime(o.orderDateTime) === t).length;
  if (after && !after.x && after.t === t) n += after.n; // the whole page shared the previous page's last time
  return { orders, nextCursor: encodeCursor({ t, n }) };
}

/** The raw order (all associations) or null; non-UUID ids cannot exist in Shopware. */
export async function findOrder(api: ShopwareApi, id: string): Promise<SwOrder | null> {
  if (!HEX_ID.test(id)) return null;
  const res = await api.search(
    'order',
    { ids: [id], associations: ORDER_ASSOCIATIONS, limit: 1 },
    OrderSearch,
    'an order lookup',
  );
  return res.data[0] ?? null;
}

export async function loadOrder(api: ShopwareApi, id: string): Promise<SwOrder> {
  const order = await findOrder(api, id);
  if (!order) throw new PlatformError('not_found', `Shopware has no order ${id}`);
  return order;
}

/**
 * An order Resolve cannot hold (no product lines, e.g. only a voucher) is answered like a missing one, with a
 * warning: `unsupported` would make sync stop the whole connection over one odd order.
 */
export async function getOrder(
  api: ShopwareApi,
  id: string,
  warn: (obj: object, msg: string) => void,
): Promise<OrderInputT | null> {
  const order = await findOrder(api, id);
  if (!order) return null;
  const doc = mapOrder(order);
  if (!doc)
    warn({ orderId: order.id, orderNumber: order.orderNumber }, 'shopware order without product lines');
  return doc;
}
