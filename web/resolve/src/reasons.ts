import type { MessageKey } from './i18n/en';
import type { CustomerOrder, Flow } from './types';

/**
 * Why a flow is not offered, as the message key that fits this flow and this order's parcels. The server's
 * `not_delivered` covers several cases: only "My parcel has not arrived" also opens for a parcel that stopped
 * moving, and once a parcel of a split order has arrived, what waits is the items of the parcels still on their
 * way. Null when the flow is available.
 */
export function reasonKey(flow: Flow, code: string | null, order: CustomerOrder): MessageKey | null {
  if (!code) return null;
  if (code === 'not_delivered' && flow !== 'not_received')
    return order.shipments.some((s) => s.phase === 'delivered' && s.delivered_at)
      ? 'unavailable.items_on_the_way'
      : 'unavailable.awaiting_delivery';
  return `reason_code.${code}` as MessageKey;
}
