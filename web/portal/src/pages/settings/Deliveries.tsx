import { Fragment, useCallback, useEffect, useRef, useState } from 'react';
import type { Static } from 'typebox';
import type { DeliveryDetail, DeliveryView } from '../../../../../src/webhooks/api-schemas';
import { type ApiError, api, type Page, qs } from '../../api';
import { Badge, ErrorBox, Loading } from '../../ui/common';
import { dateTime } from '../../ui/format';

type Delivery = Static<typeof DeliveryView>;
type Detail = Static<typeof DeliveryDetail>;
const KIND: Record<Delivery['status'], string> = {
  pending: 'pending',
  succeeded: 'accepted',
  failed: 'rejected',
};

/** An endpoint's delivery log: newest first, filtered by status, with attempts and manual replay. */
/** How often, and how long, the log is read again after a test event, until its first outcome is in. */
export const WATCH_EVERY_MS = 2000;
export const WATCH_FOR_MS = 30_000;

/** A delivery's state in words: a pending one that was tried already is being retried. */
const stateOf = (d: Delivery) =>
  d.status === 'succeeded'
    ? 'delivered'
    : d.status === 'failed'
      ? 'failed'
      : d.attempt_count > 0
        ? 'retrying'
        : 'pending';

type Watch = { state: 'waiting' } | { state: 'done'; delivery: Delivery } | { state: 'timeout' };

