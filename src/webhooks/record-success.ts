import type { Db } from '../db/client.js';

/** One successful attempt, as a delivery job hands it over to be recorded. */
export interface SuccessRecord {
  shopId: string;
  messageId: string;
  /** The message's attempt count when it was sent (the record applies only if it is still that). */
  attempt: number;
  /** The schedule step the message is at after this attempt. */
  step: number;
  startedAt: Date;
  now: Date;
  statusCode: number | null;
  attemptId: string;
  endpointId: string;
  trigger: string;
  url: string;
  durationMs: number;
  excerpt: string | null;
  /** Set on the batch's last message: the job row goes with its record. */
  jobId: string | null;
  /** Whether the endpoint's failure streak may need clearing (see deliverBatch). */
  clearStreak: boolean;
}

/**
 * Records successful attempts, many per statement. Each delivery job waits for its message's record before it
 * sends the next (so a worker that dies re-sends at most the message each job had in flight, as before), but the
 * records of the 32 jobs running at once share round trips: while one statement runs the next records queue up,
 * and they go together as one statement of array parameters. Measured with bench/webhooks.ts, a statement per
 * delivery was about half of PostgreSQL's CPU per delivery and a third of this process's.
 *
 * The statement is atomic: each message is done (only if still pending at the attempt it was sent at), its attempt
 * logged, the endpoints' failure streaks cleared (the row written at most once a minute: it is hot), the finished
 * jobs' rows deleted; on PostgreSQL without waiting for the WAL flush (asyncCommit in deliver.ts says why that is
 * safe). A message never appears twice in one statement (a duplicate waits for the next one).
 *
 * Every table is reached through its primary key with `id = any(array)` (a unique index: the planner knows it
 * gets at most one row per id) and only then joined with the records. The statement is planned on each run with
 * its arrays in hand (an unnamed statement): as a named prepared statement PostgreSQL switched to a generic plan
 * after five runs, and that plan, blind to the arrays' sizes, cost ~3× the CPU (bench/webhooks.ts: ~1,100 →
 * ~1,800 deliveries/s).
 */
export class SuccessRecorder {
  private queue: { rec: SuccessRecord; resolve: (ok: boolean) => void; reject: (err: unknown) => void }[] =
    [];
  private running = false;
  private readonly sql: string;

  constructor(
    private readonly db: Db,
    asyncCommit: boolean,
    private readonly maxBatch = 200,
  ) {
    this.sql = recordSql(asyncCommit);
  }

  /** Resolves true when recorded, false when the message had moved on (recorded by another attempt). */
  record(rec: SuccessRecord): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ rec, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain() {
    while (this.queue.length) {
      const batch: typeof this.queue = [];
      const later: typeof this.queue = [];
      const seen = new Set<string>();
      for (const item of this.queue) {
        if (batch.length < this.maxBatch && !seen.has(item.rec.messageId)) {
          seen.add(item.rec.messageId);
          batch.push(item);
        } else later.push(item);
      }
      this.queue = later;
      try {
        const recorded = await this.run(batch.map((b) => b.rec));
        for (const b of batch) b.resolve(recorded.has(b.rec.messageId));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running = false;
  }

  private async run(recs: SuccessRecord[]): Promise<Set<string>> {
    const col = <T>(f: (r: SuccessRecord) => T) => recs.map(f);
    const params = [
      col((r) => r.shopId),
      col((r) => r.messageId),
      col((r) => r.attempt),
      col((r) => r.step),
      col((r) => r.startedAt.toISOString()),
      col((r) => r.now.toISOString()),
      col((r) => r.statusCode),
      col((r) => r.attemptId),
      col((r) => r.endpointId),
      col((r) => r.trigger),
      col((r) => r.url),
      col((r) => r.durationMs),
      col((r) => r.excerpt),
      col((r) => r.jobId),
      col((r) => r.clearStreak),
    ];
    const res = await this.db._.session
      .prepareQuery({ sql: this.sql, params }, undefined, undefined, false)
      .execute();
    const rows = (res as { rows: { id: string | null }[] }).rows;
    return new Set(rows.flatMap((r) => (r.id ? [r.id] : [])));
  }
}

function recordSql(asyncCommit: boolean): string {
  return `with r as (
    select * from unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::timestamptz[], $6::timestamptz[],
      $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::text[], $14::text[], $15::bool[])
      as r(shop_id, message_id, attempt, step, started_at, now, status_code, attempt_id, endpoint_id, trig, url,
        duration_ms, excerpt, job_id, clear_streak)),
  m as (
    update webhook_messages w set status = 'succeeded', attempt_count = w.attempt_count + 1, schedule_step = r.step,
      next_attempt_at = null, last_attempt_at = r.started_at, last_status_code = r.status_code, last_error = null,
      delivered_at = r.now, updated_at = r.now
    from r
    where w.id = any($2::text[]) and w.id = r.message_id and w.shop_id = r.shop_id and w.attempt_count = r.attempt
      and w.status = 'pending'
    returning w.id),
  a as (
    insert into webhook_attempts (id, shop_id, message_id, endpoint_id, attempt_number, trigger, url, started_at,
      duration_ms, status_code, outcome, response_excerpt)
    select r.attempt_id, r.shop_id, r.message_id, r.endpoint_id, r.attempt + 1, r.trig, r.url, r.started_at,
      r.duration_ms, r.status_code, 'succeeded', r.excerpt
    from r join m on m.id = r.message_id
    returning 1),
  e as (
    update webhook_endpoints ep set failing_since = null, last_success_at = x.now
    from (select r.shop_id, r.endpoint_id, max(r.now) as now from r join m on m.id = r.message_id
          where r.clear_streak group by r.shop_id, r.endpoint_id) x
    where ep.id = any($9::text[]) and ep.shop_id = x.shop_id and ep.id = x.endpoint_id
      and (ep.failing_since is not null or ep.last_success_at is null
           or ep.last_success_at < x.now - interval '1 minute')
    returning 1),
  j as (
    delete from jobs using r where jobs.id = any($14::text[]) and jobs.id = r.job_id and jobs.shop_id = r.shop_id
    returning 1)${
      asyncCommit
        ? `,
  s as (select set_config('synchronous_commit', 'off', true) as mode)`
        : ''
    }
  select m.id from m${
    asyncCommit
      ? `
  union all select null from s`
      : ''
  }`;
}
