#!/usr/bin/env node
// `npm run build` (and `npm install`, through prepare):
//  - server: transpiles src/ to dist/ (one .js per .ts, no bundling) so the server starts without compiling
//    TypeScript at run time; bin/resolve.js falls back to tsx when dist/ is missing or older than src/.
//  - web: builds the customer page (web/resolve) and the merchant portal (web/portal), React + Vite, into
//    dist-web/<name>, with .gz twins.
// `node scripts/build.mjs server|web` builds one half; `web --if-stale` skips a web build newer than web/;
// `web --app=portal` builds one front end.
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const [what = 'all', ...flags] = process.argv.slice(2);
const flag = flags.includes('--if-stale') ? '--if-stale' : null;
// `--app=resolve` builds one front end only (tests of one app do not wait for the other).
const onlyApp = flags.find((f) => f.startsWith('--app='))?.slice(6) ?? null;

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}
const newest = (dir) =>
  fs.existsSync(dir) ? Math.max(0, ...walk(dir).map((f) => fs.statSync(f).mtimeMs)) : 0;

async function buildServer() {
  const { build } = await import('esbuild');
  const src = path.join(root, 'src');
  const dist = path.join(root, 'dist');
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
}

/** One Vite app: web/<name> → dist-web/<name>, assets under /static/<name>/, with .gz twins. */
async function buildWebApp(name) {
  const pageRoot = path.join(root, 'web', name);
  const out = path.join(root, 'dist-web', name);
  const stamp = path.join(out, '.build-stamp');
  const inputs = Math.max(newest(pageRoot), newest(path.join(root, 'web', 'shared')));
  if (flag === '--if-stale' && fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= inputs) return;
  const { build } = await import('vite');
  const { default: react } = await import('@vitejs/plugin-react');
  await build({
    root: pageRoot,
    base: `/static/${name}/`,
    configFile: false,
    logLevel: 'warn',
    plugins: [react()],
    build: { outDir: out, emptyOutDir: true, target: 'es2020', sourcemap: false, assetsInlineLimit: 0 },
  });
  const gzip = promisify(zlib.gzip);
  let js = 0;
  for (const f of walk(out).filter((f) => /\.(js|css|svg|json)$/.test(f))) {
    const gz = await gzip(fs.readFileSync(f), { level: 9 });
    fs.writeFileSync(`${f}.gz`, gz);
    if (f.endsWith('.js')) js += gz.length;
  }
  fs.writeFileSync(stamp, new Date().toISOString());
  console.log(`built web/${name} into dist-web/${name} (JavaScript ${(js / 1024).toFixed(1)} kB gzipped)`);
}

async function buildWeb() {
  for (const name of ['resolve', 'portal'])
    if ((!onlyApp || onlyApp === name) && fs.existsSync(path.join(root, 'web', name)))
      await buildWebApp(name);
}

if (what === 'all' || what === 'server') await buildServer();
if (what === 'all' || what === 'web') await buildWeb();
