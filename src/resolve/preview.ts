import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  checkClaimInput,
  checkEvidenceUploads,
  type EvidenceUpload,
  unitNet,
} from '../claims/check-claim.js';
import type { ClaimInputT } from '../claims/create-claim.js';
import { demoOrders } from '../connectors/demo/orders.js';
import type { Db } from '../db/client.js';
import { AppError } from '../lib/errors.js';
import { deriveKey } from '../lib/secret.js';
import { normalizeOrder } from '../orders/document.js';
import { derivePhase, isStuck } from '../orders/phase.js';
import type { OrderView } from '../orders/read.js';
import type { Shop } from '../shops/shops.js';
import { customerState } from './customer-view.js';
import { returnHandoffUrl } from './handoff.js';
import type { ImageType } from './image.js';
import { rateLimited } from './rate-limit.js';
import { sessionExpired, sessionRequired } from './sessions.js';
import { resolveSettingsOf } from './settings.js';
import { checkUploadFile } from './uploads.js';

/**
 * Preview mode (SPEC §5): a merchant runs the customer flow on a test order and nothing is created. The
 * preview bearer is stateless and signed — `rsp_<base64url {shop, exp}>.<base64url HMAC-SHA256>` — so
 * opening a preview writes nothing either. The test order lives in memory only; eligibility uses the
 * shop's current settings, so the merchant sees what their settings do.
 */
export const PREVIEW_TTL_SECONDS = 60 * 60;
export const PREVIEW_ORDER_NUMBER = 'PREVIEW';
/** The "session" the preview's uploads belong to (evidence must come from the same session). */
const PREVIEW_SESSION_ID = 'ses_preview';

export interface PreviewSession {
  /** Unique per bearer (its signature): keys the in-memory rate limits. */
  id: string;
  shopId: string;
  expiresAt: Date;
}

const sign = (master: Buffer, payload: string) =>
  createHmac('sha256', deriveKey(master, 'resolve-preview')).update(payload).digest('base64url');

/** A preview bearer for the shop, valid one hour. Nothing is stored. */
export function issuePreviewSession(master: Buffer, shopId: string, now = new Date()) {
  const exp = Math.floor(now.getTime() / 1000) + PREVIEW_TTL_SECONDS;
  const payload = `rsp_${Buffer.from(JSON.stringify({ shop: shopId, exp })).toString('base64url')}`;
  return { session: `${payload}.${sign(master, payload)}`, expiresAt: new Date(exp * 1000) };
}

export const isPreviewBearer = (authorization: string | undefined) =>
  /^Bearer\s+rsp_/.test(authorization ?? '');

/**
 * The preview behind `Authorization: Bearer rsp_…` for this shop. A malformed bearer answers like a missing
 * session; a forged one or one of another shop like an unknown session; an expired one `session_expired`.
 */
export function verifyPreviewSession(
  master: Buffer,
  shopId: string,
  authorization: string | undefined,
  now = new Date(),
): PreviewSession {
  const m = /^Bearer\s+(rsp_([A-Za-z0-9_-]{1,400}))\.([A-Za-z0-9_-]{43})$/.exec(authorization ?? '');
  if (!m) throw sessionRequired();
  const unknown = () => sessionExpired();
  const expected = Buffer.from(sign(master, m[1]));
  const given = Buffer.from(m[3]);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unknown();
  let claims: { shop?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(m[2], 'base64url').toString('utf8'));
  } catch {
    throw unknown();
  }
  if (claims?.shop !== shopId || !Number.isInteger(claims.exp)) throw unknown();
  const expiresAt = new Date((claims.exp as number) * 1000);
  if (expiresAt.getTime() <= now.getTime())
    throw sessionExpired('This preview has ended. Start it again from the portal.');
  return { id: m[3], shopId, expiresAt };
}

/** Order actions (cancel, change address) on the test order. */
export const previewOnly = () =>
  new AppError(
    'preview_only',
    'This is a preview on a test order: cancelling and changing the address are not available here.',
  );

