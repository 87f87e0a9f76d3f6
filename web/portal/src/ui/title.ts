import { useEffect } from 'react';

/**
 * The browser tab's title for the page on screen: `Claim R-1001 · Resolve`. Every page sets its own (parts from
 * the most specific), so Back, Forward and a reload never leave another page's title behind. An empty part (data
 * still loading) is left out.
 */
export function useTitle(...parts: (string | null | undefined | false)[]) {
  const title = [...parts.filter(Boolean), 'Resolve'].join(' · ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}
