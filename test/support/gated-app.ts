import pino from 'pino';
import { buildApp } from '../../src/app.js';
import type { AppDeps } from '../../src/http/context.js';
import { createMetrics } from '../../src/http/metrics.js';
import { type TestContext, testConfig } from './app.js';
import { openTestDb } from './db.js';

/** A request held after authentication (the shop and caller are read) until the test releases it. */
export interface Gate {
  /** The request is held: everything it read before its handler is read. */
  reached: Promise<void>;
  release(): void;
}

export interface GatedContext extends TestContext {
  /** A request sent with `x-test-gate: <name>` waits at this gate (before its handler runs). */
  gate(name: string): Gate;
}

/**
 * The real app on the real database, plus gates: two writers interleave in the order the test chooses (one
 * request reads, another runs to the end, then the first writes), without timing.
 */
export async function startGatedApp(): Promise<GatedContext> {
  const database = await openTestDb();
  const deps: AppDeps = {
    config: testConfig(),
    database,
    log: pino({ level: 'silent' }),
    metrics: createMetrics(),
    lookupCounters: null,
  };
  const gates = new Map<string, { arrive(): void; released: Promise<void> }>();
  const app = await buildApp(deps);
  app.addHook('preHandler', async (req) => {
    const name = req.headers['x-test-gate'];
    const g = typeof name === 'string' ? gates.get(name) : undefined;
    if (!g) return;
    gates.delete(name as string);
    g.arrive();
    await g.released;
  });
  await app.ready();
  return {
    app,
    database,
    db: database.db,
    deps,
    gate(name) {
      let arrive!: () => void;
      let release!: () => void;
      // A request refused before its handler (auth, validation) never arrives: fail instead of waiting forever
      // (node's test runner has no default timeout).
      const reached = new Promise<void>((resolve, reject) => {
        const late = setTimeout(() => reject(new Error(`gate "${name}" not reached within 15 s`)), 15_000);
        late.unref();
        arrive = () => {
          clearTimeout(late);
          resolve();
        };
      });
      const released = new Promise<void>((r) => {
        release = r;
      });
      gates.set(name, { arrive, released });
      return { reached, release };
    },
    async close() {
      await app.close();
      await database.close();
    },
  };
}
