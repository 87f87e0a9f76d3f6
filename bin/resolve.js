#!/usr/bin/env node
// Starts the CLI from dist/ (plain JavaScript, built from src/ by `npm install` or `npm run build`) when it is
// newer than every file in src/; otherwise it compiles TypeScript at run time through tsx.
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

// Never rebuilt here: concurrent CLI processes would race on dist/. `npm install` / `npm run build` build it.
const useDist = fresh();
if (useDist) {
  await import(pathToFileURL(path.join(root, 'dist', 'main.js')).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(root, 'src', 'main.ts')).href);
}
