import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import { findClaimRow } from '../claims/read.js';
import { defaultPlatformDeps } from '../connectors/connections.js';
import { shopCapabilities, shopPlatform } from '../connectors/shop-client.js';
import type { ReadyDeps } from '../http/context.js';
import { errorResponses, merchantSecurity, NullableOut, Str, StrEnum } from '../http/schema-helpers.js';
import {
  ACTION_TYPES,
  type ActionType,
  actionView,
  listActions,
  orderShippingRefund,
  requestAction,
} from './actions.js';
import { releaseAction, retryAction } from './settle.js';
import { claimUnits } from './units.js';

const tags = ['Claims'];
const ClaimId = Type.String({ maxLength: 64, description: 'Resolve id (clm_…) or claim number (R-1001).' });
const Params = Type.Object({ slug: Type.String({ maxLength: 64 }), id: ClaimId });
const ActionParams = Type.Object({
  slug: Type.String({ maxLength: 64 }),
  id: ClaimId,
  action_id: Type.String({ maxLength: 64 }),
});
const UNKNOWN_OUTCOME =
  'A failure comes in two kinds. The shop refused (a validation or business error): `status` `failed`, `outcome_unknown` false, nothing was done and the units are free for a new request. Or the shop never gave a definite answer (no answer, time-out, 5xx, still throttled when Resolve gave up): `status` `failed` with `outcome_unknown` true — the shop may have carried it out, so its units stay reserved and a new request for them is 422 `action_outcome_unknown`. Such an action is either retried (POST …/actions/{action_id}/retry: the same action with the same idempotency key, so the shop finds an earlier refund or replacement instead of making a second one) or, after checking the shop’s admin, released with a note (POST …/actions/{action_id}/release: stays `failed`, `outcome_unknown` false, `error` says it was released with the note, the units are free again).';
export const ActionView = Type.Object({
  id: Type.String(),
  claim_id: Type.String(),
  type: StrEnum(ACTION_TYPES),
  status: StrEnum(['pending', 'succeeded', 'failed']),
  lines: Type.Array(Type.Object({ line_item_id: Type.String(), quantity: Type.Integer() })),
  include_shipping: Type.Boolean(),
  note: NullableOut(Type.String()),
  amount: NullableOut(
    Type.Integer({ description: 'Refunded amount in minor units, as the platform reported it.' }),
  ),
  currency: NullableOut(Type.String()),
  external_id: NullableOut(
    Type.String({ description: 'The refund’s or replacement order’s id in the shop.' }),
  ),
  external_number: NullableOut(Type.String()),
  error: NullableOut(Type.String()),
  outcome_unknown: Type.Boolean({
    description:
      'With `status` `failed`: the shop gave no definite answer and may have carried it out; its units stay reserved until the action is retried or released.',
  }),
  created_at: Type.String(),
  updated_at: Type.String(),
});

