/**
 * Claim submission (`POST /v1/resolve/{slug}/claims`) through the real app: claims/s and latency, on PostgreSQL
 * (one shop, and spread over 4 shops) and, for information, on PGlite. On PostgreSQL each run is measured side by
 * side with a bare Fastify + pg route that stores a claim with the minimum SQL (bench/serve.ts, `bareClaim`), in
 * the same database and tables. See bench/CUSTOMER.md.
 *
 *   node --import tsx bench/claims.ts [--duration 15] [--orders 16000] [--bare-orders 40000] [--pglite-duration 10]
 *                     [--pglite-orders 3000] [--connections 50] [--pool 10] [--db pg,pglite] [--no-diagnose]
 *                     [--no-bare] [--bare-number-before] [--profile DIR] [--json FILE]
 *
 * Environment: BENCH_DURATION, BENCH_ORDERS, BENCH_CONNECTIONS, BENCH_POOL, BENCH_DBS, BENCH_JSON; BENCH_PG_URL is the admin URL
 * (default postgres://postgres@127.0.0.1:5432/postgres). The script creates resolve_bench_claims_<ts>_<pid> (and a
 * PGlite temp dir) and removes them at the end, also on Ctrl-C.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { openDatabase } from '../src/db/client.js';
import { CLAIM_CONTEXT_SQL } from '../src/resolve/claim-context.js';
import { createShop } from '../src/shops/shops.js';
import {
  backendCpu,
  cleanup,
  createBenchDb,
  type Exec,
  fmt,
  int,
  interrupted,
  lineItemIdOf,
  load,
  loadOrders,
  log,
  machine,
  onCleanup,
  orderIdOf,
  type ServerChild,
  startServer,
  summarize,
  urlOf,
  waitSampler,
} from './support.js';

const { values: argv } = parseArgs({
  options: {
    duration: { type: 'string' },
    orders: { type: 'string' },
    'bare-orders': { type: 'string' },
    'no-bare': { type: 'boolean' },
    'bare-number-before': { type: 'boolean' },
    'pglite-duration': { type: 'string' },
    'pglite-orders': { type: 'string' },
    connections: { type: 'string' },
    pool: { type: 'string' },
    db: { type: 'string' },
    'no-diagnose': { type: 'boolean' },
    profile: { type: 'string' },
    json: { type: 'string' },
  },
});
const env = process.env;
const opts = {
  /** Seconds per measured run on PostgreSQL (the diagnostic runs take half). */
  duration: int(argv.duration ?? env.BENCH_DURATION, 15),
  /** Orders (each with a session) prepared per run: every claim is on an order of its own. */
  orders: int(argv.orders ?? env.BENCH_ORDERS, 16_000),
  /** The same for the bare side (PostgreSQL only), which is several times faster. */
  bareOrders: int(argv['bare-orders'] ?? env.BENCH_BARE_ORDERS, 40_000),
  /** Measure the bare route beside the API (PostgreSQL). */
  bare: !argv['no-bare'],
  /** Also measure the bare route taking the number before its transaction (numbers may have gaps). */
  bareNumberBefore: !!argv['bare-number-before'],
  pgliteDuration: int(argv['pglite-duration'], 10),
  pgliteOrders: int(argv['pglite-orders'], 3000),
  connections: int(argv.connections ?? env.BENCH_CONNECTIONS, 50),
  pool: int(argv.pool ?? env.BENCH_POOL, 10),
  dbs: (argv.db ?? env.BENCH_DBS ?? 'pg,pglite').split(',').map((s) => s.trim()),
  /** Also run with synchronous_commit=off on the benchmark database: shows what the WAL flush costs. */
  diagnose: !argv['no-diagnose'],
  profile: argv.profile ?? null,
  json: argv.json ?? env.BENCH_JSON ?? null,
};
for (const d of opts.dbs) if (d !== 'pg' && d !== 'pglite') throw new Error(`--db: unknown "${d}"`);
/**
 * Untimed claims before the runs: the shop's claim history. Then ANALYZE, as autovacuum does after 50 + 10 % new
 * rows: the runs measure a shop whose tables have statistics, as in production. (Right after `vacuum (analyze)`
 * of EMPTY claim tables, a named statement's generic plan scans `claims` sequentially and keeps that plan until the
 * next ANALYZE; a fresh install never has that state, since autovacuum skips untouched tables, and PostgreSQL
 * plans a never-vacuumed table as at least 10 pages.)
 */
