import { type Static, type TSchema, Type } from 'typebox';
import { bodyValidator } from '../../http/validation.js';
import { PlatformError } from '../platform.js';

/**
 * The parts of Vendure Admin API answers the connector reads, checked at the boundary (DESIGN convention 3).
 * Unknown fields are allowed; missing or mistyped ones we rely on are not. Ids are opaque strings (Vendure's
 * id strategy may be integers, UUIDs or prefixed test ids). Money is Vendure's integer (precision 2).
 */
const N = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const Id = Type.String({ minLength: 1 });
const Str = Type.String();
const Int = Type.Integer();

const OrderLineRef = Type.Object({ orderLineId: Id, quantity: Int });

export const Address = Type.Object({
  fullName: N(Str),
  company: N(Str),
  streetLine1: N(Str),
  streetLine2: N(Str),
  city: N(Str),
  province: N(Str),
  postalCode: N(Str),
  countryCode: N(Str),
  phoneNumber: N(Str),
});

export const Refund = Type.Object({
  id: Id,
  state: Str,
  total: Int,
  reason: N(Str),
  shipping: N(Int),
  lines: N(Type.Array(OrderLineRef)),
});

export const Payment = Type.Object({
  id: Id,
  state: Str,
  amount: Int,
  method: Str,
  transactionId: N(Str),
  refunds: Type.Array(Refund),
});

const Line = Type.Object({
  id: Id,
  quantity: Int,
  orderPlacedQuantity: Int,
  unitPriceWithTax: Int,
  linePriceWithTax: Int,
  proratedLinePrice: Int,
  proratedLinePriceWithTax: Int,
  proratedUnitPriceWithTax: Int,
  featuredAsset: N(Type.Object({ preview: N(Str) })),
  productVariant: Type.Object({
    id: Id,
    sku: N(Str),
    name: N(Str),
    product: N(Type.Object({ id: Id, name: N(Str) })),
  }),
});

const Fulfillment = Type.Object({
  id: Id,
  state: Str,
  method: N(Str),
  trackingCode: N(Str),
  createdAt: Str,
  updatedAt: Str,
  lines: N(Type.Array(OrderLineRef)),
});

export const Order = Type.Object({
  id: Id,
  code: Str,
  state: Str,
  active: Type.Boolean(),
  orderPlacedAt: N(Str),
  createdAt: Str,
  updatedAt: Str,
  currencyCode: Str,
  subTotalWithTax: Int,
  shippingWithTax: Int,
  total: Int,
  totalWithTax: Int,
  discounts: Type.Array(Type.Object({ amountWithTax: Int })),
  customer: N(
    Type.Object({
      id: Id,
      emailAddress: N(Str),
      firstName: N(Str),
      lastName: N(Str),
      phoneNumber: N(Str),
      user: N(Type.Object({ id: Id })),
    }),
  ),
  shippingAddress: N(Address),
  billingAddress: N(Address),
  lines: Type.Array(Line),
  fulfillments: N(Type.Array(Fulfillment)),
  payments: N(Type.Array(Payment)),
  shippingLines: Type.Optional(Type.Array(Type.Object({ shippingMethod: N(Type.Object({ id: Id })) }))),
});

export const OrderList = Type.Object({
  orders: Type.Object({ totalItems: Int, items: Type.Array(Order) }),
});
export const OneOrder = Type.Object({ order: N(Order) });

/** What the order actions read first: the state that decides whether the action may run. */
export const OrderState = Type.Object({
  order: N(
    Type.Object({
      id: Id,
      code: Str,
      state: Str,
      currencyCode: Str,
      fulfillments: N(Type.Array(Type.Object({ id: Id, state: Str }))),
      payments: N(Type.Array(Type.Object({ id: Id, state: Str }))),
    }),
  ),
});

export const StockOrder = Type.Object({
  order: N(
    Type.Object({
      id: Id,
      lines: Type.Array(
        Type.Object({
          id: Id,
          productVariant: Type.Object({
            id: Id,
            trackInventory: Str,
            stockOnHand: Int,
            stockAllocated: Int,
            outOfStockThreshold: Int,
            useGlobalOutOfStockThreshold: Type.Boolean(),
          }),
        }),
      ),
    }),
  ),
});
export const GlobalStock = Type.Object({
  globalSettings: Type.Object({ trackInventory: Type.Boolean(), outOfStockThreshold: Int }),
});

export const Probe = Type.Object({
  activeChannel: Type.Object({ code: Str, token: Str }),
  orders: Type.Object({ totalItems: Int }),
});

/** Drafts and half-made replacements, with the notes that carry Resolve's idempotency key. */
export const DraftList = Type.Object({
  orders: Type.Object({
    items: Type.Array(
      Type.Object({
        id: Id,
        code: Str,
        state: Str,
        totalWithTax: Int,
        history: Type.Object({ items: Type.Array(Type.Object({ data: Type.Unknown() })) }),
      }),
    ),
  }),
});
export const IdCodeList = Type.Object({
  orders: Type.Object({ items: Type.Array(Type.Object({ id: Id, code: Str, state: Str })) }),
});
export const PromotionList = Type.Object({
  promotions: Type.Object({ items: Type.Array(Type.Object({ id: Id })) }),
});
export const ShippingQuotes = Type.Object({
  eligibleShippingMethodsForDraftOrder: Type.Array(Type.Object({ id: Id })),
});

const Deleted = Type.Object({ result: Str });
export const DeletedDraft = Type.Object({ deleteDraftOrder: Deleted });
export const DeletedPromotion = Type.Object({ deletePromotion: Deleted });
export const NoteAdded = Type.Object({ addNoteToOrder: Type.Object({ id: Id }) });
export const DraftAddressSet = Type.Object({ setDraftOrderShippingAddress: Type.Object({ id: Id }) });

/** A mutation's success shape (the `... on X` fields); an ErrorResult is handled before this is checked. */
export const IdResult = Type.Object({ id: Id });
export const OrderTotals = Type.Object({ id: Id, code: Str, state: Str, totalWithTax: Int });
export const CreatedDraft = Type.Object({ createDraftOrder: OrderTotals });
export const Modified = Type.Object({ id: Id, modifications: Type.Array(Type.Object({ id: Id })) });

export type VOrder = Static<typeof Order>;
export type VAddress = Static<typeof Address>;
export type VPayment = Static<typeof Payment>;

const validators = new WeakMap<TSchema, ReturnType<typeof bodyValidator>>();

/** Checks an answer against its schema; a mismatch is the platform's fault, reported as such. */
export function parse<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  let check = validators.get(schema);
  if (!check) {
    check = bodyValidator(schema);
    validators.set(schema, check);
  }
  if (!check(value))
    throw new PlatformError('unavailable', `Vendure answered ${what} in an unexpected shape`, null, {
      errors: check.errors?.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`),
    });
  return value as Static<T>;
}
