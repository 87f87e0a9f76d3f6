import type { Db } from '../db/client.js';
import { enqueue } from './queue.js';

/** Makes sure the periodic housekeeping job exists (one live copy, guarded by its unique key). */
export async function scheduleMaintenance(db: Db): Promise<void> {
  await enqueue(db, 'maintenance.prune', {}, { uniqueKey: 'maintenance.prune' });
}
