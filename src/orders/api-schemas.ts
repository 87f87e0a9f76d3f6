import { Type } from 'typebox';
import { NullableOut, StrEnum } from '../http/schema-helpers.js';
import { PHASES } from './phase.js';

const S = Type.String();
const NS = NullableOut(Type.String());
const Int = Type.Integer();

/** A postal address as the API answers it (shared by merchant and customer views). */
export const Address = NullableOut(
  Type.Object({
    name: NS,
    company: NS,
    address_line_1: NS,
    address_line_2: NS,
    city: NS,
    zip_code: NS,
    province: NS,
    country_code: NS,
    phone: NS,
  }),
);

export const ShipmentView = Type.Object(
  {
    id: S,
    external_id: S,
    carrier: NS,
    tracking_number: NS,
    tracking_url: NS,
    phase: StrEnum(PHASES),
    delivered_at: NS,
    last_event_at: NS,
    stuck: Type.Boolean({
      description: 'Not delivered and no carrier event for the shop’s stuck_after_days.',
    }),
    line_items: Type.Array(Type.Object({ line_item_id: S, external_id: NS, quantity: Int })),
    events: Type.Array(Type.Object({ id: S, time: S, code: S, phase: NS, description: NS, location: NS })),
  },
  { $id: 'Shipment' },
);

export const OrderView = Type.Object(
  {
    id: S,
    external_id: NS,
    order_number: S,
    order_name: NS,
    placed_at: S,
    cancelled_at: NS,
    currency: S,
    language: NS,
    tags: Type.Array(S),
    state: StrEnum(['placed', 'partially_fulfilled', 'fulfilled', 'cancelled']),
    customer: Type.Object({ external_id: NS, email: NS, first_name: NS, last_name: NS, phone: NS }),
    shipping_address: Address,
    billing_address: Address,
    totals: Type.Object({ subtotal: Int, shipping: Int, discount: Int, tax: Int, total: Int }),
    line_items: Type.Array(
      Type.Object({
        id: S,
        external_id: S,
        sku: NS,
        title: S,
        variant_title: NS,
        quantity: Int,
        quantity_fulfilled: Int,
        quantity_refunded: Int,
        unit_price: Int,
        discount: Int,
        tax: Int,
        image_url: NS,
        product_id: NS,
        variant_id: NS,
      }),
    ),
    shipments: Type.Array(Type.Ref('Shipment')),
    created_at: S,
    updated_at: S,
  },
  { $id: 'Order' },
);

export const BulkResult = Type.Object({
  data: Type.Array(
    Type.Object({
      index: Int,
      status: StrEnum(['created', 'updated', 'unchanged', 'stale', 'error'], {
        description:
          '`stale`: the document’s `updated_at` is older than a change the customer made through a Resolve link; nothing was written.',
      }),
      id: Type.Optional(S),
      order_number: NS,
      error: Type.Optional(
        Type.Object({
          key: S,
          message: S,
          errors: Type.Optional(Type.Array(Type.Object({ path: S, message: S }))),
        }),
      ),
    }),
  ),
  summary: Type.Object({ created: Int, updated: Int, unchanged: Int, stale: Int, failed: Int }),
});

export const OrderList = Type.Object({
  data: Type.Array(Type.Ref('Order')),
  has_more: Type.Boolean(),
  next_cursor: NS,
  page: Type.Optional(Int),
  per_page: Type.Optional(Int),
});
