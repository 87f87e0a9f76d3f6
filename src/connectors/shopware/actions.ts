import type { AddressInputT } from '../../orders/document.js';
import { type ActionLine, PlatformError } from '../platform.js';
import { derivedId, type ShopwareApi } from './client.js';
import { goodsLines } from './mappers.js';
import { loadOrder } from './orders.js';
import { CountrySearch, ProductSearch, type SwOrder } from './schemas.js';

/** Delivery states after which goods have left the warehouse. */
const LEFT_WAREHOUSE = new Set(['shipped', 'shipped_partially', 'returned', 'returned_partially']);

export function assertNotShipped(order: SwOrder, what: string) {
  const gone = (order.deliveries ?? []).some((d) =>
    LEFT_WAREHOUSE.has(d.stateMachineState?.technicalName ?? ''),
  );
  if (gone) throw new PlatformError('rejected', `cannot ${what}: the order has already shipped`);
}

/**
 * Cancel = the order state machine's `cancel` transition (it validates the move and writes the history).
 * It moves no money and leaves delivery and payment states as they are, exactly as in the admin; a refund
 * is its own action. Already cancelled → nothing to do. Core Shopware has no staff-note API, so the reason
 * stays in Resolve's claim action record.
 */
export async function cancelOrder(
  api: ShopwareApi,
  orderId: string,
): Promise<{ externalRef: string | null }> {
  const order = await loadOrder(api, orderId);
  if (order.stateMachineState?.technicalName === 'cancelled') return { externalRef: order.id };
  assertNotShipped(order, 'cancel');
  await api.call('POST', `/_action/order/${order.id}/state/cancel`, { body: {} });
  return { externalRef: order.id };
}

function splitName(name: string | null | undefined): { firstName: string; lastName: string } | null {
  const parts = (name ?? '').trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return null;
  // Shopware requires both; a one-word name fills both rather than inventing one.
  return parts.length === 1
    ? { firstName: parts[0], lastName: parts[0] }
    : { firstName: parts.slice(0, -1).join(' '), lastName: parts[parts.length - 1] };
}

async function countryId(api: ShopwareApi, iso: string): Promise<string> {
  const res = await api.search(
    'country',
    { filter: [{ type: 'equals', field: 'iso', value: iso.toUpperCase() }], limit: 1 },
    CountrySearch,
    'a country lookup',
  );
  const id = res.data[0]?.id;
  if (!id) throw new PlatformError('rejected', `Shopware knows no country ${iso}`);
  return id;
}

/**
 * Writes the new address onto the order's shipping address (`PATCH /api/order-address/{id}`, the live version,
 * as integrations do; the admin's version-and-merge dance only matters for recalculated prices). The 6.5
 * `_action/order/{id}/order-address` route only copies saved customer addresses, so it does not fit a
 * typed-in address. When the delivery shares its address row with the billing address, a new row is created
 * and the delivery pointed at it, so the billing address stays as it was.
 */
export async function changeShippingAddress(
  api: ShopwareApi,
  orderId: string,
  address: AddressInputT,
): Promise<{ externalRef: string | null }> {
  const order = await loadOrder(api, orderId);
  assertNotShipped(order, 'change the shipping address');
  const deliveries = (order.deliveries ?? []).filter(
    (d) => d.stateMachineState?.technicalName !== 'cancelled',
  );
  if (!deliveries.length) throw new PlatformError('rejected', 'the order has no delivery to re-address');
  const name = splitName(address.name);
  if (!name || !address.address_line_1?.trim() || !address.city?.trim())
    throw new PlatformError('rejected', 'name, address_line_1 and city are required');
  const fields = {
    ...name,
    company: address.company ?? null,
    street: address.address_line_1.trim(),
    additionalAddressLine1: address.address_line_2 ?? null,
    zipcode: address.zip_code ?? null,
    city: address.city.trim(),
    phoneNumber: address.phone ?? null,
    // Resolve's free-text province is not mapped back to a Shopware country state; the old one may not fit.
    countryStateId: null,
    ...(address.country_code ? { countryId: await countryId(api, address.country_code) } : {}),
  };
  let ref: string | null = null;
  for (const d of deliveries) {
    const current = d.shippingOrderAddress;
    if (d.shippingOrderAddressId !== order.billingAddressId) {
      await api.call('PATCH', `/order-address/${d.shippingOrderAddressId}`, { body: fields });
      ref = d.shippingOrderAddressId;
      continue;
    }
    const id = derivedId('address', order.id, d.id, JSON.stringify(address));
    // A retry after the address was written but before the delivery pointed at it must not write it twice.
    if (!order.addresses?.some((a) => a.id === id))
      await api.call('POST', '/order-address', {
        body: {
          id,
          orderId: order.id,
          countryId: current?.countryId ?? order.billingAddress?.countryId,
          ...(current?.salutationId ? { salutationId: current.salutationId } : {}),
          ...fields,
        },
      });
    await api.call('PATCH', `/order-delivery/${d.id}`, { body: { shippingOrderAddressId: id } });
    ref = id;
  }
  return { externalRef: ref };
}

/** `product.availableStock` (stock minus open orders) per line; null for lines without a product. */
export async function stockCheck(api: ShopwareApi, orderId: string, lines: ActionLine[]) {
  const order = await loadOrder(api, orderId);
  const goods = goodsLines(order);
  const productOf = new Map<string, string | null>();
  for (const l of lines) {
    const line = goods.find((g) => g.id === l.externalLineId);
    if (!line) throw new PlatformError('rejected', `order has no product line ${l.externalLineId}`);
    productOf.set(line.id, line.productId ?? null);
  }
  const ids = [...new Set([...productOf.values()].filter((v): v is string => !!v))];
  const products = ids.length
    ? (
        await api.search(
          'product',
          { ids, limit: ids.length, includes: { product: ['id', 'stock', 'availableStock'] } },
          ProductSearch,
          'a stock lookup',
        )
      ).data
    : [];
  return lines.map((l) => {
    const p = products.find((x) => x.id === productOf.get(l.externalLineId));
    return { externalLineId: l.externalLineId, available: p ? (p.availableStock ?? p.stock ?? null) : null };
  });
}
