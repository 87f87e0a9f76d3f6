import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

export interface DirLock {
  release(): void;
}

export class DataDirLockedError extends Error {
  constructor(dir: string, pid: number, where = '') {
    super(
      `The data directory ${dir} is in use by another Resolve process (pid ${pid}${where}). ` +
        'The embedded database allows one process at a time: stop the server first, or use DATABASE_URL for PostgreSQL.',
    );
    this.name = 'DataDirLockedError';
  }
}

/**
 * Who holds a lock. `start` (clock ticks since boot, /proc/<pid>/stat field 22) and `boot` (the kernel's boot id) tell
 * a live owner from an unrelated process that got the same pid later — in a container every start is pid 1. `pidns`
 * (the PID namespace, e.g. `pid:[4026531836]`) tells whether that pid can be looked up here at all: a process in
 * another container on the same volume cannot, so its liveness is its heartbeat (the lock file's mtime). Fields are
 * null where /proc does not tell (then only the pid is compared, as lock files of older versions hold).
 */
export interface LockOwner {
  pid: number;
  start: string | null;
  boot: string | null;
  pidns: string | null;
  /** Written by an older version (a bare pid): never by this process. */
  legacy?: true;
}

/** The owner refreshes the lock file's mtime this often (from a worker thread, so a busy event loop cannot stop it)… */
export const HEARTBEAT_MS = 2_000;
/** …and a lock from another PID namespace not refreshed for this long belongs to a process that is gone. */
export const LEASE_MS = 10_000;

const LOCK_FILE = 'resolve.lock';

function readTrimmed(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks after boot); null when there is no such process or no /proc. */
export function processStartTime(pid: number): string | null {
  const stat = readTrimmed(`/proc/${pid}/stat`);
  if (!stat) return null;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from the last ")"; state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return /^\d+$/.test(fields[22 - 3] ?? '') ? fields[22 - 3] : null;
}

function pidNamespace(): string | null {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

export function currentOwner(): LockOwner {
  return {
    pid: process.pid,
    start: processStartTime(process.pid),
    boot: readTrimmed('/proc/sys/kernel/random/boot_id'),
    pidns: pidNamespace(),
  };
}

/** A lock file's owner: JSON (this version), or a bare pid (older versions). Null when unreadable. */
export function parseOwner(text: string): LockOwner | null {
  if (/^\d+$/.test(text)) return { pid: Number(text), start: null, boot: null, pidns: null, legacy: true };
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
    if (!Number.isInteger(o.pid) || (o.pid as number) <= 0) return null;
    return { pid: o.pid as number, start: str(o.start), boot: str(o.boot), pidns: str(o.pidns) };
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

type Verdict = { held: false } | { held: true; where: string };

/**
 * Whether the recorded owner is a live process. A different boot, a dead pid, or a pid now held by a process that
 * started at another time (pid reuse, our own pid included) make the lock stale.
 */
function judge(file: string, owner: LockOwner, self: LockOwner): Verdict {
  if (owner.boot && self.boot && owner.boot !== self.boot) return { held: false };
  if (owner.start && owner.pidns && self.pidns && owner.pidns !== self.pidns) return heartbeat(file);
  if (!owner.start || !self.start) {
    // An older version's lock, or no /proc: the pid is all there is to go by. An older version's lock naming our
    // own pid is not ours (this version never writes one): a container restarted after an upgrade, pid 1 both times.
    if (owner.legacy && owner.pid === process.pid) return { held: false };
    return owner.pid === process.pid || alive(owner.pid) ? { held: true, where: '' } : { held: false };
  }
  if (owner.pid === process.pid)
    return owner.start === self.start ? { held: true, where: '' } : { held: false };
  const start = processStartTime(owner.pid);
  if (start !== null) return start === owner.start ? { held: true, where: '' } : { held: false };
  // Not visible in /proc (gone, or hidden by hidepid): alive only if signal 0 still reaches it.
  return alive(owner.pid) ? { held: true, where: '' } : { held: false };
}

/**
 * The owner lives in another PID namespace (another container sharing the volume, or this container before it
 * restarted): its pid means nothing here. It is alive while it refreshes the lock's mtime; wait until the mtime moves
 * (alive) or the lease runs out (gone) — at most LEASE_MS after its last heartbeat.
 */
function heartbeat(file: string): Verdict {
  const mtime = () => {
    try {
      return fs.statSync(file).mtimeMs;
    } catch {
      return null;
    }
  };
  const first = mtime();
  const where = ', in another container or PID namespace';
  for (;;) {
    const now = mtime();
    if (now === null) return { held: false };
    if (now !== first) return { held: true, where };
    const age = Date.now() - now;
    if (age > LEASE_MS) return { held: false };
    sleepSync(Math.min(250, LEASE_MS - age + 1));
  }
}

// Runs in a worker thread: refreshes the lock's mtime while the file still names this process.
const HEARTBEAT_SOURCE = `
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
setInterval(() => {
  try {
    if (fs.readFileSync(workerData.file, 'utf8') !== workerData.content) return process.exit(0);
    const now = new Date();
    fs.utimesSync(workerData.file, now, now);
  } catch {}
}, workerData.ms);
`;

function startHeartbeat(file: string, content: string): Worker | null {
  try {
    const worker = new Worker(HEARTBEAT_SOURCE, {
      eval: true,
      workerData: { file, content, ms: HEARTBEAT_MS },
      stdout: true,
      stderr: true,
    });
    worker.on('error', () => {});
    worker.unref();
    return worker;
  } catch {
    return null;
  }
}

/** Creates `file` holding `content` only if it does not exist; the content is complete once the file is visible. */
function createExclusive(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, content, { flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      // No hard links on this file system: an exclusive create (a reader may briefly see it empty).
      try {
        fs.writeFileSync(file, content, { flag: 'wx' });
        return true;
      } catch (err2) {
        if ((err2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err2;
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * PGlite has no cross-process lock: hold an exclusive lock file naming this process so a second process fails
 * instead of corrupting data. A lock left behind by a process that is gone (kill -9, OOM, a container restart where
 * the new process has the same pid) is taken over.
 */
export function acquireDataDirLock(dir: string): DirLock {
  const file = path.join(dir, LOCK_FILE);
  const self = currentOwner();
  const content = `${JSON.stringify(self)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(file, content)) {
      const beat = self.pidns ? startHeartbeat(file, content) : null;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        void beat?.terminate();
        try {
          if (fs.readFileSync(file, 'utf8') === content) fs.unlinkSync(file);
        } catch {}
        process.off('exit', release);
      };
      process.on('exit', release);
      return { release };
    }
    const text = readTrimmed(file);
    if (text === null) {
      // Just created by another process that has not written it yet (no hard links), or just removed.
      sleepSync(50);
      if (readTrimmed(file) === null && fs.existsSync(file)) fs.rmSync(file, { force: true });
      continue;
    }
    const owner = parseOwner(text);
    if (owner) {
      const verdict = judge(file, owner, self);
      if (verdict.held) throw new DataDirLockedError(dir, owner.pid, verdict.where);
    }
    // Stale (its owner is gone) or unreadable: remove it, unless another process replaced it meanwhile.
    if (readTrimmed(file) === text) fs.rmSync(file, { force: true });
  }
  throw new Error(`Could not lock ${dir}`);
}
