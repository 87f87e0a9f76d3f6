import { useCallback, useEffect, useRef, useState } from 'react';
import type { Shop } from '../App';
import { ApiError, api, type Claim, type Me } from '../api';
import { Badge, ErrorBox, Loading, Notice } from '../ui/common';
import { channelLabel, dateTime, label, languageName, money } from '../ui/format';
import { onLink } from '../ui/router';
import { useTitle } from '../ui/title';
import { type Action, ClaimActions } from './ClaimActions';
import { answerText, reasonLabeller, useResolveSettings } from './ClaimFilters';
import { ClaimSide, useTeam } from './ClaimSide';
import { lastListSearch } from './Claims';
import { Gallery } from './Gallery';

type Decision = 'accepted' | 'rejected' | 'closed' | 'pending';
const NEXT: Record<Claim['status'], Decision[]> = {
  pending: ['accepted', 'rejected'],
  accepted: ['closed'],
  rejected: ['closed'],
  closed: [],
};
const VERB: Record<Decision, string> = {
  accepted: 'Accept',
  rejected: 'Reject',
  closed: 'Close',
  pending: 'Reopen',
};

export function ClaimDetail({ shop, id, me }: { shop: Shop; id: string; me: Me }) {
  const [claim, setClaim] = useState<Claim | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [stale, setStale] = useState(false);
  const [deciding, setDeciding] = useState<Decision | null>(null);
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState(false);
  const [actions, setActions] = useState<Action[]>([]);
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const statusRef = useRef<HTMLSpanElement>(null);
  /** A decision just confirmed: the focus goes to the new status once it shows. */
  const [decided, setDecided] = useState(false);
  const url = `/v1/shops/${shop.slug}/claims/${id}`;
  const canWork = shop.role !== 'viewer';
  const team = useTeam(shop.slug);
  const settings = useResolveSettings(shop.slug);
  const reasonLabel = reasonLabeller(settings);
  /** A change on its way: a second click or Enter meanwhile is ignored (it would only meet a stale version). */
  const inFlight = useRef(false);
  const [busy, setBusy] = useState(false);
  useTitle(claim && `Claim ${claim.number}`);

  const load = useCallback(() => {
    setStale(false);
    return api<Claim>('GET', url).then(setClaim, setError);
  }, [url]);
  useEffect(() => {
    void load();
  }, [load]);
  // Accept, Reject, …: the keyboard goes on in the form's reason box (switching decisions too).
  useEffect(() => {
    if (deciding) reasonRef.current?.focus();
  }, [deciding]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the new status is the claim just read
  useEffect(() => {
    if (!decided) return;
    setDecided(false);
    statusRef.current?.focus();
  }, [decided, claim]);

  const decide = (d: Decision) => {
    setDeciding(d);
    setReason('');
    setReasonError(false);
  };
  /** Closes the form without a change; the focus goes back to the button that opened it. */
  const cancelDecision = () => {
    const d = deciding;
    setDeciding(null);
    setReasonError(false);
    if (d) document.querySelector<HTMLElement>(`[data-decision="${d}"]`)?.focus();
  };

  /**
   * Every change carries the version read; someone else's change in between is a clear conflict. A change that
   * merges (`merge`: adding or removing a tag) is sent without one, and applies to the claim as it is.
   */
  const patch = async (body: Record<string, unknown>, { merge = false } = {}) => {
    if (!claim || inFlight.current) return false;
    inFlight.current = true;
    setBusy(true);
    setError(null);
    try {
      // A change that merges (tags added or removed) goes without a version: the server applies it to the claim
      // as it is now, whatever a colleague changed meanwhile.
      setClaim(await api<Claim>('PATCH', url, merge ? body : { version: claim.version, ...body }));
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.key === 'stale_version') setStale(true);
      else setError(err as ApiError);
      return false;
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  if (!claim)
    return error ? (
      <>
        <ErrorBox error={error} />
        <p>
          <a href={`/portal/${shop.slug}/claims${lastListSearch(shop.slug)}`} onClick={onLink}>
            ← Back to the claims
          </a>
        </p>
      </>
    ) : (
      <Loading />
    );
  const ctx = claim.context as {
    currency?: string;
    claim_value?: number;
    order_total?: number;
    placed_at?: string;
    order_state?: string;
    customer?: { email?: string; first_name?: string; last_name?: string };
    shipping_address?: Record<string, string | null> | null;
    shipment?: {
      carrier?: string;
      tracking_number?: string;
      tracking_url?: string | null;
      phase?: string;
      delivered_at?: string | null;
      stuck?: boolean;
    } | null;
  };
  const decisions = [
    ...NEXT[claim.status],
    ...(shop.role === 'admin' && claim.status !== 'pending' ? (['pending'] as const) : []),
  ];
  const items = new Map(claim.items.map((i) => [i.line_item_id, i.title]));
  // Refunds and replacements done (or under way) on this claim: a pending claim they were made for is
  // suggested to be accepted, and rejecting it says they are not undone.
  const done = claim.status === 'pending' ? doneText(actions) : null;
  const numbers = new Map(
    actions.filter((a) => a.external_id && a.external_number).map((a) => [a.external_id, a.external_number]),
  );

  return (
    <article aria-labelledby="claim-title" className="claim">
      <p>
        <a
          href={`/portal/${shop.slug}/claims${lastListSearch(shop.slug)}`}
          onClick={(e) => onLink(e, { claim: id })}
        >
          ← Claims
        </a>
      </p>
      <div className="page-head">
        <h1 id="claim-title">
          Claim {claim.number}{' '}
          <span ref={statusRef} tabIndex={-1} className="claim-status" data-testid="claim-status">
            <span className="sr-only">Status: </span>
            <Badge value={claim.status} />
          </span>
        </h1>
        {canWork && (
          <fieldset className="row plain">
            <legend className="sr-only">Decision</legend>
            {decisions.map((d) => (
              <button
                key={d}
                type="button"
                className={`button ${d === 'accepted' ? 'primary' : d === 'rejected' ? 'danger' : ''}`}
                data-decision={d}
                aria-expanded={deciding === d}
                onClick={() => decide(d)}
              >
                {VERB[d]}
              </button>
            ))}
          </fieldset>
        )}
      </div>
      {stale && (
        <div className="alert alert-warning" role="alert">
          Someone else changed this claim since you opened it. Your change was not saved.{' '}
          <button type="button" className="button small" onClick={load}>
            Load the latest version
          </button>
        </div>
      )}
      <ErrorBox error={error} />
      {done && canWork && !deciding && (
        <div className="alert alert-info row" data-testid="decision-suggestion">
          <span>{done.sentence} — accept the claim?</span>
          <button type="button" className="button small primary" onClick={() => decide('accepted')}>
            Accept
          </button>
        </div>
      )}
      {deciding && (
        <form
          className="card decision"
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.preventDefault();
              cancelDecision();
            }
          }}
          onSubmit={async (e) => {
            e.preventDefault();
            // A rejection needs a reason the customer's case can be explained by; spaces alone are none.
            if (deciding === 'rejected' && !reason.trim()) {
              setReasonError(true);
              document.getElementById('decision-reason')?.focus();
              return;
            }
            if (inFlight.current) return;
            if (await patch({ status: deciding, note: reason.trim() || undefined })) {
              setDeciding(null);
              setDecided(true);
            } else reasonRef.current?.focus();
          }}
        >
          {deciding === 'rejected' && done && (
            <p className="alert alert-warning" role="alert" data-testid="reject-warning">
              {done.sentence} on this claim. Rejecting it does not undo that: the customer keeps {done.kinds}.
              Reject anyway?
            </p>
          )}
          <label htmlFor="decision-reason">
            {VERB[deciding]} claim {claim.number}: reason{' '}
            {deciding === 'rejected' ? '(shown in the history)' : '(optional)'}
          </label>
          <textarea
            ref={reasonRef}
            id="decision-reason"
            rows={2}
            value={reason}
            required={deciding === 'rejected'}
            maxLength={5000}
            aria-invalid={reasonError || undefined}
            aria-describedby={reasonError ? 'decision-reason-error' : undefined}
            onChange={(e) => {
              setReason(e.target.value);
              setReasonError(false);
            }}
          />
          {reasonError && (
            <p id="decision-reason-error" className="field-error">
              Write why the claim is rejected: it is kept in the claim's history.
            </p>
          )}
          <div className="row">
            <button className="button primary" type="submit" disabled={busy}>
              Confirm: {VERB[deciding].toLowerCase()}
              {deciding === 'rejected' && done ? ' anyway' : ''}
            </button>
            <button className="button" type="button" onClick={cancelDecision}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <div className="claim-grid">
        <div>
          <section className="card" aria-labelledby="what-title">
            <h2 id="what-title">What happened</h2>
            <dl className="facts">
              <dt>Issue</dt>
              <dd>{label(claim.flow)}</dd>
              <dt>Reason</dt>
              <dd>{reasonLabel(claim.flow, claim.reason)}</dd>
              <dt>Preference</dt>
              <dd>{label(claim.resolution_preference)}</dd>
              <dt>Submitted</dt>
              <dd>
                {dateTime(claim.created_at)} · {channelLabel(claim.channel)}
                {claim.language ? ` · ${languageName(claim.language)}` : ''}
              </dd>
              {claim.dropoff_permission !== null && (
                <>
                  <dt>Drop-off allowed</dt>
                  <dd>{claim.dropoff_permission ? 'Yes' : 'No'}</dd>
                </>
              )}
              {claim.answers.map((a) => {
                const t = answerText(settings, claim.flow, a);
                return (
                  <div key={a.prompt_id} className="fact-pair" data-testid="answer">
                    <dt>{t.question}</dt>
                    <dd>{t.answer}</dd>
                  </div>
                );
              })}
            </dl>
            {claim.description && <p className="description">{claim.description}</p>}
          </section>
          <section className="card" aria-labelledby="items-title">
            <h2 id="items-title">Items</h2>
            <ul className="items">
              {claim.items.map((it) => (
                <li key={it.line_item_id + (it.shipment_id ?? '')}>
                  {it.image_url ? (
                    <img src={it.image_url} alt="" className="thumb" />
                  ) : (
                    <span className="thumb" aria-hidden="true" />
                  )}
                  <span>
                    <strong>
                      {it.quantity} × {it.title}
                    </strong>
                    <span className="muted small block">
                      {[it.variant_title, it.sku].filter(Boolean).join(' · ')}
                      {ctx.currency ? ` · ${money(it.unit_net_price, ctx.currency)} each` : ''}
                    </span>
                  </span>
                </li>
              ))}
            </ul>
            {typeof ctx.claim_value === 'number' && ctx.currency && (
              <p className="total">
                Claim value <strong>{money(ctx.claim_value, ctx.currency)}</strong>
              </p>
            )}
          </section>
          <section className="card" aria-labelledby="evidence-title">
            <h2 id="evidence-title">Evidence ({claim.evidence.length})</h2>
            {claim.evidence.length === 0 ? (
              <p className="muted">No photos.</p>
            ) : (
              <Gallery evidence={claim.evidence} itemTitle={(id) => (id ? items.get(id) : undefined)} />
            )}
          </section>
          <ClaimActions
            slug={shop.slug}
            claim={claim}
            canWork={canWork}
            onChanged={load}
            onActions={setActions}
          />
          <section className="card" aria-labelledby="history-title">
            <h2 id="history-title">History</h2>
            <ol className="history">
              {(claim.history ?? []).map((h) => (
                <li key={h.id}>
                  <span className="muted small">{dateTime(h.created_at)}</span>{' '}
                  <strong>{label(h.action)}</strong>{' '}
                  <span className="muted small">by {actorText(h.actor, me.user.id)}</span>
                  {historyChanges(h.changes, items, numbers) && (
                    <span className="block small">{historyChanges(h.changes, items, numbers)}</span>
                  )}
                  {h.note && <span className="block note">“{h.note}”</span>}
                </li>
              ))}
            </ol>
          </section>
        </div>
        <ClaimSide
          slug={shop.slug}
          claim={claim}
          ctx={ctx}
          canWork={canWork}
          me={me}
          team={team}
          patch={patch}
          busy={busy}
        />
      </div>
      {!canWork && (
        <Notice>
          You have read access to this shop: ask an admin to change your role to work on claims.
        </Notice>
      )}
    </article>
  );
}

/** Who made a change, as a person reads it: never a bare id when a name is known. */
export function actorText(
  actor: { type: string; id: string | null; name: string | null },
  me: string,
): string {
  if (actor.type === 'user') return actor.id === me ? 'you' : (actor.name ?? 'a former team member');
  if (actor.type === 'api_key') return actor.name ? `API key “${actor.name}”` : 'a revoked API key';
  if (actor.type === 'customer') return 'the customer';
  if (actor.type === 'system') return 'Resolve';
  return actor.type;
}

/** A value in a history row: plain words, not JSON. */
function valueText(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length ? v.map(valueText).join(', ') : '—';
  return JSON.stringify(v);
}

/**
 * A history row's changes as a merchant reads them: "Status: pending → accepted", "1 × Organic cotton T-shirt",
 * "Amount: €29.94", "In the shop: R-1234". Refunds' and replacements' lines are named by their items and the
 * amount is money in its currency; the action's own id (shown nowhere else in the portal) is left out.
 */
export function historyChanges(
  changes: Record<string, unknown>,
  items: Map<string, string>,
  /** The shop's own ids of the claim's refunds and replacements → their numbers ("R-PS5HH8"), when known. */
  numbers: Map<string | null, string | null> = new Map(),
): string {
  const parts: string[] = [];
  const c = { ...changes };
  delete c.action_id;
  if (Array.isArray(c.lines)) {
    const lines = c.lines as { line_item_id?: string; quantity?: number }[];
    parts.push(
      lines
        .map(
          (l) =>
            `${l.quantity ?? '?'} × ${(l.line_item_id && items.get(l.line_item_id)) ?? 'an item no longer on the claim'}`,
        )
        .join(', ') + (c.include_shipping === true ? ' + shipping' : ''),
    );
    delete c.lines;
    delete c.include_shipping;
  }
  if ('amount' in c || 'currency' in c) {
    if (typeof c.amount === 'number' && typeof c.currency === 'string')
      parts.push(`Amount: ${money(c.amount, c.currency)}`);
    delete c.amount;
    delete c.currency;
  }
  if ('external_id' in c || 'external_number' in c) {
    // The number people use (a replacement order's "R-PS5HH8"), as the actions card shows it; the id otherwise.
    const number =
      (typeof c.external_number === 'string' && c.external_number) ||
      (typeof c.external_id === 'string' && numbers.get(c.external_id)) ||
      c.external_id;
    if (number) parts.push(`In the shop: ${valueText(number)}`);
    delete c.external_id;
    delete c.external_number;
  }
  if (c.override_gating === true) {
    parts.push('Taken outside the shop’s rules (goodwill)');
    delete c.override_gating;
  }
  if (c.outcome_unknown === true) {
    parts.push('Outcome unknown: the shop did not confirm it');
    delete c.outcome_unknown;
  }
  for (const [k, v] of Object.entries(c)) parts.push(`${label(k)}: ${changeText(v, CODE_FIELDS.has(k))}`);
  return parts.join(' · ');
}

/**
 * What was done on a claim through its refunds and replacements that succeeded or are under way, in words:
 * "Refunded €29.94 and sent a replacement (R-PS5HH8)"; null when nothing was.
 */
function doneText(actions: Action[]): { sentence: string; kinds: string } | null {
  const live = actions.filter((a) => a.status === 'succeeded' || a.status === 'pending');
  if (!live.length) return null;
  const parts: string[] = [];
  const refunds = live.filter((a) => a.type === 'refund');
  const paid = new Map<string, number>();
  for (const a of refunds)
    if (a.status === 'succeeded' && a.amount !== null && a.currency)
      paid.set(a.currency, (paid.get(a.currency) ?? 0) + a.amount);
  if (paid.size) parts.push(`Refunded ${[...paid].map(([cur, n]) => money(n, cur)).join(' + ')}`);
  else if (refunds.some((a) => a.status === 'succeeded')) parts.push('Refunded');
  if (refunds.some((a) => a.status === 'pending'))
    parts.push(parts.length ? 'a refund is under way' : 'A refund is under way');
  const replacements = live.filter((a) => a.type === 'replacement');
  const sent = replacements.filter((a) => a.status === 'succeeded');
  if (sent.length) {
    const nums = sent.map((a) => a.external_number ?? a.external_id).filter(Boolean);
    const what = `${sent.length === 1 ? 'a replacement' : `${sent.length} replacements`}${nums.length ? ` (${nums.join(', ')})` : ''}`;
    parts.push(parts.length ? `sent ${what}` : `Sent ${what}`);
  }
  if (replacements.some((a) => a.status === 'pending'))
    parts.push(parts.length ? 'a replacement is being sent' : 'A replacement is being sent');
  const kinds = [
    refunds.length ? 'the money' : null,
    replacements.length ? (refunds.length ? 'the replacement' : 'the replacement goods') : null,
  ]
    .filter(Boolean)
    .join(' and ');
  const sentence = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : parts[0];
  return { sentence, kinds };
}

/** Fields whose values are codes ("store_credit"), shown in words; tags, notes and assignees stay as written. */
const CODE_FIELDS = new Set(['status', 'resolution_preference', 'flow', 'reason', 'outcome']);

function changeText(v: unknown, code = false): string {
  const text = (x: unknown) => (code && typeof x === 'string' && x ? label(x) : valueText(x));
  if (v && typeof v === 'object' && !Array.isArray(v) && 'from' in v && 'to' in v) {
    const c = v as { from: unknown; to: unknown };
    return `${text(c.from)} → ${text(c.to)}`;
  }
  return text(v);
}
