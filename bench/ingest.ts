/**
 * Bulk order ingestion through the real HTTP API vs a bare multi-row INSERT of the same rows, on PostgreSQL and
 * PGlite, measured side by side in one run. See bench/README.md.
 *
 *   node --import tsx bench/ingest.ts [--orders 50000] [--pglite-orders 20000] [--batch 1000] [--concurrency 2]
 *                     [--rounds 4] [--db pg,pglite] [--pglite dir|memory] [--no-resend] [--json FILE]
 *
 * Every option also reads an environment variable (BENCH_ORDERS, BENCH_PGLITE_ORDERS, BENCH_BATCH,
 * BENCH_CONCURRENCY, BENCH_ROUNDS, BENCH_DBS, BENCH_PGLITE, BENCH_JSON); BENCH_PG_URL is the PostgreSQL admin URL
 * (default postgres://postgres@127.0.0.1:5432/postgres). The script creates its own databases and drops them.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { type Database, openDatabase, query } from '../src/db/client.js';
import { createMetrics } from '../src/http/metrics.js';
import type { OrderInputT } from '../src/orders/document.js';
import { createApiKey } from '../src/shops/api-keys.js';
import { createShop } from '../src/shops/shops.js';
import { bareInsert } from './bare.js';
import { benchOrder } from './orders.js';

const { values: argv } = parseArgs({
  options: {
    orders: { type: 'string' },
    'pglite-orders': { type: 'string' },
    batch: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    db: { type: 'string' },
    pglite: { type: 'string' },
    'no-resend': { type: 'boolean' },
    json: { type: 'string' },
  },
});
const env = process.env;
const int = (v: string | undefined, def: number) => {
  const n = v === undefined || v === '' ? def : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive whole number, got "${v}"`);
  return n;
};
const opts = {
  orders: int(argv.orders ?? env.BENCH_ORDERS, 50_000),
  /** PGlite is single-threaded and ~2× slower: fewer orders keep a full run under 5 minutes. */
  pgliteOrders: int(argv['pglite-orders'] ?? env.BENCH_PGLITE_ORDERS, 20_000),
  batch: int(argv.batch ?? env.BENCH_BATCH, 1000),
  concurrency: int(argv.concurrency ?? env.BENCH_CONCURRENCY, 2),
  rounds: int(argv.rounds ?? env.BENCH_ROUNDS, 4),
  dbs: (argv.db ?? env.BENCH_DBS ?? 'pg,pglite').split(',').map((s) => s.trim()),
  pglite: (argv.pglite ?? env.BENCH_PGLITE ?? 'dir') as 'memory' | 'dir',
  resend: !(argv['no-resend'] || env.BENCH_NO_RESEND === '1'),
  json: argv.json ?? env.BENCH_JSON ?? null,
  pgUrl: env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
};
if (opts.batch > 1000) throw new Error('--batch: the bulk endpoint takes at most 1,000 orders');
if (!['memory', 'dir'].includes(opts.pglite)) throw new Error('--pglite is memory or dir');
for (const d of opts.dbs) if (d !== 'pg' && d !== 'pglite') throw new Error(`--db: unknown "${d}"`);

const WARMUP_BATCHES = 2;
const cleanups: (() => Promise<void>)[] = [];
let interrupted = false;
let cleaning: Promise<void> | null = null;
/** Runs the registered cleanups, newest first; concurrent callers (a signal during a run) share one pass. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop()!;
      await fn().catch((err) => console.error('cleanup failed:', err));
    }
  })().finally(() => {
    cleaning = null;
  });
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    interrupted = true;
    console.error(`\n${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

// A hard bound: a run that hangs (a lock, a stuck server) is stopped and cleaned up rather than left behind.
const TIMEOUT_S = Number(env.BENCH_TIMEOUT_S || 600);
if (!env.BENCH_CHILD) {
  setTimeout(() => {
    interrupted = true;
    console.error(`\nno result after ${TIMEOUT_S} s (BENCH_TIMEOUT_S): stopping and cleaning up`);
    void cleanup().finally(() => process.exit(1));
  }, TIMEOUT_S * 1000).unref();
}

const log = (msg: string) => process.stderr.write(`${msg}\n`);

// ---------------------------------------------------------------------------------------------- workload

interface Batch {
  docs: OrderInputT[];
  /** The request body, serialised before timing starts: the client's JSON work is not measured. */
  body: Buffer;
}

