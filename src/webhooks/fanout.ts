import { and, eq, getTableColumns, lte, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { type Db, query } from '../db/client.js';
import { events, shops, webhookEndpoints } from '../db/schema.js';
import { newId } from '../lib/ids.js';
import { asyncCommit } from './deliver.js';
import { matchesFilter } from './endpoints.js';
import { buildEnvelopes, type EnvelopeOptions, type EventRow } from './envelope.js';
import { enqueueDeliveries, FANOUT_JOB } from './messages.js';

/**
 * One array parameter per short column (unnest), not one bind parameter per value: a hundred rows stay cheap to
 * send, parse and plan (insertRows in src/orders/upsert.ts has the measurements behind this). The bodies are the
 * exception: each event's body is one text parameter of its own, sent once however many endpoints get it, and
 * picked per row by index. Inside an array literal every `"` of a 3.6 kB JSON body had to be escaped by the driver
 * and unescaped by the server. Created and id clocks are the same: time ranges are id ranges (id-range.ts).
 */
function insertMessagesSql(bodies: number): string {
  const params = Array.from({ length: bodies }, (_, i) => `$${i + 8}`).join(', ');
  return `insert into webhook_messages (id, shop_id, endpoint_id, event_id, event_type, payload,
    next_attempt_at, created_at, updated_at)
  select u.id, $1, u.endpoint_id, u.event_id, u.event_type, b.bodies[u.body], $2::timestamptz, $2::timestamptz,
    $2::timestamptz
  from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::int[]) as u(id, endpoint_id, event_id, event_type, body)
  cross join (select array[${params}]::text[] as bodies) b
  on conflict do nothing
  returning id, endpoint_id`;
}

const dialect = new PgDialect();

/**
 * A batch's events, each by primary key (a lateral lookup per id: the plan cannot become a scan). With the ids as
 * one `id = any(…)` filter the planner chose, under fresh or missing statistics, to read every event of the shop
 * (or of the table) and test each against the whole list, per batch.
 */
const LOAD_EVENTS = dialect.sqlToQuery(
  sql`select e.* from unnest(${sql.placeholder('ids')}::text[]) as u(id)
      cross join lateral (select * from events where id = u.id limit 1) e
      where e.shop_id = ${sql.placeholder('shop_id')} order by e.id`,
);
const EVENT_COLUMNS = Object.entries(getTableColumns(events));

async function loadEvents(tx: Db, shopId: string, ids: string[]): Promise<EventRow[]> {
  const res = await tx._.session
    .prepareQuery(LOAD_EVENTS, undefined, 'webhook_load_events', false)
    .execute({ shop_id: shopId, ids });
  return (res as { rows: Record<string, unknown>[] }).rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [key, col] of EVENT_COLUMNS) {
      const v = r[col.name];
      out[key] = v === null || v === undefined ? null : col.mapFromDriverValue(v);
    }
    return out as EventRow;
  });
}

/** Events fanned out per transaction when a backlog of fan-out jobs has built up. */
export const FANOUT_BATCH = 100;

/**
 * Fan-out: each event → one message per matching enabled endpoint, queued for its first attempt (one delivery job
 * per endpoint and batch, see messages.ts).
 *
 * How every event gets here without loss: migration 0004 adds an AFTER INSERT trigger on `events` that writes a
 * `webhooks.fanout` job row in the same transaction as the event, whenever the shop has an enabled endpoint. So
 * the job exists exactly when the event does, whoever wrote it (emitEvent(), or claim creation's single-statement
 * insert), and no dispatcher has to scan the events table or guess when an open transaction might still commit.
 *
 * Batching: the job also takes over up to FANOUT_BATCH - 1 other queued fan-out jobs of the same shop and deletes
 * them, with its own row, in the transaction that writes their messages: the messages are the record, and a
 * backlog costs one transaction per hundred events instead of one job per event. A rollback restores them all.
 *
 * Idempotent: a re-run (a worker died after the commit, before completing the job) finds the messages already
 * there (unique endpoint_id + event_id) and queues nothing twice. An endpoint receives the events that happened
 * after it was created.
 */
export async function fanOutEvents(
  db: Db,
  shopId: string,
  jobId: string,
  eventId: string,
  opts: EnvelopeOptions & { asyncCommit: boolean },
): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(asyncCommit(opts.asyncCommit)); // see deliver.ts: a lost commit only means this job runs again
    // jobs_fanout_idx (the shop's queued fan-outs in run_at order): this reads the rows it takes, not the backlog.
    const more = await query<{ payload: { event_id?: unknown } }>(
      tx,
      sql`delete from jobs where id in (
            select id from jobs
            where type = ${FANOUT_JOB} and shop_id = ${shopId} and status = 'queued' and run_at <= now() and id <> ${jobId}
            order by run_at limit ${FANOUT_BATCH - 1} for update skip locked)
          returning payload`,
    );
    await tx.execute(sql`delete from jobs where id = ${jobId} and shop_id = ${shopId}`);
    const eventIds = [
      eventId,
      ...more.map((m) => m.payload?.event_id).filter((id): id is string => typeof id === 'string'),
    ];
    const batch = await loadEvents(tx, shopId, eventIds);
    if (!batch.length) return 0;
    const newest = new Date(Math.max(...batch.map((e) => e.createdAt.getTime())));
    const endpoints = await tx
      .select({
        id: webhookEndpoints.id,
        eventTypes: webhookEndpoints.eventTypes,
        createdAt: webhookEndpoints.createdAt,
      })
      .from(webhookEndpoints)
      .where(
        and(
          eq(webhookEndpoints.shopId, shopId),
          eq(webhookEndpoints.status, 'enabled'),
          lte(webhookEndpoints.createdAt, newest),
        ),
      );
    const pairs = batch.flatMap((e) =>
      endpoints
        .filter((ep) => ep.createdAt <= e.createdAt && matchesFilter(ep.eventTypes, e.type))
        .map((ep) => ({ event: e, endpointId: ep.id })),
    );
    if (!pairs.length) return 0;
    const [shop] = await tx.select().from(shops).where(eq(shops.id, shopId)).limit(1);
    if (!shop) return 0;
    const envelopes = await buildEnvelopes(
      tx,
      shop,
      batch.filter((e) => pairs.some((p) => p.event === e)),
      opts,
    );
    const sent = [...envelopes.keys()];
    const bodyOf = new Map(sent.map((id, i) => [id, i + 1]));
    const now = new Date();
    const at = now.toISOString();
    const res = await tx._.session
      .prepareQuery(
        {
          sql: insertMessagesSql(sent.length),
          params: [
            shopId,
            at,
            pairs.map(() => newId('msg')),
            pairs.map((p) => p.endpointId),
            pairs.map((p) => p.event.id),
            pairs.map((p) => p.event.type),
            pairs.map((p) => bodyOf.get(p.event.id)!),
            ...sent.map((id) => JSON.stringify(envelopes.get(id))),
          ],
        },
        undefined,
        undefined,
        false,
      )
      .execute();
    const created = (res as { rows: { id: string; endpoint_id: string }[] }).rows;
    for (const ep of endpoints) {
      const mine = created
        .filter((m) => m.endpoint_id === ep.id)
        .map((m) => ({ id: m.id, attempt: 0 }))
        .sort((x, y) => (x.id < y.id ? -1 : 1)); // event order within a batch
      await enqueueDeliveries(tx, shopId, ep.id, mine, 'event', now);
    }
    return created.length;
  });
}
