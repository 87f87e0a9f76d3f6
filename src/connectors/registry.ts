import { demoConnector } from './demo/connector.js';
import type { ShopConnector } from './port.js';

/** Connectors by id; `headless` shops push orders through the API and have no connector calls. */
const CONNECTORS: Record<string, ShopConnector> = { demo: demoConnector };

export function connectorFor(id: string): ShopConnector | null {
  return CONNECTORS[id] ?? null;
}
