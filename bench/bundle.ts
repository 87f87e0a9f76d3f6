// The customer page's weight as a phone downloads it: every built asset gzipped at level 9 (what the server
// sends to browsers that accept gzip), the main bundle, each language chunk, and the first load in English
// and in another language. Target (issue 4): all JavaScript ≤ 120 kB gzipped.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const root = path.resolve(import.meta.dirname, '..');
const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), 'web'], {
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(1);
const assets = path.join(root, 'dist-web', 'resolve', 'assets');
const files = fs.readdirSync(assets).filter((f) => /\.(js|css)$/.test(f));
const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
const rows = files.map((f) => {
  const raw = fs.readFileSync(path.join(assets, f));
  return { file: f, raw: raw.length, gz: zlib.gzipSync(raw, { level: 9 }).length };
});
const main = rows.find((r) => /^index-.*\.js$/.test(r.file));
const css = rows.find((r) => r.file.endsWith('.css'));
const langs = rows.filter((r) => /^[a-z]{2}-.*\.js$/.test(r.file));
const js = rows.filter((r) => r.file.endsWith('.js'));
console.log('| asset | raw | gzipped |\n|---|---|---|');
for (const r of rows.sort((a, b) => b.gz - a.gz)) console.log(`| ${r.file} | ${kb(r.raw)} | ${kb(r.gz)} |`);
const totalJs = js.reduce((n, r) => n + r.gz, 0);
const biggestLang = Math.max(0, ...langs.map((r) => r.gz));
console.log(
  `\nall JavaScript: ${kb(totalJs)} gzipped (target ≤ 120 kB) → ${totalJs <= 120 * 1024 ? 'met' : 'NOT met'}`,
);
console.log(
  `first load, English: ${kb((main?.gz ?? 0) + (css?.gz ?? 0))} (JS ${kb(main?.gz ?? 0)} + CSS ${kb(css?.gz ?? 0)})`,
);
console.log(`first load, another language: at most ${kb((main?.gz ?? 0) + (css?.gz ?? 0) + biggestLang)}`);
