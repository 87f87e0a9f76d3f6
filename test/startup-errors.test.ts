import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../src/config.js';

// Start-up failures an operator causes (a bad HOST, PORT, DATABASE_URL, PUBLIC_URL or command line) end the real CLI
// (`node bin/resolve.js …`) with one line naming the variable, exit 1 and no stack trace; SIGTERM/SIGINT during
// start-up stop it cleanly. The processes that start use the embedded database in a DATA_DIR of this file's own.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PG_URL = process.env.DATABASE_URL || null;
const STACK_RE = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;
// Generous for the one fresh PGlite initdb (5–8 s idle, several times that under load); each test is far quicker.
const SETUP_TIMEOUT_MS = 180_000;
const COMMAND_TIMEOUT_MS = 60_000;
const PASSWORD = 's3cret-Pa55word';

let dataDir: string;
const children = new Set<ChildProcessWithoutNullStreams>();

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-startup-'));
  // Created once here, so the starts below only open it (a fresh embedded database takes seconds to initialise).
  const r = await run(['migrate'], {}, SETUP_TIMEOUT_MS);
  assert.equal(r.code, 0, show(r));
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
});

/** A clean environment on the embedded database: nothing from the caller's shell leaks in. */
function cliEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? os.tmpdir(),
    TMPDIR: os.tmpdir(),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
  };
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
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's output until it exits. */
function finish(child: ChildProcessWithoutNullStreams, label: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
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
      reject(new Error(`resolve ${label} took over ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function run(
  args: string[],
  extraEnv: Record<string, string | undefined> = {},
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<RunResult> {
  return finish(spawnCli(args, extraEnv), args.join(' '), timeoutMs);
}

const show = (r: RunResult) =>
  `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** Exit 1 with a message for people: no stack trace, no error class, no password. */
function assertReadableFailure(r: RunResult, message: RegExp) {
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, message, show(r));
  assert.doesNotMatch(r.stderr, STACK_RE, `no stack trace\n${show(r)}`);
  assert.doesNotMatch(
    r.stderr,
    /\b(TypeError|RangeError|AggregateError|StartupError)\b|errno:|\{$/m,
    show(r),
  );
  assert.ok(!r.stderr.includes(PASSWORD), `the password is not shown\n${show(r)}`);
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

const lockFile = () => path.join(dataDir, 'resolve.lock');

// ---- the configuration check ---------------------------------------------------------------------------

test('PORT takes decimal whole numbers 0–65535 only', async () => {
  const [exp, hex, big] = await Promise.all([
    run(['start'], { PORT: '1e3' }),
    run(['start'], { PORT: '0x10' }),
    run(['start'], { PORT: '65536' }),
  ]);
  assertReadableFailure(exp, /Invalid configuration[\s\S]*PORT\b.*"1e3"/);
  assertReadableFailure(hex, /PORT\b.*"0x10"/);
  assertReadableFailure(big, /PORT\b.*"65536"/);
  assert.equal(loadConfig({ PORT: '0' }).port, 0, 'PORT=0: any free port (tests, benchmarks)');
  assert.equal(loadConfig({ PORT: '8080' }).port, 8080);
});

test('PUBLIC_URL with a query or fragment is refused; a base path is kept', async () => {
  const [both, hash] = await Promise.all([
    run(['start'], { PUBLIC_URL: 'https://x.example/base?q=1#f' }),
    run(['migrate'], { PUBLIC_URL: 'https://x.example/#f' }),
  ]);
  assertReadableFailure(both, /Invalid configuration[\s\S]*PUBLIC_URL must not have a query/);
  assertReadableFailure(hash, /PUBLIC_URL\b/);
  assert.throws(() => loadConfig({ PUBLIC_URL: 'https://x.example/?' }), ConfigError);
  assert.throws(() => loadConfig({ PUBLIC_URL: `https://u:${PASSWORD}@x.example` }), /PUBLIC_URL/);
  assert.equal(loadConfig({ PUBLIC_URL: 'https://x.example/claims/' }).publicUrl, 'https://x.example/claims');
});

test('a malformed DATABASE_URL is a configuration error naming it, without its password', async () => {
  const url = `postgres://resolve:${PASSWORD}@[bad`;
  const [migrate, start] = await Promise.all([
    run(['migrate'], { DATABASE_URL: url }),
    run(['start'], { DATABASE_URL: `postgres://resolve:${PASSWORD}@db.example:99999/resolve` }),
  ]);
  assertReadableFailure(migrate, /Invalid configuration[\s\S]*DATABASE_URL is not a valid connection URL/);
  assert.match(migrate.stderr, /postgres:\/\/resolve:\*\*\*@\[bad/);
  assertReadableFailure(start, /DATABASE_URL is not a valid connection URL/);
  // What pg accepts stays accepted: a Unix socket directory with no host.
  assert.equal(
    loadConfig({ DATABASE_URL: 'postgres://resolve@/resolve?host=/run/postgresql' }).databaseUrl,
    'postgres://resolve@/resolve?host=/run/postgresql',
  );
});

test('HOST that is not an IP address or host name is a configuration error', async () => {
  const r = await run(['start'], { HOST: '999.1.1.1' });
  assertReadableFailure(r, /Invalid configuration[\s\S]*HOST\b.*"999\.1\.1\.1"/);
});

// ---- the command line ----------------------------------------------------------------------------------

test('an unexpected argument or an out-of-range --expires-days prints one line and the usage', async () => {
  const [extra, days, zero] = await Promise.all([
    run(['migrate', 'extra']),
    run(['api-key', 'create', '--shop', 'demo', '--role', 'admin', '--expires-days', '100000000']),
    run(['api-key', 'create', '--shop', 'demo', '--role', 'admin', '--expires-days', '0']),
  ]);
  assertReadableFailure(extra, /^resolve: Unexpected argument 'extra'/);
  assert.match(extra.stderr, /Usage: resolve <command>/);
  assert.doesNotMatch(extra.stderr, /ERR_PARSE_ARGS/);
  assertReadableFailure(
    days,
    /--expires-days takes a whole number of days from 1 to 3650 \(got "100000000"\)/,
  );
  assertReadableFailure(zero, /--expires-days .* from 1 to 3650/);
});

// ---- reaching the database -----------------------------------------------------------------------------

/** A PostgreSQL server that answers every connection's start-up message with a FATAL error. */
async function fakePostgres(code: string, message: string): Promise<{ url: string; close(): Promise<void> }> {
  const field = (type: string, value: string) =>
    Buffer.concat([Buffer.from(type), Buffer.from(`${value}\0`)]);
  const body = Buffer.concat([
    field('S', 'FATAL'),
    field('V', 'FATAL'),
    field('C', code),
    field('M', message),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(body.length + 4, 1);
  const srv = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end(Buffer.concat([head, body])));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  return {
    url: `postgres://resolve:${PASSWORD}@127.0.0.1:${port}/resolve`,
    close: () => new Promise((resolve) => srv.close(() => resolve())),
  };
}

test('DATABASE_URL naming no server: one line naming DATABASE_URL (password hidden) for start, worker and migrate', async () => {
  const url = `postgres://resolve:${PASSWORD}@127.0.0.1:${await freePort()}/resolve`;
  const results = await Promise.all(
    [['start'], ['worker'], ['migrate']].map((args) => run(args, { DATABASE_URL: url })),
  );
  for (const r of results) {
    assertReadableFailure(
      r,
      /^resolve: cannot use the database at DATABASE_URL=postgres:\/\/resolve:\*\*\*@127\.0\.0\.1:\d+\/resolve: connect ECONNREFUSED/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line\n${show(r)}`);
  }
});

test('a database that does not exist or a refused login: the server message, naming DATABASE_URL', async () => {
  const missing = await fakePostgres('3D000', 'database "resolve" does not exist');
  const login = await fakePostgres('28P01', 'password authentication failed for user "resolve"');
  try {
    const [a, b] = await Promise.all([
      run(['migrate'], { DATABASE_URL: missing.url }),
      run(['start'], { DATABASE_URL: login.url }),
    ]);
    assertReadableFailure(
      a,
      /^resolve: cannot use the database at DATABASE_URL=.*: database "resolve" does not exist$/m,
    );
    assertReadableFailure(
      b,
      /^resolve: cannot use the database at DATABASE_URL=.*: password authentication failed/m,
    );
    for (const r of [a, b]) assert.equal(r.stderr.trim().split('\n').length, 1, show(r));
  } finally {
    await Promise.all([missing.close(), login.close()]);
  }
});

test('a database server that accepts the connection but never answers: migrate and start give up after the connect timeout', async () => {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket); // reads the start-up message and says nothing, like a host behind a stuck proxy
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const url = `postgres://resolve:${PASSWORD}@127.0.0.1:${(srv.address() as net.AddressInfo).port}/resolve`;
  try {
    const t0 = performance.now();
    const results = await Promise.all([
      run(['migrate'], { DATABASE_URL: url }),
      run(['start'], { DATABASE_URL: url }),
    ]);
    for (const r of results) {
      assertReadableFailure(
        r,
        /^resolve: cannot use the database at DATABASE_URL=postgres:\/\/resolve:\*\*\*@.*timeout/im,
      );
      assert.equal(r.stderr.trim().split('\n').length, 1, show(r));
    }
    assert.ok(performance.now() - t0 < 30_000, 'well before the test’s own timeout');
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => srv.close(resolve));
  }
});

test('on the real PostgreSQL: a missing database and an unknown role are one line naming DATABASE_URL', {
  skip: !PG_URL,
}, async () => {
  const missing = new URL(PG_URL!);
  missing.pathname = '/resolve_no_such_database';
  const role = new URL(PG_URL!);
  role.username = 'resolve_no_such_role';
  role.password = PASSWORD;
  const [a, b] = await Promise.all([
    run(['migrate'], { DATABASE_URL: missing.toString() }),
    run(['migrate'], { DATABASE_URL: role.toString() }),
  ]);
  assertReadableFailure(a, /^resolve: cannot use the database at DATABASE_URL=.*resolve_no_such_database/m);
  assertReadableFailure(b, /^resolve: cannot use the database at DATABASE_URL=.*resolve_no_such_role/m);
});

// ---- listening -----------------------------------------------------------------------------------------

test('PORT in use: one line naming PORT, and DATA_DIR is released', async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const { port } = busy.address() as net.AddressInfo;
  try {
    const r = await run(['start', '--no-seed'], { PORT: String(port) });
    assertReadableFailure(
      r,
      new RegExp(
        `^resolve: cannot listen on HOST=127\\.0\\.0\\.1 PORT=${port}: PORT ${port} is already in use`,
        'm',
      ),
    );
    assert.equal(fs.existsSync(lockFile()), false, 'the lock is released');
  } finally {
    await new Promise((resolve) => busy.close(resolve));
  }
});

test('HOST that is no address of this machine: one line naming HOST', async () => {
  const local = new Set(
    Object.values(os.networkInterfaces())
      .flat()
      .map((i) => i?.address),
  );
  const host = ['203.0.113.77', '198.51.100.77', '192.0.2.177'].find((a) => !local.has(a))!;
  const r = await run(['start', '--no-seed'], { HOST: host, PORT: '0' });
  assertReadableFailure(
    r,
    /^resolve: cannot listen on HOST=\S+ PORT=0: HOST is not an address of this machine/m,
  );
  assert.equal(fs.existsSync(lockFile()), false);
});

// ---- start-up and shutdown -----------------------------------------------------------------------------

/** Resolves once DATA_DIR is locked: the process is opening the database (signals are trapped before that). */
async function lockTaken(child: ChildProcessWithoutNullStreams, timeoutMs = 30_000): Promise<void> {
  const t0 = performance.now();
  while (!fs.existsSync(lockFile())) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before locking DATA_DIR`);
    if (performance.now() - t0 > timeoutMs) throw new Error('DATA_DIR was not locked in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

for (const [command, signal] of [
  ['start', 'SIGTERM'],
  ['worker', 'SIGINT'],
] as const) {
  test(`${signal} while \`resolve ${command}\` is starting stops it cleanly: exit 0, database closed, lock released`, async () => {
    const child = spawnCli([command, '--no-seed'].slice(0, command === 'start' ? 2 : 1), {
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    const done = finish(child, command, COMMAND_TIMEOUT_MS);
    await lockTaken(child);
    child.kill(signal);
    const r = await done;
    assert.equal(r.code, 0, show(r));
    assert.equal(r.signal, null, show(r));
    assert.doesNotMatch(r.stderr, STACK_RE, show(r));
    const logs = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { msg?: string }).msg);
    assert.ok(logs.includes('shutting down during start-up'), show(r));
    assert.ok(logs.includes('stopped'), show(r));
    assert.ok(
      !logs.includes('resolve ready') && !logs.includes('resolve worker ready'),
      'never became ready',
    );
    assert.equal(fs.existsSync(lockFile()), false, 'the lock file is gone');
  });
}

test('start --no-worker on the embedded database warns that no background jobs run; PORT=0 links name the bound port', async () => {
  const child = spawnCli(['start', '--no-seed', '--no-worker'], { PORT: '0', LOG_LEVEL: 'warn' });
  let out = '';
  child.stdout.on('data', (d: string) => {
    out += d;
  });
  const done = finish(child, 'start --no-worker', COMMAND_TIMEOUT_MS);
  const t0 = performance.now();
  while (!/API reference .*\n/.test(out)) {
    if (child.exitCode !== null) assert.fail(show(await done));
    assert.ok(performance.now() - t0 < COMMAND_TIMEOUT_MS, `not ready in time\n${out}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const port = /Portal\s+http:\/\/localhost:(\d+)\/portal/.exec(out)?.[1];
  assert.ok(port && port !== '0', `the bound port is printed\n${out}`);
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  const api = (await (await fetch(`http://127.0.0.1:${port}/docs/json`)).json()) as {
    servers: { url: string }[];
  };
  assert.deepEqual(
    api.servers,
    [{ url: `http://localhost:${port}` }],
    'the API reference names the bound port, not :0',
  );
  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 0, show(r));
  const warning = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .find((l) => /--no-worker/.test(l.msg));
  assert.ok(warning && warning.level === 40, `a warn log line about --no-worker\n${r.stdout}`);
  assert.match(warning.msg, /no background jobs run/);
  assert.match(r.stdout, /Background jobs are OFF/, 'and the banner says so');
});
