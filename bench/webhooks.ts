/**
 * Webhook delivery (issue 6): throughput to a local HTTPS receiver and enqueue→delivered latency, through the real
 * trigger → fan-out → delivery job path and worker, side by side with a bare sender (signed HTTPS POSTs to the same
 * receiver, no database). See bench/README.md.
 *
 *   node --import tsx bench/webhooks.ts [--events 10000] [--rounds 2] [--concurrency 32] [--pool 20]
 *                     [--latency-events 1000] [--rate 100] [--db pg|pglite] [--json FILE]
 *
 * Environment: BENCH_PG_URL is the admin URL (default postgres://postgres@127.0.0.1:5432/postgres). The script creates
 * resolve_bench_webhooks_<ts>_<pid> (or a PGlite temp dir) and removes it at the end, also on Ctrl-C.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { inArray, sql } from 'drizzle-orm';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { emitEvent } from '../src/claims/events.js';
import { loadConfig } from '../src/config.js';
import { type Database, openDatabase, query } from '../src/db/client.js';
import { webhookMessages } from '../src/db/schema.js';
import type { AppDeps } from '../src/http/context.js';
import { createMetrics } from '../src/http/metrics.js';
import { Worker } from '../src/jobs/worker.js';
import { createApiKey } from '../src/shops/api-keys.js';
import { createShop } from '../src/shops/shops.js';
import { egressPolicy } from '../src/webhooks/egress-policy.js';
import { createEndpoint } from '../src/webhooks/endpoints.js';
import { webhookJobs } from '../src/webhooks/jobs.js';
import { makePki } from '../test/support/tls.js';
import {
  backendCpu,
  cleanup,
  createBenchDb,
  fmt,
  int,
  log,
  machine,
  onCleanup,
  pct,
  urlOf,
} from './support.js';

const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------- receiver child

/** The receiver runs in its own process: it answers 204 at once and notes when each webhook-id arrived. */
function receiverMain() {
  const arrivals = new Map<string, number>();
  let count = 0;
  const server = https.createServer(
    {
      key: fs.readFileSync(process.env.RX_KEY!),
      cert: fs.readFileSync(process.env.RX_CERT!),
      keepAliveTimeout: 30_000,
    },
    (req, res) => {
      req.resume();
      req.on('end', () => {
        const id = String(req.headers['webhook-id'] ?? '');
        if (!arrivals.has(id)) arrivals.set(id, now());
        count++;
        res.writeHead(204).end();
      });
    },
  );
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.on('message', (m: { op: string; ids?: string[] }) => {
    if (m.op === 'count') process.send?.({ count });
    if (m.op === 'cpu') {
      const c = process.cpuUsage();
      process.send?.({ cpu: c.user + c.system });
    }
    if (m.op === 'times') process.send?.({ times: (m.ids ?? []).map((id) => arrivals.get(id) ?? null) });
    if (m.op === 'reset') {
      arrivals.clear();
      count = 0;
      process.send?.({ ok: true });
    }
  });
}

interface Receiver {
  port: number;
  ask<T>(msg: { op: string; ids?: string[] }): Promise<T>;
  child: ChildProcess;
}

async function startReceiver(key: string, cert: string): Promise<Receiver> {
  const child = fork(fileURLToPath(import.meta.url), ['--receiver'], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, RX_KEY: key, RX_CERT: cert },
  });
  onCleanup(async () => {
    child.kill();
  });
  const port = await new Promise<number>((r) => child.once('message', (m: { port: number }) => r(m.port)));
  let queue = Promise.resolve<unknown>(null);
  const ask = <T>(msg: { op: string; ids?: string[] }) => {
    const p = queue.then(
      () =>
        new Promise<T>((r) => {
          child.once('message', (m) => r(m as T));
          child.send(msg);
        }),
    );
    queue = p.catch(() => null);
    return p;
  };
  return { port, ask, child };
}

// ---------------------------------------------------------------------------------------------- bare sender

/** The baseline: what Node alone does: sign (HMAC-SHA256, as Standard Webhooks) and POST over keep-alive TLS. */
function bareSender(port: number, ca: string, concurrency: number) {
  const agent = new https.Agent({ keepAlive: true, ca: [ca], minVersion: 'TLSv1.2' });
  const key = randomBytes(32);
  const post = (id: string, body: string) =>
    new Promise<void>((resolve, reject) => {
      const ts = Math.floor(Date.now() / 1000);
      const sig = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: '/bare',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(ts),
            'webhook-signature': `v1,${sig}`,
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 204 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    post,
    /** Sends `n` messages with `concurrency` in flight; answers deliveries/s. */
    async throughput(n: number, body: string): Promise<number> {
      let next = 0;
      const t0 = now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < n) await post(`msg_bare${next++}`, body);
        }),
      );
      return n / ((now() - t0) / 1000);
    },
    close: () => agent.destroy(),
  };
}

