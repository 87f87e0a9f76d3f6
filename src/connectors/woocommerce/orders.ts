import type { OrderInputT } from '../../orders/document.js';
import { type PlatformDeps, PlatformError } from '../platform.js';
import type { WooClient } from './client.js';
import { mapOrder } from './mappers.js';
import { parse, type WooOrderT, type WooRefundT } from './schemas.js';

/**
 * Reading orders. The order resource lists its refunds only as `{id, reason, total}`; the refunded quantities
 * per line come from the refund objects. Those are read in one call per page through `GET /refunds?include=`
 * (WooCommerce 9.0+), falling back to `GET /orders/{id}/refunds` per order on older stores.
 */

const PER_PAGE_MAX = 100;
/** Woo date filters are exclusive ("after"), at second resolution, and naive GMT with dates_are_gmt. */
const wooDate = (d: Date) => new Date(d.getTime() - 1000).toISOString().slice(0, 19);

export class WooOrders {
  private batchRefunds = true;

  constructor(
    private readonly client: WooClient,
    private readonly deps: PlatformDeps,
  ) {}

  async list(q: { createdSince?: Date; updatedSince?: Date; cursor: string | null; pageSize: number }) {
    const page = q.cursor === null ? 1 : Number(q.cursor);
    if (!Number.isSafeInteger(page) || page < 1)
      throw new PlatformError('rejected', `bad cursor "${q.cursor}"`);
    const perPage = Math.min(PER_PAGE_MAX, Math.max(1, Math.floor(q.pageSize) || PER_PAGE_MAX));
    const dated = q.createdSince || q.updatedSince;
    const { data, headers } = await this.client.get(
      '/orders',
      {
        page,
        per_page: perPage,
        // Oldest first, so a crash resumes where it stopped and new orders append at the end.
        orderby: q.updatedSince ? 'modified' : 'date',
        order: 'asc',
        after: q.createdSince ? wooDate(q.createdSince) : undefined,
        modified_after: q.updatedSince ? wooDate(q.updatedSince) : undefined,
        dates_are_gmt: dated ? 'true' : undefined,
      },
      parse.list,
      'order list',
    );
    const readable: WooOrderT[] = [];
    for (const item of data) {
      try {
        readable.push(parse.order(item, 'order'));
      } catch (err) {
        this.skip(item.id, err);
      }
    }
    const refunds = await this.refundsFor(readable);
    const orders: OrderInputT[] = [];
    for (const o of readable) {
      const doc = this.map(o, refunds.get(o.id) ?? []);
      if (doc) orders.push(doc);
    }
    const totalPages = Number(headers.get('x-wp-totalpages'));
    const more =
      Number.isFinite(totalPages) && headers.has('x-wp-totalpages')
        ? page < totalPages
        : data.length === perPage;
    return { orders, nextCursor: more ? String(page + 1) : null };
  }

  async get(externalId: string): Promise<OrderInputT | null> {
    const o = await this.raw(externalId);
    if (!o) return null;
    return this.map(o, o.refunds?.length ? await this.refundsOf(o.id) : []);
  }

  /** The Woo order, or null when it does not exist (or the id cannot be a Woo id). */
  async raw(externalId: string): Promise<WooOrderT | null> {
    if (!/^\d{1,19}$/.test(externalId)) return null;
    try {
      return (await this.client.get(`/orders/${externalId}`, {}, parse.order, 'order')).data;
    } catch (err) {
      if (err instanceof PlatformError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  /** Every refund of one order (the endpoint pages by 10 unless asked otherwise). */
  async refundsOf(orderId: number): Promise<WooRefundT[]> {
    const out: WooRefundT[] = [];
    for (let page = 1; ; page++) {
      const { data, headers } = await this.client.get(
        `/orders/${orderId}/refunds`,
        { per_page: PER_PAGE_MAX, page },
        parse.refunds,
        'refund list',
      );
      out.push(...data);
      if (page >= Number(headers.get('x-wp-totalpages') ?? '1') || data.length < PER_PAGE_MAX) return out;
    }
  }

  private map(o: WooOrderT, refunds: WooRefundT[]): OrderInputT | null {
    try {
      return mapOrder(o, refunds);
    } catch (err) {
      this.skip(o.id, err);
      return null;
    }
  }

  /** One unreadable order must not block a whole backfill; it is logged, and reconcile and webhooks retry it. */
  private skip(orderId: number, err: unknown) {
    this.deps.log.warn({ orderId, err: (err as Error).message }, 'woocommerce: order skipped');
  }

  private async refundsFor(orders: WooOrderT[]): Promise<Map<number, WooRefundT[]>> {
    const byOrder = new Map<number, WooRefundT[]>();
    const wanted = orders.filter((o) => o.refunds?.length);
    const ids = wanted.flatMap((o) => o.refunds!.map((r) => r.id));
    if (!ids.length) return byOrder;
    if (this.batchRefunds) {
      try {
        for (let i = 0; i < ids.length; i += PER_PAGE_MAX) {
          const chunk = ids.slice(i, i + PER_PAGE_MAX);
          const { data } = await this.client.get(
            '/refunds',
            { include: chunk, per_page: PER_PAGE_MAX },
            parse.refunds,
            'refund list',
          );
          for (const r of data)
            if (r.parent_id) byOrder.set(r.parent_id, [...(byOrder.get(r.parent_id) ?? []), r]);
        }
        return byOrder;
      } catch (err) {
        if (!(err instanceof PlatformError && err.kind === 'not_found')) throw err;
        this.batchRefunds = false; // WooCommerce before 9.0 has no /refunds collection
        byOrder.clear();
      }
    }
    for (const o of wanted) byOrder.set(o.id, await this.refundsOf(o.id));
    return byOrder;
  }
}
