import { and, type SQL, sql } from 'drizzle-orm';
import { type Db, query } from '../db/client.js';
import { claimItems, claims } from '../db/schema.js';
import {
  afterKeyset,
  type ClaimFilters,
  filterConditions,
  type Keyset,
  orderBy,
  type Sort,
  sortKeyOf,
  upToKeyset,
} from './filters.js';

/** Columns of the export, one row per claim item (a claim without items gets one row, item cells empty). */
export const CSV_COLUMNS = [
  'claim_number',
  'claim_id',
  'created_at',
  'updated_at',
  'status',
  'flow',
  'reason',
  'resolution_preference',
  'order_number',
  'order_id',
  'customer_email',
  'customer_name',
  'carrier',
  'tracking_number',
  'country',
  'shipment_phase',
  'item_sku',
  'item_title',
  'item_variant',
  'item_quantity',
  'item_unit_net_price',
  'item_net_total',
  'claim_value',
  'currency',
  'tags',
  'assignee',
  'channel',
  'language',
  'description',
] as const;

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV cell (RFC 4180). Text that a spreadsheet would run as a formula (CSV injection, OWASP: a first
 * character of = + - @ tab or CR) gets a leading apostrophe.
 */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  if (v === '') return v;
  const c = v.charCodeAt(0);
  const s = c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13 ? `'${v}` : v;
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const csvLine = (cells: (string | number | null | undefined)[]) =>
  `${cells.map(csvCell).join(',')}\r\n`;

const digitsCache = new Map<string, number>();
/** Minor-unit digits of a currency (EUR 2, JPY 0, BHD 3); 2 when the runtime does not know it. */
function minorDigits(currency: string | null): number {
  const c = currency ?? '';
  let d = digitsCache.get(c);
  if (d === undefined) {
    try {
      d = new Intl.NumberFormat('en', { style: 'currency', currency: c }).resolvedOptions()
        .maximumFractionDigits;
    } catch {
      d = 2;
    }
    digitsCache.set(c, d ?? 2);
  }
  return d ?? 2;
}

/** Integer minor units as a plain decimal in major units (`1999` EUR → `19.99`): what a spreadsheet sums. */
export function decimalAmount(minor: number | null, currency: string | null): string | null {
  if (minor === null) return null;
  const d = minorDigits(currency);
  if (d === 0) return String(minor);
  const abs = Math.abs(minor);
  const unit = 10 ** d;
  return `${minor < 0 ? '-' : ''}${Math.floor(abs / unit)}.${String(abs % unit).padStart(d, '0')}`;
}

/** An item as the batch query aggregates it: [sku, title, variant_title, quantity, unit_net_price]. */
type ExportItem = [string | null, string, string | null, number, number];

interface ExportRow {
  id: string;
  number: string;
  created_at: string;
  updated_at: string;
  status: string;
  flow: string;
  reason: string;
  resolution_preference: string | null;
  order_number: string | null;
  order_id: string;
  customer_email: string | null;
  customer_name: string | null;
  carrier: string | null;
  tracking_number: string | null;
  country_code: string | null;
  shipment_phase: string | null;
  claim_value: number;
  currency: string | null;
  tags: string;
  assignee: string | null;
  channel: string;
  language: string | null;
  description: string | null;
  sort_key: string;
  /** json: parsed by both drivers. */
  items: ExportItem[] | null;
}

