/**
 * Restart time on the embedded database: spawns `node bin/resolve.js start` (exactly what `npm start` runs) on
 * a temporary DATA_DIR and times it from spawn until `GET /readyz` answers 200, then stops it with SIGTERM.
 * The first start (initdb, migrations, demo seed) is reported for information; then `--runs` restarts on the
 * now existing DATA_DIR give the median and max. See bench/README.md.
 *
 *   node --import tsx bench/startup.ts [--runs 5] [--json FILE]      (or BENCH_STARTUP_RUNS, BENCH_JSON)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: argv } = parseArgs({ options: { runs: { type: 'string' }, json: { type: 'string' } } });
const runs = Number(argv.runs ?? process.env.BENCH_STARTUP_RUNS ?? 5);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive whole number');
const jsonOut = argv.json ?? process.env.BENCH_JSON ?? null;
const TIMEOUT_MS = 90_000;
const TARGET_MS = 3000;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-bench-startup-'));
let child: ChildProcess | null = null;

function cleanup() {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    cleanup();
    process.exit(130);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface StartResult {
  /** Spawn → first 200 from /readyz. */
  ms: number;
  /** The server's own "ready in N ms" (open + migrate + seed + listen), from its first output line. */
  selfMs: number | null;
}

async function startOnce(): Promise<StartResult> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL; // the embedded database, as `npm start`
  const t0 = performance.now();
  const proc = spawn(process.execPath, ['bin/resolve.js', 'start'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`resolve start exited with ${proc.exitCode}:\n${out}`);
      if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`not ready after ${TIMEOUT_MS} ms:\n${out}`);
      if ((await readyz(port)) === 200) break;
      await sleep(10);
    }
    const ms = performance.now() - t0;
    const m = /ready in (\d+) ms/.exec(out);
    return { ms, selfMs: m ? Number(m[1]) : null };
  } finally {
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
    child = null;
  }
}

async function main() {
  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  process.stderr.write(`DATA_DIR ${dataDir}\n`);
  const first = await startOnce();
  process.stderr.write(`first start (fresh DATA_DIR): ${fmt(first.ms)}\n`);
  const restarts: StartResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await startOnce();
    restarts.push(r);
    process.stderr.write(`restart ${i + 1}/${runs}: ${fmt(r.ms)} (server's own ready in: ${r.selfMs} ms)\n`);
  }
  const sorted = restarts.map((r) => r.ms).sort((a, b) => a - b);
  const median =
    sorted.length % 2
      ? sorted[(sorted.length - 1) / 2]
      : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  const max = sorted[sorted.length - 1];
  console.log(
    [
      '',
      `date ${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} cores · embedded PGlite, \`node bin/resolve.js start\` → /readyz 200`,
      '',
      '| start | median | max | runs | target |',
      '|---|---:|---:|---:|---|',
      `| restart on an existing DATA_DIR | ${fmt(median)} | ${fmt(max)} | ${runs} | ≤ 3 s: ${max <= TARGET_MS ? 'met' : median <= TARGET_MS ? 'median met, max not' : '**not met**'} |`,
      `| first start (fresh DATA_DIR: initdb, migrate, seed) | ${fmt(first.ms)} | – | 1 | (information) |`,
    ].join('\n'),
  );
  if (jsonOut) {
    fs.writeFileSync(
      jsonOut,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          node: process.version,
          cores: os.cpus().length,
          first_start_ms: Math.round(first.ms),
          restart_ms: restarts.map((r) => Math.round(r.ms)),
          restart_self_reported_ms: restarts.map((r) => r.selfMs),
          restart_median_ms: Math.round(median),
          restart_max_ms: Math.round(max),
        },
        null,
        2,
      )}\n`,
    );
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
