/**
 * The merchant claims list and CSV export on PostgreSQL with 1,000,000 claims (issue 5), through the real app in a
 * child process, side by side with the bare SQL the app runs. See bench/README.md.
 *
 *   node --import tsx bench/claims-list.ts [--claims 1000000] [--duration 10] [--connections 1,4] [--pool 10]
 *                     [--no-list] [--no-export] [--keep DBNAME] [--json FILE]
 *
 * - list: `GET /v1/shops/bench/claims` with two filters + a search (email, order number or claim number), and,
 *   for information, with two filters and no search (a full first page of 25 claims). Bare side: the app's main
 *   list statement (built by the same code, src/claims/list.ts) over a pg.Pool of the same size, same mix.
 * - export: `GET /v1/shops/bench/claims/export.csv` of all the main shop's claims, read and discarded by this
 *   process; time, and peak RSS of the server process (VmHWM of /proc/<pid>/status, reset just before). Bare
 *   side: `psql \copy (the same join, same order) to stdout csv`.
 *
 * Environment: BENCH_CLAIMS, BENCH_DURATION, BENCH_POOL, BENCH_JSON; BENCH_PG_URL is the admin URL (default
 * postgres://postgres@127.0.0.1:5432/postgres). The script creates resolve_bench_claimslist_<ts>_<pid> and drops
 * it at the end, also on Ctrl-C.
 */
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { ClaimFilters } from '../src/claims/filters.js';
import { listStatement } from '../src/claims/list.js';
import { openDatabase } from '../src/db/client.js';
import { createApiKey } from '../src/shops/api-keys.js';
import { createShop, findShopBySlug } from '../src/shops/shops.js';
import {
  ADMIN_URL,
  cleanup,
  createBenchDb,
  fmt,
  int,
  interrupted,
  load,
  log,
  machine,
  onCleanup,
  pct,
  ROOT,
  type ServeOptions,
  startServer,
  urlOf,
} from './support.js';

const { values: argv } = parseArgs({
  options: {
    claims: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    pool: { type: 'string' },
    'no-export': { type: 'boolean' },
    'no-list': { type: 'boolean' },
    keep: { type: 'string' },
    json: { type: 'string' },
  },
});
const env = process.env;
const opts = {
  claims: int(argv.claims ?? env.BENCH_CLAIMS, 1_000_000),
  duration: int(argv.duration ?? env.BENCH_DURATION, 10),
  connections: (argv.connections ?? '1,4').split(',').map((c) => int(c, 1)),
  pool: int(argv.pool ?? env.BENCH_POOL, 10),
  export: !argv['no-export'],
  list: !argv['no-list'],
  /** Keep (and reuse) the database under this name. */
  keep: argv.keep ?? null,
  json: argv.json ?? env.BENCH_JSON ?? null,
};
const CHUNK = 250_000;
const TARGET_P95_MS = 50;
const TARGET_EXPORT_S = 20;
const TARGET_RSS_MB = 250;

/** Filter pairs of the portal's typical views. */
const FILTER_PAIRS: ClaimFilters[] = [
  { status: 'pending,accepted', flow: 'defective,not_received' },
  { status: 'pending', carrier: 'dhl,dpd' },
  { country: 'DE,AT', shipment_phase: 'delivered' },
  { flow: 'return', resolution_preference: 'refund' },
  { assignee: 'unassigned', status: 'pending' },
  { tag: 'vip', status: 'pending,accepted' },
];

const memOf = (pid: number) => {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
};

interface ExportRun {
  rows: number;
  mb: number;
  seconds: number;
  firstByteMs: number;
  rssBeforeMb: number;
  peakRssMb: number;
}

