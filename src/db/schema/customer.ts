/**
 * The customer flow's state: Resolve sessions, revoked order tokens, lookup rate limits and uploaded evidence
 * files.
 */
import { sql } from 'drizzle-orm';
import { index, integer, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, ts, updatedAt } from './columns.js';

/** Customer sessions opened by a lookup (order number + ZIP) or an order token. The bearer is stored hashed. */
export const resolveSessions = pgTable(
  'resolve_sessions',
  {
    id: text('id').primaryKey(),
    tokenHash: text('token_hash').notNull(),
    shopId: text('shop_id').notNull(),
    orderId: text('order_id').notNull(),
    level: text('level').notNull(),
    tokenId: text('token_id'),
    expiresAt: ts('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('resolve_sessions_token_uq').on(t.tokenHash),
    index('resolve_sessions_expiry_idx').on(t.expiresAt),
  ],
);

/**
 * Revoked Resolve links, by token id and the order it was revoked for: a link is refused only when its own
 * order revoked it (links are not stored when issued, so an id named for the wrong order must not reach
 * another order's link).
 */
export const revokedTokens = pgTable(
  'revoked_tokens',
  {
    shopId: text('shop_id').notNull(),
    tokenId: text('token_id').notNull(),
    orderId: text('order_id').notNull(),
    revokedAt: ts('revoked_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.shopId, t.orderId, t.tokenId] })],
);

/** Fixed-window counters and lock-outs for the customer lookup, shared by every process. */
export const rateLimits = pgTable(
  'rate_limits',
  {
    bucket: text('bucket').primaryKey(),
    shopId: text('shop_id'),
    hits: integer('hits').notNull(),
    windowStartedAt: ts('window_started_at').notNull(),
    lockedUntil: ts('locked_until'),
    updatedAt: updatedAt(),
  },
  (t) => [index('rate_limits_shop_locked_idx').on(t.shopId, t.lockedUntil)],
);

/** Evidence files uploaded in a customer session; removed by a job unless a claim takes them within 24 h. */
export const uploads = pgTable(
  'uploads',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id').notNull(),
    orderId: text('order_id').notNull(),
    sessionId: text('session_id'),
    storageKey: text('storage_key').notNull(),
    contentType: text('content_type').notNull(),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    claimId: text('claim_id'),
    createdAt: createdAt(),
  },
  (t) => [
    index('uploads_shop_order_idx').on(t.shopId, t.orderId),
    index('uploads_unattached_idx').on(t.createdAt).where(sql`claim_id is null`),
  ],
);
