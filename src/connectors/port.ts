import type { Db } from '../db/client.js';
import type { AddressInputT, OrderInputT } from '../orders/document.js';
import type { Shop } from '../shops/shops.js';

export type ConnectorCapability =
  | 'read_orders'
  | 'cancel_order'
  | 'change_shipping_address'
  | 'refund'
  | 'replacement'
  | 'stock_check';

export interface ConnectorManifest {
  id: string;
  name: string;
  capabilities: ConnectorCapability[];
}

export interface ConnectorContext {
  db: Db;
  shop: Shop;
  now: Date;
}

/**
 * What Resolve needs from a shop platform (SPEC §9). Each platform lives in its own folder behind this
 * port; domain code never sees platform payloads, only order documents in Resolve's shape.
 */
export interface ShopConnector {
  manifest: ConnectorManifest;
  /** Every order the shop has (or a recent window), in pages of documents ready for upsert. */
  backfill?(ctx: ConnectorContext): AsyncIterable<OrderInputT[]>;
  cancelOrder?(
    ctx: ConnectorContext,
    order: { id: string; externalId: string | null },
    reason: string,
  ): Promise<{ externalRef: string | null }>;
  changeShippingAddress?(
    ctx: ConnectorContext,
    order: { id: string; externalId: string | null },
    address: AddressInputT,
  ): Promise<{ externalRef: string | null }>;
}