const WARMUP = 2000;
const TARGET = 1000;

/** The bearer of benchmark session `i` (the format requireSession accepts), and its stored hash. */
const bearerOf = (i: number) =>
  `rss_${createHash('sha256').update(`bench-session-${i}`).digest('base64url')}`;
const hashOf = (bearer: string) => createHash('sha256').update(bearer).digest('hex');

interface Shop {
  id: string;
  slug: string;
}

/**
 * Orders `from..to` of `shop` (one line item, one delivered shipment each) and one open zip-level session per
 * order, stored as openSession() stores it (the bearer hashed).
 */
async function prepare(exec: Exec, shop: Shop, from: number, to: number, sessions = true) {
  await loadOrders(exec, shop.id, from, to);
  if (!sessions) return;
  const ids: string[] = [];
  const hashes: string[] = [];
  const orders: string[] = [];
  for (let i = from; i <= to; i++) {
    ids.push(`ses_bench${String(i).padStart(10, '0')}`);
    hashes.push(hashOf(bearerOf(i)));
    orders.push(orderIdOf(i));
  }
  await exec(
    `insert into resolve_sessions (id, token_hash, shop_id, order_id, level, token_id, expires_at, created_at)
     select id, h, $1, o, 'zip', null, now() + interval '1 hour', now()
     from unnest($2::text[], $3::text[], $4::text[]) as u(id, h, o)`,
    [shop.id, ids, hashes, orders],
  );
}

type Side = 'api' | 'bare' | 'bare_nb';
const SIDE_NAMES: Record<Side, string> = { api: 'API', bare: 'bare', bare_nb: 'bare, number before tx' };

interface Scenario {
  name: string;
  /**
   * `api`: the app's route with the order's session; `bare`: bench/serve.ts's bare claim route; `bare_nb`: the
   * same with the number taken before the transaction (`?number=before`).
   */
  side: Side;
  /** Per shop, the order numbers (i) to claim, in submission order. */
  shops: { shop: Shop; orders: number[] }[];
}

/**
 * Submits one claim per order, shops taking turns, with `connections` concurrent clients: all of the scenario's
 * orders (`seconds` null) or for `seconds`, which must not run out of orders.
 */
async function submit(server: ServerChild, sc: Scenario, connections: number, seconds: number | null) {
  const queue: { slug: string; i: number }[] = [];
  const longest = Math.max(...sc.shops.map((s) => s.orders.length));
  for (let k = 0; k < longest; k++)
    for (const s of sc.shops) if (k < s.orders.length) queue.push({ slug: s.shop.slug, i: s.orders[k] });
  let next = 0;
  const res = await load({
    port: server.port,
    path: sc.side === 'api' ? '/v1/resolve/x/claims' : '/bare/x/claims',
    connections: Math.min(connections, queue.length),
    ...(seconds ? { duration: seconds } : { amount: queue.length }),
    expect: 201,
    next: (): { path: string; body: string; headers: Record<string, string> } => {
      const q = queue[next++ % queue.length];
      if (sc.side !== 'api')
        return {
          path: `/bare/${q.slug}/claims${sc.side === 'bare_nb' ? '?number=before' : ''}`,
          body: JSON.stringify({
            order_id: orderIdOf(q.i),
            line_item_id: lineItemIdOf(q.i),
            quantity: 1,
            flow: 'missing_item',
            reason: 'missing_from_parcel',
            resolution_preference: 'refund',
          }),
          headers: { 'idempotency-key': `bench-claim-${q.i}` },
        };
      return {
        path: `/v1/resolve/${q.slug}/claims`,
        body: JSON.stringify({
          flow: 'missing_item',
          reason: 'missing_from_parcel',
          items: [{ line_item_id: lineItemIdOf(q.i), quantity: 1 }],
          resolution_preference: 'refund',
        }),
        headers: { authorization: `Bearer ${bearerOf(q.i)}`, 'idempotency-key': `bench-claim-${q.i}` },
      };
    },
  });
  if (next > queue.length)
    throw new Error(`${sc.name}: ran out of prepared orders after ${queue.length} claims; raise --orders`);
  return res;
}

