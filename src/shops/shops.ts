import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { shops } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';

export type Shop = typeof shops.$inferSelect;

export const SLUG_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$';
const SLUG_RE = new RegExp(SLUG_PATTERN);

export interface CreateShopInput {
  slug: string;
  name: string;
  defaultLanguage?: string;
  timezone?: string;
  connector?: string;
  settings?: Record<string, unknown>;
}

export async function createShop(db: Db, input: CreateShopInput): Promise<Shop> {
  if (!SLUG_RE.test(input.slug)) {
    throw new AppError('validation_failed', 'Invalid slug.', [
      {
        path: '/slug',
        message: 'lowercase letters, digits and dashes, 1–64 characters, not starting or ending with a dash',
      },
    ]);
  }
  if (!input.name.trim())
    throw new AppError('validation_failed', 'Invalid name.', [
      { path: '/name', message: 'must not be empty' },
    ]);
  const rows = await db
    .insert(shops)
    .values({
      id: newId('shop'),
      slug: input.slug,
      name: input.name.trim(),
      defaultLanguage: input.defaultLanguage ?? 'en',
      timezone: input.timezone ?? 'UTC',
      connector: input.connector ?? 'headless',
      settings: input.settings ?? {},
    })
    .onConflictDoNothing()
    .returning();
  if (!rows.length) throw new AppError('shop_exists', `A shop with slug "${input.slug}" already exists.`);
  return rows[0];
}

export async function findShopBySlug(db: Db, slug: string): Promise<Shop | null> {
  const [row] = await db.select().from(shops).where(eq(shops.slug, slug)).limit(1);
  return row ?? null;
}

export async function requireShop(db: Db, slug: string): Promise<Shop> {
  const shop = await findShopBySlug(db, slug);
  if (!shop) throw new AppError('shop_not_found', `No shop "${slug}".`);
  return shop;
}

/** A per-shop number from the customer-flow settings (SPEC §2/§4), or the fallback. */
export function shopNumber(shop: Shop, key: 'stuck_after_days', fallback: number): number {
  const v = (shop.settings as { resolve?: Record<string, unknown> }).resolve?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
