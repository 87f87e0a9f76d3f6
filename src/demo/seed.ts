import { eq, inArray, sql } from 'drizzle-orm';
import { demoConnector } from '../connectors/demo/connector.js';
import type { Db } from '../db/client.js';
import { instanceSettings, orders, shipmentEvents, shipments } from '../db/schema.js';
import { normalizeOrder } from '../orders/document.js';
import { upsertOrders } from '../orders/upsert.js';
import { createApiKey } from '../shops/api-keys.js';
import { createShop, findShopBySlug, type Shop } from '../shops/shops.js';
import { createUser, generatePassword, resetPassword } from '../shops/users.js';

export const DEMO_SLUG = 'demo';
export const DEMO_EMAIL = 'admin@demo.test';

export interface DemoCredentials {
  email: string;
  password: string;
  apiKey: string;
}

async function getSetting(db: Db, key: string): Promise<string | null> {
  const [row] = await db.select().from(instanceSettings).where(eq(instanceSettings.key, key));
  return row?.value ?? null;
}

async function setSetting(db: Db, key: string, value: string): Promise<void> {
  await db
    .insert(instanceSettings)
    .values({ key, value })
    .onConflictDoUpdate({ target: instanceSettings.key, set: { value, updatedAt: new Date() } });
}

/**
 * Creates the demo shop, its admin user and an admin API key on first run, and refreshes its orders so the
 * relative dates of SPEC §14 hold today. The demo credentials are kept readable (and only these) so that
 * every start can print them; real shops' secrets are only ever stored hashed.
 */
export async function seedDemo(
  db: Db,
  opts: {
    now?: Date;
    password?: string | null;
    /** Keep the demo orders when they were re-anchored less than this long ago (restarts within the hour). */
    keepAnchoredWithinMs?: number;
  } = {},
): Promise<{ shop: Shop; credentials: DemoCredentials }> {
  const now = opts.now ?? new Date();
  return db.transaction(async (tx) => {
    // Serialises concurrent seeds (several processes starting at once on one PostgreSQL database):
    // without it the losers fail on the demo shop's unique slug.
    await tx.execute(sql`select pg_advisory_xact_lock(727275)`);
    let shop = await findShopBySlug(tx, DEMO_SLUG);
    if (!shop) {
      shop = await createShop(tx, {
        slug: DEMO_SLUG,
        name: 'Demo Shop',
        defaultLanguage: 'en',
        timezone: 'Europe/Berlin',
        connector: 'demo',
      });
    }
    let password = await getSetting(tx, 'demo.password');
    if (opts.password && opts.password !== password) password = null;
    if (!password) {
      password = opts.password ?? generatePassword();
      const user = await createUser(tx, {
        shopId: shop.id,
        email: DEMO_EMAIL,
        role: 'admin',
        password,
        name: 'Demo Admin',
      });
      // A new demo password (given, or the stored one lost) replaces the old one.
      if (user.existed) await resetPassword(tx, DEMO_EMAIL, password);
      await setSetting(tx, 'demo.password', password);
    }
    let apiKey = await getSetting(tx, 'demo.api_key');
    if (!apiKey) {
      apiKey = (await createApiKey(tx, { shopIds: [shop.id], role: 'admin', name: DEMO_SLUG })).secret;
      await setSetting(tx, 'demo.api_key', apiKey);
    }
    const anchoredAt = Date.parse((await getSetting(tx, 'demo.anchored_at')) ?? '');
    const age = now.getTime() - anchoredAt;
    if (!(opts.keepAnchoredWithinMs && age >= 0 && age < opts.keepAnchoredWithinMs)) {
      await refreshDemoOrders(tx, shop, now);
      await setSetting(tx, 'demo.anchored_at', now.toISOString());
    }
    return { shop, credentials: { email: DEMO_EMAIL, password, apiKey } };
  });
}

/** Re-anchors the demo orders' dates on `now`: their stored events are replaced by today's. */
export async function refreshDemoOrders(tx: Db, shop: Shop, now: Date): Promise<void> {
  const demoShipments = tx.select({ id: shipments.id }).from(shipments).where(eq(shipments.shopId, shop.id));
  await tx
    .delete(shipmentEvents)
    .where(
      sql`${shipmentEvents.shopId} = ${shop.id} and ${inArray(shipmentEvents.shipmentId, demoShipments)}`,
    );
  await tx.update(orders).set({ docHash: '' }).where(eq(orders.shopId, shop.id)); // force a full rewrite
  for await (const page of demoConnector.backfill!({ db: tx, shop, now })) {
    const results = await upsertOrders(
      tx,
      shop.id,
      page.map((d) => normalizeOrder(d, '', now.getTime())),
    );
    const failed = results.find((r) => r.status === 'error');
    if (failed && failed.status === 'error') throw failed.error;
  }
}
