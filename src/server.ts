import pino, { type Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { openAndMigrate } from './db/open.js';
import { seedDemo } from './demo/seed.js';
import type { AppDeps } from './http/context.js';
import { createMetrics } from './http/metrics.js';
import { jobHandlers } from './jobs/catalog.js';
import { scheduleMaintenance } from './jobs/maintenance.js';
import { jobsAnnouncer, listenForJobs } from './jobs/wakeup.js';
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
 * `resolve start`: HTTP + (unless --no-worker) the in-process worker, with graceful shutdown. `opening` is the
 * database already being opened by the caller (so PGlite starts while this module's imports load).
 */
export async function start(
  config: Config,
  opts: { worker: boolean; seed: boolean; t0?: number },
  opening: Promise<Database> = openAndMigrate(config),
): Promise<void> {
  const log = createLogger(config);
  const t0 = opts.t0 ?? performance.now();
  const database = await opening;
  const demo = opts.seed
    ? await seedDemo(database.db, { password: config.demoPassword, keepAnchoredWithinMs: DEMO_REANCHOR_MS })
    : null;
  const deps: AppDeps = { config, database, log, metrics: createMetrics() };
  const worker = opts.worker ? startWorker(deps) : null;
  // Work queued here wakes this process's worker at once, and the workers of other processes through NOTIFY.
  const announce = jobsAnnouncer(database, log);
  deps.nudgeWorker = () => {
    worker?.nudge();
    announce();
  };
  const listener =
    worker && config.databaseUrl ? listenForJobs(config.databaseUrl, () => worker.nudge(), log) : null;
  if (worker) await scheduleMaintenance(database.db);
  const app = await buildApp(deps);
  await app.listen({ port: config.port, host: config.host });
  const ms = Math.round(performance.now() - t0);
  void app.warmSchemas((err) => log.error({ err }, 'a route schema does not compile'));
  log.info({ ms, database: database.kind, worker: !!worker }, 'resolve ready');

  const base = config.publicUrl;
  const lines = [
    '',
    `  Resolve is running (${database.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'}), ready in ${ms} ms`,
    '',
    `  Customer page   ${base}/resolve/demo`,
    `  Portal          ${base}/portal`,
    `  API reference   ${base}/docs   (OpenAPI: ${base}/v1/openapi.json)`,
  ];
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

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining requests and jobs');
    const timer = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 2000);
    timer.unref();
    await app.close();
    await listener?.close();
    await worker?.stop(config.shutdownTimeoutMs);
    await database.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** `resolve worker`: jobs only. */
export async function startWorkerOnly(config: Config): Promise<void> {
  const log = createLogger(config);
  const database = await openAndMigrate(config);
  const deps: AppDeps = { config, database, log, metrics: createMetrics() };
  const worker = startWorker(deps);
  // Jobs this worker queues (fan-out → deliveries) run at once; work queued by API processes is announced.
  deps.nudgeWorker = () => worker.nudge();
  const listener = config.databaseUrl ? listenForJobs(config.databaseUrl, () => worker.nudge(), log) : null;
  await scheduleMaintenance(database.db);
  log.info({ worker: worker.id }, 'resolve worker ready');
  const shutdown = async () => {
    await listener?.close();
    await worker.stop(config.shutdownTimeoutMs);
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}
