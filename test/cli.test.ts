import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { openDatabase } from '../src/db/client.js';
import { acquireDataDirLock, currentOwner, LEASE_MS, parseOwner } from '../src/db/lock.js';
import { users } from '../src/db/schema.js';
import { verifyApiKey } from '../src/shops/api-keys.js';
import { findShopBySlug } from '../src/shops/shops.js';
import { verifyPassword } from '../src/shops/users.js';

// The real CLI (`node bin/resolve.js …`) as a user runs it: its own process, configured by the environment.
// Commands that touch data run one after another: on the embedded database they lock DATA_DIR.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PG_URL = process.env.DATABASE_URL || null;
const SECRET_RE = /^rsk_[0-9a-z]{26}_[A-Za-z0-9_-]{43}$/;
// Generous: a fresh PGlite initdb takes 5–8 s on an idle 2-core machine and several times that under load.
const COMMAND_TIMEOUT_MS = 180_000;
const STACK_RE = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

let dataDir: string;
let dbUrl: string | null = null; // this file's own PostgreSQL database when DATABASE_URL is set
let adminUrl: string | null = null;
let dbName: string | null = null;
const children = new Set<ChildProcessWithoutNullStreams>();

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-cli-'));
  if (PG_URL) {
    const admin = new URL(PG_URL);
    admin.pathname = '/postgres';
    adminUrl = admin.toString();
    dbName = `t_cli_${randomBytes(6).toString('hex')}`;
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(`create database "${dbName}"`);
    } finally {
      await client.end();
    }
    const own = new URL(PG_URL);
    own.pathname = `/${dbName}`;
    dbUrl = own.toString();
  }
});

after(async () => {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('close', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (adminUrl && dbName) {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(`drop database if exists "${dbName}" with (force)`);
    } finally {
      await client.end();
    }
  }
});

