import type { AddressInputT, OrderInputT } from '../orders/document.js';

/**
 * The port every shop PLATFORM connector implements (Shopify, Shopware 6, WooCommerce, Vendure). A connector
 * is a factory: given one shop's connection (settings + decrypted credentials) it returns a client that
 * speaks the platform's API and hands Resolve only normalised order documents (SPEC §2, the same
 * `OrderInputT` the merchant API's upsert takes). Domain code never sees platform payloads.
 */

export type PlatformCapability =
  | 'read_orders'
  | 'webhooks'
  | 'refund'
  | 'replacement'
  | 'cancel_order'
  | 'change_shipping_address'
  | 'stock_check';

export interface PlatformManifest {
  /** `shopify` | `shopware` | `woocommerce` | `vendure` */
  id: string;
  name: string;
  capabilities: PlatformCapability[];
  /**
   * What the merchant enters to connect: non-secret settings and secret credentials, each with a label. `url`
   * marks an address Resolve sends requests (with the credentials) to: the egress policy checks it when the
   * connection is saved (src/connectors/egress.ts).
   */
  settingsFields: { key: string; label: string; example?: string; optional?: boolean; url?: boolean }[];
  credentialFields: { key: string; label: string }[];
}

/** What a connector may use from its host; tests inject fakes (clock, sleep) and point fetch at simulators. */
export interface PlatformDeps {
  fetch: typeof fetch;
  now(): Date;
  sleep(ms: number): Promise<void>;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export interface Connection {
  settings: Record<string, string>;
  credentials: Record<string, string>;
}

/** Why a platform call failed, in a small stable vocabulary the sync and action jobs act on. */
export type PlatformErrorKind =
  | 'auth_failed' // credentials wrong or revoked: stop, tell the merchant
  | 'not_found'
  | 'rate_limited' // retry after `retryAfterMs`
  | 'unsupported' // the platform (or this shop's plan/config) cannot do it
  | 'rejected' // the platform refused the request (validation, state) — do not retry blindly
  | 'unavailable'; // network / 5xx: retry with backoff

export class PlatformError extends Error {
  constructor(
    readonly kind: PlatformErrorKind,
    message: string,
    readonly retryAfterMs: number | null = null,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = 'PlatformError';
  }
}

/**
 * A setting or credential the merchant must correct, named by its place in the connection request
 * (`/settings/shop_domain`, `/credentials/access_token`). Raised before any request is sent. Saving a connection
 * answers it as 400 `validation_failed` at that path; elsewhere it is the PlatformError of its kind.
 */
export class SettingError extends PlatformError {
  constructor(
    readonly path: string,
    message: string,
    kind: PlatformErrorKind = 'rejected',
  ) {
    super(kind, message);
    this.name = 'SettingError';
  }
}

/** A platform webhook, verified on its raw body and reduced to what sync needs. */
export interface PlatformWebhook {
  /** The platform's own delivery/event id (de-duplication key), e.g. X-Shopify-Webhook-Id. */
  eventId: string;
  /** The platform's topic, e.g. `orders/updated`. */
  topic: string;
  /** The order it concerns (platform id as used by getOrder), when the payload says. */
  orderExternalId: string | null;
}

/** Order lines to act on, by the platform's line id (Resolve keeps it as the line item's external_id). */
export interface ActionLine {
  externalLineId: string;
  quantity: number;
}

export interface PlatformClient {
  /** Cheap authenticated call; answers the shop's display name. Throws PlatformError('auth_failed') etc. */
  testConnection(): Promise<{ shopName: string | null }>;

  /**
   * One page of orders, newest changes last, for backfill (createdSince) and reconcile (updatedSince).
   * `cursor` is opaque (null = first page); `nextCursor` null = no more pages.
   */
  listOrders(q: {
    createdSince?: Date;
    updatedSince?: Date;
    cursor: string | null;
    pageSize: number;
  }): Promise<{ orders: OrderInputT[]; nextCursor: string | null }>;

  /** One order by the platform's id (the document's external_id); null when it does not exist. */
  getOrder(externalId: string): Promise<OrderInputT | null>;

  /**
   * Verifies a webhook on the RAW body (before any JSON parsing) with the connection's webhook secret.
   * Returns null when the signature is missing or wrong (the caller answers 401 and stores nothing).
   */
  verifyWebhook?(
    rawBody: Buffer,
    headers: Record<string, string | string[] | undefined>,
  ): PlatformWebhook | null;

  /** Subscribes the platform's order/fulfilment/refund webhooks to `callbackUrl` (idempotent). */
  registerWebhooks?(callbackUrl: string): Promise<void>;

  /**
   * Refunds lines (and optionally shipping) of an order. `idempotencyKey` is recorded by Resolve BEFORE the
   * call; the connector must make a retry with the same key safe: look for an existing refund carrying the
   * key (in its note/reason/metadata) and return it instead of refunding twice.
   */
  refund?(input: {
    orderExternalId: string;
    lines: ActionLine[];
    includeShipping: boolean;
    reason: string;
    idempotencyKey: string;
  }): Promise<{ externalId: string; amount: number; currency: string }>;

  /** A zero-priced replacement order (or completed draft) for the lines; same idempotency rule as refund. */
  createReplacement?(input: {
    orderExternalId: string;
    lines: ActionLine[];
    note: string;
    idempotencyKey: string;
  }): Promise<{ externalId: string; orderNumber: string | null }>;

  cancelOrder?(input: { orderExternalId: string; reason: string }): Promise<{ externalRef: string | null }>;

  changeShippingAddress?(input: {
    orderExternalId: string;
    address: AddressInputT;
  }): Promise<{ externalRef: string | null }>;

  /** Units available per line (null = not tracked). */
  stockCheck?(input: {
    orderExternalId: string;
    lines: ActionLine[];
  }): Promise<{ externalLineId: string; available: number | null }[]>;
}

export interface PlatformConnector {
  manifest: PlatformManifest;
  create(connection: Connection, deps: PlatformDeps): PlatformClient;
}
