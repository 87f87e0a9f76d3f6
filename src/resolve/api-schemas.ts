import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { errorResponses, NullableOut, StrEnum } from '../http/schema-helpers.js';
import { Address } from '../orders/api-schemas.js';
import { PHASES } from '../orders/phase.js';
import { REASON_CODES } from './eligibility.js';
import { FLOWS } from './settings.js';

/**
 * preValidation hook for routes whose JSON body is optional: a request without a body is validated as `{}`
 * (Fastify would check `undefined` against the object schema and answer 400 "must be object").
 */
export async function optionalBody(req: FastifyRequest): Promise<void> {
  if (req.body === undefined) req.body = {};
}

const S = Type.String();
const NS = NullableOut(Type.String());
const Int = Type.Integer();
const Opt = StrEnum(['off', 'optional', 'required']);

export const FlowView = Type.Object(
  {
    flow: StrEnum(FLOWS),
    available: Type.Boolean(),
    reason_code: NullableOut(StrEnum(REASON_CODES)),
    reasons: Type.Array(Type.Object({ code: S, label: S }), {
      description:
        "The reasons a claim of this flow may give, labelled in the session's language. not_received offers `delivered_not_received` only when a delivered parcel has units left to claim and `stuck_in_transit` only when a stuck one has; a submitted reason outside this list is 400 `validation_failed` at `/reason`.",
    }),
    items: Type.Array(
      Type.Object({
        line_item_id: S,
        max_quantity: Int,
        shipments: Type.Array(Type.Object({ shipment_id: S, max_quantity: Int })),
      }),
    ),
    resolutions: Type.Array(S),
    steps: Type.Object({
      photos: Type.Object({ min: Int, max: Int }),
      package_photo: Opt,
      signature: Opt,
      description: Type.Object({ required: Type.Boolean(), min_length: Int, max_length: Int }),
      prompts: Type.Array(
        Type.Object({
          id: S,
          type: S,
          label: S,
          required: Type.Boolean(),
          max_length: Type.Optional(Int),
          options: Type.Optional(Type.Array(Type.Object({ value: S, label: S }))),
        }),
      ),
      dropoff_permission: Type.Boolean(),
      handoff: StrEnum(['native', 'external']),
    }),
  },
  { $id: 'FlowEligibility' },
);

/** What a verified customer sees of their order: no internal ids of the platform, tags or notes. */
export const CustomerOrder = Type.Object(
  {
    id: S,
    order_number: S,
    order_name: NS,
    placed_at: S,
    currency: S,
    language: NS,
    state: S,
    customer: Type.Object({ email: NS, first_name: NS, last_name: NS }),
    shipping_address: Address,
    totals: Type.Object({ subtotal: Int, shipping: Int, discount: Int, tax: Int, total: Int }),
    line_items: Type.Array(
      Type.Object({
        id: S,
        sku: NS,
        title: S,
        variant_title: NS,
        quantity: Int,
        quantity_fulfilled: Int,
        unit_price: Int,
        image_url: NS,
      }),
    ),
    shipments: Type.Array(
      Type.Object({
        id: S,
        carrier: NS,
        tracking_number: NS,
        tracking_url: NS,
        phase: StrEnum(PHASES),
        delivered_at: NS,
        last_event_at: NS,
        stuck: Type.Boolean(),
        line_items: Type.Array(Type.Object({ line_item_id: S, quantity: Int })),
        events: Type.Array(Type.Object({ time: S, phase: NS, description: NS, location: NS })),
      }),
    ),
  },
  { $id: 'CustomerOrder' },
);

export const CustomerActions = Type.Object({ cancel: Type.Boolean(), change_address: Type.Boolean() });

export const SessionView = Type.Object({
  session: S,
  level: StrEnum(['zip', 'token']),
  expires_at: S,
  order: Type.Ref('CustomerOrder'),
  flows: Type.Array(Type.Ref('FlowEligibility')),
  actions: CustomerActions,
});

/** `preview`: a merchant's preview on a test order (POST /v1/shops/{slug}/resolve/preview); it creates nothing. */
export const OrderSessionView = Type.Object({
  level: StrEnum(['zip', 'token', 'preview']),
  expires_at: S,
  order: Type.Ref('CustomerOrder'),
  flows: Type.Array(Type.Ref('FlowEligibility')),
  actions: CustomerActions,
});

const ClaimBase = {
  id: S,
  number: S,
  shop: S,
  order_id: S,
  order_number: NS,
  shipment_id: NS,
  flow: S,
  reason: S,
  description: NS,
  resolution_preference: NS,
  status: S,
  items: Type.Array(
    Type.Object({
      line_item_id: S,
      shipment_id: NS,
      sku: NS,
      title: S,
      variant_title: NS,
      quantity: Int,
      unit_net_price: Int,
      image_url: NS,
    }),
  ),
  evidence: Type.Array(Type.Object({ id: S, kind: S, line_item_id: NS, content_type: S, size: Int, url: S })),
  answers: Type.Array(Type.Object({ prompt_id: S, value: Type.Union([S, Type.Boolean()]) })),
  dropoff_permission: NullableOut(Type.Boolean()),
  channel: S,
  language: NS,
  created_at: S,
  updated_at: S,
  handoff_url: Type.Optional(NS),
};

export const CustomerClaim = Type.Object(ClaimBase, { $id: 'CustomerClaim' });

export const MerchantClaim = Type.Object(
  {
    ...ClaimBase,
    context: Type.Object({}, { additionalProperties: true }),
    tags: Type.Array(S),
    assignee: NS,
    version: Int,
    history: Type.Optional(
      Type.Array(
        Type.Object({
          id: S,
          actor: Type.Object({
            type: S,
            id: NS,
            name: Type.Union([S, Type.Null()], {
              description:
                'The team member’s name (or email) or the API key’s name; null for the customer and for Resolve.',
            }),
          }),
          action: S,
          changes: Type.Object({}, { additionalProperties: true }),
          note: NS,
          created_at: S,
        }),
      ),
    ),
    order: Type.Optional(Type.Ref('Order')),
    shipment: Type.Optional(NullableOut(Type.Ref('Shipment'))),
  },
  { $id: 'Claim' },
);

/** What a photo upload answers (customer and merchant alike), and how it can be refused. */
export const uploadResponses = {
  201: Type.Object({ id: Type.String(), content_type: Type.String(), size: Type.Integer() }),
  ...errorResponses,
  413: Type.Ref('Error'),
  415: Type.Ref('Error'),
};
