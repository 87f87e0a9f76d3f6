import { type Static, type TSchema, Type } from 'typebox';

/**
 * Shapes of the Shopify responses the connector reads (DESIGN convention 3: connector responses are validated
 * at the boundary). Only the fields the queries select; extra fields are allowed.
 */

const N = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const S = Type.String();
const NS = N(S);

export const MoneyBag = Type.Object({ shopMoney: Type.Object({ amount: S, currencyCode: S }) });
export const PageInfo = Type.Object({ hasNextPage: Type.Boolean(), endCursor: NS });

export const MailingAddress = Type.Object({
  name: Type.Optional(NS),
  firstName: Type.Optional(NS),
  lastName: Type.Optional(NS),
  company: Type.Optional(NS),
  address1: Type.Optional(NS),
  address2: Type.Optional(NS),
  city: Type.Optional(NS),
  province: Type.Optional(NS),
  provinceCode: Type.Optional(NS),
  zip: Type.Optional(NS),
  countryCodeV2: Type.Optional(NS),
  phone: Type.Optional(NS),
});

export const LineNode = Type.Object({
  id: S,
  title: S,
  sku: NS,
  variantTitle: NS,
  quantity: Type.Integer(),
  currentQuantity: Type.Integer(),
  originalUnitPriceSet: MoneyBag,
  totalDiscountSet: MoneyBag,
  taxLines: Type.Array(Type.Object({ priceSet: MoneyBag })),
  image: N(Type.Object({ url: S })),
  product: N(Type.Object({ id: S })),
  variant: N(Type.Object({ id: S })),
});

export const FulfillmentLineNode = Type.Object({
  quantity: Type.Integer(),
  lineItem: Type.Object({ id: S }),
});

export const FulfillmentNode = Type.Object({
  id: S,
  status: S,
  displayStatus: NS,
  createdAt: S,
  updatedAt: S,
  inTransitAt: NS,
  deliveredAt: NS,
  trackingInfo: Type.Array(Type.Object({ company: NS, number: NS, url: NS })),
  fulfillmentLineItems: Type.Object({ pageInfo: PageInfo, nodes: Type.Array(FulfillmentLineNode) }),
  events: Type.Object({
    nodes: Type.Array(
      Type.Object({ id: S, status: S, happenedAt: S, message: NS, city: NS, province: NS, country: NS }),
    ),
  }),
});

export const OrderNode = Type.Object({
  id: S,
  name: S,
  createdAt: S,
  updatedAt: S,
  cancelledAt: NS,
  currencyCode: S,
  customerLocale: NS,
  email: NS,
  phone: NS,
  tags: Type.Array(S),
  customer: N(Type.Object({ id: S, firstName: NS, lastName: NS })),
  shippingAddress: N(MailingAddress),
  billingAddress: N(MailingAddress),
  subtotalPriceSet: N(MoneyBag),
  totalShippingPriceSet: MoneyBag,
  totalDiscountsSet: N(MoneyBag),
  totalTaxSet: N(MoneyBag),
  totalPriceSet: MoneyBag,
  lineItems: Type.Object({ pageInfo: PageInfo, nodes: Type.Array(LineNode) }),
  fulfillments: Type.Array(FulfillmentNode),
});

export type MoneyBagT = Static<typeof MoneyBag>;
export type MailingAddressT = Static<typeof MailingAddress>;
export type LineNodeT = Static<typeof LineNode>;
export type FulfillmentNodeT = Static<typeof FulfillmentNode>;
export type OrderNodeT = Static<typeof OrderNode>;

export const ShopName = Type.Object({ shop: Type.Object({ name: S }) });
export const OrdersPage = Type.Object({
  orders: Type.Object({ pageInfo: PageInfo, nodes: Type.Array(OrderNode) }),
});
export const OneOrder = Type.Object({ order: N(OrderNode) });
export const OrderLinesPage = Type.Object({
  order: N(Type.Object({ lineItems: Type.Object({ pageInfo: PageInfo, nodes: Type.Array(LineNode) }) })),
});
export const FulfillmentLinesPage = Type.Object({
  fulfillment: N(
    Type.Object({
      fulfillmentLineItems: Type.Object({ pageInfo: PageInfo, nodes: Type.Array(FulfillmentLineNode) }),
    }),
  ),
});

