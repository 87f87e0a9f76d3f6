import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { and, asc, eq } from 'drizzle-orm';
import pg from 'pg';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { type App, buildApp } from '../../src/app.js';
import { type EventType, emitEvent } from '../../src/claims/events.js';
import type { Config } from '../../src/config.js';
import { type Database, type Db, openDatabase } from '../../src/db/client.js';
import { webhookAttempts, webhookEndpoints, webhookMessages } from '../../src/db/schema.js';
import type { AppDeps } from '../../src/http/context.js';
import { createMetrics } from '../../src/http/metrics.js';
import { Worker } from '../../src/jobs/worker.js';
import { webhookJobs } from '../../src/webhooks/jobs.js';
import type { Resolver } from '../../src/webhooks/transport.js';
import { testConfig } from './app.js';
import { DATABASE_URL, openTestDb } from './db.js';
import type { TestPki } from './tls.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(15);
  }
}

// ------------------------------------------------------------------------------------------- receiver

export interface Received {
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  headers: IncomingHttpHeaders;
  at: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

/** A local HTTPS receiver (certificate from the test PKI) that logs every request and answers per path. */
export interface Receiver {
  port: number;
  url(path?: string, host?: string): string;
  received: Received[];
  /** Answers for one path: a fixed reply, or a function of the request count on that path (1-based). */
  on(path: string, reply: Reply | ((n: number, r: Received) => Reply)): void;
  of(path: string): Received[];
  server: https.Server;
  close(): Promise<void>;
}

export async function startReceiver(
  pki: TestPki,
  opts: { tls?: https.ServerOptions; host?: string } = {},
): Promise<Receiver> {
  const received: Received[] = [];
  const replies = new Map<string, Reply | ((n: number, r: Received) => Reply)>();
  const server = https.createServer({ key: pki.leaf.key, cert: pki.leaf.cert, ...opts.tls }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const r: Received = {
        path: req.url ?? '/',
        id: String(req.headers['webhook-id'] ?? ''),
        timestamp: String(req.headers['webhook-timestamp'] ?? ''),
        signature: String(req.headers['webhook-signature'] ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
        headers: req.headers,
        at: Date.now(),
      };
      received.push(r);
      const spec = replies.get(r.path) ?? {};
      const reply =
        typeof spec === 'function' ? spec(received.filter((x) => x.path === r.path).length, r) : spec;
      if (reply.delayMs) await sleep(reply.delayMs);
      if (res.destroyed) return;
      res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...reply.headers });
      res.end(reply.body ?? 'ok');
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = '/hook', h = host) => `https://${h.includes(':') ? `[${h}]` : h}:${port}${path}`,
    received,
    on: (path, reply) => replies.set(path, reply),
    of: (path) => received.filter((r) => r.path === path),
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Verifies a received request with the official Standard Webhooks library; returns the parsed body. */
export function verifySigned(secret: string, r: Received): unknown {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': r.id,
    'webhook-timestamp': r.timestamp,
    'webhook-signature': r.signature,
  });
}

export function assertVerifies(secret: string, r: Received) {
  assert.doesNotThrow(() => verifySigned(secret, r), `signature of ${r.id} must verify`);
}

// ------------------------------------------------------------------------------------------- app + worker

export interface WebhookTestContext {
  app: App;
  db: Db;
  database: Database;
  deps: AppDeps;
  worker: Worker;
  /** Moves the delivery worker's clock (recorded times, secret overlap, the 5-day rule). */
  clock: { offsetMs: number };
  /** Replaces DNS for the egress check while set. */
  dns: { resolve: Resolver | null };
  close(): Promise<void>;
}

/**
 * The real app and a real worker running the webhook jobs, on a database of this test file's own: on PostgreSQL a
 * fresh database (no other file's worker can take these jobs), else PGlite in memory. The receivers are local, so
 * 127.0.0.1 and ::1 are allow-listed and the test CA is trusted, unless `webhooks` says otherwise.
 */
