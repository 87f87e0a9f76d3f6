/**
 * The process test/webhooks-crash.test.ts kills: the real app and a real worker (the production job catalogue) on
 * the database the environment names (DATA_DIR for PGlite, which only one process may open, or DATABASE_URL). It
 * owns the database, so the test drives it over HTTP; three routes exist only here, for the test:
 *   POST /test/setup  → a shop and an admin API key
 *   POST /test/burst  → `count` events, written through emitEvent() as domain changes write them
 *   GET  /test/state  → every webhook message and attempt
 * Prints `READY <port>` when it listens.
 */
import { asc, eq } from 'drizzle-orm';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { emitEvent } from '../../src/claims/events.js';
import { loadConfig } from '../../src/config.js';
import { openAndMigrate } from '../../src/db/open.js';
import { webhookAttempts, webhookMessages } from '../../src/db/schema.js';
import type { AppDeps } from '../../src/http/context.js';
import { createMetrics } from '../../src/http/metrics.js';
import { jobHandlers } from '../../src/jobs/catalog.js';
import { Worker } from '../../src/jobs/worker.js';
import { createApiKey } from '../../src/shops/api-keys.js';
import { createShop, findShopBySlug } from '../../src/shops/shops.js';

const CONCURRENCY = 8;
const config = loadConfig(process.env);
const database = await openAndMigrate(config);
const db = database.db;
const log = pino({ level: 'silent' });
const deps: AppDeps = { config, database, log, metrics: createMetrics() };
// A shorter lease than production's 60 s, so jobs the killed process held run again sooner after the restart; still
// well above a delivery job's 10 s budget, so a busy machine renews it in time (an expired lease lets a second run
// of the same job send its messages again).
const worker = new Worker({
  db,
  log,
  handlers: jobHandlers(deps),
  concurrency: CONCURRENCY,
  pollMs: 20,
  leaseMs: 15_000,
});
deps.nudgeWorker = () => worker.nudge();
const app = await buildApp(deps);

app.post('/test/setup', async () => {
  const shop =
    (await findShopBySlug(db, 'crash')) ?? (await createShop(db, { slug: 'crash', name: 'Crash' }));
  const { secret } = await createApiKey(db, { shopIds: [shop.id], role: 'admin', name: 'crash' });
  return { slug: shop.slug, key: secret };
});

app.post('/test/burst', async (req) => {
  const { count } = req.body as { count: number };
  const shop = (await findShopBySlug(db, 'crash'))!;
  const ids: string[] = [];
  for (let i = 0; i < count; i += 10) {
    await db.transaction(async (tx) => {
      for (let j = i; j < Math.min(count, i + 10); j++)
        ids.push(
          await emitEvent(tx, shop.id, 'claims/updated', `clm_burst${j}`, {
            claim_id: `clm_burst${j}`,
            n: j,
          }),
        );
    });
    worker.nudge();
  }
  return { events: ids };
});

app.get('/test/state', async () => {
  const shop = (await findShopBySlug(db, 'crash'))!;
  const messages = await db
    .select({
      id: webhookMessages.id,
      eventId: webhookMessages.eventId,
      status: webhookMessages.status,
      attemptCount: webhookMessages.attemptCount,
    })
    .from(webhookMessages)
    .where(eq(webhookMessages.shopId, shop.id))
    .orderBy(asc(webhookMessages.id));
  const attempts = await db
    .select({
      messageId: webhookAttempts.messageId,
      outcome: webhookAttempts.outcome,
      statusCode: webhookAttempts.statusCode,
      error: webhookAttempts.error,
    })
    .from(webhookAttempts)
    .where(eq(webhookAttempts.shopId, shop.id));
  return { messages, attempts, concurrency: CONCURRENCY };
});

await app.listen({ port: 0, host: '127.0.0.1' });
worker.start();
const address = app.server.address();
process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
