import { eq, sql } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import { goodwillSettings, goodwillView } from '../claims/create-claim.js';
import { claimedUnits } from '../claims/read.js';
import { shops } from '../db/schema.js';
import type { ReadyDeps } from '../http/context.js';
import { errorResponses, merchantSecurity, StrEnum } from '../http/schema-helpers.js';
import { findOrderRow } from '../orders/read.js';
import { optionalBody } from './api-schemas.js';
import { loadOrderView, pickLanguage } from './customer-view.js';
import { computeEligibility } from './eligibility.js';
import { LANGUAGES } from './labels.js';
import { issuePreviewSession } from './preview.js';
import { checkResolveSettings, deepMerge, resolveSettingsOf } from './settings.js';
import { issueOrderToken, revokeOrderTokens, rotateTokenKey } from './tokens.js';

const security = merchantSecurity;
const SlugId = Type.Object({ slug: Type.String(), id: Type.String() });
const Slug = Type.Object({ slug: Type.String() });

/** Merchant side of the customer flow: links, revocation, key rotation, settings (lock-outs: lockout-routes.ts). */
export function resolveMerchantRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  return async (plain) => {
    const app = plain as unknown as App;

    app.post(
      '/v1/shops/:slug/orders/:id/resolve-link',
      {
        config: { auth: 'editor' },
        preValidation: optionalBody,
        schema: {
          tags: ['Orders'],
          security,
          summary: 'Create a signed Resolve link for an order',
          description:
            'For merchant emails, helpdesk macros and post-purchase flows. The link opens a token-level session (which may also cancel or change the address while nothing is shipped).',
          params: SlugId,
          body: Type.Optional(
            Type.Object(
              {
                expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
                lang: Type.Optional(StrEnum(LANGUAGES)),
              },
              { additionalProperties: false },
            ),
          ),
          response: {
            201: Type.Object({
              url: Type.String(),
              token: Type.String(),
              token_id: Type.String(),
              expires_at: Type.String(),
            }),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const { id } = req.params as { id: string };
        const body = (req.body ?? {}) as { expires_in_days?: number; lang?: string };
        const order = await findOrderRow(db, req.shop.id, id);
        const days = body.expires_in_days ?? resolveSettingsOf(req.shop).token_ttl_days;
        const { token, claims } = issueOrderToken(deps.masterSecret, req.shop, order.id, days * 86_400);
        const url = `${deps.config.publicUrl}/resolve/${req.shop.slug}?token=${encodeURIComponent(token)}${body.lang ? `&lang=${body.lang}` : ''}`;
        reply.code(201);
        return { url, token, token_id: claims.jti, expires_at: new Date(claims.exp * 1000).toISOString() };
      },
    );

    app.get(
      '/v1/shops/:slug/orders/:id/eligibility',
      {
        config: { auth: 'viewer' },
        schema: {
          tags: ['Orders'],
          security,
          summary: 'What a claim on this order may cover, per flow',
          description:
            "The `flows` array the customer page gets (GET /v1/resolve/{slug}/order), for a merchant taking a claim by phone or email (POST /v1/shops/{slug}/claims): per flow whether it is available and, when not, its stable `reason_code` (`order_cancelled`, `not_fulfilled`, `outside_claim_window`, …); the reasons, items and quantities (`max_quantity`) still open after the order's claims and refunds; the resolutions and the steps (photos are not required of merchant claims). Every flow is listed, also when the shop hides unavailable ones from customers. With `override_gating=true` the answer is what a goodwill claim may cover (every flow enabled, no windows). Labels follow `Accept-Language`, then the order's and the shop's language. `id` is the Resolve id or the external_id. Any role; 404 `order_not_found`.",
          params: SlugId,
          querystring: Type.Object(
            { override_gating: Type.Optional(Type.Boolean()) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              order_id: Type.String(),
              language: Type.String(),
              flows: Type.Array(Type.Ref('FlowEligibility')),
            }),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const { override_gating } = req.query as { override_gating?: boolean };
        const row = await findOrderRow(db, req.shop.id, id);
        const view = await loadOrderView(db, req.shop, row.id);
        const lang = pickLanguage(req.shop, view, undefined, req.headers['accept-language']);
        const settings = resolveSettingsOf(req.shop);
        const flows = computeEligibility(
          override_gating ? goodwillView(view) : view,
          await claimedUnits(db, req.shop.id, view.id),
          override_gating ? goodwillSettings(settings) : settings,
          new Date(),
          lang,
        );
        return { order_id: view.id, language: lang, flows };
      },
    );

    app.post(
      '/v1/shops/:slug/resolve/preview',
      {
        config: { auth: 'editor' },
        preValidation: optionalBody,
        schema: {
          tags: ['Settings'],
          security,
          summary: 'Preview the customer page on a test order',
          description:
            'Answers a preview bearer, valid one hour, and the page URL that opens the preview (the bearer travels in the URL fragment, so it never reaches server logs). With it the customer-flow API runs on an in-memory test order — one shipment delivered 2 days ago, three items — with eligibility under the shop’s current settings. Uploads and claims are checked like real ones but nothing is stored and no event is sent; order actions answer 403 `preview_only`. Creating a preview writes nothing either.',
          params: Slug,
          body: Type.Optional(
            Type.Object(
              {
                lang: Type.Optional(StrEnum(LANGUAGES)),
              },
              { additionalProperties: false },
            ),
          ),
          response: {
            201: Type.Object({ session: Type.String(), expires_at: Type.String(), url: Type.String() }),
            ...errorResponses,
            403: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const lang = (req.body as { lang?: string } | undefined)?.lang;
        const { session, expiresAt } = issuePreviewSession(deps.masterSecret, req.shop.id);
        const url = `${deps.config.publicUrl}/resolve/${req.shop.slug}?preview=1${lang ? `&lang=${lang}` : ''}#preview=${session}`;
        reply.code(201).header('cache-control', 'no-store');
        return { session, expires_at: expiresAt.toISOString(), url };
      },
    );

    app.post(
      '/v1/shops/:slug/orders/:id/tokens/revoke',
      {
        config: { auth: 'editor' },
        preValidation: optionalBody,
        schema: {
          tags: ['Orders'],
          security,
          summary: 'Revoke Resolve links of an order',
          description:
            'With `token_id`, that link of this order only; without, every link issued for the order so far. Sessions opened with them end. Links are not stored when issued, so a well-formed id that is not one of this order’s links is accepted and changes nothing; an id that is not of the issued form (`tok_` + 16 characters, e.g. a whole token pasted) is a 400.',
          params: SlugId,
          body: Type.Optional(
            Type.Object(
              {
                // The id answered when the link was issued: a typo or a pasted token is refused, not accepted as a no-op.
                token_id: Type.Optional(
                  Type.String({
                    pattern: '^tok_[A-Za-z0-9_-]{16}$',
                    patternMessage: 'must be a token id: tok_ and 16 characters',
                    description: 'The `token_id` answered when the link was issued (`tok_` + 16 characters).',
                  }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
          response: { 200: Type.Object({ revoked: Type.String() }), ...errorResponses },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const tokenId = (req.body as { token_id?: string } | undefined)?.token_id ?? null;
        const order = await findOrderRow(db, req.shop.id, id);
        await db.transaction((tx) => revokeOrderTokens(tx, req.shop.id, order.id, tokenId));
        return { revoked: tokenId ?? 'all' };
      },
    );

    app.post(
      '/v1/shops/:slug/settings/token-keys/rotate',
      {
        config: { auth: 'admin' },
        preValidation: optionalBody,
        schema: {
          tags: ['Settings'],
          security,
          summary: 'Rotate the key that signs Resolve links',
          description:
            'New links use a new key id. Links signed with older keys keep working unless `retire_previous` is true.',
          params: Slug,
          body: Type.Optional(
            Type.Object({ retire_previous: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
          ),
          response: {
            200: Type.Object({ current: Type.String(), retired: Type.Array(Type.String()) }),
            ...errorResponses,
          },
        },
      },
      async (req) =>
        db.transaction((tx) =>
          rotateTokenKey(
            tx,
            req.shop,
            (req.body as { retire_previous?: boolean } | undefined)?.retire_previous ?? false,
          ),
        ),
    );

    app.get(
      '/v1/shops/:slug/settings/resolve',
      {
        config: { auth: 'viewer' },
        schema: {
          tags: ['Settings'],
          security,
          summary: 'Customer-flow settings (with defaults)',
          description:
            'The settings in effect: what PATCH stored, merged over the defaults, so every field is present. The same object PATCH answers. Any role (viewer and up).',
          params: Slug,
          response: { 200: Type.Ref('ResolveSettings'), ...errorResponses },
        },
      },
      async (req) => resolveSettingsOf(req.shop),
    );

    app.patch(
      '/v1/shops/:slug/settings/resolve',
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['Settings'],
          security,
          summary: 'Change customer-flow settings',
          description:
            'Send only what changes: objects merge, arrays replace. The result is validated as a whole.',
          params: Slug,
          body: Type.Object({}, { additionalProperties: true }),
          response: { 200: Type.Ref('ResolveSettings'), ...errorResponses },
        },
      },
      async (req) =>
        // The patch merges into the settings as stored now, under the shop row's lock: two admins saving
        // different sections at once both keep their change (a copy read with the request would put back
        // what the other saved meanwhile).
        db.transaction(async (tx) => {
          const [row] = await tx
            .select({ settings: shops.settings })
            .from(shops)
            .where(eq(shops.id, req.shop.id))
            .for('update');
          const shop = { ...req.shop, settings: row?.settings ?? req.shop.settings };
          const next = checkResolveSettings(deepMerge(resolveSettingsOf(shop), req.body));
          const stored = deepMerge((shop.settings as { resolve?: object }).resolve ?? {}, req.body);
          await tx
            .update(shops)
            .set({
              settings: sql`jsonb_set(${shops.settings}, '{resolve}', ${JSON.stringify(stored)}::jsonb, true)`,
              updatedAt: new Date(),
            })
            .where(eq(shops.id, req.shop.id));
          return next;
        }),
    );
  };
}
