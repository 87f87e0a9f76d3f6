#!/usr/bin/env node
// `npm test`: formatter + linter, type check, then every *.test.ts through node's test runner.
// Node 20 does not expand globs, so the file list is built here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const run = (cmd, args, env = {}) =>
  spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;

function findTests(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') out.push(...findTests(p));
    else if (entry.name.endsWith('.test.ts')) out.push(path.relative(root, p));
  }
  return out.sort();
}

const only = process.argv.slice(2);
if (!only.length) {
  console.log('> biome check');
  const dirs = ['src', 'test', 'bench', 'scripts', 'bin', 'web'].filter((d) =>
    fs.existsSync(path.join(root, d)),
  );
  if (run(bin('biome'), ['check', ...dirs]) !== 0) process.exit(1);
  console.log('> tsc --noEmit');
  if (run(bin('tsc'), ['--noEmit']) !== 0) process.exit(1);
  console.log('> tsc --noEmit -p web');
  if (run(bin('tsc'), ['--noEmit', '-p', 'web']) !== 0) process.exit(1);
}
// The browser tests drive the built customer page: rebuild it when web/ changed since the last build.
if (run(process.execPath, [path.join(root, 'scripts', 'build.mjs'), 'web', '--if-stale']) !== 0)
  process.exit(1);
const files = only.length
  ? only
  : [...findTests(path.join(root, 'src')), ...findTests(path.join(root, 'test'))];
console.log(
  `> node --test (${files.length} files, database: ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite'})`,
);
process.exit(run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files]));
