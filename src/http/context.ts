import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { LookupCounters } from '../resolve/redis-counters.js';
import type { BlobStorage } from '../storage/port.js';
import type { Metrics } from './metrics.js';

/** Everything a route or job needs, built once at start and passed down (no globals). */
export interface AppDeps {
  config: Config;
  database: Database;
  log: Logger;
  metrics: Metrics;
  /** Wakes the in-process worker after a commit that enqueued work (no-op when none runs here). */
  nudgeWorker?: () => void;
  /** Evidence file storage (local disk or S3); built from config when not given. */
  storage?: BlobStorage;
  /** Master secret for order tokens and file URLs; loaded (or generated) from the database when not given. */
  masterSecret?: Buffer;
  /**
   * Counters in Redis: the lookup's per IP and per shop, and the merchant API's per caller and shop. Built from
   * `REDIS_URL` when not given; null: they count in the database.
   */
  lookupCounters?: LookupCounters | null;
}

/** AppDeps after buildApp filled in what it derives. */
export type ReadyDeps = AppDeps & {
  storage: BlobStorage;
  masterSecret: Buffer;
  lookupCounters: LookupCounters | null;
};
