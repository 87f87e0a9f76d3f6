import { type Static, type TSchema, Type } from 'typebox';
import { bodyValidator } from '../../http/validation.js';
import { PlatformError } from '../platform.js';

/**
 * The parts of Shopware 6 Admin API responses the connector reads (entity JSON, `Accept: application/json`).
 * Validated at the boundary (DESIGN convention 3); unknown fields are allowed, missing or mistyped ones we rely
 * on are not. `payload` and `customFields` stay `unknown`: PHP serialises an empty one as `[]`.
 */
const N = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const Id = Type.String({ pattern: '^[0-9a-f]{32}$' });
const Str = Type.String();
const Num = Type.Number();

const State = Type.Object({ technicalName: Str });
const Tax = Type.Object({ tax: Num });
export const CalculatedPrice = Type.Object({
  unitPrice: Num,
  totalPrice: Num,
  quantity: Type.Optional(Num),
  calculatedTaxes: Type.Optional(Type.Array(Tax)),
});

export const Address = Type.Object({
  id: Id,
  countryId: N(Id),
  countryStateId: N(Id),
  salutationId: N(Id),
  firstName: N(Str),
  lastName: N(Str),
  company: N(Str),
  department: N(Str),
  street: N(Str),
  additionalAddressLine1: N(Str),
  additionalAddressLine2: N(Str),
  zipcode: N(Str),
  city: N(Str),
  phoneNumber: N(Str),
  country: N(Type.Object({ iso: N(Str) })),
  countryState: N(Type.Object({ shortCode: N(Str), name: N(Str) })),
});

const LineItem = Type.Object({
  id: Id,
  type: N(Str),
  label: Str,
  quantity: Type.Integer(),
  unitPrice: Num,
  totalPrice: Num,
  productId: N(Id),
  parentId: N(Id),
  good: N(Type.Boolean()),
  payload: Type.Optional(Type.Unknown()),
  price: N(CalculatedPrice),
  cover: N(Type.Object({ url: N(Str) })),
});

const Delivery = Type.Object({
  id: Id,
  shippingOrderAddressId: Id,
  shippingMethodId: Id,
  trackingCodes: N(Type.Array(Str)),
  shippingDateEarliest: N(Str),
  stateMachineState: N(State),
  shippingMethod: N(Type.Object({ name: N(Str), trackingUrl: N(Str) })),
  shippingOrderAddress: N(Address),
  positions: N(Type.Array(Type.Object({ orderLineItemId: Id, quantity: Type.Integer() }))),
});

const Refund = Type.Object({
  id: Id,
  captureId: Id,
  amount: CalculatedPrice,
  customFields: Type.Optional(Type.Unknown()),
  stateMachineState: N(State),
  positions: N(Type.Array(Type.Object({ orderLineItemId: Id, quantity: N(Type.Integer()) }))),
});

const Capture = Type.Object({
  id: Id,
  amount: CalculatedPrice,
  stateMachineState: N(State),
  refunds: N(Type.Array(Refund)),
});

const Transaction = Type.Object({
  id: Id,
  createdAt: Str,
  stateMachineState: N(State),
  paymentMethod: N(Type.Object({ refundable: N(Type.Boolean()), name: N(Str) })),
  captures: N(Type.Array(Capture)),
});

export const Order = Type.Object({
  id: Id,
  orderNumber: Str,
  orderDateTime: Str,
  createdAt: Str,
  updatedAt: N(Str),
  currencyId: Id,
  languageId: Id,
  salesChannelId: Id,
  currencyFactor: Num,
  billingAddressId: Id,
  amountTotal: Num,
  shippingTotal: N(Num),
  taxStatus: N(Str),
  price: N(Type.Object({ calculatedTaxes: Type.Optional(Type.Array(Tax)), taxStatus: N(Str) })),
  stateMachineState: N(State),
  currency: N(Type.Object({ isoCode: Str, itemRounding: Type.Unknown(), totalRounding: Type.Unknown() })),
  language: N(Type.Object({ locale: N(Type.Object({ code: Str })) })),
  orderCustomer: N(
    Type.Object({
      email: N(Str),
      firstName: N(Str),
      lastName: N(Str),
      customerId: N(Id),
      salutationId: N(Id),
    }),
  ),
  billingAddress: N(Address),
  addresses: N(Type.Array(Type.Object({ id: Id }))),
  lineItems: N(Type.Array(LineItem)),
  deliveries: N(Type.Array(Delivery)),
  transactions: N(Type.Array(Transaction)),
  tags: N(Type.Array(Type.Object({ name: Str }))),
  customFields: Type.Optional(Type.Unknown()),
});

export const Product = Type.Object({ id: Id, stock: N(Type.Integer()), availableStock: N(Type.Integer()) });
export const Country = Type.Object({ id: Id, iso: N(Str) });
export const StateMachineState = Type.Object({
  id: Id,
  technicalName: Str,
  stateMachine: N(Type.Object({ technicalName: Str })),
});
export const Token = Type.Object({ access_token: Str, expires_in: Type.Integer({ minimum: 1 }) });
const SearchResult = <T extends TSchema>(item: T) =>
  Type.Object({ total: N(Type.Integer()), data: Type.Array(item) });
export const OrderSearch = SearchResult(Order);
export const IdSearch = SearchResult(Type.Object({ id: Id }));
export const ProductSearch = SearchResult(Product);
export const CountrySearch = SearchResult(Country);
export const StateSearch = SearchResult(StateMachineState);

export type SwOrder = Static<typeof Order>;
export type SwAddress = Static<typeof Address>;
export type SwLineItem = SwOrder['lineItems'] extends (infer L)[] | null | undefined ? L : never;
export type SwDelivery = NonNullable<SwOrder['deliveries']>[number];
export type SwTransaction = NonNullable<SwOrder['transactions']>[number];

const validators = new WeakMap<TSchema, ReturnType<typeof bodyValidator>>();

/** Checks a platform response against its schema; a mismatch is the platform's fault, reported as such. */
export function parse<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  let check = validators.get(schema);
  if (!check) {
    check = bodyValidator(schema);
    validators.set(schema, check);
  }
  if (!check(value)) {
    throw new PlatformError('unavailable', `Shopware answered ${what} in an unexpected shape`, null, {
      errors: check.errors?.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`),
    });
  }
  return value as Static<T>;
}