function makeBatches(count: number, first: number): Batch[] {
  const out: Batch[] = [];
  for (let i = first; i < first + count; i += opts.batch) {
    const docs: OrderInputT[] = [];
    for (let k = i; k < Math.min(i + opts.batch, first + count); k++) docs.push(benchOrder(k));
    out.push({ docs, body: Buffer.from(JSON.stringify({ orders: docs })) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- HTTP client

function post(agent: http.Agent, port: number, urlPath: string, auth: string, body: Buffer) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: auth },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------- targets

type Runner = (b: Batch) => Promise<void>;

interface Side {
  database: Database;
  shopId: string;
}

interface Setup {
  kind: 'postgres' | 'pglite';
  version: string;
  api: Side;
  bare: Side;
  /** Bare multi-row INSERTs of one batch in one transaction. */
  bareRun: Runner;
  /** Cumulative CPU µs of the database server processes serving one side (null: not measurable). */
  dbCpu(side: 'api' | 'bare'): Promise<number | null>;
}

/**
 * CPU time of the PostgreSQL backends connected to `db`, read from /proc (a local server only). Backends are
 * remembered, so one that exits keeps its last reading; background processes (WAL writer, checkpointer) are
 * not attributed to either side.
 */
function backendCpu(admin: pg.Client, db: string) {
  const seen = new Map<number, number>();
  const hz = 100; // USER_HZ on Linux
  return async (): Promise<number | null> => {
    const { rows } = await admin.query('select pid from pg_stat_activity where datname = $1', [db]);
    for (const { pid } of rows as { pid: number }[]) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        seen.set(pid, ((Number(f[11]) + Number(f[12])) * 1e6) / hz);
      } catch {
        return null; // not local, or /proc not readable
      }
    }
    let total = 0;
    for (const v of seen.values()) total += v;
    return total;
  };
}

async function serveApi(side: Side, expect: 'created' | 'unchanged' | 'any') {
  const { secret } = await createApiKey(side.database.db, {
    shopIds: [side.shopId],
    role: 'editor',
    name: 'bench',
  });
  // The merchant API's rate limit raised so that no batch is throttled; each request is still counted.
  const base = loadConfig({ LOG_LEVEL: 'silent' });
  const config = {
    ...base,
    host: '127.0.0.1',
    port: 0,
    apiRateLimit: { ...base.apiRateLimit, max: 1e9 },
  };
  const app = await buildApp({
    config,
    database: side.database,
    log: pino({ level: 'silent' }),
    metrics: createMetrics(),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const auth = `Bearer ${secret}`;
  const state = { expect };
  const run: Runner = async (b) => {
    const res = await post(agent, port, '/v1/shops/bench/orders/bulk', auth, b.body);
    if (res.status !== 200) throw new Error(`bulk answered ${res.status}: ${res.text.slice(0, 500)}`);
    const summary = (JSON.parse(res.text) as { summary: Record<string, number> }).summary;
    if (state.expect !== 'any' && summary[state.expect] !== b.docs.length)
      throw new Error(`expected ${b.docs.length} ${state.expect}, got ${JSON.stringify(summary)}`);
  };
  return {
    run,
    state,
    async close() {
      agent.destroy();
      await app.close();
    },
  };
}

async function setupPostgres(tag: string): Promise<Setup> {
  const admin = new pg.Client({ connectionString: opts.pgUrl });
  await admin.connect();
  const names = [`resolve_bench_${tag}_api`, `resolve_bench_${tag}_bare`];
  cleanups.push(async () => {
    for (const n of names) await admin.query(`drop database if exists "${n}" with (force)`);
    await admin.end();
  });
  const version = (await admin.query('show server_version')).rows[0].server_version as string;
  const urlOf = (name: string) => {
    const u = new URL(opts.pgUrl);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const sides: Side[] = [];
  for (const name of names) {
    await admin.query(`create database "${name}"`);
    const database = await openDatabase({ databaseUrl: urlOf(name), dataDir: null, poolMax: 10 });
    cleanups.push(() => database.close());
    await database.migrate();
    const shop = await createShop(database.db, { slug: 'bench', name: 'Bench' });
    sides.push({ database, shopId: shop.id });
  }
  const pool = new pg.Pool({ connectionString: urlOf(names[1]), max: opts.concurrency });
  cleanups.push(() => pool.end());
  const bareRun: Runner = async (b) => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await bareInsert((text, params) => client.query(text, params), sides[1].shopId, b.docs);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };
  const cpu = { api: backendCpu(admin, names[0]), bare: backendCpu(admin, names[1]) };
  return {
    kind: 'postgres',
    version: `PostgreSQL ${version}`,
    api: sides[0],
    bare: sides[1],
    bareRun,
    dbCpu: (side) => cpu[side](),
  };
}

async function setupPglite(tag: string): Promise<Setup> {
  const sides: Side[] = [];
  let template: Blob | undefined;
  if (opts.pglite === 'memory') {
    // One initdb + migrate, then two identical in-memory databases restored from its dump.
    const t = await openDatabase({ databaseUrl: null, dataDir: null });
    await t.migrate();
    template = (await (t as unknown as { pglite: PGlite }).pglite.dumpDataDir('gzip')) as Blob;
    await t.close();
  }
  for (const side of ['api', 'bare']) {
    let dataDir: string | null = null;
    if (opts.pglite === 'dir') {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `resolve-bench-${tag}-${side}-`));
      const dir = dataDir;
      cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    }
    const database = await openDatabase({ databaseUrl: null, dataDir, loadDataDir: template });
    cleanups.push(() => database.close());
    await database.migrate();
    const shop = await createShop(database.db, { slug: 'bench', name: 'Bench' });
    sides.push({ database, shopId: shop.id });
  }
  const bareLite = (sides[1].database as unknown as { pglite: PGlite }).pglite;
  const version = (await bareLite.query<{ v: string }>('select version() as v')).rows[0].v.split(' on ')[0];
  const bareRun: Runner = (b) =>
    bareLite.transaction((tx) =>
      bareInsert((text, params) => tx.query(text, params), sides[1].shopId, b.docs),
    );
  return {
    kind: 'pglite',
    version: `${version} (${opts.pglite})`,
    api: sides[0],
    bare: sides[1],
    bareRun,
    dbCpu: async () => null, // in this process: counted in the Node CPU
  };
}

// ---------------------------------------------------------------------------------------------- measuring

interface Timing {
  orders: number;
  batches: number;
  ms: number;
  latencies: number[];
  /** CPU µs of this process (server + client for the API, client for bare). */
  nodeCpu: number;
  /** CPU µs of the database backends, when measurable. */
  dbCpu: number | null;
}

const emptyTiming = (): Timing => ({ orders: 0, batches: 0, ms: 0, latencies: [], nodeCpu: 0, dbCpu: 0 });

/** Runs the batches with `concurrency` clients pulling from one queue; adds wall and CPU time to `t`. */
async function runPhase(
  run: Runner,
  batches: Batch[],
  t: Timing,
  dbCpu: () => Promise<number | null>,
): Promise<void> {
  let next = 0;
  const db0 = await dbCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const client = async () => {
    while (next < batches.length) {
      const b = batches[next++];
      const s = performance.now();
      await run(b);
      t.latencies.push(performance.now() - s);
      t.orders += b.docs.length;
      t.batches++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, client));
  t.ms += performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  t.nodeCpu += cpu.user + cpu.system;
  const db1 = await dbCpu();
  t.dbCpu = t.dbCpu === null || db0 === null || db1 === null ? null : t.dbCpu + db1 - db0;
}

const rate = (t: Timing) => (t.ms ? (t.orders / t.ms) * 1000 : 0);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
};

