import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Shop } from '../App';
import { type ApiError, api, type Claim, type Page, qs } from '../api';
import { Badge, ErrorBox, Loading } from '../ui/common';
import { channelLabel, dateTime, label, money } from '../ui/format';
import { navigate, onLink } from '../ui/router';
import { useTitle } from '../ui/title';
import {
  CHOICE_FILTERS,
  ChoiceSelect,
  choicesOf,
  listErrorText,
  reasonForFlow,
  reasonLabeller,
  useKnownValues,
} from './ClaimFilters';
import { SavedViews } from './SavedViews';

export const FILTERS = [
  [
    'flow',
    'Flow',
    ['defective', 'not_received', 'missing_item', 'wrong_item', 'return', 'dissatisfied', 'support'],
  ],
  ['resolution_preference', 'Preference', ['refund', 'replacement', 'store_credit', 'none']],
  [
    'shipment_phase',
    'Shipment phase',
    ['delivered', 'in_transit', 'in_delivery', 'delivery_failed', 'order_processed', 'collect', 'none'],
  ],
  ['channel', 'Channel', ['zip', 'token', 'api', 'portal']],
] as const;
const STATUSES = ['pending', 'accepted', 'rejected', 'closed'] as const;

/** The list's query (filters + sort) from the URL: the URL is the view, so it can be shared and saved. */
export function queryOf(search: string): Record<string, string> {
  const out: Record<string, string> = {};
  new URLSearchParams(search).forEach((v, k) => {
    if (v) out[k] = v;
  });
  return out;
}

/**
 * The list as the agent left it (its query string), per shop in this browser tab, so a claim's "← Claims"
 * returns to it; a claim opened with no list before goes back to the plain list. Without storage, so does it.
 */
const listKey = (slug: string) => `resolve.portal.claims-list.${slug}`;
export function lastListSearch(slug: string): string {
  try {
    const s = sessionStorage.getItem(listKey(slug)) ?? '';
    return s.startsWith('?') ? s : '';
  } catch {
    return '';
  }
}
function rememberListSearch(slug: string, search: string) {
  try {
    sessionStorage.setItem(listKey(slug), search);
  } catch {
    // no storage: "← Claims" goes to the plain list
  }
}

/**
 * Whether a key belongs to what has the focus (a link, a button, a field, a tab, anything in a dialog) rather
 * than to the list's shortcuts: Enter on a link opens that link, not the highlighted claim.
 */
const INTERACTIVE =
  'a, button, input, select, textarea, summary, [contenteditable]:not([contenteditable="false"]), ' +
  '[role=button], [role=link], [role=tab], [role=menuitem], [role=option], [role=checkbox], [role=radio], ' +
  '[role=switch], [role=textbox], [role=combobox], dialog, [role=dialog], [role=alertdialog]';
function keyBelongsToFocus(target: EventTarget | null): boolean {
  return target instanceof Element && target.closest(INTERACTIVE) !== null;
}

