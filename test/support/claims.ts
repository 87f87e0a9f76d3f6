import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import type { App } from '../../src/app.js';
import type { Db } from '../../src/db/client.js';
import { claims } from '../../src/db/schema.js';
import type { OrderInputT } from '../../src/orders/document.js';
import type { TestShop } from './app.js';
import { daysAgo, type Res } from './http.js';
import { orderDoc } from './orders.js';

export interface StoredOrder {
  id: string;
  external_id: string;
  order_number: string;
  line_items: { id: string; external_id: string }[];
  shipments: { id: string }[];
}

export interface ClaimOut {
  id: string;
  number: string;
  status: string;
  flow: string;
  reason: string;
  order_id: string;
  version: number;
  tags: string[];
  assignee: string | null;
  created_at: string;
  updated_at: string;
  items: { sku: string | null; quantity: number; unit_net_price: number }[];
  context: Record<string, unknown>;
  history?: { action: string; note: string | null; changes: Record<string, unknown> }[];
}

export interface OrderShape {
  carrier?: string | null;
  country?: string | null;
  email?: string | null;
  number?: string;
  /** Delivered this many days ago; null: in transit, last carrier event `stuckDays` ago; 'none': no shipment. */
  deliveredDaysAgo?: number | null | 'none';
  stuckDays?: number;
  lineItems?: OrderInputT['line_items'];
}

/** An order document with the given carrier, country, email and shipment state (SPEC §14 shape otherwise). */
export function shapedOrder(o: OrderShape = {}): OrderInputT {
  const base = orderDoc(o.number ? { order_number: o.number, order_name: o.number } : {});
  const lineItems = o.lineItems ?? base.line_items;
  const doc: OrderInputT = {
    ...base,
    line_items: lineItems,
    customer: { ...base.customer!, email: o.email === undefined ? base.customer!.email : o.email },
    shipping_address:
      o.country === null ? null : { ...base.shipping_address!, country_code: o.country ?? 'DE' },
  };
  if (o.deliveredDaysAgo === 'none') return { ...doc, placed_at: daysAgo(3), shipments: [] };
  const picked = (days: number) => ({
    time: daysAgo(days),
    code: 'picked_up',
    phase: 'in_transit' as const,
    description: 'Parcel picked up',
    location: 'Berlin',
  });
  const shipment = {
    ...base.shipments![0],
    carrier: o.carrier === undefined ? 'dhl' : o.carrier,
    line_items: lineItems.map((l) => ({ external_id: l.external_id, quantity: l.quantity })),
  };
  if (o.deliveredDaysAgo === null) {
    const stuck = o.stuckDays ?? 12;
    return { ...doc, placed_at: daysAgo(stuck + 2), shipments: [{ ...shipment, events: [picked(stuck)] }] };
  }
  const days = o.deliveredDaysAgo ?? 2;
  return {
    ...doc,
    placed_at: daysAgo(days + 3),
    shipments: [
      {
        ...shipment,
        events: [
          picked(days + 1),
          {
            time: daysAgo(days),
            code: 'delivered',
            phase: 'delivered',
            description: 'Delivered',
            location: null,
          },
        ],
      },
    ],
  };
}

export function claimsApi(app: App, s: TestShop, headers: Record<string, string> = s.auth.editor) {
  const base = `/v1/shops/${s.slug}`;
  const qs = (q: Record<string, string | number>) =>
    new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)])).toString();
  return {
    putOrder: async (doc: OrderInputT): Promise<StoredOrder> => {
      const res = await app.inject({ method: 'PUT', url: `${base}/orders`, headers, payload: doc });
      assert.ok([200, 201].includes(res.statusCode), res.body);
      return res.json();
    },
    create: async (body: Record<string, unknown>): Promise<ClaimOut> => {
      const res = await app.inject({
        method: 'POST',
        url: `${base}/claims`,
        headers,
        payload: { override_gating: true, ...body },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    },
    patch: (id: string, body: unknown) =>
      app.inject({ method: 'PATCH', url: `${base}/claims/${id}`, headers, payload: body as object }),
    get: (id: string) => app.inject({ method: 'GET', url: `${base}/claims/${id}`, headers }),
    list: (q: Record<string, string | number> = {}) =>
      app.inject({ method: 'GET', url: `${base}/claims?${qs(q)}`, headers }),
    counts: (q: Record<string, string | number> = {}) =>
      app.inject({ method: 'GET', url: `${base}/claims/counts?${qs(q)}`, headers }),
    exportCsv: (q: Record<string, string | number> = {}) =>
      app.inject({ method: 'GET', url: `${base}/claims/export.csv?${qs(q)}`, headers }),
    analytics: (q: Record<string, string | number> = {}) =>
      app.inject({ method: 'GET', url: `${base}/analytics/claims?${qs(q)}`, headers }),
    views: {
      list: () => app.inject({ method: 'GET', url: `${base}/claim-views`, headers }),
      create: (body: unknown) =>
        app.inject({ method: 'POST', url: `${base}/claim-views`, headers, payload: body as object }),
      patch: (id: string, body: unknown) =>
        app.inject({ method: 'PATCH', url: `${base}/claim-views/${id}`, headers, payload: body as object }),
      delete: (id: string) => app.inject({ method: 'DELETE', url: `${base}/claim-views/${id}`, headers }),
    },
  };
}

export const lineId = (o: StoredOrder, externalId: string) =>
  o.line_items.find((l) => l.external_id === externalId)!.id;

export const ids = (res: Res) => {
  assert.equal(res.statusCode, 200, res.body);
  return (res.json().data as { id: string }[]).map((c) => c.id);
};

/** Sets a claim's created_at (and optionally updated_at) straight in the database. */
export async function setTimes(db: Db, claimId: string, createdAt: Date | string, updatedAt?: Date | string) {
  await db
    .update(claims)
    .set({
      createdAt: sql`${typeof createdAt === 'string' ? createdAt : createdAt.toISOString()}::timestamptz`,
      ...(updatedAt
        ? {
            updatedAt: sql`${typeof updatedAt === 'string' ? updatedAt : updatedAt.toISOString()}::timestamptz`,
          }
        : {}),
    })
    .where(eq(claims.id, claimId));
}

/** A minimal RFC 4180 parser: quoted fields with doubled quotes, CRLF/LF inside quotes, CRLF records. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      cell += ch;
      i++;
      continue;
    }
    if (ch === '"') {
      assert.equal(cell, '', `a quote inside an unquoted field at ${i}`);
      quoted = true;
      i++;
    } else if (ch === ',') {
      row.push(cell);
      cell = '';
      i++;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 2;
    } else {
      assert.ok(ch !== '\r' && ch !== '\n', `a bare line break outside quotes at ${i}`);
      cell += ch;
      i++;
    }
  }
  assert.equal(quoted, false, 'unterminated quoted field');
  assert.ok(cell === '' && row.length === 0, 'the last record must end with CRLF');
  return rows;
}

/** CSV text → records keyed by the header row. */
export function csvRecords(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  for (const r of rows) assert.equal(r.length, header.length, `row of ${r.length} cells: ${r.join('|')}`);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}