// Per-process limits for preview uploads and claims, like a real session's (60 uploads, 30 claims an
// hour); kept in memory so a preview writes no rate-limit rows.
const buckets = new Map<string, { n: number; until: number }>();
export function previewHit(preview: PreviewSession, kind: 'upload' | 'claim', now = Date.now()): void {
  const max = kind === 'upload' ? 60 : 30;
  if (buckets.size > 10_000) for (const [k, b] of buckets) if (b.until <= now) buckets.delete(k);
  const key = `${kind}:${preview.id}`;
  const b = buckets.get(key);
  if (!b || b.until <= now) buckets.set(key, { n: 1, until: now + 3_600_000 });
  else if (++b.n > max) throw rateLimited((b.until - now) / 1000);
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * The test order: the demo shop's order 1001 (one shipment delivered 2 days ago, 3 line items, one with
 * quantity 2), anchored to `now`, normalised as a stored order would be and shaped as an OrderView.
 */
export function previewOrder(shop: Shop, now = new Date()): OrderView {
  const doc = demoOrders(now).find((o) => o.order_number === '1001')!;
  const n = normalizeOrder(doc, '', now.getTime());
  const stuckAfterDays = resolveSettingsOf(shop).stuck_after_days;
  const lineId = new Map(n.lineItems.map((l, i) => [l.externalId, `li_preview_${i + 1}`]));
  const fulfilled = new Map<string, number>();
  for (const s of n.shipments)
    for (const l of s.lines) fulfilled.set(l.externalId, (fulfilled.get(l.externalId) ?? 0) + l.quantity);
  return {
    id: 'ord_preview',
    external_id: 'preview',
    order_number: PREVIEW_ORDER_NUMBER,
    order_name: PREVIEW_ORDER_NUMBER,
    placed_at: n.placedAt.toISOString(),
    cancelled_at: null,
    currency: n.currency,
    language: null, // the page follows `lang`, the browser, then the shop's language
    tags: ['preview'],
    state: n.state,
    customer: {
      external_id: null,
      email: n.customer.email,
      first_name: n.customer.firstName,
      last_name: n.customer.lastName,
      phone: n.customer.phone,
    },
    shipping_address: n.shippingAddress,
    billing_address: n.billingAddress,
    totals: n.totals,
    line_items: n.lineItems.map((l) => ({
      id: lineId.get(l.externalId)!,
      external_id: l.externalId,
      sku: l.sku,
      title: l.title,
      variant_title: l.variantTitle,
      quantity: l.quantity,
      quantity_fulfilled: fulfilled.get(l.externalId) ?? 0,
      quantity_refunded: l.quantityRefunded,
      unit_price: l.unitPrice,
      discount: l.discount,
      tax: l.tax,
      image_url: l.imageUrl,
      product_id: l.productId,
      variant_id: l.variantId,
    })),
    shipments: n.shipments.map((s, si) => {
      const d = derivePhase({
        events: s.events,
        phaseOverride: s.phaseOverride,
        deliveredAtOverride: s.deliveredAtOverride,
      });
      return {
        id: `shp_preview_${si + 1}`,
        external_id: s.externalId,
        carrier: s.carrier,
        tracking_number: s.trackingNumber,
        tracking_url: s.trackingUrl,
        phase: d.phase,
        delivered_at: iso(d.deliveredAt),
        last_event_at: iso(d.lastEventAt),
        stuck: isStuck(
          { phase: d.phase, lastEventAt: d.lastEventAt, createdAt: n.placedAt },
          stuckAfterDays,
          now,
        ),
        line_items: s.lines.map((l) => ({
          line_item_id: lineId.get(l.externalId)!,
          external_id: l.externalId,
          quantity: l.quantity,
        })),
        events: [...s.events]
          .sort((a, b) => a.time.getTime() - b.time.getTime())
          .map((e, ei) => ({
            id: `sev_preview_${si + 1}_${ei + 1}`,
            time: e.time.toISOString(),
            code: e.code,
            phase: e.phase,
            description: e.description,
            location: e.location,
          })),
      };
    }),
    created_at: n.placedAt.toISOString(),
    updated_at: now.toISOString(),
  };
}