interface RunResult {
  scenario: string;
  side: Side;
  claims: number;
  seconds: number;
  claims_per_s: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  queries_per_claim: number | null;
  node_cpu_us_per_claim: number;
  db_cpu_us_per_claim: number | null;
  db_backend_states: Record<string, number> | null;
}

async function measure(
  server: ServerChild,
  sc: Scenario,
  seconds: number,
  counters: {
    cpu: () => Promise<number | null>;
    waits: (() => () => Promise<Record<string, number>>) | null;
  },
  profile: string | null,
): Promise<RunResult> {
  if (profile) await server.profileStart();
  const before = await server.stats();
  const db0 = await counters.cpu();
  const stopWaits = counters.waits?.() ?? null;
  const r = await submit(server, sc, opts.connections, seconds);
  const waits = stopWaits ? await stopWaits() : null;
  const after = await server.stats();
  const db1 = await counters.cpu();
  if (profile) await server.profileStop(profile);
  const s = summarize([r]);
  const res: RunResult = {
    scenario: sc.name,
    side: sc.side,
    claims: s.requests,
    seconds: s.seconds,
    claims_per_s: Math.round(s.rps),
    p50: s.p50,
    p90: s.p90,
    p99: s.p99,
    max: s.max,
    // Counted at the pg driver: none on PGlite.
    queries_per_claim:
      after.queries === before.queries
        ? null
        : Number(((after.queries - before.queries) / (after.requests - before.requests)).toFixed(1)),
    node_cpu_us_per_claim: Math.round((after.cpu - before.cpu) / s.requests),
    db_cpu_us_per_claim: db0 === null || db1 === null ? null : Math.round((db1 - db0) / s.requests),
    db_backend_states: waits,
  };
  log(
    `  ${sc.name} (${sc.side}): ${fmt(res.claims)} claims in ${res.seconds} s = ${fmt(res.claims_per_s)}/s, ` +
      `p50 ${res.p50.toFixed(1)} ms, p99 ${res.p99.toFixed(1)} ms, ${res.queries_per_claim ?? '–'} queries/claim`,
  );
  return res;
}

/**
 * Every claim has its item, history row and claims/created event; numbers are unique and gap-free per shop; at
 * least the answered claims exist (requests still in flight when a timed run ends complete on the server).
 */
async function verify(exec: Exec, shops: Shop[], answered: number) {
  const { rows } = await exec(
    `select count(*)::int as claims, count(distinct (shop_id, number))::int as numbers,
       (select count(*)::int from claim_items) as items, (select count(*)::int from claim_history) as history,
       (select count(*)::int from events where type = 'claims/created') as events,
       (select bool_and(s.claim_seq - 1000 = (select count(*) from claims c where c.shop_id = s.id))
          from shops s where s.id = any($1)) as gap_free
     from claims`,
    [shops.map((s) => s.id)],
  );
  const r = rows[0] as {
    claims: number;
    numbers: number;
    items: number;
    history: number;
    events: number;
    gap_free: boolean;
  };
  if (
    r.claims < answered ||
    r.numbers !== r.claims ||
    r.items !== r.claims ||
    r.history !== r.claims ||
    r.events !== r.claims ||
    !r.gap_free
  )
    throw new Error(`expected ≥ ${answered} whole claims with gap-free numbers; got ${JSON.stringify(r)}`);
  return r;
}

// ---------------------------------------------------------------------------------------------- databases

/** Orders from `first` on: [warm-up][single shop: N][4 shops: N/2 each]. */
function plan(n: number, first = 1) {
  const o = first - 1;
  const warm = { from: o + 1, to: o + WARMUP };
  const single = { from: o + WARMUP + 1, to: o + WARMUP + n };
  const per = Math.ceil(n / 2);
  const spread = [0, 1, 2, 3].map((k) => ({
    from: o + WARMUP + n + 1 + k * per,
    to: o + WARMUP + n + (k + 1) * per,
  }));
  return { warm, single, spread, total: WARMUP + n + 4 * per };
}
const range = (r: { from: number; to: number }) =>
  Array.from({ length: r.to - r.from + 1 }, (_, k) => r.from + k);

