// The settings document as the server defines it (type-only imports: nothing of the server is bundled but the
// dependency-free returns-template.ts, so the form checks a returns URL as the server does), and the
// helpers the editors share: immutable updates by path, and the minimal PATCH between two versions.

import { returnsTemplateProblem } from '../../../../../src/resolve/returns-template';
import type { Branding, FlowSettings, ResolveSettings } from '../../../../../src/resolve/settings';
import { type FieldInfo, plainMessage } from '../../ui/errors';
import { label } from '../../ui/format';

export { RETURNS_URL_PLACEHOLDERS } from '../../../../../src/resolve/returns-template';
export type { Branding, FlowSettings, ResolveSettings };
export type Prompt = FlowSettings['prompts'][number];
export type Reason = FlowSettings['reasons'][number];
export type Labels = Reason['labels'];
export type Optionality = FlowSettings['signature'];
export type Path = (string | number)[];
/** Server validation errors by JSON pointer (`/flows/return/photos/min`). */
export type FieldErrors = Record<string, string>;

export const LANGS = ['en', 'de', 'fr', 'es', 'it', 'nl', 'da'] as const;
export type Lang = (typeof LANGS)[number];
export const LANG_NAMES: Record<Lang, string> = {
  en: 'English',
  de: 'German',
  fr: 'French',
  es: 'Spanish',
  it: 'Italian',
  nl: 'Dutch',
  da: 'Danish',
};
export const OTHER_LANGS = LANGS.filter((l) => l !== 'en');

export const FLOWS = [
  'defective',
  'not_received',
  'missing_item',
  'wrong_item',
  'return',
  'dissatisfied',
  'support',
] as const;
export type Flow = (typeof FLOWS)[number];
export const FLOW_INFO: Record<Flow, string> = {
  defective: 'Item arrived damaged or broken',
  not_received: 'Carrier says delivered but the customer has nothing, or the parcel is stuck',
  missing_item: 'Parcel arrived, an item is missing',
  wrong_item: 'Parcel arrived with the wrong contents',
  return: 'Customer wants to send items back',
  dissatisfied: 'Item is fine but disappoints',
  support: 'Anything else (always available)',
};
export const RESOLUTIONS = ['refund', 'replacement', 'store_credit'] as const;
export const OPTIONALITY = ['off', 'optional', 'required'] as const;

/** What the form checks before saving, in the server's words and at its paths. */
export function draftErrors(draft: ResolveSettings): { path: string; message: string }[] {
  const template = draft.returns.external_url_template;
  const problem = draft.returns.mode === 'external' && template ? returnsTemplateProblem(template) : null;
  return problem ? [{ path: '/returns/external_url_template', message: problem }] : [];
}

/** No flow would be offered to customers. */
export const noFlowOffered = (s: ResolveSettings) =>
  Object.values(s.flows).every((f) => !(f as FlowSettings).enabled);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of `obj` with the value at `path` replaced (`undefined` removes an object key). */
export function setIn<T>(obj: T, path: Path, value: unknown): T {
  if (path.length === 0) return value as T;
  const [head, ...rest] = path;
  if (Array.isArray(obj)) {
    const out = [...obj];
    out[head as number] = setIn(out[head as number], rest, value);
    return out as T;
  }
  const base = (isObject(obj) ? obj : {}) as Record<string, unknown>;
  const next = setIn(base[head as string], rest, value);
  const out = { ...base };
  if (next === undefined) delete out[head as string];
  else out[head as string] = next;
  return out as T;
}

export function getIn(obj: unknown, path: Path): unknown {
  let v = obj;
  for (const k of path) v = v == null ? undefined : (v as Record<string | number, unknown>)[k];
  return v;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * What changed from `base` to `next`, in the server's PATCH semantics: objects merge key by key, arrays and
 * scalars replace. Keys only in `base` are not expressible (see `clearedCopy`). `undefined` = no change.
 */
export function diff(base: unknown, next: unknown): unknown {
  if (isObject(base) && isObject(next)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(next)) {
      const d = diff(base[k], v);
      if (d !== undefined) out[k] = d;
    }
    return Object.keys(out).length ? out : undefined;
  }
  // An object emptied back to nothing (e.g. a language's texts typed and cleared) is no change.
  if (
    base === undefined &&
    isObject(next) &&
    Object.values(next).every((v) => diff(undefined, v) === undefined)
  )
    return undefined;
  return same(base, next) ? undefined : next;
}

