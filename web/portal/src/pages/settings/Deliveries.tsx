import { Fragment, useCallback, useEffect, useState } from 'react';
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
export function Deliveries({
  base,
  canReplay,
  refresh,
}: {
  base: string;
  canReplay: boolean;
  refresh: number;
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
                    <Badge value={d.status} kind={KIND[d.status]} />
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
