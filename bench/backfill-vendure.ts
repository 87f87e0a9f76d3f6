/**
 * Backfill speed of the Vendure connector against a REAL Vendure 3.7.3 server (in-process, sql.js; see
 * test/support/vendure.ts), through the whole Resolve path: PUT /connection → the `connector.backfill` job →
 * listOrders (Admin API, pages of 100) → importOrders (validation + upsert into PGlite, or PostgreSQL when
 * DATABASE_URL is set).
 *
 * Vendure has no API rate limit of its own (a proxy in front may add one), so the ceiling is the server's own
 * throughput for the same query: a bare loop of the connector's `orders` query (same fields, same page size,
 * fetch + JSON.parse, no validation, mapping or import). A minimal `orders { items { id } }` loop is shown too.
 * Everything runs in one Node process on the machine's cores: Vendure, the connector and Resolve share the CPU.
 *
 *   node --import tsx bench/backfill-vendure.ts   (BENCH_ORDERS=300 BENCH_ROUNDS=3 BENCH_PLACE_CONCURRENCY=4)
 */
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { ORDER_FIELDS } from '../src/connectors/vendure/queries.js';
import { query } from '../src/db/client.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import { createTestShop, startTestApp } from '../test/support/app.js';
import { drainJobs } from '../test/support/jobs.js';
import { Gql, startVendure } from '../test/support/vendure.js';

