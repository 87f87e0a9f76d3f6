// Workers in other processes are woken by NOTIFY when work is queued (PostgreSQL only: PGlite is one process).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { type Database, openDatabase, query } from '../src/db/client.js';
import { enqueue } from '../src/jobs/queue.js';
import { type JobsListener, jobsAnnouncer, listenForJobs } from '../src/jobs/wakeup.js';
import { Worker } from '../src/jobs/worker.js';
import { DATABASE_URL, openTestDb } from './support/db.js';

const RUN = randomBytes(4).toString('hex');
const log = pino({ level: 'silent' });
const APP_NAME = `resolve-jobs-listener-test-${RUN}`;

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('waking workers of other processes', {
  skip: !DATABASE_URL && 'PostgreSQL only (DATABASE_URL)',
}, () => {
  let workerDb: Database;
  let apiDb: Database;
  let worker: Worker;
  let listener: JobsListener;
  let wakeups = 0;
  const ran: string[] = [];
  const type = `test.wakeup.${RUN}`;

  before(async () => {
    workerDb = await openTestDb();
    // The "API process": its own pool, as another process would have.
    apiDb = await openDatabase({ databaseUrl: DATABASE_URL, dataDir: null, poolMax: 2 });
    worker = new Worker({
      db: workerDb.db,
      log,
      handlers: { [type]: async (job) => void ran.push((job.payload as { n: string }).n) },
      concurrency: 2,
      pollMs: 60_000, // asleep for the whole test unless woken
    });
    worker.start();
    listener = listenForJobs(
      DATABASE_URL!,
      () => {
        wakeups++;
        worker.nudge();
      },
      log,
      APP_NAME,
    );
    await until('the listener to connect', () => wakeups >= 1);
    // Its connect nudged the worker: let that claim pass, so the worker is really asleep when the tests begin.
    await until('the worker to sleep', () => worker.sleeping);
  });
  after(async () => {
    await listener.close();
    await worker.stop();
    await workerDb.db.execute(sql`delete from jobs where type = ${type}`);
    await apiDb.close();
    await workerDb.close();
  });

  async function queueFromApi(n: string) {
    await apiDb.db.transaction(async (tx) => {
      await enqueue(tx, type, { n });
    });
  }

  test('a job queued and announced by another process runs at once, not at the next poll', async () => {
    await queueFromApi('quiet');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(ran.length, 0, 'not announced: the worker sleeps until its next poll');
    const announce = jobsAnnouncer(apiDb, log);
    const t0 = Date.now();
    announce();
    await until('the job to run', () => ran.includes('quiet'));
    assert.ok(Date.now() - t0 < 10_000, 'woken, not at the next poll (60 s)');
    // Many announcements at once go out coalesced and still wake it.
    await queueFromApi('burst');
    for (let i = 0; i < 50; i++) announce();
    await until('the burst job to run', () => ran.includes('burst'));
  });

  test('the listener reconnects after its connection is killed, and catches up on work queued meanwhile', async () => {
    const before = wakeups;
    const killed = await query<{ ok: boolean }>(
      workerDb.db,
      sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${APP_NAME}`,
    );
    assert.equal(killed.length, 1);
    // Queued while the listener is down, never announced: the reconnect's catch-up finds it.
    await queueFromApi('while-down');
    await until('the reconnect', () => wakeups > before, 10_000);
    await until('the job queued while down to run', () => ran.includes('while-down'));
    await queueFromApi('after');
    jobsAnnouncer(apiDb, log)();
    await until('the job announced after the reconnect to run', () => ran.includes('after'));
  });
});
