import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { lineItems, orders } from '../../db/schema.js';
import type { Shop } from '../../shops/shops.js';
import { type PlatformCapability, type PlatformClient, PlatformError } from '../platform.js';
import { demoOrders } from './orders.js';

export const DEMO_CAPABILITIES: PlatformCapability[] = [
  'read_orders',
  'refund',
  'replacement',
  'cancel_order',
  'change_shipping_address',
];

/**
 * The demo shop as a platform: its "shop" is Resolve's own copy of the demo orders, so refunds and
 * replacements can be tried end to end. Their ids derive from the idempotency key, so a retry is a no-op.
 */
export function demoClient(db: Db, shop: Shop): PlatformClient {
  const orderByExternal = async (externalId: string) => {
    const [o] = await db
      .select({ id: orders.id, currency: orders.currency, shipping: orders.shippingTotal })
      .from(orders)
      .where(and(eq(orders.shopId, shop.id), eq(orders.externalId, externalId)));
    if (!o) throw new PlatformError('not_found', `No demo order ${externalId}.`);
    return o;
  };
  return {
    async testConnection() {
      return { shopName: shop.name };
    },
    async listOrders() {
      return { orders: demoOrders(new Date()), nextCursor: null };
    },
    async getOrder(externalId) {
      return demoOrders(new Date()).find((o) => o.external_id === externalId) ?? null;
    },
    async refund(input) {
      const o = await orderByExternal(input.orderExternalId);
      const ids = input.lines.map((l) => l.externalLineId);
      const rows = ids.length
        ? await db
            .select({ ext: lineItems.externalId, price: lineItems.unitPrice, qty: lineItems.quantity })
            .from(lineItems)
            .where(
              and(
                eq(lineItems.shopId, shop.id),
                eq(lineItems.orderId, o.id),
                inArray(lineItems.externalId, ids),
              ),
            )
        : [];
      const price = new Map(rows.map((r) => [r.ext, r.price]));
      const amount =
        input.lines.reduce((n, l) => n + (price.get(l.externalLineId) ?? 0) * l.quantity, 0) +
        (input.includeShipping ? Number(o.shipping ?? 0) : 0);
      return { externalId: `demo-refund-${input.idempotencyKey}`, amount, currency: o.currency };
    },
    async createReplacement(input) {
      await orderByExternal(input.orderExternalId);
      return {
        externalId: `demo-replacement-${input.idempotencyKey}`,
        orderNumber: `R-${input.idempotencyKey.slice(-6).toUpperCase()}`,
      };
    },
  };
}
