import { randomBytes } from 'node:crypto';
import { type ActionLine, PlatformError } from '../platform.js';
import type { VendureApi } from './client.js';
import { REPLACEMENT_METHOD, toMinor } from './mappers.js';
import {
  ADD_DRAFT_ITEM,
  ADD_MANUAL_PAYMENT,
  ADD_NOTE,
  APPLY_DRAFT_COUPON,
  CREATE_DRAFT,
  CREATE_PROMOTION,
  DELETE_DRAFT,
  DELETE_PROMOTION,
  DRAFT_SHIPPING_METHODS,
  OPEN_DRAFTS,
  ORDERS_BY_TRANSACTION,
  PROMOTIONS_BY_CODE,
  SET_DRAFT_CUSTOMER,
  SET_DRAFT_SHIPPING_ADDRESS,
  SET_DRAFT_SHIPPING_METHOD,
  TRANSITION_TOTALS,
} from './queries.js';
import { keyMarker, loadOrder } from './refund.js';
import {
  CreatedDraft,
  DeletedDraft,
  DeletedPromotion,
  DraftAddressSet,
  DraftList,
  IdCodeList,
  IdResult,
  NoteAdded,
  OrderTotals,
  PromotionList,
  ShippingQuotes,
  type VAddress,
} from './schemas.js';

const createAddress = (a: VAddress) => ({
  fullName: a.fullName ?? '',
  company: a.company ?? '',
  streetLine1: a.streetLine1 ?? '',
  streetLine2: a.streetLine2 ?? '',
  city: a.city ?? '',
  province: a.province ?? '',
  postalCode: a.postalCode ?? '',
  countryCode: a.countryCode ?? '',
  phoneNumber: a.phoneNumber ?? '',
});

const noteText = (data: unknown) =>
  typeof (data as { note?: unknown } | null)?.note === 'string' ? (data as { note: string }).note : '';

/** Removes the single-use coupons made for this key (the used one, or one a crashed attempt left behind). */
async function dropCoupons(api: VendureApi, key: string) {
  const found = await api.request(PROMOTIONS_BY_CODE, { key }, PromotionList, 'a promotion search');
  for (const p of found.promotions.items)
    await api.request(DELETE_PROMOTION, { id: p.id }, DeletedPromotion, 'removing a replacement coupon');
}

/**
 * Once the replacement is placed, removing its coupon is housekeeping: the coupon is used up (usage limit 1,
 * random code). A refusal (a role without DeletePromotion) or a lost answer then must not report the action as
 * failed while the order exists — that would free the units for a second replacement. A later retry of the same
 * key tries the clean-up again.
 */
const tidyCoupons = (api: VendureApi, key: string) => dropCoupons(api, key).catch(() => undefined);

/** The last step: a zero manual payment carrying the key moves the order to PaymentSettled (it is placed). */
async function complete(api: VendureApi, id: string, key: string) {
  const paid = await api.mutate(
    ADD_MANUAL_PAYMENT,
    {
      input: {
        orderId: id,
        method: REPLACEMENT_METHOD,
        transactionId: key,
        metadata: { resolve_action: key },
      },
    },
    'addManualPaymentToOrder',
    OrderTotals,
    'completing the replacement order',
  );
  await tidyCoupons(api, key);
  return { externalId: paid.id, orderNumber: paid.code };
}

/**
 * A zero-priced replacement order. Vendure has no per-line price override for draft orders; its documented
 * way to change a draft's price is a coupon. So: draft (a private note with the key is its first write) →
 * the claimed variants → the original customer, shipping address and (if still eligible) shipping method →
 * a single-use coupon with a random code (100 % order discount + free shipping) → ArrangingPayment → a zero
 * manual payment whose transactionId is the key → the coupon is deleted again.
 *
 * Idempotency: a finished replacement is found by its payment's transactionId; a half-made one by the note —
 * a draft is deleted and made again, a zero-total one awaiting payment is completed.
 * Needs: CreateOrder, UpdateOrder, ReadOrder, ReadCustomer, Create/Read/DeletePromotion.
 */
