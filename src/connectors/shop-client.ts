import type { Db } from '../db/client.js';
import type { Shop } from '../shops/shops.js';
import { clientFor, findConnection } from './connections.js';
import { DEMO_CAPABILITIES, demoClient } from './demo/platform.js';
import type { PlatformCapability, PlatformClient, PlatformDeps } from './platform.js';
import { platformConnector } from './platforms.js';

/**
 * The shop's platform client and what it can do: the demo shop's built-in one, a connected platform's, or
 * null for a headless shop (it pushes orders through the API and acts in its own systems).
 */
export async function shopPlatform(
  db: Db,
  master: Buffer,
  shop: Shop,
  deps: PlatformDeps,
): Promise<{ client: PlatformClient; capabilities: PlatformCapability[] } | null> {
  if (shop.connector === 'demo') {
    return { client: demoClient(db, shop), capabilities: DEMO_CAPABILITIES };
  }
  const row = await findConnection(db, shop.id);
  if (!row) return null;
  const connector = await platformConnector(row.platform);
  if (!connector) return null;
  return { client: await clientFor(master, row, deps), capabilities: connector.manifest.capabilities };
}

/**
 * What the shop's platform can do, as shopPlatform would answer it, without opening the connection's
 * credentials: the demo shop's built-in platform, a connected platform's manifest, or null (headless shop).
 */
export async function shopCapabilities(db: Db, shop: Shop): Promise<PlatformCapability[] | null> {
  if (shop.connector === 'demo') return DEMO_CAPABILITIES;
  const row = await findConnection(db, shop.id);
  if (!row) return null;
  return (await platformConnector(row.platform))?.manifest.capabilities ?? null;
}
