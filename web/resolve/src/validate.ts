import type { Draft, Step } from './draft';
import type { T } from './i18n';
import type { CustomerOrder, FlowEligibility } from './types';

/** The page's own checks before it moves on; the server checks everything again on submit. */
export function validateStep(
  step: Step,
  flow: FlowEligibility,
  draft: Draft,
  order: CustomerOrder,
  t: T,
): Record<string, string> {
  const e: Record<string, string> = {};
  const s = flow.steps;
  const title = (id: string) => order.line_items.find((l) => l.id === id)?.title ?? '';
  switch (step) {
    case 'items':
      if (flow.items.length && !itemsOptional(flow) && !Object.keys(draft.items).length)
        e.general = t('items.none_selected');
      break;
    case 'reason':
      if (!draft.reason) e.general = t('reason.none_selected');
      break;
    case 'evidence': {
      if (draft.photos.some((p) => p.status === 'uploading')) e.general = t('evidence.wait');
      const done = draft.photos.filter((p) => p.status !== 'error');
      const chosen = Object.keys(draft.items);
      // Photos of the request as a whole count as the item's when there is one item (as the server counts them).
      const general = done.filter((p) => p.kind === 'photo' && !p.lineItemId).length;
      if (s.photos.max > 0)
        for (const id of chosen) {
          const n =
            done.filter((p) => p.kind === 'photo' && p.lineItemId === id).length +
            (chosen.length === 1 ? general : 0);
          if (n < s.photos.min)
            e[`photo:${id}`] = t('evidence.missing', { min: s.photos.min, title: title(id) });
          else if (n > s.photos.max)
            e[`photo:${id}`] = t('evidence.too_many', { max: s.photos.max, title: title(id) });
        }
      if (s.package_photo === 'required' && !done.some((p) => p.kind === 'package_photo'))
        e.package_photo = t('evidence.package_missing');
      if (s.signature === 'required' && !done.some((p) => p.kind === 'signature'))
        e.signature = t('signature.missing');
      break;
    }
    case 'details': {
      const d = s.description;
      const len = draft.description.trim().length;
      if (d.required && len === 0) e.description = t('lookup.required');
      else if (len > 0 && len < d.min_length) e.description = t('details.too_short', { min: d.min_length });
      else if (d.required && len < d.min_length)
        e.description = t('details.too_short', { min: d.min_length });
      if (draft.description.length > d.max_length)
        e.description = t('details.too_long', { max: d.max_length });
      for (const p of s.prompts) {
        const v = draft.answers[p.id];
        if (p.required && (v === undefined || v === '')) e[`prompt:${p.id}`] = t('details.required_answer');
      }
      if (asksDropoff(flow, draft) && draft.dropoff === null) e.dropoff = t('details.required_answer');
      break;
    }
    case 'resolution':
      if (flow.resolutions.length && !draft.resolution) e.general = t('resolution.none_selected');
      break;
    case 'review':
      break;
  }
  return e;
}

/**
 * Whether a claim of this flow may name no item: only "Something else", which may concern the whole order (the
 * API's rule: src/claims/check-claim.ts requires at least one item of every other flow).
 */
export const itemsOptional = (flow: Pick<FlowEligibility, 'flow'>) => flow.flow === 'support';

/**
 * A parcel reported missing although the carrier marked it delivered (not_received, any reason but a stuck
 * parcel): the customer is asked whether the carrier could leave it without a signature, and gets the tips for
 * finding it. A stuck parcel never reached the door (the server asks the same: src/resolve/eligibility.ts).
 */
export const asksDropoff = (flow: FlowEligibility, draft: Pick<Draft, 'reason'>) =>
  flow.steps.dropoff_permission && draft.reason !== 'stuck_in_transit';

/**
 * The uploaded files the claim sends: photos of an item the customer chose and then unticked stay in memory (the
 * customer may tick it again), but are neither sent nor counted on the review.
 */
export const sentEvidence = (draft: Draft) =>
  draft.photos
    .filter((p) => p.status === 'done' && p.uploadId)
    .filter((p) => p.kind !== 'photo' || !p.lineItemId || p.lineItemId in draft.items);

/** The claim as the API takes it (SPEC §14). */
export function claimInput(flow: FlowEligibility, draft: Draft) {
  return {
    flow: flow.flow,
    reason: draft.reason ?? flow.reasons[0]?.code ?? 'other',
    items: Object.entries(draft.items).map(([line_item_id, quantity]) => ({ line_item_id, quantity })),
    description: draft.description.trim() || null,
    resolution_preference: draft.resolution,
    evidence: sentEvidence(draft).map((p) => ({
      upload_id: p.uploadId!,
      kind: p.kind,
      line_item_id: p.lineItemId,
    })),
    answers: Object.entries(draft.answers)
      .filter(([, v]) => v !== '')
      .map(([prompt_id, value]) => ({ prompt_id, value })),
    dropoff_permission: asksDropoff(flow, draft) ? draft.dropoff : null,
  };
}
