import type { OrderView } from '../orders/read.js';
import type { Shop } from '../shops/shops.js';
import type { ReturnsUrlPlaceholder } from './returns-template.js';
import { resolveSettingsOf } from './settings.js';

/**
 * For shops that run returns in an external portal: the URL the customer continues to after the return
 * claim is recorded, with the template's placeholders filled in (URL-encoded).
 */
export function returnHandoffUrl(
  shop: Shop,
  order: OrderView,
  claim: { flow: string; reason: string; items: { sku: string | null }[] },
): string | null {
  const settings = resolveSettingsOf(shop);
  if (
    claim.flow !== 'return' ||
    settings.returns.mode !== 'external' ||
    !settings.returns.external_url_template
  )
    return null;
  const values: Record<ReturnsUrlPlaceholder, string> = {
    orderNumber: order.order_number,
    orderName: order.order_name ?? order.order_number,
    email: order.customer.email ?? '',
    zipCode: order.shipping_address?.zip_code ?? '',
    externalId: order.external_id ?? '',
    claimReason: claim.reason,
    selectedItemSkus: claim.items
      .map((i) => i.sku ?? '')
      .filter(Boolean)
      .join(','),
    flowType: claim.flow,
  };
  return settings.returns.external_url_template.replace(/\{(\w+)\}/g, (m, k: string) =>
    k in values ? encodeURIComponent(values[k as ReturnsUrlPlaceholder]) : m,
  );
}
