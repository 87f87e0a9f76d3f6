import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { PlatformWebhook } from '../platform.js';
import type { WooClient } from './client.js';
import { parse, type WooWebhookT } from './schemas.js';

/**
 * WooCommerce webhooks (WC_Webhook::deliver): POST with the JSON body, `X-WC-Webhook-Signature` =
 * base64(HMAC-SHA256(raw body, secret)), `X-WC-Webhook-Topic|Resource|Event|ID|Source|Delivery-ID`.
 * The ping sent when a webhook is created is `webhook_id=N` form data with no signature: it is not an event.
 */

export const ORDER_TOPICS = ['order.created', 'order.updated', 'order.deleted', 'order.restored'] as const;

const header = (h: Record<string, string | string[] | undefined>, name: string): string | null => {
  const v =
    h[name] ?? h[name.toLowerCase()] ?? Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1];
  const s = Array.isArray(v) ? v[0] : v;
  return s ? s.trim() : null;
};

export function verifyWooWebhook(
  rawBody: Buffer,
  headers: Record<string, string | string[] | undefined>,
  secret: string,
): PlatformWebhook | null {
  const sig = header(headers, 'x-wc-webhook-signature');
  if (!secret || !sig) return null;
  const given = Buffer.from(sig, 'base64');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;

  const resource = header(headers, 'x-wc-webhook-resource');
  const topic =
    header(headers, 'x-wc-webhook-topic') ??
    (resource ? `${resource}.${header(headers, 'x-wc-webhook-event') ?? 'unknown'}` : 'unknown');
  // Woo's delivery id is wp_hash(webhook id . unix second): two deliveries of one webhook in the same second
  // share it. The body digest keeps those apart, while a replay (same id, same body) keeps its event id.
  const digest = createHash('sha256').update(rawBody).digest('hex').slice(0, 16);
  const delivery = header(headers, 'x-wc-webhook-delivery-id');
  const eventId = delivery ? `${delivery}.${digest}` : `body.${digest}`;

  let orderExternalId: string | null = null;
  if ((resource ?? topic.split('.')[0]) === 'order') {
    try {
      const id = (JSON.parse(rawBody.toString('utf8')) as { id?: unknown }).id;
      if (typeof id === 'number' || (typeof id === 'string' && /^\d+$/.test(id)))
        orderExternalId = String(id);
    } catch {
      orderExternalId = null;
    }
  }
  return { eventId, topic, orderExternalId };
}

/** Creates (or re-activates and re-keys) one webhook per order topic pointing at `callbackUrl`. */
export async function registerWooWebhooks(
  client: WooClient,
  callbackUrl: string,
  secret: string,
): Promise<void> {
  const existing: WooWebhookT[] = [];
  for (let page = 1; ; page++) {
    const { data, headers } = await client.get(
      '/webhooks',
      { per_page: 100, page },
      parse.webhooks,
      'webhooks',
    );
    existing.push(...data);
    if (page >= Number(headers.get('x-wp-totalpages') ?? '1')) break;
  }
  for (const topic of ORDER_TOPICS) {
    const mine = existing.find((w) => w.topic === topic && w.delivery_url === callbackUrl);
    // The secret is write-only in Woo, so an existing webhook is re-keyed: the connection's secret wins.
    if (mine)
      await client.put(`/webhooks/${mine.id}`, { status: 'active', secret }, parse.webhook, 'webhook');
    else
      await client.post(
        '/webhooks',
        { name: `Resolve ${topic}`, topic, delivery_url: callbackUrl, secret, status: 'active' },
        parse.webhook,
        'webhook',
      );
  }
}