/** GET export.csv, read and discarded here; wall time and the server process's peak RSS (VmHWM reset first). */
async function measureExport(port: number, pid: number, auth: Record<string, string>): Promise<ExportRun> {
  const before = memOf(pid);
  fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); // VmHWM := current RSS
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, memOf(pid).rssMb);
  }, 100);
  const t = performance.now();
  const got = await new Promise<{ bytes: number; lines: number; firstByteMs: number }>((resolve, reject) => {
    http
      .get(`http://127.0.0.1:${port}/v1/shops/bench/claims/export.csv`, { headers: auth }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`export answered ${res.statusCode}`));
        let bytes = 0;
        let lines = 0;
        let firstByteMs = 0;
        res.on('data', (chunk: Buffer) => {
          firstByteMs ||= performance.now() - t;
          bytes += chunk.length;
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        });
        res.on('end', () => resolve({ bytes, lines, firstByteMs }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  const seconds = (performance.now() - t) / 1000;
  clearInterval(sampler);
  return {
    rows: got.lines - 1,
    mb: got.bytes / 2 ** 20,
    seconds,
    firstByteMs: got.firstByteMs,
    rssBeforeMb: before.rssMb,
    peakRssMb: Math.max(memOf(pid).hwmMb, peak),
  };
}

/** Bare: PostgreSQL writes the same rows (claims joined with items, same order) as CSV (`psql \copy`). */
async function bareExport(dbName: string, shopId: string) {
  const bareSql = `select c.number, c.id, to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), c.status, c.flow, c.reason,
      c.resolution_preference, c.context->>'order_number', c.order_id, c.customer_email,
      concat_ws(' ', c.context->'customer'->>'first_name', c.context->'customer'->>'last_name'), c.carrier,
      c.context->'shipment'->>'tracking_number', c.country_code, c.shipment_phase, i.sku, i.title, i.variant_title,
      i.quantity, i.unit_net_price / 100.0, i.unit_net_price * i.quantity / 100.0, c.claim_value / 100.0, c.currency,
      array_to_string(c.tags, ', '), c.assignee, c.channel, c.language, c.description
    from claims c left join claim_items i on i.claim_id = c.id and i.shop_id = c.shop_id
    where c.shop_id = '${shopId}' order by c.created_at desc, c.id desc, i.id`;
  const t = performance.now();
  const out = await new Promise<{ bytes: number; lines: number }>((resolve, reject) => {
    const p = spawn('psql', [
      urlOf(dbName, 'bench_copy'),
      '-X',
      '-q',
      '-c',
      `\\copy (${bareSql.replace(/\s+/g, ' ')}) to stdout with (format csv, header)`,
    ]);
    let bytes = 0;
    let lines = 0;
    p.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    });
    p.stderr.pipe(process.stderr);
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve({ bytes, lines }) : reject(new Error(`psql exited ${code}`)),
    );
  });
  return { rows: out.lines - 1, mb: out.bytes / 2 ** 20, seconds: (performance.now() - t) / 1000 };
}

/**
 * bench/serve.ts and src/ transpiled to JavaScript (esbuild, one file per module, as scripts/build.mjs builds dist/)
 * into .tmp/ and run with plain node: the memory of the server as `npm start` runs it, without tsx.
 */
