import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { type ApiError, api, type Claim } from '../api';
import { Badge, ErrorBox } from '../ui/common';
import { dateTime, label, money } from '../ui/format';
import { UncertainAction } from './UncertainAction';

type ActionType = 'refund' | 'replacement';
export interface Action {
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

/** What the shop's platform can do through Resolve (GET …/actions); both false for a headless shop. */
type Capabilities = Record<ActionType, boolean>;
/** Per claimed line, what a new refund or replacement may still take, across every claim of the order (GET …/actions `lines`). */
interface LineLeft {
  line_item_id: string;
  claimed: number;
  left: number;
  refunded: number;
  replaced: number;
}
/** The refund that took the order's shipping cost (GET …/actions `shipping_refunded`). */
interface ShippingRefund {
  action_id: string;
  claim_id: string;
  claim_number: string;
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
  onActions,
}: {
  slug: string;
  claim: Claim;
  canWork: boolean;
  /** The claim changed (its history has the request, then the outcome): read it again. */
  onChanged(): void;
  /** Each time the actions are read: the claim page suggests a decision and names them in the history. */
  onActions?(actions: Action[]): void;
}) {
  const url = `/v1/shops/${slug}/claims/${claim.id}/actions`;
  const [actions, setActions] = useState<Action[] | null>(null);
  const [capabilities, setCapabilities] = useState<Capabilities | null>(null);
  const [shippingRefund, setShippingRefund] = useState<ShippingRefund | null | undefined>(undefined);
  const [lineLeft, setLineLeft] = useState<LineLeft[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [form, setForm] = useState<ActionType | null>(null);
  // As typed: checked at the field, never clamped (a 5 in a field of 1 says so rather than refunding 1).
  const [quantities, setQuantities] = useState<Record<string, string>>({});
  const [shipping, setShipping] = useState(false);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const heard = useRef(onActions);
  heard.current = onActions;

  const load = useCallback(
    () =>
      api<{
        data: Action[];
        capabilities?: Capabilities;
        lines?: LineLeft[];
        shipping_refunded?: ShippingRefund | null;
      }>('GET', url).then(
        (r) => {
          setActions(r.data);
          heard.current?.(r.data);
          setShippingRefund(r.shipping_refunded);
          // An older server does not say: this claim's own actions are what is known then.
          setLineLeft(r.lines ?? null);
          // An older server does not say: let the request itself answer then.
          setCapabilities(r.capabilities ?? { refund: true, replacement: true });
        },
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
  // refund or a replacement (a unit gets one or the other, never both). The server says what is left across
  // every claim of the order (GET …/actions `lines`): a unit refunded or replaced through another claim is not
  // offered again. An older server does not: claimed minus what this claim's refunds and replacements covered
  // that did not fail, or failed without a definite answer from the shop (those may have been carried out).
  const lines = [...new Map(claim.items.map((i) => [i.line_item_id, i])).values()].map((i) => ({
    id: i.line_item_id,
    title: i.title,
    unitNet: i.unit_net_price,
    claimed: claim.items.filter((x) => x.line_item_id === i.line_item_id).reduce((n, x) => n + x.quantity, 0),
  }));
  const open = () =>
    lines.map((l) => {
      const known = lineLeft?.find((x) => x.line_item_id === l.id);
      if (known)
        return {
          ...l,
          left: Math.max(0, Math.min(known.left, l.claimed)),
          refunded: known.refunded,
          replaced: known.replaced,
        };
      const used = (actions ?? [])
        .filter((a) => a.status !== 'failed' || a.outcome_unknown)
        .flatMap((a) => a.lines)
        .filter((x) => x.line_item_id === l.id)
        .reduce((n, x) => n + x.quantity, 0);
      return { ...l, left: Math.max(0, l.claimed - used), refunded: null, replaced: null };
    });
  const titles = new Map(lines.map((l) => [l.id, l.title]));

  /** Units of each line held by actions whose outcome is unknown (retry or release them to free the units). */
  const held = (actions ?? []).some((a) => a.status === 'failed' && a.outcome_unknown && a.lines.length > 0);
  // Shipping is refunded at most once per order, through this claim or another one of the order (the server
  // says which; an older server does not, and this claim's own actions are what is known then).
  const shippingRefunded =
    shippingRefund !== undefined
      ? shippingRefund !== null
      : (actions ?? []).some(
          (a) => a.type === 'refund' && a.include_shipping && (a.status !== 'failed' || a.outcome_unknown),
        );
  const refundedWith =
    shippingRefund && shippingRefund.claim_id !== claim.id
      ? ` with claim ${shippingRefund.claim_number}`
      : '';

  /** Why a type cannot be requested now, in words for the agent; null when it can. */
  const whyNot = (type: ActionType): string | null => {
    if (claim.status === 'rejected')
      return 'A rejected claim gets no refund or replacement; reopen it first.';
    if (!actions || !capabilities) return null;
    if (!capabilities.refund && !capabilities.replacement)
      return 'No shop platform is connected: refund or send a replacement in your shop’s admin.';
    if (!capabilities[type])
      return type === 'refund'
        ? 'The shop’s platform cannot refund through Resolve: refund in your shop’s admin.'
        : 'The shop’s platform cannot send a replacement through Resolve: send it from your shop’s admin.';
    if (!lines.length) return 'This claim has no items to refund or replace.';
    if (open().every((l) => l.left === 0))
      return held
        ? 'The items are held by an action whose outcome is unknown: retry it or mark it as not done above.'
        : 'Every item on this claim has already been refunded or replaced.';
    return null;
  };

  /** The form's quantities checked as the server would: a whole number from 0 to what is left, one above 0. */
  const checked = () => {
    const errors: Record<string, string> = {};
    const chosen: { line_item_id: string; quantity: number }[] = [];
    for (const l of open()) {
      if (l.left === 0) continue;
      const raw = (quantities[l.id] ?? '').trim();
      const n = raw === '' ? 0 : Number(raw);
      if (!Number.isInteger(n) || n < 0) errors[l.id] = 'Enter a whole number';
      else if (n > l.left) errors[l.id] = `At most ${l.left}`;
      else if (n > 0) chosen.push({ line_item_id: l.id, quantity: n });
    }
    const none = !chosen.length && !Object.keys(errors).length;
    return { errors, chosen, none, valid: !none && !Object.keys(errors).length };
  };

  const start = (type: ActionType) => {
    setForm(type);
    setQuantities(Object.fromEntries(open().map((l) => [l.id, String(l.left)])));
    setShipping(false);
    setNote('');
    setError(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!form || busy) return;
    const { chosen, valid } = checked();
    if (!valid) {
      document.querySelector<HTMLElement>('[data-testid="claim-actions"] [aria-invalid="true"]')?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api('POST', url, {
        type: form,
        lines: chosen,
        ...(form === 'refund' ? { include_shipping: shipping && !shippingRefunded } : {}),
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

  const check = checked();
  const currency = claim.order?.currency ?? null;
  const shippingTotal = claim.order?.totals.shipping ?? 0;
  const offerShipping = !shippingRefunded;
  const estimate =
    form === 'refund' && check.valid && currency
      ? check.chosen.reduce(
          (sum, c) => sum + (lines.find((l) => l.id === c.line_item_id)?.unitNet ?? 0) * c.quantity,
          0,
        ) + (shipping && offerShipping ? shippingTotal : 0)
      : null;
  const why = { refund: whyNot('refund'), replacement: whyNot('replacement') };
  const reasons = [...new Set([why.refund, why.replacement].filter((r): r is string => !!r))];
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
      {canWork && !form && (
        <>
          <div className="row">
            {(['refund', 'replacement'] as const).map((type) => (
              <button
                key={type}
                type="button"
                className="button"
                disabled={!actions || !capabilities || !!why[type]}
                aria-describedby={why[type] ? `actions-why-${reasons.indexOf(why[type])}` : undefined}
                onClick={() => start(type)}
              >
                {VERB[type]}…
              </button>
            ))}
          </div>
          {reasons.map((r, i) => (
            <p key={r} id={`actions-why-${i}`} className="muted small" data-testid="actions-why">
              {r}
            </p>
          ))}
        </>
      )}
      {form && (
        <form onSubmit={submit}>
          <fieldset className="plain field">
            <legend className="label">
              {form === 'refund' ? 'Refund these units' : 'Replace these units'}
            </legend>
            {open().map((l) => (
              <div className="field" key={l.id}>
                <div className="row">
                  <label htmlFor={`action-qty-${l.id}`}>{l.title}</label>
                  <input
                    id={`action-qty-${l.id}`}
                    className="qty"
                    type="number"
                    inputMode="numeric"
                    min={0}
                    max={l.left}
                    step={1}
                    value={l.left === 0 ? '0' : (quantities[l.id] ?? '')}
                    disabled={l.left === 0}
                    onChange={(e) => setQuantities({ ...quantities, [l.id]: e.target.value })}
                    aria-invalid={check.errors[l.id] ? true : undefined}
                    aria-describedby={
                      [
                        check.errors[l.id] ? `action-qty-${l.id}-error` : null,
                        l.left < l.claimed ? `action-qty-${l.id}-used` : null,
                      ]
                        .filter(Boolean)
                        .join(' ') || undefined
                    }
                  />
                  <span className="muted small">of {l.left}</span>
                </div>
                {l.left < l.claimed && (
                  <p id={`action-qty-${l.id}-used`} className="hint" data-testid="action-line-used">
                    {usedText(l)}
                  </p>
                )}
                {check.errors[l.id] && (
                  <p id={`action-qty-${l.id}-error`} className="field-error">
                    {check.errors[l.id]}
                  </p>
                )}
              </div>
            ))}
            {check.none && (
              <p className="field-error" role="alert">
                Choose at least one item
              </p>
            )}
          </fieldset>
          {form === 'refund' && (
            <div className="field">
              {offerShipping ? (
                <label className="check">
                  <input type="checkbox" checked={shipping} onChange={(e) => setShipping(e.target.checked)} />
                  Refund the shipping cost too
                  {currency && shippingTotal > 0 ? ` (${money(shippingTotal, currency)})` : ''}
                </label>
              ) : (
                <p className="muted small" data-testid="shipping-refunded">
                  The shipping cost was already refunded{refundedWith}.
                </p>
              )}
            </div>
          )}
          {form === 'refund' && currency && (
            <div className="field" data-testid="refund-estimate" aria-live="polite">
              <p className="estimate">
                Estimated refund: <strong>{estimate === null ? '—' : money(estimate, currency)}</strong>
              </p>
              <p className="hint">
                From the items’ prices after their share of the order’s discount
                {offerShipping ? ', plus the shipping cost if ticked' : ''}. An estimate: the shop’s platform
                works out the exact amount (tax, discounts), and it shows here once the refund is done.
              </p>
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
            <button className="button primary" type="submit" disabled={busy || !check.valid}>
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

/**
 * Why a line offers fewer units than claimed, in words: "Not available: 1 already refunded, 1 already replaced",
 * "1 left: 1 already refunded". The figures are the order line's, through any of the order's claims.
 */
function usedText(l: { left: number; claimed: number; refunded: number | null; replaced: number | null }) {
  const why = [
    l.refunded ? `${l.refunded} already refunded` : null,
    l.replaced ? `${l.replaced} already replaced` : null,
  ]
    .filter(Boolean)
    .join(', ');
  const because =
    why ||
    (l.refunded === null
      ? 'already refunded or replaced'
      : 'held by a refund or replacement whose outcome is unknown');
  return l.left === 0 ? `Not available: ${because}.` : `${l.left} of ${l.claimed} left: ${because}.`;
}
