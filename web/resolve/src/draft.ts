import { formatFileSize, formatWait, type MessageKey, type T } from './i18n';
import type { Flow, FlowEligibility } from './types';

export type EvidenceKind = 'photo' | 'package_photo' | 'signature';

/** A photo the customer added: kept in memory so it can be uploaded again after a session ends. */
export interface Photo {
  key: string;
  kind: EvidenceKind;
  lineItemId: string | null;
  file: Blob;
  name: string;
  preview: string;
  progress: number;
  status: 'uploading' | 'done' | 'error';
  uploadId?: string;
  /** The session the upload belongs to: uploads are only accepted with the session that made them. */
  session?: string;
  /** Kept as a message key, so the text follows a change of language. */
  error?: PhotoError;
  /** False when sending the same file again cannot help (not a photo, too large). */
  retryable?: boolean;
}

/** Why an upload failed: a message key and its values (`maxBytes`, `wait` in seconds), formatted when shown. */
export interface PhotoError {
  key: MessageKey;
  maxBytes?: number;
  wait?: number;
}

/** The text of a failed upload in the page's current language. */
export const photoErrorText = (t: T, e: PhotoError | undefined): string =>
  e
    ? t(e.key, {
        size: e.maxBytes === undefined ? '' : formatFileSize(e.maxBytes),
        time: e.wait === undefined ? '' : formatWait(t, e.wait),
      })
    : '';

export interface Draft {
  flow: Flow | null;
  items: Record<string, number>;
  reason: string | null;
  photos: Photo[];
  description: string;
  answers: Record<string, string | boolean>;
  dropoff: boolean | null;
  resolution: string | null;
  /** One key per draft: a double click or a retry sends the same key, so the server creates one claim. */
  idempotencyKey: string;
}

export const newKey = () =>
  typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

export function emptyDraft(flow: Flow | null = null): Draft {
  return {
    flow,
    items: {},
    reason: null,
    photos: [],
    description: '',
    answers: {},
    dropoff: null,
    resolution: null,
    idempotencyKey: newKey(),
  };
}

/** A new draft for a flow, with what the server already decided: single choices and not_received items. */
export function startDraft(f: FlowEligibility): Draft {
  const d = emptyDraft(f.flow);
  if (f.reasons.length === 1) d.reason = f.reasons[0].code;
  if (f.resolutions.length === 1) d.resolution = f.resolutions[0];
  // not_received is about whole parcels: the shipment's items come preselected (SPEC §5).
  if (f.flow === 'not_received') for (const it of f.items) d.items[it.line_item_id] = it.max_quantity;
  else if (f.items.length === 1) d.items[f.items[0].line_item_id] = 1;
  return d;
}

/**
 * The draft as the order's current eligibility still allows it (after a reload, or when a submit was refused
 * because the order or the shop's form changed): items no longer claimable are dropped with their photos,
 * quantities cut to what is left, and a reason, resolution or answer the form no longer has is cleared. The
 * same object when nothing changed.
 */
export function fitDraft(d: Draft, flows: FlowEligibility[]): Draft {
  const f = flows.find((x) => x.flow === d.flow);
  if (!f?.available) return d;
  const max = new Map(f.items.map((i) => [i.line_item_id, i.max_quantity]));
  const items: Record<string, number> = {};
  for (const [id, q] of Object.entries(d.items)) {
    const m = max.get(id);
    if (m) items[id] = Math.min(q, m);
  }
  const only = <V>(list: V[]) => (list.length === 1 ? list[0] : null);
  const codes = f.reasons.map((r) => r.code);
  const reason = d.reason && !codes.includes(d.reason) ? only(codes) : d.reason;
  const resolution =
    d.resolution && !(f.resolutions as string[]).includes(d.resolution) ? only(f.resolutions) : d.resolution;
  const answers = Object.fromEntries(
    Object.entries(d.answers).filter(([id]) => f.steps.prompts.some((p) => p.id === id)),
  );
  const photos = d.photos.filter((p) => p.kind !== 'photo' || !p.lineItemId || p.lineItemId in items);
  const same =
    JSON.stringify(items) === JSON.stringify(d.items) &&
    reason === d.reason &&
    resolution === d.resolution &&
    Object.keys(answers).length === Object.keys(d.answers).length &&
    photos.length === d.photos.length;
  return same ? d : { ...d, items, reason, resolution, answers, photos };
}

export type Step = 'items' | 'reason' | 'evidence' | 'details' | 'resolution' | 'review';

export function stepsFor(f: FlowEligibility): Step[] {
  const s = f.steps;
  const steps: Step[] = [];
  if (f.items.length > 0) steps.push('items');
  if (f.reasons.length > 1) steps.push('reason');
  if (s.photos.max > 0 || s.package_photo !== 'off' || s.signature !== 'off') steps.push('evidence');
  steps.push('details');
  if (f.resolutions.length > 1) steps.push('resolution');
  steps.push('review');
  return steps;
}

const STORE = (slug: string) => `resolve:${slug}`;

/** What survives a reload of the tab: the session and the typed answers (photos live in memory only). */
export interface Saved {
  session: string | null;
  orderNumber: string;
  zipCode: string;
  /** The order the draft was written for (absent in what an older page saved). */
  orderId?: string | null;
  draft: Omit<Draft, 'photos'> | null;
  step: number;
}

export function loadSaved(slug: string): Saved | null {
  try {
    const raw = sessionStorage.getItem(STORE(slug));
    return raw ? (JSON.parse(raw) as Saved) : null;
  } catch {
    return null;
  }
}

export function save(slug: string, s: Saved): void {
  try {
    sessionStorage.setItem(STORE(slug), JSON.stringify(s));
  } catch {
    // private mode or full storage: the flow still works, it just does not survive a reload
  }
}

export function forget(slug: string): void {
  try {
    sessionStorage.removeItem(STORE(slug));
  } catch {
    // nothing stored
  }
}
