import { useCallback, useEffect, useMemo, useState } from 'react';
import { loadMessages } from '../../../../resolve/src/i18n';
import { ApiError, api } from '../../api';
import {
  clearedCopy,
  countChanges,
  diff,
  draftErrors,
  type FieldErrors,
  normalize,
  type Path,
  type ResolveSettings,
  readableError,
  setIn,
} from './model';

/**
 * The customer-flow settings: what the server has, the draft being edited, and saving the difference.
 * Shared by the Resolve, Branding and Languages tabs, so switching tabs keeps unsaved edits.
 */
export function useSettingsDoc(slug: string) {
  const url = `/v1/shops/${slug}/settings/resolve`;
  const [saved, setSaved] = useState<ResolveSettings | null>(null);
  const [draft, setDraft] = useState<ResolveSettings | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [saveError, setSaveError] = useState<ApiError | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saving, setSaving] = useState(false);
  const [savedAt, setSavedAt] = useState<Date | null>(null);

  useEffect(() => {
    let live = true;
    api<ResolveSettings>('GET', url).then(
      (s) => {
        if (!live) return;
        setSaved(normalize(s));
        setDraft(normalize(s));
      },
      (e) => live && setLoadError(e),
    );
    return () => {
      live = false;
    };
  }, [url]);

  const patch = useMemo(() => (saved && draft ? diff(saved, draft) : undefined), [saved, draft]);
  const cleared = useMemo(() => (saved && draft ? clearedCopy(saved, draft) : []), [saved, draft]);
  const changes = countChanges(patch) + cleared.length;
  /** Which tab holds the unsaved edits: Branding (branding.*) or Flows and reasons (everything else). */
  const dirty = useMemo(() => {
    const keys = Object.keys((patch ?? {}) as object);
    return {
      branding: keys.includes('branding') || cleared.length > 0,
      resolve: keys.some((k) => k !== 'branding'),
    };
  }, [patch, cleared]);

  const set = useCallback((path: Path, value: unknown) => {
    setDraft((d) => (d ? setIn(d, path, value) : d));
    setSavedAt(null);
  }, []);

  const save = useCallback(async () => {
    if (!saved || !draft || saving) return false;
    if (diff(saved, draft) === undefined && clearedCopy(saved, draft).length === 0) return true;
    // What the form can tell at once is said before asking the server, in the server's words.
    const local = draftErrors(draft);
    if (local.length) {
      const readable = local.map((x) => ({ path: x.path, message: readableError(x.path, x.message) }));
      setSaveError(new ApiError('validation_failed', 'Invalid settings.', 400, readable));
      setErrors(Object.fromEntries(readable.map((x) => [x.path, x.message])));
      return false;
    }
    setSaving(true);
    setSaveError(null);
    try {
      let body = (diff(saved, draft) ?? {}) as Record<string, unknown>;
      // The PATCH merges objects, so a custom text cannot be removed: an emptied headline or introduction
      // gets the page's own default text back (an empty confirmation already falls back to it).
      for (const [lang, field] of clearedCopy(saved, draft)) {
        const messages = field === 'confirmation' ? null : await loadMessages(lang);
        const text = messages ? messages[field === 'headline' ? 'page.title' : 'page.intro'] : '';
        body = setIn(body, ['branding', 'copy', lang, field], text);
      }
      const next = normalize(await api<ResolveSettings>('PATCH', url, body));
      setSaved(next);
      setDraft(next);
      setErrors({});
      setSavedAt(new Date());
      return true;
    } catch (err) {
      const raw = err instanceof ApiError ? err : new ApiError('unknown', String(err), 0);
      // The server checks min ≤ max only once everything else is valid: checked here too, so every problem
      // is listed at once instead of one more after the next save.
      const all =
        raw.key === 'validation_failed'
          ? [...raw.errors, ...rangeErrors(draft).filter((x) => !raw.errors.some((y) => y.path === x.path))]
          : raw.errors;
      // One message per field, the validator's first: an empty code is "Enter a code", not also a pattern.
      const readable = all
        .filter((x, i) => all.findIndex((y) => y.path === x.path) === i)
        .map((x) => ({ path: x.path, message: readableError(x.path, x.message) }));
      const e = new ApiError(raw.key, raw.message, raw.status, readable, raw.retryAfter);
      setSaveError(e);
      setErrors(Object.fromEntries(e.errors.map((x) => [x.path, x.message])));
      return false;
    } finally {
      setSaving(false);
    }
  }, [saved, draft, saving, url]);

  const discard = useCallback(() => {
    setDraft(saved);
    setErrors({});
    setSaveError(null);
  }, [saved]);

  // Leaving the page (reload, close, another site) with unsaved edits asks first.
  useEffect(() => {
    if (!changes) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = '';
    };
    addEventListener('beforeunload', warn);
    return () => removeEventListener('beforeunload', warn);
  }, [changes]);

  return { saved, draft, set, save, discard, changes, dirty, saving, savedAt, errors, saveError, loadError };
}
export type SettingsDoc = ReturnType<typeof useSettingsDoc>;

/** The ranges the server checks after its schema (src/resolve/settings.ts), in its words: min ≤ max per flow. */
function rangeErrors(draft: ResolveSettings): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  for (const [flow, f] of Object.entries(draft.flows ?? {})) {
    const fs = f as { photos?: { min?: unknown; max?: unknown }; description?: Record<string, unknown> };
    const [pMin, pMax] = [num(fs.photos?.min), num(fs.photos?.max)];
    if (pMin !== null && pMax !== null && pMin > pMax)
      out.push({ path: `/flows/${flow}/photos/min`, message: 'must not exceed max' });
    const [dMin, dMax] = [num(fs.description?.min_length), num(fs.description?.max_length)];
    if (dMin !== null && dMax !== null && dMin > dMax)
      out.push({ path: `/flows/${flow}/description/min_length`, message: 'must not exceed max_length' });
  }
  return out;
}
