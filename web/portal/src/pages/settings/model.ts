// The settings document as the server defines it (type-only imports: nothing of the server is bundled), and the
// helpers the editors share: immutable updates by path, and the minimal PATCH between two versions.

import type { Branding, FlowSettings, ResolveSettings } from '../../../../../src/resolve/settings';

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
/**
 * The server's validator speaks in stored units and regular expressions; the form shows megabytes and
 * addresses. Its messages, said in the form's terms.
 */
export function readableError(path: string, message: string): string {
  if (path === '/upload_max_bytes')
    return message.replace(/\d+/g, (n) => `${Math.round((Number(n) / MB) * 100) / 100} MB`);
  if (!message.startsWith('must match pattern')) return message;
  if (/^\/allowed_origins\/\d+$/.test(path))
    return 'must be a site’s origin, such as https://shop.example.com (no path), or * for any site';
  if (path === '/returns/external_url_template') return 'must be an https:// address';
  return message;
}
