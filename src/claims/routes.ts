import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import type { ReadyDeps } from '../http/context.js';
import { requestHash } from '../http/idempotency.js';
import { PageQuery, pageRequest, splitPage } from '../http/pagination.js';
import { errorResponses, Str, StrEnum } from '../http/schema-helpers.js';
import { findOrderRow, loadOrderViews } from '../orders/read.js';
import { loadOrderView, pickLanguage } from '../resolve/customer-view.js';
import { FLOWS, resolveSettingsOf } from '../resolve/settings.js';
import { ClaimInput, type ClaimInputT, createClaim } from './create-claim.js';
import { findClaimRow, loadClaimViews, searchClaimRows } from './read.js';
import { CLAIM_STATUSES } from './status.js';
import { ClaimPatch, type ClaimPatchT, transitionClaim } from './update-claim.js';

const security: { [k: string]: string[] }[] = [{ basicAuth: [] }, { bearerAuth: [] }];
const tags = ['Claims'];
const Slug = Type.Object({ slug: Type.String() });
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

    app.get(
      '/v1/shops/:slug/claims',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'List claims',
          description: 'Newest first. `status` and `flow` take comma-separated values.',
          params: Slug,
          querystring: Type.Object(
            {
              status: Type.Optional(
                Type.String({ pattern: `^(${CLAIM_STATUSES.join('|')})(,(${CLAIM_STATUSES.join('|')}))*$` }),
              ),
              flow: Type.Optional(Type.String({ pattern: `^(${FLOWS.join('|')})(,(${FLOWS.join('|')}))*$` })),
              order_id: Type.Optional(Type.String({ maxLength: 64 })),
              created_from: Type.Optional(Type.String({ format: 'date-time' })),
              created_to: Type.Optional(Type.String({ format: 'date-time' })),
              ...PageQuery,
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              data: Type.Array(Type.Ref('Claim')),
              has_more: Type.Boolean(),
              next_cursor: Type.Union([Type.String(), Type.Null()]),
              page: Type.Optional(Type.Integer()),
              per_page: Type.Optional(Type.Integer()),
            }),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const q = req.query as Record<string, string | undefined> & {
          page?: number;
          per_page?: number;
          cursor?: string;
        };
        const page = pageRequest(q);
        const rows = await searchClaimRows(db, req.shop.id, {
          ...q,
          after: page.after,
          offset: page.offset,
          limit: page.limit,
        });
        const { rows: pageRows, ...meta } = splitPage(rows, page);
        return { data: await loadClaimViews(db, req.shop.id, pageRows, viewOpts(req.shop.slug)), ...meta };
      },
    );

    app.get(
      '/v1/shops/:slug/claims/:id',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Get a claim with its order, shipment and history',
          params: SlugId,
          response: { 200: Type.Ref('Claim'), ...errorResponses },
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
            'Same rules as the customer flow. `override_gating` lets the merchant take a claim outside the windows or for a disabled flow (goodwill); units already claimed stay off limits.',
          params: Slug,
          body: Type.Object(
            {
              ...ClaimInput.properties,
              order_id: Str(64, { minLength: 1, description: 'Resolve order id or external_id.' }),
              channel: Type.Optional(StrEnum(['api', 'portal'])),
              language: Type.Optional(Type.String({ pattern: '^[a-z]{2}$' })),
              override_gating: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Ref('Claim'),
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
            actor: { type: 'api_key', id: req.apiKey.id },
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
            'Status moves pending → accepted | rejected → closed; back to pending only with an admin key. Send the `version` you read: a stale one answers 409 `stale_version`.',
          params: SlugId,
          body: ClaimPatch,
          response: {
            200: Type.Ref('Claim'),
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
            { type: 'api_key', id: req.apiKey.id },
            req.apiKey.role === 'admin',
          ),
        );
        deps.nudgeWorker?.();
        return fullClaim(req.shop, row.id);
      },
    );
  };
}
