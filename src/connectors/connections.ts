import { and, eq, sql } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { shopConnections, shops } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { deriveKey, openSecret, sealSecret } from '../lib/secret.js';
import { depsForConnection, platformEgress } from './egress.js';
import type { Connection, PlatformClient, PlatformDeps } from './platform.js';
import { platformConnector } from './platforms.js';

export type ConnectionRow = typeof shopConnections.$inferSelect;

/** Sync progress kept on the connection (shown to the merchant; resumed after a restart). */
export interface SyncState {
  backfill?: {
    /** `cancelled`: stopped by the merchant (POST …/connection/backfill/cancel); its counters say how far it got. */
    status: 'running' | 'done' | 'failed' | 'cancelled';
    since: string;
    cursor: string | null;
    imported: number;
    failed: number;
    started_at: string;
    finished_at?: string | null;
    error?: string | null;
  };
  /** Orders changed after this were not yet seen by reconcile. */
  reconciled_until?: string;
  last_webhook_at?: string;
  last_errors?: { at: string; order: string | null; message: string }[];
}

const credentialsKey = (master: Buffer) => deriveKey(master, 'connector-credentials');

export async function findConnection(db: Db, shopId: string): Promise<ConnectionRow | null> {
  const [row] = await db.select().from(shopConnections).where(eq(shopConnections.shopId, shopId));
  return row ?? null;
}

/** A connection by id, for workers and inbound webhooks (no shop context yet). */
export async function findConnectionUnscoped(db: Db, id: string): Promise<ConnectionRow | null> {
  const [row] = await db.select().from(shopConnections).where(eq(shopConnections.id, id));
  return row ?? null;
}

export function openConnection(master: Buffer, row: ConnectionRow): Connection {
  return {
    settings: row.settings as Record<string, string>,
    credentials: JSON.parse(openSecret(credentialsKey(master), row.credentialsSealed, row.id)) as Record<
      string,
      string
    >,
  };
}

/** Stores (or replaces) the shop's connection; the credentials are sealed under a key from the master secret. */
export async function saveConnection(
  db: Db,
  master: Buffer,
  shopId: string,
  input: { platform: string; settings: Record<string, string>; credentials: Record<string, string> },
): Promise<ConnectionRow> {
  return db.transaction(async (tx) => {
    const existing = await findConnection(tx, shopId);
    const id = existing?.platform === input.platform ? existing.id : newId('con');
    if (existing && existing.id !== id)
      await tx.delete(shopConnections).where(eq(shopConnections.id, existing.id));
    // Credentials left out keep their stored value (the merchant re-enters only what changes).
    const previous = existing?.id === id ? openConnection(master, existing).credentials : {};
    const credentials = { ...previous, ...input.credentials };
    const sealed = sealSecret(credentialsKey(master), JSON.stringify(credentials), id);
    const values = {
      platform: input.platform,
      settings: input.settings,
      credentialsSealed: sealed,
      status: 'active',
      lastError: null,
      updatedAt: new Date(),
    };
    const [row] =
      existing?.id === id
        ? await tx.update(shopConnections).set(values).where(eq(shopConnections.id, id)).returning()
        : await tx
            .insert(shopConnections)
            .values({ id, shopId, ...values, sync: {} })
            .returning();
    await tx
      .update(shops)
      .set({ connector: input.platform, updatedAt: new Date() })
      .where(eq(shops.id, shopId));
    return row;
  });
}

export async function deleteConnection(db: Db, shopId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const rows = await tx.delete(shopConnections).where(eq(shopConnections.shopId, shopId)).returning();
    if (!rows.length) throw new AppError('connection_not_found', 'This shop has no platform connection.');
    await tx.update(shops).set({ connector: 'headless', updatedAt: new Date() }).where(eq(shops.id, shopId));
  });
}

type SyncErrors = NonNullable<SyncState['last_errors']>;
/** `sync.last_errors` keeps the newest this many. */
export const MAX_SYNC_ERRORS = 20;

/**
 * The stored `sync` with the patch's top-level keys set and `freshErrors` put in front of the stored
 * `last_errors` (the newest MAX_SYNC_ERRORS kept), in SQL: jobs of a connection run side by side, and a list
 * computed from a job's own copy would drop the errors another job recorded since.
 */
export function patchedSync(patch: Partial<SyncState>, freshErrors: SyncErrors = []) {
  const merged = sql`${shopConnections.sync} || ${JSON.stringify(patch)}::jsonb`;
  if (!freshErrors.length) return merged;
  const stored = sql`${shopConnections.sync} -> 'last_errors'`;
  return sql`${merged} || jsonb_build_object('last_errors', jsonb_path_query_array(
    ${JSON.stringify(freshErrors)}::jsonb
      || case when jsonb_typeof(${stored}) = 'array' then ${stored} else '[]'::jsonb end,
    ${`$[0 to ${MAX_SYNC_ERRORS - 1}]`}::jsonpath))`;
}

/**
 * Sets the patch's top-level keys of `sync` and leaves the others as they are stored. A connection's jobs run
 * side by side (backfill, reconcile, webhooks), each with the row it read when it started: writing back the
 * whole object from that copy would put back what another job changed since (a finished backfill would show
 * `running` again after a webhook). `row.sync` becomes the stored state.
 */
export async function updateSync(
  db: Db,
  row: ConnectionRow,
  patch: Partial<SyncState>,
  freshErrors: SyncErrors = [],
): Promise<SyncState> {
  const [stored] = await db
    .update(shopConnections)
    .set({ sync: patchedSync(patch, freshErrors), updatedAt: new Date() })
    .where(and(eq(shopConnections.id, row.id), eq(shopConnections.shopId, row.shopId)))
    .returning({ sync: shopConnections.sync });
  // A deleted connection: nothing stored, the caller's copy is patched as before.
  const sync = (stored?.sync as SyncState | undefined) ?? { ...(row.sync as SyncState), ...patch };
  if (!stored && freshErrors.length)
    sync.last_errors = [...freshErrors, ...((row.sync as SyncState).last_errors ?? [])].slice(
      0,
      MAX_SYNC_ERRORS,
    );
  row.sync = sync;
  return sync;
}

/**
 * Records what the platform said of the credentials in `row`. Only while they are still the stored ones: a job
 * that read the connection before the merchant saved it again (every save seals anew) must not mark the new
 * credentials broken (nor clear an error they got) with the old ones' answer.
 */
export async function markConnection(
  db: Db,
  row: ConnectionRow,
  status: 'active' | 'error',
  error: string | null,
) {
  await db
    .update(shopConnections)
    .set({ status, lastError: error, updatedAt: new Date() })
    .where(and(eq(shopConnections.id, row.id), eq(shopConnections.credentialsSealed, row.credentialsSealed)));
}

/**
 * Production deps: requests go out through the egress policy only, with the operator's CONNECTOR_ALLOWED_HOSTS
 * and CONNECTOR_CA_FILE (connectors/egress.ts).
 */
export function defaultPlatformDeps(
  config: Pick<Config, 'connectors'>,
  log: PlatformDeps['log'],
): PlatformDeps {
  return {
    fetch: platformEgress(config).fetch,
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    log,
  };
}

/** The platform client of a stored connection. */
export async function clientFor(
  master: Buffer,
  row: ConnectionRow,
  deps: PlatformDeps,
): Promise<PlatformClient> {
  const connector = await platformConnector(row.platform);
  if (!connector) throw new AppError('platform_unknown', `Unknown platform "${row.platform}".`);
  const connection = openConnection(master, row);
  return connector.create(connection, depsForConnection(connection, deps));
}
