import { and, eq, gte, inArray, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { Type } from 'typebox';
import { claims } from '../db/schema.js';
import { badCursor, cursorTuple, instantText, isKeysetInstant, matching } from '../http/pagination.js';
import { StrEnum } from '../http/schema-helpers.js';
import { normalizeOrderNumber } from '../orders/document.js';
import { PHASES } from '../orders/phase.js';
import { FLOWS, RESOLUTIONS } from '../resolve/settings.js';
import { CLAIM_STATUSES } from './status.js';

export const CHANNELS = ['zip', 'token', 'api', 'portal'] as const;
/** Matches claims without a value (no single shipment, no preference, …) in the filters that allow it. */
export const NONE = 'none';
export const UNASSIGNED = 'unassigned';
const MAX_VALUES = 50;

/**
 * A comma-separated list of up to 50 items, each one of `item`'s values, or matching `item` (a regex without
 * anchors) and worded by `each` in the error message.
 */
const list = (
  item: readonly string[] | { re: string; each: string },
  description: string,
  examples: string[],
) =>
  Type.Optional(
    Type.String({
      pattern: `^(${'re' in item ? item.re : item.join('|')})(,(${'re' in item ? item.re : item.join('|')})){0,${MAX_VALUES - 1}}$`,
      patternMessage:
        're' in item
          ? `must be up to ${MAX_VALUES} comma-separated values, each ${item.each}`
          : `must be up to ${MAX_VALUES} comma-separated values of: ${item.join(', ')}`,
      maxLength: 4000,
      description: `${description} Comma-separated, any of (at most ${MAX_VALUES}).`,
      examples,
    }),
  );

/**
 * The claims list's filters (SPEC §7), shared by the list, counts, export, analytics and saved views. Every
 * value is a string, so the same schema validates a query string and a saved view's JSON.
 */
export const FilterProps = {
  status: list(CLAIM_STATUSES, 'Status.', ['pending,accepted']),
  flow: list(FLOWS, 'Flow.', ['not_received,defective']),
  reason: list(
    {
      re: `(?:(?:${FLOWS.join('|')}):)?[a-z0-9_]{1,64}`,
      each: 'a reason code, or flow:code for one flow’s reason',
    },
    'Reason code (as configured per flow), in any flow; `flow:code` (e.g. `return:other`) for the reason of one flow.',
    ['broken_on_arrival', 'return:other'],
  ),
  carrier: list(
    { re: '[^,]{1,100}', each: '1 to 100 characters' },
    'Carrier of the claimed shipment at submission, case-insensitive; `none` = no single shipment.',
    ['dhl,ups'],
  ),
  country: list(
    { re: `[A-Za-z]{2}|${NONE}`, each: `a two-letter country code or ${NONE}` },
    'Shipping country (ISO 3166-1 alpha-2) at submission; `none` = no address.',
    ['DE,AT'],
  ),
  shipment_phase: list(
    [...PHASES, NONE],
    'Phase of the claimed shipment at submission; `none` = no single shipment.',
    ['delivered'],
  ),
  resolution_preference: list([...RESOLUTIONS, NONE], 'Resolution the customer prefers.', ['refund']),
  tag: list({ re: '[^,]{1,100}', each: '1 to 100 characters' }, 'Tag (exact).', ['vip']),
  assignee: list(
    { re: '[^,]{1,320}', each: 'an email address or unassigned' },
    `Assignee (exact); \`${UNASSIGNED}\` = nobody.`,
    ['agent@shop.example,unassigned'],
  ),
  channel: list(CHANNELS, 'Where the claim was taken.', ['zip,token']),
  order_id: Type.Optional(
    Type.String({ maxLength: 255, description: 'The order: its Resolve id (`ord_…`) or its `external_id`.' }),
  ),
  created_from: Type.Optional(
    Type.String({ format: 'date-time', description: 'Created at or after (inclusive).' }),
  ),
  created_to: Type.Optional(Type.String({ format: 'date-time', description: 'Created before (exclusive).' })),
  q: Type.Optional(
    Type.String({
      maxLength: 320,
      description:
        'Search, case ignored; any of: order number (a leading `#` ignored), claim number (`R-1042`, `r1042`, `1042`) or customer email, each exactly or by its start (`#10` finds 1001…1099, `R-10`, `anna@`; an email prefix without spaces); and, when its words have no digits or `@`, the customer name of the order: every word starts a word of the first or last name (`ann sch` finds Anna Schmidt; accents and `-` ignored). A term of one character (`#1`, `a`) matches exactly only. `%`, `_` and `\\` are literal.',
      examples: ['#1001'],
    }),
  ),
};

export const SORTS = ['-created_at', 'created_at', '-updated_at', 'updated_at'] as const;
export type Sort = (typeof SORTS)[number];
export const SortProp = {
  sort: Type.Optional(
    StrEnum(SORTS, {
      description:
        'Order (default `-created_at`, newest first); `-` = descending, ties by id. The `cursor` of one sort is not valid for another.',
    }),
  ),
};

export type ClaimFilters = { [K in keyof typeof FilterProps]?: string };

/** The saved-view/query object: filters and sort, nothing about paging. */
export const ViewQuery = Type.Object(
  { ...FilterProps, ...SortProp },
  { additionalProperties: false, description: 'Filters and sort of the claims list (its query parameters).' },
);

const values = (s: string) => [...new Set(s.split(',').map((v) => v.trim()))].filter(Boolean);

/** `col = any(values)`, where the `none` token (when allowed) also matches NULL. */
function anyOf(col: PgColumn, vals: string[], nullToken?: string): SQL {
  const nulls = nullToken !== undefined && vals.includes(nullToken);
  const rest = vals.filter((v) => v !== nullToken);
  const parts = [rest.length ? inArray(col, rest) : undefined, nulls ? isNull(col) : undefined];
  return or(...parts.filter((p): p is SQL => !!p))!;
}

/** Reasons by code in any flow (`other`), or of one flow (`return:other`): a code alone is not unique. */
function reasonCondition(vals: string[]): SQL {
  const plain = vals.filter((v) => !v.includes(':'));
  const qualified = vals.filter((v) => v.includes(':')).map((v) => v.split(':') as [string, string]);
  const parts: SQL[] = [];
  if (plain.length) parts.push(inArray(claims.reason, plain));
  for (const [flow, code] of qualified) parts.push(and(eq(claims.flow, flow), eq(claims.reason, code))!);
  return or(...parts)!;
}

/** A term shorter than this matches exactly only: a one-character prefix would match most of a shop's claims. */
const MIN_PREFIX = 2;
/** A q of more words than this is no name. */
const MAX_NAME_WORDS = 8;

/** `s` as a LIKE pattern matching itself literally (backslash is LIKE's default escape). */
export const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

/** Lower-cased, `ß` as `ss`, accents off (`ü` → `u`, `ø` → `o`): how the name search compares letters. */
const foldLetters = (s: string) =>
  s
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[øłđ]/g, (c) => ({ ø: 'o', ł: 'l', đ: 'd' })[c] ?? c);