async function counts(side: Side) {
  const [row] = await query<Record<string, number>>(
    side.database.db,
    sql`select
      (select count(*) from orders where shop_id = ${side.shopId})::int as orders,
      (select count(*) from line_items where shop_id = ${side.shopId})::int as line_items,
      (select count(*) from shipments where shop_id = ${side.shopId})::int as shipments,
      (select count(*) from shipment_line_items where shop_id = ${side.shopId})::int as shipment_line_items,
      (select count(*) from shipment_events where shop_id = ${side.shopId})::int as shipment_events`,
  );
  return row;
}

interface DbResult {
  db: 'postgres' | 'pglite';
  version: string;
  api: Timing;
  bare: Timing;
  resend: Timing | null;
  rows: Record<string, number>;
}

async function benchDb(kind: 'pg' | 'pglite', batches: Batch[], warmup: Batch[]): Promise<DbResult> {
  const tag = `${Date.now()}_${process.pid}`;
  const t0 = performance.now();
  const setup = kind === 'pg' ? await setupPostgres(tag) : await setupPglite(tag);
  const server = await serveApi(setup.api, 'created');
  cleanups.push(() => server.close());
  log(`${setup.version}: set up in ${Math.round(performance.now() - t0)} ms`);

  // Warm-up (JIT, ajv, connections, caches): not timed, rows outside the measured set.
  for (const b of warmup) {
    await server.run(b);
    await setup.bareRun(b);
  }

  const api = emptyTiming();
  const bare = emptyTiming();
  const per = Math.ceil(batches.length / opts.rounds);
  for (let r = 0; r < opts.rounds; r++) {
    const slice = batches.slice(r * per, (r + 1) * per);
    if (!slice.length) break;
    // ABBA order: each side runs first in every other round, so drift on a shared machine hits both alike.
    const phases: ['api' | 'bare', Runner, Timing][] = [
      ['api', server.run, api],
      ['bare', setup.bareRun, bare],
    ];
    if (r % 2) phases.reverse();
    for (const [name, run, t] of phases) {
      const before = t.ms;
      await runPhase(run, slice, t, () => setup.dbCpu(name));
      log(
        `  round ${r + 1}/${opts.rounds} ${name}: ${slice.length} batches in ${Math.round(t.ms - before)} ms`,
      );
    }
  }

  let resend: Timing | null = null;
  if (opts.resend) {
    resend = emptyTiming();
    server.state.expect = 'unchanged';
    await runPhase(server.run, batches, resend, () => setup.dbCpu('api'));
    log(`  resend (unchanged): ${batches.length} batches in ${Math.round(resend.ms)} ms`);
  }

  const apiRows = await counts(setup.api);
  const bareRows = await counts(setup.bare);
  if (JSON.stringify(apiRows) !== JSON.stringify(bareRows))
    throw new Error(`row counts differ: api ${JSON.stringify(apiRows)} vs bare ${JSON.stringify(bareRows)}`);
  await cleanup();
  return { db: setup.kind, version: setup.version, api, bare, resend, rows: apiRows };
}