export function Deliveries({
  base,
  canReplay,
  refresh,
  watch = null,
}: {
  base: string;
  canReplay: boolean;
  refresh: number;
  /** A message just queued (a test event): the log is read again until its first attempt is in. */
  watch?: string | null;
}) {
  const [status, setStatus] = useState('');
  const [rows, setRows] = useState<Delivery[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [note, setNote] = useState('');

  const load = useCallback(async () => {
    setError(null);
    try {
      const p = await api<Page<Delivery>>('GET', `${base}/deliveries${qs({ status, per_page: 25 })}`);
      setRows(p.data);
      setCursor(p.has_more ? p.next_cursor : null);
    } catch (err) {
      setError(err as ApiError);
    }
  }, [base, status]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `refresh` is the parent's "reload now"
  useEffect(() => {
    void load();
  }, [load, refresh]);

  // After a test event: every 2 s, up to 30 s, until it was tried (delivered, or the error that stopped it),
  // so the outcome shows without a Refresh. The status filter can change meanwhile without restarting it.
  const [watched, setWatched] = useState<Watch | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    if (!watch) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const started = Date.now();
    setWatched({ state: 'waiting' });
    const tick = async () => {
      try {
        const d = await api<Delivery>('GET', `${base}/deliveries/${watch}`);
        if (stopped) return;
        if (d.status !== 'pending' || d.attempt_count > 0) {
          await loadRef.current();
          if (!stopped) setWatched({ state: 'done', delivery: d });
          return;
        }
        await loadRef.current();
      } catch {
        // A failed read (offline for a moment) is tried again at the next tick.
      }
      if (stopped) return;
      if (Date.now() - started >= WATCH_FOR_MS) setWatched({ state: 'timeout' });
      else timer = setTimeout(tick, WATCH_EVERY_MS);
    };
    timer = setTimeout(tick, WATCH_EVERY_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [watch, base]);

  const more = async () => {
    if (!cursor) return;
    const p = await api<Page<Delivery>>('GET', `${base}/deliveries${qs({ status, per_page: 25, cursor })}`);
    setRows((r) => [...(r ?? []), ...p.data]);
    setCursor(p.has_more ? p.next_cursor : null);
  };
  const replay = async (d: Delivery) => {
    setNote('');
    try {
      const r = await api<Delivery>('POST', `${base}/deliveries/${d.id}/replay`);
      setRows((rs) => rs?.map((x) => (x.id === r.id ? r : x)) ?? null);
      setNote(`Delivery ${d.id} queued again.`);
    } catch (err) {
      setError(err as ApiError);
    }
  };

  return (
    <section className="deliveries" aria-label="Delivery log">
      <div className="row">
        <label className="inline">
          <span className="label">Status</span>{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">All</option>
            <option value="pending">Pending</option>
            <option value="succeeded">Succeeded</option>
            <option value="failed">Failed</option>
          </select>
        </label>
        <button type="button" className="button small" onClick={() => void load()}>
          Refresh
        </button>
        <span role="status" className="small">
          {note}
        </span>
      </div>
      {watched && (
        <p
          role="status"
          data-testid="test-outcome"
          className={`small ${watched.state === 'done' && watched.delivery.status !== 'succeeded' ? 'text-error' : ''}`}
        >
          {outcomeText(watched)}
        </p>
      )}
      <ErrorBox error={error} />
      {!rows && !error && <Loading />}
      {rows?.length === 0 && (
        <p className="muted small">No deliveries{status ? ` with status ${status}` : ''}.</p>
      )}
      {rows && rows.length > 0 && (
        <table className="grid-table small" data-testid="deliveries-table">
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Next attempt</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <Fragment key={d.id}>
                <tr data-testid="delivery-row">
                  <td>{dateTime(d.created_at)}</td>
                  <td>
                    <code>{d.event_type}</code>
                  </td>
                  <td>
                    <Badge value={stateOf(d)} kind={KIND[d.status]} />
                  </td>
                  <td>{d.attempt_count}</td>
                  <td className="truncate" title={d.last_error ?? undefined}>
                    {d.last_status_code ?? ''} {d.last_error ?? (d.last_status_code ? '' : '—')}
                  </td>
                  <td>{d.next_attempt_at ? dateTime(d.next_attempt_at) : '—'}</td>
                  <td className="actions">
                    <button
                      type="button"
                      className="button small ghost"
                      aria-expanded={open === d.id}
                      onClick={() => setOpen((o) => (o === d.id ? null : d.id))}
                    >
                      Details
                    </button>
                    {canReplay && (
                      <button type="button" className="button small" onClick={() => void replay(d)}>
                        Replay
                      </button>
                    )}
                  </td>
                </tr>
                {open === d.id && (
                  <tr>
                    <td colSpan={7}>
                      <DeliveryAttempts url={`${base}/deliveries/${d.id}`} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      {cursor && (
        <button type="button" className="button small" onClick={() => void more()}>
          Load more
        </button>
      )}
    </section>
  );
}

function DeliveryAttempts({ url }: { url: string }) {
  const [d, setD] = useState<Detail | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    api<Detail>('GET', url).then(setD, setError);
  }, [url]);
  if (error) return <ErrorBox error={error} />;
  if (!d) return <Loading />;
  return (
    <div className="delivery-detail">
      <p className="small">
        Message <code>{d.id}</code>
        {d.event_id ? (
          <>
            {' '}
            for event <code>{d.event_id}</code>
          </>
        ) : null}
        {d.delivered_at ? `, delivered ${dateTime(d.delivered_at)}` : ''}
      </p>
      {d.attempts.length === 0 ? (
        <p className="muted small">No attempt yet.</p>
      ) : (
        <ol className="attempts">
          {d.attempts.map((a) => (
            <li key={a.id}>
              <strong>#{a.attempt_number}</strong> {dateTime(a.started_at)} · {a.trigger} ·{' '}
              <Badge value={a.outcome} kind={a.outcome === 'succeeded' ? 'accepted' : 'rejected'} />{' '}
              {a.status_code ?? ''} · {a.duration_ms} ms
              {a.error && <span className="block text-error">{a.error}</span>}
              {a.response_excerpt && <pre className="excerpt">{a.response_excerpt}</pre>}
            </li>
          ))}
        </ol>
      )}
      <details>
        <summary>Payload</summary>
        <pre className="excerpt">{JSON.stringify(d.payload, null, 2)}</pre>
      </details>
    </div>
  );
}

/** What became of the test event, in a sentence. */
function outcomeText(w: Watch): string {
  if (w.state === 'waiting') return 'Sending the test event…';
  if (w.state === 'timeout')
    return 'The test event has not been sent yet (the background worker may be busy or stopped). Refresh to look again.';
  const d = w.delivery;
  if (d.status === 'succeeded')
    return `Test event delivered${d.last_status_code ? ` (HTTP ${d.last_status_code})` : ''}.`;
  const why =
    d.last_error ?? (d.last_status_code ? `the endpoint answered HTTP ${d.last_status_code}` : 'unknown');
  return d.status === 'failed'
    ? `Test event not delivered: ${why}. It will not be retried.`
    : `Test event not delivered yet: ${why}. Resolve tries again${d.next_attempt_at ? ` at ${dateTime(d.next_attempt_at)}` : ''}.`;
}
