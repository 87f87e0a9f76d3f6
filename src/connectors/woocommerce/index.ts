import { type PlatformConnector, PlatformError } from '../platform.js';
import { cancelOrder, changeShippingAddress, createReplacement, stockCheck } from './actions.js';
import { WooClient } from './client.js';
import { WooOrders } from './orders.js';
import { refundOrder } from './refund.js';
import { parse } from './schemas.js';
import { registerWooWebhooks, verifyWooWebhook } from './webhooks.js';

/**
 * WooCommerce (REST API v3) behind the platform port. Settings: `store_url` (https), optional
 * `gateway_refunds=false` (record refunds without moving money through the gateway) and
 * `query_string_auth=true` (keys as query parameters, for hosts that drop the Authorization header).
 * `api_base_url` is test-only: it replaces `<store_url>/wp-json/wc/v3` and may be plain http.
 */
export const woocommerceConnector: PlatformConnector = {
  manifest: {
    id: 'woocommerce',
    name: 'WooCommerce',
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
      { key: 'store_url', label: 'Store URL (https)', example: 'https://shop.example.com', url: true },
      {
        key: 'gateway_refunds',
        label: 'Refund through the payment gateway (false: record refunds only)',
        example: 'true',
        optional: true,
      },
      {
        key: 'query_string_auth',
        label: 'Send the API key as query parameters (if the host drops Authorization)',
        example: 'false',
        optional: true,
      },
    ],
    credentialFields: [
      { key: 'consumer_key', label: 'Consumer key (ck_…)' },
      { key: 'consumer_secret', label: 'Consumer secret (cs_…)' },
      { key: 'webhook_secret', label: 'Webhook secret' },
    ],
  },

  create(connection, deps) {
    const client = new WooClient(connection, deps);
    const orders = new WooOrders(client, deps);
    const webhookSecret = connection.credentials.webhook_secret ?? '';
    const gatewayRefunds = connection.settings.gateway_refunds !== 'false';
    return {
      async testConnection() {
        // An authenticated read proves the key; the site title comes from the (public) REST index.
        await client.get('/orders', { per_page: 1, _fields: 'id' }, parse.ids, 'order list');
        try {
          const { data } = await client.get('/wp-json/', { _fields: 'name' }, parse.index, 'site index');
          return { shopName: data.name?.trim() || null };
        } catch (err) {
          if (err instanceof PlatformError && err.kind !== 'auth_failed') return { shopName: null };
          throw err;
        }
      },
      listOrders: (q) => orders.list(q),
      getOrder: (id) => orders.get(id),
      verifyWebhook: (rawBody, headers) => verifyWooWebhook(rawBody, headers, webhookSecret),
      async registerWebhooks(callbackUrl) {
        if (!webhookSecret)
          throw new PlatformError('rejected', 'a webhook secret is needed to register webhooks');
        await registerWooWebhooks(client, callbackUrl, webhookSecret);
      },
      refund: (input) => refundOrder(orders, client, input, gatewayRefunds),
      createReplacement: (input) => createReplacement(orders, client, input),
      cancelOrder: (input) => cancelOrder(orders, client, input),
      changeShippingAddress: (input) => changeShippingAddress(client, input),
      stockCheck: (input) => stockCheck(orders, client, input),
    };
  },
};
