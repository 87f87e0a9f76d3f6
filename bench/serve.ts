/**
 * The server side of bench/lookup.ts and bench/claims.ts, in a process of its own (started by startServer() in
 * bench/support.ts; options in BENCH_SERVE as JSON). Two kinds:
 *
 * - `api`: the real app (buildApp from src/app.ts) with logging silenced and the lookup limits raised so that
 *   nothing is throttled: every request does the full work, including the rate-limit bookkeeping.
 * - `bare`: the baseline: a plain Fastify instance and a pg.Pool of the same size, one route that runs the same
 *   indexed query as the lookup (`select id, zip_norm from orders where shop_id = $1 and order_number_norm = $2`)
 *   and answers a small JSON: no schemas, hooks, rate limits, session or order loading.
 *
 * It tells the parent its port over IPC, then answers `stats` (CPU of this process, statements sent to the
 * database), `sql` (runs a statement on its database: the only way into a PGlite that lives here) and `stop`.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { createMetrics } from '../src/http/metrics.js';
import { normalizeOrderNumber, normalizeZip } from '../src/orders/document.js';
import type { ServeOptions, ServerStats } from './support.js';

const opts = JSON.parse(process.env.BENCH_SERVE ?? '{}') as ServeOptions;

// Statements sent to PostgreSQL by this process (each pg query is one round trip, BEGIN/COMMIT included).
let queries = 0;
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  queries++;
  return (original as (...a: unknown[]) => unknown).apply(this, args);
} as typeof original;

interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

const LOOKUP_SQL = 'select id, zip_norm from orders where shop_id = $1 and order_number_norm = $2';

async function serveBare() {
  if (!opts.databaseUrl) throw new Error('the bare server runs on PostgreSQL only');
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.pool });
  const app = Fastify();
  app.post('/bare/:slug/sessions', async (req, reply) => {
    const body = req.body as { order_number: string; zip_code: string };
    const { rows } = await pool.query(LOOKUP_SQL, [opts.shopId, normalizeOrderNumber(body.order_number)]);
    const row = rows[0] as { id: string; zip_norm: string } | undefined;
    if (!row || row.zip_norm !== normalizeZip(body.zip_code)) {
      reply.code(404);
      return { error: { key: 'order_not_found' } };
    }
    reply.code(201);
    return { order_id: row.id };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: (app.server.address() as AddressInfo).port,
    http: app.server,
    db: pool as unknown as Queryable,
    close: async () => {
      await app.close();
      await pool.end();
    },
  };
}

async function serveApi() {
  const base = loadConfig({ LOG_LEVEL: 'silent' });
  const config = {
    ...base,
    host: '127.0.0.1',
    port: 0,
    pgPoolMax: opts.pool,
    // Raised so that nothing is throttled; the counting (and its database writes) still happens on every request.
    lookup: {
      ...base.lookup,
      ipMax: 1e9,
      shopMax: 1e9,
      orderFailures: 1e9,
      ipFailures: 1e9,
    },
  };
  const database = await openDatabase({
    databaseUrl: opts.databaseUrl,
    dataDir: opts.pgliteDir ?? null,
    poolMax: opts.pool,
  });
  await database.migrate();
  const app = await buildApp({ config, database, log: pino({ level: 'silent' }), metrics: createMetrics() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: (app.server.address() as AddressInfo).port,
    http: app.server,
    db: (database.db as unknown as { $client: Queryable }).$client,
    close: async () => {
      await app.close();
      await database.close();
    },
  };
}

let inspector: Session | undefined;
let served = 0;

async function main() {
  const server = opts.kind === 'bare' ? await serveBare() : await serveApi();
  server.http.on('request', () => served++);
  const send = (m: object) => process.send?.(m);
  process.on(
    'message',
    async (m: { type: string; id: number; arg?: { text: string; params?: unknown[] } }) => {
      try {
        if (m.type === 'stop') {
          await server.close();
          process.exit(0);
        } else if (m.type === 'stats') {
          const cpu = process.cpuUsage();
          const result: ServerStats = {
            cpu: cpu.user + cpu.system,
            sys: cpu.system,
            queries,
            requests: served,
            heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
          };
          send({ type: 'reply', id: m.id, result });
        } else if (m.type === 'profile-start') {
          inspector ??= new Session();
          inspector.connect();
          await inspector.post('Profiler.enable');
          await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
          await inspector.post('Profiler.start');
          send({ type: 'reply', id: m.id, result: null });
        } else if (m.type === 'profile-stop') {
          const { profile } = await inspector!.post('Profiler.stop');
          fs.writeFileSync(String(m.arg), JSON.stringify(profile));
          inspector!.disconnect();
          send({ type: 'reply', id: m.id, result: null });
        } else if (m.type === 'sql') {
          const arg = m.arg as { text: string; params?: unknown[] };
          const res = await server.db.query(arg.text, arg.params ?? []);
          send({ type: 'reply', id: m.id, result: { rows: res.rows } });
        }
      } catch (err) {
        send({ type: 'reply', id: m.id, error: String(err) });
      }
    },
  );
  process.on('disconnect', () => {
    void server.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', port: server.port });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
