import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api, type Claim } from '../api';
import { Badge, ErrorBox } from '../ui/common';
import { dateTime, label, money } from '../ui/format';
import { UncertainAction } from './UncertainAction';

type ActionType = 'refund' | 'replacement';
interface Action {
  id: string;
  type: ActionType;
  status: 'pending' | 'succeeded' | 'failed';
  lines: { line_item_id: string; quantity: number }[];
  include_shipping: boolean;
  note: string | null;
  amount: number | null;
  currency: string | null;
  external_id: string | null;
  external_number: string | null;
  error: string | null;
  /** With status failed: the shop gave no definite answer; the units stay reserved until retried or released. */
  outcome_unknown: boolean;
  created_at: string;
}

const VERB: Record<ActionType, string> = { refund: 'Refund', replacement: 'Send a replacement' };
const STATUS_BADGE = { pending: 'pending', succeeded: 'accepted', failed: 'rejected' } as const;
const POLL_MS = 1500;

/**
 * Refunds and replacements carried out in the shop through its platform (SPEC §6–7): the claim's actions
 * with their outcome, and, for agents, a form to request one for some or all of the claimed units.
 */
export function ClaimActions({
  slug,
  claim,
  canWork,
  onChanged,
}: {
  slug: string;
  claim: Claim;
  canWork: boolean;
  /** The claim changed (its history has the request, then the outcome): read it again. */
  onChanged(): void;
}) {
  const url = `/v1/shops/${slug}/claims/${claim.id}/actions`;
  const [actions, setActions] = useState<Action[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [form, setForm] = useState<ActionType | null>(null);
  const [quantities, setQuantities] = useState<Record<string, number>>({});
  const [shipping, setShipping] = useState(false);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);

  const load = useCallback(
    () =>
      api<{ data: Action[] }>('GET', url).then(
        (r) => setActions(r.data),
        (e) => setError(e),
      ),
    [url],
  );
  useEffect(() => {
    void load();
  }, [load]);
  // The worker carries a request out within moments: follow it until it has an outcome.
  const pending = actions?.some((a) => a.status === 'pending') ?? false;
  const wasPending = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: each answer (a new `actions`) arms the next look
  useEffect(() => {
    if (wasPending.current && !pending) onChanged();
    wasPending.current = pending;
    if (!pending) return;
    const timer = setTimeout(load, POLL_MS);
    return () => clearTimeout(timer);
  }, [pending, actions, load, onChanged]);

  // One entry per line (a line split over two parcels is one line here), with the units still open to a
  // refund or a replacement (a unit gets one or the other, never both): claimed minus what earlier refunds and
  // replacements covered that did not fail, or failed without a definite answer from the shop (those may have
  // been carried out). The server checks this again, across the order's claims.
  const lines = [...new Map(claim.items.map((i) => [i.line_item_id, i])).values()].map((i) => ({
    id: i.line_item_id,
    title: i.title,
    claimed: claim.items.filter((x) => x.line_item_id === i.line_item_id).reduce((n, x) => n + x.quantity, 0),
  }));
  const open = () =>
    lines.map((l) => {
      const used = (actions ?? [])
        .filter((a) => a.status !== 'failed' || a.outcome_unknown)
        .flatMap((a) => a.lines)
        .filter((x) => x.line_item_id === l.id)
        .reduce((n, x) => n + x.quantity, 0);
      return { ...l, left: Math.max(0, l.claimed - used) };
    });
  const titles = new Map(lines.map((l) => [l.id, l.title]));

  const start = (type: ActionType) => {
    setForm(type);
    setQuantities(Object.fromEntries(open().map((l) => [l.id, l.left])));
    setShipping(false);
    setNote('');
    setError(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!form) return;
    const chosen = Object.entries(quantities)
      .filter(([, q]) => q > 0)
      .map(([line_item_id, quantity]) => ({ line_item_id, quantity }));
    if (!chosen.length) {
      setError(new ApiError('nothing_chosen', 'Choose at least one unit.', 0));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api('POST', url, {
        type: form,
        lines: chosen,
        ...(form === 'refund' ? { include_shipping: shipping } : {}),
        ...(note.trim() ? { note: note.trim() } : {}),
      });
      setForm(null);
      await load();
      onChanged();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };

  const refusable = claim.status !== 'rejected';
  return (
    <section className="card" aria-labelledby="actions-title" data-testid="claim-actions">
      <h2 id="actions-title">Refunds and replacements</h2>
      {actions && actions.length === 0 && <p className="muted">None yet.</p>}
      {actions && actions.length > 0 && (
        <ul className="history">
          {actions.map((a) => (
            <li key={a.id} data-testid="claim-action">
              <strong>{label(a.type)}</strong> <Badge value={a.status} kind={STATUS_BADGE[a.status]} />{' '}
              {a.status === 'failed' && a.outcome_unknown && (
                <>
                  <Badge value="outcome unknown" kind="pending" />{' '}
                </>
              )}
              <span className="muted small">{dateTime(a.created_at)}</span>
              <span className="block small">
                {a.lines
                  .map((l) => `${l.quantity} × ${titles.get(l.line_item_id) ?? l.line_item_id}`)
                  .join(', ')}
                {a.include_shipping ? ' + shipping' : ''}
                {a.amount !== null && a.currency ? ` · ${money(a.amount, a.currency)}` : ''}
                {a.external_number || a.external_id
                  ? ` · in the shop: ${a.external_number ?? a.external_id}`
                  : ''}
              </span>
              {a.note && <span className="block note">“{a.note}”</span>}
              {a.error && <span className="block field-error">{a.error}</span>}
              {a.status === 'failed' && a.outcome_unknown && canWork && (
                <UncertainAction
                  url={`${url}/${a.id}`}
                  kind={a.type}
                  onChanged={async () => {
                    await load();
                    onChanged();
                  }}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      <ErrorBox error={error} />
      {canWork && refusable && !form && (
        <div className="row">
          {(['refund', 'replacement'] as const).map((type) => (
            <button
              key={type}
              type="button"
              className="button"
              disabled={!actions || open().every((l) => l.left === 0)}
              onClick={() => start(type)}
            >
              {VERB[type]}…
            </button>
          ))}
        </div>
      )}
      {canWork && !refusable && (
        <p className="muted small">A rejected claim gets no refund or replacement; reopen it first.</p>
      )}
      {form && (
        <form onSubmit={submit}>
          <fieldset className="plain field">
            <legend className="label">
              {form === 'refund' ? 'Refund these units' : 'Replace these units'}
            </legend>
            {open().map((l) => (
              <div className="row" key={l.id}>
                <label htmlFor={`action-qty-${l.id}`}>{l.title}</label>
                <input
                  id={`action-qty-${l.id}`}
                  type="number"
                  min={0}
                  max={l.left}
                  step={1}
                  value={quantities[l.id] ?? 0}
                  disabled={l.left === 0}
                  onChange={(e) =>
                    setQuantities({
                      ...quantities,
                      [l.id]: Math.min(l.left, Math.max(0, Math.trunc(Number(e.target.value) || 0))),
                    })
                  }
                />
                <span className="muted small">of {l.left}</span>
              </div>
            ))}
          </fieldset>
          {form === 'refund' && (
            <div className="field">
              <label className="check">
                <input type="checkbox" checked={shipping} onChange={(e) => setShipping(e.target.checked)} />
                Refund the shipping cost too
              </label>
            </div>
          )}
          <div className="field">
            <label htmlFor="action-note">Note (optional, kept with the {form})</label>
            <textarea
              id="action-note"
              rows={2}
              maxLength={1000}
              value={note}
              onChange={(e) => setNote(e.target.value)}
            />
          </div>
          <div className="row">
            <button className="button primary" type="submit" disabled={busy}>
              Confirm: {form === 'refund' ? 'refund' : 'send the replacement'}
            </button>
            <button className="button" type="button" onClick={() => setForm(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
