#!/usr/bin/env node
// Starts the CLI from dist/ (plain JavaScript, built from src/ by `npm install`), rebuilding it first when
// src/ changed since; compiling TypeScript at run time (tsx) is the fallback. Precompiled JS starts ~2 s faster.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');

function newest(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

function fresh() {
  try {
    return fs.statSync(stamp).mtimeMs >= newest(path.join(root, 'src'));
  } catch {
    return false;
  }
}

let useDist = fresh();
if (!useDist) {
  try {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    useDist = r.status === 0 && fresh();
  } catch {
    useDist = false;
  }
}
if (useDist) {
  await import(pathToFileURL(path.join(root, 'dist', 'main.js')).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(root, 'src', 'main.ts')).href);
}