/** A search value, matched whole or, when `prefix`, as the start of the column. */
export interface SearchTerm {
  value: string;
  prefix: boolean;
}

/**
 * What a search string may mean; every interpretation that fits is tried (OR). A value of MIN_PREFIX or more
 * characters also matches as a prefix (which includes the exact match): the order number as the lookup normalises
 * it, the claim number's digits, the email (q without spaces; with spaces only a whole address, spaces dropped).
 * Words without digits or `@` are also a name: each must start a word of the customer's first or last name.
 */
export function searchTerms(q: string) {
  const compact = q.replace(/\s+/g, '');
  const words = q.trim().split(/\s+/).filter(Boolean);
  const order = normalizeOrderNumber(q);
  const claimNo = /^#?(?:r-?)?0*(\d{1,15})$/i.exec(compact);
  const email = compact.toLowerCase();
  const emailPrefix = words.length === 1 && email.length >= MIN_PREFIX;
  const nameWords = words.map(foldLetters);
  const isName =
    compact.length >= MIN_PREFIX &&
    words.length <= MAX_NAME_WORDS &&
    nameWords.every((w) => /\p{L}/u.test(w) && !/[\d@]/.test(w));
  return {
    orderNumber: order ? { value: order, prefix: order.length >= MIN_PREFIX } : null,
    claimNumber: claimNo ? { value: `R-${claimNo[1]}`, prefix: claimNo[1].length >= MIN_PREFIX } : null,
    email: compact.includes('@') || emailPrefix ? { value: email, prefix: emailPrefix } : null,
    nameWords: isName ? nameWords : null,
  } satisfies Record<string, SearchTerm | string[] | null>;
}

