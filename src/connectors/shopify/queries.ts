/**
 * The GraphQL documents the Shopify connector sends, pinned to one Admin API version. Every operation is named
 * (the simulator dispatches on the name) and carries a requested-cost estimate computed with Shopify's
 * documented rules (object 1, scalar 0, connection 2 + first × node, mutation 10; lists cost like objects).
 * The client replaces an estimate with the `requestedQueryCost` Shopify reports once it has seen one.
 */

/** Supported until about April 2027 (each version is supported for at least 12 months). */
export const API_VERSION = '2026-04';

export interface Operation {
  name: string;
  query: string;
  /** Requested cost before Shopify has told us (documented rules); may depend on the page size. */
  estimate(variables: Record<string, unknown>): number;
}

const op = (name: string, estimate: number | ((v: Record<string, unknown>) => number), body: string) => ({
  name,
  query: body.replace(/\s+/g, ' ').trim(),
  estimate: typeof estimate === 'number' ? () => estimate : estimate,
});

const MONEY = 'shopMoney { amount currencyCode }';
const ADDRESS =
  'name firstName lastName company address1 address2 city province provinceCode zip countryCodeV2 phone';
/** Sizes of the nested connections fetched with every order; larger ones are paged by follow-up queries. */
export const NESTED = { lineItems: 10, fulfillmentLineItems: 10, events: 10, fulfillments: 50 } as const;

export const LINE_FIELDS = `id title sku variantTitle quantity currentQuantity
  originalUnitPriceSet { ${MONEY} } totalDiscountSet { ${MONEY} } taxLines { priceSet { ${MONEY} } }
  image { url } product { id } variant { id }`;
const LINE_COST = 11;

const FULFILLMENT_LINE_FIELDS = 'quantity lineItem { id }';
const FULFILLMENT_FIELDS = `id status displayStatus createdAt updatedAt inTransitAt deliveredAt
  trackingInfo(first: 5) { company number url }
  fulfillmentLineItems(first: ${NESTED.fulfillmentLineItems}) {
    pageInfo { hasNextPage endCursor } nodes { ${FULFILLMENT_LINE_FIELDS} } }
  events(first: ${NESTED.events}, sortKey: HAPPENED_AT, reverse: true) {
    nodes { id status happenedAt message city province country } }`;

const ORDER_FIELDS = `id name createdAt updatedAt cancelledAt currencyCode customerLocale email phone tags
  customer { id firstName lastName }
  shippingAddress { ${ADDRESS} } billingAddress { ${ADDRESS} }
  subtotalPriceSet { ${MONEY} } totalShippingPriceSet { ${MONEY} } totalDiscountsSet { ${MONEY} }
  totalTaxSet { ${MONEY} } totalPriceSet { ${MONEY} }
  lineItems(first: ${NESTED.lineItems}) { pageInfo { hasNextPage endCursor } nodes { ${LINE_FIELDS} } }
  fulfillments(first: ${NESTED.fulfillments}) { ${FULFILLMENT_FIELDS} }`;

/** Requested cost of one order node: header 14 + line items 2 + 10 × 11 + fulfillments 1 + 1 + 22 + 12. */
export const ORDER_COST = 14 + (2 + NESTED.lineItems * LINE_COST) + (1 + 1 + 22 + 12);
/** Shopify refuses any single query whose requested cost exceeds this. */
export const MAX_QUERY_COST = 1000;

export const SHOP_NAME = op('ResolveShopName', 1, 'query ResolveShopName { shop { name } }');

export const LIST_ORDERS = op(
  'ResolveListOrders',
  (v) => 2 + Number(v.first ?? 1) * ORDER_COST,
  `query ResolveListOrders($first: Int!, $after: String, $query: String, $sortKey: OrderSortKeys) {
    orders(first: $first, after: $after, query: $query, sortKey: $sortKey) {
      pageInfo { hasNextPage endCursor } nodes { ${ORDER_FIELDS} } } }`,
);

export const GET_ORDER = op(
  'ResolveGetOrder',
  ORDER_COST,
  `query ResolveGetOrder($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`,
);

export const ORDER_LINES_PAGE = op(
  'ResolveOrderLinesPage',
  1 + 2 + 50 * LINE_COST,
  `query ResolveOrderLinesPage($id: ID!, $after: String) { order(id: $id) { id
    lineItems(first: 50, after: $after) { pageInfo { hasNextPage endCursor } nodes { ${LINE_FIELDS} } } } }`,
);

export const FULFILLMENT_LINES_PAGE = op(
  'ResolveFulfillmentLinesPage',
  1 + 2 + 100 * 2,
  `query ResolveFulfillmentLinesPage($id: ID!, $after: String) { fulfillment(id: $id) { id
    fulfillmentLineItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor } nodes { ${FULFILLMENT_LINE_FIELDS} } } } }`,
);