async function compiledServer(serve: ServeOptions) {
  const out = path.join(ROOT, '.tmp', `bench-claims-list-${process.pid}`);
  onCleanup(async () => fs.rmSync(out, { recursive: true, force: true }));
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? walk(p) : [p];
    });
  const files = walk(path.join(ROOT, 'src'));
  const { build } = await import('esbuild');
  await build({
    entryPoints: [
      ...files.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts')),
      path.join(ROOT, 'bench/serve.ts'),
    ],
    outdir: out,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  for (const f of files.filter((x) => !x.endsWith('.ts'))) {
    const to = path.join(out, path.relative(ROOT, f));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(f, to);
  }
  const child = fork(path.join(out, 'bench/serve.js'), [], {
    execArgv: [],
    env: { ...process.env, BENCH_SERVE: JSON.stringify(serve), LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type: string; port?: number }) => m.type === 'ready' && resolve(m.port!));
    child.once('exit', (code) => reject(new Error(`compiled server exited with ${code}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.send({ type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  onCleanup(stop);
  return { port, pid: child.pid!, stop };
}

/** `--keep NAME`: an existing database to reuse (`create` makes it); never dropped, so reruns skip the load. */
async function keptDb(dbName: string, create = false) {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  onCleanup(() => admin.end());
  const found = (await admin.query('select 1 from pg_database where datname = $1', [dbName])).rowCount;
  if (!found && !create) return null;
  if (!found) await admin.query(`create database "${dbName}"`);
  const version = (await admin.query('show server_version')).rows[0].server_version as string;
  const client = new pg.Client({ connectionString: urlOf(dbName, 'bench_setup') });
  await client.connect();
  onCleanup(() => client.end());
  return { admin, client, version: `PostgreSQL ${version.split(' ')[0]}` };
}

async function main() {
  const t0 = performance.now();
  const info = machine();
  const name = opts.keep ?? `resolve_bench_claimslist_${Date.now()}_${process.pid}`;
  const existing = opts.keep ? await keptDb(opts.keep) : null;
  const { admin, client, version } =
    existing ?? (opts.keep ? await keptDb(opts.keep, true) : await createBenchDb(name))!;

  // Schema through the app's migrations; one big shop and four small ones.
  const database = await openDatabase({ databaseUrl: urlOf(name, 'bench_setup'), dataDir: null, poolMax: 2 });
  await database.migrate();
  const reused = existing ? await findShopBySlug(database.db, 'bench') : null;
  const main = reused ?? (await createShop(database.db, { slug: 'bench', name: 'Bench' }));
  const { secret } = await createApiKey(database.db, { shopIds: [main.id], role: 'viewer', name: 'bench' });
  if (!reused) await loadData(client, main.id, database);
  const counts = (
    await client.query(
      `select (select count(*) from claims)::int as claims, (select count(*) from claims where shop_id = $1)::int as main_shop,
        (select count(*) from claim_items)::int as items, (select count(*) from orders)::int as orders,
        (select min(created_at)::date::text from claims) as first, (select max(created_at)::date::text from claims) as last,
        pg_size_pretty(pg_total_relation_size('claims')) as claims_size`,
      [main.id],
    )
  ).rows[0];
  log(`${version}: ${JSON.stringify(counts)}${reused ? ' (kept database, reused)' : ''}`);
  // Search terms from 3,000 random claims of the main shop, typed as people type them.
  const picks = (
    await client.query(
      `select number, order_number_norm, customer_email from claims where shop_id = $1
       and id = any(select 'clm_' || lpad((1 + floor(random() * $2))::int::text, 26, '0') from generate_series(1, 3000))`,
      [main.id, opts.claims],
    )
  ).rows as { number: string; order_number_norm: string; customer_email: string }[];
  const searchOf = (k: number) => {
    const p = picks[k % picks.length];
    return [p.customer_email.toUpperCase(), `#${p.order_number_norm}`, p.number.toLowerCase()][k % 3];
  };
  let seq = 0;
  const nextQuery = (withSearch: boolean): ClaimFilters => {
    const k = seq++;
    return { ...FILTER_PAIRS[k % FILTER_PAIRS.length], ...(withSearch ? { q: searchOf(k * 7919) } : {}) };
  };

  // The app's main list statement for a query, as src/claims/list.ts builds it (plans and the bare side).
  const builder = await openDatabase({ databaseUrl: urlOf(name, 'bench_plan'), dataDir: null, poolMax: 1 });
  const statement = (f: ClaimFilters) =>
    listStatement(builder.db, main.id, f, { sort: '-created_at', limit: 26 }).toSQL();
  const plans: Record<string, string> = {};
  for (const [label, f] of [
    ['two filters + search', { ...FILTER_PAIRS[0], q: searchOf(1) }],
    ['two filters', FILTER_PAIRS[1]],
  ] as [string, ClaimFilters][]) {
    const st = statement(f);
    plans[label] = (await client.query(`explain (analyze, costs off) ${st.sql}`, st.params)).rows
      .map((r) => r['QUERY PLAN'] as string)
      .join('\n');
    log(`plan, ${label}:\n${plans[label]}`);
  }
  await database.close();

  const api = await startServer({ kind: 'api', databaseUrl: urlOf(name, 'bench_api'), pool: opts.pool });
  const bare = new pg.Pool({ connectionString: urlOf(name, 'bench_bare'), max: opts.pool });
  const auth = { authorization: `Bearer ${secret}` };
  const toQs = (f: ClaimFilters) => new URLSearchParams(f as Record<string, string>).toString();

  const apiRun = async (withSearch: boolean, connections: number, duration: number) =>
    load({
      port: api.port,
      method: 'GET',
      path: '/v1/shops/bench/claims',
      connections,
      duration,
      expect: 200,
      next: () => ({
        path: `/v1/shops/bench/claims?${toQs(nextQuery(withSearch))}`,
        body: '',
        headers: auth,
      }),
    });
  const bareRun = async (withSearch: boolean, connections: number, duration: number) => {
    const latencies: number[] = [];
    const until = performance.now() + duration * 1000;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < until) {
          const st = statement(nextQuery(withSearch));
          const s = performance.now();
          await bare.query(st.sql, st.params);
          latencies.push(performance.now() - s);
        }
      }),
    );
    return { requests: latencies.length, seconds: (performance.now() - t) / 1000, latencies };
  };

  // Warm-up, then ABBA per concurrency level.
  const listResults: Record<string, unknown>[] = [];
  if (opts.list) {
    await apiRun(true, 4, 3);
    await bareRun(true, 4, 2);
  }
  for (const withSearch of opts.list ? [true, false] : [])
    for (const c of opts.connections) {
      const a = [await apiRun(withSearch, c, opts.duration / 2)];
      const b = [await bareRun(withSearch, c, opts.duration / 2)];
      b.push(await bareRun(withSearch, c, opts.duration / 2));
      a.push(await apiRun(withSearch, c, opts.duration / 2));
      const sum = (runs: { requests: number; seconds: number; latencies: number[] }[]) => {
        const all = runs.flatMap((r) => r.latencies);
        const n = runs.reduce((x, r) => x + r.requests, 0);
        const sec = runs.reduce((x, r) => x + r.seconds, 0);
        return { requests: n, rps: n / sec, p50: pct(all, 50), p95: pct(all, 95), p99: pct(all, 99) };
      };
      const row = {
        scenario: withSearch ? 'two filters + search' : 'two filters (page of 25)',
        connections: c,
        api: sum(a),
        bare: sum(b),
      };
      listResults.push(row);
      log(
        `${row.scenario}, c=${c}: API p50 ${row.api.p50.toFixed(1)} p95 ${row.api.p95.toFixed(1)} ms ${fmt(row.api.rps)}/s | ` +
          `bare SQL p50 ${row.bare.p50.toFixed(1)} p95 ${row.bare.p95.toFixed(1)} ms ${fmt(row.bare.rps)}/s`,
      );
      if (interrupted) return;
    }

  // Other reads of the portal, one at a time (for information: no target).
  const timeGet = async (label: string, path: string, n = 7) => {
    const ms: number[] = [];
    for (let k = 0; k < n; k++) {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${api.port}${path}`, { headers: auth });
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      ms.push(performance.now() - t);
    }
    log(`${label}: median ${pct(ms, 50).toFixed(0)} ms, max ${pct(ms, 100).toFixed(0)} ms`);
    return { label, path, median: pct(ms, 50), max: pct(ms, 100) };
  };
  const day = 86_400_000;
  const iso = (d: number) => new Date(Date.now() - d * day).toISOString();
  const others = !opts.list
    ? []
    : [
        await timeGet('counts per status, no filter', '/v1/shops/bench/claims/counts'),
        await timeGet(
          'counts per status, two filters',
          '/v1/shops/bench/claims/counts?carrier=dhl,dpd&country=DE',
        ),
        await timeGet(
          'list, page 200 by page/per_page (offset 4,975)',
          '/v1/shops/bench/claims?page=200&per_page=25',
        ),
        await timeGet('list, -updated_at, first page', '/v1/shops/bench/claims?sort=-updated_at'),
        await timeGet('analytics, last 30 days by day', '/v1/shops/bench/analytics/claims'),
        await timeGet(
          'analytics, last 365 days by week',
          `/v1/shops/bench/analytics/claims?from=${iso(365)}&interval=week`,
          3,
        ),
        await timeGet(
          'analytics, 5 years by month',
          `/v1/shops/bench/analytics/claims?from=${iso(1830)}&interval=month`,
          3,
        ),
      ];

  let exportResult: Record<string, unknown> | null = null;
  if (opts.export) {
    // Fresh server processes: their RSS before and during the export is the export's, not the list runs' leftovers.
    // `compiled` runs src/ transpiled to JavaScript, as `npm start` runs it (dist/); `tsx` as the other benches.
    await api.stop();
    const runs: Record<string, ExportRun> = {};
    for (const kind of ['compiled', 'tsx'] as const) {
      const serve: ServeOptions = { kind: 'api', databaseUrl: urlOf(name, 'bench_api'), pool: opts.pool };
      const server =
        kind === 'compiled'
          ? await compiledServer(serve)
          : await startServer(serve).then((x) => ({ port: x.port, pid: x.child.pid!, stop: x.stop }));
      await new Promise((r) => setTimeout(r, 1000));
      runs[kind] = await measureExport(server.port, server.pid, auth);
      log(`export (${kind} server): ${JSON.stringify(runs[kind])}`);
      await server.stop();
      if (interrupted) return;
    }
    exportResult = { ...runs, bare: await bareExport(name, main.id) };
    log(`export (bare): ${JSON.stringify(exportResult.bare)}`);
  }
  await bare.end();
  await api.stop();
  await builder.close();

  const result = {
    machine: { ...info, loadEnd: machine().load },
    version,
    data: counts,
    list: listResults,
    others,
    export: exportResult,
    plans,
    totalSeconds: (performance.now() - t0) / 1000,
  };
  report(result);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(result, null, 2));
  void admin;
}

// biome-ignore lint/suspicious/noExplicitAny: report of the result object built above
function report(r: any) {
  const out: string[] = [];
  out.push(
    `\n${r.version}, ${r.machine.cores} cores, Node ${r.machine.node}, load ${r.machine.load.toFixed(1)} → ${r.machine.loadEnd.toFixed(1)}`,
  );
  out.push(
    `data: ${fmt(r.data.claims)} claims (${fmt(r.data.main_shop)} in the main shop), ${fmt(r.data.items)} items, ${fmt(r.data.orders)} orders, ${r.data.first}…${r.data.last}, claims table ${r.data.claims_size}`,
  );
  out.push(
    '\n| list | conn | API p50 ms | API p95 ms | API req/s | bare SQL p50 ms | bare SQL p95 ms | bare req/s | API/bare p95 | target p95 ≤ 50 ms |',
  );
  out.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|---|');
  for (const x of r.list)
    out.push(
      `| ${x.scenario} | ${x.connections} | ${x.api.p50.toFixed(1)} | **${x.api.p95.toFixed(1)}** | ${fmt(x.api.rps)} | ${x.bare.p50.toFixed(1)} | ${x.bare.p95.toFixed(1)} | ${fmt(x.bare.rps)} | ${(x.api.p95 / x.bare.p95).toFixed(1)}× | ${x.scenario.includes('search') ? (x.api.p95 <= TARGET_P95_MS ? 'met' : 'NOT met') : '–'} |`,
    );
  out.push('\n| other reads (one at a time) | median ms | max ms |');
  out.push('|---|--:|--:|');
  for (const o of r.others) out.push(`| ${o.label} | ${fmt(o.median)} | ${fmt(o.max)} |`);
  if (r.export) {
    const e = r.export;
    out.push(
      '\n| export (all claims of the main shop) | rows | MB | seconds | first byte ms | RSS before MB | peak RSS MB | vs bare |',
    );
    out.push('|---|--:|--:|--:|--:|--:|--:|--:|');
    for (const [label, x] of [
      ['API `export.csv`, compiled server (as `npm start`)', e.compiled],
      ['API `export.csv`, tsx server', e.tsx],
    ] as [string, ExportRun][])
      out.push(
        `| ${label} | ${fmt(x.rows)} | ${fmt(x.mb)} | **${x.seconds.toFixed(1)}** | ${fmt(x.firstByteMs)} | ${fmt(x.rssBeforeMb)} | **${fmt(x.peakRssMb)}** | ${(x.seconds / e.bare.seconds).toFixed(2)}× |`,
      );
    out.push(
      `| bare \`psql \\copy … csv\` | ${fmt(e.bare.rows)} | ${fmt(e.bare.mb)} | ${e.bare.seconds.toFixed(1)} | – | – | – | 1.00× |`,
    );
    const c = e.compiled as ExportRun;
    out.push(
      `\nexport ≤ ${TARGET_EXPORT_S} s: ${c.seconds <= TARGET_EXPORT_S ? 'met' : 'NOT met'}; peak RSS ≤ ${TARGET_RSS_MB} MB (compiled server): ${c.peakRssMb <= TARGET_RSS_MB ? 'met' : 'NOT met'}`,
    );
  }
  out.push(`\ntotal ${r.totalSeconds.toFixed(0)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/**
 * Loads the claims (and their orders and items) with set-based SQL: indexes dropped first and rebuilt after, as a
 * restore would. 1 in 25 orders (and their claims) belongs to one of four small shops.
 */
async function loadData(
  client: pg.Client,
  mainId: string,
  database: Awaited<ReturnType<typeof openDatabase>>,
) {
  const small = [];
  for (let k = 0; k < 4; k++)
    small.push(await createShop(database.db, { slug: `small-${k}`, name: `Small ${k}` }));
  const tLoad = performance.now();
  await client.query('set synchronous_commit = off');
  await client.query("set maintenance_work_mem = '512MB'");
  await client.query(BENCH_FUNCTIONS);
  const indexes = (
    await client.query(
      `select indexname, indexdef from pg_indexes where schemaname = 'public'
       and tablename in ('orders', 'claims', 'claim_items') and indexname not like '%_pkey'`,
    )
  ).rows as { indexname: string; indexdef: string }[];
  for (const ix of indexes) await client.query(`drop index "${ix.indexname}"`);
  const nOrders = Math.round(opts.claims * 0.8);
  const shopIds = [mainId, ...small.map((s) => s.id)];
  for (let from = 1; from <= nOrders; from += CHUNK) {
    await client.query(ordersSql, [from, Math.min(nOrders, from + CHUNK - 1), shopIds, nOrders]);
    log(
      `  orders ${fmt(Math.min(nOrders, from + CHUNK - 1))} (${Math.round((performance.now() - tLoad) / 1000)} s)`,
    );
  }
  for (let from = 1; from <= opts.claims; from += CHUNK) {
    const to = Math.min(opts.claims, from + CHUNK - 1);
    await client.query(claimsSql, [from, to, nOrders, shopIds, opts.claims]);
    await client.query(itemsSql, [from, to, nOrders, shopIds, opts.claims]);
    log(`  claims ${fmt(to)} (${Math.round((performance.now() - tLoad) / 1000)} s)`);
  }
  const tIndex = performance.now();
  for (const ix of indexes) await client.query(ix.indexdef);
  const indexSeconds = (performance.now() - tIndex) / 1000;
  for (const t of ['orders', 'claims', 'claim_items']) await client.query(`vacuum (analyze) ${t}`);
  const loadSeconds = (performance.now() - tLoad) / 1000;
  log(`loaded in ${loadSeconds.toFixed(0)} s (indexes ${indexSeconds.toFixed(0)} s)`);
}

// ------------------------------------------------------------------------------------------------- data (SQL)

/** A deterministic uniform [0, 1) per (row, salt), so reruns load the same data. */
const BENCH_FUNCTIONS = `create or replace function bench_u(i bigint, salt int) returns float8
  language sql immutable parallel safe as $$ select (hashint8(i * 64 + salt)::bigint + 2147483648) / 4294967296.0 $$`;

/** CASE over cumulative weights: the value whose share of [0, 1) holds u (the last one takes the rest). */
function pick(u: string, choices: [string | null, number][]): string {
  let acc = 0;
  const lit = (v: string | null) => (v === null ? 'null' : `'${v}'`);
  const whens = choices.slice(0, -1).map(([v, w]) => {
    acc += w;
    return `when ${u} < ${acc.toFixed(4)} then ${lit(v)}`;
  });
  return `(case ${whens.join(' ')} else ${lit(choices[choices.length - 1][0])} end)`;
}

/**
 * The order of claim i (claims are numbered in time order, like the app's ids; 1 order in 4 has two claims, one
 * after the other), and the shop of order o (1 in 25 orders belongs to one of 4 small shops).
 */
const ORDER_OF = `cross join lateral (select ceil(i::float8 * $3::int / $5::int)::int as o) oo`;
/**
 * When claim i (or order o) of n was made: rows are inserted in time order, as a live database grows, over 5 years
 * with growth (the density rises towards now).
 */
const AT = (k: string, n: string) => `now() - interval '1830 days' * power(1 - (${k} - 0.5) / ${n}, 1.7)`;
const SHOP_OF = (o: string) =>
  `cross join lateral (select ($4::text[])[case when ${o} % 25 = 0 then 2 + (${o} / 25) % 4 else 1 end] as shop) sh`;
const FLOW = `cross join lateral (select ${pick('bench_u(i, 3)', [
  ['defective', 0.3],
  ['not_received', 0.2],
  ['missing_item', 0.1],
  ['wrong_item', 0.1],
  ['return', 0.2],
  ['dissatisfied', 0.07],
  ['support', 0.03],
])} as flow) f`;
/** Items of claim i: 1–3 (support: 0–1), SKUs with a popularity skew over 200 products. */
const N_ITEMS = `cross join lateral (select case when f.flow = 'support' then (bench_u(i, 9) > 0.5)::int
  else 1 + (bench_u(i, 9) > 0.7)::int + (bench_u(i, 9) > 0.95)::int end as n) ni`;
const ITEM = `cross join lateral (select floor(power(bench_u(i * 4 + k, 10), 2) * 200)::int as sku_n,
  1 + (bench_u(i * 4 + k, 11) > 0.85)::int as qty) it`;
const PRICE = `(990 + (it.sku_n * 137) % 8000)`;

const ordersSql = `insert into orders (id, shop_id, external_id, order_number, order_number_norm, order_name, placed_at,
    currency, language, state, customer_email, customer_first_name, customer_last_name, shipping_address, zip_norm,
    subtotal, shipping_total, total, doc_hash, created_at, updated_at)
  select 'ord_' || lpad(o::text, 26, '0'), sh.shop, 'gid-' || o, '#' || (1000000 + o), (1000000 + o)::text,
    '#' || (1000000 + o), ${AT('o', '$4::int')} - interval '3 days', 'EUR', 'de',
    'fulfilled', 'kunde.' || o || '@example.com', (array['Kim','Lena','Jonas','Aylin','Mateo','Sofia'])[1 + o % 6],
    (array['Berg','Huber','Schmidt','Yilmaz','García','Rossi','Becker'])[1 + o % 7],
    jsonb_build_object('name', 'Kunde ' || o, 'address_line_1', 'Hauptstraße ' || (1 + o % 120), 'city', 'Berlin',
      'zip_code', lpad((10000 + o % 89999)::text, 5, '0'), 'country_code', ${pick('bench_u(o, 6)', [
        ['DE', 0.55],
        ['AT', 0.1],
        ['NL', 0.08],
        ['GB', 0.08],
        ['FR', 0.07],
        ['CH', 0.05],
        ['IT', 0.04],
        ['US', 0.03],
      ])}),
    lpad((10000 + o % 89999)::text, 5, '0'), 2499, 495, 2994, md5(o::text), now(), now()
  from generate_series($1::int, $2::int) o
  cross join lateral (select ($3::text[])[case when o % 25 = 0 then 2 + (o / 25) % 4 else 1 end] as shop) sh`;

const claimsSql = `insert into claims (id, shop_id, number, order_id, shipment_id, flow, reason, description,
    resolution_preference, status, outcome, channel, language, dropoff_permission, answers, context, tags, assignee,
    version, order_number_norm, customer_email, carrier, country_code, shipment_phase, claim_value, currency,
    created_at, updated_at)
  select 'clm_' || lpad(i::text, 26, '0'), sh.shop, 'R-' || (1000 + i), 'ord_' || lpad(o::text, 26, '0'),
    case when f.flow = 'support' then null else 'shp_' || lpad(o::text, 26, '0') end, f.flow, r.reason,
    case when bench_u(i, 12) < 0.6 then 'Paket kam beschädigt an, Inhalt ' || repeat('teilweise kaputt ', 1 + (i % 8)) end,
    case when f.flow = 'support' then null else ${pick('bench_u(i, 13)', [
      ['refund', 0.5],
      ['replacement', 0.25],
      ['store_credit', 0.15],
      [null, 0.1],
    ])} end,
    st.status, case st.status when 'accepted' then 'accepted' when 'rejected' then 'rejected'
      when 'closed' then case when bench_u(i, 14) < 0.7 then 'accepted' else 'rejected' end end,
    ${pick('bench_u(i, 15)', [
      ['zip', 0.6],
      ['token', 0.3],
      ['api', 0.07],
      ['portal', 0.03],
    ])}, 'de', case when f.flow = 'not_received' then bench_u(i, 16) < 0.5 end, '[]'::jsonb,
    jsonb_build_object('order_number', '#' || (1000000 + o), 'order_name', '#' || (1000000 + o),
      'order_state', 'fulfilled', 'placed_at', t.created - interval '5 days', 'currency', 'EUR',
      'order_total', v.value + 495, 'claim_value', v.value,
      'shipment', case when f.flow = 'support' then null else jsonb_build_object('id', 'shp_' || lpad(o::text, 26, '0'),
        'phase', g.phase, 'carrier', g.carrier, 'tracking_number', '00340434' || lpad(o::text, 12, '0'),
        'tracking_url', null, 'delivered_at', t.created - interval '1 day', 'stuck', false) end,
      'shipping_address', jsonb_build_object('name', 'Kunde ' || o, 'address_line_1', 'Hauptstraße ' || (1 + o % 120),
        'city', 'Berlin', 'zip_code', lpad((10000 + o % 89999)::text, 5, '0'), 'country_code', g.cc),
      'customer', jsonb_build_object('email', 'kunde.' || o || '@example.com',
        'first_name', (array['Kim','Lena','Jonas','Aylin','Mateo','Sofia'])[1 + o % 6],
        'last_name', (array['Berg','Huber','Schmidt','Yilmaz','García','Rossi','Becker'])[1 + o % 7])),
    ${pick('bench_u(i, 17)', [
      ['{vip}', 0.08],
      ['{fragile}', 0.03],
      ['{vip,fragile}', 0.02],
      ['{}', 0.87],
    ])}::text[],
    case when bench_u(i, 18) >= 0.3 then 'agent' || (1 + floor(bench_u(i, 19) * 8)::int) || '@shop.example' end,
    case when st.status = 'pending' then 1 else 2 + (i % 3) end,
    (1000000 + o)::text, 'kunde.' || o || '@example.com', g.carrier, g.cc, g.phase, v.value, 'EUR',
    t.created, t.created + interval '1 hour' * (1 + 72 * bench_u(i, 20))
  from generate_series($1::int, $2::int) i
  ${ORDER_OF}
  ${SHOP_OF('o')}
  cross join lateral (select ${AT('i', '$5::int')} as created) t
  ${FLOW}
  cross join lateral (select case f.flow
      when 'defective' then ${pick('bench_u(i, 4)', [
        ['damaged_in_transit', 0.4],
        ['broken_on_arrival', 0.3],
        ['stopped_working', 0.2],
        ['manufacturing_defect', 0.1],
      ])}
      when 'not_received' then ${pick('bench_u(i, 4)', [
        ['delivered_not_received', 0.7],
        ['stuck_in_transit', 0.3],
      ])}
      when 'missing_item' then 'missing_from_parcel'
      when 'wrong_item' then ${pick('bench_u(i, 4)', [
        ['wrong_product', 0.5],
        ['wrong_size', 0.3],
        ['wrong_colour', 0.2],
      ])}
      when 'return' then ${pick('bench_u(i, 4)', [
        ['too_small', 0.3],
        ['too_large', 0.25],
        ['changed_mind', 0.25],
        ['not_as_described', 0.1],
        ['other', 0.1],
      ])}
      when 'dissatisfied' then ${pick('bench_u(i, 4)', [
        ['quality', 0.6],
        ['not_as_described', 0.3],
        ['other', 0.1],
      ])}
      else 'other' end as reason) r
  cross join lateral (select
      case when f.flow = 'support' then null else ${pick('bench_u(o, 5)', [
        ['dhl', 0.42],
        ['dpd', 0.16],
        ['ups', 0.12],
        ['gls', 0.1],
        ['hermes', 0.1],
        ['postnl', 0.05],
        ['royal_mail', 0.05],
      ])} end as carrier,
      ${pick('bench_u(o, 6)', [
        ['DE', 0.55],
        ['AT', 0.1],
        ['NL', 0.08],
        ['GB', 0.08],
        ['FR', 0.07],
        ['CH', 0.05],
        ['IT', 0.04],
        ['US', 0.03],
      ])} as cc,
      case when f.flow = 'support' then null else ${pick('bench_u(i, 7)', [
        ['delivered', 0.78],
        ['in_transit', 0.14],
        ['delivery_failed', 0.04],
        ['returned', 0.04],
      ])} end as phase) g
  cross join lateral (select case when now() - t.created < interval '14 days' then ${pick('bench_u(i, 8)', [
    ['pending', 0.6],
    ['accepted', 0.25],
    ['rejected', 0.1],
    ['closed', 0.05],
  ])} else ${pick('bench_u(i, 8)', [
    ['pending', 0.02],
    ['accepted', 0.2],
    ['rejected', 0.08],
    ['closed', 0.7],
  ])} end as status) st
  ${N_ITEMS}
  cross join lateral (select coalesce(sum(${PRICE} * it.qty), 0)::bigint as value
    from generate_series(1, ni.n) k ${ITEM}) v`;

const itemsSql = `insert into claim_items (id, shop_id, claim_id, line_item_id, shipment_id, sku, title, variant_title,
    quantity, unit_net_price, image_url)
  select 'cli_' || lpad((i * 4 + k)::text, 26, '0'), sh.shop, 'clm_' || lpad(i::text, 26, '0'),
    'li_' || lpad(o::text, 24, '0') || k, case when f.flow = 'support' then null else 'shp_' || lpad(o::text, 26, '0') end,
    'SKU-' || lpad(it.sku_n::text, 3, '0'), 'Produkt ' || it.sku_n, case when it.sku_n % 3 = 0 then 'Größe M' end,
    it.qty, ${PRICE}, null
  from generate_series($1::int, $2::int) i
  ${ORDER_OF}
  ${SHOP_OF('o')}
  ${FLOW}
  ${N_ITEMS}
  cross join lateral generate_series(1, ni.n) k
  ${ITEM}`;

main()
  .catch((err) => {
    log(String(err?.stack ?? err));
    process.exitCode = 1;
  })
  .finally(() => cleanup());
