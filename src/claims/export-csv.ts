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

/**
 * One batch: up to `limit` claims after the keyset, in the sort's order, chosen by the same conditions as the list
 * (same indexes), one row per claim with its items aggregated (fewer, smaller rows than a join).
 */
async function fetchBatch(
  db: Db,
  shopId: string,
  f: ClaimFilters,
  sort: Sort,
  after: Keyset | undefined,
  limit: number,
) {
  const conds = filterConditions(shopId, f);
  if (after) conds.push(afterKeyset(after));
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
        where ${and(...conds)}
        order by ${orderBy(sort)}
        limit ${limit}`,
  );
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
  /** Called once when the generator stops: `complete` false when the consumer gave up (client went away). */
  onEnd?: (p: ExportProgress, complete: boolean) => void;
}

/**
 * The CSV of a shop's claims for the filters, as text chunks (one per batch), read in keyset batches: memory
 * stays at about one batch whatever the size of the export. The next batch is read while the current one is
 * written out; when the consumer stops (the client disconnected), no further batch is read.
 */
export async function* claimsCsv(
  db: Db,
  shopId: string,
  f: ClaimFilters,
  o: ExportOptions,
): AsyncGenerator<string> {
  const progress: ExportProgress = { batches: 0, claims: 0, rows: 0 };
  let complete = false;
  try {
    yield `${o.bom ? '\uFEFF' : ''}${csvLine([...CSV_COLUMNS])}`;
    let pending: Promise<ExportRow[]> | null = fetchBatch(db, shopId, f, o.sort, undefined, o.batchSize);
    while (pending) {
      const rows: ExportRow[] = await pending;
      progress.batches++;
      progress.claims += rows.length;
      // The next read starts now, so the database works on it while this batch is formatted and written.
      const last = rows[rows.length - 1];
      pending =
        rows.length === o.batchSize && last
          ? fetchBatch(db, shopId, f, o.sort, { sort: o.sort, at: last.sort_key, id: last.id }, o.batchSize)
          : null;
      // A read in flight when the consumer gives up must not reject unobserved.
      pending?.catch(() => {});
      let chunk = '';
      for (const r of rows) {
        chunk += claimLines(r);
        progress.rows += r.items?.length || 1;
      }
      if (chunk) yield chunk;
    }
    complete = true;
  } finally {
    o.onEnd?.(progress, complete);
  }
}
