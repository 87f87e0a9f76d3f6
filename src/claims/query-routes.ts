import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import type { ReadyDeps } from '../http/context.js';
import { PageQuery, pageRequest, splitPage } from '../http/pagination.js';
import { errorResponses, StrEnum } from '../http/schema-helpers.js';
import type { Shop } from '../shops/shops.js';
import { claimAnalytics, INTERVALS, type Interval } from './analytics.js';
import { ClaimAnalytics, ClaimList, StatusCounts } from './api-schemas.js';
import { claimsCsv } from './export-csv.js';
import { type ClaimFilters, decodeKeyset, FilterProps, keysetText, type Sort, SortProp } from './filters.js';
import { countByStatus, listClaimRows } from './list.js';
import { loadClaimViews } from './read.js';

const security: { [k: string]: string[] }[] = [{ basicAuth: [] }, { bearerAuth: [] }];
const tags = ['Claims'];
const Slug = Type.Object({ slug: Type.String() });
/**
 * Claims per database read of the CSV export (~130 kB of CSV). Small batches keep the server's memory flat (the
 * rows die young); measured on 1M claims: 250 → +22 MB peak RSS, 500 → +55 MB, 2000 → +150 MB, at equal speed.
 */
export const EXPORT_BATCH = 250;
/**
 * Batches of the export read at the same time on PostgreSQL, each on a connection of its own while it runs: the
 * database's share of an export is about as large as this process's, and a second read puts it on the second core
 * (bench/claims-list.ts: 17.1 → 12.x s for 960,000 claims in process). PGlite runs one statement at a time.
 */
export const EXPORT_PARALLEL = 2;

const FILTER_KEYS = Object.keys(FilterProps) as (keyof ClaimFilters)[];
/** The filter fields of a parsed query string (paging, sort and options left out). */
export const filtersOf = (q: Record<string, unknown>): ClaimFilters =>
  Object.fromEntries(FILTER_KEYS.filter((k) => typeof q[k] === 'string').map((k) => [k, q[k]]));

const { status: _status, ...FiltersButStatus } = FilterProps;
const { created_from: _from, created_to: _to, ...FiltersButCreated } = FilterProps;

const FILTER_DOC =
  'Filters combine with AND; a comma-separated value matches any of its items. `q` searches order number, claim number and customer email (exact, or by their start) and the customer name (word starts).';

/** `YYYY-MM-DD` today in the shop's time zone (UTC if the zone is unknown). */
function shopDate(shop: Shop, now = new Date()): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: shop.timezone }).format(now);
  } catch {
    return now.toISOString().slice(0, 10);
  }
}

