import { and, getTableColumns, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { type Db, query } from '../db/client.js';
import { claimEvidence, claimItems, claims } from '../db/schema.js';
import {
  afterKeyset,
  type ClaimFilters,
  filterConditions,
  type Keyset,
  orderBy,
  type Sort,
  sortKeyOf,
  whereOf,
} from './filters.js';
import type { ClaimChildren, ClaimRow } from './read.js';
import { CLAIM_STATUSES, type ClaimStatus } from './status.js';

export interface ListWindow {
  sort: Sort;
  /** Keyset position (cursor paging) … */
  after?: Keyset;
  /** … or an offset (page paging). */
  offset?: number;
  limit: number;
}

export type ListedClaim = ClaimRow & { sortKey: string };

/** Rows of `table` from `to_json()` output, keyed and decoded as Drizzle reads them. */
function fromJson<T extends PgTable>(table: T, rows: Record<string, unknown>[]): T['$inferSelect'][] {
  const cols = Object.entries(getTableColumns(table));
  return rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [key, col] of cols) {
      const v = r[col.name];
      out[key] = v === null || v === undefined ? null : col.mapFromDriverValue(v);
    }
    return out as T['$inferSelect'];
  });
}

/**
 * The json array of a claim's rows of `t` (items, evidence), by id: read in the claims statement. (Spelled out:
 * a one-table select renders its columns unqualified, which inside this subquery would name x's columns.)
 */
const childrenOf = (t: typeof claimItems | typeof claimEvidence) =>
  sql<Record<string, unknown>[]>`(select coalesce(json_agg(to_json(x) order by x.id), '[]') from ${t} x
    where x.shop_id = "claims"."shop_id" and x.claim_id = "claims"."id")`;

/** The list's statement (a query builder: awaited by listClaimRows, rendered by bench/claims-list.ts). */
export function listStatement(db: Db, shopId: string, f: ClaimFilters, w: ListWindow) {
  const conds = filterConditions(shopId, f);
  if (w.after) conds.push(afterKeyset(w.after));
  return db
    .select({
      ...getTableColumns(claims),
      sortKey: sortKeyOf(w.sort),
      itemsJson: childrenOf(claimItems),
      evidenceJson: childrenOf(claimEvidence),
    })
    .from(claims)
    .where(and(...conds))
    .orderBy(orderBy(w.sort))
    .limit(w.limit)
    .offset(w.offset ?? 0);
}

/**
 * One page of a shop's claims for the given filters and sort, each row with its exact sort key, and the page's
 * items and evidence: one statement, one round trip.
 */
export async function listClaimRows(
  db: Db,
  shopId: string,
  f: ClaimFilters,
  w: ListWindow,
): Promise<{ rows: ListedClaim[]; children: ClaimChildren }> {
  const found = await listStatement(db, shopId, f, w);
  const rows: ListedClaim[] = [];
  const children: ClaimChildren = { items: [], evidence: [] };
  for (const { itemsJson, evidenceJson, ...row } of found) {
    rows.push(row);
    children.items.push(...fromJson(claimItems, itemsJson));
    children.evidence.push(...fromJson(claimEvidence, evidenceJson));
  }
  return { rows, children };
}

export type StatusCounts = Record<ClaimStatus, number> & { total: number };

/** Claims per status for the filters (the list's tabs); every status is present, zero when none. */
export async function countByStatus(db: Db, shopId: string, f: ClaimFilters): Promise<StatusCounts> {
  const rows = await query<{ status: string; n: number }>(
    db,
    sql`select ${claims.status} as status, count(*)::int as n from ${claims}
        where ${whereOf(shopId, f)} group by ${claims.status}`,
  );
  const out = Object.fromEntries(CLAIM_STATUSES.map((s) => [s, 0])) as StatusCounts;
  out.total = 0;
  for (const r of rows) {
    const n = Number(r.n);
    if ((CLAIM_STATUSES as readonly string[]).includes(r.status)) out[r.status as ClaimStatus] = n;
    out.total += n;
  }
  return out;
}