/** Leaves of a patch: what the unsaved-changes indicator counts. */
export function countChanges(patch: unknown): number {
  if (!isObject(patch)) return patch === undefined ? 0 : 1;
  return Object.values(patch).reduce<number>((n, v) => n + countChanges(v), 0);
}

export type CopyField = 'headline' | 'intro' | 'confirmation';
export const COPY_FIELDS: CopyField[] = ['headline', 'intro', 'confirmation'];

/** Custom copy the merchant emptied: present before, gone now (the PATCH cannot delete keys). */
export function clearedCopy(base: ResolveSettings, next: ResolveSettings): [Lang, CopyField][] {
  const out: [Lang, CopyField][] = [];
  for (const l of LANGS)
    for (const f of COPY_FIELDS)
      if (base.branding.copy[l]?.[f] && !next.branding.copy[l]?.[f]) out.push([l, f]);
  return out;
}

/** Empty copy texts count as "not customised", so the form shows the defaults as placeholders. */
export function normalize(s: ResolveSettings): ResolveSettings {
  const copy: Branding['copy'] = {};
  for (const [l, c] of Object.entries(s.branding.copy)) {
    const kept = Object.fromEntries(Object.entries(c ?? {}).filter(([, v]) => typeof v === 'string' && v));
    if (Object.keys(kept).length) copy[l] = kept;
  }
  return { ...s, branding: { ...s.branding, copy } };
}

/** The errors at or under a path prefix (a flow, a reason, …). */
export function errorsUnder(errors: FieldErrors, prefix: string): string[] {
  return Object.keys(errors).filter((p) => p === prefix || p.startsWith(`${prefix}/`));
}

export const pointer = (path: Path) => `/${path.join('/')}`;

const MB = 1_048_576;
const DAYS = { unit: 'days', min: 1 };
const CODE = 'Use only lowercase letters, digits and _';
const HTTPS = 'Enter an address starting with https://';
const COLOUR = 'Enter a colour as # and six hex digits, such as #1f6feb';
const COPY_NAMES: Record<string, string> = {
  headline: 'Headline',
  intro: 'Introduction',
  confirmation: 'Confirmation text',
};
const TOP: Record<string, FieldInfo> = {
  claim_window_days: { name: 'Claim window', ...DAYS },
  return_window_days: { name: 'Return window', ...DAYS },
  stuck_after_days: { name: 'Parcel counts as stuck after', ...DAYS },
  token_ttl_days: { name: 'Resolve links stay valid for', ...DAYS },
  upload_max_bytes: { name: 'Largest photo upload', what: 'a size in MB', scale: MB, min: 0.1 },
  unavailable_flows: { name: 'Unavailable flows' },
  allowed_origins: { name: 'Sites that may embed the customer page' },
  returns: { name: 'Returns' },
  branding: { name: 'Branding' },
  flows: { name: 'Flows' },
};
const BRANDING: Record<string, FieldInfo> = {
  logo_url: { name: 'Logo URL', format: HTTPS },
  primary_color: { name: 'Primary colour', format: COLOUR },
  background_color: { name: 'Background colour', format: COLOUR },
  font_family: {
    name: 'Font family',
    format: 'Use only letters, digits, spaces, commas, quotes and hyphens, such as Georgia, serif',
  },
  support_email: { name: 'Support email' },
};
const langName = (l: string) => LANG_NAMES[l as Lang] ?? l;

