import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { type Database, type Db, openDatabase, query } from '../src/db/client.js';
import { backoffMs, claimJobs, completeJob, enqueue } from '../src/jobs/queue.js';
import { type JobHandler, Worker } from '../src/jobs/worker.js';
import { DATABASE_URL, openTestDb } from './support/db.js';

// Other test files share the database on PostgreSQL: every job type here carries this run's suffix and
// every assertion counts only rows of those types.
const RUN = randomBytes(4).toString('hex');
const log = pino({ level: 'silent' });

let database: Database;
let db: Db;
before(async () => {
  database = await openTestDb();
  db = database.db;
});
after(async () => {
  await db.execute(sql`delete from jobs where type like ${`test.jobs.%.${RUN}`}`);
  await database.close();
});

function jobType(name: string): string {
  return `test.jobs.${name}.${RUN}`;
}

function worker(
  handlers: Record<string, JobHandler>,
  opts: { db?: Db; concurrency?: number; leaseMs?: number; onJobDone?: () => void } = {},
): Worker {
  return new Worker({
    db: opts.db ?? db,
    log,
    handlers,
    concurrency: opts.concurrency ?? 2,
    pollMs: 20,
    leaseMs: opts.leaseMs,
    onJobDone: opts.onJobDone,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface JobRow {
  id: string;
  status: string;
  attempts: number;
  last_error: string | null;
  finished_at: Date | string | null;
  unique_key: string | null;
  locked_by: string | null;
  /** run_at - updated_at in ms: both are set from the same now() by a failure, so this is the backoff. */
  delay_ms: number;
}

async function jobRows(type: string): Promise<JobRow[]> {
  return query<JobRow>(
    db,
    sql`select id, status, attempts, last_error, finished_at, unique_key, locked_by,
          (extract(epoch from (run_at - updated_at)) * 1000)::float8 as delay_ms
        from jobs where type = ${type} order by created_at, id`,
  );
}

async function jobRow(id: string): Promise<JobRow> {
  const rows = await query<JobRow>(
    db,
    sql`select id, status, attempts, last_error, finished_at, unique_key, locked_by,
          (extract(epoch from (run_at - updated_at)) * 1000)::float8 as delay_ms
        from jobs where id = ${id}`,
  );
  assert.equal(rows.length, 1, `job ${id} exists`);
  return rows[0];
}

/** Lets a job waiting out its backoff run now instead of in a second or more. */
async function makeDue(id: string) {
  await db.execute(sql`update jobs set run_at = now() where id = ${id} and status = 'queued'`);
}

test('a job enqueued in a rolled-back transaction never exists and never runs', async () => {
  const type = jobType('rollback');
  const seen: string[] = [];
  const w = worker({
    [type]: async (job) => {
      seen.push((job.payload as { n: string }).n);
    },
  });
  w.start();
  try {
    let rolledBackId = '';
    await assert.rejects(
      db.transaction(async (tx) => {
        rolledBackId = await enqueue(tx, type, { n: 'rolled-back' });
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    assert.match(rolledBackId, /^job_/);
    // A committed job after it: once that one has run, the worker has had every chance to see the first.
    const committedId = await db.transaction((tx) => enqueue(tx, type, { n: 'committed' }));
    w.nudge();
    await waitFor('the committed job', async () => (await jobRow(committedId)).status === 'succeeded');
    await sleep(100);
    assert.deepEqual(seen, ['committed']);
    assert.deepEqual(
      (await jobRows(type)).map((r) => r.id),
      [committedId],
    );
  } finally {
    await w.stop();
  }
});

test('committed jobs run exactly once with two workers competing', async () => {
  const type = jobType('once');
  const total = 200;
  const handled = new Map<string, number>();
  const handler: JobHandler = async (job) => {
    handled.set(job.id, (handled.get(job.id) ?? 0) + 1);
    await sleep(Math.random() * 3); // interleave the two workers' claims and completions
  };
  const ids = await db.transaction(async (tx) => {
    const out: string[] = [];
    for (let i = 0; i < total; i++) out.push(await enqueue(tx, type, { i }));
    return out;
  });
  // On PostgreSQL the second worker gets its own pool, as a second process would.
  const second = DATABASE_URL
    ? await openDatabase({ databaseUrl: DATABASE_URL, dataDir: null, poolMax: 5 })
    : null;
  const doneBy = [0, 0];
  const workers = [0, 1].map((n) =>
    worker(
      { [type]: handler },
      {
        db: n === 1 && second ? second.db : db,
        concurrency: 4,
        onJobDone: () => {
          doneBy[n]++;
        },
      },
    ),
  );
  for (const w of workers) w.start();
  try {
    await waitFor(
      'all jobs to succeed',
      async () => {
        const rows = await query<{ n: number }>(
          db,
          sql`select count(*)::int as n from jobs where type = ${type} and status = 'succeeded'`,
        );
        return Number(rows[0].n) === total;
      },
      60_000,
    );
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await second?.close();
  }
  assert.equal(handled.size, total);
  for (const id of ids) assert.equal(handled.get(id), 1, `job ${id} handled once`);
  const rows = await jobRows(type);
  assert.equal(rows.length, total);
  for (const r of rows) {
    assert.equal(r.status, 'succeeded');
    assert.equal(r.attempts, 1, `job ${r.id} claimed once`);
  }
  assert.equal(doneBy[0] + doneBy[1], total);
  assert.ok(doneBy[0] > 0 && doneBy[1] > 0, `both workers ran jobs: ${doneBy.join(' / ')}`);
});

test('a failing job is retried with backoff, then parked as failed', async () => {
  const type = jobType('fail');
  let calls = 0;
  let outcomes: string[] = [];
  const w = worker(
    {
      [type]: async () => {
        calls++;
        throw new Error(`boom ${calls}`);
      },
    },
    { onJobDone: () => outcomes.push('done') },
  );
  const id = await enqueue(db, type, {}, { maxAttempts: 3, uniqueKey: `fail-${RUN}` });
  w.start();
  try {
    for (const attempt of [1, 2]) {
      await waitFor(`attempt ${attempt}`, () => outcomes.length === attempt);
      const row = await jobRow(id);
      assert.equal(row.status, 'queued');
      assert.equal(row.attempts, attempt);
      assert.equal(row.last_error, `boom ${attempt}`);
      assert.equal(row.finished_at, null);
      assert.equal(row.locked_by, null);
      assert.equal(row.unique_key, `fail-${RUN}`, 'a retrying job keeps its unique key');
      const base = 1000 * 2 ** (attempt - 1);
      assert.ok(
        row.delay_ms >= base / 2 - 1 && row.delay_ms <= base + 1,
        `attempt ${attempt}: run_at pushed ${row.delay_ms} ms, expected ${base / 2}..${base}`,
      );
      // Still waiting out its backoff: a claim now must not get it.
      assert.deepEqual(await claimJobs(db, `probe-${RUN}`, 10, 1000, [type]), []);
      assert.equal(calls, attempt);
      await makeDue(id);
      w.nudge();
    }
    await waitFor('attempt 3', () => outcomes.length === 3);
    const row = await jobRow(id);
    assert.equal(row.status, 'failed');
    assert.equal(row.attempts, 3);
    assert.equal(row.last_error, 'boom 3');
    assert.notEqual(row.finished_at, null);
    assert.equal(row.unique_key, null, 'a parked job frees its unique key');
    // Parked for good: neither the running worker nor a direct claim picks it up again.
    outcomes = [];
    await db.execute(sql`update jobs set run_at = now() - interval '1 minute' where id = ${id}`);
    w.nudge();
    await sleep(150);
    const claimed = await claimJobs(db, `probe-${RUN}`, 10, 1000, [type]);
    assert.deepEqual(claimed, []);
    assert.equal(calls, 3);
    assert.equal((await jobRow(id)).attempts, 3);
  } finally {
    await w.stop();
  }
});

test('a job that fails once and then succeeds ends succeeded after two attempts', async () => {
  const type = jobType('flaky');
  let calls = 0;
  const w = worker({
    [type]: async () => {
      calls++;
      if (calls === 1) throw new Error('transient');
    },
  });
  const id = await enqueue(db, type, {}, { maxAttempts: 3 });
  w.start();
  try {
    await waitFor('the first failure', async () => (await jobRow(id)).last_error === 'transient');
    assert.equal((await jobRow(id)).status, 'queued');
    await makeDue(id);
    w.nudge();
    await waitFor('success', async () => (await jobRow(id)).status === 'succeeded');
  } finally {
    await w.stop();
  }
  const row = await jobRow(id);
  assert.equal(row.attempts, 2);
  assert.equal(calls, 2);
  assert.notEqual(row.finished_at, null);
});

test('a job whose worker died runs again after the lease expires; the late completion is refused', async () => {
  const type = jobType('lease');
  const id = await enqueue(db, type, { n: 1 });
  const dead = `dead-${RUN}`;
  const leaseMs = 600;
  const claimed = await claimJobs(db, dead, 5, leaseMs, [type]);
  assert.deepEqual(
    claimed.map((j) => [j.id, j.attempts]),
    [[id, 1]],
  );
  const runs: string[] = [];
  const w = worker({
    [type]: async (job) => {
      runs.push(job.id);
    },
  });
  w.start();
  try {
    await sleep(leaseMs / 3);
    assert.deepEqual(runs, [], 'not taken while the lease holds');
    assert.equal((await jobRow(id)).locked_by, dead);
    await waitFor('the job to run again', async () => (await jobRow(id)).status === 'succeeded');
  } finally {
    await w.stop();
  }
  assert.deepEqual(runs, [id]);
  assert.equal((await jobRow(id)).attempts, 2);
  assert.equal(await completeJob(db, id, dead), false);
  const row = await jobRow(id);
  assert.equal(row.status, 'succeeded');
  assert.equal(row.attempts, 2);
});

test('a unique key allows one live job and is free again once it succeeded', async () => {
  const type = jobType('unique');
  const key = `unique-${RUN}`;
  const first = await enqueue(db, type, { n: 1 }, { uniqueKey: key });
  const second = await db.transaction((tx) => enqueue(tx, type, { n: 2 }, { uniqueKey: key }));
  assert.equal(second, first, 'the second enqueue reports the live job');
  let rows = await jobRows(type);
  assert.deepEqual(
    rows.map((r) => [r.id, r.unique_key]),
    [[first, key]],
  );
  const payloads: number[] = [];
  const w = worker({
    [type]: async (job) => {
      payloads.push((job.payload as { n: number }).n);
    },
  });
  w.start();
  try {
    await waitFor('the job to succeed', async () => (await jobRow(first)).status === 'succeeded');
    assert.equal((await jobRow(first)).unique_key, null);
    const third = await enqueue(db, type, { n: 3 }, { uniqueKey: key });
    assert.notEqual(third, first);
    w.nudge();
    await waitFor('the new job to succeed', async () => (await jobRow(third)).status === 'succeeded');
    rows = await jobRows(type);
    assert.deepEqual(
      rows.map((r) => r.id),
      [first, third],
    );
  } finally {
    await w.stop();
  }
  assert.deepEqual(payloads, [1, 3]);
});

test('stop() waits for the job in flight and claims nothing more', async () => {
  const type = jobType('drain');
  let started = false;
  let finished = false;
  const w = worker({
    [type]: async () => {
      started = true;
      await sleep(300);
      finished = true;
    },
  });
  const id = await enqueue(db, type, {});
  w.start();
  try {
    await waitFor('the handler to start', () => started);
  } finally {
    await w.stop();
  }
  assert.equal(finished, true, 'the handler resolved before stop() did');
  assert.equal((await jobRow(id)).status, 'succeeded', 'and its completion was recorded');
  const later = await enqueue(db, type, {});
  await sleep(100);
  assert.equal((await jobRow(later)).status, 'queued', 'a stopped worker claims nothing');
});

test('backoffMs grows exponentially with jitter in [base/2, base], capped at one hour', () => {
  const low = () => 0;
  const high = () => 1;
  for (let attempt = 1; attempt <= 12; attempt++) {
    const base = 1000 * 2 ** (attempt - 1);
    assert.equal(backoffMs(attempt, low), base / 2, `attempt ${attempt} low`);
    assert.equal(backoffMs(attempt, high), base, `attempt ${attempt} high`);
    assert.equal(
      backoffMs(attempt, () => 0.5),
      (base * 3) / 4,
    );
    for (let i = 0; i < 50; i++) {
      const d = backoffMs(attempt);
      assert.ok(d >= base / 2 && d <= base, `attempt ${attempt}: ${d}`);
    }
  }
  const hour = 3_600_000;
  for (const attempt of [13, 14, 20, 100, 5000]) {
    assert.equal(backoffMs(attempt, high), hour, `attempt ${attempt} is capped`);
    assert.equal(backoffMs(attempt, low), hour / 2);
  }
  assert.equal(backoffMs(0, high), 1000, 'attempt 0 is treated as the first');
});

test('a nudge that arrives while the worker is claiming is not lost: the worker claims again instead of sleeping', async () => {
  const type = jobType('nudge-while-claiming');
  const ran: string[] = [];
  // Holds the worker's claim statement (the update that marks jobs running) after it has run and before the loop
  // sees its answer: the window in which a job can be committed and announced after that statement looked.
  let hold: { reached: () => void; release: Promise<void> } | null = null;
  const heldDb = new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== 'execute') return Reflect.get(target, prop, receiver);
      return async (statement: Parameters<Db['execute']>[0]) => {
        const result = await target.execute(statement);
        const text = JSON.stringify(statement);
        if (hold && text.includes("set status = 'running'")) {
          const h = hold;
          hold = null;
          h.reached();
          await h.release;
        }
        return result;
      };
    },
  });
  const w = new Worker({
    db: heldDb as Db,
    log,
    handlers: { [type]: async (job) => void ran.push((job.payload as { n: string }).n) },
    concurrency: 2,
    pollMs: 60_000, // asleep for the whole test unless nudged
  });
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  const reached = new Promise<void>((r) => {
    hold = { reached: r, release: released };
  });
  w.start();
  try {
    await reached; // the first claim has run and found nothing
    await db.transaction(async (tx) => {
      await enqueue(tx, type, { n: 'announced-mid-claim' });
    });
    w.nudge(); // the announcement, while the loop is still inside its claim
    release();
    await waitFor('the job announced mid-claim to run', () => ran.includes('announced-mid-claim'), 5_000);
  } finally {
    release();
    await w.stop();
  }
});
