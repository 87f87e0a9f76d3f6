import type { Db } from '../db/client.js';
import { bodyValidator, fieldErrors } from '../http/validation.js';
import { AppError } from '../lib/errors.js';
import { type NormalizedOrder, normalizeOrder, OrderInput, type OrderInputT } from '../orders/document.js';
import { upsertOrders } from '../orders/upsert.js';

const validate = bodyValidator(OrderInput);

export interface ImportResult {
  created: number;
  updated: number;
  unchanged: number;
  /** Platform ids of orders the customer changed through Resolve after they were read: not written, to read again. */
  stale: string[];
  failed: { order: string | null; message: string }[];
}

/**
 * Orders from a platform enter through the same validation and upsert as the merchant API (convention 3):
 * a document the connector mapped wrongly is reported, never half-written. `readAt`: when the platform was asked
 * for them (taken before the request), which decides whether they predate a customer's change (`stale`).
 */
export async function importOrders(
  db: Db,
  shopId: string,
  docs: OrderInputT[],
  readAt: Date,
): Promise<ImportResult> {
  const result: ImportResult = { created: 0, updated: 0, unchanged: 0, stale: [], failed: [] };
  const valid: NormalizedOrder[] = [];
  for (const doc of docs) {
    const number = typeof doc?.order_number === 'string' ? doc.order_number : null;
    if (!validate(doc)) {
      const errs = fieldErrors(validate.errors ?? [], '');
      result.failed.push({ order: number, message: errs.map((e) => `${e.path} ${e.message}`).join('; ') });
      continue;
    }
    try {
      valid.push(normalizeOrder(doc));
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      result.failed.push({ order: number, message: err.message });
    }
  }
  if (!valid.length) return result;
  const outcomes = await db.transaction((tx) => upsertOrders(tx, shopId, valid, { readAt }));
  for (const o of outcomes) {
    if (o.status === 'error') result.failed.push({ order: o.order_number, message: o.error.message });
    else if (o.status === 'stale') {
      // Without a platform id it cannot be read on its own: the next reconcile brings it.
      const externalId = valid[o.index].externalId;
      if (externalId) result.stale.push(externalId);
      else result.unchanged++;
    } else result[o.status]++;
  }
  return result;
}
