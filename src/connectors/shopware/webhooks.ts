import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { PlatformWebhook } from '../platform.js';

/**
 * Shopware app webhooks (app system only: an integration without an app receives none, and then the periodic
 * reconcile is the only sync path). Each request carries `shopware-shop-signature`: hex HMAC-SHA256 of the raw
 * body with the secret the app gave the shop at registration. Body: `{data: {event, payload}, source: {url,
 * shopId, appVersion, eventId}, timestamp}`. The event id is stable across retries: `X-Shopware-Event-Id`
 * (newer shops) and `source.eventId` (6.4.11+); before that the body itself is the identity.
 *
 * The timestamp is not enforced: retries of one event span ~4.5 hours, and de-duplication by event id
 * already makes a replay change nothing.
 */

type Headers = Record<string, string | string[] | undefined>;

const HEX_ID = /^[0-9a-f]{32}$/;

function header(headers: Headers, name: string): string | null {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : headers[key];
  const s = Array.isArray(v) ? v[0] : v;
  return s?.trim() ? s.trim() : null;
}

export function signShopwareBody(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

function validSignature(rawBody: Buffer, given: string, secret: string): boolean {
  if (!/^[0-9a-f]{64}$/i.test(given)) return false;
  const expected = Buffer.from(signShopwareBody(rawBody, secret), 'hex');
  return timingSafeEqual(expected, Buffer.from(given.toLowerCase(), 'hex'));
}

/** The order a payload concerns: `{order: {id}}` for business and state events, `primaryKey`s for order.written. */
function orderIdOf(event: string, payload: unknown): string | null {
  if (payload && typeof payload === 'object' && !Array.isArray(payload)) {
    const order = (payload as { order?: { id?: unknown } }).order;
    if (typeof order?.id === 'string' && HEX_ID.test(order.id)) return order.id;
  }
  if (event === 'order.written' && Array.isArray(payload)) {
    for (const w of payload as { entity?: string; primaryKey?: unknown }[]) {
      if (w?.entity !== 'order') continue;
      const pk = w.primaryKey;
      // Versioned entities report {id, versionId}; others a plain id.
      const id = typeof pk === 'string' ? pk : (pk as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && HEX_ID.test(id)) return id;
    }
  }
  return null;
}

export function verifyShopwareWebhook(
  rawBody: Buffer,
  headers: Headers,
  appSecret: string,
): PlatformWebhook | null {
  const given = header(headers, 'shopware-shop-signature');
  if (!given || !appSecret || !validSignature(rawBody, given, appSecret)) return null;
  let body: { data?: { event?: unknown; payload?: unknown }; source?: { eventId?: unknown } };
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return null;
  }
  const event = typeof body?.data?.event === 'string' ? body.data.event : null;
  if (!event) return null;
  const signedId =
    typeof body.source?.eventId === 'string' && body.source.eventId ? body.source.eventId : null;
  const eventId =
    signedId ??
    header(headers, 'x-shopware-event-id') ??
    `sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
  return { eventId, topic: event, orderExternalId: orderIdOf(event, body.data?.payload) };
}