/** Refunds and replacements through the shop's platform, recorded as claim actions (SPEC §6). */
export function actionRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  /** A claim's id from the path, which may name it by number as every other claim route does. */
  const claimIdOf = async (shopId: string, idOrNumber: string) =>
    idOrNumber.startsWith('clm_') ? idOrNumber : (await findClaimRow(db, shopId, idOrNumber)).id;
  return async (plain) => {
    const app = plain as unknown as App;

    app.get(
      '/v1/shops/:slug/claims/:id/actions',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security: merchantSecurity,
          summary: 'A claim’s refunds and replacements',
          description:
            '`data`: the claim’s actions, oldest first. `capabilities`: whether the shop’s platform can carry out a refund or a replacement through Resolve at all (its connection’s platform; the demo shop’s built-in one; both false for a headless shop, which acts in its own systems) — a POST of a type it cannot do is 422 `action_unsupported`. Readable by every role, unlike the connection itself. ' +
            UNKNOWN_OUTCOME,
          params: Params,
          response: {
            200: Type.Object({
              data: Type.Array(ActionView),
              capabilities: Type.Object(
                {
                  refund: Type.Boolean({ description: 'The shop’s platform can refund through Resolve.' }),
                  replacement: Type.Boolean({
                    description: 'The shop’s platform can send a replacement through Resolve.',
                  }),
                },
                { description: 'What the shop’s platform can do; both false without a connected platform.' },
              ),
              lines: Type.Array(
                Type.Object({
                  line_item_id: Type.String(),
                  claimed: Type.Integer({ description: 'Units of the line on this claim.' }),
                  left: Type.Integer({
                    description:
                      'Units a refund or replacement through this claim may still take: what the claim has left after its own refunds and replacements, and at most what the order line has left across every claim of the order (a unit is refunded or replaced once).',
                  }),
                  refunded: Type.Integer({
                    description:
                      'Units of the order line refunded, through any claim (or as the platform reports, when more).',
                  }),
                  replaced: Type.Integer({
                    description: 'Units of the order line replaced, through any claim.',
                  }),
                }),
                { description: 'Per claimed line, what it has left: the most a POST may ask for each.' },
              ),
              shipping_refunded: Type.Union(
                [
                  Type.Object({
                    action_id: Type.String(),
                    claim_id: Type.String(),
                    claim_number: Type.String({ examples: ['R-1001'] }),
                  }),
                  Type.Null(),
                ],
                {
                  description:
                    'The refund that took (or, its outcome unknown, may have taken) the order’s shipping cost, through this claim or another claim of the same order; null when none did. Shipping is refunded at most once per order: `include_shipping` is then refused.',
                },
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const claim = await findClaimRow(db, req.shop.id, (req.params as { id: string }).id);
        const id = claim.id;
        const data = (await listActions(db, req.shop.id, id)).map(actionView);
        const units = await claimUnits(db, req.shop.id, claim);
        const can = (await shopCapabilities(db, req.shop)) ?? [];
        return {
          data,
          capabilities: { refund: can.includes('refund'), replacement: can.includes('replacement') },
          lines: [...units.left].map(([line_item_id, u]) => ({ line_item_id, ...u })),
          shipping_refunded: await orderShippingRefund(db, req.shop.id, id),
        };
      },
    );

    app.post(
      '/v1/shops/:slug/claims/:id/actions',
      {
        config: { auth: 'editor' },
        schema: {
          tags,
          security: merchantSecurity,
          summary: 'Refund or replace a claim’s items in the shop',
          description:
            'Recorded at once (202, status `pending`) and carried out by the worker through the shop’s platform; the result arrives as a `claims/action` event and in GET …/actions. Lines default to the claim’s items; each line at most once. A unit is refunded or replaced, never both: no line is acted on for more units than the claim has left after its refunds and replacements together, nor than the order line has left across all claims of the order (counting what the platform reports refunded too); shipping is refunded at most once per order and is not a unit. Otherwise 422 `action_lines_invalid` at the field, or 422 `action_outcome_unknown` (with the same field errors) when an earlier action of unknown outcome holds those units. A platform that cannot do it answers 422 `action_unsupported`. ' +
            UNKNOWN_OUTCOME,
          params: Params,
          body: Type.Object(
            {
              type: StrEnum(ACTION_TYPES),
              lines: Type.Optional(
                Type.Array(
                  Type.Object(
                    {
                      line_item_id: Str(64, { minLength: 1 }),
                      quantity: Type.Integer({ minimum: 1, maximum: 100000 }),
                    },
                    { additionalProperties: false },
                  ),
                  { minItems: 1, maxItems: 200 },
                ),
              ),
              include_shipping: Type.Optional(Type.Boolean({ description: 'Refund the shipping cost too.' })),
              note: Type.Optional(Str(1000)),
            },
            {
              additionalProperties: false,
              examples: [{ type: 'refund', include_shipping: false, note: 'Broken on arrival' }],
            },
          ),
          response: { 202: ActionView, ...errorResponses, 409: Type.Ref('Error'), 422: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        const platform = await shopPlatform(
          db,
          deps.masterSecret,
          req.shop,
          defaultPlatformDeps(deps.config, req.log),
        );
        const body = req.body as {
          type: ActionType;
          lines?: { line_item_id: string; quantity: number }[];
          include_shipping?: boolean;
          note?: string;
        };
        const claimId = await claimIdOf(req.shop.id, (req.params as { id: string }).id);
        const row = await db.transaction((tx) =>
          requestAction(tx, {
            ...body,
            shopId: req.shop.id,
            claimId,
            capabilities: platform?.capabilities ?? null,
            actor: { type: req.principal.type, id: req.principal.id },
          }),
        );
        deps.nudgeWorker?.();
        reply.code(202);
        return actionView(row);
      },
    );

    app.post(
      '/v1/shops/:slug/claims/:id/actions/:action_id/retry',
      {
        config: { auth: 'editor' },
        schema: {
          tags,
          security: merchantSecurity,
          summary: 'Retry an action whose outcome is unknown',
          description:
            'Queues the same action again (202, status `pending`) with the same idempotency key: a refund or replacement the shop already made for it is found and recorded, not made twice. Only for `failed` with `outcome_unknown`; otherwise 409 `action_not_uncertain`. 404 `action_not_found` for an id not of this claim.',
          params: ActionParams,
          response: { 202: ActionView, ...errorResponses, 409: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        const p = req.params as { id: string; action_id: string };
        const claimId = await claimIdOf(req.shop.id, p.id);
        const row = await db.transaction((tx) =>
          retryAction(tx, {
            shopId: req.shop.id,
            claimId,
            actionId: p.action_id,
            actor: { type: req.principal.type, id: req.principal.id },
          }),
        );
        deps.nudgeWorker?.();
        reply.code(202);
        return actionView(row);
      },
    );

    app.post(
      '/v1/shops/:slug/claims/:id/actions/:action_id/release',
      {
        config: { auth: 'editor' },
        schema: {
          tags,
          security: merchantSecurity,
          summary: 'Release an action whose outcome is unknown',
          description:
            'After checking the shop’s admin that it was NOT carried out: the action stays `failed`, `outcome_unknown` becomes false, its `error` becomes “Released: not carried out, as checked in the shop’s admin (note).” (the failure’s own error stays in the claim’s history), its units are free for a new request, and a history row keeps the note; a `claims/action` event follows. Only for `failed` with `outcome_unknown`; otherwise 409 `action_not_uncertain`. 404 `action_not_found` for an id not of this claim.',
          params: ActionParams,
          body: Type.Object(
            {
              note: Str(1000, {
                minLength: 1,
                description: 'What was checked, e.g. “no refund in the shop admin”.',
              }),
            },
            { additionalProperties: false },
          ),
          response: { 200: ActionView, ...errorResponses, 409: Type.Ref('Error') },
        },
      },
      async (req) => {
        const p = req.params as { id: string; action_id: string };
        const claimId = await claimIdOf(req.shop.id, p.id);
        const row = await db.transaction((tx) =>
          releaseAction(tx, {
            shopId: req.shop.id,
            claimId,
            actionId: p.action_id,
            note: (req.body as { note: string }).note,
            actor: { type: req.principal.type, id: req.principal.id },
          }),
        );
        return actionView(row);
      },
    );
  };
}
