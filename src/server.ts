import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { type App, buildApp } from './app.js';
import { type Config, StartupError } from './config.js';
import type { Database } from './db/client.js';
import { seedDemo } from './demo/seed.js';
import type { AppDeps } from './http/context.js';
import { createMetrics } from './http/metrics.js';
import { jobHandlers } from './jobs/catalog.js';
import { scheduleMaintenance } from './jobs/maintenance.js';
import { type JobsListener, jobsAnnouncer, listenForJobs } from './jobs/wakeup.js';
import { Worker } from './jobs/worker.js';

export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'resolve' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

export function startWorker(deps: AppDeps): Worker {
  const worker = new Worker({
    db: deps.database.db,
    log: deps.log.child({ role: 'worker' }),
    handlers: jobHandlers(deps),
    concurrency: deps.config.workerConcurrency,
    pollMs: deps.config.workerPollMs,
    onJobDone: (type, outcome, ms) => {
      deps.metrics.jobsDone.inc({ type, outcome });
      deps.metrics.jobDuration.observe({ type }, ms / 1000);
    },
  });
  worker.start();
  return worker;
}

/** The demo orders' dates are re-anchored on a start at most once an hour (a restart skips that work). */
const DEMO_REANCHOR_MS = 3_600_000;

/**
 * SIGTERM/SIGINT, trapped by the CLI before the database is opened (src/main.ts): `onStop` hands the first signal (also
 * one that arrived before it was called) to whoever can stop the process cleanly.
 */
export interface StopSignals {
  onStop(fn: (signal: NodeJS.Signals) => void): void;
}

const LISTEN_HOST_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EADDRNOTAVAIL',
  'EAFNOSUPPORT',
]);

/** A failed listen caused by HOST or PORT, as a one-line StartupError; anything else is returned as it is. */
function listenError(err: unknown, config: Config): unknown {
  const e = err as NodeJS.ErrnoException;
  const where = `HOST=${config.host} PORT=${config.port}`;
  if (e?.code === 'EADDRINUSE')
    return new StartupError(
      `cannot listen on ${where}: PORT ${config.port} is already in use (${e.message})`,
    );
  if (e?.code === 'EACCES')
    return new StartupError(
      `cannot listen on ${where}: not allowed to use PORT ${config.port} (ports below 1024 need privileges) (${e.message})`,
    );
  if (e?.code && LISTEN_HOST_CODES.has(e.code))
    return new StartupError(
      `cannot listen on ${where}: HOST is not an address of this machine (${e.message})`,
    );
  return err;
}

/** What start() or startWorkerOnly() opened so far, closed in reverse order (each at most once). */
class Resources {
  database: Database | null = null;
  worker: Worker | null = null;
  listener: JobsListener | null = null;
  app: App | null = null;

  async close(config: Config): Promise<void> {
    const app = this.app;
    const listener = this.listener;
    const worker = this.worker;
    const database = this.database;
    this.app = this.listener = this.worker = this.database = null;
    await app?.close();
    await listener?.close();
    await worker?.stop(config.shutdownTimeoutMs);
    await database?.close();
  }
}

/**
 * The process's stop: on the first SIGTERM/SIGINT (also one during start-up: `startup` then halts at its next step),
 * close what is open — requests and jobs drain — and exit 0; exit 1 if that takes longer than SHUTDOWN_TIMEOUT_MS + 2 s.
 */
function stopOnSignal(
  signals: StopSignals,
  config: Config,
  log: Logger,
  res: Resources,
  state: { stopping: boolean; ready: boolean; startup: Promise<unknown> | null },
): void {
  signals.onStop(async (signal) => {
    if (state.stopping) return;
    state.stopping = true;
    log.info(
      { signal },
      state.ready ? 'shutting down: draining requests and jobs' : 'shutting down during start-up',
    );
    const timer = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 2000);
    timer.unref();
    await state.startup?.catch(() => {});
    try {
      await res.close(config);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    log.info('stopped');
    process.exit(0);
  });
}

/**
 * `resolve start`: HTTP + (unless --no-worker) the in-process worker, with graceful shutdown. `opening` is the
 * database already being opened by the caller (so PGlite starts while this module's imports load), `signals` the
 * SIGTERM/SIGINT trap the caller set before that.
 */