const int = (v: string | undefined, def: number) => {
  const n = v ? Number(v) : def;
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a whole number ≥ 1, got "${v}"`);
  return n;
};
const ORDERS = int(process.env.BENCH_ORDERS, 300);
const ROUNDS = int(process.env.BENCH_ROUNDS, 3);
const CONCURRENCY = int(process.env.BENCH_PLACE_CONCURRENCY, 4);
const PAGE = 100; // src/connectors/sync.ts PAGE_SIZE
const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (m: string) => process.stderr.write(`${m}\n`);

const load = os.loadavg()[0];
const v = await startVendure();
const ctx = await startTestApp();
try {
  // Orders placed through the Shop API; every other one fulfilled, shipped and delivered.
  let t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ORDERS) {
        const i = next++;
        const o = await v.placeOrder({
          items: [
            { sku: 'TEE-M', quantity: 1 + (i % 2) },
            { sku: 'MUG-1', quantity: 1 },
          ],
          zip: String(10115 + (i % 500)),
        });
        if (i % 2) await v.transitionFulfillment(await v.fulfil(o.id), 'Shipped', 'Delivered');
        if ((i + 1) % 50 === 0) log(`placed ${i + 1}/${ORDERS}`);
      }
    }),
  );
  log(`placed ${ORDERS} orders in ${fmt((performance.now() - t) / 1000, 1)} s`);

  // The ceiling: the server answering the connector's own query (and a minimal one), nothing else.
  const session = new Gql(v.adminApiUrl);
  await session.request(
    `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { __typename } }`,
    {
      u: v.login.username,
      p: v.login.password,
    },
  );
  const byKey = new Gql(v.adminApiUrl, { 'vendure-api-key': v.apiKey });
  const bare = async (g: Gql, fields: string) => {
    const t0 = performance.now();
    let got = 0;
    let requests = 0;
    for (let skip = 0; ; skip += PAGE) {
      const r = await g.request<{ orders: { totalItems: number; items: unknown[] } }>(
        `query ($o: OrderListOptions) { orders(options: $o) { totalItems items { ${fields} } } }`,
        {
          o: {
            filter: { orderPlacedAt: { isNull: false } },
            sort: { createdAt: 'ASC', id: 'ASC' },
            skip,
            take: PAGE,
          },
        },
      );
      requests++;
      got += r.orders.items.length;
      if (skip + PAGE >= r.orders.totalItems) break;
    }
    if (got !== ORDERS) throw new Error(`bare loop read ${got} of ${ORDERS}`);
    return { seconds: (performance.now() - t0) / 1000, requests };
  };

  // The real path: connect (tests the connection), then the backfill job until it is done.
  const handlers = jobHandlers(ctx.deps);
  const connected = async (credentials: Record<string, string>) => {
    const shop = await createTestShop(ctx.db, 'vbench');
    const res = await ctx.app.inject({
      method: 'PUT',
      url: `/v1/shops/${shop.slug}/connection`,
      headers: shop.auth.admin,
      payload: {
        platform: 'vendure',
        settings: { admin_api_url: v.adminApiUrl },
        credentials,
        backfill_days: 30,
      },
    });
    if (res.statusCode !== 200) throw new Error(res.body);
    const backfill = async () => {
      const t0 = performance.now();
      const r = await drainJobs(ctx.db, handlers, ['connector.backfill']);
      const seconds = (performance.now() - t0) / 1000;
      if (r.failed.length) throw new Error(r.failed.join('; '));
      const [n] = await query<{ n: number }>(
        ctx.db,
        sql`select count(*)::int as n from orders where shop_id = ${shop.shop.id}`,
      );
      if (n.n !== ORDERS) throw new Error(`imported ${n.n} of ${ORDERS}`);
      return { seconds, requests: Math.ceil(ORDERS / PAGE) };
    };
    const again = async () => {
      const r = await ctx.app.inject({
        method: 'POST',
        url: `/v1/shops/${shop.slug}/connection/backfill`,
        headers: shop.auth.admin,
        payload: { days: 30 },
      });
      if (r.statusCode !== 202) throw new Error(r.body);
      return backfill();
    };
    return { backfill, again };
  };

  await bare(session, ORDER_FIELDS); // warm-up: JIT, GraphQL schema and query caches
  await bare(session, ORDER_FIELDS);
  const rows: { label: string; seconds: number; requests: number }[] = [];
  const measure = async (
    label: string,
    fn: () => Promise<{ seconds: number; requests: number }>,
    rounds = ROUNDS,
  ) => {
    const runs = [];
    for (let i = 0; i < rounds; i++) runs.push(await fn());
    const s = median(runs.map((r) => r.seconds));
    rows.push({ label, seconds: s, requests: runs[0].requests });
    log(`${label}: ${runs.map((r) => fmt(ORDERS / r.seconds)).join(', ')} orders/s`);
  };
  t = performance.now();
  const byLogin = await connected({ username: v.login.username, password: v.login.password });
  await measure("bare `orders` loop, the connector's fields, login session (CEILING)", () =>
    bare(session, ORDER_FIELDS),
  );
  await measure('Resolve backfill, login session, first import (creates)', byLogin.backfill, 1);
  await measure('Resolve backfill, login session, re-run (orders unchanged)', byLogin.again);
  await measure('bare `orders` loop, `id` only, login session', () => bare(session, 'id'));
  await measure("bare `orders` loop, the connector's fields, API key", () => bare(byKey, ORDER_FIELDS));
  const withKey = await connected({ api_key: v.apiKey });
  await measure('Resolve backfill, API key, first import (creates)', withKey.backfill, 1);
  log(`measured in ${fmt((performance.now() - t) / 1000, 1)} s`);

  const ceiling = ORDERS / rows[0].seconds;
  console.log(
    `\nVendure backfill, ${fmt(ORDERS)} orders (half fulfilled and delivered), pages of ${PAGE}, Vendure 3.7.3 on sql.js in-process, ` +
      `Resolve on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}, ${os.cpus().length} cores, load average ${load.toFixed(1)} at start, median of ${ROUNDS} rounds (first import: 1)\n`,
  );
  console.log('| run | orders/s | requests | seconds | vs ceiling |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const rate = ORDERS / r.seconds;
    console.log(
      `| ${r.label} | ${fmt(rate)} | ${r.requests} | ${fmt(r.seconds, 2)} | ${fmt(rate / ceiling, 2)}× |`,
    );
  }
  console.log(
    '\nVendure has no API rate limit by default: the ceiling is its own throughput for the same query. ' +
      'An API key costs Vendure a bcrypt check on every request (3.7.3 keeps no session for it); a login session does not.',
  );
} finally {
  await ctx.close();
  await v.close();
}
process.exit(0);