async function runPostgres() {
  const name = `resolve_bench_claims_${Date.now()}_${process.pid}`;
  const { admin, client, version } = await createBenchDb(name);
  const database = await openDatabase({ databaseUrl: urlOf(name, 'bench_setup'), dataDir: null, poolMax: 2 });
  await database.migrate();
  const mk = async (slug: string) => {
    const s = await createShop(database.db, { slug, name: slug });
    return { id: s.id, slug };
  };
  const main = await mk('bench');
  const spreadShops = [await mk('bench-1'), await mk('bench-2'), await mk('bench-3'), await mk('bench-4')];
  await database.close();

  const exec: Exec = (text, params) => client.query(text, params);
  const runs: RunResult[] = [];
  let answered = 0;
  // API orders (with sessions) first, then the bare side's (no sessions); the diagnostic pass after both.
  let nextOrder = 1;
  const scenarios = async (tag: string, diagnostic: boolean, seconds: number) => {
    const t0 = performance.now();
    const sides = (['api', 'bare', 'bare_nb'] as const).filter(
      (side) => side === 'api' || (opts.bare && (side === 'bare' || opts.bareNumberBefore)),
    );
    const plans = Object.fromEntries(
      sides.map((side) => {
        const p = plan(side === 'api' ? opts.orders : opts.bareOrders, nextOrder);
        nextOrder += p.total;
        return [side, p];
      }),
    ) as Record<Side, ReturnType<typeof plan>>;
    await client.query('set synchronous_commit = off');
    for (const side of sides) {
      const p = plans[side];
      await prepare(exec, main, p.warm.from, p.single.to, side === 'api');
      for (const [k, s] of spreadShops.entries())
        await prepare(exec, s, p.spread[k].from, p.spread[k].to, side === 'api');
    }
    await client.query('vacuum (analyze)');
    log(`  ${fmt(nextOrder - 1)} orders in all, prepared in ${Math.round(performance.now() - t0)} ms`);

    const servers = {
      api: await startServer({ kind: 'api', databaseUrl: urlOf(name, 'bench_api'), pool: opts.pool }),
      bare: opts.bare
        ? await startServer({ kind: 'bare', databaseUrl: urlOf(name, 'bench_bare'), pool: opts.pool })
        : null,
    };
    // Both bare variants are served by the bare server (runs take turns, so the counters tell them apart).
    const serverOf = (side: Side) => (side === 'api' ? servers.api : servers.bare!);
    const appOf = (side: Side) => (side === 'api' ? 'bench_api' : 'bench_bare');
    const counters = (side: Side) => ({
      cpu: backendCpu(admin, name, appOf(side)),
      waits: () => waitSampler(admin, name, appOf(side)),
    });
    for (const side of sides) {
      const warm = await submit(
        serverOf(side),
        { name: 'warm-up', side, shops: [{ shop: main, orders: range(plans[side].warm) }] },
        20,
        null,
      );
      answered += warm.requests;
    }
    // Photos of that history (the runs' claims have none): rows only, no files, so the statistics of `uploads`
    // are those of a shop with evidence.
    await client.query(
      `insert into uploads (id, shop_id, order_id, session_id, storage_key, content_type, size, sha256, claim_id)
       select 'upl_bench_' || o, $1, o, null, 'bench/' || o, 'image/jpeg', 250000, repeat('0', 64), null
       from unnest($2::text[]) as o`,
      [main.id, range(plans.api.warm).map(orderIdOf)],
    );
    await client.query('analyze');
    const prof = (s: string) =>
      opts.profile && !diagnostic ? path.resolve(opts.profile, `claims-${s}.cpuprofile`) : null;
    // API and bare take turns going first (1 shop: API first; 4 shops: bare first).
    for (const [k, shopsOf] of [
      [0, (p: ReturnType<typeof plan>) => [{ shop: main, orders: range(p.single) }]],
      [
        1,
        (p: ReturnType<typeof plan>) => spreadShops.map((shop, j) => ({ shop, orders: range(p.spread[j]) })),
      ],
    ] as const) {
      const label = k === 0 ? '1 shop' : '4 shops';
      for (const side of k === 0 ? sides : [...sides].reverse()) {
        const r = await measure(
          serverOf(side),
          { name: `${tag}, ${label}`, side, shops: shopsOf(plans[side]) },
          seconds,
          counters(side),
          prof(`${side}-${k === 0 ? '1-shop' : '4-shops'}`),
        );
        runs.push(r);
        answered += r.claims;
      }
    }
    await servers.api.stop();
    await servers.bare?.stop();
  };

  if (opts.profile) fs.mkdirSync(opts.profile, { recursive: true });
  await scenarios(version, false, opts.duration);
  const checked = await verify(exec, [main, ...spreadShops], answered);
  const readPlan = await genericPlan(client);
  if (opts.diagnose) {
    // Diagnostic only (never a production setting): the same claims without waiting for the WAL flush.
    await admin.query(`alter database "${name}" set synchronous_commit = off`);
    await scenarios(
      `${version}, synchronous_commit=off (diagnostic)`,
      true,
      Math.max(1, Math.round(opts.duration / 2)),
    );
    await verify(exec, [main, ...spreadShops], answered);
  }
  const fsync = (await admin.query(`select setting from pg_settings where name = 'wal_sync_method'`)).rows[0]
    .setting as string;
  return { runs, checked, version, wal_sync_method: fsync, readPlan };
}

