#!/usr/bin/env node
// Transpiles src/ to dist/ (one .js per .ts, no bundling) so the server starts without compiling
// TypeScript at run time. Runs on `npm install` (prepare); bin/resolve.js falls back to tsx when
// dist/ is missing or older than src/.
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

const files = walk(src);
const entries = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'));
fs.rmSync(dist, { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir: dist,
  outbase: src,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
// Non-code files the runtime reads (SQL migrations and their journal).
for (const f of files.filter((f) => !f.endsWith('.ts'))) {
  const to = path.join(dist, path.relative(src, f));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(f, to);
}
fs.writeFileSync(path.join(dist, '.build-stamp'), new Date().toISOString());
console.log(`built ${entries.length} modules into dist/`);
