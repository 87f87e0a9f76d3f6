import { and, asc, eq, isNull, or } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { orders, shipmentEvents, shipments } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { NormalizedEvent } from './document.js';
import { derivePhase, type Phase } from './phase.js';

/**
 * Appends carrier events to a shipment (an event already stored, same time and code, is ignored) and
 * re-derives the shipment's phase. Returns how many events were new.
 */
export async function addShipmentEvents(
  tx: Db,
  shopId: string,
  orderId: string,
  shipmentRef: string,
  events: NormalizedEvent[],
): Promise<{ shipmentId: string; added: number }> {
  const [shp] = await tx
    .select()
    .from(shipments)
    .where(
      and(
        eq(shipments.shopId, shopId),
        eq(shipments.orderId, orderId),
        or(eq(shipments.id, shipmentRef), eq(shipments.externalId, shipmentRef)),
        isNull(shipments.removedAt),
      ),
    )
    .limit(1)
    .for('update');
  if (!shp) throw new AppError('shipment_not_found', 'No such shipment on this order.');
  const now = new Date();
  const inserted = await tx
    .insert(shipmentEvents)
    .values(
      events.map((e) => ({
        id: newId('sev'),
        shopId,
        shipmentId: shp.id,
        time: e.time,
        code: e.code,
        phase: e.phase,
        description: e.description,
        location: e.location,
        createdAt: now,
      })),
    )
    .onConflictDoNothing()
    .returning({ id: shipmentEvents.id });
  if (inserted.length) {
    const all = await tx
      .select({ time: shipmentEvents.time, code: shipmentEvents.code, phase: shipmentEvents.phase })
      .from(shipmentEvents)
      .where(and(eq(shipmentEvents.shopId, shopId), eq(shipmentEvents.shipmentId, shp.id)))
      .orderBy(asc(shipmentEvents.time), asc(shipmentEvents.id));
    const d = derivePhase({
      events: all.map((e) => ({ ...e, phase: e.phase as Phase | null })),
      phaseOverride: null, // fresh carrier events supersede a platform-stated phase
      deliveredAtOverride: shp.deliveredAtOverride,
    });
    await tx
      .update(shipments)
      .set({
        phase: d.phase,
        deliveredAt: d.deliveredAt,
        lastEventAt: d.lastEventAt,
        phaseOverride: null,
        updatedAt: now,
      })
      .where(and(eq(shipments.shopId, shopId), eq(shipments.id, shp.id)));
    await tx
      .update(orders)
      .set({ updatedAt: now })
      .where(and(eq(orders.shopId, shopId), eq(orders.id, orderId)));
  }
  return { shipmentId: shp.id, added: inserted.length };
}
