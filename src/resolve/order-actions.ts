import { and, eq } from 'drizzle-orm';
import { type Static, Type } from 'typebox';
import { emitEvent } from '../claims/events.js';
import { type PlatformClient, PlatformError } from '../connectors/platform.js';
import { connectorFor } from '../connectors/registry.js';
import type { Db } from '../db/client.js';
import { orders } from '../db/schema.js';
import { Str } from '../http/schema-helpers.js';
import { AppError, type FieldError } from '../lib/errors.js';
import { normalizeZip } from '../orders/document.js';
import type { Shop } from '../shops/shops.js';

export const AddressChangeInput = Type.Object(
  {
    name: Str(255, { minLength: 1 }),
    company: Type.Optional(Type.Union([Str(255), Type.Null()])),
    address_line_1: Str(255, { minLength: 1 }),
    address_line_2: Type.Optional(Type.Union([Str(255), Type.Null()])),
    city: Str(255, { minLength: 1 }),
    zip_code: Str(32, { minLength: 1 }),
    province: Type.Optional(Type.Union([Str(255), Type.Null()])),
    country_code: Type.String({
      pattern: '^[A-Za-z]{2}$',
      patternMessage: 'must be a two-letter country code such as DE',
    }),
    phone: Type.Optional(Type.Union([Str(64), Type.Null()])),
  },
  { additionalProperties: false },
);
export type AddressChange = Static<typeof AddressChangeInput>;

// Postcode shapes of the shop countries we see most; others only need a non-empty value.
const POSTCODE: Record<string, RegExp> = {
  DE: /^\d{5}$/,
  AT: /^\d{4}$/,
  CH: /^\d{4}$/,
  FR: /^\d{5}$/,
  IT: /^\d{5}$/,
  ES: /^\d{5}$/,
  NL: /^\d{4}\s?[A-Z]{2}$/i,
  BE: /^\d{4}$/,
  DK: /^\d{4}$/,
  US: /^\d{5}(-\d{4})?$/,
  GB: /^[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}$/i,
};

async function lockPlacedOrder(tx: Db, shopId: string, orderId: string, action: string) {
  const [o] = await tx
    .select()
    .from(orders)
    .where(and(eq(orders.shopId, shopId), eq(orders.id, orderId)))
    .for('update');
  if (!o) throw new AppError('order_not_found', 'No such order.');
  if (o.state !== 'placed') {
    const why =
      o.state === 'cancelled'
        ? 'the order is already cancelled'
        : 'the order has already been (partly) shipped';
    throw new AppError('action_not_allowed', `You can no longer ${action}: ${why}.`);
  }
  return o;
}

/**
 * Token-level customer actions (SPEC §3). The shop's connector carries them out; a headless shop learns
 * of them through the `orders/*` event (webhook) and Resolve records the change on its copy.
 */
/**
 * Runs an order action in the shop: the demo's built-in connector, a connected platform (a platform that
 * cannot do it, or refuses, is reported as such), or nothing for a headless shop, which learns of the change
 * from the `orders/*` event.
 */
async function inShop(
  shop: Shop,
  platform: PlatformClient | null,
  o: { externalId: string | null },
  demo: (() => Promise<{ externalRef: string | null }>) | undefined,
  remote: ((c: PlatformClient, externalId: string) => Promise<{ externalRef: string | null }>) | null,
  unavailable: string,
): Promise<string | null> {
  if (shop.connector === 'demo' && demo) return (await demo()).externalRef;
  if (!platform) return null;
  if (!remote || !o.externalId) throw new AppError('action_unavailable', unavailable);
  try {
    return (await remote(platform, o.externalId)).externalRef;
  } catch (err) {
    if (!(err instanceof PlatformError)) throw err;
    throw new AppError('action_unavailable', `${unavailable} (${err.message})`);
  }
}