const UserErrors = Type.Array(Type.Object({ field: N(Type.Array(S)), message: S }));
export type UserErrorsT = Static<typeof UserErrors>;

export const RefundContext = Type.Object({
  order: N(
    Type.Object({
      id: S,
      currencyCode: S,
      presentmentCurrencyCode: S,
      refunds: Type.Array(Type.Object({ id: S, note: NS, totalRefundedSet: MoneyBag })),
      suggestedRefund: N(
        Type.Object({
          amountSet: MoneyBag,
          shipping: Type.Object({ amountSet: MoneyBag }),
          suggestedTransactions: Type.Array(
            Type.Object({
              gateway: NS,
              kind: S,
              parentTransaction: N(Type.Object({ id: S })),
              amountSet: Type.Object({
                shopMoney: Type.Object({ amount: S, currencyCode: S }),
                presentmentMoney: Type.Object({ amount: S, currencyCode: S }),
              }),
            }),
          ),
        }),
      ),
    }),
  ),
});
export const RefundCreate = Type.Object({
  refundCreate: N(
    Type.Object({
      refund: N(Type.Object({ id: S, note: NS, totalRefundedSet: MoneyBag })),
      userErrors: UserErrors,
    }),
  ),
});

const DraftRef = Type.Object({ id: S, status: S, order: N(Type.Object({ id: S, name: S })) });
export const ReplacementContext = Type.Object({
  order: N(
    Type.Object({
      id: S,
      name: S,
      email: NS,
      currencyCode: S,
      customer: N(Type.Object({ id: S })),
      shippingAddress: N(MailingAddress),
      lineItems: Type.Object({
        pageInfo: PageInfo,
        nodes: Type.Array(
          Type.Object({ id: S, title: S, quantity: Type.Integer(), variant: N(Type.Object({ id: S })) }),
        ),
      }),
    }),
  ),
  draftOrders: Type.Object({ nodes: Type.Array(DraftRef) }),
});
export const DraftOrderCreate = Type.Object({
  draftOrderCreate: N(
    Type.Object({
      draftOrder: N(Type.Object({ id: S, status: S, totalPriceSet: MoneyBag })),
      userErrors: UserErrors,
    }),
  ),
});
export const DraftOrderComplete = Type.Object({
  draftOrderComplete: N(Type.Object({ draftOrder: N(DraftRef), userErrors: UserErrors })),
});
export const DraftOrderRead = Type.Object({ draftOrder: N(DraftRef) });

export const OrderState = Type.Object({ order: N(Type.Object({ id: S, cancelledAt: NS })) });
export const OrderCancel = Type.Object({
  orderCancel: N(
    Type.Object({
      job: N(Type.Object({ id: S })),
      orderCancelUserErrors: Type.Array(Type.Object({ field: N(Type.Array(S)), message: S, code: NS })),
    }),
  ),
});
export const OrderUpdate = Type.Object({
  orderUpdate: N(Type.Object({ order: N(Type.Object({ id: S })), userErrors: UserErrors })),
});

export const StockLevels = Type.Object({
  order: N(
    Type.Object({
      lineItems: Type.Object({
        pageInfo: PageInfo,
        nodes: Type.Array(
          Type.Object({
            id: S,
            variant: N(
              Type.Object({
                inventoryItem: N(
                  Type.Object({
                    tracked: Type.Boolean(),
                    inventoryLevels: Type.Object({
                      nodes: Type.Array(
                        Type.Object({
                          quantities: Type.Array(Type.Object({ name: S, quantity: Type.Integer() })),
                        }),
                      ),
                    }),
                  }),
                ),
              }),
            ),
          }),
        ),
      }),
    }),
  ),
});

const Subscription = Type.Object({ id: S, topic: S, uri: NS });
export const WebhookSubscriptions = Type.Object({
  webhookSubscriptions: Type.Object({ nodes: Type.Array(Subscription) }),
});
export const WebhookSubscriptionCreate = Type.Object({
  webhookSubscriptionCreate: N(Type.Object({ webhookSubscription: N(Subscription), userErrors: UserErrors })),
});
