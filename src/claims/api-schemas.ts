import { Type } from 'typebox';
import { NullableOut, StrEnum } from '../http/schema-helpers.js';
import { ViewQuery } from './filters.js';
import { CLAIM_STATUSES } from './status.js';

const S = Type.String();
const NS = NullableOut(Type.String());
const Int = Type.Integer();

/** A claim as the merchant API answers it (the `Claim` schema), for the OpenAPI examples. */
export const CLAIM_EXAMPLE = {
  id: 'clm_01jf3k9x2m8v6t4r5q7w0y1z2a',
  number: 'R-1042',
  shop: 'demo',
  order_id: 'ord_01jf2a7c5d3e9f1g8h6j4k2m0n',
  order_number: '1001',
  shipment_id: 'shp_01jf2a7c5d3e9f1g8h6j4k2m0p',
  flow: 'defective',
  reason: 'broken_on_arrival',
  description: 'The mug arrived in pieces.',
  resolution_preference: 'replacement',
  status: 'pending',
  items: [
    {
      line_item_id: 'li_01jf2a7c5d3e9f1g8h6j4k2m0q',
      shipment_id: 'shp_01jf2a7c5d3e9f1g8h6j4k2m0p',
      sku: 'MUG',
      title: 'Mug',
      variant_title: null,
      quantity: 1,
      unit_net_price: 999,
      image_url: null,
    },
  ],
  evidence: [],
  answers: [],
  dropoff_permission: null,
  channel: 'zip',
  language: 'de',
  created_at: '2026-11-24T10:15:00.000Z',
  updated_at: '2026-11-24T10:15:00.000Z',
  context: {
    order_number: '1001',
    order_state: 'fulfilled',
    currency: 'EUR',
    claim_value: 999,
    shipment: { phase: 'delivered', carrier: 'dhl', tracking_number: '00340434' },
    shipping_address: { country_code: 'DE', zip_code: '10115' },
    customer: { email: 'kim@example.com', first_name: 'Kim', last_name: 'Berg' },
  },
  tags: ['fragile'],
  assignee: 'agent@shop.example',
  version: 3,
};

export const ClaimList = Type.Object(
  {
    data: Type.Array(Type.Ref('Claim')),
    has_more: Type.Boolean(),
    next_cursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `cursor` (with the same sort) for the next page; null on the last page.',
    }),
    page: Type.Optional(Int),
    per_page: Type.Optional(Int),
  },
  {
    examples: [
      {
        data: [CLAIM_EXAMPLE],
        has_more: true,
        next_cursor:
          'WyItY3JlYXRlZF9hdCIsIjIwMjYtMTEtMjRUMTA6MTU6MDAuMDAwMDAwWiIsImNsbV8wMWpmM2s5eDJtOHY2dDRyNXE3dzB5MXoyYSJd',
      },
    ],
  },
);

export const StatusCounts = Type.Object(
  {
    ...Object.fromEntries(CLAIM_STATUSES.map((s) => [s, Int])),
    total: Int,
  } as Record<(typeof CLAIM_STATUSES)[number] | 'total', typeof Int>,
  { examples: [{ pending: 12, accepted: 30, rejected: 4, closed: 210, total: 256 }] },
);

export const SavedView = Type.Object(
  {
    id: S,
    name: S,
    query: ViewQuery,
    shared: Type.Boolean({ description: 'Listed for everyone in the shop; only its owner changes it.' }),
    owner: S,
    mine: Type.Boolean({ description: 'Saved by the caller.' }),
    created_at: S,
    updated_at: S,
  },
  {
    examples: [
      {
        id: 'cvw_01jf3m2n4p6q8r0s2t4v6w8x0y',
        name: 'Open DHL damage',
        query: { status: 'pending', flow: 'defective', carrier: 'dhl', sort: '-created_at' },
        shared: true,
        owner: 'key_01jf0a1b2c3d4e5f6g7h8j9k0m',
        mine: true,
        created_at: '2026-11-24T10:15:00.000Z',
        updated_at: '2026-11-24T10:15:00.000Z',
      },
    ],
  },
);

const Bucket = Type.Object({ key: NS, claims: Int });

export const ClaimAnalytics = Type.Object(
  {
    from: S,
    to: S,
    interval: StrEnum(['day', 'week', 'month']),
    tz: S,
    totals: Type.Object({
      claims: Int,
      orders: Type.Integer({ description: 'Distinct orders with at least one claim.' }),
      units: Type.Integer({ description: 'Claimed units (sum of item quantities).' }),
      value: Type.Array(Type.Object({ currency: S, amount: Type.Integer({ description: 'Minor units.' }) }), {
        description: 'Sum of the claims’ values at submission, per currency.',
      }),
    }),
    series: Type.Array(
      Type.Object({
        date: Type.String({ description: 'First local day of the bucket (YYYY-MM-DD) in `tz`.' }),
        start: Type.String({ description: 'The bucket’s start as an instant (UTC).' }),
        claims: Int,
        orders: Int,
      }),
      { description: 'Every bucket from `from` to `to`, zero-filled.' },
    ),
    breakdowns: Type.Object(
      {
        flow: Type.Array(Bucket),
        reason: Type.Array(Type.Object({ key: NS, flow: S, claims: Int })),
        resolution_preference: Type.Array(Bucket),
        carrier: Type.Array(Bucket),
        country: Type.Array(Bucket),
        shipment_phase: Type.Array(Bucket),
        status: Type.Array(Bucket),
        channel: Type.Array(Bucket),
        product: Type.Array(
          Type.Object({
            sku: NS,
            title: NS,
            claims: Type.Integer({ description: 'Claims with this product.' }),
            units: Type.Integer({ description: 'Units of it claimed.' }),
          }),
          { description: 'Top 100 by units; items without a SKU are grouped by title.' },
        ),
      },
      {
        description:
          'Claims per value, most first; `key: null` = no value (e.g. no single shipment at submission). Distinct orders are in `totals` and `series`.',
      },
    ),
    products_truncated: Type.Boolean(),
  },
  {
    examples: [
      {
        from: '2026-11-01T00:00:00.000Z',
        to: '2026-11-03T00:00:00.000Z',
        interval: 'day',
        tz: 'UTC',
        totals: { claims: 3, orders: 2, units: 4, value: [{ currency: 'EUR', amount: 6996 }] },
        series: [
          { date: '2026-11-01', start: '2026-11-01T00:00:00Z', claims: 2, orders: 1 },
          { date: '2026-11-02', start: '2026-11-02T00:00:00Z', claims: 1, orders: 1 },
        ],
        breakdowns: {
          flow: [
            { key: 'defective', claims: 2 },
            { key: 'not_received', claims: 1 },
          ],
          reason: [{ key: 'broken_on_arrival', flow: 'defective', claims: 2 }],
          resolution_preference: [{ key: 'refund', claims: 3 }],
          carrier: [{ key: 'dhl', claims: 3 }],
          country: [{ key: 'DE', claims: 3 }],
          shipment_phase: [{ key: 'delivered', claims: 3 }],
          status: [{ key: 'pending', claims: 3 }],
          channel: [{ key: 'zip', claims: 3 }],
          product: [{ sku: 'TEE-M', title: 'T-shirt', claims: 2, units: 3 }],
        },
        products_truncated: false,
      },
    ],
  },
);
