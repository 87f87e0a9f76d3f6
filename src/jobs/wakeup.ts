import { sql } from 'drizzle-orm';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';

/**
 * Waking workers in other processes (PostgreSQL). An API-only process (`resolve start --no-worker`) that queues
 * work announces it with NOTIFY; every worker LISTENs on a connection of its own and claims at once, instead of at
 * its next poll (WORKER_POLL_MS). Polling stays: a missed notification (a worker reconnecting) only delays work by
 * one poll, and jobs that become due later (retries) are found by it. PGlite is one process: nothing to do.
 */
export const JOBS_CHANNEL = 'resolve_jobs';

/**
 * A function that announces queued work, coalesced: at most one NOTIFY in flight and one more queued behind it,
 * however many requests call it at once.
 */
export function jobsAnnouncer(database: Database, log: Logger): () => void {
  if (database.kind !== 'postgres') return () => {};
  let inFlight = false;
  let again = false;
  const send = () => {
    inFlight = true;
    again = false;
    database.db
      .execute(sql`select pg_notify(${JOBS_CHANNEL}, '')`)
      .catch((err: unknown) => log.warn({ err }, 'jobs: could not announce queued work'))
      .finally(() => {
        inFlight = false;
        if (again) send();
      });
  };
  return () => {
    if (inFlight) again = true;
    else send();
  };
}

export interface JobsListener {
  close(): Promise<void>;
}

/**
 * LISTENs for announced work on a dedicated connection and calls `onJobs` for each announcement, and once after
 * every (re)connect (work queued while it was not listening). A lost connection is re-opened with backoff
 * (0.5 s doubling to 30 s).
 */
export function listenForJobs(
  databaseUrl: string,
  onJobs: () => void,
  log: Logger,
  applicationName = 'resolve-jobs-listener',
): JobsListener {
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  let delay = 500;

  const reconnectLater = (c: pg.Client) => {
    if (closed || c !== client || retry) return;
    client = null;
    c.end().catch(() => {});
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, delay);
    retry.unref();
    delay = Math.min(delay * 2, 30_000);
  };

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: databaseUrl, application_name: applicationName });
    client = c;
    c.on('notification', (n) => {
      if (n.channel === JOBS_CHANNEL) onJobs();
    });
    c.on('error', (err) => {
      log.warn({ err }, 'jobs: listen connection lost; reconnecting');
      reconnectLater(c);
    });
    c.on('end', () => reconnectLater(c));
    try {
      await c.connect();
      await c.query(`listen ${JOBS_CHANNEL}`);
      delay = 500;
      onJobs();
    } catch (err) {
      log.warn({ err }, 'jobs: could not listen for queued work; retrying');
      reconnectLater(c);
    }
  };

  void connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