export async function cancelOrderByCustomer(
  tx: Db,
  shop: Shop,
  orderId: string,
  reason: string | null,
  platform: PlatformClient | null = null,
  now = new Date(),
) {
  const o = await lockPlacedOrder(tx, shop.id, orderId, 'cancel this order');
  const connector = connectorFor(shop.connector);
  const externalRef = await inShop(
    shop,
    platform,
    o,
    connector?.cancelOrder &&
      (() =>
        connector.cancelOrder!(
          { db: tx, shop, now },
          { id: o.id, externalId: o.externalId },
          reason ?? 'customer request',
        )),
    platform?.cancelOrder
      ? (c, externalId) =>
          c.cancelOrder!({ orderExternalId: externalId, reason: reason ?? 'customer request' })
      : null,
    'This shop does not support cancelling orders online. Please contact the shop.',
  );
  await tx
    .update(orders)
    // localChangeAt: taken after the platform call, so a sync that read the order while it ran counts as older.
    .set({ cancelledAt: now, state: 'cancelled', updatedAt: now, localChangeAt: new Date() })
    .where(and(eq(orders.shopId, shop.id), eq(orders.id, o.id)));
  await emitEvent(tx, shop.id, 'orders/cancelled', o.id, {
    order_id: o.id,
    order_number: o.orderNumber,
    external_id: o.externalId,
    cancelled_at: now.toISOString(),
    reason,
    initiated_by: 'customer',
    external_ref: externalRef,
  });
}

export async function changeAddressByCustomer(
  tx: Db,
  shop: Shop,
  orderId: string,
  input: AddressChange,
  platform: PlatformClient | null = null,
  now = new Date(),
) {
  const o = await lockPlacedOrder(tx, shop.id, orderId, 'change the shipping address');
  const previous = (o.shippingAddress ?? null) as Record<string, string | null> | null;
  const address = {
    name: input.name.trim(),
    company: input.company?.trim() || null,
    address_line_1: input.address_line_1.trim(),
    address_line_2: input.address_line_2?.trim() || null,
    city: input.city.trim(),
    zip_code: input.zip_code.trim().toUpperCase(),
    province: input.province?.trim() || null,
    country_code: input.country_code.toUpperCase(),
    phone: input.phone?.trim() || previous?.phone || null,
  };
  const errors: FieldError[] = [];
  const shape = POSTCODE[address.country_code];
  if (shape && !shape.test(address.zip_code))
    errors.push({ path: '/zip_code', message: `not a valid postcode for ${address.country_code}` });
  if (previous?.country_code && previous.country_code !== address.country_code) {
    errors.push({
      path: '/country_code',
      message: 'the shipping country cannot be changed online; contact the shop',
    });
  }
  for (const k of ['name', 'address_line_1', 'city'] as const)
    if (!address[k]) errors.push({ path: `/${k}`, message: 'required' });
  if (errors.length) throw new AppError('validation_failed', 'The address is invalid.', errors);

  const connector = connectorFor(shop.connector);
  const externalRef = await inShop(
    shop,
    platform,
    o,
    connector?.changeShippingAddress &&
      (() =>
        connector.changeShippingAddress!(
          { db: tx, shop, now },
          { id: o.id, externalId: o.externalId },
          address,
        )),
    platform?.changeShippingAddress
      ? (c, externalId) => c.changeShippingAddress!({ orderExternalId: externalId, address })
      : null,
    'This shop does not support changing the address online. Please contact the shop.',
  );
  await tx
    .update(orders)
    .set({
      shippingAddress: address,
      zipNorm: normalizeZip(address.zip_code),
      updatedAt: now,
      localChangeAt: new Date(),
    })
    .where(and(eq(orders.shopId, shop.id), eq(orders.id, o.id)));
  await emitEvent(tx, shop.id, 'orders/address_changed', o.id, {
    order_id: o.id,
    order_number: o.orderNumber,
    external_id: o.externalId,
    from: previous,
    to: address,
    initiated_by: 'customer',
    external_ref: externalRef,
  });
  return address;
}
