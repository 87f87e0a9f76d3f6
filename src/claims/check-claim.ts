import { AppError, type FieldError } from '../lib/errors.js';
import type { OrderView } from '../orders/read.js';
import {
  type ClaimedUnits,
  computeEligibility,
  dropoffAsked,
  type EligibleItem,
} from '../resolve/eligibility.js';
import type { Flow, ResolveSettings } from '../resolve/settings.js';
import type { ClaimInputT } from './create-claim.js';

/**
 * The checks of a claim against the order, its eligibility and the flow's settings, without I/O: the real
 * submission (./create-claim.ts) and the preview (src/resolve/preview.ts) both run them.
 */

const invalid = (errors: FieldError[]) => new AppError('validation_failed', 'The claim is invalid.', errors);

export interface CheckedClaim {
  flowSettings: ResolveSettings['flows'][Flow];
  description: string | null;
  pref: NonNullable<ClaimInputT['resolution_preference']> | null;
  answers: { prompt_id: string; value: string | boolean }[];
  /** The units claimed, by shipment (a support request names items but carries no shipment). */
  allocation: { line_item_id: string; shipment_id: string | null; quantity: number }[];
  /** The chosen line item ids. */
  chosen: Set<string>;
}

/**
 * Checks a claim input against the order's eligibility and the flow's settings, without I/O (the real
 * submission and the preview both run it): the flow's availability (422 with the eligibility reason code),
 * then the fields (400), then items and quantities (422). Evidence is checked by checkEvidenceUploads.
 */
export function checkClaimInput(
  order: OrderView,
  claimed: ClaimedUnits[],
  settings: ResolveSettings,
  input: ClaimInputT,
  now: Date,
  language: string | null,
): CheckedClaim {
  const flows = computeEligibility(order, claimed, settings, now, language);
  const flow = flows.find((f) => f.flow === input.flow)!;
  if (!flow.available)
    throw new AppError(
      flow.reason_code!,
      `The ${input.flow} flow is not available for this order (${flow.reason_code}).`,
    );
  const fs = settings.flows[input.flow as Flow];

  const errors: FieldError[] = [];
  // The eligibility's reasons: the flow's, less those that do not fit this order's parcels.
  if (!flow.reasons.some((r) => r.code === input.reason))
    errors.push({
      path: '/reason',
      message: fs.reasons.some((r) => r.code === input.reason)
        ? `does not fit this order's parcels: must be one of ${flow.reasons.map((r) => r.code).join(', ')}`
        : `must be one of ${flow.reasons.map((r) => r.code).join(', ')}`,
    });
  const pref = input.resolution_preference ?? null;
  if (fs.resolutions.length && !pref)
    errors.push({ path: '/resolution_preference', message: `required: one of ${fs.resolutions.join(', ')}` });
  if (pref && !fs.resolutions.includes(pref))
    errors.push({
      path: '/resolution_preference',
      message: fs.resolutions.length
        ? `must be one of ${fs.resolutions.join(', ')}`
        : 'this flow takes no resolution',
    });
  const description = input.description?.trim() || null;
  const d = fs.description;
  if (d.required && !description) errors.push({ path: '/description', message: 'required' });
  if (description && description.length < d.min_length)
    errors.push({ path: '/description', message: `must be at least ${d.min_length} characters` });
  if (description && description.length > d.max_length)
    errors.push({ path: '/description', message: `must be at most ${d.max_length} characters` });
  if (dropoffAsked(input.flow, input.reason) && typeof input.dropoff_permission !== 'boolean')
    errors.push({
      path: '/dropoff_permission',
      message: 'required (true or false) for not_received, unless the parcel is stuck in transit',
    });
  if (input.flow !== 'not_received' && input.dropoff_permission != null)
    errors.push({ path: '/dropoff_permission', message: 'only for not_received' });
  if (input.flow !== 'support' && input.items.length === 0)
    errors.push({ path: '/items', message: 'choose at least one item' });
  const seen = new Set<string>();
  input.items.forEach((it, i) => {
    if (seen.has(it.line_item_id)) errors.push({ path: `/items/${i}/line_item_id`, message: 'listed twice' });
    seen.add(it.line_item_id);
  });
  const answers = checkAnswers(fs, input.answers ?? [], errors);
  if (errors.length) throw invalid(errors);

  // Lines whose every fulfilled unit is taken by earlier claims (or refunds).
  const takenByLine = new Map<string, number>();
  for (const c of claimed)
    if (c.shipment_id) takenByLine.set(c.line_item_id, (takenByLine.get(c.line_item_id) ?? 0) + c.quantity);
  const usedUp = new Set(
    order.line_items
      .filter(
        (l) =>
          l.quantity_fulfilled > 0 &&
          (takenByLine.get(l.id) ?? 0) + l.quantity_refunded >= l.quantity_fulfilled,
      )
      .map((l) => l.id),
  );
  const checked = allocateItems(input, flow.items, usedUp);
  // A support request names items but claims no units: its items carry no shipment, so eligibility
  // (which skips shipment-less claim items) leaves those units to a later defective/missing/… claim.
  const allocation =
    input.flow === 'support'
      ? input.items.map((it) => ({ line_item_id: it.line_item_id, shipment_id: null, quantity: it.quantity }))
      : checked;
  const chosen = new Set(input.items.map((i) => i.line_item_id));
  return { flowSettings: fs, description, pref, answers, allocation, chosen };
}

