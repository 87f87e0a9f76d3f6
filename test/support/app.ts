import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { type App, buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Database, Db } from '../../src/db/client.js';
import type { AppDeps } from '../../src/http/context.js';
import { createMetrics } from '../../src/http/metrics.js';
import { redisLookupCounters } from '../../src/resolve/redis-counters.js';
import { createApiKey, type Role } from '../../src/shops/api-keys.js';
import { createShop, type Shop } from '../../src/shops/shops.js';
import { openTestDb } from './db.js';

export interface TestContext {
  app: App;
  database: Database;
  db: Db;
  deps: AppDeps;
  close(): Promise<void>;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  // Evidence files of a test run go to a throwaway folder, never the repository's data/.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-test-'));
  return {
    ...loadConfig({
      LOG_LEVEL: 'silent',
      PUBLIC_URL: 'http://resolve.test',
      DATA_DIR: dataDir,
      REDIS_URL: process.env.REDIS_URL,
    }),
    ...overrides,
  };
}

/** The real app on the real database, driven through `inject`. One per test file. */
export async function startTestApp(
  overrides: Partial<Config> = {},
  opts: { databaseUrl?: string | null } = {},
): Promise<TestContext> {
  const database = await openTestDb(opts.databaseUrl === undefined ? undefined : opts.databaseUrl);
  const config = testConfig(overrides);
  // With REDIS_URL set (CI's PostgreSQL pass), the lookup counts in Redis, under keys of this test app only.
  const counters = config.redisUrl
    ? redisLookupCounters(config.redisUrl, `resolve-test:${randomBytes(6).toString('hex')}:`)
    : null;
  const deps: AppDeps = {
    config,
    database,
    log: pino({ level: 'silent' }),
    metrics: createMetrics(),
    lookupCounters: counters,
  };
  let app: App;
  try {
    app = await buildApp(deps);
    await app.ready();
  } catch (err) {
    await counters?.close();
    await database.close(); // an app that fails to build must not keep the test process alive
    throw err;
  }
  return {
    app,
    database,
    db: database.db,
    deps,
    async close() {
      await app.close();
      await counters?.close();
      await database.close();
    },
  };
}

export interface TestShop {
  shop: Shop;
  slug: string;
  keys: Record<Role, string>;
  /** Authorization header values for each role. */
  auth: Record<Role, { authorization: string }>;
}

export function uniqueSlug(prefix = 'shop'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** The shops this test process created: `drainJobs` runs only their jobs (test/support/jobs.ts). */
export const testShopIds = new Set<string>();

/** A fresh shop with one API key per role: tests never share tenants. */
export async function createTestShop(db: Db, prefix = 'shop'): Promise<TestShop> {
  const slug = uniqueSlug(prefix);
  const shop = await createShop(db, { slug, name: `Test ${slug}` });
  testShopIds.add(shop.id);
  const keys = {} as Record<Role, string>;
  const auth = {} as Record<Role, { authorization: string }>;
  for (const role of ['viewer', 'editor', 'admin'] as const) {
    keys[role] = (await createApiKey(db, { shopIds: [shop.id], role, name: slug })).secret;
    auth[role] = { authorization: `Bearer ${keys[role]}` };
  }
  return { shop, slug, keys, auth };
}
