/**
 * Shopify backfill speed: `listOrders` + mapping against the local simulator (test/simulators/shopify.ts), with
 * the simulator enforcing Shopify's cost-based leaky bucket, compared with the ceiling that rate limit allows.
 *
 *   node --import tsx bench/backfill-shopify.ts [--orders 2000] [--page-size 250]
 *
 * Waits are skipped but counted: the connector and the simulator share a clock that is real time plus every
 * millisecond the connector asked to sleep, so the result is what a real-time run gives minus the idle time.
 * Ceiling = restore rate ÷ points charged per order (the actual cost per page ÷ orders per page): no client can
 * backfill faster on that plan, whatever it does with its page size. The run starts with a full bucket, so
 * ratios a little above 1.0 are the initial burst.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { PlatformDeps } from '../src/connectors/platform.js';
import { shopifyConnector } from '../src/connectors/shopify/index.js';
import { ShopifySimulator } from '../test/simulators/shopify.js';

const { values: argv } = parseArgs({
  options: { orders: { type: 'string' }, 'page-size': { type: 'string' } },
});
const ORDERS = Number(argv.orders ?? 2000);
const PAGE_SIZE = Number(argv['page-size'] ?? 250);

interface Plan {
  name: string;
  max: number;
  restoreRate: number;
}
// Shopify's docs (2026): Standard restores 100 points/s; live 2025-01 responses report a 2,000-point bucket.
// Older docs and SDKs quote 1,000 points restoring 50/s. "No limit" measures the connector and simulator alone.
const PLANS: Plan[] = [
  { name: 'Standard (documented 2026)', max: 2000, restoreRate: 100 },
  { name: 'Standard (legacy figures)', max: 1000, restoreRate: 50 },
  { name: 'no rate limit', max: 1e12, restoreRate: 1e12 },
];

async function run(plan: Plan) {
  let slept = 0;
  const p0 = performance.now();
  const t0 = Date.UTC(2026, 10, 20);
  const now = () => t0 + (performance.now() - p0) + slept;
  const sim = await ShopifySimulator.start({ now, bucket: { max: plan.max, restoreRate: plan.restoreRate } });
  sim.seedOrders(ORDERS, Date.UTC(2026, 8, 1));
  let waits = 0;
  const deps: PlatformDeps = {
    fetch,
    now: () => new Date(now()),
    sleep: async (ms) => {
      waits++;
      slept += ms;
    },
    log: { info() {}, warn: (o, m) => process.stderr.write(`${m} ${JSON.stringify(o)}\n`) },
  };
  const client = shopifyConnector.create(
    {
      settings: { shop_domain: 'acme.myshopify.com', api_base_url: sim.url },
      credentials: { access_token: sim.accessToken },
    },
    deps,
  );
  const start = now();
  let cursor: string | null = null;
  let got = 0;
  do {
    const page = await client.listOrders({
      createdSince: new Date(Date.UTC(2026, 7, 1)),
      cursor,
      pageSize: PAGE_SIZE,
    });
    got += page.orders.length;
    cursor = page.nextCursor;
  } while (cursor);
  const seconds = (now() - start) / 1000;
  const list = sim.requests.filter((r) => r.operation === 'ResolveListOrders' && !r.throttled);
  const actual = list.reduce((n, r) => n + (r.actualCost ?? 0), 0);
  const requested = list.reduce((n, r) => n + (r.requestedCost ?? 0), 0);
  if (got !== ORDERS || sim.unexpected.length)
    throw new Error(`got ${got} orders, unexpected: ${sim.unexpected}`);
  await sim.close();
  const rate = got / seconds;
  const ceiling = plan.restoreRate / (actual / got);
  return {
    plan,
    pages: list.length,
    seconds,
    rate,
    ceiling,
    requested,
    actual,
    waits,
    throttled: sim.throttled,
  };
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const rows = [];
for (const plan of PLANS) rows.push(await run(plan));
const load = os.loadavg()[0].toFixed(2);
console.log(
  `Shopify backfill, ${fmt(ORDERS)} orders (1–3 lines, half shipped), pageSize ${PAGE_SIZE}, load ${load}\n`,
);
console.log(
  '| plan (bucket / restore) | pages | orders/page | requested pts/page | charged pts/page | time (s) | orders/s | ceiling orders/s | ratio | waits | THROTTLED |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const limited = r.plan.restoreRate < 1e9;
  console.log(
    `| ${r.plan.name} (${limited ? `${fmt(r.plan.max)} / ${r.plan.restoreRate} per s` : '∞'}) | ${r.pages} | ${fmt(ORDERS / r.pages, 1)} | ${fmt(r.requested / r.pages)} | ${fmt(r.actual / r.pages)} | ${fmt(r.seconds, 1)} | ${fmt(r.rate, 1)} | ${limited ? fmt(r.ceiling, 2) : '–'} | ${limited ? fmt(r.rate / r.ceiling, 2) : '–'} | ${r.waits} | ${r.throttled} |`,
  );
}
