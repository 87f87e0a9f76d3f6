import { sql } from 'drizzle-orm';
import { actionJobHandlers } from '../actions/run-action.js';
import { settleOrphanedActions } from '../actions/settle.js';
import { defaultPlatformDeps } from '../connectors/connections.js';
import type { PlatformDeps } from '../connectors/platform.js';
import { connectorJobHandlers } from '../connectors/sync.js';
import { PRUNED_TABLES, vacuumTables } from '../db/embedded-vacuum.js';
import type { AppDeps } from '../http/context.js';
import { pruneIdempotencyKeys } from '../http/idempotency.js';
import { loadMasterSecret } from '../lib/secret.js';
import { prunePortalSessions } from '../portal/sessions.js';
import { pruneRateLimits } from '../resolve/rate-limit.js';
import { pruneSessions } from '../resolve/sessions.js';
import { removeStaleUploads } from '../resolve/uploads.js';
import { createStorage } from '../storage/index.js';
import type { BlobStorage } from '../storage/port.js';
import { pruneWebhookMessages, webhookJobs } from '../webhooks/jobs.js';
import { enqueue } from './queue.js';
import type { JobHandler } from './worker.js';

const HOUR = 3_600_000;
/** removeStaleUploads' batch size; a backlog is worked off in a few batches per run. */
const UPLOAD_BATCH = 500;
const UPLOAD_BATCHES_PER_RUN = 20;

/** Every job type the worker knows. Payloads carry ids; handlers reload state and are idempotent. */
export function jobHandlers(deps: AppDeps): Record<string, JobHandler> {
  let storage: BlobStorage | undefined;
  const blobs = () => {
    storage ??= deps.storage ?? createStorage(deps.config);
    return storage;
  };
  let masterSecret: Promise<Buffer> | null = null;
  const master = () => {
    masterSecret ??= deps.masterSecret
      ? Promise.resolve(deps.masterSecret)
      : loadMasterSecret(deps.database.db, deps.config);
    return masterSecret;
  };
  // The connectors' egress (CONNECTOR_ALLOWED_HOSTS, CONNECTOR_CA_FILE) comes from this app's config.
  const platformDeps = (log: PlatformDeps['log']) => defaultPlatformDeps(deps.config, log);
  return {
    'maintenance.prune': async (job, { db, log }) => {
      await pruneIdempotencyKeys(db);
      await pruneSessions(db);
      await pruneRateLimits(db);
      await pruneWebhookMessages(db);
      await prunePortalSessions(db);
      const orphaned = await settleOrphanedActions(db);
      if (orphaned) log.warn({ orphaned }, 'claims.action: ended pending actions no job was carrying out');
      await db.execute(
        sql`delete from jobs where status = 'succeeded' and finished_at < now() - interval '7 days'`,
      );
      // uploads.cleanup: evidence no claim took within 24 hours (row and file together). A storage outage is
      // logged and retried next run; it must not stop the rest of maintenance or the next run's enqueue.
      try {
        let removed = 0;
        for (let i = 0; i < UPLOAD_BATCHES_PER_RUN; i++) {
          const n = await removeStaleUploads(db, blobs(), 24, UPLOAD_BATCH);
          removed += n;
          if (n < UPLOAD_BATCH) break;
        }
        if (removed) log.info({ removed }, 'uploads.cleanup: removed stale uploads');
      } catch (err) {
        log.error({ err }, 'uploads.cleanup failed');
      }
      // The embedded database has no autovacuum: the space of the rows pruned above is made reusable here, or
      // those files grow for ever (src/db/embedded-vacuum.ts). On PostgreSQL the server's autovacuum does it.
      if (deps.database.kind === 'pglite')
        await vacuumTables(db, PRUNED_TABLES).catch((err) =>
          log.error({ err }, 'maintenance: vacuum failed'),
        );
      // Hand the unique key to the next run: one pending copy however many workers run.
      await db.transaction(async (tx) => {
        await tx.execute(sql`update jobs set unique_key = null where id = ${job.id}`);
        await enqueue(
          tx,
          'maintenance.prune',
          {},
          { runAt: new Date(Date.now() + HOUR), uniqueKey: 'maintenance.prune' },
        );
      });
    },
    ...webhookJobs(deps).handlers,
    ...connectorJobHandlers(master, platformDeps),
    ...actionJobHandlers(master, platformDeps),
  };
}
