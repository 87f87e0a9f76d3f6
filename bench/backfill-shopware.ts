/**
 * Backfill speed of the Shopware 6 connector against the Admin API simulator (test/simulators/shopware.ts),
 * reported as orders/s and as a ratio of the ceiling the rate limit allows.
 *
 * Assumption (Shopware has no fixed Admin API rate limit: self-hosted shops throttle only the OAuth login, and
 * a hosting proxy may add one): 20 requests/s per integration (token bucket, burst 20), answered with 429 and
 * an integer Retry-After. The connector asks for pages of 100 orders (`limit` 101: the extra row says whether
 * another page follows), so the ceiling is 20 × 100 = 2,000 orders/s. Every request counts, the OAuth token
 * request too. Orders carry every association the connector reads (2 lines, a delivery, a captured payment).
 *
 *   node --import tsx bench/backfill-shopware.ts   (BENCH_ORDERS=5000 BENCH_RPS=20 BENCH_LOW_RPS=4 BENCH_PAGE=100)
 */
import os from 'node:os';
import type { PlatformDeps } from '../src/connectors/platform.js';
import { shopwareConnector } from '../src/connectors/shopware/index.js';
import { startShopwareSim } from '../test/simulators/shopware.js';

const int = (v: string | undefined, def: number) => {
  const n = v ? Number(v) : def;
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a whole number ≥ 1, got "${v}"`);
  return n;
};
const ORDERS = int(process.env.BENCH_ORDERS, 5000);
const RPS = int(process.env.BENCH_RPS, 20);
const PAGE = int(process.env.BENCH_PAGE, 100);
const LOW_RPS = int(process.env.BENCH_LOW_RPS, 4);
const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

interface Run {
  label: string;
  orders: number;
  seconds: number;
  requests: number;
  limited: number;
  ceiling: number | null;
  /** Seconds the simulator spent handling requests, and the client spent waiting out 429s. */
  simSeconds: number;
  waitedSeconds: number;
}

async function run(label: string, rateLimit: number | null, count = ORDERS): Promise<Run> {
  const sim = await startShopwareSim({
    rateLimit: rateLimit ? { perSecond: rateLimit } : null,
    maxLimit: 500,
  });
  try {
    const start = Date.now() - count * 60_000;
    for (let i = 0; i < count; i++) {
      const o = sim.createOrder({
        placedAt: new Date(start + i * 60_000),
        lines: [
          { label: 'T-Shirt', quantity: 2, unitPrice: 19.99, productNumber: `TEE-${i}` },
          { label: 'Mug', quantity: 1, unitPrice: 9.5, productNumber: `MUG-${i}` },
        ],
      });
      if (i % 2) sim.shipDelivery(o.id);
    }
    let waitedMs = 0;
    const deps: PlatformDeps = {
      fetch,
      now: () => new Date(),
      sleep: (ms) => {
        waitedMs += ms;
        return new Promise((r) => setTimeout(r, ms));
      },
      log: { info() {}, warn() {} },
    };
    const client = shopwareConnector.create(
      {
        settings: { api_url: sim.url },
        credentials: { client_id: sim.clientId, client_secret: sim.clientSecret },
      },
      deps,
    );
    const busy0 = sim.stats.busyMs;
    const t0 = performance.now();
    let cursor: string | null = null;
    let got = 0;
    do {
      const page = await client.listOrders({ createdSince: new Date(start - 1), cursor, pageSize: PAGE });
      got += page.orders.length;
      cursor = page.nextCursor;
    } while (cursor);
    const seconds = (performance.now() - t0) / 1000;
    if (got !== count) throw new Error(`backfill returned ${got} of ${count} orders`);
    if (sim.unexpected.length) throw new Error(`unexpected requests: ${sim.unexpected.join('; ')}`);
    return {
      label,
      orders: got,
      seconds,
      requests: sim.log.filter((l) => l.status !== 429).length,
      limited: sim.log.filter((l) => l.status === 429).length,
      ceiling: rateLimit ? rateLimit * PAGE : null,
      simSeconds: (sim.stats.busyMs - busy0) / 1000,
      waitedSeconds: waitedMs / 1000,
    };
  } finally {
    await sim.close();
  }
}

const load = os.loadavg()[0];
await run('warm-up (JIT, schema compilation)', null, 300);
const runs = [
  await run(`${RPS} req/s limit`, RPS),
  // A limit low enough to bind on this machine shows the 429 handling against its ceiling.
  await run(`${LOW_RPS} req/s limit`, LOW_RPS),
  await run('no limit (client + simulator cost)', null),
];
console.log(
  `\nShopware backfill, ${fmt(ORDERS)} orders, pages of ${PAGE}, ${os.cpus().length} cores, load average ${load.toFixed(1)} at start\n`,
);
console.log(
  '| run | orders/s | ceiling (req/s × page) | ratio | requests | 429 answers | waited | simulator busy | client-side orders/s |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of runs) {
  const rate = r.orders / r.seconds;
  // What the connector alone sustains: wall time less the simulator's work and the 429 waits.
  const client = r.orders / Math.max(0.001, r.seconds - r.simSeconds - r.waitedSeconds);
  console.log(
    `| ${r.label} | ${fmt(rate)} | ${r.ceiling ? fmt(r.ceiling) : '–'} | ${r.ceiling ? fmt(rate / r.ceiling, 2) : '–'} | ${fmt(r.requests)} | ${fmt(r.limited)} | ${fmt(r.waitedSeconds, 1)} s | ${fmt(r.simSeconds, 1)} s of ${fmt(r.seconds, 1)} s | ${fmt(client)} |`,
  );
}