// ---------------------------------------------------------------------------------------------- main

function fmt(n: number) {
  return Math.round(n).toLocaleString('en-US');
}

interface PathSummary {
  orders: number;
  orders_per_s: number;
  p50_batch_ms: number;
  max_batch_ms: number;
  node_cpu_us_per_order: number;
  db_cpu_us_per_order: number | null;
}

/** One database's numbers, as written by a child run (`--json`) and read back by the parent. */
interface Summary {
  db: 'postgres' | 'pglite';
  version: string;
  api: PathSummary;
  bare: PathSummary;
  resend: PathSummary | null;
  ratio: number;
  rows: Record<string, number>;
}

function summarizePath(t: Timing): PathSummary {
  return {
    orders: t.orders,
    orders_per_s: Math.round(rate(t)),
    p50_batch_ms: Math.round(pct(t.latencies, 50)),
    max_batch_ms: Math.round(Math.max(...t.latencies)),
    node_cpu_us_per_order: Math.round(t.nodeCpu / t.orders),
    db_cpu_us_per_order: t.dbCpu === null ? null : Math.round(t.dbCpu / t.orders),
  };
}

function summarize(r: DbResult): Summary {
  return {
    db: r.db,
    version: r.version,
    api: summarizePath(r.api),
    bare: summarizePath(r.bare),
    resend: r.resend && summarizePath(r.resend),
    ratio: Number((rate(r.api) / rate(r.bare)).toFixed(3)),
    rows: r.rows,
  };
}