/** Within a flow: its fields, named as the flow editor labels them. */
function flowField(rest: string[], draft?: ResolveSettings, flow?: string): FieldInfo {
  const [key, a, b, c, d, e] = rest;
  const i = Number(a);
  const flowDraft = flow ? (draft?.flows as Record<string, FlowSettings> | undefined)?.[flow] : undefined;
  switch (key) {
    case undefined:
      return { name: 'this flow' };
    case 'enabled':
      return { name: 'offered to customers' };
    case 'resolutions':
      return { name: 'resolutions the customer may ask for' };
    case 'package_photo':
      return { name: 'photo of the package' };
    case 'signature':
      return { name: 'signature' };
    case 'photos':
      return { name: a === 'min' ? 'photos, at least' : 'photos, at most', unit: 'photos', min: 0 };
    case 'description':
      return a === 'required'
        ? { name: 'description required' }
        : {
            name: a === 'min_length' ? 'description, min. length' : 'description, max. length',
            unit: 'characters',
            min: a === 'min_length' ? 0 : 1,
          };
    case 'reasons': {
      if (a === undefined) return { name: 'reasons', tooFew: 'A flow needs at least one reason' };
      const code = flowDraft?.reasons[i]?.code;
      const reason = `reason ${i + 1}${code ? ` (${code})` : ''}`;
      if (b === 'code') return { name: `code of ${reason}`, noun: 'a code', format: CODE };
      if (b === 'labels') return { name: `label of ${reason}, ${langName(c)}`, noun: 'a label' };
      return { name: reason };
    }
    case 'prompts': {
      if (a === undefined) return { name: 'questions' };
      const q = `question ${i + 1}`;
      if (b === 'id') return { name: `ID of ${q}`, noun: 'an ID', format: CODE };
      if (b === 'labels') return { name: `${q}, ${langName(c)}`, noun: 'the question' };
      if (b === 'max_length') return { name: `max. length of ${q}`, unit: 'characters', min: 1 };
      if (b === 'required') return { name: `${q}, required` };
      if (b === 'type') return { name: `answer type of ${q}` };
      if (b === 'options') {
        if (c === undefined)
          return { name: `options of ${q}`, tooFew: 'A choice question needs at least two options' };
        const o = `option ${Number(c) + 1} of ${q}`;
        if (d === 'value') return { name: `value of ${o}`, noun: 'a value', format: CODE };
        if (d === 'labels') return { name: `${o}, ${langName(e)}`, noun: 'a label' };
        return { name: o };
      }
      return { name: q };
    }
    default:
      return { name: key.replace(/_/g, ' ') };
  }
}

/**
 * A settings field by its JSON pointer, in the words of its form label ("/flows/defective/reasons/4/labels/en" →
 * "Defective: label of reason 5 (broken_on_arrival), English"), with what its errors need to say it plainly.
 * `draft` adds what a position stands for (a reason's code).
 */
export function settingsField(path: string, draft?: ResolveSettings): FieldInfo {
  const [, top, ...rest] = path.split('/');
  if (top === 'flows' && rest.length) {
    const f = flowField(rest.slice(1), draft, rest[0]);
    return { ...f, name: `${label(rest[0])}: ${f.name}` };
  }
  if (top === 'allowed_origins' && rest.length)
    return {
      name: `Sites that may embed the customer page, line ${Number(rest[0]) + 1}`,
      format: 'Enter a site’s origin, such as https://shop.example.com (no path), or * for any site',
    };
  if (top === 'returns')
    return rest[0] === 'external_url_template'
      ? { name: 'Returns portal URL template', format: HTTPS }
      : { name: 'Where returns are handled' };
  if (top === 'branding') {
    if (rest[0] === 'copy' && rest[1])
      return { name: `${COPY_NAMES[rest[2]] ?? 'Texts'} (${langName(rest[1])})` };
    return BRANDING[rest[0]] ?? { name: 'Branding' };
  }
  return TOP[top] ?? { name: top ? top.replace(/_/g, ' ') : 'Settings' };
}

/** A settings validation message, said plainly for its field (megabytes, not bytes; no regular expressions). */
export const readableError = (path: string, message: string) => plainMessage(message, settingsField(path));
