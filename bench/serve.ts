/**
 * The server side of bench/lookup.ts and bench/claims.ts, in a process of its own (started by startServer() in
 * bench/support.ts; options in BENCH_SERVE as JSON). Two kinds:
 *
 * - `api`: the real app (buildApp from src/app.ts) with logging silenced and the lookup limits raised so that
 *   nothing is throttled: every request does the full work, including the rate-limit bookkeeping.
 * - `bare`: the baselines: a plain Fastify instance and a pg.Pool of the same size, no schemas, hooks, validation or
 *   Redis. `POST /same/:slug/sessions` is the lookup benchmark's baseline: it runs the same query as the API, the
 *   app's own lookup statement (`lookupStatement()` in src/resolve/lookup.ts, with the same values: limits and
 *   lock-outs, the session row, the order with its lines, shipments and claimed units) as a named statement, and
 *   answers the row as JSON. `POST /bare/:slug/sessions` runs only the order's index read (`select id, zip_norm
 *   from orders where shop_id = $1 and order_number_norm = $2`) and answers a small JSON: the floor, for reference.
 *   A third bare route,
 *   `POST /bare/:slug/claims`, is the baseline of bench/claims.ts: the minimum SQL a claim needs on the real
 *   schema (see bareClaim below), with no session, eligibility, idempotency check or read-back.
 *
 * It tells the parent its port over IPC, then answers `stats` (CPU of this process, statements sent to the
 * database), `sql` (runs a statement on its database: the only way into a PGlite that lives here) and `stop`.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { fillPlaceholders } from 'drizzle-orm';
import Fastify from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { createMetrics } from '../src/http/metrics.js';
import { newId } from '../src/lib/ids.js';
import { normalizeOrderNumber, normalizeZip } from '../src/orders/document.js';
import { lookupStatement } from '../src/resolve/lookup.js';
import { newSessionSecret, SESSION_TTL_MS } from '../src/resolve/sessions.js';
import type { ServeOptions, ServerStats } from './support.js';

const opts = JSON.parse(process.env.BENCH_SERVE ?? '{}') as ServeOptions;

// Statements sent to PostgreSQL by this process (each pg query is one round trip, BEGIN/COMMIT included).
let queries = 0;
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  queries++;
  return (original as (...a: unknown[]) => unknown).apply(this, args);
} as typeof original;

interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

const LOOKUP_SQL = 'select id, zip_norm from orders where shop_id = $1 and order_number_norm = $2';

/**
 * The bare claim: the least SQL that stores a claim as the app does, as named prepared statements (parsed and
 * planned once per connection). 1) BEGIN; 2) lock the order row (FOR UPDATE), reading the ordered line and the
 * order fields the claim snapshots; 3) one statement: the number from the shop's counter (`update shops set
 * claim_seq = claim_seq + 1 … returning`), the claim, its item, its history row and its `claims/created` event;
 * 4) COMMIT (synchronous). As in the app, the counter row stays locked until COMMIT has flushed the WAL, which
 * keeps numbers gap-free and caps one shop at about 1 ÷ (statement + COMMIT + flush).
 *
 * With `?number=before` (for information: numbers may then have gaps, which the app's tests forbid) the number is
 * taken first, in a statement of its own that commits asynchronously, so the counter row is free at once.
 */
const BARE_NUMBER = {
  name: 'bare_claim_number',
  text: `update shops set claim_seq = claim_seq + 1 where id = $1
         returning claim_seq, set_config('synchronous_commit', 'off', true) as commit_mode`,
};
const BARE_LOCK = {
  name: 'bare_claim_lock',
  text: `select o.order_number, o.order_number_norm, o.order_name, o.state, o.placed_at, o.currency, o.total,
           o.customer_email, o.customer_first_name, o.customer_last_name, o.shipping_address,
           li.sku, li.title, li.variant_title, li.unit_price, li.discount, li.quantity, li.image_url,
           s.id as shipment_id, s.carrier, s.tracking_number, s.tracking_url, s.phase, s.delivered_at
         from orders o join line_items li on li.id = $3 and li.order_id = o.id
           left join lateral (select * from shipments s where s.order_id = o.id order by s.position limit 1) s on true
         where o.shop_id = $1 and o.id = $2
         for update of o`,
};
const BARE_WRITE = {
  name: 'bare_claim_write',
  text: `with n as (update shops set claim_seq = claim_seq + 1 where id = $2 and $3::text is null returning claim_seq),
         num as (select coalesce($3::text, (select 'R-' || claim_seq from n)) as number),
         c as (
           insert into claims (id, shop_id, number, order_id, shipment_id, flow, reason, resolution_preference, status,
             channel, language, answers, context, order_number_norm, customer_email, carrier, country_code,
             shipment_phase, claim_value, currency, idempotency_key, created_at, updated_at)
           select $1, $2, num.number, $4, $5, $6, $7, $8, 'pending', 'zip', 'de', '[]'::jsonb, $9::jsonb, $10, $11, $12,
             $13, $14, $15, $16, $17, now(), now() from num),
         i as (
           insert into claim_items (id, shop_id, claim_id, line_item_id, shipment_id, sku, title, variant_title,
             quantity, unit_net_price, image_url)
           values ($18, $2, $1, $19, $5, $20, $21, $22, $23, $24, $25)),
         h as (
           insert into claim_history (id, shop_id, claim_id, actor_type, actor_id, action, changes, created_at)
           values ($26, $2, $1, 'customer', null, 'created', '{"status":{"from":null,"to":"pending"}}'::jsonb, now())),
         e as (
           insert into events (id, shop_id, type, subject_id, data)
           select $27, $2, 'claims/created', $1, jsonb_build_object('claim_id', $1::text, 'number', num.number,
             'order_id', $4::text, 'flow', $6::text, 'status', 'pending') from num)
         select number from num`,
};