/** A clean environment: nothing from the caller's shell (PORT, PUBLIC_URL, RESOLVE_DEMO_PASSWORD…) leaks in. */
function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? os.tmpdir(),
    TMPDIR: os.tmpdir(),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  if (dbUrl) env.DATABASE_URL = dbUrl;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function spawnCli(args: string[], extraEnv: Record<string, string | undefined> = {}) {
  const child = spawn(process.execPath, ['bin/resolve.js', ...args], {
    cwd: ROOT,
    env: cliEnv(extraEnv),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  children.add(child);
  child.once('close', () => children.delete(child));
  return child;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(
  args: string[],
  extraEnv: Record<string, string | undefined> = {},
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawnCli(args, extraEnv);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`resolve ${args.join(' ')} took over ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

const show = (r: RunResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

function assertOk(r: RunResult) {
  assert.equal(r.code, 0, show(r));
}

/** Fails with exit 1 and a message for people: no stack trace, no error class dump. */
function assertReadableFailure(r: RunResult, message: RegExp) {
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, message, show(r));
  assert.doesNotMatch(r.stderr, STACK_RE, `no stack trace\n${show(r)}`);
  assert.doesNotMatch(r.stderr, /\b(AppError|UsageError|TypeError)\b/, show(r));
}

const lastLine = (s: string) => s.trimEnd().split('\n').at(-1)!.trim();

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

const lockFile = () => path.join(dataDir, 'resolve.lock');
/** The pid the lock file names (JSON with start time, boot id and PID namespace; a bare pid from older versions). */
const lockPid = () => parseOwner(fs.readFileSync(lockFile(), 'utf8').trim())?.pid;

let demo: { password: string; apiKey: string };
let cliKey: string;
let cliUser: { email: string; password: string };

test('resolve seed on an empty data dir creates the demo shop and prints its credentials', async () => {
  assert.deepEqual(fs.readdirSync(dataDir), []);
  const r = await run(['seed']);
  assertOk(r);
  assert.match(r.stdout, /Demo shop "demo" is ready/);
  const portal = /admin@demo\.test \/ (\S+)/.exec(r.stdout);
  const key = /API key: (\S+)/.exec(r.stdout);
  assert.ok(portal && key, r.stdout);
  assert.ok(portal[1].length >= 8);
  assert.match(key[1], SECRET_RE);
  demo = { password: portal[1], apiKey: key[1] };
  if (!PG_URL) {
    assert.ok(fs.existsSync(path.join(dataDir, 'pg')), 'the embedded database lives in DATA_DIR');
    assert.equal(fs.existsSync(lockFile()), false, 'the lock is released on exit');
  }
});

test('resolve migrate succeeds and is idempotent', async () => {
  for (let i = 0; i < 2; i++) {
    const r = await run(['migrate']);
    assertOk(r);
    assert.match(r.stdout, /Migrations applied/);
  }
});

test('resolve shop create creates a shop once, then refuses the same slug', async () => {
  const r = await run(['shop', 'create', '--slug', 'acme', '--name', 'Acme']);
  assertOk(r);
  assert.match(r.stdout, /Created shop acme \(shop_[0-9a-z]+\)/);
  const again = await run(['shop', 'create', '--slug', 'acme', '--name', 'Acme']);
  assertReadableFailure(again, /shop with slug "acme" already exists/);
});

test('resolve api-key create prints the secret as the last line', async () => {
  const r = await run(['api-key', 'create', '--shop', 'demo', '--role', 'admin']);
  assertOk(r);
  cliKey = lastLine(r.stdout);
  assert.match(cliKey, SECRET_RE, r.stdout);
  assert.notEqual(cliKey, demo.apiKey);
  assert.match(r.stdout, /admin/);
  // The seeded key is named "demo" (the slug), so the new one takes the next free name: the Basic username.
  assert.match(r.stdout, /"demo-2"/);
  // The secret is checked against the running server below (Basic demo-2:<secret> and Bearer).
});

test('resolve api-key create refuses a --name that an active key of the shop carries', async () => {
  const taken = await run(['api-key', 'create', '--shop', 'demo', '--role', 'viewer', '--name', 'demo']);
  assertReadableFailure(taken, /API key named "demo" already exists/);
});

test('resolve api-key create: bad role, unknown shop or bad options fail readably', async () => {
  // Only the unknown shop opens the database, so these can run side by side.
  const [role, shop, days] = await Promise.all([
    run(['api-key', 'create', '--shop', 'demo', '--role', 'owner']),
    run(['api-key', 'create', '--shop', 'nope', '--role', 'admin']),
    run(['api-key', 'create', '--shop', 'demo', '--role', 'admin', '--expires-days', 'soon']),
  ]);
  assertReadableFailure(role, /viewer\|editor\|admin/);
  assertReadableFailure(shop, /No shop "nope"/);
  assertReadableFailure(days, /expires-days/);
});

test('resolve user create prints a password when none is given', async () => {
  const email = 'x@y.test';
  const r = await run(['user', 'create', '--shop', 'demo', '--email', email, '--role', 'admin']);
  assertOk(r);
  assert.match(r.stdout, /Created admin user x@y\.test for demo/);
  const pw = /^Password: (\S+)$/m.exec(r.stdout);
  assert.ok(pw, r.stdout);
  assert.ok(pw[1].length >= 8);
  cliUser = { email, password: pw[1] };
  // The same email again (any case) keeps that account's password: the final check below still matches it.
  const again = await run(['user', 'create', '--shop', 'demo', '--email', 'X@Y.test', '--role', 'viewer']);
  assertOk(again);
  assert.match(again.stdout, /already has an account: made viewer of demo; password unchanged/);
  assert.doesNotMatch(again.stdout, /Password:/);
  // Checked against the stored hash at the end, once the server has released the database.
});

test('--help prints the usage; unknown commands and bad input fail readably', async () => {
  const [help, cmd, role] = await Promise.all([
    run(['--help']),
    run(['frobnicate', '--colour', 'blue']),
    run(['user', 'create', '--shop', 'demo', '--email', 'z@y.test', '--role', 'owner']),
  ]);
  assertOk(help);
  assert.match(help.stdout, /^Usage: resolve <command>/);
  assert.match(help.stdout, /api-key create/);
  assert.equal(cmd.code, 1, show(cmd));
  assert.match(cmd.stderr, /frobnicate|--colour/);
  assert.doesNotMatch(cmd.stderr, STACK_RE);
  assertReadableFailure(role, /viewer\|agent\|admin/);
});

test('bad configuration exits 1 with "Invalid configuration" naming the variable', async () => {
  const [port, url] = await Promise.all([
    run(['start'], { PORT: 'abc', LOG_LEVEL: 'loud' }),
    run(['migrate'], { DATABASE_URL: 'mysql://x' }),
  ]);
  assertReadableFailure(port, /Invalid configuration/);
  assert.match(port.stderr, /PORT\b.*"abc"/);
  assert.match(port.stderr, /LOG_LEVEL/, 'every problem is listed at once');
  assertReadableFailure(url, /Invalid configuration/);
  assert.match(url.stderr, /DATABASE_URL/);
  for (const r of [port, url]) assert.equal(r.stdout.trim(), '', 'nothing started');
});

// ---- resolve start -------------------------------------------------------------------------------------

let server: ChildProcessWithoutNullStreams;
let serverOut = '';
let serverErr = '';
let base: string;

test('resolve start serves HTTP and prints the URLs and demo credentials', async () => {
  const port = await freePort();
  server = spawnCli(['start'], { PORT: String(port), LOG_LEVEL: 'info' });
  server.stdout.on('data', (d: string) => {
    serverOut += d;
  });
  server.stderr.on('data', (d: string) => {
    serverErr += d;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`resolve start not ready in time\n${serverOut}\n${serverErr}`)),
      COMMAND_TIMEOUT_MS,
    );
    const check = () => {
      // The banner is one write; wait for its last line.
      if (/Resolve is running/.test(serverOut) && /Demo orders .*\n/.test(serverOut)) {
        clearTimeout(timer);
        server.stdout.off('data', check);
        resolve();
      }
    };
    server.stdout.on('data', check);
    server.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`resolve start exited with ${code}\n${serverOut}\n${serverErr}`));
    });
  });
  base = `http://localhost:${port}`;
  assert.match(serverOut, new RegExp(`Customer page\\s+${base}/resolve/demo`));
  assert.match(serverOut, new RegExp(`Portal\\s+${base}/portal`));
  assert.match(serverOut, new RegExp(`API reference\\s+${base}/docs`));
  assert.match(serverOut, new RegExp(`${base}/v1/openapi\\.json`));
  // The credentials the seed printed stay valid across starts.
  assert.match(serverOut, new RegExp(`Demo portal\\s+admin@demo\\.test / ${demo.password}\\s`));
  assert.match(serverOut, new RegExp(`Demo API key\\s+${demo.apiKey}\\s`));
});

test('the started server is ready and answers the API with the printed demo key and CLI-made keys', async () => {
  assert.ok(base, 'resolve start came up');
  const readyz = await fetch(`${base}/readyz`);
  assert.equal(readyz.status, 200);
  const r = (await readyz.json()) as { status: string; migrations: string };
  assert.equal(r.status, 'ready');
  const m = /^(\d+)\/(\d+) applied$/.exec(r.migrations);
  assert.ok(m && m[1] === m[2], `migrations current: ${r.migrations}`);

  const get = (authorization: string) =>
    fetch(`${base}/v1/shops/demo/orders?order_number=1001`, { headers: { authorization } });
  const basic = (user: string, secret: string) =>
    `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

  const res = await get(basic('demo', demo.apiKey));
  assert.equal(res.status, 200);
  const body = (await res.json()) as {
    data: { order_number: string; shipping_address: { zip_code: string } }[];
  };
  assert.equal(body.data.length, 1);
  assert.equal(body.data[0].order_number, '1001');
  assert.equal(body.data[0].shipping_address.zip_code, '10115');

  // The key from `resolve api-key create` works as Basic (username = its name "demo-2") and as Bearer.
  assert.equal((await get(basic('demo-2', cliKey))).status, 200);
  assert.equal((await get(basic('demo', cliKey))).status, 401, 'the username is the key name');
  assert.equal((await get(`Bearer ${cliKey}`)).status, 200);
  assert.equal((await get(basic('someone-else', cliKey))).status, 401);
  const acme = await fetch(`${base}/v1/shops/acme/orders`, {
    headers: { authorization: `Bearer ${cliKey}` },
  });
  assert.equal(acme.status, 404, 'a key for demo does not see acme');
});

test('while the server runs, a second process on the same DATA_DIR fails fast', {
  skip: !!PG_URL,
}, async () => {
  assert.ok(base, 'resolve start came up');
  // Embedded database only: PostgreSQL handles many processes.
  assert.equal(lockPid(), server.pid);
  const owner = parseOwner(fs.readFileSync(lockFile(), 'utf8').trim());
  if (fs.existsSync('/proc/self/stat')) {
    assert.match(owner?.start ?? '', /^\d+$/, 'the lock records the start time of its process');
    assert.equal(owner?.boot, currentOwner().boot, 'and the boot it belongs to');
  }
  const r = await run(['seed']);
  assertReadableFailure(r, /data directory .* is in use/);
  assert.match(r.stderr, new RegExp(`pid ${server.pid}`));
  // Quickly = no waiting on the lock: the time is process start-up (a few seconds, more on a busy machine).
  assert.ok(r.ms < 30_000, `fails quickly (${Math.round(r.ms)} ms)`);
  // The refused process leaves the server and its lock alone.
  assert.equal(lockPid(), server.pid);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});

test('SIGTERM stops the server cleanly and releases DATA_DIR', async () => {
  assert.ok(base, 'resolve start came up');
  const code = await new Promise<number | null>((resolve) => {
    server.removeAllListeners('close');
    if (server.exitCode !== null) return resolve(server.exitCode);
    server.once('close', (c) => resolve(c));
    server.kill('SIGTERM');
  });
  assert.equal(code, 0, `${serverOut}\n${serverErr}`);
  assert.doesNotMatch(serverErr, STACK_RE);
  // Structured JSON logs (pino writes them asynchronously, so they are checked once the process is gone).
  const logs = serverOut
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { msg?: string }).msg);
  assert.ok(logs.includes('resolve ready'), 'a JSON "resolve ready" log line');
  assert.ok(logs.includes('stopped'), 'a JSON "stopped" log line after draining');
  assert.equal(fs.existsSync(lockFile()), false, 'the lock file is gone');

  const r = await run(['seed']);
  assertOk(r);
  assert.match(r.stdout, new RegExp(`API key: ${demo.apiKey}`), 'seeding again keeps the demo key');
});

// ---- leftover locks (embedded database) ----------------------------------------------------------------

/** Writes a lock file as a process that is gone would have left it; `ageMs` back-dates its last heartbeat. */
function leaveLock(content: string, ageMs = 0) {
  fs.writeFileSync(lockFile(), content);
  if (ageMs) {
    const then = new Date(Date.now() - ageMs);
    fs.utimesSync(lockFile(), then, then);
  }
}

test('a leftover lock naming a live pid that another process now holds does not block a start (pid reuse)', {
  skip: !!PG_URL || !fs.existsSync('/proc/self/stat'),
}, async () => {
  // As after a crash in a container: the pid in the lock is alive again, but it is not the process that wrote it
  // (here the test runner's pid, with a start time that is not the runner's).
  leaveLock(JSON.stringify({ ...currentOwner(), start: '1' }));
  const r = await run(['seed']);
  assertOk(r);
  assert.match(r.stdout, /Demo shop "demo" is ready/);
  assert.equal(fs.existsSync(lockFile()), false, 'the stale lock was replaced, then released');
});

test('a leftover lock from another PID namespace (a container that is gone) is taken over once its lease ran out', {
  skip: !!PG_URL,
}, async () => {
  leaveLock(JSON.stringify({ ...currentOwner(), pid: 1, pidns: 'pid:[1]' }), LEASE_MS + 5000);
  const r = await run(['seed']);
  assertOk(r);
  assert.equal(fs.existsSync(lockFile()), false);
});

test('an old-format lock (a bare pid) of a live process is still refused', { skip: !!PG_URL }, async () => {
  leaveLock(String(process.pid));
  try {
    const r = await run(['seed']);
    assertReadableFailure(r, /data directory .* is in use/);
    assert.match(r.stderr, new RegExp(`pid ${process.pid}\\b`));
    assert.equal(fs.readFileSync(lockFile(), 'utf8'), String(process.pid), 'left alone');
  } finally {
    fs.rmSync(lockFile(), { force: true });
  }
});

test('acquireDataDirLock: our own pid with another start time is stale; this process, and a heartbeating owner in another PID namespace, hold it', {
  skip: !fs.existsSync('/proc/self/stat'),
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-lock-'));
  const file = path.join(dir, 'resolve.lock');
  try {
    const self = currentOwner();
    fs.writeFileSync(file, JSON.stringify({ ...self, start: String(Number(self.start) + 1) }));
    const lock = acquireDataDirLock(dir);
    assert.deepEqual(parseOwner(fs.readFileSync(file, 'utf8').trim()), self);
    assert.throws(() => acquireDataDirLock(dir), /in use by another Resolve process \(pid \d+\)/);
    lock.release();
    assert.equal(fs.existsSync(file), false);

    // An older version's lock (a bare pid) naming this process: a container restarted after an upgrade, where
    // both processes were pid 1. This version never writes one, so it is stale.
    fs.writeFileSync(file, String(process.pid));
    const upgraded = acquireDataDirLock(dir);
    assert.deepEqual(parseOwner(fs.readFileSync(file, 'utf8').trim()), self, 'taken over');
    upgraded.release();

    // A process in another container on the same volume: its pid means nothing here, its heartbeat does.
    fs.writeFileSync(file, JSON.stringify({ ...self, pid: 1, pidns: 'pid:[1]' }));
    const beat = new Worker(
      `const fs = require('node:fs');
       setInterval(() => { const now = new Date(); fs.utimesSync(${JSON.stringify(file)}, now, now); }, 200);`,
      { eval: true },
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.throws(() => acquireDataDirLock(dir), /pid 1, in another container or PID namespace/);
    } finally {
      await beat.terminate();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('what the CLI printed is what was stored', async () => {
  const database = await openDatabase({ databaseUrl: dbUrl, dataDir: dbUrl ? null : dataDir });
  try {
    const stored = (await database.db.select().from(users)).find((u) => u.email === cliUser.email);
    assert.ok(stored, 'the user exists');
    assert.equal(await verifyPassword(cliUser.password, stored.passwordHash), true);
    const key = await verifyApiKey(database.db, cliKey, 'demo-2');
    const shop = await findShopBySlug(database.db, 'demo');
    assert.ok(key && shop);
    assert.equal(key.role, 'admin');
    assert.deepEqual(key.shopIds, [shop.id]);
  } finally {
    await database.close();
  }
  if (!dbUrl) assert.equal(fs.existsSync(lockFile()), false);
});