const iso = (col: SQL | typeof claims.createdAt) =>
  sql`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Claims of one read: after `after` (from the start when undefined), up to `upTo` (if set), at most `limit`. */
interface Range {
  after?: Keyset;
  upTo?: Keyset;
  limit: number;
}

/** The list's conditions (same indexes) for the claims of a range. */
function rangeConditions(shopId: string, f: ClaimFilters, range: Omit<Range, 'limit'>): SQL {
  const conds = filterConditions(shopId, f);
  if (range.after) conds.push(afterKeyset(range.after));
  if (range.upTo) conds.push(upToKeyset(range.upTo));
  return and(...conds)!;
}

/**
 * One batch: the claims of the range in the sort's order, one row per claim with its items aggregated (fewer,
 * smaller rows than a join).
 */
async function fetchBatch(db: Db, shopId: string, f: ClaimFilters, sort: Sort, range: Range) {
  return query<ExportRow>(
    db,
    sql`select ${claims.id} as id, ${claims.number} as number, ${iso(claims.createdAt)} as created_at,
          ${iso(claims.updatedAt)} as updated_at, ${claims.status} as status, ${claims.flow} as flow,
          ${claims.reason} as reason, ${claims.resolutionPreference} as resolution_preference,
          ${claims.context}->>'order_number' as order_number, ${claims.orderId} as order_id,
          ${claims.customerEmail} as customer_email,
          nullif(concat_ws(' ', nullif(${claims.context}->'customer'->>'first_name', ''),
            nullif(${claims.context}->'customer'->>'last_name', '')), '') as customer_name,
          ${claims.carrier} as carrier, ${claims.context}->'shipment'->>'tracking_number' as tracking_number,
          ${claims.countryCode} as country_code, ${claims.shipmentPhase} as shipment_phase,
          ${claims.claimValue} as claim_value, ${claims.currency} as currency,
          array_to_string(${claims.tags}, ', ') as tags, ${claims.assignee} as assignee, ${claims.channel} as channel,
          ${claims.language} as language, ${claims.description} as description, ${sortKeyOf(sort)} as sort_key,
          (select json_agg(json_build_array(i.sku, i.title, i.variant_title, i.quantity, i.unit_net_price) order by i.id)
           from ${claimItems} i where i.claim_id = ${claims.id} and i.shop_id = ${shopId}) as items
        from ${claims}
        where ${rangeConditions(shopId, f, range)}
        order by ${orderBy(sort)}
        limit ${range.limit}`,
  );
}

/**
 * Where the next `count` batches of `size` claims after `after` end: the keyset of every `size`-th claim (fewer
 * when the claims run out). Reads the sort's index only: the batches between these ends can then be read side by
 * side.
 */
async function batchEnds(
  db: Db,
  shopId: string,
  f: ClaimFilters,
  sort: Sort,
  after: Keyset | undefined,
  size: number,
  count: number,
): Promise<Keyset[]> {
  const rows = await query<{ sort_key: string; id: string }>(
    db,
    sql`select s.sort_key, s.id from (
      select ${sortKeyOf(sort)} as sort_key, ${claims.id} as id, row_number() over (order by ${orderBy(sort)}) as n
      from ${claims}
      where ${rangeConditions(shopId, f, { after })}
      order by ${orderBy(sort)}
      limit ${Math.trunc(size * count)}
    ) s where s.n % ${Math.trunc(size)} = 0 order by s.n`,
  );
  return rows.map((r) => ({ sort, at: r.sort_key, id: r.id }));
}

/** The claim's CSV records (CRLF-terminated): one per item, or one with empty item cells; text via csvCell(). */
function claimLines(r: ExportRow): string {
  const c = csvCell;
  const cur = r.currency;
  const head =
    `${c(r.number)},${c(r.id)},${c(r.created_at)},${c(r.updated_at)},${c(r.status)},${c(r.flow)},${c(r.reason)},` +
    `${c(r.resolution_preference)},${c(r.order_number)},${c(r.order_id)},${c(r.customer_email)},${c(r.customer_name)},` +
    `${c(r.carrier)},${c(r.tracking_number)},${c(r.country_code)},${c(r.shipment_phase)},`;
  const tail =
    `,${decimalAmount(Number(r.claim_value), cur)},${c(cur)},${c(r.tags)},${c(r.assignee)},${c(r.channel)},` +
    `${c(r.language)},${c(r.description)}\r\n`;
  if (!r.items?.length) return `${head},,,,,${tail}`;
  let out = '';
  for (const [sku, title, variant, quantity, price] of r.items)
    out +=
      `${head}${c(sku)},${c(title)},${c(variant)},${Number(quantity)},${decimalAmount(Number(price), cur)},` +
      `${decimalAmount(Number(price) * Number(quantity), cur)}${tail}`;
  return out;
}

/** One batch as CSV records: claims read, records written, the keyset position of its last claim. */
interface TextBatch {
  claims: number;
  rows: number;
  last: Keyset | undefined;
  text: string;
}

/** Batch ends read per statement, when batches are read side by side. */
const ENDS_PER_READ = 16;
/**
 * A read between two ends takes at most this many batch sizes of claims (there is one batch size of them unless
 * claims were added since): with a limit the planner walks the sort's index, as for the list.
 */
const RANGE_LIMIT = 2;

/**
 * The reads of an export, in order, up to `parallel` of them running at once. With one at a time, each batch is
 * the next `size` claims after the previous one's last. With more, the ends of the next batches are read first
 * (batchEnds()), and each batch is the range between two ends, so several run side by side (on PostgreSQL each on
 * a connection and a core of its own). Either way the last read is the one that finds fewer than `size` claims.
 */
class BatchReader {
  private readonly running: Promise<TextBatch & { range: Range }>[] = [];
  /** Where the next read starts. */
  private after: Keyset | undefined;
  /** Known ends of the next reads, and whether more may follow the last of them. */
  private ends: Keyset[] = [];
  private moreEnds = true;
  /** The open-ended read that finds the end of the claims is running. */
  private lastStarted = false;

  constructor(
    private readonly read: (range: Range) => Promise<TextBatch>,
    private readonly readEnds: (after: Keyset | undefined) => Promise<Keyset[]>,
    private readonly size: number,
    private readonly parallel: number,
  ) {}

  /** Starts reads until `parallel` are running (or all are started). */
  async fill(): Promise<void> {
    while (this.running.length < this.parallel && !this.lastStarted) {
      if (this.parallel > 1 && !this.ends.length && this.moreEnds) {
        this.ends = await this.readEnds(this.after);
        this.moreEnds = this.ends.length === ENDS_PER_READ;
      }
      const upTo = this.ends.shift();
      this.start(
        upTo
          ? { after: this.after, upTo, limit: RANGE_LIMIT * this.size }
          : { after: this.after, limit: this.size },
      );
      if (upTo) this.after = upTo;
      else this.lastStarted = true;
    }
  }

  private start(range: Range, first = false) {
    const p = this.read(range).then((batch) => ({ ...batch, range }));
    // A read still running when the consumer gives up must not reject unobserved.
    p.catch(() => {});
    if (first) this.running.unshift(p);
    else this.running.push(p);
  }

  /** The next batch in order, or null after the last. */
  async next(): Promise<TextBatch | null> {
    const p = this.running.shift();
    if (!p) return null;
    const { range, ...batch } = await p;
    if (batch.claims === range.limit && batch.last) {
      if (range.upTo) {
        // More claims than the limit between two ends (added since the ends were read): the rest of the range
        // comes next, before the reads already running.
        this.start({ ...range, after: batch.last }, true);
      } else {
        // The open-ended read found a full batch: there are more claims after it.
        this.after = batch.last;
        this.lastStarted = false;
        this.moreEnds = true;
      }
    }
    return batch;
  }
}

export interface ExportProgress {
  batches: number;
  claims: number;
  rows: number;
}

export interface ExportOptions {
  sort: Sort;
  bom: boolean;
  /** Claims per database read. */
  batchSize: number;
  /** Batches read at the same time (default 1); each holds a database connection while it runs. */
  parallel?: number;
  /** Called once when the generator stops: `complete` false when the consumer gave up (client went away). */
  onEnd?: (p: ExportProgress, complete: boolean) => void;
}

/**
 * The CSV of a shop's claims for the filters, as text chunks (one per batch), read in keyset batches: memory
 * stays at a few batches whatever the size of the export. The next batches are read while the current one is
 * written out; when the consumer stops (the client disconnected), no further batch is read.
 */
export async function* claimsCsv(
  db: Db,
  shopId: string,
  f: ClaimFilters,
  o: ExportOptions,
): AsyncGenerator<string> {
  const progress: ExportProgress = { batches: 0, claims: 0, rows: 0 };
  const reader = new BatchReader(
    async (range) => {
      const rows = await fetchBatch(db, shopId, f, o.sort, range);
      // Formatted as soon as it arrives, while the other reads run.
      let text = '';
      let records = 0;
      for (const r of rows) {
        text += claimLines(r);
        records += r.items?.length || 1;
      }
      const last = rows[rows.length - 1];
      return {
        claims: rows.length,
        rows: records,
        last: last ? { sort: o.sort, at: last.sort_key, id: last.id } : undefined,
        text,
      };
    },
    (after) => batchEnds(db, shopId, f, o.sort, after, o.batchSize, ENDS_PER_READ),
    o.batchSize,
    Math.max(1, o.parallel ?? 1),
  );
  let complete = false;
  try {
    yield `${o.bom ? '\uFEFF' : ''}${csvLine([...CSV_COLUMNS])}`;
    await reader.fill();
    for (;;) {
      const batch = await reader.next();
      if (!batch) break;
      progress.batches++;
      progress.claims += batch.claims;
      progress.rows += batch.rows;
      // The next reads start now, so the database works on them while this batch is written out.
      await reader.fill();
      if (batch.text) yield batch.text;
    }
    complete = true;
  } finally {
    o.onEnd?.(progress, complete);
  }
}