interface BareClaimBody {
  order_id: string;
  line_item_id: string;
  flow: string;
  reason: string;
  resolution_preference: string | null;
  quantity: number;
}

async function bareClaim(
  pool: pg.Pool,
  shopId: string,
  body: BareClaimBody,
  key: string | null,
  numberBefore: boolean,
) {
  const taken = numberBefore
    ? `R-${(await pool.query({ ...BARE_NUMBER, values: [shopId] })).rows[0].claim_seq}`
    : null;
  const client = await pool.connect();
  try {
    await client.query('begin');
    const o = (await client.query({ ...BARE_LOCK, values: [shopId, body.order_id, body.line_item_id] }))
      .rows[0] as Record<string, never> | undefined;
    if (!o) throw new Error(`order ${body.order_id} not found`);
    const unitNet = Number(o.unit_price) - Math.round(Number(o.discount) / Math.max(1, o.quantity));
    const address = o.shipping_address as { country_code?: string } | null;
    const context = {
      order_number: o.order_number,
      order_name: o.order_name,
      order_state: o.state,
      placed_at: o.placed_at,
      currency: o.currency,
      order_total: Number(o.total),
      claim_value: unitNet * body.quantity,
      shipment: o.shipment_id
        ? {
            id: o.shipment_id,
            phase: o.phase,
            carrier: o.carrier,
            tracking_number: o.tracking_number,
            tracking_url: o.tracking_url,
            delivered_at: o.delivered_at,
            stuck: false,
          }
        : null,
      shipping_address: address,
      customer: {
        email: o.customer_email,
        first_name: o.customer_first_name,
        last_name: o.customer_last_name,
      },
    };
    const claimId = newId('clm');
    const written = await client.query({
      ...BARE_WRITE,
      values: [
        claimId,
        shopId,
        taken,
        body.order_id,
        o.shipment_id,
        body.flow,
        body.reason,
        body.resolution_preference,
        JSON.stringify(context),
        o.order_number_norm,
        (o.customer_email as string | null)?.toLowerCase() ?? null,
        (o.carrier as string | null)?.toLowerCase() ?? null,
        address?.country_code ?? null,
        o.phase,
        unitNet * body.quantity,
        o.currency,
        key,
        newId('cli'),
        body.line_item_id,
        o.sku,
        o.title,
        o.variant_title,
        body.quantity,
        unitNet,
        o.image_url,
        newId('clh'),
        newId('evt'),
      ],
    });
    await client.query('commit');
    return { id: claimId, number: written.rows[0].number as string, status: 'pending' };
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The app's config, with the lookup limits raised so that nothing is throttled (the counting still happens). */
function benchConfig() {
  const base = loadConfig({ LOG_LEVEL: 'silent', REDIS_URL: opts.redisUrl ?? undefined });
  return {
    ...base,
    host: '127.0.0.1',
    port: 0,
    pgPoolMax: opts.pool,
    // lookup.ts sends each request from one of --clients addresses in X-Forwarded-For (the load comes from here).
    trustProxy: ['127.0.0.1'],
    apiRateLimit: { ...base.apiRateLimit, max: 1e9 },
    lookup: { ...base.lookup, ipMax: 1e9, shopMax: 1e9, orderFailures: 1e9, ipFailures: 1e9 },
  };
}

async function serveBare() {
  if (!opts.databaseUrl) throw new Error('the bare server runs on PostgreSQL only');
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.pool });
  const config = benchConfig();
  const app = Fastify({ trustProxy: config.trustProxy });
  app.post('/same/:slug/sessions', async (req, reply) => {
    const { slug } = req.params as { slug: string };
    const body = req.body as { order_number: string; zip_code: string };
    const secret = newSessionSecret();
    const now = new Date();
    const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    // The statement the API runs: with its counters in Redis the API runs the one without them (so does this).
    const st = lookupStatement(config, !opts.redisUrl, slug, body, req.ip, { ...secret, expiresAt }, now);
    const { rows } = await pool.query({
      name: st.name,
      text: st.query.sql,
      values: fillPlaceholders(st.query.params, st.values),
    });
    const row = rows[0] as { opened: number; o: unknown };
    if (!row.opened || !row.o) {
      reply.code(404);
      return { error: { key: 'order_not_found' } };
    }
    reply.code(201);
    return { session: secret.bearer, expires_at: expiresAt.toISOString(), ...row };
  });
  app.post('/bare/:slug/sessions', async (req, reply) => {
    const body = req.body as { order_number: string; zip_code: string };
    const { rows } = await pool.query(LOOKUP_SQL, [opts.shopId, normalizeOrderNumber(body.order_number)]);
    const row = rows[0] as { id: string; zip_norm: string } | undefined;
    if (!row || row.zip_norm !== normalizeZip(body.zip_code)) {
      reply.code(404);
      return { error: { key: 'order_not_found' } };
    }
    reply.code(201);
    return { order_id: row.id };
  });
  // Shop ids by slug, read once (the bare claim route does no per-request shop lookup).
  const shopIds = new Map<string, Promise<string>>();
  const shopIdOf = (slug: string) => {
    let p = shopIds.get(slug);
    if (!p) {
      p = pool.query('select id from shops where slug = $1', [slug]).then((r) => {
        if (!r.rows[0]) throw new Error(`no shop ${slug}`);
        return r.rows[0].id as string;
      });
      shopIds.set(slug, p);
    }
    return p;
  };
  app.post('/bare/:slug/claims', async (req, reply) => {
    const { slug } = req.params as { slug: string };
    const key = req.headers['idempotency-key'];
    const claim = await bareClaim(
      pool,
      await shopIdOf(slug),
      req.body as BareClaimBody,
      typeof key === 'string' ? key : null,
      (req.query as { number?: string }).number === 'before',
    );
    reply.code(201);
    return claim;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: (app.server.address() as AddressInfo).port,
    http: app.server,
    db: pool as unknown as Queryable,
    close: async () => {
      await app.close();
      await pool.end();
    },
  };
}

async function serveApi() {
  const config = benchConfig();
  const database = await openDatabase({
    databaseUrl: opts.databaseUrl,
    dataDir: opts.pgliteDir ?? null,
    poolMax: opts.pool,
  });
  await database.migrate();
  const app = await buildApp({ config, database, log: pino({ level: 'silent' }), metrics: createMetrics() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: (app.server.address() as AddressInfo).port,
    http: app.server,
    db: (database.db as unknown as { $client: Queryable }).$client,
    close: async () => {
      await app.close();
      await database.close();
    },
  };
}

let inspector: Session | undefined;
let served = 0;

async function main() {
  const server = opts.kind === 'bare' ? await serveBare() : await serveApi();
  server.http.on('request', () => served++);
  const send = (m: object) => process.send?.(m);
  process.on(
    'message',
    async (m: { type: string; id: number; arg?: { text: string; params?: unknown[] } }) => {
      try {
        if (m.type === 'stop') {
          await server.close();
          process.exit(0);
        } else if (m.type === 'stats') {
          const cpu = process.cpuUsage();
          const result: ServerStats = {
            cpu: cpu.user + cpu.system,
            sys: cpu.system,
            queries,
            requests: served,
            heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
          };
          send({ type: 'reply', id: m.id, result });
        } else if (m.type === 'profile-start') {
          inspector ??= new Session();
          inspector.connect();
          await inspector.post('Profiler.enable');
          await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
          await inspector.post('Profiler.start');
          send({ type: 'reply', id: m.id, result: null });
        } else if (m.type === 'profile-stop') {
          const { profile } = await inspector!.post('Profiler.stop');
          fs.writeFileSync(String(m.arg), JSON.stringify(profile));
          inspector!.disconnect();
          send({ type: 'reply', id: m.id, result: null });
        } else if (m.type === 'sql') {
          const arg = m.arg as { text: string; params?: unknown[] };
          const res = await server.db.query(arg.text, arg.params ?? []);
          send({ type: 'reply', id: m.id, result: { rows: res.rows } });
        }
      } catch (err) {
        send({ type: 'reply', id: m.id, error: String(err) });
      }
    },
  );
  process.on('disconnect', () => {
    void server.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', port: server.port });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