/**
 * The generic plan of the claim's read statement (src/resolve/claim-context.ts) as a named statement gets it after
 * the runs: which tables it scans sequentially (none of claims, claim_items or uploads may be, or a claim's cost
 * grows with the shop's claims).
 */
async function genericPlan(client: pg.Client) {
  await client.query('set plan_cache_mode = force_generic_plan');
  await client.query(`prepare claim_context_plan as ${CLAIM_CONTEXT_SQL}`);
  const params = (CLAIM_CONTEXT_SQL.match(/\$\d+/g) ?? []).reduce(
    (n, p) => Math.max(n, Number(p.slice(1))),
    0,
  );
  const args = Array.from({ length: params }, () => 'null').join(', ');
  const { rows } = await client.query(`explain (costs off) execute claim_context_plan(${args})`);
  await client.query('deallocate claim_context_plan');
  await client.query('reset plan_cache_mode');
  const plan = rows.map((r) => String(r['QUERY PLAN']));
  const seq = [...new Set(plan.flatMap((l) => l.match(/Seq Scan on (\w+)/)?.[1] ?? []))];
  const scans = [
    ...new Set(
      plan.flatMap(
        (l) => l.match(/Index (?:Only )?Scan using (\w+) on (claims|claim_items|uploads)/)?.[1] ?? [],
      ),
    ),
  ];
  return {
    sequential: seq,
    claim_indexes: scans,
    ok: !seq.some((t) => ['claims', 'claim_items', 'uploads'].includes(t)),
  };
}

async function runPglite() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-bench-claims-'));
  onCleanup(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const server = await startServer({ kind: 'api', databaseUrl: null, pgliteDir: dir, pool: 1 });
  const exec = server.exec;
  const mk = async (slug: string) => {
    const { rows } = await exec(
      `insert into shops (id, slug, name) values ('shop_bench_' || $1, $1, $1) returning id, slug`,
      [slug],
    );
    return rows[0] as unknown as Shop;
  };
  const main = await mk('bench');
  const spreadShops = [await mk('bench-1'), await mk('bench-2'), await mk('bench-3'), await mk('bench-4')];
  const p = plan(opts.pgliteOrders);
  const t0 = performance.now();
  await prepare(exec, main, p.warm.from, p.single.to);
  for (const [k, s] of spreadShops.entries()) await prepare(exec, s, p.spread[k].from, p.spread[k].to);
  await exec('analyze');
  log(`  ${fmt(p.total)} orders with sessions prepared in ${Math.round(performance.now() - t0)} ms`);
  const { rows } = await exec('select version() as v');
  const version = `${String(rows[0].v).split(' on ')[0]} (data dir)`;
  const none = { cpu: async () => null, waits: null };
  const warm = await submit(
    server,
    { name: 'warm-up', side: 'api', shops: [{ shop: main, orders: range(p.warm) }] },
    20,
    null,
  );
  const runs = [
    await measure(
      server,
      { name: `${version}, 1 shop`, side: 'api', shops: [{ shop: main, orders: range(p.single) }] },
      opts.pgliteDuration,
      none,
      null,
    ),
    await measure(
      server,
      {
        name: `${version}, 4 shops`,
        side: 'api',
        shops: spreadShops.map((shop, k) => ({ shop, orders: range(p.spread[k]) })),
      },
      opts.pgliteDuration,
      none,
      null,
    ),
  ];
  const checked = await verify(exec, [main, ...spreadShops], warm.requests + runs[0].claims + runs[1].claims);
  await server.stop();
  return { runs, checked, version };
}