export function Claims({ shop, search }: { shop: Shop; search: string }) {
  const query = useMemo(() => queryOf(search), [search]);
  const [rows, setRows] = useState<Claim[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [counts, setCounts] = useState<Record<string, number> | null>(null);
  /** The counts could not be read (a refused filter): the tabs say so rather than wait. */
  const [countsFailed, setCountsFailed] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [moreError, setMoreError] = useState<ApiError | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const moreInFlight = useRef(false);
  const [selected, setSelected] = useState(0);
  // On a narrow screen the filters fold behind "Filters (n)", so the list is on the first screen.
  const [filtersOpen, setFiltersOpen] = useState(false);
  const activeFilters = Object.keys(query).filter((k) => !['status', 'q', 'sort'].includes(k)).length;
  // From after To: no claim can match, and the server refuses it; said once at the dates, not asked.
  const inverted = !!(query.created_from && query.created_to && query.created_from >= query.created_to);
  useTitle(query.status && label(query.status), 'Claims');
  const [q, setQ] = useState(query.q ?? '');
  const searchRef = useRef<HTMLInputElement>(null);
  // The box shows what the list is searched by: after Back, Forward or a saved view too.
  useEffect(() => setQ(query.q ?? ''), [query.q]);
  useEffect(() => rememberListSearch(shop.slug, search), [shop.slug, search]);
  const base = `/v1/shops/${shop.slug}`;
  const known = useKnownValues(shop.slug);
  const reasonLabel = useMemo(() => reasonLabeller(known.settings), [known.settings]);
  const choices = useMemo(
    () => choicesOf(known, (query.flow ?? '').split(',').filter(Boolean)),
    [known, query.flow],
  );

  const setQuery = useCallback(
    (patch: Record<string, string | undefined>) => {
      const next = { ...query, ...patch };
      for (const k of Object.keys(next)) if (!next[k]) delete next[k];
      navigate(`/portal/${shop.slug}/claims${qs(next)}`);
    },
    [query, shop.slug],
  );

  useEffect(() => {
    let live = true;
    setRows(null);
    setError(null);
    setMoreError(null);
    setCountsFailed(false);
    if (inverted) {
      setCounts(null);
      setCountsFailed(true);
      setCursor(null);
      return;
    }
    api<Page<Claim>>('GET', `${base}/claims${qs({ ...query, per_page: 50 })}`).then(
      (p) => {
        if (!live) return;
        setRows(p.data);
        setCursor(p.has_more ? p.next_cursor : null);
        // Back from a claim ("← Claims"): the highlight is on that claim when it is listed.
        const from = (history.state as { claim?: unknown } | null)?.claim;
        const at = p.data.findIndex((c) => c.id === from);
        setSelected(Math.max(at, 0));
      },
      (e) => live && setError(e),
    );
    // Counts per status of the same filters: the tabs are the status, and the order does not change a count.
    const { status: _s, sort: _o, ...filters } = query;
    api<Record<string, number>>('GET', `${base}/claims/counts${qs(filters)}`).then(
      (c) => live && setCounts(c),
      () => {
        if (!live) return;
        setCounts(null);
        setCountsFailed(true);
      },
    );
    return () => {
      live = false;
    };
  }, [base, query, inverted]);

  /** The next page, once (a double click does not append it twice); a claim already listed is not repeated. */
  const more = async () => {
    if (!cursor || moreInFlight.current) return;
    moreInFlight.current = true;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const p = await api<Page<Claim>>('GET', `${base}/claims${qs({ ...query, per_page: 50, cursor })}`);
      setRows((r) => {
        const seen = new Set((r ?? []).map((c) => c.id));
        return [...(r ?? []), ...p.data.filter((c) => !seen.has(c.id))];
      });
      setCursor(p.has_more ? p.next_cursor : null);
    } catch (err) {
      setMoreError(err as ApiError);
    } finally {
      moreInFlight.current = false;
      setLoadingMore(false);
    }
  };

  /** Status tabs: the arrow keys, Home and End move between them (one of them is in the Tab order). */
  const tabKeys = (e: React.KeyboardEvent<HTMLDivElement>) => {
    const tabs = [...e.currentTarget.querySelectorAll<HTMLButtonElement>('[role=tab]')];
    const at = tabs.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0) return;
    const to =
      e.key === 'ArrowRight'
        ? (at + 1) % tabs.length
        : e.key === 'ArrowLeft'
          ? (at - 1 + tabs.length) % tabs.length
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? tabs.length - 1
              : -1;
    if (to < 0) return;
    e.preventDefault();
    tabs[to].focus();
  };

  // Keyboard: / search, j/k move, Enter opens; only when no link, button, field or dialog has the focus.
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || keyBelongsToFocus(e.target)) return;
      if (e.key === '/') {
        e.preventDefault();
        searchRef.current?.focus();
      } else if (e.key === 'j') setSelected((i) => Math.min(i + 1, (rows?.length ?? 1) - 1));
      else if (e.key === 'k') setSelected((i) => Math.max(i - 1, 0));
      else if (e.key === 'Enter' && rows?.[selected])
        navigate(`/portal/${shop.slug}/claims/${rows[selected].id}`);
    };
    addEventListener('keydown', on);
    return () => removeEventListener('keydown', on);
  }, [rows, selected, shop.slug]);

  // A filter the list refuses is shown, to be changed or cleared there.
  useEffect(() => {
    if (error) setFiltersOpen(true);
  }, [error]);

  const exportUrl = `${base}/claims/export.csv${qs({ ...query, bom: 1 })}`;
  const total = counts ? Object.entries(counts).reduce((n, [k, v]) => (k === 'total' ? n : n + v), 0) : null;

  return (
    <section aria-labelledby="claims-title">
      <div className="page-head">
        <h1 id="claims-title">Claims</h1>
        <div className="row">
          <SavedViews
            shop={shop}
            query={query}
            onApply={(v) => navigate(`/portal/${shop.slug}/claims${qs(v)}`)}
          />
          <a className="button" href={exportUrl} download data-testid="export-csv">
            Export CSV
          </a>
        </div>
      </div>
      <div className="status-tabs" role="tablist" aria-label="Status" onKeyDown={tabKeys}>
        {[undefined, ...STATUSES].map((s) => {
          const chosen = (query.status ?? undefined) === s;
          return (
            <button
              key={s ?? 'all'}
              id={`status-tab-${s ?? 'all'}`}
              type="button"
              role="tab"
              aria-selected={chosen}
              aria-controls="claims-panel"
              tabIndex={chosen ? 0 : -1}
              onClick={() => setQuery({ status: s })}
            >
              {s ? label(s) : 'All'}
              <span
                className="count"
                data-testid={`count-${s ?? 'all'}`}
                title={countsFailed ? 'Count not available' : undefined}
              >
                {counts ? (s ? (counts[s] ?? 0) : (counts.total ?? total)) : countsFailed ? '–' : '…'}
              </span>
            </button>
          );
        })}
      </div>
      <form
        className={`filters${filtersOpen ? ' open' : ''}`}
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ q: q.trim() || undefined });
        }}
      >
        <label className="grow">
          <span className="label">Search</span>
          <input
            ref={searchRef}
            type="search"
            placeholder="Order or claim number, email or name  ( / )"
            value={q}
            onChange={(e) => setQ(e.target.value)}
          />
        </label>
        <div className="filters-more" id="claim-filters-more" data-testid="filters-more">
          {FILTERS.map(([key, text, options]) => (
            <label key={key}>
              <span className="label">{text}</span>
              <select
                value={query[key] ?? ''}
                onChange={(e) => {
                  const v = e.target.value || undefined;
                  // A reason of another flow would leave the list empty for no visible cause: it goes.
                  setQuery(
                    key === 'flow'
                      ? { flow: v, reason: reasonForFlow(query.reason, v, known) }
                      : { [key]: v },
                  );
                }}
              >
                <option value="">Any</option>
                {options.map((o) => (
                  <option key={o} value={o}>
                    {key === 'channel' ? channelLabel(o) : label(o)}
                  </option>
                ))}
              </select>
            </label>
          ))}
          {CHOICE_FILTERS.map(([key, text]) => (
            <ChoiceSelect
              key={key}
              name={key}
              text={text}
              value={query[key] ?? ''}
              groups={choices[key]}
              onChange={(v) => setQuery({ [key]: v })}
            />
          ))}
          <label>
            <span className="label">From</span>
            <input
              type="date"
              value={query.created_from ? localDay(new Date(query.created_from)) : ''}
              onChange={(e) =>
                setQuery({ created_from: e.target.value ? dayStart(e.target.value, 0) : undefined })
              }
            />
          </label>
          <label>
            <span className="label">To</span>
            <input
              type="date"
              value={query.created_to ? localDay(new Date(query.created_to), -1) : ''}
              onChange={(e) =>
                setQuery({ created_to: e.target.value ? dayStart(e.target.value, 1) : undefined })
              }
            />
          </label>
          {inverted && (
            <p className="field-error" role="alert" data-testid="dates-inverted">
              “From” is after “To”: no claim can match. Change one of the dates.
            </p>
          )}
          <label>
            <span className="label">Sort</span>
            <select value={query.sort ?? '-created_at'} onChange={(e) => setQuery({ sort: e.target.value })}>
              <option value="-created_at">Newest first</option>
              <option value="created_at">Oldest first</option>
              <option value="-updated_at">Recently updated</option>
              <option value="updated_at">Least recently updated</option>
            </select>
          </label>
        </div>
        <button className="button" type="submit">
          Search
        </button>
        <button
          className="button filters-toggle"
          type="button"
          aria-expanded={filtersOpen}
          aria-controls="claim-filters-more"
          onClick={() => setFiltersOpen((o) => !o)}
        >
          Filters{activeFilters ? ` (${activeFilters})` : ''}
        </button>
        {Object.keys(query).length > 0 && (
          <button
            className="button ghost"
            type="button"
            onClick={() => {
              setQ('');
              navigate(`/portal/${shop.slug}/claims`);
            }}
          >
            Clear
          </button>
        )}
      </form>
      <div id="claims-panel" role="tabpanel" aria-labelledby={`status-tab-${query.status ?? 'all'}`}>
        {error && (
          <ListError
            error={error}
            query={query}
            onClear={(keys) => setQuery(Object.fromEntries(keys.map((k) => [k, undefined])))}
          />
        )}
        {!rows && !error && !inverted && <Loading />}
        {rows && rows.length === 0 && <p className="empty">No claims match these filters.</p>}
        {rows && rows.length > 0 && (
          <table className="claims-table">
            <thead>
              <tr>
                <th scope="col">Claim</th>
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                <th scope="col">Issue</th>
                <th scope="col">Order</th>
                <th scope="col">Customer</th>
                <th scope="col">Items</th>
                <th scope="col">Assignee</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c, i) => {
                const ctx = c.context as {
                  customer?: { email?: string };
                  claim_value?: number;
                  currency?: string;
                };
                return (
                  <tr key={c.id} className={i === selected ? 'selected' : undefined} data-testid="claim-row">
                    <td className="claim-number">
                      <a href={`/portal/${shop.slug}/claims/${c.id}`} onClick={onLink}>
                        {c.number}
                      </a>
                    </td>
                    <td data-label="Created">{dateTime(c.created_at)}</td>
                    <td className="claim-status-cell">
                      <Badge value={c.status} />
                    </td>
                    <td data-label="Issue">
                      {label(c.flow)}
                      <span className="muted small block">{reasonLabel(c.flow, c.reason)}</span>
                    </td>
                    <td data-label="Order">
                      <a
                        href={`/portal/${shop.slug}/orders/${encodeURIComponent(c.order_id)}`}
                        onClick={onLink}
                      >
                        {c.order_number}
                      </a>
                    </td>
                    <td data-label="Customer" className="truncate">
                      {ctx.customer?.email ?? '—'}
                    </td>
                    <td data-label="Items">
                      {c.items.reduce((n, it) => n + it.quantity, 0)}
                      {typeof ctx.claim_value === 'number' && ctx.currency && (
                        <span className="muted small block">{money(ctx.claim_value, ctx.currency)}</span>
                      )}
                    </td>
                    <td data-label="Assignee" className="wrap-anywhere">
                      {c.assignee ? (
                        (known.members?.find((m) => m.email === c.assignee?.toLowerCase())?.name ??
                        c.assignee)
                      ) : (
                        <span className="muted">—</span>
                      )}
                      {c.tags.length > 0 && <span className="muted small block">{c.tags.join(', ')}</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        <ErrorBox error={moreError} />
        {cursor && (
          <button
            type="button"
            className="button block"
            onClick={more}
            disabled={loadingMore}
            aria-busy={loadingMore || undefined}
          >
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        )}
      </div>
      <p className="muted small">Keys: / search · j / k move · Enter open</p>
    </section>
  );
}

/** Why the list could not be shown, in words; a refused filter can be cleared from here. */
function ListError({
  error,
  query,
  onClear,
}: {
  error: ApiError;
  query: Record<string, string>;
  onClear(keys: string[]): void;
}) {
  const { text, keys } = listErrorText(error, query);
  return (
    <div className="alert alert-error" role="alert" data-testid="list-error">
      {text}
      {keys.length > 0 && (
        <>
          {' '}
          <button type="button" className="button small" onClick={() => onClear(keys)}>
            Clear {keys.length === 1 ? 'this filter' : 'these filters'}
          </button>
        </>
      )}
    </div>
  );
}

/**
 * Day filters in the agent's own days, as the list shows times: "From 1 Dec" starts at local midnight of 1 Dec,
 * "To 30 Nov" ends (exclusive) at local midnight of 1 Dec. The URL holds the instants.
 */
function dayStart(day: string, plusDays: number): string {
  const d = new Date(`${day}T00:00:00`); // no zone: local time
  d.setDate(d.getDate() + plusDays);
  return d.toISOString();
}
/** The local day (yyyy-mm-dd) of an instant, shifted by whole days (the exclusive end shows as the day before). */
function localDay(d: Date, plusDays = 0): string {
  const x = new Date(d);
  x.setDate(x.getDate() + plusDays);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${x.getFullYear()}-${pad(x.getMonth() + 1)}-${pad(x.getDate())}`;
}
