/**
 * The Admin API documents the connector sends (Vendure 3.x schema). Mutations ask for `... on ErrorResult`
 * so that a refusal (an ErrorResult union member, answered with HTTP 200) reaches the client as data.
 */

const ADDRESS = 'fullName company streetLine1 streetLine2 city province postalCode countryCode phoneNumber';
const ERROR = '... on ErrorResult { errorCode message }';

export const ORDER_FIELDS = `id code state active orderPlacedAt createdAt updatedAt currencyCode
  subTotalWithTax shippingWithTax total totalWithTax discounts { amountWithTax }
  customer { id emailAddress firstName lastName phoneNumber user { id } }
  shippingAddress { ${ADDRESS} } billingAddress { ${ADDRESS} }
  lines { id quantity orderPlacedQuantity unitPriceWithTax linePriceWithTax proratedLinePrice
    proratedLinePriceWithTax proratedUnitPriceWithTax featuredAsset { preview }
    productVariant { id sku name product { id name } } }
  fulfillments { id state method trackingCode createdAt updatedAt lines { orderLineId quantity } }
  payments { id state amount method transactionId refunds { id state total reason shipping lines { orderLineId quantity } } }
  shippingLines { shippingMethod { id } }`;

export const ORDERS = `query ResolveOrders($options: OrderListOptions) {
  orders(options: $options) { totalItems items { ${ORDER_FIELDS} } } }`;

export const ORDER = `query ResolveOrder($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;

export const ORDER_STATE = `query ResolveOrderState($id: ID!) { order(id: $id) {
  id code state currencyCode fulfillments { id state } payments { id state } } }`;

export const PROBE = `query ResolveProbe { activeChannel { code token } orders(options: { take: 1 }) { totalItems } }`;

export const LOGIN = `mutation ResolveLogin($username: String!, $password: String!) {
  login(username: $username, password: $password, rememberMe: true) {
    __typename ... on CurrentUser { id } ${ERROR} } }`;

export const REFUND_ORDER = `mutation ResolveRefund($input: RefundOrderInput!) {
  refundOrder(input: $input) { ... on Refund { id state total reason shipping lines { orderLineId quantity } } ${ERROR} } }`;

export const CANCEL_ORDER = `mutation ResolveCancel($input: CancelOrderInput!) {
  cancelOrder(input: $input) { ... on Order { id } ${ERROR} } }`;

export const TRANSITION_ORDER = `mutation ResolveTransition($id: ID!, $state: String!) {
  transitionOrderToState(id: $id, state: $state) { ... on Order { id } ${ERROR} } }`;

export const MODIFY_ORDER = `mutation ResolveModify($input: ModifyOrderInput!) {
  modifyOrder(input: $input) { ... on Order { id modifications { id } } ${ERROR} } }`;

export const SET_DRAFT_SHIPPING_ADDRESS = `mutation ResolveDraftAddress($id: ID!, $input: CreateAddressInput!) {
  setDraftOrderShippingAddress(orderId: $id, input: $input) { id } }`;

export const STOCK = `query ResolveStock($id: ID!) { order(id: $id) { id lines { id productVariant {
  id trackInventory stockOnHand stockAllocated outOfStockThreshold useGlobalOutOfStockThreshold } } } }`;

export const GLOBAL_STOCK = `query ResolveGlobalStock { globalSettings { trackInventory outOfStockThreshold } }`;

// Replacement orders: a draft, zeroed by a single-use coupon, completed with a zero manual payment.

export const ORDERS_BY_TRANSACTION = `query ResolveByTransaction($key: String!) {
  orders(options: { filter: { transactionId: { eq: $key } }, take: 5 }) { items { id code state } } }`;

export const OPEN_DRAFTS = `query ResolveDrafts {
  orders(options: { filter: { state: { in: ["Draft", "ArrangingPayment"] }, active: { eq: false },
    orderPlacedAt: { isNull: true } }, sort: { createdAt: DESC }, take: 50 }) {
    items { id code state totalWithTax history(options: { filter: { type: { eq: "ORDER_NOTE" } } }) { items { data } } } } }`;

export const CREATE_DRAFT = 'mutation ResolveCreateDraft { createDraftOrder { id code state totalWithTax } }';

export const DELETE_DRAFT = `mutation ResolveDeleteDraft($id: ID!) { deleteDraftOrder(orderId: $id) { result message } }`;

export const ADD_NOTE = `mutation ResolveNote($input: AddNoteToOrderInput!) { addNoteToOrder(input: $input) { id } }`;

export const ADD_DRAFT_ITEM = `mutation ResolveDraftItem($id: ID!, $input: AddItemToDraftOrderInput!) {
  addItemToDraftOrder(orderId: $id, input: $input) { ... on Order { id } ${ERROR} } }`;

export const SET_DRAFT_CUSTOMER = `mutation ResolveDraftCustomer($id: ID!, $customerId: ID) {
  setCustomerForDraftOrder(orderId: $id, customerId: $customerId) { ... on Order { id } ${ERROR} } }`;

export const DRAFT_SHIPPING_METHODS = `query ResolveDraftShipping($id: ID!) {
  eligibleShippingMethodsForDraftOrder(orderId: $id) { id } }`;

export const SET_DRAFT_SHIPPING_METHOD = `mutation ResolveDraftShippingMethod($id: ID!, $method: ID!) {
  setDraftOrderShippingMethod(orderId: $id, shippingMethodId: $method) { ... on Order { id } ${ERROR} } }`;

export const CREATE_PROMOTION = `mutation ResolveCreatePromotion($input: CreatePromotionInput!) {
  createPromotion(input: $input) { ... on Promotion { id } ${ERROR} } }`;

export const PROMOTIONS_BY_CODE = `query ResolvePromotions($key: String!) {
  promotions(options: { filter: { couponCode: { contains: $key } }, take: 20 }) { items { id } } }`;

export const DELETE_PROMOTION = `mutation ResolveDeletePromotion($id: ID!) { deletePromotion(id: $id) { result message } }`;

export const APPLY_DRAFT_COUPON = `mutation ResolveDraftCoupon($id: ID!, $code: String!) {
  applyCouponCodeToDraftOrder(orderId: $id, couponCode: $code) { ... on Order { id code state totalWithTax } ${ERROR} } }`;

export const TRANSITION_TOTALS = `mutation ResolveDraftTransition($id: ID!, $state: String!) {
  transitionOrderToState(id: $id, state: $state) { ... on Order { id code state totalWithTax } ${ERROR} } }`;

export const ADD_MANUAL_PAYMENT = `mutation ResolveManualPayment($input: ManualPaymentInput!) {
  addManualPaymentToOrder(input: $input) { ... on Order { id code state totalWithTax } ${ERROR} } }`;
