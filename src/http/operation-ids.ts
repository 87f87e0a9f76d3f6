/**
 * Every operation's `operationId` in the OpenAPI document: stable names for generated clients (`listClaims`,
 * `createClaimAction`, …). Keyed by method and documented path; test/openapi-bad-input.test.ts checks that every
 * operation has one and that they are unique.
 */
const S = '/v1/shops/{slug}';
const R = '/v1/resolve/{slug}';
export const OPERATION_IDS: Record<string, string> = {
  [`put ${S}/orders`]: 'upsertOrder',
  [`get ${S}/orders`]: 'listOrders',
  [`post ${S}/orders/bulk`]: 'bulkUpsertOrders',
  [`get ${S}/orders/{id}`]: 'getOrder',
  [`get ${S}/orders/{id}/activity`]: 'listOrderActivity',
  [`post ${S}/orders/{id}/shipments/{shipment_id}/events`]: 'addShipmentEvents',
  [`post ${S}/orders/{id}/resolve-link`]: 'createResolveLink',
  [`get ${S}/orders/{id}/eligibility`]: 'getOrderEligibility',
  [`post ${S}/orders/{id}/tokens/revoke`]: 'revokeResolveLinks',
  [`post ${R}/sessions`]: 'openCustomerSession',
  [`get ${R}/order`]: 'getCustomerOrder',
  [`post ${R}/uploads`]: 'uploadCustomerPhoto',
  [`post ${R}/claims`]: 'submitCustomerClaim',
  [`get ${R}/claims`]: 'listCustomerClaims',
  [`post ${R}/order/cancel`]: 'cancelCustomerOrder',
  [`post ${R}/order/address`]: 'changeCustomerOrderAddress',
  'get /v1/files/{id}': 'getEvidenceFile',
  [`post ${S}/resolve/preview`]: 'createCustomerPagePreview',
  [`post ${S}/settings/token-keys/rotate`]: 'rotateTokenKey',
  [`get ${S}/settings/resolve`]: 'getResolveSettings',
  [`patch ${S}/settings/resolve`]: 'updateResolveSettings',
  [`get ${S}/lookup-lockouts`]: 'listLookupLockouts',
  [`delete ${S}/lookup-lockouts/{order_number}`]: 'deleteLookupLockout',
  [`get ${S}/claims`]: 'listClaims',
  [`post ${S}/claims`]: 'createClaim',
  [`get ${S}/claims/counts`]: 'countClaims',
  [`get ${S}/claims/export.csv`]: 'exportClaimsCsv',
  [`get ${S}/claims/facets`]: 'getClaimFacets',
  [`get ${S}/claims/{id}`]: 'getClaim',
  [`patch ${S}/claims/{id}`]: 'updateClaim',
  [`get ${S}/claims/{id}/actions`]: 'listClaimActions',
  [`post ${S}/claims/{id}/actions`]: 'createClaimAction',
  [`post ${S}/claims/{id}/actions/{action_id}/retry`]: 'retryClaimAction',
  [`post ${S}/claims/{id}/actions/{action_id}/release`]: 'releaseClaimAction',
  [`get ${S}/analytics/claims`]: 'getClaimsAnalytics',
  [`get ${S}/claim-views`]: 'listClaimViews',
  [`post ${S}/claim-views`]: 'createClaimView',
  [`patch ${S}/claim-views/{id}`]: 'updateClaimView',
  [`delete ${S}/claim-views/{id}`]: 'deleteClaimView',
  [`get ${S}/assignees`]: 'listAssignees',
  [`get ${S}/webhooks`]: 'listWebhookEndpoints',
  [`post ${S}/webhooks`]: 'createWebhookEndpoint',
  [`get ${S}/webhooks/{id}`]: 'getWebhookEndpoint',
  [`patch ${S}/webhooks/{id}`]: 'updateWebhookEndpoint',
  [`delete ${S}/webhooks/{id}`]: 'deleteWebhookEndpoint',
  [`post ${S}/webhooks/{id}/rotate-secret`]: 'rotateWebhookSecret',
  [`post ${S}/webhooks/{id}/test`]: 'sendWebhookTest',
  [`get ${S}/webhooks/{id}/deliveries`]: 'listWebhookDeliveries',
  [`get ${S}/webhooks/{id}/deliveries/{message_id}`]: 'getWebhookDelivery',
  [`post ${S}/webhooks/{id}/deliveries/{message_id}/replay`]: 'replayWebhookDelivery',
  [`post ${S}/webhooks/{id}/replay-failed`]: 'replayFailedWebhookDeliveries',
  [`get ${S}/notices`]: 'listNotices',
  [`post ${S}/notices/{id}/dismiss`]: 'dismissNotice',
  'post /v1/portal/login': 'portalLogin',
  'get /v1/portal/me': 'getPortalSession',
  'post /v1/portal/logout': 'portalLogout',
  'get /v1/portal/invite': 'getInvite',
  'post /v1/portal/invites/accept': 'acceptInvite',
  [`get ${S}/connection/platforms`]: 'listPlatforms',
  [`get ${S}/connection`]: 'getConnection',
  [`put ${S}/connection`]: 'connectPlatform',
  [`delete ${S}/connection`]: 'disconnectPlatform',
  [`post ${S}/connection/test`]: 'testConnection',
  [`post ${S}/connection/backfill`]: 'startBackfill',
  [`post ${S}/connection/backfill/cancel`]: 'cancelBackfill',
  'post /v1/connectors/{connectionId}/webhooks': 'receivePlatformWebhook',
  [`get ${S}/users`]: 'listUsers',
  [`patch ${S}/users/{id}`]: 'updateUserRole',
  [`delete ${S}/users/{id}`]: 'removeUser',
  [`get ${S}/invites`]: 'listInvites',
  [`post ${S}/invites`]: 'createInvite',
  [`delete ${S}/invites/{id}`]: 'revokeInvite',
  [`get ${S}/api-keys`]: 'listApiKeys',
  [`post ${S}/api-keys`]: 'createApiKey',
  [`delete ${S}/api-keys/{id}`]: 'revokeApiKey',
  [`get ${S}`]: 'getShop',
  [`patch ${S}`]: 'updateShop',
};

/** Customer-flow POSTs that honour Idempotency-Key (every merchant POST does, through the app's hook). */
export const CUSTOMER_IDEMPOTENT = new Set([
  `post ${R}/claims`,
  `post ${R}/order/cancel`,
  `post ${R}/order/address`,
]);

export const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  schema: { type: 'string', minLength: 1, maxLength: 255 },
  description:
    'Any unique string (e.g. a UUID) per intended request. A retry with the same key and the same body answers the first answer again, with the header `idempotent-replayed: true`, for 24 hours: successes and refusals such as 404, 409 or 422 alike. A 400 (an invalid request, which did nothing) and a 5xx are not kept: the same key may be sent again, with the body corrected. The same key with another body is 409 `idempotency_conflict`, and while the first is still running 409 `idempotency_in_progress` (retry after `Retry-After`).',
};

/** The customer's claim keeps its key with the claim: only a claim made is answered again. */
export const CLAIM_IDEMPOTENCY_HEADER = {
  ...IDEMPOTENCY_HEADER,
  description:
    'Any unique string (e.g. a UUID) per claim the customer sends, kept with the claim. A retry with the same key and the same body answers the claim it made (201, header `idempotent-replayed: true`), even after the order has no units left to claim; the same key with another body is 409 `idempotency_conflict`. A refused attempt (4xx) made no claim and keeps nothing: it may be corrected and sent again with the same key.',
};