/** Each Latin letter with accents → its accented forms, both cases (`u` → `ÙÚÛÜùúûü…`). */
const ACCENTED = (() => {
  const out = new Map<string, string>([
    ['o', 'Øø'],
    ['l', 'Łł'],
    ['d', 'Đđ'],
  ]);
  for (let cp = 0xc0; cp <= 0x17f; cp++) {
    const ch = String.fromCodePoint(cp);
    const base = ch.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
    if (/^[a-z]$/.test(base)) out.set(base, (out.get(base) ?? '') + ch);
  }
  return out;
})();

/**
 * The order's customer name as `word` (folded by foldLetters) compares with it: ` first last`, lower-cased, `-` as
 * a space; when it is not plain ASCII, also `ß` as `ss` and the accented forms of the word's letters as those
 * letters. Only the word's letters, because translate() costs per character of its map; an ASCII name (most)
 * skips it.
 */
function foldedName(word: string): SQL {
  const name = sql`(' ' || coalesce(so.customer_first_name, '') || ' ' || coalesce(so.customer_last_name, ''))`;
  let from = '-';
  let to = ' ';
  for (const c of new Set(word)) {
    const forms = ACCENTED.get(c) ?? '';
    from += forms;
    to += c.repeat(forms.length);
  }
  const lower = sql`lower(${name})`;
  const wide = word.includes('ss') ? sql`replace(${lower}, 'ß', 'ss')` : lower;
  return sql`(case when octet_length(${name}) = length(${name}) then replace(${lower}, '-', ' ')
    else translate(${wide}, ${from}, ${to}) end)`;
}

/**
 * Claims whose order's customer name has a word (after a space or a hyphen) starting with each of `words`: read
 * through the order, so the name is the order's current one, in the tenant. The order ids are collected once (an
 * initplan over the shop's orders) and looked up in claims_shop_order_idx.
 */
function nameCondition(shopId: string, words: string[]): SQL {
  const each = words.map((w) => sql`${foldedName(w)} like ${`% ${escapeLike(w.replace(/-/g, ' '))}%`}`);
  return sql`${claims.orderId} = any(array(select so.id from orders so where so.shop_id = ${shopId}
    and ${sql.join(each, sql` and `)}))`;
}

/** `col` equal to the term, or starting with it. */
const matches = (col: PgColumn, t: SearchTerm | null) =>
  !t ? undefined : t.prefix ? sql`${col} like ${`${escapeLike(t.value)}%`}` : eq(col, t.value);

/**
 * The search: any interpretation of `q` (searchTerms). Each is an index read led by the shop (text_pattern_ops
 * indexes serve `=` and the prefix `like`), so the planner can OR them as bitmaps instead of scanning the shop.
 */
function searchCondition(shopId: string, q: string): SQL {
  const t = searchTerms(q);
  const any = [
    matches(claims.orderNumberNorm, t.orderNumber),
    matches(claims.number, t.claimNumber),
    matches(claims.customerEmail, t.email),
    t.nameWords ? nameCondition(shopId, t.nameWords) : undefined,
  ].filter((x): x is SQL => !!x);
  return any.length ? or(...any)! : sql`false`;
}

