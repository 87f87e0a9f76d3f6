import multipart from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import {
  ClaimInput,
  type ClaimInputT,
  type CreateClaimArgs,
  createClaim,
  tryCreateClaim,
} from '../claims/create-claim.js';
import { findClaimRow, loadClaimViews, searchClaimRows } from '../claims/read.js';
import { defaultPlatformDeps } from '../connectors/connections.js';
import { shopPlatform } from '../connectors/shop-client.js';
import type { Db } from '../db/client.js';
import type { ReadyDeps } from '../http/context.js';
import { requestHash } from '../http/idempotency.js';
import { errorResponses, Str } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { requireShop, type Shop } from '../shops/shops.js';
import { OrderSessionView, optionalBody, SessionView } from './api-schemas.js';
import { claimContext } from './claim-context.js';
import { customerState, customerStateOf, loadOrderView, pickLanguage } from './customer-view.js';
import { returnHandoffUrl } from './handoff.js';
import { openSessionByZip } from './lookup.js';
import {
  type AddressChange,
  AddressChangeInput,
  cancelOrderByCustomer,
  changeAddressByCustomer,
} from './order-actions.js';
import {
  isPreviewBearer,
  type PreviewSession,
  previewAnswer,
  previewClaim,
  previewHit,
  previewOnly,
  previewUpload,
  verifyPreviewSession,
} from './preview.js';
import { hit, rateLimited } from './rate-limit.js';
import { openSession, type ResolveSession, requireSession } from './sessions.js';
import { resolveSettingsOf } from './settings.js';
import { verifyOrderToken } from './tokens.js';
import { readPhoto } from './upload-body.js';
import { createUpload } from './uploads.js';

const tags = ['Customer flow'];
const Slug = Type.Object({ slug: Type.String({ maxLength: 64 }) });
const LangQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 10 })) });
const bearer = [{ sessionBearer: [] }];

/**
 * Routes with `attachValidation` check the caller first (shop, session, its level and limits: 401, 403, 404, 429
 * before 400), as the merchant API does in its onRequest hook; then the body's validation error, if any, is
 * answered like any other.
 */
const validated = (req: FastifyRequest) => {
  if (req.validationError) throw req.validationError;
};

