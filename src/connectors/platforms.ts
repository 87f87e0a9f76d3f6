import type { PlatformConnector } from './platform.js';

/**
 * The shop platforms Resolve connects to. Each is loaded when first used, so a shop on one platform does not
 * load the others' clients. Tests may register extra (fake) platforms.
 */
const LOADERS: Record<string, () => Promise<PlatformConnector>> = {
  shopify: () => import('./shopify/index.js').then((m) => m.shopifyConnector),
  shopware: () => import('./shopware/index.js').then((m) => m.shopwareConnector),
  vendure: () => import('./vendure/index.js').then((m) => m.vendureConnector),
  woocommerce: () => import('./woocommerce/index.js').then((m) => m.woocommerceConnector),
};
const extra = new Map<string, PlatformConnector>();

export const PLATFORM_IDS = () => [...Object.keys(LOADERS), ...extra.keys()];

export async function platformConnector(id: string): Promise<PlatformConnector | null> {
  if (extra.has(id)) return extra.get(id) ?? null;
  const load = LOADERS[id];
  return load ? load() : null;
}

/** For tests (and plugins): makes a connector available under its manifest id. */
export function registerPlatform(connector: PlatformConnector): void {
  extra.set(connector.manifest.id, connector);
}
