/**
 * Customer lookup (`POST /v1/resolve/{slug}/sessions` by order number + ZIP) on PostgreSQL with 1,000,000 orders,
 * side by side with a bare Fastify + pg route running the same indexed query: the app's own lookup statement
 * (`lookupStatement()`, src/resolve/lookup.ts), the target's baseline. A third side, a bare route running only the
 * order's index read (a 40-byte answer), shows the floor. See bench/CUSTOMER.md.
 *
 *   node --import tsx bench/lookup.ts [--orders 1000000] [--duration 16] [--wrong-duration 8] [--connections 50]
 *                     [--pool 10] [--rounds 2] [--clients 1000] [--profile DIR] [--json FILE]
 *
 * Environment: BENCH_ORDERS, BENCH_DURATION, BENCH_CONNECTIONS, BENCH_POOL, BENCH_JSON; BENCH_PG_URL is the admin
 * URL (default postgres://postgres@127.0.0.1:5432/postgres). The script creates resolve_bench_lookup_<ts>_<pid>
 * and drops it at the end, also on Ctrl-C.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src/db/client.js';
import { createShop } from '../src/shops/shops.js';
import {
  backendCpu,
  cleanup,
  createBenchDb,
  fmt,
  int,
  interrupted,
  type LoadResult,
  load,
  loadOrders,
  log,
  machine,
  redisCpu,
  type ServerChild,
  startServer,
  summarize,
  urlOf,
  waitSampler,
} from './support.js';

const { values: argv } = parseArgs({
  options: {
    orders: { type: 'string' },
    duration: { type: 'string' },
    'wrong-duration': { type: 'string' },
    connections: { type: 'string' },
    pool: { type: 'string' },
    rounds: { type: 'string' },
    profile: { type: 'string' },
    json: { type: 'string' },
    redis: { type: 'string' },
    clients: { type: 'string' },
  },
});
const env = process.env;
const opts = {
  orders: int(argv.orders ?? env.BENCH_ORDERS, 1_000_000),
  /** Seconds of measured load per side on the success path, split over the rounds. */
  duration: int(argv.duration ?? env.BENCH_DURATION, 16),
  /** Seconds per side on the wrong-ZIP (404) path. */
  wrongDuration: int(argv['wrong-duration'], 8),
  connections: int(argv.connections ?? env.BENCH_CONNECTIONS, 50),
  /** pg pool size of both servers (the app's default PG_POOL_MAX is 10). */
  pool: int(argv.pool ?? env.BENCH_POOL, 10),
  rounds: int(argv.rounds, 2),
  profile: argv.profile ?? null,
  json: argv.json ?? env.BENCH_JSON ?? null,
  /** REDIS_URL of the API side: the lookup's per-IP and per-shop counters in Redis. Default: in the database. */
  redis: argv.redis ?? env.BENCH_REDIS_URL ?? null,
  /**
   * Client IP addresses the requests come from (X-Forwarded-For, trusted from 127.0.0.1 on the API and the
   * same-query side), in turn. Customers look up from their own addresses; with 1, every request counts on one
   * per-IP row (the load of one attacker, which the limits would stop long before).
   */
  clients: int(argv.clients ?? env.BENCH_CLIENTS, 1000),
};
const CHUNK = 250_000;
const PICKS = 50_000;
const WARMUP_SECONDS = 3;
const TARGET_RATIO = 0.6;
const TARGET_P99_MS = 50;

// ---------------------------------------------------------------------------------------------- helpers

