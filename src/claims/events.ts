import type { Db } from '../db/client.js';
import { events } from '../db/schema.js';
import { newId } from '../lib/ids.js';

export const EVENT_TYPES = [
  'claims/created',
  'claims/updated',
  'claims/action',
  'orders/cancelled',
  'orders/address_changed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Writes a domain event in the caller's transaction (outbox): it exists exactly when the change does. A trigger on
 * `events` (migration 0004) queues the webhook fan-out in the same transaction (src/webhooks/fanout.ts).
 */
export async function emitEvent(
  tx: Db,
  shopId: string,
  type: EventType,
  subjectId: string,
  data: unknown,
): Promise<string> {
  const id = newId('evt');
  await tx.insert(events).values({ id, shopId, type, subjectId, data });
  return id;
}
