import { createHash } from 'node:crypto';
import type { Static } from 'typebox';
import type { AddressInputT } from '../../orders/document.js';
import { type ActionLine, type PlatformDeps, PlatformError } from '../platform.js';
import { type ShopifyGraphql, userErrorsToError } from './client.js';
import { fromMinor, toMinor } from './mappers.js';
import {
  DRAFT_ORDER,
  DRAFT_ORDER_COMPLETE,
  DRAFT_ORDER_CREATE,
  ORDER_CANCEL,
  ORDER_STATE,
  ORDER_UPDATE_ADDRESS,
  REFUND_CONTEXT,
  REFUND_CREATE,
  REPLACEMENT_CONTEXT,
  STOCK_LEVELS,
} from './queries.js';
import {
  DraftOrderComplete,
  DraftOrderCreate,
  DraftOrderRead,
  OrderCancel,
  OrderState,
  OrderUpdate,
  RefundContext,
  RefundCreate,
  ReplacementContext,
  StockLevels,
} from './schemas.js';

/** The idempotency marker written into refund and draft-order notes: `[resolve:<key>]`. */
export const marker = (key: string) => `[resolve:${key}]`;
/** A search-safe tag carrying the key (tags are searchable, notes are not). */
export const keyTag = (key: string) =>
  `resolve-${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;

const CANCEL_REASONS = new Set(['CUSTOMER', 'DECLINED', 'FRAUD', 'INVENTORY', 'STAFF', 'OTHER']);

function mergeLines(lines: ActionLine[]): Map<string, number> {
  if (!lines.length) throw new PlatformError('rejected', 'No lines given.');
  const m = new Map<string, number>();
  for (const l of lines) {
    if (!Number.isInteger(l.quantity) || l.quantity < 1)
      throw new PlatformError('rejected', 'Quantities must be ≥ 1.');
    m.set(l.externalLineId, (m.get(l.externalLineId) ?? 0) + l.quantity);
  }
  return m;
}

export class ShopifyActions {
  constructor(
    private readonly gql: ShopifyGraphql,
    private readonly deps: PlatformDeps,
  ) {}

  /**
   * suggestedRefund → refundCreate. Safe to retry: an existing refund whose note carries the key is returned,
   * and refundCreate itself carries the key in Shopify's @idempotent directive (mandatory since 2026-04).
   */
  async refund(input: {
    orderExternalId: string;
    lines: ActionLine[];
    includeShipping: boolean;
    reason: string;
    idempotencyKey: string;
  }): Promise<{ externalId: string; amount: number; currency: string }> {
    const wanted = mergeLines(input.lines);
    const refundLines = [...wanted].map(([lineItemId, quantity]) => ({
      lineItemId,
      quantity,
      restockType: 'NO_RESTOCK',
    }));
    const ctx = await this.gql.request(
      REFUND_CONTEXT,
      { id: input.orderExternalId, lines: refundLines, shipping: input.includeShipping },
      RefundContext,
    );
    const order = ctx.order;
    if (!order) throw new PlatformError('not_found', `No Shopify order ${input.orderExternalId}.`);
    const currency = order.currencyCode;
    const done = order.refunds.find((r) => r.note?.includes(marker(input.idempotencyKey)));
    if (done)
      return {
        externalId: done.id,
        amount: toMinor(done.totalRefundedSet.shopMoney.amount, currency),
        currency,
      };

    const suggested = order.suggestedRefund;
    if (!suggested || toMinor(suggested.amountSet.shopMoney.amount, currency) <= 0)
      throw new PlatformError('rejected', 'Nothing is left to refund for these lines.');
    const txs = suggested.suggestedTransactions.filter((t) => t.parentTransaction && t.gateway);
    if (!txs.length)
      throw new PlatformError(
        'unsupported',
        'The order has no payment Shopify can refund (no parent transaction).',
      );
    const shipping = suggested.shipping.amountSet.shopMoney.amount;
    const note = `${input.reason.trim().slice(0, 200)} ${marker(input.idempotencyKey)}`.trim();
    const data = await this.gql.request(
      REFUND_CREATE,
      {
        idempotencyKey: input.idempotencyKey,
        input: {
          orderId: order.id,
          note,
          notify: false,
          currency: order.presentmentCurrencyCode,
          refundLineItems: refundLines,
          ...(input.includeShipping && toMinor(shipping, currency) > 0
            ? { shipping: { amount: shipping } }
            : {}),
          transactions: txs.map((t) => ({
            orderId: order.id,
            parentId: t.parentTransaction!.id,
            gateway: t.gateway,
            kind: 'REFUND',
            amount: t.amountSet.presentmentMoney.amount,
          })),
        },
      },
      RefundCreate,
    );
    const res = data.refundCreate;
    if (!res?.refund) throw userErrorsToError('refundCreate', res?.userErrors ?? []);
    return {
      externalId: res.refund.id,
      amount: toMinor(res.refund.totalRefundedSet.shopMoney.amount, currency),
      currency,
    };
  }

  /** A draft order with the lines at 100 % off (custom lines at price 0), completed as paid. */
  async createReplacement(input: {
    orderExternalId: string;
    lines: ActionLine[];
    note: string;
    idempotencyKey: string;
  }): Promise<{ externalId: string; orderNumber: string | null }> {
    const wanted = mergeLines(input.lines);
    const tag = keyTag(input.idempotencyKey);
    const found = new Map<string, { title: string; variantId: string | null }>();
    let after: string | null = null;
    let order: NonNullable<Static<typeof ReplacementContext>['order']> | null = null;
    let drafts: { id: string; status: string; order: { id: string; name: string } | null }[] = [];
    do {
      const ctx: Static<typeof ReplacementContext> = await this.gql.request(
        REPLACEMENT_CONTEXT,
        { id: input.orderExternalId, after, draftQuery: `tag:${tag}`, draftFirst: 5 },
        ReplacementContext,
      );
      if (!ctx.order) throw new PlatformError('not_found', `No Shopify order ${input.orderExternalId}.`);
      order = ctx.order;
      if (after === null) drafts = ctx.draftOrders.nodes;
      for (const l of ctx.order.lineItems.nodes)
        if (wanted.has(l.id)) found.set(l.id, { title: l.title, variantId: l.variant?.id ?? null });
      after = ctx.order.lineItems.pageInfo.hasNextPage ? ctx.order.lineItems.pageInfo.endCursor : null;
    } while (after && found.size < wanted.size);
    const missing = [...wanted.keys()].filter((id) => !found.has(id));
    if (missing.length) throw new PlatformError('rejected', `Lines not on the order: ${missing.join(', ')}`);

    const existing =
      drafts.find((d) => d.status === 'COMPLETED' && d.order) ?? drafts.find((d) => d.status === 'OPEN');
    if (existing?.order) return replacementOrder(existing.order);
    let draftId = existing?.id ?? null;
    if (!draftId) {
      const a = order!.shippingAddress;
      const created = await this.gql.request(
        DRAFT_ORDER_CREATE,
        {
          input: {
            ...(order!.email ? { email: order!.email } : {}),
            ...(order!.customer ? { purchasingEntity: { customerId: order!.customer.id } } : {}),
            ...(a ? { shippingAddress: mailingAddressFromShopify(a) } : {}),
            note: `${input.note.trim().slice(0, 500)} (replacement for ${order!.name}) ${marker(input.idempotencyKey)}`,
            tags: [tag, 'resolve-replacement'],
            lineItems: [...wanted].map(([id, quantity]) => {
              const l = found.get(id)!;
              return l.variantId
                ? {
                    variantId: l.variantId,
                    quantity,
                    appliedDiscount: { valueType: 'PERCENTAGE', value: 100, title: 'Replacement' },
                  }
                : {
                    title: l.title,
                    quantity,
                    originalUnitPriceWithCurrency: {
                      amount: fromMinor(0, order!.currencyCode),
                      currencyCode: order!.currencyCode,
                    },
                  };
            }),
          },
        },
        DraftOrderCreate,
      );
      const d = created.draftOrderCreate;
      if (!d?.draftOrder) throw userErrorsToError('draftOrderCreate', d?.userErrors ?? []);
      if (toMinor(d.draftOrder.totalPriceSet.shopMoney.amount, order!.currencyCode) !== 0)
        this.deps.log.warn({ draft: d.draftOrder.id }, 'shopify: replacement draft is not zero-priced');
      draftId = d.draftOrder.id;
    }
    const completed = await this.gql.request(DRAFT_ORDER_COMPLETE, { id: draftId }, DraftOrderComplete);
    const c = completed.draftOrderComplete;
    if (c?.draftOrder?.order) return replacementOrder(c.draftOrder.order);
    // Refused, e.g. "already completed": another attempt with this key (whose answer is still on its way, or
    // was lost) or the merchant completed this very draft meanwhile. Its order is the replacement; reporting a
    // refusal here would free the units while the order exists, and a new request would send a second parcel.
    const again = await this.gql.request(DRAFT_ORDER, { id: draftId }, DraftOrderRead);
    if (again.draftOrder?.status === 'COMPLETED' && again.draftOrder.order)
      return replacementOrder(again.draftOrder.order);
    throw userErrorsToError('draftOrderComplete', c?.userErrors ?? []);
  }

  async cancelOrder(input: {
    orderExternalId: string;
    reason: string;
  }): Promise<{ externalRef: string | null }> {
    const state = await this.gql.request(ORDER_STATE, { id: input.orderExternalId }, OrderState);
    if (!state.order) throw new PlatformError('not_found', `No Shopify order ${input.orderExternalId}.`);
    if (state.order.cancelledAt) return { externalRef: null }; // already cancelled: a retry changes nothing
    const upper = input.reason.trim().toUpperCase();
    const data = await this.gql.request(
      ORDER_CANCEL,
      {
        orderId: input.orderExternalId,
        reason: CANCEL_REASONS.has(upper) ? upper : 'CUSTOMER',
        staffNote: `Resolve: ${input.reason}`.slice(0, 255),
      },
      OrderCancel,
    );
    const res = data.orderCancel;
    if (!res || res.orderCancelUserErrors.length)
      throw userErrorsToError('orderCancel', res?.orderCancelUserErrors ?? []);
    return { externalRef: res.job?.id ?? null };
  }

  async changeShippingAddress(input: {
    orderExternalId: string;
    address: AddressInputT;
  }): Promise<{ externalRef: string | null }> {
    const a = input.address;
    const [firstName, ...rest] = (a.name ?? '').trim().split(/\s+/);
    const province = a.province?.trim() ?? '';
    if (province && !/^[A-Za-z0-9]{1,3}$/.test(province))
      this.deps.log.warn({ province }, 'shopify: province is not a code; sent without provinceCode');
    // The full address is sent: Shopify replaces the shipping address with what orderUpdate receives.
    const shippingAddress = {
      firstName: firstName || null,
      lastName: rest.join(' ') || null,
      company: a.company ?? null,
      address1: a.address_line_1 ?? null,
      address2: a.address_line_2 ?? null,
      city: a.city ?? null,
      zip: a.zip_code ?? null,
      provinceCode: /^[A-Za-z0-9]{1,3}$/.test(province) ? province.toUpperCase() : null,
      countryCode: a.country_code ? a.country_code.toUpperCase() : null,
      phone: a.phone ?? null,
    };
    const data = await this.gql.request(
      ORDER_UPDATE_ADDRESS,
      { input: { id: input.orderExternalId, shippingAddress } },
      OrderUpdate,
    );
    const res = data.orderUpdate;
    if (!res?.order) throw userErrorsToError('orderUpdate', res?.userErrors ?? []);
    return { externalRef: res.order.id };
  }

  /** Available units over all locations of each line's variant; null when untracked or not a variant. */
  async stockCheck(input: {
    orderExternalId: string;
    lines: ActionLine[];
  }): Promise<{ externalLineId: string; available: number | null }[]> {
    const wanted = mergeLines(input.lines);
    const found = new Map<string, number | null>();
    let after: string | null = null;
    do {
      const data: Static<typeof StockLevels> = await this.gql.request(
        STOCK_LEVELS,
        { id: input.orderExternalId, after },
        StockLevels,
      );
      if (!data.order) throw new PlatformError('not_found', `No Shopify order ${input.orderExternalId}.`);
      for (const l of data.order.lineItems.nodes) {
        if (!wanted.has(l.id)) continue;
        const item = l.variant?.inventoryItem;
        found.set(
          l.id,
          item?.tracked
            ? item.inventoryLevels.nodes.reduce(
                (n, lvl) => n + (lvl.quantities.find((q) => q.name === 'available')?.quantity ?? 0),
                0,
              )
            : null,
        );
      }
      const p = data.order.lineItems.pageInfo;
      after = p.hasNextPage ? p.endCursor : null;
    } while (after && found.size < wanted.size);
    const missing = [...wanted.keys()].filter((id) => !found.has(id));
    if (missing.length) throw new PlatformError('rejected', `Lines not on the order: ${missing.join(', ')}`);
    return [...wanted.keys()].map((id) => ({ externalLineId: id, available: found.get(id) ?? null }));
  }
}

const replacementOrder = (o: { id: string; name: string }) => ({
  externalId: o.id,
  orderNumber: o.name.replace(/^#+/, ''),
});

function mailingAddressFromShopify(a: {
  firstName?: string | null;
  lastName?: string | null;
  company?: string | null;
  address1?: string | null;
  address2?: string | null;
  city?: string | null;
  provinceCode?: string | null;
  countryCodeV2?: string | null;
  zip?: string | null;
  phone?: string | null;
}) {
  return {
    firstName: a.firstName ?? null,
    lastName: a.lastName ?? null,
    company: a.company ?? null,
    address1: a.address1 ?? null,
    address2: a.address2 ?? null,
    city: a.city ?? null,
    provinceCode: a.provinceCode ?? null,
    countryCode: a.countryCodeV2 ?? null,
    zip: a.zip ?? null,
    phone: a.phone ?? null,
  };
}
