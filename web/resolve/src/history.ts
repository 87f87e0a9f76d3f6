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
}

const KEY = 'resolve';

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
    const state = { ...(history.state as object | null), [KEY]: entry };
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
  write('push', { view, below: here ? viewKey(here.view) : null });
}

/** The current entry becomes `view` (the first screen, or a step the page had to correct). */
export function replaceView(view: View): void {
  write('replace', { view, below: current()?.below ?? null });
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
    if (entry?.view) apply(entry.view);
  };
  addEventListener('popstate', listener);
  return () => removeEventListener('popstate', listener);
}