/** GET /order for a preview: the test order, its eligibility under the shop's settings, no actions. */
export async function previewAnswer(db: Db, shop: Shop, preview: PreviewSession, lang: string) {
  const view = previewOrder(shop);
  // Nothing is claimed on the test order (it is not in the database): the claimed-units read finds none.
  const state = await customerState(db, shop, view, 'zip', lang);
  return {
    level: 'preview' as const,
    expires_at: preview.expiresAt.toISOString(),
    ...state,
    actions: { cancel: false, change_address: false },
  };
}

// Preview upload ids carry the checked file's type and size (nothing is stored to look them up in):
// `upl_preview_` + base64url(type index, size (uint32), 9 random bytes).
const TYPES: ImageType[] = ['image/jpeg', 'image/png', 'image/webp', 'image/heic'];
const PREVIEW_UPLOAD = /^upl_preview_([A-Za-z0-9_-]{19})$/;

/** A preview upload: the same checks as a real one (content type, size, image structure); nothing is stored. */
export function previewUpload(file: Buffer, maxBytes: number) {
  const cleaned = checkUploadFile(file, maxBytes);
  const raw = Buffer.alloc(14);
  raw[0] = TYPES.indexOf(cleaned.type);
  raw.writeUInt32BE(cleaned.data.length, 1);
  randomBytes(9).copy(raw, 5);
  return {
    id: `upl_preview_${raw.toString('base64url')}`,
    content_type: cleaned.type,
    size: cleaned.data.length,
  };
}

function previewUploadRow(id: string): EvidenceUpload | null {
  const m = PREVIEW_UPLOAD.exec(id);
  if (!m) return null;
  const raw = Buffer.from(m[1], 'base64url');
  const type = TYPES[raw[0]];
  if (raw.length !== 14 || !type) return null;
  return { id, contentType: type, size: raw.readUInt32BE(1), claimId: null, sessionId: PREVIEW_SESSION_ID };
}

/**
 * A preview submission: checked exactly like a real one against the test order (same 400/422 keys), and
 * answered as the claim it would create. Nothing is written.
 */
export function previewClaim(shop: Shop, input: ClaimInputT, language: string, now = new Date()) {
  const order = previewOrder(shop, now);
  const settings = resolveSettingsOf(shop);
  const { description, pref, answers, allocation, chosen, flowSettings } = checkClaimInput(
    order,
    [],
    settings,
    input,
    now,
    language,
  );
  const rows = (input.evidence ?? [])
    .map((e) => previewUploadRow(e.upload_id))
    .filter((r): r is EvidenceUpload => !!r);
  const evidence = checkEvidenceUploads(rows, PREVIEW_SESSION_ID, flowSettings, input, chosen);
  const lines = new Map(order.line_items.map((l) => [l.id, l]));
  const shipmentIds = [...new Set(allocation.map((x) => x.shipment_id).filter((x): x is string => !!x))];
  const claim = {
    id: `clm_preview_${randomBytes(8).toString('hex')}`,
    number: `${PREVIEW_ORDER_NUMBER}-1`,
    shop: shop.slug,
    order_id: order.id,
    order_number: order.order_number,
    shipment_id: shipmentIds.length === 1 ? shipmentIds[0] : null,
    flow: input.flow,
    reason: input.reason,
    description,
    resolution_preference: pref,
    status: 'pending',
    items: allocation.map((x) => {
      const l = lines.get(x.line_item_id)!;
      return {
        line_item_id: l.id,
        shipment_id: x.shipment_id,
        sku: l.sku,
        title: l.title,
        variant_title: l.variant_title,
        quantity: x.quantity,
        unit_net_price: unitNet(l),
        image_url: l.image_url,
      };
    }),
    evidence: evidence.map((e) => ({
      id: e.upload_id,
      kind: e.kind,
      line_item_id: e.line_item_id ?? null,
      content_type: e.contentType,
      size: e.size,
      url: '', // nothing was stored, so there is nothing to show
    })),
    answers,
    dropoff_permission: input.flow === 'not_received' ? (input.dropoff_permission ?? null) : null,
    channel: 'preview',
    language,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
  };
  return { ...claim, handoff_url: returnHandoffUrl(shop, order, claim) };
}
