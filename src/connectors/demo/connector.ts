import { and, eq } from 'drizzle-orm';
import { orders } from '../../db/schema.js';
import { AppError } from '../../lib/errors.js';
import { normalizeZip } from '../../orders/document.js';
import type { ShopConnector } from '../port.js';
import { demoOrders } from './orders.js';

/** The built-in demo shop: its "platform" is Resolve's own copy of the orders, so actions apply there. */
export const demoConnector: ShopConnector = {
  manifest: {
    id: 'demo',
    name: 'Demo shop',
    capabilities: ['read_orders', 'cancel_order', 'change_shipping_address'],
  },
  async *backfill(ctx) {
    yield demoOrders(ctx.now);
  },
  async cancelOrder(ctx, order) {
    const rows = await ctx.db
      .update(orders)
      .set({ cancelledAt: ctx.now, state: 'cancelled', updatedAt: ctx.now })
      .where(and(eq(orders.shopId, ctx.shop.id), eq(orders.id, order.id)))
      .returning({ id: orders.id });
    if (!rows.length) throw new AppError('order_not_found', 'No such order.');
    return { externalRef: `demo-cancel-${order.id}` };
  },
  async changeShippingAddress(ctx, order, address) {
    const rows = await ctx.db
      .update(orders)
      .set({
        shippingAddress: address,
        zipNorm: address.zip_code ? normalizeZip(address.zip_code) : null,
        updatedAt: ctx.now,
      })
      .where(and(eq(orders.shopId, ctx.shop.id), eq(orders.id, order.id)))
      .returning({ id: orders.id });
    if (!rows.length) throw new AppError('order_not_found', 'No such order.');
    return { externalRef: `demo-address-${order.id}` };
  },
};
