import type { PlatformClient, PlatformConnector } from '../platform.js';
import { cancelOrder, changeShippingAddress, stockCheck } from './actions.js';
import { VendureApi } from './client.js';
import { DEFAULT_RECONCILE_DAYS, getOrder, listOrders } from './orders.js';
import { PROBE } from './queries.js';
import { refund } from './refund.js';
import { createReplacement } from './replacement.js';
import { Probe } from './schemas.js';

/**
 * Vendure 3 through its Admin GraphQL API, with fetch only. Credentials: an API key (Vendure ≥ 3.6, 'api-key'
 * in `authOptions.tokenMethod`), or an administrator's username + password (login session). The key or
 * administrator needs a role with ReadOrder, UpdateOrder, CreateOrder, ReadCustomer, ReadCatalog,
 * ReadPromotion, CreatePromotion, DeletePromotion, ReadPaymentMethod, ReadShippingMethod on the channel.
 *
 * Vendure core sends no webhooks (events stay on its in-process EventBus), so the manifest has no 'webhooks'
 * capability and there is no verifyWebhook/registerWebhooks: sync is the backfill plus the periodic reconcile,
 * which re-reads the orders whose fulfilments may still move (see orders.ts for why `updatedAt` is not enough).
 * `admin_api_url` must be a public https URL (connectors/egress.ts); the test-only `api_base_url` replaces it
 * with a simulator's address.
 */
export const vendureConnector: PlatformConnector = {
  manifest: {
    id: 'vendure',
    name: 'Vendure',
    capabilities: [
      'read_orders',
      'refund',
      'replacement',
      'cancel_order',
      'change_shipping_address',
      'stock_check',
    ],
    settingsFields: [
      {
        key: 'admin_api_url',
        label: 'Admin API URL',
        example: 'https://shop.example.com/admin-api',
        url: true,
      },
      { key: 'channel_token', label: 'Channel token (the default channel if empty)', optional: true },
      {
        key: 'reconcile_days',
        optional: true,
        label: `Days after placing that reconcile re-reads an order (default ${DEFAULT_RECONCILE_DAYS})`,
        example: String(DEFAULT_RECONCILE_DAYS),
      },
    ],
    credentialFields: [
      { key: 'api_key', label: 'API key (Vendure 3.6+; or leave empty and give username + password)' },
      { key: 'username', label: 'Administrator username (without an API key)' },
      { key: 'password', label: 'Administrator password (without an API key)' },
    ],
  },

  create(connection, deps): PlatformClient {
    const api = new VendureApi(connection, deps);
    const days = Number(connection.settings.reconcile_days);
    const reconcileDays = Number.isInteger(days) && days > 0 && days <= 3650 ? days : DEFAULT_RECONCILE_DAYS;
    return {
      async testConnection() {
        // Reading one order proves the permission sync needs; the channel code is the closest to a shop name.
        const probe = await api.request(PROBE, {}, Probe, 'the connection test');
        const code = probe.activeChannel.code;
        return { shopName: code && code !== '__default_channel__' ? code : null };
      },
      listOrders: (q) => listOrders(api, q, reconcileDays),
      getOrder: (id) => getOrder(api, id),
      refund: (input) => refund(api, input),
      createReplacement: (input) => createReplacement(api, input),
      cancelOrder: (input) => cancelOrder(api, input.orderExternalId, input.reason),
      changeShippingAddress: (input) => changeShippingAddress(api, input.orderExternalId, input.address),
      stockCheck: (input) => stockCheck(api, input.orderExternalId, input.lines),
    };
  },
};