/** A line's unit price net of its discount (what a claim item is worth per unit). */
export const unitNet = (l: OrderView['line_items'][number]) =>
  l.unit_price - Math.round(l.discount / Math.max(1, l.quantity));

/** Assigns each chosen item to shipments with free units; `not_received` must stay within one shipment. */
function allocateItems(input: ClaimInputT, eligible: EligibleItem[], usedUp: Set<string>) {
  const out: { line_item_id: string; shipment_id: string | null; quantity: number }[] = [];
  const errors: FieldError[] = [];
  let qtyError = false;
  let claimedError = false;
  input.items.forEach((it, i) => {
    const e = eligible.find((x) => x.line_item_id === it.line_item_id);
    if (!e) {
      // Say "already claimed" when earlier claims used the units up; otherwise the flow does not cover it.
      claimedError ||= usedUp.has(it.line_item_id);
      errors.push({
        path: `/items/${i}/line_item_id`,
        message: usedUp.has(it.line_item_id) ? 'already claimed' : 'this item cannot be claimed in this flow',
      });
      return;
    }
    if (it.quantity > e.max_quantity) {
      qtyError = true;
      errors.push({ path: `/items/${i}/quantity`, message: `at most ${e.max_quantity}` });
      return;
    }
    const ships = it.shipment_id ? e.shipments.filter((s) => s.shipment_id === it.shipment_id) : e.shipments;
    if (!ships.length) {
      errors.push({
        path: `/items/${i}/shipment_id`,
        message: 'this item is not in that shipment, or that shipment cannot be claimed in this flow',
      });
      return;
    }
    let left = it.quantity;
    for (const s of ships) {
      const take = Math.min(left, s.max_quantity);
      if (take > 0) out.push({ line_item_id: it.line_item_id, shipment_id: s.shipment_id, quantity: take });
      left -= take;
      if (!left) break;
    }
    if (left > 0) {
      qtyError = true;
      errors.push({ path: `/items/${i}/quantity`, message: 'more units than this shipment has left' });
    }
  });
  if (errors.length) {
    const onlyQty = qtyError && errors.every((e) => e.path.endsWith('/quantity'));
    const onlyClaimed = claimedError && errors.every((e) => e.message === 'already claimed');
    throw new AppError(
      onlyQty ? 'quantity_not_eligible' : onlyClaimed ? 'already_claimed' : 'item_not_eligible',
      'Some items or quantities cannot be claimed.',
      errors,
    );
  }
  if (input.flow === 'not_received' && new Set(out.map((x) => x.shipment_id)).size > 1) {
    throw new AppError(
      'item_not_eligible',
      'A not-received claim covers one shipment; choose items of one parcel.',
      [{ path: '/items', message: 'items from more than one shipment' }],
    );
  }
  return out;
}

function checkAnswers(
  fs: ResolveSettings['flows'][Flow],
  given: NonNullable<ClaimInputT['answers']>,
  errors: FieldError[],
) {
  const byId = new Map(given.map((g, i) => [g.prompt_id, { ...g, i }]));
  if (byId.size !== given.length) errors.push({ path: '/answers', message: 'a prompt is answered twice' });
  for (const g of given)
    if (!fs.prompts.some((p) => p.id === g.prompt_id))
      errors.push({ path: `/answers/${byId.get(g.prompt_id)!.i}/prompt_id`, message: 'unknown prompt' });
  for (const p of fs.prompts) {
    const g = byId.get(p.id);
    const path = g ? `/answers/${g.i}/value` : '/answers';
    if (!g || g.value === '') {
      if (p.required) errors.push({ path, message: `prompt "${p.id}" is required` });
      continue;
    }
    if (p.type === 'yes_no' && typeof g.value !== 'boolean')
      errors.push({ path, message: 'must be true or false' });
    if (p.type === 'text' && (typeof g.value !== 'string' || g.value.length > (p.max_length ?? 2000)))
      errors.push({ path, message: `must be text of at most ${p.max_length ?? 2000} characters` });
    if (p.type === 'choice' && !p.options?.some((o) => o.value === g.value))
      errors.push({ path, message: `must be one of ${p.options?.map((o) => o.value).join(', ')}` });
  }
  return given.map((g) => ({
    prompt_id: g.prompt_id,
    value: typeof g.value === 'string' ? g.value.trim() : g.value,
  }));
}

