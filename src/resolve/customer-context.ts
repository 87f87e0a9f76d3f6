import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ReadyDeps } from '../http/context.js';
import { requireShop, type Shop } from '../shops/shops.js';
import { customerState, loadOrderView, pickLanguage } from './customer-view.js';
import { isPreviewBearer, type PreviewSession, verifyPreviewSession } from './preview.js';
import { hit, rateLimited } from './rate-limit.js';
import { type ResolveSession, requireSession } from './sessions.js';

/** What every customer-flow route shares: its tag, path and query shapes, and the session bearer. */
export const tags = ['Customer flow'];
export const Slug = Type.Object({ slug: Type.String({ maxLength: 64 }) });
export const LangQuery = Type.Object(
  { lang: Type.Optional(Type.String({ maxLength: 10 })) },
  { additionalProperties: false },
);
export const bearer = [{ sessionBearer: [] }];

/**
 * Routes with `attachValidation` check the caller first (shop, session, its level and limits: 401, 403, 404, 429
 * before 400), as the merchant API does in its onRequest hook; then the body's validation error, if any, is
 * answered like any other.
 */
export const validated = (req: FastifyRequest) => {
  if (req.validationError) throw req.validationError;
};

/** The caller of a customer-flow route, its language and the answer every session endpoint gives. */
export function customerContext(deps: ReadyDeps) {
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

  return { context, langOf, countTokenAttempt, sessionAnswer };
}
