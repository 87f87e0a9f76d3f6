import { useEffect, useState } from 'react';

/**
 * A small history router: the portal's state lives in its URL (filters included), so views can be shared.
 * `state` rides along in the history entry (read back as `history.state`), for what the URL need not show.
 */
export function navigate(to: string, replace = false, state: unknown = null) {
  if (to === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](state, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useLocation() {
  const [loc, setLoc] = useState(() => ({ path: location.pathname, search: location.search }));
  useEffect(() => {
    const on = () => setLoc({ path: location.pathname, search: location.search });
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return loc;
}

/** Matches `/portal/:slug/claims/:id`-style patterns; null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const a = path.split('/').filter(Boolean);
  if (p.length !== a.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) out[p[i].slice(1)] = decodeURIComponent(a[i]);
    else if (p[i] !== a[i]) return null;
  }
  return out;
}

/** Links that navigate inside the app, but still open in a new tab with a modifier key. */
export function onLink(e: React.MouseEvent<HTMLAnchorElement>, state: unknown = null) {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(e.currentTarget.getAttribute('href') ?? '/portal', false, state);
}