function request(port: number, urlPath: string, body: object) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': data.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** The way customers type them: with or without '#', ZIP as printed or lower-cased without spaces. */
function typed(pair: { number: string; zip: string }, k: number) {
  return {
    order_number: k % 2 ? pair.number : pair.number.replace(/^#/, ''),
    zip_code: k % 3 ? pair.zip : pair.zip.toLowerCase().replace(/\s+/g, ''),
  };
}

type SideName = 'api' | 'bare' | 'same';
interface Side {
  name: SideName;
  server: ServerChild;
  path: string;
  cpu: () => Promise<number | null>;
  /** CPU of the Redis server, when this side uses it. */
  redisCpu?: () => Promise<number | null>;
}

interface Measured {
  runs: LoadResult[];
  nodeCpu: number;
  nodeSys: number;
  /** Requests the server received (autocannon counts only those answered within the duration). */
  served: number;
  dbCpu: number | null;
  redisCpu: number | null;
  queries: number;
  waits: Record<string, number>[];
}

const empty = (): Measured => ({
  runs: [],
  nodeCpu: 0,
  nodeSys: 0,
  served: 0,
  dbCpu: 0,
  redisCpu: 0,
  queries: 0,
  waits: [],
});

// ---------------------------------------------------------------------------------------------- main

async function main() {
  const t0 = performance.now();
  const info = machine();
  const name = `resolve_bench_lookup_${Date.now()}_${process.pid}`;
  const { admin, client, version } = await createBenchDb(name);

  // Schema through the app's own migrations, and one shop.
  const database = await openDatabase({ databaseUrl: urlOf(name, 'bench_setup'), dataDir: null, poolMax: 2 });
  await database.migrate();
  const shop = await createShop(database.db, { slug: 'bench', name: 'Bench' });
  await database.close();

  // 1,000,000 orders with line item, delivered shipment and events: set-based, in chunks.
  const tLoad = performance.now();
  await client.query('set synchronous_commit = off');
  await client.query("set maintenance_work_mem = '256MB'");
  const exec = (text: string, params?: unknown[]) => client.query(text, params);
  for (let from = 1; from <= opts.orders; from += CHUNK) {
    const to = Math.min(opts.orders, from + CHUNK - 1);
    await loadOrders(exec, shop.id, from, to);
    log(`  loaded orders ${fmt(from)}–${fmt(to)} (${Math.round((performance.now() - tLoad) / 1000)} s)`);
  }
  for (const t of ['orders', 'line_items', 'shipments', 'shipment_line_items', 'shipment_events'])
    await client.query(`vacuum (analyze) ${t}`);
  const loadSeconds = (performance.now() - tLoad) / 1000;
  const rows = (
    await client.query(`select (select count(*) from orders)::int as orders,
      (select count(*) from line_items)::int as line_items, (select count(*) from shipments)::int as shipments,
      (select count(*) from shipment_events)::int as shipment_events,
      pg_size_pretty(pg_total_relation_size('orders')) as orders_size`)
  ).rows[0];
  log(`${version}: ${JSON.stringify(rows)} loaded in ${loadSeconds.toFixed(1)} s`);

  // Random (order number, ZIP) pairs as stored; wrong ZIPs are ZIPs of another order (never the order's own).
  const ids = Array.from(
    { length: Math.min(PICKS, opts.orders) },
    () => 1 + Math.floor(Math.random() * opts.orders),
  );
  const picked = (
    await client.query(
      `select order_number as number, shipping_address->>'zip_code' as zip, zip_norm, id from orders
       where shop_id = $1 and id = any($2)`,
      [shop.id, ids.map((i) => `ord_bench${String(i).padStart(10, '0')}`)],
    )
  ).rows as { number: string; zip: string; zip_norm: string; id: string }[];
  const wrongZip = (k: number) => {
    const p = picked[k % picked.length];
    let other = picked[(k * 7 + 1) % picked.length];
    for (let j = 2; other.zip_norm === p.zip_norm; j++) other = picked[(k * 7 + j) % picked.length];
    return { number: p.number, zip: other.zip };
  };

  // The index is used: the plain query, and as the lookup statement's CTE runs it.
  const explain = async (sqlText: string, params: unknown[]) =>
    (await client.query(`explain (analyze, costs off, timing on) ${sqlText}`, params)).rows
      .map((r) => r['QUERY PLAN'] as string)
      .join('\n');
  const num = picked[0].number.replace(/^#/, '');
  const plan = await explain(
    'select id, zip_norm from orders where shop_id = $1 and order_number_norm = $2 limit 1',
    [shop.id, num],
  );
  const planMissing = await explain(
    'select id, zip_norm from orders where shop_id = $1 and order_number_norm = $2 limit 1',
    [shop.id, 'no-such-order'],
  );
  const indexUsed = /Index (Only )?Scan using orders_shop_number_uq/.test(plan);
  log(`EXPLAIN ANALYZE (found):\n${plan}\nEXPLAIN ANALYZE (no such number):\n${planMissing}`);

  // Both servers in processes of their own; load comes from this process.
  if (opts.profile) fs.mkdirSync(opts.profile, { recursive: true });
  const api = await startServer({
    kind: 'api',
    databaseUrl: urlOf(name, 'bench_api'),
    pool: opts.pool,
    redisUrl: opts.redis,
  });
  const bare = await startServer({
    kind: 'bare',
    databaseUrl: urlOf(name, 'bench_bare'),
    pool: opts.pool,
    shopId: shop.id,
  });
  // The app's lookup statement on a bare route (its own process and backends): the database work of the API side.
  const same = await startServer({
    kind: 'bare',
    databaseUrl: urlOf(name, 'bench_same'),
    pool: opts.pool,
    shopId: shop.id,
    redisUrl: opts.redis,
  });
  const sides: Side[] = [
    {
      name: 'api',
      server: api,
      path: '/v1/resolve/bench/sessions',
      cpu: backendCpu(admin, name, 'bench_api'),
      redisCpu: opts.redis ? await redisCpu(opts.redis) : undefined,
    },
    { name: 'same', server: same, path: '/same/bench/sessions', cpu: backendCpu(admin, name, 'bench_same') },
    { name: 'bare', server: bare, path: '/bare/bench/sessions', cpu: backendCpu(admin, name, 'bench_bare') },
  ];

  // Answers are right before anything is timed; a wrong number and a wrong ZIP give the same API answer.
  const p0 = picked[0];
  const okRes = await request(api.port, sides[0].path, typed(p0, 1));
  if (okRes.status !== 201 || JSON.parse(okRes.text).order.id !== p0.id)
    throw new Error(`API lookup answered ${okRes.status}: ${okRes.text.slice(0, 300)}`);
  const bareRes = await request(bare.port, sides[2].path, typed(p0, 1));
  if (bareRes.status !== 201 || JSON.parse(bareRes.text).order_id !== p0.id)
    throw new Error(`bare lookup answered ${bareRes.status}: ${bareRes.text}`);
  const sameRes = await request(same.port, sides[1].path, typed(p0, 1));
  if (sameRes.status !== 201 || JSON.parse(sameRes.text).o?.id !== p0.id)
    throw new Error(`bare lookup statement answered ${sameRes.status}: ${sameRes.text.slice(0, 300)}`);
  const wz = wrongZip(0);
  const a404 = await request(api.port, sides[0].path, { order_number: wz.number, zip_code: wz.zip });
  const b404 = await request(api.port, sides[0].path, { order_number: '#999999999', zip_code: wz.zip });
  if (a404.status !== 404 || a404.text !== b404.text || b404.status !== 404)
    throw new Error(`404s differ: ${a404.status} ${a404.text} / ${b404.status} ${b404.text}`);
  const responseBytes = okRes.text.length;

  let k = 0;
  const from = (i: number): Record<string, string> | undefined =>
    opts.clients > 1
      ? { 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }
      : undefined;
  const okBody = () => {
    const i = k++;
    return { body: JSON.stringify(typed(picked[i % picked.length], i)), headers: from(i % opts.clients) };
  };
  const wrongBody = () => {
    const i = k++;
    const w = wrongZip(i);
    return {
      body: JSON.stringify({ order_number: w.number, zip_code: w.zip }),
      headers: from(i % opts.clients),
    };
  };

  // Warm-up (JIT, connections, caches): not counted.
  for (const s of sides)
    await load({
      port: s.server.port,
      path: s.path,
      next: okBody,
      connections: opts.connections,
      duration: WARMUP_SECONDS,
      expect: 201,
    });

  const measure = async (
    s: Side,
    m: Measured,
    seconds: number,
    next: () => { body: string; headers?: Record<string, string> },
    expect: number,
    profile: string | null,
  ) => {
    if (profile) await s.server.profileStart();
    const before = await s.server.stats();
    const db0 = await s.cpu();
    const redis0 = s.redisCpu ? await s.redisCpu() : null;
    const waits = waitSampler(admin, name, `bench_${s.name}`);
    const r = await load({
      port: s.server.port,
      path: s.path,
      next,
      connections: opts.connections,
      duration: seconds,
      expect,
    });
    m.waits.push(await waits());
    const after = await s.server.stats();
    const db1 = await s.cpu();
    const redis1 = s.redisCpu ? await s.redisCpu() : null;
    if (profile) await s.server.profileStop(profile);
    m.runs.push(r);
    m.nodeCpu += after.cpu - before.cpu;
    m.nodeSys += after.sys - before.sys;
    m.queries += after.queries - before.queries;
    m.served += after.requests - before.requests;
    m.dbCpu = m.dbCpu === null || db0 === null || db1 === null ? null : m.dbCpu + db1 - db0;
    m.redisCpu =
      m.redisCpu === null || redis0 === null || redis1 === null ? null : m.redisCpu + redis1 - redis0;
    log(
      `  ${s.name} ${expect}: ${fmt(r.requests / r.seconds)} req/s over ${r.seconds.toFixed(1)} s ` +
        `(p99 ${summarize([r]).p99.toFixed(1)} ms, Node CPU ${fmt((after.cpu - before.cpu) / r.requests)} µs/req, ` +
        `${((after.queries - before.queries) / (after.requests - before.requests)).toFixed(2)} queries/req)`,
    );
  };

  const results: Record<string, Record<SideName, Measured>> = {};
  for (const [pathName, seconds, next, expect] of [
    ['found', opts.duration, okBody, 201],
    ['wrong_zip', opts.wrongDuration, wrongBody, 404],
  ] as const) {
    const m = { api: empty(), bare: empty(), same: empty() };
    for (let r = 0; r < opts.rounds; r++) {
      // ABC CBA: the order flips every other round, so drift on a shared machine hits all sides alike.
      const order = r % 2 ? [...sides].reverse() : sides;
      for (const s of order) {
        const profile =
          opts.profile && r === 0 ? path.resolve(opts.profile, `${s.name}-${pathName}.cpuprofile`) : null;
        await measure(s, m[s.name], seconds / opts.rounds, next, expect, profile);
      }
    }
    results[pathName] = m;
  }

  const sessions = (await client.query('select count(*)::int as n from resolve_sessions')).rows[0]
    .n as number;
  await api.stop();
  await bare.stop();
  await same.stop();

  // ------------------------------------------------------------------------------------------ report
  const summary = Object.fromEntries(
    Object.entries(results).map(([p, m]) => {
      const side = (x: Measured) => {
        const s = summarize(x.runs);
        const waits: Record<string, number> = {};
        for (const w of x.waits)
          for (const [key, v] of Object.entries(w)) waits[key] = (waits[key] ?? 0) + v / x.waits.length;
        return {
          ...s,
          rps: Math.round(s.rps),
          node_cpu_us_per_req: Math.round(x.nodeCpu / s.requests),
          node_sys_share: Number((x.nodeSys / x.nodeCpu).toFixed(2)),
          db_cpu_us_per_req: x.dbCpu === null ? null : Math.round(x.dbCpu / s.requests),
          redis_cpu_us_per_req: x.redisCpu === null ? null : Math.round(x.redisCpu / s.requests),
          queries_per_req: Number((x.queries / x.served).toFixed(2)),
          db_backend_states: Object.fromEntries(
            Object.entries(waits)
              .sort((a, b) => b[1] - a[1])
              .map(([key, v]) => [key, Number(v.toFixed(2))]),
          ),
        };
      };
      const apiS = side(m.api);
      const bareS = side(m.bare);
      const sameS = side(m.same);
      return [
        p,
        {
          api: apiS,
          bare: bareS,
          same: sameS,
          /** The target's ratio: the API against the bare route running the same query. */
          ratio: Number((apiS.rps / sameS.rps).toFixed(3)),
          /** For reference: against the bare route running only the order's index read. */
          ratio_index_read: Number((apiS.rps / bareS.rps).toFixed(3)),
          same_ratio_index_read: Number((sameS.rps / bareS.rps).toFixed(3)),
        },
      ];
    }),
  );
  const found = summary.found;
  const wrong = summary.wrong_zip;
  /** Both paths count: a lookup is a hit or a miss, and each must keep 0.6× of its bare route. */
  const ratio = Math.min(found.ratio, wrong.ratio);
  const out = {
    ...info,
    load_end: Number(os.loadavg()[0].toFixed(1)),
    postgres: version,
    options: opts,
    data: { ...rows, load_seconds: Number(loadSeconds.toFixed(1)) },
    index_used: indexUsed,
    plan,
    sessions_opened: sessions,
    response_bytes: responseBytes,
    results: summary,
    targets: {
      ratio: { target: TARGET_RATIO, value: ratio, met: ratio >= TARGET_RATIO },
      p99_ms: { target: TARGET_P99_MS, value: found.api.p99, met: found.api.p99 <= TARGET_P99_MS },
    },
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify(out, null, 2)}\n`);

  const lines = [
    '',
    `${info.date} · Node ${info.node} · ${info.cores} cores (${info.cpu}) · load average ${info.load.toFixed(1)} at start, ` +
      `${out.load_end} at end · ${version}`,
    `${fmt(rows.orders)} orders (${rows.orders_size}), loaded in ${loadSeconds.toFixed(0)} s; ${opts.connections} connections, ` +
      `pool ${opts.pool} per side, ${opts.rounds} rounds (ABC CBA), ${WARMUP_SECONDS} s warm-up per side; took ${out.seconds} s`,
    `index used: ${indexUsed ? 'yes' : 'NO'} (${plan.split('\n')[1]?.trim() ?? plan.split('\n')[0]})`,
    '',
    `lookup counters: ${opts.redis ? `Redis (${opts.redis})` : 'in the database'}; requests from ` +
      (opts.clients > 1 ? `${fmt(opts.clients)} client addresses (X-Forwarded-For)` : 'one client address'),
    '',
    '| path | side | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | queries/req | Node CPU µs/req | DB CPU µs/req | Redis CPU µs/req | vs bare, same query | vs index read only |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [p, r] of Object.entries(summary)) {
    for (const [sideName, s, vs, vsRead] of [
      ['API', r.api, `**${r.ratio.toFixed(2)}×**`, `${r.ratio_index_read.toFixed(2)}×`],
      ['bare, same query', r.same, '1.00×', `${r.same_ratio_index_read.toFixed(2)}×`],
      ['bare, index read only', r.bare, '–', '1.00×'],
    ] as const) {
      lines.push(
        `| ${p === 'found' ? 'found (201)' : 'wrong ZIP (404)'} | ${sideName} | ${fmt(s.requests)} | ${fmt(s.rps)} | ` +
          `${s.p50.toFixed(1)} | ${s.p90.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.max.toFixed(1)} | ${s.queries_per_req} | ${fmt(s.node_cpu_us_per_req)} (${Math.round(s.node_sys_share * 100)} % sys) | ` +
          `${s.db_cpu_us_per_req === null ? '–' : fmt(s.db_cpu_us_per_req)} | ${s.redis_cpu_us_per_req ? fmt(s.redis_cpu_us_per_req) : '–'} | ${vs} | ${vsRead} |`,
      );
    }
  }
  lines.push('');
  for (const [p, r] of Object.entries(summary))
    for (const side of ['api', 'same', 'bare'] as const)
      lines.push(`backend states, ${p} ${side}: ${JSON.stringify(r[side].db_backend_states)}`);
  lines.push(
    `targets: ≥ ${TARGET_RATIO}× a bare Fastify + pg route running the same query: ` +
      `${out.targets.ratio.met ? 'met' : 'NOT met'} (found ${found.ratio.toFixed(2)}×, wrong ZIP ${wrong.ratio.toFixed(2)}×); ` +
      `p99 ≤ ${TARGET_P99_MS} ms: ${out.targets.p99_ms.met ? 'met' : 'NOT met'} (${found.api.p99.toFixed(1)} ms)`,
    `for reference, against a bare route running only the order's index read (~40-byte answer, no session, no ` +
      `order lines): found ${found.ratio_index_read.toFixed(2)}×, wrong ZIP ${wrong.ratio_index_read.toFixed(2)}× ` +
      `(the same query alone: ${found.same_ratio_index_read.toFixed(2)}×, ${wrong.same_ratio_index_read.toFixed(2)}×)`,
  );
  console.log(lines.join('\n'));
}

main()
  .catch((err) => {
    if (!interrupted) console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
