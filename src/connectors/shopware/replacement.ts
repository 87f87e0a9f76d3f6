import { type ActionLine, type PlatformDeps, PlatformError } from '../platform.js';
import { derivedId, type ShopwareApi } from './client.js';
import { goodsLines } from './mappers.js';
import { findOrder, loadOrder } from './orders.js';
import type { SwAddress } from './schemas.js';

/**
 * A replacement is a new, zero-priced order written with `POST /api/order`. Shopware has no draft orders;
 * the admin's "create order" page builds a store-api cart through `/api/_proxy/…` and `/api/_proxy-order/…`,
 * which prices lines from the catalogue and needs a promotion or credit line to reach zero. With every price 0
 * a raw order has nothing left to calculate, so we write it directly: same customer, sales channel, currency,
 * language and shipping method as the claimed order, the claimed lines at quantity, no payment transaction,
 * order and delivery `open`, and customFields pointing back at the original (`resolve_replacement_of`).
 *
 * Idempotency: the order's id is derived from the idempotency key; a retry finds the order and answers it.
 * Caveat: from 6.5 Shopware adjusts stock on checkout events, so an order written through the API may not
 * reserve stock the way a storefront order does.
 */

const zero = (quantity: number) => ({
  unitPrice: 0,
  quantity,
  totalPrice: 0,
  calculatedTaxes: [],
  taxRules: [],
});

function copyAddress(a: SwAddress, id: string) {
  if (!a.countryId) throw new PlatformError('unavailable', 'Shopware address without countryId');
  return {
    id,
    countryId: a.countryId,
    countryStateId: a.countryStateId ?? null,
    ...(a.salutationId ? { salutationId: a.salutationId } : {}),
    firstName: a.firstName ?? '',
    lastName: a.lastName ?? '',
    company: a.company ?? null,
    department: a.department ?? null,
    street: a.street ?? '',
    additionalAddressLine1: a.additionalAddressLine1 ?? null,
    additionalAddressLine2: a.additionalAddressLine2 ?? null,
    zipcode: a.zipcode ?? null,
    city: a.city ?? '',
    phoneNumber: a.phoneNumber ?? null,
  };
}

export async function createReplacement(
  api: ShopwareApi,
  deps: PlatformDeps,
  input: { orderExternalId: string; lines: ActionLine[]; note: string; idempotencyKey: string },
): Promise<{ externalId: string; orderNumber: string | null }> {
  const source = await loadOrder(api, input.orderExternalId);
  const id = derivedId('replacement', source.id, input.idempotencyKey);
  const existing = await findOrder(api, id);
  if (existing) return { externalId: existing.id, orderNumber: existing.orderNumber };

  if (!input.lines.length) throw new PlatformError('rejected', 'no lines to replace');
  const goods = goodsLines(source);
  const lines = input.lines.map((want) => {
    const line = goods.find((l) => l.id === want.externalLineId);
    if (!line) throw new PlatformError('rejected', `order has no product line ${want.externalLineId}`);
    if (!Number.isInteger(want.quantity) || want.quantity < 1 || want.quantity > line.quantity)
      throw new PlatformError('rejected', `line ${line.id}: quantity must be 1..${line.quantity}`);
    return { line, quantity: want.quantity, id: derivedId('replacement-line', id, line.id) };
  });
  const delivery = (source.deliveries ?? []).find((d) => d.stateMachineState?.technicalName !== 'cancelled');
  const billing = source.billingAddress;
  if (!delivery?.shippingOrderAddress || !billing || !source.orderCustomer || !source.currency)
    throw new PlatformError(
      'rejected',
      'the original order lacks a delivery, billing address or customer to copy',
    );

  const billingId = derivedId('replacement-billing', id);
  const shippingId = derivedId('replacement-shipping', id);
  const now = deps.now().toISOString();
  const c = source.orderCustomer;
  const written = api.call('POST', '/order', {
    body: {
      id,
      billingAddressId: billingId,
      currencyId: source.currencyId,
      languageId: source.languageId,
      salesChannelId: source.salesChannelId,
      currencyFactor: source.currencyFactor,
      orderDateTime: now,
      stateId: await api.stateId('order.state', 'open'),
      price: {
        netPrice: 0,
        totalPrice: 0,
        positionPrice: 0,
        rawTotal: 0,
        taxStatus: source.taxStatus ?? source.price?.taxStatus ?? 'gross',
        calculatedTaxes: [],
        taxRules: [],
      },
      shippingCosts: zero(1),
      itemRounding: source.currency.itemRounding,
      totalRounding: source.currency.totalRounding,
      orderCustomer: {
        email: c.email,
        firstName: c.firstName,
        lastName: c.lastName,
        ...(c.customerId ? { customerId: c.customerId } : {}),
        ...(c.salutationId ? { salutationId: c.salutationId } : {}),
      },
      addresses: [copyAddress(billing, billingId), copyAddress(delivery.shippingOrderAddress, shippingId)],
      lineItems: lines.map(({ line, quantity, id: lineId }, i) => ({
        id: lineId,
        identifier: line.productId ?? lineId,
        referencedId: line.productId ?? null,
        productId: line.productId ?? null,
        type: line.type ?? 'product',
        label: line.label,
        quantity,
        position: i + 1,
        good: true,
        removable: true,
        stackable: true,
        payload:
          line.payload && typeof line.payload === 'object' && !Array.isArray(line.payload)
            ? line.payload
            : {},
        price: zero(quantity),
        // Kept at 0 if someone recalculates the order in the admin.
        priceDefinition: { type: 'quantity', price: 0, quantity, taxRules: [], isCalculated: true },
      })),
      deliveries: [
        {
          id: derivedId('replacement-delivery', id),
          shippingOrderAddressId: shippingId,
          shippingMethodId: delivery.shippingMethodId,
          stateId: await api.stateId('order_delivery.state', 'open'),
          trackingCodes: [],
          shippingDateEarliest: now,
          shippingDateLatest: now,
          shippingCosts: zero(1),
          positions: lines.map(({ quantity, id: lineId }) => ({
            id: derivedId('replacement-position', lineId),
            orderLineItemId: lineId,
            quantity,
            price: zero(quantity),
          })),
        },
      ],
      customFields: {
        resolve_replacement_of: source.orderNumber,
        resolve_replacement_of_id: source.id,
        resolve_idempotency_key: input.idempotencyKey,
        resolve_note: input.note.slice(0, 1000),
      },
    },
  });
  // Refused (e.g. a duplicate key: an overlapping attempt with this key wrote it first) or no answer: the order
  // with this id, if it exists, is this replacement; a refusal reported while it exists would free its units.
  const failure = await written.then(
    () => null,
    (err: unknown) => err,
  );
  const created = await findOrder(api, id);
  if (failure && !created) throw failure;
  if (!created) throw new PlatformError('unavailable', `replacement order ${id} not readable after creation`);
  return { externalId: created.id, orderNumber: created.orderNumber };
}
