/**
 * Tenants and the people and credentials that reach them: shops, API keys, portal users, memberships,
 * sessions and invites, plus instance-wide settings and the notices a shop's people are shown.
 */
import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, ts, updatedAt } from './columns.js';

/** A tenant. Every other row belongs to exactly one shop. */
export const shops = pgTable('shops', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  defaultLanguage: text('default_language').notNull().default('en'),
  timezone: text('timezone').notNull().default('UTC'),
  connector: text('connector').notNull().default('headless'),
  /** Last claim number handed out; claims are R-<n> (incremented under the row lock). */
  claimSeq: integer('claim_seq').notNull().default(1000),
  settings: jsonb('settings').notNull().default(sql`'{}'::jsonb`),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** API keys: the secret is stored as a SHA-256 hash (the secret itself has 256 bits of entropy). */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    role: text('role').notNull(),
    shopIds: text('shop_ids').array().notNull(),
    secretHash: text('secret_hash').notNull(),
    secretHint: text('secret_hint').notNull(),
    expiresAt: ts('expires_at'),
    lastUsedAt: ts('last_used_at'),
    revokedAt: ts('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [index('api_keys_shop_ids_idx').using('gin', t.shopIds)],
);

/** Merchant portal users; a user may belong to several shops. Passwords are scrypt hashes. */
export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    name: text('name'),
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('users_email_uq').on(t.email)],
); // stored lower-cased

export const memberships = pgTable(
  'memberships',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id, { onDelete: 'cascade' }),
    role: text('role').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.shopId] }), index('memberships_shop_idx').on(t.shopId)],
);

/** Portal sign-in sessions (httpOnly cookie); the cookie value is stored hashed. */
export const portalSessions = pgTable(
  'portal_sessions',
  {
    id: text('id').primaryKey(),
    tokenHash: text('token_hash').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    ip: text('ip'),
    userAgent: text('user_agent'),
    expiresAt: ts('expires_at').notNull(),
    lastSeenAt: ts('last_seen_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('portal_sessions_token_uq').on(t.tokenHash),
    index('portal_sessions_user_idx').on(t.userId),
    index('portal_sessions_expiry_idx').on(t.expiresAt),
  ],
);

/** An admin's invitation to join a shop with a role; the link's token is stored hashed. */
export const invites = pgTable(
  'invites',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdBy: text('created_by'),
    expiresAt: ts('expires_at').notNull(),
    acceptedAt: ts('accepted_at'),
    revokedAt: ts('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('invites_token_uq').on(t.tokenHash), index('invites_shop_idx').on(t.shopId, t.id)],
);

/** Instance-wide values shared by every process (e.g. the generated signing secret). */
export const instanceSettings = pgTable('instance_settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: updatedAt(),
});

/** Things a shop's people must be told (e.g. a webhook endpoint was disabled); the portal shows them. */
export const shopNotices = pgTable(
  'shop_notices',
  {
    id: text('id').primaryKey(),
    shopId: text('shop_id')
      .notNull()
      .references(() => shops.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    /** Lowest role that sees it: `viewer`, `editor` or `admin`. */
    audience: text('audience').notNull(),
    title: text('title').notNull(),
    message: text('message').notNull(),
    /** What it is about, e.g. `{endpoint_id, reason}`. */
    data: jsonb('data').notNull().default(sql`'{}'::jsonb`),
    createdAt: createdAt(),
    dismissedAt: ts('dismissed_at'),
  },
  (t) => [index('shop_notices_shop_idx').on(t.shopId, t.id)],
);
