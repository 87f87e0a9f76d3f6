import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { orders, resolveSessions, revokedTokens, shops } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { deriveKey } from '../lib/secret.js';
import type { Shop } from '../shops/shops.js';

/**
 * Order tokens are compact JWS (HS256) with a per-shop key id, so a shop's keys rotate without breaking
 * live links: `kid` picks the key, each key derived from the master secret, the shop id and the kid.
 */
export interface TokenClaims {
  iss: 'resolve';
  shop: string;
  sub: string;
  scope: 'order';
  iat: number;
  exp: number;
  jti: string;
  /** Issue time in milliseconds: "revoke all links of this order" needs finer than `iat`'s seconds. */
  iat_ms: number;
}

interface TokenKeys {
  current: string;
  retired: string[];
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export function tokenKeysOf(shop: Shop): TokenKeys {
  const t = (shop.settings as { token_keys?: Partial<TokenKeys> }).token_keys;
  return { current: t?.current ?? 'k1', retired: t?.retired ?? [] };
}

function sign(master: Buffer, shopId: string, kid: string, input: string): Buffer {
  return createHmac('sha256', deriveKey(master, 'order-token', shopId, kid))
    .update(input)
    .digest();
}

export function issueOrderToken(
  master: Buffer,
  shop: Shop,
  orderId: string,
  ttlSeconds: number,
  now = new Date(),
): { token: string; claims: TokenClaims } {
  const kid = tokenKeysOf(shop).current;
  const iat = Math.floor(now.getTime() / 1000);
  const claims: TokenClaims = {
    iss: 'resolve',
    shop: shop.id,
    sub: orderId,
    scope: 'order',
    iat,
    exp: iat + ttlSeconds,
    jti: `tok_${randomBytes(12).toString('base64url')}`,
    iat_ms: now.getTime(),
  };
  const input = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(claims)}`;
  return { token: `${input}.${sign(master, shop.id, kid, input).toString('base64url')}`, claims };
}

const invalid = () =>
  new AppError(
    'token_invalid',
    'This link is not valid. Ask the shop for a new one, or look up your order by number and ZIP code.',
  );

/** Verifies signature, shop, expiry and revocation. Every failure but expiry/revocation is the same answer. */
export async function verifyOrderToken(
  db: Db,
  master: Buffer,
  shop: Shop,
  token: string,
  now = new Date(),
): Promise<TokenClaims> {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > 2048) throw invalid();
  let header: { alg?: string; kid?: string };
  let claims: TokenClaims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(header) || !isObject(claims)) throw invalid();
  const keys = tokenKeysOf(shop);
  if (header.alg !== 'HS256' || typeof header.kid !== 'string' || keys.retired.includes(header.kid))
    throw invalid();
  const expected = sign(master, shop.id, header.kid, `${parts[0]}.${parts[1]}`);
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  if (
    claims.iss !== 'resolve' ||
    claims.shop !== shop.id ||
    claims.scope !== 'order' ||
    typeof claims.sub !== 'string' ||
    typeof claims.jti !== 'string'
  )
    throw invalid();
  if (!Number.isInteger(claims.exp) || claims.exp * 1000 <= now.getTime()) {
    throw new AppError(
      'token_expired',
      'This link has expired. Ask the shop for a new one, or look up your order by number and ZIP code.',
    );
  }
  const [order] = await db
    .select({ validAfter: orders.tokensValidAfter })
    .from(orders)
    .where(and(eq(orders.shopId, shop.id), eq(orders.id, claims.sub)));
  if (!order) throw invalid();
  const [revoked] = await db
    .select()
    .from(revokedTokens)
    .where(
      and(
        eq(revokedTokens.shopId, shop.id),
        eq(revokedTokens.orderId, claims.sub),
        eq(revokedTokens.tokenId, claims.jti),
      ),
    );
  if (revoked || (order.validAfter && !(Number(claims.iat_ms) >= order.validAfter.getTime()))) {
    throw new AppError(
      'token_revoked',
      'This link has been withdrawn by the shop. Look up your order by number and ZIP code instead.',
    );
  }
  return claims;
}

/**
 * Revokes one link of the order (by token id) or every link of the order issued so far; their open sessions end
 * too. A token id is revoked for this order only: an id of another order's link (or none ever issued) changes
 * nothing else.
 */
export async function revokeOrderTokens(
  tx: Db,
  shopId: string,
  orderId: string,
  tokenId: string | null,
  now = new Date(),
): Promise<void> {
  if (tokenId) {
    await tx.insert(revokedTokens).values({ shopId, tokenId, orderId, revokedAt: now }).onConflictDoNothing();
    await tx
      .delete(resolveSessions)
      .where(
        and(
          eq(resolveSessions.shopId, shopId),
          eq(resolveSessions.orderId, orderId),
          eq(resolveSessions.tokenId, tokenId),
        ),
      );
    return;
  }
  await tx
    .update(orders)
    .set({ tokensValidAfter: new Date(now.getTime() + 1) })
    .where(and(eq(orders.shopId, shopId), eq(orders.id, orderId)));
  await tx
    .delete(resolveSessions)
    .where(
      and(
        eq(resolveSessions.shopId, shopId),
        eq(resolveSessions.orderId, orderId),
        eq(resolveSessions.level, 'token'),
      ),
    );
}

/** Starts signing with a new key id; with `retirePrevious`, links signed with older keys stop working. */
export async function rotateTokenKey(tx: Db, shop: Shop, retirePrevious: boolean): Promise<TokenKeys> {
  // The keys as stored now, under the shop row's lock: a rotation computed from the request's copy would undo
  // one made meanwhile (a key retired by it would work again).
  const [row] = await tx
    .select({ settings: shops.settings })
    .from(shops)
    .where(eq(shops.id, shop.id))
    .for('update');
  const keys = tokenKeysOf(row ? { ...shop, settings: row.settings } : shop);
  const n = Number(keys.current.replace(/^k/, '')) || 1;
  const next: TokenKeys = {
    current: `k${n + 1}`,
    retired: retirePrevious ? Array.from({ length: n }, (_, i) => `k${i + 1}`) : keys.retired,
  };
  // Only the token_keys entry changes, so a settings change made at the same moment is not lost.
  await tx
    .update(shops)
    .set({
      settings: sql`jsonb_set(${shops.settings}, '{token_keys}', ${JSON.stringify(next)}::jsonb, true)`,
      updatedAt: new Date(),
    })
    .where(eq(shops.id, shop.id));
  return next;
}