// ---------------------------------------------------------------------------------------------- main

async function main() {
  const t0 = performance.now();
  const info = machine();
  const results: RunResult[] = [];
  const out: Record<string, unknown> = { ...info, options: opts };
  let readPlan: Awaited<ReturnType<typeof genericPlan>> | null = null;
  if (opts.dbs.includes('pg')) {
    log('PostgreSQL');
    const r = await runPostgres();
    results.push(...r.runs);
    out.postgres = {
      version: r.version,
      wal_sync_method: r.wal_sync_method,
      checked: r.checked,
      read_plan: r.readPlan,
    };
    readPlan = r.readPlan;
  }
  if (opts.dbs.includes('pglite')) {
    log('PGlite');
    const r = await runPglite();
    results.push(...r.runs);
    out.pglite = { version: r.version, checked: r.checked };
  }
  const single = results.find(
    (r) =>
      r.side === 'api' &&
      r.scenario.startsWith('PostgreSQL') &&
      r.scenario.endsWith(', 1 shop') &&
      !r.scenario.includes('diagnostic'),
  );
  // The API against the bare route of the same run (same scenario).
  const bareOf = (r: RunResult) =>
    r.side !== 'bare' ? results.find((b) => b.side === 'bare' && b.scenario === r.scenario) : undefined;
  const ratioOf = (r: RunResult) => {
    const b = bareOf(r);
    return b ? Number((r.claims_per_s / b.claims_per_s).toFixed(3)) : null;
  };
  out.results = results.map((r) => ({ ...r, vs_bare: r.side !== 'bare' ? ratioOf(r) : null }));
  out.target = {
    claims_per_s: TARGET,
    value: single?.claims_per_s ?? null,
    met: single ? single.claims_per_s >= TARGET : null,
  };
  out.load_end = os.loadavg()[0];
  out.seconds = Math.round((performance.now() - t0) / 1000);
  if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify(out, null, 2)}\n`);

  const lines = [
    '',
    `${info.date} · Node ${info.node} · ${info.cores} cores (${info.cpu}) · load average ${info.load.toFixed(1)} at start, ` +
      `${os.loadavg()[0].toFixed(1)} at end; took ${out.seconds} s`,
    `one claim per order (flow missing_item, 1 item, refund, Idempotency-Key), ${opts.connections} connections, pool ${opts.pool}`,
    '',
    '| run | side | claims | claims/s | p50 ms | p90 ms | p99 ms | max ms | queries/claim | Node CPU µs/claim | DB CPU µs/claim | vs bare |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) => {
      const ratio = ratioOf(r);
      return (
        `| ${r.scenario} | ${SIDE_NAMES[r.side]} | ${fmt(r.claims)} | **${fmt(r.claims_per_s)}** | ` +
        `${r.p50.toFixed(1)} | ${r.p90.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ` +
        `${r.queries_per_claim ?? '–'} | ${fmt(r.node_cpu_us_per_claim)} | ` +
        `${r.db_cpu_us_per_claim === null ? '–' : fmt(r.db_cpu_us_per_claim)} | ` +
        `${r.side === 'bare' ? '1.00×' : ratio === null ? '–' : `**${ratio.toFixed(2)}×**`} |`
      );
    }),
    '',
    ...results
      .filter((r) => r.db_backend_states)
      .map((r) => `backend states, ${r.scenario} (${r.side}): ${JSON.stringify(r.db_backend_states)}`),
    readPlan
      ? `claim read statement, generic plan: ${readPlan.ok ? 'index scans on claims, claim_items and uploads' : 'SEQUENTIAL SCAN'} ` +
        `(indexes: ${readPlan.claim_indexes.join(', ') || 'none'}; sequential scans: ${readPlan.sequential.join(', ') || 'none'})`
      : '',
    single
      ? `target (PostgreSQL, 1 shop): ≥ ${fmt(TARGET)} claims/s: ${single.claims_per_s >= TARGET ? 'met' : 'NOT met'} (${fmt(single.claims_per_s)})`
      : '',
  ];
  console.log(lines.join('\n'));
}

main()
  .catch((err) => {
    if (!interrupted) console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