// ---------------------------------------------------------------------------------------------- main

async function main() {
  const { values: argv } = parseArgs({
    args: process.argv.slice(2),
    options: {
      events: { type: 'string' },
      rounds: { type: 'string' },
      concurrency: { type: 'string' },
      pool: { type: 'string' },
      'latency-events': { type: 'string' },
      rate: { type: 'string' },
      db: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const opts = {
    events: int(argv.events, 10_000),
    rounds: int(argv.rounds, 2),
    concurrency: int(argv.concurrency, 32),
    pool: int(argv.pool, 20),
    latencyEvents: int(argv['latency-events'], 1000),
    rate: int(argv.rate, 100),
    db: argv.db ?? 'pg',
    json: argv.json ?? null,
  };
  const pki = makePki();
  onCleanup(async () => pki.remove());
  const rx = await startReceiver(path.join(pki.dir, 'leaf.key'), path.join(pki.dir, 'leaf.pem'));

  let database: Database;
  let pgCpu: (() => Promise<number | null>) | null = null;
  if (opts.db === 'pg') {
    const dbName = `resolve_bench_webhooks_${Date.now()}_${process.pid}`;
    const { client, admin } = await createBenchDb(dbName);
    await client.end();
    pgCpu = backendCpu(admin, dbName, 'bench_webhooks');
    database = await openDatabase({
      databaseUrl: urlOf(dbName, 'bench_webhooks'),
      dataDir: null,
      poolMax: opts.pool,
    });
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-bench-webhooks-'));
    onCleanup(async () => fs.rmSync(dir, { recursive: true, force: true }));
    database = await openDatabase({ databaseUrl: null, dataDir: dir });
  }
  onCleanup(() => database.close());
  await database.migrate();
  const { db } = database;

  const config = loadConfig({
    DATA_DIR: os.tmpdir(),
    LOG_LEVEL: 'silent',
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    WEBHOOK_CA_FILE: pki.caFile,
  });
  const logger = pino({ level: 'silent' });
  const master = randomBytes(32);
  const deps: AppDeps = { config, database, log: logger, metrics: createMetrics(), masterSecret: master };
  const jobs = webhookJobs(deps);
  onCleanup(async () => jobs.close());
  const worker = new Worker({
    db,
    log: logger,
    handlers: jobs.handlers,
    concurrency: opts.concurrency,
    pollMs: 20,
  });
  deps.nudgeWorker = () => worker.nudge();
  onCleanup(() => worker.stop());

  const shop = await createShop(db, { slug: 'bench', name: 'Bench' });
  await db.transaction((tx) =>
    createEndpoint(tx, shop.id, master, egressPolicy(config.webhooks), {
      url: `https://127.0.0.1:${rx.port}/hook`,
    }),
  );
  // A real order and claim: every fan-out loads the claim and its order context, as in production.
  const { secret: apiKey } = await createApiKey(db, { shopIds: [shop.id], role: 'editor', name: 'bench' });
  const app = await buildApp(deps);
  onCleanup(() => app.close());
  const auth = { authorization: `Bearer ${apiKey}` };
  const day = 86_400_000;
  const order = (
    await app.inject({
      method: 'PUT',
      url: '/v1/shops/bench/orders',
      headers: auth,
      payload: {
        external_id: 'bench-1',
        order_number: '1001',
        placed_at: new Date(Date.now() - 5 * day).toISOString(),
        currency: 'EUR',
        customer: { email: 'kim@example.com', first_name: 'Kim', last_name: 'Berg' },
        shipping_address: {
          name: 'Kim Berg',
          address_line_1: 'Invalidenstr. 1',
          city: 'Berlin',
          zip_code: '10115',
          country_code: 'DE',
        },
        totals: { subtotal: 4997, shipping: 495, discount: 0, tax: 798, total: 5492 },
        line_items: [
          { external_id: 'li-1', sku: 'TEE-M', title: 'T-shirt', quantity: 2, unit_price: 1999, tax: 638 },
          { external_id: 'li-2', sku: 'MUG', title: 'Mug', quantity: 1, unit_price: 999, tax: 160 },
        ],
        shipments: [
          {
            external_id: 'f-1',
            carrier: 'dhl',
            tracking_number: '00340434',
            line_items: [
              { external_id: 'li-1', quantity: 2 },
              { external_id: 'li-2', quantity: 1 },
            ],
            events: [
              { time: new Date(Date.now() - 3 * day).toISOString(), code: 'picked_up', phase: 'in_transit' },
              { time: new Date(Date.now() - 2 * day).toISOString(), code: 'delivered', phase: 'delivered' },
            ],
          },
        ],
      },
    })
  ).json();
  const claimRes = await app.inject({
    method: 'POST',
    url: '/v1/shops/bench/claims',
    headers: auth,
    payload: {
      order_id: order.id,
      flow: 'defective',
      reason: 'broken_on_arrival',
      description: 'The mug arrived in pieces.',
      resolution_preference: 'refund',
      items: [{ line_item_id: order.line_items[1].id, quantity: 1 }],
    },
  });
  if (claimRes.statusCode !== 201) throw new Error(`claim: ${claimRes.body}`);
  const claim = claimRes.json();
  const data = {
    claim_id: claim.id,
    number: claim.number,
    changes: { tags: { from: [], to: ['bench'] } },
    note: null,
    version: 2,
  };
  await db.execute(sql`delete from webhook_messages`);
  await db.execute(sql`delete from jobs where type like 'webhooks.%'`);
  // One delivery end to end; its body is what the bare sender sends too.
  await db.transaction((tx) => emitEvent(tx, shop.id, 'claims/updated', claim.id, data));
  worker.start();
  const delivered = () =>
    query<{ body: string }>(db, sql`select payload as body from webhook_messages where status = 'succeeded'`);
  while (!(await delivered()).length) await new Promise((r) => setTimeout(r, 20));
  await worker.stop();
  const [{ body }] = await delivered();
  const bare = bareSender(rx.port, pki.caPem, opts.concurrency);

  /**
   * Queues `n` events with the worker stopped: one insert, whose trigger queues their fan-outs as any event's would
   * (ids: the time in hex and random hex, time-sortable like newId()'s).
   */
  const queueEvents = async (n: number) => {
    await db.execute(sql`insert into events (id, shop_id, type, subject_id, data)
      select 'evt_' || lpad(to_hex((extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0')
               || md5(random()::text || i::text), ${shop.id}, 'claims/updated', ${claim.id}, ${JSON.stringify(data)}::jsonb
      from generate_series(1, ${n}) as i`);
  };
  interface Round {
    rate: number;
    /** CPU cores used while it ran: this process (worker or bare sender), PostgreSQL backends, the receiver. */
    cores: { sender: number; postgres: number; receiver: number };
    /** CPU µs per delivery, all three together. */
    cpuUsPerDelivery: number;
  }
  /** Runs one side and accounts for the CPU every process spent on it. */
  const measured = async (n: number, run: () => Promise<void>): Promise<Round> => {
    await rx.ask({ op: 'reset' });
    const cpu0 = process.cpuUsage();
    const pg0 = (await pgCpu?.()) ?? 0;
    const rx0 = (await rx.ask<{ cpu: number }>({ op: 'cpu' })).cpu;
    const t0 = now();
    await run();
    const secs = (now() - t0) / 1000;
    const c = process.cpuUsage(cpu0);
    const sender = (c.user + c.system) / 1e6;
    const postgres = (((await pgCpu?.()) ?? 0) - pg0) / 1e6;
    const receiver = ((await rx.ask<{ cpu: number }>({ op: 'cpu' })).cpu - rx0) / 1e6;
    const r = (x: number) => Number(x.toFixed(2));
    return {
      rate: n / secs,
      cores: { sender: r(sender / secs), postgres: r(postgres / secs), receiver: r(receiver / secs) },
      cpuUsPerDelivery: Math.round(((sender + postgres + receiver) * 1e6) / n),
    };
  };
  const waitDelivered = async (n: number) => {
    for (;;) {
      const { count } = await rx.ask<{ count: number }>({ op: 'count' });
      if (count >= n) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  /** The backlog case: `n` events queued, then the worker started; until the receiver has them all. */
  const resolveRound = async (n: number): Promise<Round> => {
    await queueEvents(n);
    const round = await measured(n, async () => {
      worker.start();
      await waitDelivered(n);
    });
    await worker.stop();
    return round;
  };
  const bareRound = (n: number) => measured(n, () => bare.throughput(n, body).then(() => {}));

  // Latency first, on a jobs table the throughput rounds have not yet filled with dead rows (see bench/README.md):
  // one event at a time at a steady rate, each in its own transaction, the worker running (nudged after
  // the commit, as the API does); from before the transaction to the receiver's arrival time.
  worker.start();
  const interval = 1000 / opts.rate;
  const sent: { id: string; t0: number }[] = [];
  const eventIds: string[] = [];
  for (let i = 0; i < opts.latencyEvents; i++) {
    const t0 = now();
    const id = await db.transaction((tx) => emitEvent(tx, shop.id, 'claims/updated', claim.id, data));
    deps.nudgeWorker();
    sent.push({ id, t0 });
    eventIds.push(id);
    const wait = t0 + interval - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const msgs = await db
    .select({ id: webhookMessages.id, eventId: webhookMessages.eventId })
    .from(webhookMessages)
    .where(inArray(webhookMessages.eventId, eventIds));
  const msgOf = new Map(msgs.map((m) => [m.eventId, m.id]));
  const ids = sent.map((s) => msgOf.get(s.id) ?? '');
  const { times } = await rx.ask<{ times: (number | null)[] }>({ op: 'times', ids });
  const lat = sent.map((s, i) => (times[i] === null ? Number.POSITIVE_INFINITY : times[i]! - s.t0));
  await worker.stop();

  const bareLat: number[] = [];
  for (let i = 0; i < opts.latencyEvents; i++) {
    const t0 = now();
    const id = `msg_barelat${i}`;
    await bare.post(id, body);
    bareLat.push(t0);
    const wait = t0 + interval - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const bareTimes = (
    await rx.ask<{ times: (number | null)[] }>({
      op: 'times',
      ids: bareLat.map((_, i) => `msg_barelat${i}`),
    })
  ).times.map((t, i) => (t ?? Number.POSITIVE_INFINITY) - bareLat[i]);

  log('warm-up …');
  await bareRound(500);
  await resolveRound(500);

  const rounds = { bare: [] as Round[], resolve: [] as Round[] };
  for (let round = 0; round < opts.rounds; round++) {
    // ABBA: drift on a shared machine hits both sides alike.
    const order = round % 2 === 0 ? (['bare', 'resolve'] as const) : (['resolve', 'bare'] as const);
    for (const side of order) {
      const r = side === 'bare' ? await bareRound(opts.events) : await resolveRound(opts.events);
      rounds[side].push(r);
      log(
        `round ${round + 1} ${side.padEnd(7)} ${fmt(r.rate).padStart(6)} deliveries/s  cores: sender ${r.cores.sender}, ` +
          `postgres ${r.cores.postgres}, receiver ${r.cores.receiver}  (${r.cpuUsPerDelivery} µs CPU per delivery)`,
      );
    }
  }
  bare.close();
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  const out = {
    machine: machine(),
    database:
      opts.db === 'pg'
        ? `PostgreSQL ${(await query<{ v: string }>(db, sql`select current_setting('server_version') as v`))[0].v}`
        : 'PGlite',
    options: opts,
    body_bytes: Buffer.byteLength(body),
    throughput: {
      resolve: Math.round(avg(rounds.resolve.map((r) => r.rate))),
      bare: Math.round(avg(rounds.bare.map((r) => r.rate))),
      ratio: Number(
        (avg(rounds.resolve.map((r) => r.rate)) / avg(rounds.bare.map((r) => r.rate))).toFixed(3),
      ),
      cpu_us_per_delivery: {
        resolve: Math.round(avg(rounds.resolve.map((r) => r.cpuUsPerDelivery))),
        bare: Math.round(avg(rounds.bare.map((r) => r.cpuUsPerDelivery))),
      },
      rounds,
    },
    latency_ms: {
      resolve: { p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), max: pct(lat, 100) },
      bare: {
        p50: pct(bareTimes, 50),
        p90: pct(bareTimes, 90),
        p99: pct(bareTimes, 99),
        max: pct(bareTimes, 100),
      },
    },
    delivered: lat.filter(Number.isFinite).length,
  };
  for (const side of ['resolve', 'bare'] as const)
    for (const k of ['p50', 'p90', 'p99', 'max'] as const)
      out.latency_ms[side][k] = Number(out.latency_ms[side][k].toFixed(1));
  log(JSON.stringify(out, null, 2));
  log(
    `\nthroughput: Resolve ${fmt(out.throughput.resolve)}/s vs bare ${fmt(out.throughput.bare)}/s (ratio ${out.throughput.ratio}); ` +
      `latency p50: Resolve ${out.latency_ms.resolve.p50} ms vs bare ${out.latency_ms.bare.p50} ms ` +
      `(targets: ≥ 2,000/s on PostgreSQL, p50 ≤ 100 ms)`,
  );
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(out, null, 2));
}

if (process.argv.includes('--receiver')) receiverMain();
else
  main()
    .catch((err) => {
      log(String(err?.stack ?? err));
      process.exitCode = 1;
    })
    .finally(() => cleanup().then(() => process.exit()));