/** The WHERE of every claims query: the tenant first, then each given filter. */
export function filterConditions(shopId: string, f: ClaimFilters): SQL[] {
  const c: SQL[] = [eq(claims.shopId, shopId)];
  if (f.status) c.push(anyOf(claims.status, values(f.status)));
  if (f.flow) c.push(anyOf(claims.flow, values(f.flow)));
  if (f.reason) c.push(reasonCondition(values(f.reason)));
  if (f.carrier)
    c.push(
      anyOf(
        claims.carrier,
        values(f.carrier).map((v) => v.toLowerCase()),
        NONE,
      ),
    );
  if (f.country)
    c.push(
      anyOf(
        claims.countryCode,
        values(f.country).map((v) => (v === NONE ? v : v.toUpperCase())),
        NONE,
      ),
    );
  if (f.shipment_phase) c.push(anyOf(claims.shipmentPhase, values(f.shipment_phase), NONE));
  if (f.resolution_preference)
    c.push(anyOf(claims.resolutionPreference, values(f.resolution_preference), NONE));
  if (f.channel) c.push(anyOf(claims.channel, values(f.channel)));
  if (f.assignee) c.push(anyOf(claims.assignee, values(f.assignee), UNASSIGNED));
  if (f.tag) {
    const tags = values(f.tag);
    c.push(
      sql`${claims.tags} && array[${sql.join(
        tags.map((t) => sql`${t}`),
        sql`, `,
      )}]::text[]`,
    );
  }
  // The Resolve id or the shop's own external_id, as everywhere an order is named.
  if (f.order_id)
    c.push(
      sql`${claims.orderId} in (select o.id from orders o where o.shop_id = ${shopId}
            and (o.id = ${f.order_id} or o.external_id = ${f.order_id}))`,
    );
  if (f.created_from) c.push(gte(claims.createdAt, new Date(f.created_from)));
  if (f.created_to) c.push(lt(claims.createdAt, new Date(f.created_to)));
  const q = f.q?.trim();
  if (q) {
    c.push(searchCondition(shopId, q));
  }
  return c;
}

export const whereOf = (shopId: string, f: ClaimFilters) => and(...filterConditions(shopId, f))!;

// ------------------------------------------------------------------------------------------------ sort + keyset

const sortColumn = (sort: Sort) => (sort.endsWith('created_at') ? claims.createdAt : claims.updatedAt);
export const isDesc = (sort: Sort) => sort.startsWith('-');

/** ORDER BY for a sort: the sort column, then the id (unique), in the same direction. */
export function orderBy(sort: Sort): SQL {
  const col = sortColumn(sort);
  return isDesc(sort) ? sql`${col} desc, ${claims.id} desc` : sql`${col} asc, ${claims.id} asc`;
}

/** The sort column as exact text (instantText). */
export const sortKeyOf = (sort: Sort) => instantText(sortColumn(sort));

export interface Keyset {
  sort: Sort;
  at: string;
  id: string;
}

/** Rows strictly after the keyset position, in the sort's direction. */
export function afterKeyset(k: Keyset): SQL {
  const col = sortColumn(k.sort);
  return isDesc(k.sort)
    ? sql`(${col}, ${claims.id}) < (${k.at}::timestamptz, ${k.id})`
    : sql`(${col}, ${claims.id}) > (${k.at}::timestamptz, ${k.id})`;
}

/** Rows up to and including the keyset position, in the sort's direction (the end of a range after afterKeyset()). */
export function upToKeyset(k: Keyset): SQL {
  const col = sortColumn(k.sort);
  return isDesc(k.sort)
    ? sql`(${col}, ${claims.id}) >= (${k.at}::timestamptz, ${k.id})`
    : sql`(${col}, ${claims.id}) <= (${k.at}::timestamptz, ${k.id})`;
}

/** The cursor's text (base64url-encoded by splitPage): the sort, the row's sort key and id. */
export const keysetText = (k: Keyset) => JSON.stringify([k.sort, k.at, k.id]);

/** Decodes a claims-list cursor and checks it belongs to this sort. */
export function decodeKeyset(raw: string, sort: Sort): Keyset {
  const [from, at, id] = cursorTuple(raw, [
    (v) => (SORTS as readonly unknown[]).includes(v),
    isKeysetInstant,
    matching(/^clm_[0-9a-z]{26}$/),
  ]) as [Sort, string, string];
  if (from !== sort) throw badCursor(`this cursor belongs to sort=${from}, not ${sort}`);
  return { sort, at, id };
}