function report(results: Summary[], load0: number, seconds: number): string {
  const lines = [
    '',
    `date ${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}) · ` +
      `load average ${load0.toFixed(1)} at start, ${os.loadavg()[0].toFixed(1)} at end`,
    `batches of ${opts.batch}, ${opts.concurrency} concurrent clients, ${opts.rounds} rounds (ABBA), ` +
      `${WARMUP_BATCHES} warm-up batches per side (not timed); took ${seconds} s`,
    '',
    '| database | path | orders | orders/s | p50 batch ms | max batch ms | Node CPU µs/order | DB CPU µs/order | vs bare |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const row = (name: string, t: PathSummary, extra: string) =>
      `| ${r.version} | ${name} | ${fmt(t.orders)} | ${fmt(t.orders_per_s)} | ${fmt(t.p50_batch_ms)} | ` +
      `${fmt(t.max_batch_ms)} | ${fmt(t.node_cpu_us_per_order)} | ` +
      `${t.db_cpu_us_per_order === null ? '–' : fmt(t.db_cpu_us_per_order)} | ${extra} |`;
    lines.push(row('API (HTTP bulk, all created)', r.api, `**${r.ratio.toFixed(2)}×**`));
    lines.push(row('bare multi-row INSERT', r.bare, '1.00×'));
    if (r.resend)
      lines.push(
        row(
          'API re-send (all unchanged)',
          r.resend,
          `${(r.resend.orders_per_s / r.bare.orders_per_s).toFixed(2)}×`,
        ),
      );
  }
  lines.push('');
  for (const r of results) lines.push(`rows per side, ${r.db} (incl. warm-up): ${JSON.stringify(r.rows)}`);
  const pgRes = results.find((r) => r.db === 'postgres');
  if (pgRes) {
    const api = pgRes.api.orders_per_s;
    lines.push(
      `targets (PostgreSQL): ≥ 10,000 orders/s through the API: ${api >= 10_000 ? 'met' : `NOT met (${fmt(api)})`}; ` +
        `≥ 0.5× the bare insert: ${pgRes.ratio >= 0.5 ? 'met' : 'NOT met'} (${pgRes.ratio.toFixed(2)}×)`,
    );
  }
  return lines.join('\n');
}

/**
 * Several databases: each runs in a child process of its own (a fresh heap and JIT, and the app's module-level
 * state, e.g. shared ajv schemas, allows one app per process), one after the other; the parent prints the table.
 */
async function runChildren(): Promise<Summary[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-bench-ingest-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const results: Summary[] = [];
  for (const kind of opts.dbs) {
    const out = path.join(dir, `${kind}.json`);
    const args = [
      ...process.execArgv,
      process.argv[1],
      ...process.argv.slice(2),
      '--db',
      kind,
      '--json',
      out,
    ];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, BENCH_CHILD: '1' },
    });
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    if (code !== 0) throw new Error(`the ${kind} run failed (exit ${code})`);
    results.push(...(JSON.parse(fs.readFileSync(out, 'utf8')) as { results: Summary[] }).results);
  }
  return results;
}

async function main() {
  const t0 = performance.now();
  const load0 = os.loadavg()[0];
  let results: Summary[];
  if (opts.dbs.length > 1) {
    results = await runChildren();
  } else {
    const kind = opts.dbs[0] as 'pg' | 'pglite';
    const count = kind === 'pg' ? opts.orders : opts.pgliteOrders;
    const batches = makeBatches(count, 0);
    const warmup = makeBatches(WARMUP_BATCHES * opts.batch, count);
    const bytes = batches.reduce((n, b) => n + b.body.length, 0);
    log(
      `workload: ${fmt(count)} orders (3 line items, 1 shipment, 3 events each) in ${batches.length} batches of ` +
        `${opts.batch}, ${(bytes / batches.length / 1e6).toFixed(2)} MB per request, generated in ` +
        `${Math.round(performance.now() - t0)} ms; ${opts.concurrency} concurrent clients, ${opts.rounds} rounds`,
    );
    results = [summarize(await benchDb(kind, batches, warmup))];
  }
  if (opts.json) {
    const out = {
      date: new Date().toISOString(),
      node: process.version,
      cores: os.cpus().length,
      load_average_start: load0,
      options: { ...opts, pgUrl: undefined, json: undefined },
      results,
    };
    fs.writeFileSync(opts.json, `${JSON.stringify(out, null, 2)}\n`);
  }
  if (!process.env.BENCH_CHILD)
    console.log(report(results, load0, Math.round((performance.now() - t0) / 1000)));
}

main()
  .catch(async (err) => {
    if (!interrupted) console.error(err); // after a signal, the run's own errors are expected noise
    process.exitCode = 1;
  })
  .finally(cleanup);
