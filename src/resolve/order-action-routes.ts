import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import { defaultPlatformDeps } from '../connectors/connections.js';
import { shopPlatform } from '../connectors/shop-client.js';
import type { Db } from '../db/client.js';
import type { ReadyDeps } from '../http/context.js';
import { beginIdempotent, requestHash, sendReplay } from '../http/idempotency.js';
import { errorResponses, Str } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import type { Shop } from '../shops/shops.js';
import { OrderSessionView, optionalBody } from './api-schemas.js';
import { bearer, customerContext, Slug, tags, validated } from './customer-context.js';
import {
  type AddressChange,
  AddressChangeInput,
  cancelOrderByCustomer,
  changeAddressByCustomer,
} from './order-actions.js';
import { previewOnly } from './preview.js';

/** Both actions answer the order as it is now, or refuse: 403 (level, preview), 422 (order state, platform). */
const actionResponses = {
  200: OrderSessionView,
  ...errorResponses,
  403: Type.Ref('Error'),
  422: Type.Ref('Error'),
};

/** Token-level order actions of the customer flow (SPEC §3): cancel the order, change its shipping address. */
export function orderActionRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  const { context, sessionAnswer } = customerContext(deps);

  /** The shop's connected platform, which carries out token-level order actions (null: headless or demo). */
  const platformOf = async (req: FastifyRequest, shop: Shop) =>
    shop.connector === 'demo'
      ? null
      : ((await shopPlatform(db, deps.masterSecret, shop, defaultPlatformDeps(deps.config, req.log)))
          ?.client ?? null);

  /**
   * A token-level order action (cancel, address change): the session must be a token one; the action runs in one
   * transaction through the shop's platform, and the answer is the order as it is now.
   */
  const orderAction = async (
    req: FastifyRequest,
    reply: FastifyReply,
    act: (
      tx: Db,
      shop: Shop,
      orderId: string,
      platform: Awaited<ReturnType<typeof platformOf>>,
    ) => Promise<unknown>,
  ) => {
    const { shop, session } = await context(req);
    if (!session) throw previewOnly();
    if (session.level !== 'token')
      throw new AppError(
        'token_required',
        'This needs the link the shop sent you; a lookup by order number and ZIP code cannot do it.',
      );
    validated(req);
    // A retry with the same Idempotency-Key (a lost answer, a double tap) gets the first answer again, not a 422
    // for an order already cancelled. Scoped to the link's token, so reopening the link keeps the key's answer.
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string') {
      const scope = `customer:${session.tokenId ?? session.id}:${shop.id}`;
      const began = await beginIdempotent(
        db,
        scope,
        key,
        requestHash('POST', req.routeOptions.url!, req.body),
      );
      if (began.kind === 'replay') return sendReplay(reply, began);
      req.idempotency = { scope, key };
    }
    const platform = await platformOf(req, shop);
    await db.transaction((tx) => act(tx, shop, session.orderId, platform));
    deps.nudgeWorker?.();
    return sessionAnswer(req, shop, session);
  };

  return async (plain) => {
    const app = plain as unknown as App;

    app.post(
      '/v1/resolve/:slug/order/cancel',
      {
        preValidation: optionalBody,
        attachValidation: true,
        schema: {
          tags,
          security: bearer,
          summary: 'Cancel the order (token sessions only; nothing fulfilled yet)',
          description:
            'Needs a token session (from a Resolve link; a ZIP-lookup session answers 403 `token_required`, a preview 403 `preview_only`) and an order still `placed` (422 `action_not_allowed`). The cancel is carried out in the shop’s connected platform first: one that cannot or will not answers 422 `action_unavailable` and nothing changes. Every cancel emits `orders/cancelled` (webhooks; with `reason` and `initiated_by: customer`), which is how a headless shop learns of it; the answer is the order as it is now. With an `Idempotency-Key` header (1–255 characters, kept 24 hours per link), a retry answers the first answer again (header `idempotent-replayed: true`) and the same key with another body 409 `idempotency_conflict`.',
          params: Slug,
          body: Type.Optional(
            Type.Object({ reason: Type.Optional(Str(500)) }, { additionalProperties: false }),
          ),
          response: actionResponses,
        },
      },
      (req, reply) =>
        orderAction(req, reply, (tx, shop, orderId, platform) =>
          cancelOrderByCustomer(
            tx,
            shop,
            orderId,
            (req.body as { reason?: string } | undefined)?.reason ?? null,
            platform,
          ),
        ),
    );

    app.post(
      '/v1/resolve/:slug/order/address',
      {
        attachValidation: true,
        schema: {
          tags,
          security: bearer,
          summary: 'Change the shipping address (token sessions only; before fulfilment)',
          description:
            'Needs a token session (from a Resolve link; a ZIP-lookup session answers 403 `token_required`, a preview 403 `preview_only`) and an order still `placed` (422 `action_not_allowed`). The country cannot change, and DE, AT, CH, FR, IT, ES, NL, BE, DK, US and GB postcodes must have their country’s shape (400 `validation_failed` at the field); an omitted `phone` keeps the old one. The change is carried out in the shop’s connected platform first (422 `action_unavailable` if it cannot or will not; nothing changes), then emits `orders/address_changed` with `from` and `to`. Lookups by order number and ZIP code then need the new ZIP; the answer is the order as it is now. With an `Idempotency-Key` header (1–255 characters, kept 24 hours per link), a retry answers the first answer again (header `idempotent-replayed: true`) and the same key with another body 409 `idempotency_conflict`.',
          params: Slug,
          body: AddressChangeInput,
          response: actionResponses,
        },
      },
      (req, reply) =>
        orderAction(req, reply, (tx, shop, orderId, platform) =>
          changeAddressByCustomer(tx, shop, orderId, req.body as AddressChange, platform),
        ),
    );
  };
}
