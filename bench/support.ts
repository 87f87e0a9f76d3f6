/**
 * Shared pieces of bench/lookup.ts and bench/claims.ts: a throw-away PostgreSQL database, set-based order loading,
 * the server child process (bench/serve.ts), autocannon runs, and the counters read around each run (Node CPU
 * of the server, CPU of the PostgreSQL backends, queries per request, wait events).
 */
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const log = (msg: string) => process.stderr.write(`${msg}\n`);
export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function int(v: string | undefined, def: number, min = 1): number {
  const n = v === undefined || v === '' ? def : Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`expected a whole number ≥ ${min}, got "${v}"`);
  return n;
}

// ---------------------------------------------------------------------------------------------- cleanup

const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | null = null;
export let interrupted = false;

/** Registers an undo step; cleanup() runs them newest first. */
export const onCleanup = (fn: () => Promise<void>) => cleanups.push(fn);

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop()!;
      await fn().catch((err) => log(`cleanup failed: ${err}`));
    }
  })().finally(() => {
    cleaning = null;
  });
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    interrupted = true;
    log(`\n${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------- database

export const ADMIN_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export function urlOf(name: string, applicationName?: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  if (applicationName) u.searchParams.set('application_name', applicationName);
  return u.toString();
}

/** Creates a fresh database (dropped again by cleanup()) and returns an admin client connected to it. */
export async function createBenchDb(
  name: string,
): Promise<{ admin: pg.Client; client: pg.Client; version: string }> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  onCleanup(async () => {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });
  await admin.query(`create database "${name}"`);
  const version = (await admin.query('show server_version')).rows[0].server_version as string;
  const client = new pg.Client({ connectionString: urlOf(name, 'bench_setup') });
  await client.connect();
  onCleanup(() => client.end());
  return { admin, client, version: `PostgreSQL ${version.split(' ')[0]}` };
}

/** Runs SQL text with parameters: a pg client, or the server child's database (PGlite). */
export type Exec = (text: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

/** Order ids, numbers and ZIPs of benchmark order `i` (the SQL below derives the same values). */
export const orderIdOf = (i: number) => `ord_bench${String(i).padStart(10, '0')}`;
export const lineItemIdOf = (i: number) => `li_bench${String(i).padStart(10, '0')}`;

/**
 * Loads orders `from`..`to` (inclusive) of one shop with set-based SQL: each order has one line item, one
 * delivered shipment carrying it (delivered 3–22 days ago, inside the default 30-day claim window) and two carrier
 * events, as the order API would have stored them. Numbers are `#<1000000+i>` (normalised `<1000000+i>`); ZIPs are
 * German/Austrian 4–5 digit codes, UK, Dutch and Canadian postcodes (stored raw in the address, normalised in
 * zip_norm as src/orders/document.ts does).
 */
export async function loadOrders(exec: Exec, shopId: string, from: number, to: number): Promise<void> {
  const series = `generate_series(${from}::int, ${to}::int) as i`;
  const id = (prefix: string) => `'${prefix}_bench' || lpad(i::text, 10, '0')`;
  await exec(
    `insert into orders (id, shop_id, external_id, order_number, order_number_norm, order_name, placed_at, currency,
       language, tags, state, customer_external_id, customer_email, customer_first_name, customer_last_name,
       shipping_address, billing_address, zip_norm, subtotal, shipping_total, discount_total, tax_total, total,
       doc_hash, created_at, updated_at)
     select ${id('ord')}, $1, 'gid-' || i, '#' || (1000000 + i), (1000000 + i)::text, '#' || (1000000 + i),
       now() - interval '5 days' - (i % 18) * interval '1 day' - (i % 24) * interval '1 hour', 'EUR', 'de',
       case when i % 5 = 0 then '{vip}'::text[] else '{}'::text[] end, 'fulfilled', 'cust-' || (i % 99991),
       'kunde.' || i || '@example.com', (array['Kim','Lena','Jonas','Aylin','Mateo','Sofia','Noah'])[1 + i % 7],
       (array['Berg','Huber','Schmidt','Yilmaz','García','Rossi','Becker','Wagner'])[1 + i % 8],
       jsonb_build_object('name', 'Kunde ' || i, 'company', null, 'address_line_1', 'Hauptstraße ' || (1 + i % 120),
         'address_line_2', null, 'city', z.city, 'zip_code', z.zip, 'province', null, 'country_code', z.cc,
         'phone', null),
       null, lower(replace(z.zip, ' ', '')), 2499 * (1 + i % 3), 495, 0, 399 * (1 + i % 3), 2499 * (1 + i % 3) + 495,
       md5(i::text), now(), now()
     from ${series}, lateral (select case i % 10
         when 0 then 'SW1A 1AA' when 1 then 'EC1A 1BB' when 2 then lpad((1000 + i % 8999)::text, 4, '0') || ' AB'
         when 3 then 'K1A 0B1' when 4 then (1010 + i % 8000)::text
         else lpad((10000 + (i::bigint * 7919) % 89999)::text, 5, '0') end as zip,
       case i % 10 when 0 then 'London' when 1 then 'London' when 2 then 'Amsterdam' when 3 then 'Ottawa'
         when 4 then 'Wien' else 'Berlin' end as city,
       case i % 10 when 0 then 'GB' when 1 then 'GB' when 2 then 'NL' when 3 then 'CA' when 4 then 'AT'
         else 'DE' end as cc) z`,
    [shopId],
  );
  await exec(
    `insert into line_items (id, shop_id, order_id, external_id, position, sku, title, variant_title, quantity,
       quantity_refunded, unit_price, discount, tax, image_url, product_id, variant_id)
     select ${id('li')}, $1, ${id('ord')}, i || '-1', 0, 'TEE-BLK', 'Organic cotton T-shirt', 'Black / M',
       1 + i % 3, 0, 2499, 0, 399, null, 'p-tee', 'v-tee-m'
     from ${series}`,
    [shopId],
  );
  await exec(
    `insert into shipments (id, shop_id, order_id, external_id, position, carrier, tracking_number, tracking_url,
       phase_override, delivered_at_override, phase, delivered_at, last_event_at, created_at, updated_at)
     select ${id('shp')}, $1, ${id('ord')}, 'f-' || i, 0, 'dhl', '0034043416' || lpad(i::text, 10, '0'), null,
       null, null, 'delivered', d, d, now(), now()
     from ${series},
       lateral (select now() - interval '3 days' - (i % 18) * interval '1 day' - (i % 24) * interval '1 hour' as d) t`,
    [shopId],
  );
  await exec(
    `insert into shipment_line_items (shipment_id, line_item_id, shop_id, quantity)
     select ${id('shp')}, ${id('li')}, $1, 1 + i % 3 from ${series}`,
    [shopId],
  );
  await exec(
    `insert into shipment_events (id, shop_id, shipment_id, time, code, phase, description, location, created_at)
     select ${id('sev')} || '-' || k, $1, ${id('shp')}, d - (2 - k) * interval '1 day',
       case k when 1 then 'picked_up' else 'delivered' end, case k when 1 then 'in_transit' else 'delivered' end,
       case k when 1 then 'Parcel picked up by the carrier' else 'Delivered' end, 'Hamburg', now()
     from ${series}, generate_series(1, 2) as k,
       lateral (select now() - interval '3 days' - (i % 18) * interval '1 day' - (i % 24) * interval '1 hour' as d) t`,
    [shopId],
  );
}

// ---------------------------------------------------------------------------------------------- server child

export interface ServerStats {
  /** CPU µs of the server process since start. */
  cpu: number;
  /** … of which in the kernel (system time). */
  sys: number;
  /** Statements sent to the database since start. */
  queries: number;
  /** HTTP requests received since start. */
  requests: number;
  /** Heap used, MB. */
  heapMb: number;
}

export interface ServerChild {
  port: number;
  child: ChildProcess;
  stats(): Promise<ServerStats>;
  /** SQL through the child's own database handle (PGlite lives in that process). */
  exec: Exec;
  /** Starts the inspector's CPU profiler in the child; profileStop writes the .cpuprofile file. */
  profileStart(): Promise<void>;
  profileStop(file: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ServeOptions {
  kind: 'api' | 'bare';
  /** PostgreSQL URL, or null for PGlite at `pgliteDir` (memory when null too). */
  databaseUrl: string | null;
  pgliteDir?: string | null;
  pool: number;
  shopId?: string;
  /** Extra node flags, e.g. --cpu-prof. */
  execArgv?: string[];
  /** API side: REDIS_URL of the app (the lookup's counters in Redis), or none. */
  redisUrl?: string | null;
}

/** Starts bench/serve.ts in a process of its own: the load generator must not share the server's event loop. */
export async function startServer(opts: ServeOptions): Promise<ServerChild> {
  const child = fork(path.join(ROOT, 'bench/serve.ts'), [], {
    execArgv: ['--import', 'tsx', ...(opts.execArgv ?? [])],
    env: { ...process.env, BENCH_SERVE: JSON.stringify(opts), LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let seq = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let ready!: (port: number) => void;
  let failed!: (e: Error) => void;
  const started = new Promise<number>((res, rej) => {
    ready = res;
    failed = rej;
  });
  child.on('message', (m: { type: string; id?: number; port?: number; result?: unknown; error?: string }) => {
    if (m.type === 'ready') ready(m.port!);
    else if (m.type === 'reply') {
      const w = waiting.get(m.id!);
      waiting.delete(m.id!);
      if (m.error) w?.reject(new Error(m.error));
      else w?.resolve(m.result);
    }
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.once('exit', (code) => {
    failed(new Error(`server child (${opts.kind}) exited with ${code}`));
    for (const w of waiting.values()) w.reject(new Error(`server child (${opts.kind}) exited`));
  });
  const call = (cmd: string, arg?: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve, reject });
      child.send({ type: cmd, id, arg });
    });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.send({ type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  onCleanup(stop);
  const port = await started;
  return {
    port,
    child,
    stats: () => call('stats') as Promise<ServerStats>,
    exec: (text, params) => call('sql', { text, params }) as Promise<{ rows: Record<string, unknown>[] }>,
    profileStart: async () => {
      await call('profile-start');
    },
    profileStop: async (file) => {
      await call('profile-stop', file);
    },
    stop,
  };
}

// ---------------------------------------------------------------------------------------------- load

export interface LoadResult {
  /** Answers with the expected status. */
  requests: number;
  seconds: number;
  /** Per request, ms. */
  latencies: number[];
}

export interface LoadSpec {
  port: number;
  method?: 'POST' | 'GET';
  path: string;
  /** Builds each request: a body and optional headers. */
  next: () => { path?: string; body: string; headers?: Record<string, string> };
  connections: number;
  duration?: number;
  /** Stop after this many requests instead of a duration. */
  amount?: number;
  /** The status every answer must have. */
  expect: number;
}

/** One autocannon run with per-request bodies; fails when an answer has another status than `expect`. */
export function load(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${spec.port}`,
        connections: spec.connections,
        ...(spec.amount ? { amount: spec.amount } : { duration: spec.duration ?? 10 }),
        timeout: 30,
        requests: [
          {
            method: spec.method ?? 'POST',
            path: spec.path,
            setupRequest: (req) => {
              const n = spec.next();
              return {
                ...req,
                path: n.path ?? req.path,
                body: n.body,
                headers: { 'content-type': 'application/json', ...n.headers },
              };
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        const seconds = (performance.now() - t0) / 1000;
        const statuses: Record<string, number> = {};
        for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = s.count;
        const other = Object.keys(statuses).filter((c) => c !== String(spec.expect));
        if (other.length || result.errors || result.timeouts)
          return reject(
            new Error(
              `${spec.path}: expected only ${spec.expect}, got ${JSON.stringify(statuses)}, ` +
                `${result.errors} errors, ${result.timeouts} timeouts`,
            ),
          );
        resolve({ requests: statuses[String(spec.expect)] ?? 0, seconds, latencies });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
}

/** Percentile (nearest rank) of a list of numbers. */
export function pct(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Requests/s and latency percentiles over one or more runs of the same path. */
export function summarize(runs: LoadResult[]) {
  const all = runs.flatMap((r) => r.latencies);
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  return {
    requests,
    seconds: Number(seconds.toFixed(2)),
    rps: requests / seconds,
    p50: pct(all, 50),
    p90: pct(all, 90),
    p99: pct(all, 99),
    max: pct(all, 100),
  };
}

// ---------------------------------------------------------------------------------------------- counters

/**
 * CPU µs of the PostgreSQL backends of one database and application_name, from /proc (local server only).
 * Backends are remembered, so one that exits keeps its last reading.
 */
export function backendCpu(admin: pg.Client, db: string, app: string) {
  const seen = new Map<number, number>();
  const hz = 100; // USER_HZ on Linux
  return async (): Promise<number | null> => {
    const { rows } = await admin.query(
      'select pid from pg_stat_activity where datname = $1 and application_name = $2',
      [db, app],
    );
    for (const { pid } of rows as { pid: number }[]) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        seen.set(pid, ((Number(f[11]) + Number(f[12])) * 1e6) / hz);
      } catch {
        return null;
      }
    }
    let total = 0;
    for (const v of seen.values()) total += v;
    return total;
  };
}

/**
 * Samples pg_stat_activity every 50 ms while a run goes on: what the side's backends were doing (on CPU, idle
 * waiting for the app, waiting for a lock, for the WAL flush, …). Returns shares of the samples.
 */
export function waitSampler(admin: pg.Client, db: string, app: string) {
  const counts = new Map<string, number>();
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const { rows } = await admin.query(
        `select coalesce(wait_event_type || ':' || wait_event, 'CPU') as w, state from pg_stat_activity
         where datname = $1 and application_name = $2`,
        [db, app],
      );
      for (const r of rows as { w: string; state: string }[]) {
        const key = r.state === 'active' ? r.w : r.state;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return async () => {
    stop = true;
    await loop;
    const total = [...counts.values()].reduce((a, b) => a + b, 0) || 1;
    return Object.fromEntries(
      [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / total).toFixed(3))]),
    ) as Record<string, number>;
  };
}

export function machine() {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? '?',
    memGb: Math.round(os.totalmem() / 2 ** 30),
    load: os.loadavg()[0],
  };
}

/** CPU time (µs, user + system) of the Redis server at `url` so far, from /proc; null when it cannot be read. */
export async function redisCpu(url: string): Promise<() => Promise<number | null>> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  const pid = /process_id:(\d+)/.exec(await r.info('server'))?.[1];
  r.disconnect();
  const tick = 1e6 / 100; // USER_HZ
  return async () => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) * tick;
    } catch {
      return null;
    }
  };
}
