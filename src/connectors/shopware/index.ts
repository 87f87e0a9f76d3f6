import type { PlatformClient, PlatformConnector } from '../platform.js';
import { cancelOrder, changeShippingAddress, stockCheck } from './actions.js';
import { ShopwareApi } from './client.js';
import { getOrder, listOrders } from './orders.js';
import { refund } from './refund.js';
import { createReplacement } from './replacement.js';
import { IdSearch } from './schemas.js';
import { verifyShopwareWebhook } from './webhooks.js';

/**
 * Shopware 6 through its Admin API (OAuth client credentials of an integration, Settings › System ›
 * Integrations). Webhooks exist only for an installed app; with its `app_secret` the client verifies them,
 * without one the client has no `verifyWebhook` and the periodic reconcile is the only sync path. Webhooks
 * are declared in the app's manifest.xml, not registered through the API, so there is no `registerWebhooks`.
 * `api_url` must be a public https URL (connectors/egress.ts); the test-only `api_base_url` replaces it with a
 * simulator's address.
 */
export const shopwareConnector: PlatformConnector = {
  manifest: {
    id: 'shopware',
    name: 'Shopware 6',
    capabilities: [
      'read_orders',
      'webhooks',
      'refund',
      'replacement',
      'cancel_order',
      'change_shipping_address',
      'stock_check',
    ],
    settingsFields: [{ key: 'api_url', label: 'Shop URL', example: 'https://shop.example.com', url: true }],
    credentialFields: [
      { key: 'client_id', label: 'Access key ID (integration)' },
      { key: 'client_secret', label: 'Secret access key (integration)' },
      { key: 'app_secret', label: 'App secret for webhooks (optional, from the app registration)' },
    ],
  },

  create(connection, deps): PlatformClient {
    const api = new ShopwareApi(connection, deps);
    const appSecret = connection.credentials.app_secret?.trim() ?? '';
    const warn = (obj: object, msg: string) => deps.log.warn(obj, msg);
    const client: PlatformClient = {
      async testConnection() {
        // The search proves the integration may read orders, which sync needs; the shop name is a courtesy.
        await api.search('order', { limit: 1, includes: { order: ['id'] } }, IdSearch, 'an order search');
        const config = await api
          .call('GET', '/_action/system-config', { query: { domain: 'core.basicInformation' } })
          .catch(() => null);
        const name = (config as Record<string, unknown> | null)?.['core.basicInformation.shopName'];
        return { shopName: typeof name === 'string' && name.trim() ? name.trim() : null };
      },
      listOrders: (q) => listOrders(api, q, warn),
      getOrder: (id) => getOrder(api, id, warn),
      refund: (input) => refund(api, input),
      createReplacement: (input) => createReplacement(api, deps, input),
      cancelOrder: (input) => cancelOrder(api, input.orderExternalId),
      changeShippingAddress: (input) => changeShippingAddress(api, input.orderExternalId, input.address),
      stockCheck: (input) => stockCheck(api, input.orderExternalId, input.lines),
    };
    if (appSecret) client.verifyWebhook = (raw, headers) => verifyShopwareWebhook(raw, headers, appSecret);
    return client;
  },
};
