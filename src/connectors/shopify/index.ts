import type { PlatformClient, PlatformConnector } from '../platform.js';
import { ShopifyActions } from './actions.js';
import { parseConnection, ShopifyGraphql } from './client.js';
import { SHOP_NAME } from './queries.js';
import { ShopName } from './schemas.js';
import { OrderSync } from './sync.js';
import { registerShopifyWebhooks, verifyShopifyWebhook } from './webhooks.js';

export { API_VERSION } from './queries.js';

/**
 * Shopify through the GraphQL Admin API (version pinned in queries.ts). Settings: `shop_domain`
 * (acme.myshopify.com) and, for tests or an egress proxy only, `api_base_url` (an origin such as
 * http://127.0.0.1:8080 that replaces https://{shop_domain}). Credentials: the Admin API `access_token` and the
 * app's client secret as `webhook_secret` (Shopify signs webhooks with it).
 */
export const shopifyConnector: PlatformConnector = {
  manifest: {
    id: 'shopify',
    name: 'Shopify',
    capabilities: [
      'read_orders',
      'webhooks',
      'refund',
      'replacement',
      'cancel_order',
      'change_shipping_address',
      'stock_check',
    ],
    settingsFields: [
      { key: 'shop_domain', label: 'Shop domain', example: 'acme.myshopify.com' },
      {
        key: 'api_base_url',
        label: 'API base URL (optional; tests and proxies only, replaces https://{shop domain})',
        example: 'http://127.0.0.1:8080',
        optional: true,
      },
    ],
    credentialFields: [
      { key: 'access_token', label: 'Admin API access token' },
      { key: 'webhook_secret', label: 'App client secret (signs webhooks)' },
    ],
  },

  create(connection, deps): PlatformClient {
    const conn = parseConnection(connection);
    const gql = new ShopifyGraphql(conn, deps);
    const sync = new OrderSync(gql, deps);
    const actions = new ShopifyActions(gql, deps);
    return {
      async testConnection() {
        const data = await gql.request(SHOP_NAME, {}, ShopName);
        return { shopName: data.shop.name };
      },
      listOrders: (q) => sync.listOrders(q),
      getOrder: (id) => sync.getOrder(id),
      verifyWebhook: (raw, headers) => verifyShopifyWebhook(conn, deps, raw, headers),
      registerWebhooks: (url) => registerShopifyWebhooks(gql, url),
      refund: (input) => actions.refund(input),
      createReplacement: (input) => actions.createReplacement(input),
      cancelOrder: (input) => actions.cancelOrder(input),
      changeShippingAddress: (input) => actions.changeShippingAddress(input),
      stockCheck: (input) => actions.stockCheck(input),
    };
  },
};