/** The customer-flow API (SPEC §14) used by the Resolve page and by headless shops. */
export function resolveRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;

  /** The shop and the caller: a customer session, or a merchant's preview (which writes nothing). */
  const context = async (
    req: FastifyRequest,
  ): Promise<
    | { shop: Shop; session: ResolveSession; preview: null }
    | { shop: Shop; session: null; preview: PreviewSession }
  > => {
    const { slug } = req.params as { slug: string };
    const shop = await requireShop(db, slug);
    const auth = req.headers.authorization;
    if (isPreviewBearer(auth))
      return { shop, session: null, preview: verifyPreviewSession(deps.masterSecret, shop.id, auth) };
    return { shop, session: await requireSession(db, shop.id, auth), preview: null };
  };
  const langOf = (
    req: FastifyRequest,
    shop: Awaited<ReturnType<typeof requireShop>>,
    order: { language: string | null } | null,
  ) =>
    pickLanguage(
      shop,
      order,
      (req.query as { lang?: string } | undefined)?.lang,
      req.headers['accept-language'],
    );

  /** The shop's connected platform, which carries out token-level order actions (null: headless or demo). */
  const platformOf = async (req: FastifyRequest, shop: Shop) =>
    shop.connector === 'demo'
      ? null
      : ((await shopPlatform(db, deps.masterSecret, shop, defaultPlatformDeps(deps.config, req.log)))
          ?.client ?? null);

  /** Order-token sessions per client IP (the lookup's IP limit), in Redis when configured. */
  const countTokenAttempt = async (ip: string) => {
    const { ipMax, ipWindowSeconds } = deps.config.lookup;
    if (!deps.lookupCounters)
      return hit(db, `token:ip:${ip}`, null, { max: ipMax, windowSeconds: ipWindowSeconds });
    const n = await deps.lookupCounters.countOne(`token:ip:${ip}`, ipWindowSeconds);
    if (n.hits > ipMax) throw rateLimited(n.windowLeftMs / 1000);
  };

  /** The order, its eligibility and the allowed actions, as every session endpoint answers them. */
  const sessionAnswer = async (req: FastifyRequest, shop: Shop, session: ResolveSession) => {
    const view = await loadOrderView(db, shop, session.orderId);
    const state = await customerState(db, shop, view, session.level, langOf(req, shop, view));
    return { level: session.level, expires_at: session.expiresAt.toISOString(), ...state };
  };

  /**
   * A token-level order action (cancel, address change): the session must be a token one; the action runs in one
   * transaction through the shop's platform, and the answer is the order as it is now.
   */
  const orderAction = async (
    req: FastifyRequest,
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
    const platform = await platformOf(req, shop);
    await db.transaction((tx) => act(tx, shop, session.orderId, platform));
    deps.nudgeWorker?.();
    return sessionAnswer(req, shop, session);
  };

  return async (plain) => {
    const app = plain as unknown as App;
    await app.register(multipart, { limits: { files: 1, fields: 5, fileSize: 25 * 1024 * 1024, parts: 6 } });

    app.post(
      '/v1/resolve/:slug/sessions',
      {
        schema: {
          tags,
          summary: 'Open a customer session',
          description:
            'By order number + ZIP code, or by an order token from a Resolve link. A wrong number and a wrong ZIP give the same 404 `order_not_found`. Limited per client IP, per shop and per order number (429 `rate_limited` with Retry-After). With Redis configured for the limits and unreachable: 503 `service_unavailable` with Retry-After.',
          params: Slug,
          querystring: LangQuery,
          body: Type.Union([
            Type.Object(
              { order_number: Str(100, { minLength: 1 }), zip_code: Str(32, { minLength: 1 }) },
              { additionalProperties: false },
            ),
            Type.Object(
              { token: Type.String({ minLength: 1, maxLength: 2048 }) },
              { additionalProperties: false },
            ),
          ]),
          response: { 201: SessionView, ...errorResponses, 429: Type.Ref('Error'), 503: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        const { slug } = req.params as { slug: string };
        const body = req.body as { order_number?: string; zip_code?: string; token?: string };
        reply.code(201).header('cache-control', 'no-store');
        const answer = (session: { bearer: string; expiresAt: Date }, level: 'zip' | 'token') => ({
          session: session.bearer,
          level,
          expires_at: session.expiresAt.toISOString(),
        });
        if (body.token === undefined) {
          // One round trip: limits, verification, the session and the order (src/resolve/lookup.ts).
          const opened = await openSessionByZip(
            db,
            deps.config,
            deps.lookupCounters,
            slug,
            { order_number: body.order_number!, zip_code: body.zip_code! },
            req.ip,
          );
          const { shop, view } = opened;
          const lang = langOf(req, shop, view);
          return {
            ...answer(opened.session, 'zip'),
            ...customerStateOf(shop, view, opened.claimed, 'zip', lang),
          };
        }
        const shop = await requireShop(db, slug);
        await countTokenAttempt(req.ip);
        const claims = await verifyOrderToken(db, deps.masterSecret, shop, body.token);
        const session = await openSession(db, {
          shopId: shop.id,
          orderId: claims.sub,
          level: 'token',
          tokenId: claims.jti,
        });
        const view = await loadOrderView(db, shop, claims.sub);
        const state = await customerState(db, shop, view, 'token', langOf(req, shop, view));
        return { ...answer(session, 'token'), ...state };
      },
    );

    app.get(
      '/v1/resolve/:slug/order',
      {
        schema: {
          tags,
          security: bearer,
          summary: 'The order, what can be claimed, and allowed actions',
          description:
            'With a preview bearer (`rsp_…`, from POST /v1/shops/{slug}/resolve/preview) the answer is a test order with level `preview`, eligibility under the shop’s current settings and no actions; uploads and claims are then checked like real ones but nothing is stored (header `resolve-preview: true`), the claim list is empty and order actions answer 403 `preview_only`.',
          params: Slug,
          querystring: LangQuery,
          response: { 200: OrderSessionView, ...errorResponses },
        },
      },
      async (req, reply) => {
        const c = await context(req);
        reply.header('cache-control', 'no-store');
        if (c.preview) {
          reply.header('resolve-preview', 'true');
          return previewAnswer(db, c.shop, c.preview, langOf(req, c.shop, null));
        }
        return sessionAnswer(req, c.shop, c.session);
      },
    );

    app.post(
      '/v1/resolve/:slug/uploads',
      {
        schema: {
          tags,
          security: bearer,
          summary: 'Upload a photo (multipart, field `file`)',
          description:
            'JPEG, PNG, WebP or HEIC, decided by the content; at most the shop’s upload limit (default 10 MB). Location metadata is removed. Attach it to a claim within 24 hours.',
          params: Slug,
          consumes: ['multipart/form-data'],
          response: {
            201: Type.Object({ id: Type.String(), content_type: Type.String(), size: Type.Integer() }),
            ...errorResponses,
            413: Type.Ref('Error'),
            415: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const { shop, session, preview } = await context(req);
        if (preview) previewHit(preview, 'upload');
        else await hit(db, `upload:session:${session.id}`, shop.id, { max: 60, windowSeconds: 3600 });
        const maxBytes = resolveSettingsOf(shop).upload_max_bytes;
        const buf = await readPhoto(req, maxBytes);
        reply.code(201);
        if (preview) {
          reply.header('resolve-preview', 'true');
          return previewUpload(buf, maxBytes);
        }
        return createUpload(db, deps.storage, session, buf, maxBytes);
      },
    );

    app.post(
      '/v1/resolve/:slug/claims',
      {
        attachValidation: true,
        schema: {
          tags,
          security: bearer,
          summary: 'Submit a claim',
          description:
            'Send an `Idempotency-Key`: a retry with the same key returns the same claim. A flow, item or quantity that is not eligible answers 422 with the eligibility reason code as `key`.',
          params: Slug,
          querystring: LangQuery,
          body: ClaimInput,
          response: {
            201: Type.Ref('CustomerClaim'),
            ...errorResponses,
            409: Type.Ref('Error'),
            422: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        // Shop, session, the session's rate-limit hit and a claim already made with this key: one round trip (src/resolve/claim-context.ts). Errors come in the order they always did.
        const { slug } = req.params as { slug: string };
        const auth = req.headers.authorization;
        const key = req.headers['idempotency-key'];
        const keyOk = key === undefined || (typeof key === 'string' && key.length >= 1 && key.length <= 255);
        const c = await claimContext(db, slug, auth, {
          preview: isPreviewBearer(auth),
          key: keyOk && typeof key === 'string' ? key : null,
          uploadIds: req.validationError
            ? []
            : ((req.body as ClaimInputT).evidence ?? []).map((e) => e.upload_id),
        });
        const { shop } = c;
        if (c.preview) previewHit(verifyPreviewSession(deps.masterSecret, shop.id, auth), 'claim');
        validated(req);
        if (!keyOk) {
          throw new AppError('validation_failed', 'Idempotency-Key must be 1–255 characters.', [
            { path: 'header:idempotency-key', message: 'length 1–255' },
          ]);
        }
        const input = req.body as ClaimInputT;
        if (c.preview) {
          reply.code(201).header('resolve-preview', 'true');
          return previewClaim(shop, input, langOf(req, shop, null));
        }
        const { session } = c;
        const hash = key ? requestHash('POST', 'claim', input) : null;
        const viewOpts = {
          master: deps.masterSecret,
          publicUrl: deps.config.publicUrl,
          shopSlug: shop.slug,
          audience: 'customer' as const,
        };
        // A retry of a committed claim is answered without a transaction (createClaim checks again under the lock).
        let replayedId: string | null = null;
        if (c.prior) {
          if (c.prior.requestHash !== hash)
            throw new AppError(
              'idempotency_conflict',
              'This Idempotency-Key was used with a different claim.',
            );
          replayedId = c.prior.id;
        } else {
          const args: CreateClaimArgs = {
            shop,
            settings: resolveSettingsOf(shop),
            loadOrder: (t) => loadOrderView(t, shop, session.orderId),
            orderId: session.orderId,
            input,
            channel: session.level,
            language: null,
            languageOf: (order) => langOf(req, shop, order),
            actor: { type: 'customer', id: session.id },
            idempotencyKey: (key as string | undefined) ?? null,
            requestHash: hash,
            sessionId: session.id,
          };
          // One write on the order as claimContext read it; if the order changed since (a concurrent claim), the
          // transaction that locks the order (src/claims/create-claim.ts).
          const result =
            (c.snapshot && (await tryCreateClaim(db, args, c.snapshot, c.snapshot.rowVersion))) ||
            (await db.transaction((tx) => createClaim(tx, args)));
          if (result.replayed) replayedId = result.claimId;
          else {
            deps.nudgeWorker?.();
            // The answer is built from what createClaim wrote: no read-back.
            const { row, children, order } = result.created;
            const [claim] = await loadClaimViews(db, shop.id, [row], { ...viewOpts, children });
            reply.code(201);
            return { ...claim, handoff_url: returnHandoffUrl(shop, order, claim) };
          }
        }
        deps.nudgeWorker?.();
        const view = await loadOrderView(db, shop, session.orderId);
        const [claim] = await loadClaimViews(
          db,
          shop.id,
          [await findClaimRow(db, shop.id, replayedId)],
          viewOpts,
        );
        reply.header('idempotent-replayed', 'true');
        reply.code(201);
        return { ...claim, handoff_url: returnHandoffUrl(shop, view, claim) };
      },
    );

    app.get(
      '/v1/resolve/:slug/claims',
      {
        attachValidation: true,
        schema: {
          tags,
          security: bearer,
          summary: 'The claims of this order',
          description:
            'Up to 100 claims of the session’s order, newest first, for ZIP and token sessions alike, in the customer’s view: no tags, assignee, history or internal context; evidence `url`s are signed and expire after 15 minutes. With a preview bearer the list is empty (header `resolve-preview: true`). 401 `session_required` without a session, 401 `session_expired` when it has ended.',
          params: Slug,
          response: { 200: Type.Object({ data: Type.Array(Type.Ref('CustomerClaim')) }), ...errorResponses },
        },
      },
      async (req, reply) => {
        const { shop, session } = await context(req);
        validated(req);
        if (!session) {
          reply.header('resolve-preview', 'true');
          return { data: [] };
        }
        const rows = await searchClaimRows(db, shop.id, { order_id: session.orderId, limit: 100 });
        return {
          data: await loadClaimViews(db, shop.id, rows, {
            master: deps.masterSecret,
            publicUrl: deps.config.publicUrl,
            shopSlug: shop.slug,
            audience: 'customer',
          }),
        };
      },
    );

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
            'Needs a token session (from a Resolve link; a ZIP-lookup session answers 403 `token_required`, a preview 403 `preview_only`) and an order still `placed` (422 `action_not_allowed`). The cancel is carried out in the shop’s connected platform first: one that cannot or will not answers 422 `action_unavailable` and nothing changes. Every cancel emits `orders/cancelled` (webhooks; with `reason` and `initiated_by: customer`), which is how a headless shop learns of it; the answer is the order as it is now.',
          params: Slug,
          body: Type.Optional(
            Type.Object({ reason: Type.Optional(Str(500)) }, { additionalProperties: false }),
          ),
          response: {
            200: OrderSessionView,
            ...errorResponses,
            403: Type.Ref('Error'),
            422: Type.Ref('Error'),
          },
        },
      },
      (req) =>
        orderAction(req, (tx, shop, orderId, platform) =>
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
            'Needs a token session (from a Resolve link; a ZIP-lookup session answers 403 `token_required`, a preview 403 `preview_only`) and an order still `placed` (422 `action_not_allowed`). The country cannot change, and DE, AT, CH, FR, IT, ES, NL, BE, DK, US and GB postcodes must have their country’s shape (400 `validation_failed` at the field); an omitted `phone` keeps the old one. The change is carried out in the shop’s connected platform first (422 `action_unavailable` if it cannot or will not; nothing changes), then emits `orders/address_changed` with `from` and `to`. Lookups by order number and ZIP code then need the new ZIP; the answer is the order as it is now.',
          params: Slug,
          body: AddressChangeInput,
          response: {
            200: OrderSessionView,
            ...errorResponses,
            403: Type.Ref('Error'),
            422: Type.Ref('Error'),
          },
        },
      },
      (req) =>
        orderAction(req, (tx, shop, orderId, platform) =>
          changeAddressByCustomer(tx, shop, orderId, req.body as AddressChange, platform),
        ),
    );
  };
}
