import { type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { Type } from 'typebox';
import { AppError } from '../lib/errors.js';

export const PageQuery = {
  page: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 100000,
      description: 'Page number (1-based); omit to page by cursor.',
    }),
  ),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  cursor: Type.Optional(
    Type.String({ maxLength: 200, description: '`next_cursor` of the previous answer.' }),
  ),
};

export interface PageRequest {
  limit: number;
  offset: number;
  after?: string;
  byPage: boolean;
  page?: number;
}

const ID_CURSOR = /^[a-z]+_[0-9a-z]{26}$/;

/**
 * Page or cursor paging from the query. A cursor is base64url text; by default an id (keyset over `id`); a
 * list with another keyset passes `validCursor` and decodes `after` itself.
 */
export function pageRequest(
  q: { page?: number; per_page?: number; cursor?: string },
  opts: { validCursor?: (decoded: string) => boolean } = {},
): PageRequest {
  const perPage = q.per_page ?? 25;
  if (q.page && q.cursor)
    throw new AppError('validation_failed', 'Use page or cursor, not both.', [
      { path: 'querystring:/cursor', message: 'not with page' },
    ]);
  let after: string | undefined;
  if (q.cursor) {
    after = Buffer.from(q.cursor, 'base64url').toString('utf8');
    if (!(opts.validCursor ?? ((v: string) => ID_CURSOR.test(v)))(after)) throw badCursor();
  }
  // One extra row tells whether there is a next page.
  return {
    limit: perPage + 1,
    offset: q.page ? (q.page - 1) * perPage : 0,
    after,
    byPage: !!q.page,
    page: q.page,
  };
}

/** Splits the fetched rows into this page and the list envelope's paging fields. */
export function splitPage<T extends { id: string }>(
  rows: T[],
  req: PageRequest,
  cursorOf: (row: T) => string = (row) => row.id,
) {
  const perPage = req.limit - 1;
  const has_more = rows.length > perPage;
  const page = has_more ? rows.slice(0, perPage) : rows;
  const last = page[page.length - 1];
  return {
    rows: page,
    has_more,
    next_cursor: has_more && last ? Buffer.from(cursorOf(last)).toString('base64url') : null,
    ...(req.byPage ? { page: req.page, per_page: perPage } : {}),
  };
}

// ------------------------------------------------------------------------------------------------ time keysets

/** A timestamp column as exact text (microseconds, UTC): a cursor must not lose precision a JS Date would drop. */
export const instantText = (col: AnyPgColumn | SQL) =>
  sql<string>`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** instantText()'s form, and a timestamp that exists (no February 30th, no year 0), as PostgreSQL will take it. */
export const isKeysetInstant = (iso: unknown): iso is string => {
  if (typeof iso !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(iso)) return false;
  const t = Date.parse(iso);
  return (
    !Number.isNaN(t) &&
    iso.slice(0, 4) !== '0000' &&
    new Date(t).toISOString().slice(0, 19) === iso.slice(0, 19)
  );
};

export const badCursor = (message = 'not a cursor from this API') =>
  new AppError('validation_failed', 'Invalid cursor.', [{ path: 'querystring:/cursor', message }]);

/**
 * A keyset cursor's JSON array of `checks.length` items, each passing its check (e.g. isKeysetInstant, an id
 * pattern); anything else is 400 `Invalid cursor.`
 */
export function cursorTuple(raw: string, checks: ((v: unknown) => boolean)[]): unknown[] {
  let parts: unknown;
  try {
    parts = JSON.parse(raw);
  } catch {
    throw badCursor();
  }
  if (!Array.isArray(parts) || parts.length !== checks.length || !checks.every((ok, i) => ok(parts[i])))
    throw badCursor();
  return parts;
}

/** A check for cursorTuple: a string matching `re`. */
export const matching = (re: RegExp) => (v: unknown) => typeof v === 'string' && re.test(v);

/**
 * The envelope of a list answered in one piece (a shop's users, keys, views: a few rows), or of one capped at
 * `limit` rows, newest first: the same `data`, `has_more` and `next_cursor` as the paged lists, so one client loop
 * reads every list. `next_cursor` is always null; `has_more` says a capped list left its oldest rows out.
 */
export const ListMeta = (limit?: number) => ({
  has_more: Type.Boolean({
    description: limit
      ? `True when there are more than ${limit}: the oldest are left out.`
      : 'Always false: the list is answered whole.',
  }),
  next_cursor: Type.Null({ description: 'Always null: there is no next page to ask for.' }),
});

/** `rows` as a list answer; with `limit`, rows were read with `limit + 1` to know whether there are more. */
export function listAnswer<T>(rows: T[], limit?: number) {
  const has_more = limit !== undefined && rows.length > limit;
  return { data: has_more ? rows.slice(0, limit) : rows, has_more, next_cursor: null };
}
