import multipart from '@fastify/multipart';
import type { FastifyPluginAsync } from 'fastify';
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
import type { ReadyDeps } from '../http/context.js';
import { requestHash } from '../http/idempotency.js';
import { ListMeta, listAnswer } from '../http/pagination.js';
import { errorResponses, Str } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { requireShop } from '../shops/shops.js';

import { OrderSessionView, SessionView, uploadResponses } from './api-schemas.js';
import { claimContext } from './claim-context.js';
import { bearer, customerContext, LangQuery, Slug, tags, validated } from './customer-context.js';
import { customerState, customerStateOf, loadOrderView } from './customer-view.js';
import { returnHandoffUrl } from './handoff.js';
import { openSessionByZip } from './lookup.js';
import {
  isPreviewBearer,
  previewAnswer,
  previewClaim,
  previewHit,
  previewUpload,
  verifyPreviewSession,
} from './preview.js';
import { hit } from './rate-limit.js';
import { openSession } from './sessions.js';
import { resolveSettingsOf } from './settings.js';
import { verifyOrderToken } from './tokens.js';
import { readPhoto } from './upload-body.js';
import { createUpload } from './uploads.js';

/** Claims of an order a customer sees: more would be a shop's own test order. */
const CUSTOMER_CLAIMS = 100;

/** The customer-flow API (SPEC §14) used by the Resolve page and by headless shops. */
export function resolveRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;

  const { context, langOf, countTokenAttempt, sessionAnswer } = customerContext(deps);

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
        // Two ways in, one at a time: said as such, not as "/token: is not a known field" from the union.
        preValidation: async (req) => {
          const b = req.body as Record<string, unknown> | null;
          if (b && typeof b === 'object' && 'token' in b && ('order_number' in b || 'zip_code' in b))
            throw new AppError('validation_failed', 'The request is invalid.', [
              { path: '/token', message: 'send either token, or order_number and zip_code, not both' },
            ]);
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
          response: uploadResponses,
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
          description: `Up to ${CUSTOMER_CLAIMS} claims of the session’s order, newest first, for ZIP and token sessions alike, in the customer’s view: no tags, assignee, history or internal context; evidence \`url\`s are signed and expire after 15 minutes. A return that is neither rejected nor closed carries \`handoff_url\` when the shop runs returns in an external portal, as on submission. With a preview bearer the list is empty (header \`resolve-preview: true\`). 401 \`session_required\` without a session, 401 \`session_expired\` when it has ended.`,
          params: Slug,
          response: {
            200: Type.Object({ data: Type.Array(Type.Ref('CustomerClaim')), ...ListMeta(CUSTOMER_CLAIMS) }),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const { shop, session } = await context(req);
        validated(req);
        if (!session) {
          reply.header('resolve-preview', 'true');
          return listAnswer([]);
        }
        const found = await searchClaimRows(db, shop.id, {
          order_id: session.orderId,
          limit: CUSTOMER_CLAIMS + 1,
        });
        const { data: rows, has_more } = listAnswer(found, CUSTOMER_CLAIMS);
        const data = await loadClaimViews(db, shop.id, rows, {
          master: deps.masterSecret,
          publicUrl: deps.config.publicUrl,
          shopSlug: shop.slug,
          audience: 'customer',
        });
        // The way on to the shop's returns portal stays with an open return (not only on the confirmation).
        const open = (c: (typeof data)[number]) =>
          c.flow === 'return' && c.status !== 'rejected' && c.status !== 'closed';
        if (resolveSettingsOf(shop).returns.mode !== 'external' || !data.some(open))
          return { data, has_more, next_cursor: null };
        const order = await loadOrderView(db, shop, session.orderId);
        return {
          data: data.map((c) => (open(c) ? { ...c, handoff_url: returnHandoffUrl(shop, order, c) } : c)),
          has_more,
          next_cursor: null,
        };
      },
    );
  };
}
