import { Compile } from 'typebox/compile';
import { normalizeOrder, OrderInput, type OrderInputT } from '../../orders/document.js';
import { type PlatformDeps, PlatformError } from '../platform.js';
import type { ShopifyGraphql } from './client.js';
import { mapOrder } from './mappers.js';
import { FULFILLMENT_LINES_PAGE, GET_ORDER, LIST_ORDERS, ORDER_COST, ORDER_LINES_PAGE } from './queries.js';
import { FulfillmentLinesPage, OneOrder, OrderLinesPage, type OrderNodeT, OrdersPage } from './schemas.js';

const documentCheck = Compile(OrderInput);
/** The mapped document must be one the order upsert accepts (schema and cross-references). */
function checked(doc: OrderInputT): OrderInputT {
  if (!documentCheck.Check(doc))
    throw new Error(`invalid order document: ${JSON.stringify(documentCheck.Errors(doc).slice(0, 3))}`);
  normalizeOrder(doc);
  return doc;
}

/** Shopify's cap on `first`. */
const MAX_PAGE = 250;

/** `orders` search syntax; timestamps quoted as the docs show (`created_at:>'2020-10-21T23:39:20Z'`). */
export function orderSearch(q: { createdSince?: Date; updatedSince?: Date }): string | null {
  const terms: string[] = [];
  if (q.createdSince) terms.push(`created_at:>='${q.createdSince.toISOString()}'`);
  if (q.updatedSince) terms.push(`updated_at:>='${q.updatedSince.toISOString()}'`);
  return terms.length ? terms.join(' ') : null;
}

export class OrderSync {
  /** Requested cost per order node, learned from Shopify's answers (its real cost model is often cheaper). */
  private perOrder = ORDER_COST;

  constructor(
    private readonly gql: ShopifyGraphql,
    private readonly deps: PlatformDeps,
  ) {}

  /** The largest page whose requested cost stays under Shopify's single-query limit. */
  pageSize(wanted: number): number {
    const fit = Math.floor((this.gql.maxQueryCost - 2) / Math.max(1, this.perOrder));
    return Math.max(1, Math.min(wanted, MAX_PAGE, fit));
  }

  async listOrders(q: {
    createdSince?: Date;
    updatedSince?: Date;
    cursor: string | null;
    pageSize: number;
  }): Promise<{ orders: OrderInputT[]; nextCursor: string | null }> {
    const first = this.pageSize(q.pageSize);
    const variables = {
      first,
      after: q.cursor,
      query: orderSearch(q),
      sortKey: q.updatedSince ? 'UPDATED_AT' : 'CREATED_AT',
    };
    const data = await this.gql.request(LIST_ORDERS, variables, OrdersPage, `${LIST_ORDERS.name}:${first}`);
    const learned = this.gql.expectedCost(LIST_ORDERS, variables, `${LIST_ORDERS.name}:${first}`);
    this.perOrder = Math.max(1, Math.ceil((learned - 2) / first));
    const orders: OrderInputT[] = [];
    for (const node of data.orders.nodes) {
      const doc = await this.complete(node)
        .then((o) => checked(mapOrder(o)))
        .catch((e: unknown) => {
          if (e instanceof PlatformError) throw e;
          // One malformed order must not stop a backfill; it is logged and picked up by reconcile/getOrder.
          this.deps.log.warn({ order: node.id, err: String(e) }, 'shopify: order skipped, cannot map');
          return null;
        });
      if (doc) orders.push(doc);
    }
    const { hasNextPage, endCursor } = data.orders.pageInfo;
    return { orders, nextCursor: hasNextPage && endCursor ? endCursor : null };
  }

  async getOrder(externalId: string): Promise<OrderInputT | null> {
    if (!/^gid:\/\/shopify\/Order\/\d+$/.test(externalId)) return null;
    const data = await this.gql.request(GET_ORDER, { id: externalId }, OneOrder);
    if (!data.order) return null;
    try {
      return checked(mapOrder(await this.complete(data.order)));
    } catch (e) {
      if (e instanceof PlatformError) throw e;
      throw new PlatformError('rejected', `Shopify order ${externalId} cannot be mapped: ${String(e)}`);
    }
  }

  /** Pages the nested connections the order query truncates (more than 10 lines, or fulfilment lines). */
  private async complete(order: OrderNodeT): Promise<OrderNodeT> {
    let lines = order.lineItems;
    while (lines.pageInfo.hasNextPage) {
      const page = await this.gql.request(
        ORDER_LINES_PAGE,
        { id: order.id, after: lines.pageInfo.endCursor },
        OrderLinesPage,
      );
      if (!page.order) break;
      lines = {
        pageInfo: page.order.lineItems.pageInfo,
        nodes: [...lines.nodes, ...page.order.lineItems.nodes],
      };
    }
    const fulfillments = [];
    for (const f of order.fulfillments) {
      let fl = f.fulfillmentLineItems;
      while (fl.pageInfo.hasNextPage) {
        const page = await this.gql.request(
          FULFILLMENT_LINES_PAGE,
          { id: f.id, after: fl.pageInfo.endCursor },
          FulfillmentLinesPage,
        );
        if (!page.fulfillment) break;
        const more = page.fulfillment.fulfillmentLineItems;
        fl = { pageInfo: more.pageInfo, nodes: [...fl.nodes, ...more.nodes] };
      }
      fulfillments.push(fl === f.fulfillmentLineItems ? f : { ...f, fulfillmentLineItems: fl });
    }
    return { ...order, lineItems: lines, fulfillments };
  }
}