export async function start(
  config: Config,
  opts: { worker: boolean; seed: boolean; t0?: number },
  opening: Promise<Database>,
  signals: StopSignals,
): Promise<void> {
  const log = createLogger(config);
  const t0 = opts.t0 ?? performance.now();
  const res = new Resources();
  const state = { stopping: false, ready: false, startup: null as Promise<unknown> | null };

  // Each step checks `state.stopping`: a signal during start-up stops it at the next step.
  const startup = (async () => {
    const database = await opening;
    res.database = database;
    if (state.stopping) return null;
    if (!opts.worker && database.kind === 'pglite') {
      log.warn(
        'started with --no-worker on the embedded database: no background jobs run (webhook deliveries, shop syncs, ' +
          'refunds, clean-up) — they stay queued until Resolve is started without --no-worker; `resolve worker` ' +
          'cannot run beside this process on the same DATA_DIR',
      );
    }
    const demo = opts.seed
      ? await seedDemo(database.db, { password: config.demoPassword, keepAnchoredWithinMs: DEMO_REANCHOR_MS })
      : null;
    if (state.stopping) return null;
    const deps: AppDeps = { config, database, log, metrics: createMetrics() };
    const worker = opts.worker ? startWorker(deps) : null;
    res.worker = worker;
    // Work queued here wakes this process's worker at once, and the workers of other processes through NOTIFY.
    const announce = jobsAnnouncer(database, log);
    deps.nudgeWorker = () => {
      worker?.nudge();
      announce();
    };
    res.listener =
      worker && config.databaseUrl ? listenForJobs(config.databaseUrl, () => worker.nudge(), log) : null;
    if (worker) await scheduleMaintenance(database.db);
    if (state.stopping) return null;
    const app = await buildApp(deps);
    res.app = app;
    if (state.stopping) return null;
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (err) {
      throw listenError(err, config);
    }
    // PORT=0 listens on any free port: without PUBLIC_URL, links (these and the app's) name the one bound.
    const bound = (app.server.address() as AddressInfo | null)?.port ?? config.port;
    if (!config.publicUrlSet) config.publicUrl = `http://localhost:${bound}`;
    return { database, demo, worker, app, port: bound };
  })();
  state.startup = startup;
  stopOnSignal(signals, config, log, res, state); // after `startup` exists: a signal already received waits for it

  let started: Awaited<typeof startup>;
  try {
    started = await startup;
  } catch (err) {
    if (state.stopping) return; // the signal's shutdown closes what is open and exits
    await res.close(config).catch(() => {});
    throw err;
  }
  if (!started || state.stopping) return;
  const { database, demo, worker, app, port } = started;
  state.ready = true;
  const ms = Math.round(performance.now() - t0);
  void app.warmSchemas((err) => log.error({ err }, 'a route schema does not compile'));
  log.info({ ms, database: database.kind, worker: !!worker, port }, 'resolve ready');

  const base = config.publicUrl;
  const lines = [
    '',
    `  Resolve is running (${database.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'}), ready in ${ms} ms`,
  ];
  if (!worker) {
    lines.push(
      database.kind === 'pglite'
        ? '  Background jobs are OFF (--no-worker on the embedded database): webhooks, syncs and refunds stay queued until a start without --no-worker'
        : '  Background jobs run in `resolve worker` processes (--no-worker)',
    );
  }
  lines.push(
    '',
    `  Customer page   ${base}/resolve/demo`,
    `  Portal          ${base}/portal`,
    `  API reference   ${base}/docs   (OpenAPI: ${base}/v1/openapi.json)`,
  );
  if (demo) {
    lines.push(
      '',
      `  Demo portal     ${demo.credentials.email} / ${demo.credentials.password}`,
      `  Demo API key    ${demo.credentials.apiKey}`,
      `  Try it          curl -u demo:${demo.credentials.apiKey} ${base}/v1/shops/demo/orders?order_number=1001`,
      '  Demo orders     1001/10115 delivered · 1002/80331 in transit · 1003/20095 unfulfilled · 1004/50667 stuck · 1005/SW1A 1AA split · 1006/10115 old',
    );
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

/** `resolve worker`: jobs only. */
export async function startWorkerOnly(
  config: Config,
  opening: Promise<Database>,
  signals: StopSignals,
): Promise<void> {
  const log = createLogger(config);
  const res = new Resources();
  const state = { stopping: false, ready: false, startup: null as Promise<unknown> | null };
  const startup = (async () => {
    const database = await opening;
    res.database = database;
    if (state.stopping) return null;
    const deps: AppDeps = { config, database, log, metrics: createMetrics() };
    const worker = startWorker(deps);
    res.worker = worker;
    // Jobs this worker queues (fan-out → deliveries) run at once; work queued by API processes is announced.
    deps.nudgeWorker = () => worker.nudge();
    res.listener = config.databaseUrl ? listenForJobs(config.databaseUrl, () => worker.nudge(), log) : null;
    await scheduleMaintenance(database.db);
    if (state.stopping) return null;
    return worker;
  })();
  state.startup = startup;
  stopOnSignal(signals, config, log, res, state);
  let worker: Worker | null;
  try {
    worker = await startup;
  } catch (err) {
    if (state.stopping) return;
    await res.close(config).catch(() => {});
    throw err;
  }
  if (!worker || state.stopping) return;
  state.ready = true;
  log.info({ worker: worker.id }, 'resolve worker ready');
}
