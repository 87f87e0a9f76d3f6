import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PlatformDeps, PlatformWebhook } from '../platform.js';
import type { ShopifyConnection, ShopifyGraphql } from './client.js';
import { userErrorsToError } from './client.js';
import { API_VERSION, WEBHOOK_SUBSCRIPTION_CREATE, WEBHOOK_SUBSCRIPTIONS } from './queries.js';
import { WebhookSubscriptionCreate, WebhookSubscriptions } from './schemas.js';

/** The topics sync needs, as REST names (X-Shopify-Topic) → GraphQL WebhookSubscriptionTopic. */
export const TOPICS: Record<string, string> = {
  'orders/create': 'ORDERS_CREATE',
  'orders/updated': 'ORDERS_UPDATED',
  'orders/cancelled': 'ORDERS_CANCELLED',
  'fulfillments/create': 'FULFILLMENTS_CREATE',
  'fulfillments/update': 'FULFILLMENTS_UPDATE',
  'refunds/create': 'REFUNDS_CREATE',
};

type Headers = Record<string, string | string[] | undefined>;
const header = (h: Headers, name: string): string | null => {
  const v =
    h[name] ?? h[name.toLowerCase()] ?? Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1];
  const s = Array.isArray(v) ? v[0] : v;
  return s?.trim() || null;
};

/** Payloads are REST-shaped: orders carry their own id, fulfillments and refunds the order's `order_id`. */
function orderIdOf(topic: string, payload: unknown): string | null {
  if (!payload || typeof payload !== 'object') return null;
  const p = payload as Record<string, unknown>;
  const gid = (v: unknown) =>
    typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v)) ? `gid://shopify/Order/${v}` : null;
  if (topic.startsWith('orders/')) {
    const g = p.admin_graphql_api_id;
    return typeof g === 'string' && g.startsWith('gid://shopify/Order/') ? g : gid(p.id);
  }
  return gid(p.order_id);
}

/**
 * X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(raw body, app client secret)), compared in constant time before
 * the body is parsed. The shop domain header must name this connection's shop: one app secret signs the
 * webhooks of every shop that installed the app.
 */
export function verifyShopifyWebhook(
  conn: ShopifyConnection,
  deps: PlatformDeps,
  rawBody: Buffer,
  headers: Headers,
): PlatformWebhook | null {
  const given = header(headers, 'x-shopify-hmac-sha256');
  const topic = header(headers, 'x-shopify-topic');
  if (!conn.webhookSecret || !given || !topic) return null;
  const expected = createHmac('sha256', conn.webhookSecret).update(rawBody).digest();
  const received = Buffer.from(given, 'base64');
  if (received.length !== expected.length || !timingSafeEqual(received, expected)) return null;
  const shop = header(headers, 'x-shopify-shop-domain')?.toLowerCase();
  if (shop !== conn.shopDomain) return null;
  // Shopify's dedupe key is X-Shopify-Event-Id (same on every retry); one merchant action can fan out to several
  // topics under one event id, so the topic is part of the key. X-Shopify-Webhook-Id is the fallback.
  const eventId = header(headers, 'x-shopify-event-id');
  const webhookId = header(headers, 'x-shopify-webhook-id');
  if (!eventId && !webhookId) return null;
  const version = header(headers, 'x-shopify-api-version');
  if (version && version !== API_VERSION)
    deps.log.warn({ version, topic }, 'shopify: webhook from another version');
  let payload: unknown = null;
  try {
    payload = JSON.parse(rawBody.toString('utf8'));
  } catch {
    payload = null;
  }
  return {
    eventId: eventId ? `${topic}:${eventId}` : `webhook:${webhookId}`,
    topic,
    orderExternalId: orderIdOf(topic, payload),
  };
}

/** Subscribes every sync topic to `callbackUrl`, skipping the ones already subscribed there. */
export async function registerShopifyWebhooks(gql: ShopifyGraphql, callbackUrl: string): Promise<void> {
  const topics = Object.values(TOPICS);
  const existing = await gql.request(WEBHOOK_SUBSCRIPTIONS, { topics }, WebhookSubscriptions);
  const have = new Set(
    existing.webhookSubscriptions.nodes.filter((s) => s.uri === callbackUrl).map((s) => s.topic),
  );
  for (const topic of topics) {
    if (have.has(topic)) continue;
    const data = await gql.request(
      WEBHOOK_SUBSCRIPTION_CREATE,
      { topic, sub: { uri: callbackUrl, format: 'JSON' } },
      WebhookSubscriptionCreate,
    );
    const res = data.webhookSubscriptionCreate;
    if (!res?.webhookSubscription)
      throw userErrorsToError('webhookSubscriptionCreate', res?.userErrors ?? []);
  }
}