export async function startWebhookApp(
  pki: TestPki,
  webhooks: Partial<Config['webhooks']> = {},
  workerOpts: { concurrency?: number } = {},
): Promise<WebhookTestContext> {
  let dropDb: (() => Promise<void>) | null = null;
  let database: Database;
  if (DATABASE_URL) {
    const name = `t_wh_${randomBytes(6).toString('hex')}`;
    const admin = new URL(DATABASE_URL);
    admin.pathname = '/postgres';
    const run = async (sql: string) => {
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    };
    await run(`create database "${name}"`);
    dropDb = () => run(`drop database if exists "${name}" with (force)`);
    const own = new URL(DATABASE_URL);
    own.pathname = `/${name}`;
    database = await openDatabase({ databaseUrl: own.toString(), dataDir: null, poolMax: 10 });
    await database.migrate();
  } else {
    database = await openTestDb();
  }
  const base = testConfig();
  const config: Config = {
    ...base,
    webhooks: {
      ...base.webhooks,
      retryScheduleMs: [0, 300, 600, 900],
      connectTimeoutMs: 2000,
      timeoutMs: 3000,
      allowedHosts: [],
      allowedCidrs: [
        { address: '127.0.0.1', prefix: 32, family: 'ipv4' },
        { address: '::1', prefix: 128, family: 'ipv6' },
      ],
      caFile: pki.caFile,
      caPem: pki.caPem,
      ...webhooks,
    },
  };
  const log = pino({ level: 'silent' });
  const deps: AppDeps = { config, database, log, metrics: createMetrics() };
  const clock = { offsetMs: 0 };
  const dns: { resolve: Resolver | null } = { resolve: null };
  const jobs = webhookJobs(deps, {
    now: () => new Date(Date.now() + clock.offsetMs),
    resolve: (host) =>
      dns.resolve
        ? dns.resolve(host)
        : import('node:dns/promises').then((d) => d.lookup(host, { all: true })),
  });
  const worker = new Worker({
    db: database.db,
    log,
    handlers: jobs.handlers,
    concurrency: workerOpts.concurrency ?? 4,
    pollMs: 20,
  });
  deps.nudgeWorker = () => worker.nudge();
  const app = await buildApp(deps);
  await app.ready();
  worker.start();
  return {
    app,
    db: database.db,
    database,
    deps,
    worker,
    clock,
    dns,
    async close() {
      await worker.stop(5000);
      jobs.close();
      await app.close();
      await database.close();
      await dropDb?.();
    },
  };
}

// ------------------------------------------------------------------------------------------- API helpers

export interface CreatedEndpoint {
  id: string;
  secret: string;
  url: string;
}

export async function createEndpoint(
  ctx: WebhookTestContext,
  slug: string,
  auth: { authorization: string },
  body: Record<string, unknown>,
): Promise<CreatedEndpoint> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${slug}/webhooks`,
    headers: auth,
    payload: body,
  });
  assert.equal(res.statusCode, 201, res.body);
  const json = res.json();
  assert.match(json.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  return { id: json.id, secret: json.secret, url: json.url };
}

/** Writes one event through emitEvent() in its own transaction (as every domain change does). */
export async function emit(
  db: Db,
  shopId: string,
  type: EventType = 'claims/updated',
  data: Record<string, unknown> = {},
): Promise<string> {
  return db.transaction((tx) => emitEvent(tx, shopId, type, `clm_${randomBytes(4).toString('hex')}`, data));
}

export async function messagesOf(db: Db, endpointId: string) {
  return db
    .select()
    .from(webhookMessages)
    .where(eq(webhookMessages.endpointId, endpointId))
    .orderBy(asc(webhookMessages.id));
}

export async function attemptsOf(db: Db, messageId: string) {
  return db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.messageId, messageId))
    .orderBy(asc(webhookAttempts.attemptNumber), asc(webhookAttempts.id));
}

export async function endpointRow(db: Db, shopId: string, id: string) {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.shopId, shopId), eq(webhookEndpoints.id, id)));
  return row;
}

/** Waits until the endpoint has `n` messages and none is pending. */
export async function settled(db: Db, endpointId: string, n: number, timeoutMs = 20_000) {
  await waitFor(
    `${n} settled messages`,
    async () => {
      const ms = await messagesOf(db, endpointId);
      return ms.length >= n && ms.every((m) => m.status !== 'pending');
    },
    timeoutMs,
  );
  return messagesOf(db, endpointId);
}