/** An upload as the evidence check needs it (a row of `uploads`, or a preview upload). */
export interface EvidenceUpload {
  id: string;
  contentType: string;
  size: number;
  claimId: string | null;
  sessionId: string | null;
}

/**
 * Checks the evidence against the uploads it names (`rows`: the order's uploads among them) and the flow's
 * rules, without I/O. With a `sessionId` (the customer flow) uploads must come from that session and the
 * minimums apply.
 */
/** The evidence named an upload that was removed or attached to another claim after it was checked. */
export const uploadsGone = () =>
  new AppError('invalid_evidence', 'Some evidence cannot be used.', [
    {
      path: '/evidence',
      message: 'an upload was removed or used by another claim meanwhile; upload it again',
    },
  ]);

export function checkEvidenceUploads(
  rows: EvidenceUpload[],
  sessionId: string | null,
  fs: ResolveSettings['flows'][Flow],
  input: ClaimInputT,
  chosen: Set<string>,
) {
  const given = input.evidence ?? [];
  const errors: FieldError[] = [];
  const out: ((typeof given)[number] & { contentType: string; size: number })[] = [];
  const used = new Set<string>();
  given.forEach((e, i) => {
    const row = rows.find((r) => r.id === e.upload_id);
    if (!row || row.claimId || (sessionId && row.sessionId !== sessionId) || used.has(e.upload_id)) {
      errors.push({
        path: `/evidence/${i}/upload_id`,
        message: 'unknown, already used, or not uploaded in this session',
      });
      return;
    }
    used.add(e.upload_id);
    if (e.kind === 'photo' && e.line_item_id && !chosen.has(e.line_item_id))
      errors.push({ path: `/evidence/${i}/line_item_id`, message: 'not one of the chosen items' });
    if (e.kind !== 'photo' && e.line_item_id != null)
      errors.push({
        path: `/evidence/${i}/line_item_id`,
        message: `only item photos name an item, not a ${e.kind}`,
      });
    if (
      e.kind === 'signature' &&
      !row.contentType.startsWith('image/png') &&
      !row.contentType.startsWith('image/')
    )
      errors.push({ path: `/evidence/${i}`, message: 'a signature must be an image' });
    out.push({ ...e, contentType: row.contentType, size: row.size });
  });
  if (errors.length) throw new AppError('invalid_evidence', 'Some evidence cannot be used.', errors);

  const missing: FieldError[] = [];
  const photos = given.filter((e) => e.kind === 'photo');
  const perItem = (id: string) =>
    photos.filter((p) => p.line_item_id === id || (!p.line_item_id && chosen.size === 1)).length;
  for (const [i, it] of input.items.entries()) {
    const n = perItem(it.line_item_id);
    // Minimums bind the customer flow; a merchant taking a claim by phone may have no photos yet.
    if (n < fs.photos.min && sessionId)
      missing.push({ path: `/items/${i}`, message: `needs at least ${fs.photos.min} photo(s) of this item` });
    if (n > fs.photos.max)
      missing.push({ path: `/items/${i}`, message: `at most ${fs.photos.max} photo(s) per item` });
  }
  if (fs.photos.max === 0 && photos.length)
    missing.push({ path: '/evidence', message: 'this flow takes no item photos' });
  for (const kind of ['package_photo', 'signature'] as const) {
    const n = given.filter((e) => e.kind === kind).length;
    const rule = fs[kind];
    if (rule === 'required' && n === 0 && sessionId)
      missing.push({ path: '/evidence', message: `a ${kind.replace('_', ' ')} is required` });
    if (rule === 'off' && n > 0)
      missing.push({ path: '/evidence', message: `this flow takes no ${kind.replace('_', ' ')}` });
    if (n > 1) missing.push({ path: '/evidence', message: `at most one ${kind.replace('_', ' ')}` });
  }
  if (missing.length)
    throw new AppError(
      'evidence_required',
      'Some evidence is missing or not accepted for this flow.',
      missing,
    );
  return out;
}
