import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, dummyPaymentHandler, LanguageCode, LogLevel, mergeConfig } from '@vendure/core';
import { createTestEnvironment, registerInitializer, SqljsInitializer, testConfig } from '@vendure/testing';

/**
 * A REAL Vendure 3 server for the end-to-end tests (issue 7): `@vendure/core` in-process on sql.js (WASM SQLite,
 * no database server), seeded with a small catalogue, one flat-rate shipping method, a dummy payment method that
 * settles at once, and Germany + Great Britain. Orders are placed through its Shop API the way a storefront
 * does; fulfilment, shipping and delivery go through its Admin API the way a merchant does. Boot once per file.
 */

/** A GraphQL session against one of Vendure's APIs; keeps the bearer token Vendure hands out. */
export class Gql {
  token: string | null = null;
  constructor(
    readonly url: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async request<T = Record<string, unknown>>(query: string, variables: object = {}): Promise<T> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...this.headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    const token = res.headers.get('vendure-auth-token');
    if (token) this.token = token;
    const body = (await res.json()) as { data?: T; errors?: unknown[] };
    if (body.errors?.length) throw new Error(`Vendure: ${JSON.stringify(body.errors).slice(0, 800)}`);
    // ErrorResult unions answer 200 with `errorCode`: a test helper that got one has a bug to show.
    for (const v of Object.values(body.data ?? {}))
      if (v && typeof v === 'object' && 'errorCode' in v)
        throw new Error(`Vendure: ${JSON.stringify(v).slice(0, 800)}`);
    return body.data as T;
  }
}

export interface SeedVariant {
  sku: string;
  product: string;
  variant: string;
  price: number;
  stock: number;
}

export const VARIANTS: SeedVariant[] = [
  { sku: 'TEE-M', product: 'T-shirt', variant: 'T-shirt M', price: 1999, stock: 500 },
  { sku: 'MUG-1', product: 'Mug', variant: 'Mug', price: 1299, stock: 500 },
  { sku: 'CAP-RED', product: 'Cap', variant: 'Cap red', price: 999, stock: 7 },
];

/** Permissions of the role Resolve's API key and admin user get: what the connector's docs ask merchants for. */
export const RESOLVE_PERMISSIONS = [
  'ReadOrder',
  'UpdateOrder',
  'CreateOrder',
  'ReadCustomer',
  'ReadCatalog',
  'ReadPromotion',
  'CreatePromotion',
  'DeletePromotion',
  'ReadPaymentMethod',
  'ReadShippingMethod',
];

export interface PlaceOrder {
  items: { sku: string; quantity: number }[];
  zip: string;
  countryCode?: string;
  email?: string;
  lastName?: string;
}

export interface VendureShop {
  adminApiUrl: string;
  shopApiUrl: string;
  /** Superadmin session on the Admin API (the merchant). */
  admin: Gql;
  variantId: Map<string, string>;
  /** An API key and an admin login with RESOLVE_PERMISSIONS only. */
  apiKey: string;
  login: { username: string; password: string };
  placeOrder(o: PlaceOrder): Promise<{ id: string; code: string }>;
  /** Fulfils lines (default: all) with the manual handler: carrier method + tracking code. */
  fulfil(
    orderId: string,
    opts?: { lines?: { orderLineId: string; quantity: number }[]; method?: string; tracking?: string },
  ): Promise<string>;
  transitionFulfillment(id: string, ...states: ('Shipped' | 'Delivered' | 'Cancelled')[]): Promise<void>;
  order(id: string): Promise<VendureOrderView>;
  close(): Promise<void>;
}

export interface VendureOrderView {
  id: string;
  code: string;
  state: string;
  active: boolean;
  totalWithTax: number;
  shippingWithTax: number;
  shippingAddress: {
    fullName: string | null;
    streetLine1: string | null;
    city: string | null;
    postalCode: string | null;
    countryCode: string | null;
  };
  lines: {
    id: string;
    quantity: number;
    unitPriceWithTax: number;
    proratedLinePriceWithTax: number;
    productVariant: { sku: string };
  }[];
  payments: {
    id: string;
    amount: number;
    state: string;
    transactionId: string | null;
    refunds: {
      id: string;
      total: number;
      reason: string | null;
      state: string;
      lines: { orderLineId: string; quantity: number }[];
    }[];
  }[];
  fulfillments: { id: string; state: string; method: string; trackingCode: string | null }[];
  couponCodes: string[];
}