export function claimQueryRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  return async (plain) => {
    const app = plain as unknown as App;

    app.get(
      '/v1/shops/:slug/claims',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'List and search claims',
          description: `${FILTER_DOC} Sorted by \`sort\` (newest first by default). Page with \`cursor\` (keyset: stable under inserts, any depth) or \`page\`/\`per_page\`. The claims come without history; GET one claim for its history, order and shipment.`,
          params: Slug,
          querystring: Type.Object(
            { ...FilterProps, ...SortProp, ...PageQuery },
            { additionalProperties: false },
          ),
          response: { 200: ClaimList, ...errorResponses },
        },
      },
      async (req) => {
        const q = req.query as Record<string, unknown> & {
          sort?: Sort;
          page?: number;
          per_page?: number;
          cursor?: string;
        };
        const sort = q.sort ?? '-created_at';
        const page = pageRequest(q, { validCursor: () => true });
        const after = page.after ? decodeKeyset(page.after, sort) : undefined;
        const { rows, children } = await listClaimRows(db, req.shop.id, filtersOf(q), {
          sort,
          after,
          offset: page.offset,
          limit: page.limit,
        });
        const { rows: pageRows, ...meta } = splitPage(rows, page, (r) =>
          keysetText({ sort, at: r.sortKey, id: r.id }),
        );
        const data = await loadClaimViews(db, req.shop.id, pageRows, {
          master: deps.masterSecret,
          publicUrl: deps.config.publicUrl,
          shopSlug: req.shop.slug,
          audience: 'merchant',
          children,
        });
        return { data, ...meta };
      },
    );

    app.get(
      '/v1/shops/:slug/claims/counts',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Count claims per status',
          description: `The list's filters without \`status\`: the numbers for the status tabs of a filtered list. ${FILTER_DOC}`,
          params: Slug,
          querystring: Type.Object(FiltersButStatus, { additionalProperties: false }),
          response: { 200: StatusCounts, ...errorResponses },
        },
      },
      async (req) => countByStatus(db, req.shop.id, filtersOf(req.query as Record<string, unknown>)),
    );

    app.get(
      '/v1/shops/:slug/claims/export.csv',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Export claims as CSV',
          description: `Streams every claim matching the filters (the list's, with \`sort\`) as CSV (RFC 4180, UTF-8, CRLF), one row per claim item with the claim's columns; a claim without items gets one row. Money in major units with a \`currency\` column. Cells a spreadsheet would run as a formula (starting with = + - @, tab or CR) get a leading apostrophe. \`bom=1\` prepends a UTF-8 byte order mark (for Excel). ${FILTER_DOC}`,
          params: Slug,
          querystring: Type.Object(
            {
              ...FilterProps,
              ...SortProp,
              bom: Type.Optional(
                StrEnum(['0', '1', 'true', 'false'], { description: 'Prepend a UTF-8 BOM.' }),
              ),
            },
            { additionalProperties: false },
          ),
          response: {
            200: {
              description: 'The CSV file (`content-disposition: attachment`).',
              content: { 'text/csv': { schema: { type: 'string' } } },
            },
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const q = req.query as Record<string, unknown> & { sort?: Sort; bom?: string };
        const started = Date.now();
        const gen = claimsCsv(db, req.shop.id, filtersOf(q), {
          sort: q.sort ?? '-created_at',
          bom: q.bom === '1' || q.bom === 'true',
          batchSize: EXPORT_BATCH,
          parallel: deps.database.kind === 'postgres' ? EXPORT_PARALLEL : 1,
          onEnd: (p, complete) =>
            req.log.info(
              { ...p, complete, ms: Date.now() - started },
              complete ? 'claims export done' : 'claims export aborted',
            ),
        });
        // Header and first batch are read before anything is sent: a failing query still answers with a JSON error.
        const head = await gen.next();
        const first = await gen.next();
        async function* body() {
          yield head.value as string;
          if (first.done) return;
          yield first.value;
          yield* gen;
        }
        reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="claims-${req.shop.slug}-${shopDate(req.shop)}.csv"`,
          )
          .header('cache-control', 'no-store');
        // One chunk (one batch) buffered at most: the socket's backpressure paces the database reads.
        return reply.send(Readable.from(body(), { highWaterMark: 1 }));
      },
    );

    app.get(
      '/v1/shops/:slug/analytics/claims',
      {
        config: { auth: 'viewer' },
        schema: {
          tags: ['Analytics'],
          security,
          summary: 'Claims analytics: over time and broken down',
          description: `Claims and distinct affected orders per \`interval\` bucket in time zone \`tz\` (default: the shop's), zero-filled from \`from\` (inclusive, default 30 days before \`to\`) to \`to\` (exclusive, default now), with totals and breakdowns by flow, reason, preference, carrier, country, shipment phase, status, channel and product. Takes the list's filters too (its date range is \`from\`/\`to\`). The numbers are those of the CSV export with the same filters and \`created_from\`=\`from\`, \`created_to\`=\`to\`. At most 1,000 buckets.`,
          params: Slug,
          querystring: Type.Object(
            {
              ...FiltersButCreated,
              from: Type.Optional(Type.String({ format: 'date-time', description: 'Start (inclusive).' })),
              to: Type.Optional(Type.String({ format: 'date-time', description: 'End (exclusive).' })),
              interval: Type.Optional(StrEnum(INTERVALS, { default: 'day' })),
              tz: Type.Optional(
                Type.String({
                  maxLength: 64,
                  description: 'IANA time zone of the buckets, e.g. Europe/Berlin.',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: ClaimAnalytics, ...errorResponses },
        },
      },
      async (req) => {
        const q = req.query as Record<string, unknown> & {
          from?: string;
          to?: string;
          interval?: Interval;
          tz?: string;
        };
        const to = q.to ? new Date(q.to) : new Date();
        const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * 86_400_000);
        return claimAnalytics(db, req.shop.id, {
          filters: filtersOf(q),
          from,
          to,
          interval: q.interval ?? 'day',
          tz: q.tz ?? req.shop.timezone ?? 'UTC',
        });
      },
    );
  };
}
