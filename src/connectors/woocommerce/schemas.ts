import { type Static, type TSchema, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { PlatformError } from '../platform.js';

/**
 * The parts of WooCommerce REST v3 payloads the connector reads (docs: woocommerce-rest-api-docs wp-api-v3,
 * and the v2/v3 controllers' item schemas). Lenient on purpose: unknown fields pass, strings Woo sometimes
 * nulls are nullable, but a field we rely on with the wrong type fails the call instead of mis-mapping.
 */
const S = Type.String();
const OptS = Type.Optional(Type.Union([Type.String(), Type.Null()]));
const Id = Type.Integer();
const Num = Type.Union([Type.Number(), Type.String()]);

export const WooMeta = Type.Object({ id: Type.Optional(Id), key: S, value: Type.Unknown() });
export const WooAddress = Type.Object({
  first_name: OptS,
  last_name: OptS,
  company: OptS,
  address_1: OptS,
  address_2: OptS,
  city: OptS,
  state: OptS,
  postcode: OptS,
  country: OptS,
  email: OptS,
  phone: OptS,
});
const Tax = Type.Object({ id: Id, total: Type.Optional(Num), subtotal: Type.Optional(Num) });

export const WooLineItem = Type.Object({
  id: Id,
  name: S,
  parent_name: OptS,
  product_id: Id,
  variation_id: Id,
  quantity: Type.Number(),
  subtotal: S,
  total: S,
  total_tax: S,
  taxes: Type.Optional(Type.Array(Tax)),
  sku: OptS,
  price: Type.Optional(Num),
  image: Type.Optional(
    Type.Union([Type.Object({ src: Type.Optional(Type.Union([S, Type.Boolean()])) }), Type.Null()]),
  ),
  meta_data: Type.Optional(Type.Array(WooMeta)),
});

export const WooShippingLine = Type.Object({
  id: Id,
  method_id: OptS,
  method_title: OptS,
  total: S,
  total_tax: S,
  taxes: Type.Optional(Type.Array(Tax)),
});

export const WooOrder = Type.Object({
  id: Id,
  parent_id: Type.Optional(Id),
  number: S,
  status: S,
  currency: S,
  date_created_gmt: OptS,
  date_modified_gmt: OptS,
  date_completed_gmt: OptS,
  discount_total: S,
  shipping_total: S,
  total: S,
  total_tax: S,
  customer_id: Id,
  billing: WooAddress,
  shipping: WooAddress,
  line_items: Type.Array(WooLineItem),
  shipping_lines: Type.Optional(Type.Array(WooShippingLine)),
  refunds: Type.Optional(Type.Array(Type.Object({ id: Id, reason: OptS, total: S }))),
  meta_data: Type.Optional(Type.Array(WooMeta)),
});

const RefundItem = Type.Object({
  id: Id,
  quantity: Type.Optional(Type.Number()),
  total: Type.Optional(S),
  meta_data: Type.Optional(Type.Array(WooMeta)),
});
export const WooRefund = Type.Object({
  id: Id,
  parent_id: Type.Optional(Id),
  amount: S,
  reason: OptS,
  line_items: Type.Optional(Type.Array(RefundItem)),
  shipping_lines: Type.Optional(Type.Array(RefundItem)),
});

export const WooStock = Type.Object({
  id: Id,
  manage_stock: Type.Union([Type.Boolean(), Type.Literal('parent'), Type.Null()]),
  stock_quantity: Type.Union([Type.Number(), Type.Null()]),
  stock_status: OptS,
});
export const WooWebhook = Type.Object({ id: Id, topic: S, delivery_url: S, status: S });
export const WooNote = Type.Object({ id: Id });
export const WooIndex = Type.Object({ name: Type.Optional(S) });

export type WooOrderT = Static<typeof WooOrder>;
export type WooLineItemT = Static<typeof WooLineItem>;
export type WooRefundT = Static<typeof WooRefund>;
export type WooAddressT = Static<typeof WooAddress>;
export type WooMetaT = Static<typeof WooMeta>;
export type WooStockT = Static<typeof WooStock>;
export type WooWebhookT = Static<typeof WooWebhook>;

/** A compiled check: returns the value typed, or throws PlatformError naming the first bad field. */
export type Parser<T> = (value: unknown, what: string) => T;

export function parser<T extends TSchema>(schema: T): Parser<Static<T>> {
  const v = Compile(schema);
  return (value, what) => {
    if (v.Check(value)) return value as Static<T>;
    const errs = [...v.Errors(value)].slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new PlatformError(
      'unsupported',
      `WooCommerce sent an unexpected ${what}: ${errs.join('; ')}`,
      null,
      {
        errors: errs,
      },
    );
  };
}

export const parse = {
  ids: parser(Type.Array(Type.Object({ id: Id }))),
  /** A list page is checked order by order, so one odd order does not sink the page. */
  list: parser(Type.Array(Type.Object({ id: Id }))),
  order: parser(WooOrder),
  orders: parser(Type.Array(WooOrder)),
  refund: parser(WooRefund),
  refunds: parser(Type.Array(WooRefund)),
  stock: parser(WooStock),
  webhooks: parser(Type.Array(WooWebhook)),
  webhook: parser(WooWebhook),
  note: parser(WooNote),
  index: parser(WooIndex),
};
