import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import type { ReadyDeps } from '../http/context.js';
import { requestHash } from '../http/idempotency.js';
import { errorResponses, Str, StrEnum } from '../http/schema-helpers.js';
import { findOrderRow, loadOrderViews } from '../orders/read.js';
import { loadOrderView, pickLanguage } from '../resolve/customer-view.js';
import { LANGUAGES } from '../resolve/labels.js';
import { resolveSettingsOf } from '../resolve/settings.js';
import { CLAIM_EXAMPLE } from './api-schemas.js';
import { ClaimInput, type ClaimInputT, createClaim } from './create-claim.js';
import { claimFacetRoutes } from './facet-routes.js';
import { claimQueryRoutes } from './query-routes.js';
import { findClaimRow, loadClaimViews } from './read.js';
import { ClaimPatch, type ClaimPatchT, transitionClaim } from './update-claim.js';
import { claimViewRoutes } from './view-routes.js';

const security: { [k: string]: string[] }[] = [{ basicAuth: [] }, { bearerAuth: [] }];
const tags = ['Claims'];
const Slug = Type.Object({ slug: Type.String() });
/** The shared Claim schema, with an example for the OpenAPI document. */
const ClaimWithExample = Type.Unsafe({ allOf: [Type.Ref('Claim')], examples: [CLAIM_EXAMPLE] });
const SlugId = Type.Object({
  slug: Type.String(),
  id: Type.String({ description: 'Claim id (clm_…) or number (R-1001).' }),
});

export function claimRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  const viewOpts = (slug: string, withHistory = false) => ({
    master: deps.masterSecret,
    publicUrl: deps.config.publicUrl,
    shopSlug: slug,
    audience: 'merchant' as const,
    withHistory,
  });

  return async (plain) => {
    const app = plain as unknown as App;

    /** A claim joined with its order and shipment (SPEC §8). */
    const fullClaim = async (shop: Parameters<typeof resolveSettingsOf>[0], id: string) => {
      const row = await findClaimRow(db, shop.id, id);
      const [claim] = await loadClaimViews(db, shop.id, [row], viewOpts(shop.slug, true));
      const [order] = await loadOrderViews(db, shop.id, [await findOrderRow(db, shop.id, row.orderId)], {
        stuckAfterDays: resolveSettingsOf(shop).stuck_after_days,
      });
      return { ...claim, order, shipment: order.shipments.find((s) => s.id === row.shipmentId) ?? null };
    };

    // List, counts, CSV export and analytics; saved views.
    await app.register(claimQueryRoutes(deps));
    await app.register(claimViewRoutes(deps));
    await app.register(claimFacetRoutes(deps));

    app.get(
      '/v1/shops/:slug/claims/:id',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Get a claim with its order, shipment and history',
          description:
            'The claim joined with its order and shipment as they are now (`context` keeps them as they were at submission), and its history: every change and every note, oldest first.',
          params: SlugId,
          response: { 200: ClaimWithExample, ...errorResponses },
        },
      },
      async (req) => fullClaim(req.shop, (req.params as { id: string }).id),
    );

    app.post(
      '/v1/shops/:slug/claims',
      {
        config: { auth: 'editor' },
        schema: {
          tags,
          security,
          summary: 'Create a claim taken by phone or email',
          description:
            'Same rules as the customer flow, except that no evidence is required. Photos the customer sent you: upload each to the order (POST /v1/shops/{slug}/orders/{id}/uploads) and name it in `evidence: [{upload_id, kind}]`; an upload is used by one claim at most. `override_gating` lets the merchant take a claim outside the windows or for a disabled flow (goodwill); units already claimed stay off limits.',
          params: Slug,
          body: Type.Object(
            {
              ...ClaimInput.properties,
              order_id: Str(64, { minLength: 1, description: 'Resolve order id or external_id.' }),
              channel: Type.Optional(StrEnum(['api', 'portal'])),
              language: Type.Optional(StrEnum(LANGUAGES)),
              override_gating: Type.Optional(Type.Boolean()),
            },
            {
              additionalProperties: false,
              examples: [
                {
                  order_id: '5123',
                  flow: 'defective',
                  reason: 'broken_on_arrival',
                  items: [{ line_item_id: 'li_01jf2a7c5d3e9f1g8h6j4k2m0q', quantity: 1 }],
                  description: 'Customer called: the mug arrived in pieces.',
                  resolution_preference: 'replacement',
                  channel: 'portal',
                },
              ],
            },
          ),
          response: {
            201: ClaimWithExample,
            ...errorResponses,
            409: Type.Ref('Error'),
            422: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const body = req.body as ClaimInputT & {
          order_id: string;
          channel?: 'api' | 'portal';
          language?: string;
          override_gating?: boolean;
        };
        const { order_id, channel, language, override_gating, ...input } = body;
        const order = await findOrderRow(db, req.shop.id, order_id);
        const { claimId } = await db.transaction((tx) =>
          createClaim(tx, {
            shop: req.shop,
            settings: resolveSettingsOf(req.shop),
            loadOrder: (t) => loadOrderView(t, req.shop, order.id),
            orderId: order.id,
            input,
            channel: channel ?? 'api',
            language: pickLanguage(req.shop, order, language),
            actor: { type: req.principal.type, id: req.principal.id },
            idempotencyKey: null,
            requestHash: requestHash('POST', 'claim', input),
            sessionId: null,
            overrideGating: override_gating ?? false,
          }),
        );
        deps.nudgeWorker?.();
        reply.code(201);
        return fullClaim(req.shop, claimId);
      },
    );

    app.patch(
      '/v1/shops/:slug/claims/:id',
      {
        config: { auth: 'editor' },
        schema: {
          tags,
          security,
          summary: 'Update a claim (status, preference, tags, assignee, note)',
          description:
            'Status moves pending → accepted | rejected → closed; back to pending only with an admin key. `note` records why (or stands alone as an internal note); every change is one history row. Tags: `tags` replaces them, `add_tags`/`remove_tags` edit them. `assignee` is free text (not checked against the team, so integrations can use their own ids); GET …/assignees lists the members the portal offers. Send the `version` you read: if the claim changed since, the answer is 409 `stale_version` and nothing is applied. Sending what is already there changes nothing (no new version).',
          params: SlugId,
          body: ClaimPatch,
          response: {
            200: ClaimWithExample,
            ...errorResponses,
            403: Type.Ref('Error'),
            409: Type.Ref('Error'),
          },
        },
      },
      async (req) => {
        const row = await findClaimRow(db, req.shop.id, (req.params as { id: string }).id);
        await db.transaction((tx) =>
          transitionClaim(
            tx,
            req.shop.id,
            row.id,
            req.body as ClaimPatchT,
            { type: req.principal.type, id: req.principal.id },
            req.principal.role === 'admin',
            resolveSettingsOf(req.shop),
          ),
        );
        deps.nudgeWorker?.();
        return fullClaim(req.shop, row.id);
      },
    );
  };
}
