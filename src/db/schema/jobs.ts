/** The transactional job queue and the stored answers to idempotent POSTs. */
import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, ts, updatedAt } from './columns.js';

/** Transactional job queue: rows are written in the caller's transaction and claimed with SKIP LOCKED. */
export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    shopId: text('shop_id'),
    payload: jsonb('payload').notNull(),
    status: text('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(10),
    runAt: ts('run_at').notNull().defaultNow(),
    lockedUntil: ts('locked_until'),
    lockedBy: text('locked_by'),
    lastError: text('last_error'),
    uniqueKey: text('unique_key'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    // Claiming reads due jobs in run_at order and expired leases in lease order (src/jobs/queue.ts), each from an
    // index holding only those rows, so a claim stops after `limit` rows however long the backlog behind it.
    index('jobs_queued_idx').on(t.runAt).where(sql`status = 'queued'`),
    index('jobs_lease_idx').on(t.lockedUntil).where(sql`status = 'running'`),
    // A webhook fan-out takes over its shop's other queued fan-outs (src/webhooks/fanout.ts).
    index('jobs_fanout_idx').on(t.shopId, t.runAt).where(sql`type = 'webhooks.fanout' and status = 'queued'`),
    // Most jobs have no key: they are not in this index at all.
    uniqueIndex('jobs_unique_key_uq').on(t.uniqueKey).where(sql`unique_key is not null`),
  ],
);

/** Stored answers to POSTs with an Idempotency-Key, per credential scope. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code'),
    responseBody: text('response_body'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('idempotency_created_idx').on(t.createdAt)],
);