export const REFUND_CONTEXT = op(
  'ResolveRefundContext',
  1 + 1 + 1 + 2 + 2 + 1 + 2 + 1 + 3 + 1,
  `query ResolveRefundContext($id: ID!, $lines: [RefundLineItemInput!], $shipping: Boolean) {
    order(id: $id) { id currencyCode presentmentCurrencyCode
      refunds(first: 100) { id note totalRefundedSet { ${MONEY} } }
      suggestedRefund(refundLineItems: $lines, refundShipping: $shipping) {
        amountSet { ${MONEY} }
        shipping { amountSet { ${MONEY} } }
        suggestedTransactions { gateway kind parentTransaction { id }
          amountSet { ${MONEY} presentmentMoney { amount currencyCode } } } } } }`,
);

/** 2026-04 makes the @idempotent directive mandatory on refundCreate; Shopify dedupes on the key. */
export const REFUND_CREATE = op(
  'ResolveRefundCreate',
  10 + 1 + 2 + 1,
  `mutation ResolveRefundCreate($input: RefundInput!, $idempotencyKey: String!) {
    refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
      refund { id note totalRefundedSet { ${MONEY} } } userErrors { field message } } }`,
);

export const REPLACEMENT_CONTEXT = op(
  'ResolveReplacementContext',
  (v) => 1 + 1 + 1 + (2 + 50 * 2) + (2 + Number(v.draftFirst ?? 5) * 2),
  `query ResolveReplacementContext($id: ID!, $after: String, $draftQuery: String!, $draftFirst: Int!) {
    order(id: $id) { id name email currencyCode customer { id }
      shippingAddress { firstName lastName company address1 address2 city provinceCode countryCodeV2 zip phone }
      lineItems(first: 50, after: $after) { pageInfo { hasNextPage endCursor }
        nodes { id title quantity variant { id } } } }
    draftOrders(first: $draftFirst, query: $draftQuery) { nodes { id status order { id name } } } }`,
);

export const DRAFT_ORDER_CREATE = op(
  'ResolveDraftOrderCreate',
  10 + 1 + 2 + 1,
  `mutation ResolveDraftOrderCreate($input: DraftOrderInput!) { draftOrderCreate(input: $input) {
    draftOrder { id status totalPriceSet { ${MONEY} } } userErrors { field message } } }`,
);

export const DRAFT_ORDER_COMPLETE = op(
  'ResolveDraftOrderComplete',
  10 + 1 + 1 + 1,
  `mutation ResolveDraftOrderComplete($id: ID!) { draftOrderComplete(id: $id) {
    draftOrder { id status order { id name } } userErrors { field message } } }`,
);

/** One draft by id: read, unlike the draftOrders search, straight from the draft itself. */
export const DRAFT_ORDER = op(
  'ResolveDraftOrder',
  1 + 1,
  `query ResolveDraftOrder($id: ID!) { draftOrder(id: $id) { id status order { id name } } }`,
);

export const ORDER_STATE = op(
  'ResolveOrderState',
  1,
  'query ResolveOrderState($id: ID!) { order(id: $id) { id cancelledAt } }',
);

export const ORDER_CANCEL = op(
  'ResolveOrderCancel',
  10 + 1 + 1,
  `mutation ResolveOrderCancel($orderId: ID!, $reason: OrderCancelReason!, $staffNote: String) {
    orderCancel(orderId: $orderId, reason: $reason, restock: true, notifyCustomer: false, staffNote: $staffNote,
      refundMethod: { originalPaymentMethodsRefund: true }) {
      job { id } orderCancelUserErrors { field message code } } }`,
);

export const ORDER_UPDATE_ADDRESS = op(
  'ResolveOrderUpdateAddress',
  10 + 1 + 1 + 1,
  `mutation ResolveOrderUpdateAddress($input: OrderInput!) { orderUpdate(input: $input) {
    order { id shippingAddress { zip countryCodeV2 } } userErrors { field message } } }`,
);

export const STOCK_LEVELS = op(
  'ResolveStockLevels',
  1 + 2 + 20 * (1 + 1 + 1 + (2 + 10 * 2)),
  `query ResolveStockLevels($id: ID!, $after: String) { order(id: $id) { id
    lineItems(first: 20, after: $after) { pageInfo { hasNextPage endCursor }
      nodes { id variant { id inventoryItem { id tracked
        inventoryLevels(first: 10) { nodes { quantities(names: ["available"]) { name quantity } } } } } } } } }`,
);

export const WEBHOOK_SUBSCRIPTIONS = op(
  'ResolveWebhookSubscriptions',
  2 + 100,
  `query ResolveWebhookSubscriptions($topics: [WebhookSubscriptionTopic!]) {
    webhookSubscriptions(first: 100, topics: $topics) { nodes { id topic uri } } }`,
);

export const WEBHOOK_SUBSCRIPTION_CREATE = op(
  'ResolveWebhookSubscriptionCreate',
  10 + 1 + 1,
  `mutation ResolveWebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
    webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
      webhookSubscription { id topic uri } userErrors { field message } } }`,
);
