/**
 * Backfill speed of the WooCommerce connector against its simulator (test/simulators/woocommerce.ts):
 * `listOrders` page after page (per_page 100, oldest first) including the refund reads and the mapping to
 * order documents, with the simulator enforcing a per-key rate limit.
 *
 * WooCommerce core has no REST rate limit; hosts and WAFs set their own. ASSUMPTION (ours, not a documented
 * figure): 25 requests/s per key, token bucket with burst 25, 429 + Retry-After in whole seconds. The ceiling is
 * then per_page × rate = 2,500 orders/s; the table reports orders/s, its ratio to that ceiling, and that ratio
 * scaled by the requests a page needs (orders page + refund reads), i.e. how close the client runs to the limit.
 *
 *   node --import tsx bench/backfill-woocommerce.ts [--orders 10000] [--rate 25] [--refunded 0.1]
 */
import os from 'node:os';
import type { PlatformDeps } from '../src/connectors/platform.js';
import { woocommerceConnector } from '../src/connectors/woocommerce/index.js';
import { startWooSim } from '../test/simulators/woocommerce.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? def : Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number ≥ 0`);
  return v;
};
const ORDERS = arg('orders', 10_000);
const RATE = arg('rate', 25);
const REFUNDED = arg('refunded', 0.1);
const PER_PAGE = 100;
const log = (m: string) => process.stderr.write(`${m}\n`);

interface Scenario {
  name: string;
  rate: number | null;
  refunded: number;
  refundsCollection: boolean;
}

async function run(s: Scenario) {
  const sim = await startWooSim({
    rateLimit: s.rate ? { perSecond: s.rate } : null,
    refundsCollection: s.refundsCollection,
    deliver: null,
  });
  const t0 = Date.now() - ORDERS * 60_000;
  for (let i = 0; i < ORDERS; i++) {
    const o = sim.createOrder({
      createdAt: new Date(t0 + i * 60_000),
      customerId: i % 3 ? 1000 + i : 0,
      billing: {
        first_name: 'Kim',
        last_name: `Berg ${i}`,
        email: `kim${i}@example.com`,
        postcode: '10115',
        country: 'DE',
      },
      shipping: {
        first_name: 'Kim',
        last_name: `Berg ${i}`,
        address_1: 'Invalidenstr. 1',
        city: 'Berlin',
        postcode: '10115',
        country: 'DE',
      },
      lines: [
        {
          productId: 10,
          variationId: 11,
          name: 'T-Shirt',
          sku: 'TEE-M',
          quantity: 2,
          price: 1999,
          discount: 200,
          taxRate: 19,
        },
        { productId: 20, name: 'Mug', sku: 'MUG', quantity: 1, price: 999, taxRate: 19 },
      ],
      shippingTotal: 495,
      shippingTaxRate: 19,
    });
    if (i % 5 === 0)
      sim.addTracking(o.id, {
        provider: 'dhl',
        number: `00340434${i}`,
        shippedAt: new Date(t0 + i * 60_000),
      });
    if (s.refunded && i % Math.round(1 / s.refunded) === 0) {
      const mug = o.lines[1];
      o.refunds.push({
        id: 10_000_000 + i,
        created: o.created,
        amount: mug.total + mug.tax,
        reason: 'bench',
        items: [
          { id: 20_000_000 + i, orig: mug.id, kind: 'line', quantity: 1, total: mug.total, tax: mug.tax },
        ],
      });
    }
  }
  let slept = 0;
  const deps: PlatformDeps = {
    fetch,
    now: () => new Date(),
    sleep: (ms) => {
      slept += ms;
      return new Promise((r) => setTimeout(r, ms));
    },
    log: { info() {}, warn() {} },
  };
  const client = woocommerceConnector.create(
    {
      settings: { store_url: 'https://bench.test', api_base_url: sim.apiBase },
      credentials: { consumer_key: sim.consumerKey, consumer_secret: sim.consumerSecret },
    },
    deps,
  );
  const start = process.hrtime.bigint();
  let cursor: string | null = null;
  let count = 0;
  do {
    const page: Awaited<ReturnType<typeof client.listOrders>> = await client.listOrders({
      createdSince: new Date(0),
      cursor,
      pageSize: PER_PAGE,
    });
    count += page.orders.length;
    cursor = page.nextCursor;
  } while (cursor);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const throttled = sim.requests.filter((r) => r.status === 429).length;
  const requests = sim.requests.length;
  if (count !== ORDERS) throw new Error(`${s.name}: ${count} of ${ORDERS} orders`);
  if (sim.unexpected.length > 1 || (s.refundsCollection && sim.unexpected.length))
    throw new Error(sim.unexpected.join('\n'));
  await sim.close();
  const perSec = count / seconds;
  return {
    ...s,
    count,
    seconds,
    perSec,
    requests,
    throttled,
    slept,
    ratio: s.rate ? perSec / (PER_PAGE * s.rate) : null,
  };
}

const scenarios: Scenario[] = [
  { name: 'no refunds', rate: RATE, refunded: 0, refundsCollection: true },
  {
    name: `${REFUNDED * 100}% refunded, WC ≥ 9.0 (GET /refunds?include= per page)`,
    rate: RATE,
    refunded: REFUNDED,
    refundsCollection: true,
  },
  {
    name: `${REFUNDED * 100}% refunded, WC < 9.0 (GET /orders/{id}/refunds per order)`,
    rate: RATE,
    refunded: REFUNDED,
    refundsCollection: false,
  },
  {
    name: `${REFUNDED * 100}% refunded, no rate limit (client + simulator alone)`,
    rate: null,
    refunded: REFUNDED,
    refundsCollection: true,
  },
];

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const rows: string[] = [];
for (const s of scenarios) {
  log(`> ${s.name}`);
  const r = await run(s);
  const perPage = r.requests / Math.ceil(r.count / PER_PAGE); // a page needs this many requests
  log(
    `  ${fmt(r.perSec)} orders/s, ${r.requests} requests, ${r.throttled} × 429, slept ${fmt(r.slept / 1000, 1)} s`,
  );
  rows.push(
    `| ${r.name} | ${r.rate ? `${r.rate} req/s` : '–'} | ${fmt(r.count)} | ${fmt(r.seconds, 1)} | ${r.requests} (${fmt(perPage, 2)}) | ${r.throttled} | ${fmt(r.slept / 1000, 1)} | **${fmt(r.perSec)}** | ${r.rate ? fmt(PER_PAGE * r.rate) : '–'} | ${r.ratio === null ? '–' : `${fmt(r.ratio * 100)} %`} | ${r.ratio === null ? '–' : `${fmt(r.ratio * perPage * 100)} %`} |`,
  );
}
console.log(
  `WooCommerce backfill, ${new Date().toISOString().slice(0, 10)}, per_page ${PER_PAGE}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')}, ${os.cpus().length} cores\n`,
);
console.log(
  '| scenario | rate limit (assumed) | orders | seconds | requests (per page) | 429s | slept (s) | orders/s | ceiling (orders/s) | of ceiling | of ceiling ÷ requests per page |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
