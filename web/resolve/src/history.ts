import type { Flow } from './types';

/**
 * Where the customer is, as one entry of the browser's history: the phone's Back button goes to the previous
 * step instead of leaving the page. Entries keep the page's URL (its deep-link parameters and a preview's
 * hash stay as they are); what they carry is in `history.state`. Inside an iframe the entries are the
 * frame's own: Back moves the frame, never the shop's page.
 */
export type View =
  | { stage: 'lookup' }
  | { stage: 'home' }
  | { stage: 'done' }
  /** `draft` is the report's idempotency key: an entry of a report that was sent or dropped opens nothing. */
  | { stage: 'wizard'; flow: Flow; step: number; draft: string };

interface Entry {
  view: View;
  /** The view of the entry below this one, when this page put it there: the in-page Back can then go back. */
  below: string | null;
  /** The entries below this one that this page put there, bottom first: their view and the document that wrote them. */
  trail?: { key: string; doc: string }[];
  /** The document (this load of the page) that wrote the entry. */
  doc?: string;
}

const KEY = 'resolve';
/** This load of the page: entries written before a reload belong to another document. */
const DOC = Math.random().toString(36).slice(2);

export const viewKey = (v: View): string => (v.stage === 'wizard' ? `wizard:${v.draft}:${v.step}` : v.stage);

function current(): Entry | null {
  try {
    const e = (history.state as Record<string, unknown> | null)?.[KEY] as Entry | undefined;
    return e?.view ? e : null;
  } catch {
    return null;
  }
}

function write(how: 'push' | 'replace', entry: Entry) {
  // Sandboxed or locked-down embeds may refuse: the page then works as before, without history entries.
  try {
    const state = { ...(history.state as object | null), [KEY]: { ...entry, doc: DOC } };
    if (how === 'push') history.pushState(state, '');
    else history.replaceState(state, '');
  } catch {
    // no history for this page
  }
}

/** A new entry for a step forward (Continue, picking a flow, a lookup). */
export function pushView(view: View): void {
  const here = current();
  if (here && viewKey(here.view) === viewKey(view)) return;
  const trail = here ? [...(here.trail ?? []), { key: viewKey(here.view), doc: here.doc ?? '' }] : [];
  write('push', { view, below: here ? viewKey(here.view) : null, trail });
}

/** The current entry becomes `view` (the first screen, or a step the page had to correct). */
export function replaceView(view: View): void {
  const here = current();
  write('replace', { view, below: here?.below ?? null, trail: here?.trail ?? [] });
}

/** A rewind under way (leaveTo): the entry it lands on becomes `base`, and `top` goes on it. */
let rewind: { base: View; top: View } | null = null;

/**
 * After a report was sent: its steps are no longer stops for Back. The browser goes back to the nearest entry of
 * `base` below (the order), dropping the steps above it, and `top` (the confirmation) becomes the entry above
 * it: Back from `top` leads to `base`, and the next Back to what was below the order. Without such an entry of
 * this load of the page (a link that opened the report, a reload since), the lowest entry of this load becomes
 * `base`. The page shows `top` meanwhile.
 */
export function leaveTo(base: View, top: View): void {
  const trail = current()?.trail ?? [];
  const own = (i: number) => trail[i]?.doc === DOC;
  let i = trail.map((x) => x.key).lastIndexOf(viewKey(base));
  if (i < 0 || !own(i)) {
    // The lowest entry this load wrote (entries of an earlier load may need it to load again).
    i = trail.length;
    while (i > 0 && own(i - 1)) i--;
  }
  if (i < trail.length) {
    try {
      rewind = { base, top };
      history.go(i - trail.length);
      return;
    } catch {
      rewind = null;
    }
  }
  replaceView(base);
  pushView(top);
}

/**
 * The in-page Back: when the entry below is where it leads, the browser goes back to it (so Back and Forward
 * keep agreeing with the page); otherwise a new entry. Returns true when the browser will answer with popstate.
 */
export function backTo(view: View): boolean {
  if (current()?.below === viewKey(view)) {
    try {
      history.back();
      return true;
    } catch {
      // no history for this page: shown directly
    }
  }
  pushView(view);
  return false;
}

/** Entries reached by Back or Forward. */
export function onHistory(apply: (view: View) => void): () => void {
  const listener = (e: PopStateEvent) => {
    const entry = (e.state as Record<string, unknown> | null)?.[KEY] as Entry | undefined;
    const r = rewind;
    rewind = null;
    // The end of a rewind (leaveTo): the page already shows its top.
    if (r && entry?.doc === DOC) {
      replaceView(r.base);
      pushView(r.top);
    } else if (entry?.view) apply(entry.view);
  };
  addEventListener('popstate', listener);
  return () => removeEventListener('popstate', listener);
}