const ORDER_VIEW = `query ($id: ID!) { order(id: $id) { id code state active totalWithTax shippingWithTax couponCodes
  shippingAddress { fullName streetLine1 city postalCode countryCode }
  lines { id quantity unitPriceWithTax proratedLinePriceWithTax productVariant { sku } }
  payments { id amount state transactionId refunds { id total reason state lines { orderLineId quantity } } }
  fulfillments { id state method trackingCode } } }`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startVendure(): Promise<VendureShop> {
  const t0 = Date.now();
  // Vendure 3.7 reports to telemetry.vendure.io on startup unless told not to; tests must not phone home.
  process.env.VENDURE_DISABLE_TELEMETRY = 'true';
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-vendure-'));
  registerInitializer('sqljs', new SqljsInitializer(dataDir));
  const port = await freePort();
  const config = mergeConfig(testConfig, {
    apiOptions: { port },
    // Bearer tokens for logins and, since 3.6, long-lived API keys in the `vendure-api-key` header.
    authOptions: { tokenMethod: ['bearer', 'api-key'] },
    logger: new DefaultLogger({ level: process.env.VENDURE_LOG ? LogLevel.Info : LogLevel.Error }),
    paymentOptions: { paymentMethodHandlers: [dummyPaymentHandler] },
  });
  const { server } = createTestEnvironment(config);
  await server.init({
    initialData: {
      defaultLanguage: LanguageCode.en,
      defaultZone: 'Europe',
      taxRates: [{ name: 'Standard Tax', percentage: 19 }],
      shippingMethods: [{ name: 'Standard Shipping', price: 495 }],
      paymentMethods: [
        {
          name: 'Dummy',
          handler: {
            code: dummyPaymentHandler.code,
            arguments: [{ name: 'automaticSettle', value: 'true' }],
          },
        },
      ],
      countries: [
        { name: 'Germany', code: 'DE', zone: 'Europe' },
        { name: 'United Kingdom', code: 'GB', zone: 'Europe' },
      ],
      collections: [],
    },
    customerCount: 1,
  });
  const base = `http://localhost:${port}`;
  const adminApiUrl = `${base}/admin-api`;
  const shopApiUrl = `${base}/shop-api`;
  const admin = new Gql(adminApiUrl);
  await admin.request(
    `mutation { login(username: "superadmin", password: "superadmin") { ... on CurrentUser { id } ... on ErrorResult { errorCode message } } }`,
  );

  // Prices in euros: the default channel's currency is USD until changed (before any price exists).
  const channel = await admin.request<{ activeChannel: { id: string } }>(`{ activeChannel { id } }`);
  await admin.request(
    `mutation ($id: ID!) { updateChannel(input: { id: $id, defaultCurrencyCode: EUR, availableCurrencyCodes: [EUR] }) { ... on Channel { id } ... on ErrorResult { errorCode message } } }`,
    { id: channel.activeChannel.id },
  );

  const variantId = new Map<string, string>();
  for (const v of VARIANTS) {
    const slug = v.sku.toLowerCase();
    const p = await admin.request<{ createProduct: { id: string } }>(
      `mutation ($name: String!, $slug: String!) { createProduct(input: { translations: [{ languageCode: en, name: $name, slug: $slug, description: "" }] }) { id } }`,
      { name: v.product, slug },
    );
    const pv = await admin.request<{ createProductVariants: { id: string }[] }>(
      `mutation ($pid: ID!, $sku: String!, $price: Money!, $stock: Int!, $name: String!) { createProductVariants(input: [{ productId: $pid, sku: $sku, price: $price, stockOnHand: $stock, trackInventory: TRUE, translations: [{ languageCode: en, name: $name }] }]) { id } }`,
      { pid: p.createProduct.id, sku: v.sku, price: v.price, stock: v.stock, name: v.variant },
    );
    variantId.set(v.sku, pv.createProductVariants[0].id);
  }

  // The connector's own identity: a role with only what it needs, as an API key and as an admin login.
  const role = await admin.request<{ createRole: { id: string } }>(
    `mutation ($p: [Permission!]!, $c: [ID!]) { createRole(input: { code: "resolve", description: "Resolve claims", permissions: $p, channelIds: $c }) { id } }`,
    { p: RESOLVE_PERMISSIONS, c: [channel.activeChannel.id] },
  );
  const login = { username: 'resolve@shop.test', password: 'resolve-Secret-1' };
  await admin.request(
    `mutation ($e: String!, $pw: String!, $r: ID!) { createAdministrator(input: { firstName: "Resolve", lastName: "Connector", emailAddress: $e, password: $pw, roleIds: [$r] }) { id } }`,
    { e: login.username, pw: login.password, r: role.createRole.id },
  );
  const key = await admin.request<{ createApiKey: { apiKey: string } }>(
    `mutation ($r: ID!) { createApiKey(input: { roleIds: [$r], translations: [{ languageCode: en, name: "Resolve" }] }) { apiKey } }`,
    { r: role.createRole.id },
  );
  const payCode = (
    await admin.request<{ paymentMethods: { items: { code: string }[] } }>(
      `{ paymentMethods { items { code } } }`,
    )
  ).paymentMethods.items[0].code;
  console.log(`vendure: up on :${port}, seeded in ${Date.now() - t0} ms`);

  const shop: VendureShop = {
    adminApiUrl,
    shopApiUrl,
    admin,
    variantId,
    apiKey: key.createApiKey.apiKey,
    login,

    async placeOrder(o) {
      const s = new Gql(shopApiUrl); // a fresh storefront session: its own active order
      for (const it of o.items)
        await s.request(
          `mutation ($v: ID!, $q: Int!) { addItemToOrder(productVariantId: $v, quantity: $q) { ... on Order { id } ... on ErrorResult { errorCode message } } }`,
          { v: variantId.get(it.sku), q: it.quantity },
        );
      const lastName = o.lastName ?? 'Muster';
      await s.request(
        `mutation ($e: String!, $l: String!) { setCustomerForOrder(input: { emailAddress: $e, firstName: "Erika", lastName: $l }) { ... on Order { id } ... on ErrorResult { errorCode message } } }`,
        { e: o.email ?? 'erika@example.com', l: lastName },
      );
      await s.request(
        `mutation ($zip: String!, $cc: String!, $name: String!) { setOrderShippingAddress(input: { fullName: $name, streetLine1: "Hauptstr. 1", city: "Berlin", postalCode: $zip, countryCode: $cc }) { ... on Order { id } ... on ErrorResult { errorCode message } } }`,
        { zip: o.zip, cc: o.countryCode ?? 'DE', name: `Erika ${lastName}` },
      );
      const sm = await s.request<{ eligibleShippingMethods: { id: string }[] }>(
        `{ eligibleShippingMethods { id } }`,
      );
      await s.request(
        `mutation ($id: [ID!]!) { setOrderShippingMethod(shippingMethodId: $id) { ... on Order { id } ... on ErrorResult { errorCode message } } }`,
        { id: [sm.eligibleShippingMethods[0].id] },
      );
      await s.request(
        `mutation { transitionOrderToState(state: "ArrangingPayment") { ... on Order { id } ... on OrderStateTransitionError { errorCode message transitionError } } }`,
      );
      const paid = await s.request<{ addPaymentToOrder: { id: string; code: string; state: string } }>(
        `mutation ($m: String!) { addPaymentToOrder(input: { method: $m, metadata: {} }) { ... on Order { id code state } ... on ErrorResult { errorCode message } } }`,
        { m: payCode },
      );
      if (paid.addPaymentToOrder.state !== 'PaymentSettled')
        throw new Error(`order not settled: ${JSON.stringify(paid)}`);
      return { id: paid.addPaymentToOrder.id, code: paid.addPaymentToOrder.code };
    },

    async fulfil(orderId, opts = {}) {
      const lines =
        opts.lines ??
        (await shop.order(orderId)).lines.map((l) => ({ orderLineId: l.id, quantity: l.quantity }));
      const r = await admin.request<{ addFulfillmentToOrder: { id: string } }>(
        `mutation ($lines: [OrderLineInput!]!, $m: String!, $t: String!) { addFulfillmentToOrder(input: { lines: $lines, handler: { code: "manual-fulfillment", arguments: [{ name: "method", value: $m }, { name: "trackingCode", value: $t }] } }) { ... on Fulfillment { id } ... on ErrorResult { errorCode message } } }`,
        {
          lines,
          m: opts.method ?? 'DHL',
          t: opts.tracking ?? `00340434${orderId.replace(/\D/g, '').padStart(8, '0')}`,
        },
      );
      return r.addFulfillmentToOrder.id;
    },

    async transitionFulfillment(id, ...states) {
      for (const state of states)
        await admin.request(
          `mutation ($id: ID!, $s: String!) { transitionFulfillmentToState(id: $id, state: $s) { ... on Fulfillment { id } ... on ErrorResult { errorCode message } } }`,
          { id, s: state },
        );
    },

    async order(id) {
      return (await admin.request<{ order: VendureOrderView }>(ORDER_VIEW, { id })).order;
    },

    async close() {
      await server.destroy();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return shop;
}