export async function createReplacement(
  api: VendureApi,
  input: { orderExternalId: string; lines: ActionLine[]; note: string; idempotencyKey: string },
): Promise<{ externalId: string; orderNumber: string | null }> {
  const key = input.idempotencyKey;
  const marker = keyMarker(key);
  const done = await api.request(ORDERS_BY_TRANSACTION, { key }, IdCodeList, 'a replacement search');
  const hit = done.orders.items[0];
  if (hit) {
    await tidyCoupons(api, key);
    return { externalId: hit.id, orderNumber: hit.code };
  }
  const open = await api.request(OPEN_DRAFTS, {}, DraftList, 'a draft order search');
  for (const d of open.orders.items) {
    if (!d.history.items.some((h) => noteText(h.data).includes(marker))) continue;
    if (d.state === 'ArrangingPayment' && d.totalWithTax === 0) return complete(api, d.id, key);
    if (d.state !== 'Draft')
      throw new PlatformError(
        'rejected',
        `replacement ${d.code} was left half-made (${d.state}); finish or cancel it in Vendure`,
      );
    await api.request(DELETE_DRAFT, { id: d.id }, DeletedDraft, 'removing a half-made replacement');
  }
  await dropCoupons(api, key);

  const order = await loadOrder(api, input.orderExternalId);
  if (!order.customer)
    throw new PlatformError('rejected', `order ${order.code} has no customer to send a replacement to`);
  const byId = new Map(order.lines.map((l) => [l.id, l]));
  const lines = input.lines.map((l) => {
    const line = byId.get(l.externalLineId);
    if (!line) throw new PlatformError('rejected', `order ${order.code} has no line ${l.externalLineId}`);
    return { variant: line.productVariant.id, quantity: l.quantity };
  });
  if (!lines.length) throw new PlatformError('rejected', 'a replacement needs at least one line');

  const draft = await api.request(CREATE_DRAFT, {}, CreatedDraft, 'creating a draft order');
  const id = draft.createDraftOrder.id;
  try {
    const note = `${input.note.slice(0, 400)} — replaces order ${order.code} ${marker}`;
    await api.request(
      ADD_NOTE,
      { input: { id, note, isPublic: false } },
      NoteAdded,
      'noting the replacement',
    );
    for (const l of lines)
      await api.mutate(
        ADD_DRAFT_ITEM,
        { id, input: { productVariantId: l.variant, quantity: l.quantity } },
        'addItemToDraftOrder',
        IdResult,
        'adding a replacement line',
      );
    await api.mutate(
      SET_DRAFT_CUSTOMER,
      { id, customerId: order.customer.id },
      'setCustomerForDraftOrder',
      IdResult,
      'setting the customer',
    );
    if (order.shippingAddress)
      await api.request(
        SET_DRAFT_SHIPPING_ADDRESS,
        { id, input: createAddress(order.shippingAddress) },
        DraftAddressSet,
        'setting the address',
      );
    const quotes = (await api.request(DRAFT_SHIPPING_METHODS, { id }, ShippingQuotes, 'the shipping methods'))
      .eligibleShippingMethodsForDraftOrder;
    const original = order.shippingLines?.[0]?.shippingMethod?.id;
    const method = quotes.find((q) => q.id === original)?.id ?? quotes[0]?.id;
    if (!method) throw new PlatformError('rejected', 'no shipping method is eligible for the replacement');
    await api.mutate(
      SET_DRAFT_SHIPPING_METHOD,
      { id, method },
      'setDraftOrderShippingMethod',
      IdResult,
      'setting the shipping method',
    );

    const code = `RESOLVE-${key}-${randomBytes(12).toString('hex')}`;
    await api.mutate(
      CREATE_PROMOTION,
      {
        input: {
          enabled: true,
          couponCode: code,
          usageLimit: 1,
          perCustomerUsageLimit: 1,
          conditions: [],
          actions: [
            { code: 'order_percentage_discount', arguments: [{ name: 'discount', value: '100' }] },
            { code: 'free_shipping', arguments: [] },
          ],
          translations: [{ languageCode: 'en', name: `Resolve replacement ${key}` }],
        },
      },
      'createPromotion',
      IdResult,
      'creating the replacement coupon',
    );
    const zeroed = await api.mutate(
      APPLY_DRAFT_COUPON,
      { id, code },
      'applyCouponCodeToDraftOrder',
      OrderTotals,
      'applying the coupon',
    );
    if (zeroed.totalWithTax !== 0)
      throw new PlatformError(
        'rejected',
        `the replacement still costs ${toMinor(zeroed.totalWithTax, order.currencyCode)} (minor units) after the 100 % coupon`,
      );
    await api.mutate(
      TRANSITION_TOTALS,
      { id, state: 'ArrangingPayment' },
      'transitionOrderToState',
      OrderTotals,
      'completing the draft',
    );
  } catch (err) {
    // Nothing half-made stays behind when a step is refused: the draft and its coupon go again.
    await api.request(DELETE_DRAFT, { id }, DeletedDraft, 'removing the draft').catch(() => undefined);
    await dropCoupons(api, key).catch(() => undefined);
    throw err;
  }
  return complete(api, id, key);
}
