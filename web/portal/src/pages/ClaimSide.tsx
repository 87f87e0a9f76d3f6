import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api, type Claim, type Me } from '../api';
import { carrierName, date, label, money } from '../ui/format';
import { onLink } from '../ui/router';
import { STATE } from './orders/text';

/** The order's state in the words the orders pages use ("Shipped", not "Fulfilled"). */
const orderStateText = (state: string) => STATE[state as keyof typeof STATE]?.text ?? label(state);

interface Ctx {
  currency?: string;
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
}

/** The claim's context snapshot and the fields agents work with: assignee, tags, preference, notes. */
export function ClaimSide({
  slug,
  claim,
  ctx,
  canWork,
  me,
  team,
  patch,
  busy,
}: {
  /** The shop's slug, for the link to the claim's order. */
  slug: string;
  claim: Claim;
  ctx: Ctx;
  canWork: boolean;
  me: Me;
  /** Who claims can be assigned to (null: not known, e.g. the list could not be read). */
  team: Assignee[] | null;
  /** Saves a change (ignored while another is on its way); `merge`: applied on the latest version if stale. */
  patch(body: Record<string, unknown>, opts?: { merge?: boolean }): Promise<boolean>;
  /** A change is on its way: the controls that send one wait. */
  busy: boolean;
}) {
  const [tag, setTag] = useState('');
  const [note, setNote] = useState('');
  const [noteError, setNoteError] = useState(false);
  const tagInput = useRef<HTMLInputElement>(null);
  const a = ctx.shipping_address;
  const s = ctx.shipment;

  // Tags are added and removed, not replaced: a colleague's change meanwhile is kept, and so is the typed tag
  // if the change fails.
  const addTag = async (e: FormEvent) => {
    e.preventDefault();
    const t = tag.trim();
    if (!t || busy) return;
    if (claim.tags.some((x) => x.toLowerCase() === t.toLowerCase())) return setTag('');
    if (await patch({ add_tags: [t] }, { merge: true })) setTag('');
  };
  const removeTag = async (t: string) => {
    await patch({ remove_tags: [t] }, { merge: true });
    // The button is gone with the tag: the keyboard goes on at the tag field.
    tagInput.current?.focus();
  };
  const addNote = async (e: FormEvent) => {
    e.preventDefault();
    if (!note.trim()) {
      setNoteError(true);
      document.getElementById('note')?.focus();
      return;
    }
    if (busy) return;
    if (await patch({ note: note.trim() })) setNote('');
  };

  return (
    <aside>
      <section className="card" aria-labelledby="ctx-title">
        <h2 id="ctx-title">At submission</h2>
        <dl className="facts">
          <dt>Order</dt>
          <dd>
            <a href={`/portal/${slug}/orders/${encodeURIComponent(claim.order_id)}`} onClick={onLink}>
              {claim.order?.order_name ?? claim.order_number}
            </a>
            {ctx.placed_at ? ` · ${date(ctx.placed_at)}` : ''}
            {ctx.order_state ? ` · ${orderStateText(ctx.order_state)}` : ''}
          </dd>
          {typeof ctx.order_total === 'number' && ctx.currency && (
            <>
              <dt>Order total</dt>
              <dd>{money(ctx.order_total, ctx.currency)}</dd>
            </>
          )}
          <dt>Customer</dt>
          <dd>
            {[ctx.customer?.first_name, ctx.customer?.last_name].filter(Boolean).join(' ') || '—'}
            {ctx.customer?.email && (
              <a className="block" href={`mailto:${ctx.customer.email}`}>
                {ctx.customer.email}
              </a>
            )}
          </dd>
          {a && (
            <>
              <dt>Ship to</dt>
              <dd>
                <address>
                  {[
                    a.name,
                    a.address_line_1,
                    a.address_line_2,
                    `${a.zip_code ?? ''} ${a.city ?? ''}`,
                    a.country_code,
                  ]
                    .filter((x) => x?.trim())
                    .join(', ')}
                </address>
              </dd>
            </>
          )}
          {s && (
            <>
              <dt>Shipment</dt>
              <dd>
                {label(s.phase)}
                {s.stuck ? ' (stuck)' : ''}
                {s.delivered_at ? ` · delivered ${date(s.delivered_at)}` : ''}
                <span className="block small">
                  {s.carrier ? carrierName(s.carrier) : ''}{' '}
                  {s.tracking_url ? <a href={s.tracking_url}>{s.tracking_number}</a> : s.tracking_number}
                </span>
              </dd>
            </>
          )}
        </dl>
      </section>
      <section className="card" aria-labelledby="work-title">
        <h2 id="work-title">Work</h2>
        <AssigneePicker claim={claim} canWork={canWork} me={me} team={team} patch={patch} busy={busy} />
        <div className="field">
          <span className="label" id="tags-label">
            Tags
          </span>
          <ul className="tags" aria-labelledby="tags-label">
            {claim.tags.map((t) => (
              <li key={t} className="tag">
                {t}
                {canWork && (
                  <button
                    type="button"
                    aria-label={`Remove tag ${t}`}
                    disabled={busy}
                    onClick={() => void removeTag(t)}
                  >
                    ×
                  </button>
                )}
              </li>
            ))}
            {claim.tags.length === 0 && <li className="muted small">None</li>}
          </ul>
          {canWork && (
            <form className="row" onSubmit={addTag}>
              <label className="sr-only" htmlFor="new-tag">
                New tag
              </label>
              <input
                ref={tagInput}
                id="new-tag"
                placeholder="Add a tag"
                value={tag}
                maxLength={100}
                onChange={(e) => setTag(e.target.value)}
              />
              <button className="button small" type="submit" disabled={busy}>
                Add
              </button>
            </form>
          )}
        </div>
        <div className="field">
          <label htmlFor="preference">Preferred resolution</label>
          <select
            id="preference"
            value={claim.resolution_preference ?? ''}
            disabled={!canWork}
            onChange={(e) => void patch({ resolution_preference: e.target.value || null })}
          >
            <option value="">None</option>
            <option value="refund">Refund</option>
            <option value="replacement">Replacement</option>
            <option value="store_credit">Store credit</option>
          </select>
        </div>
        {canWork && (
          <form className="field" onSubmit={addNote}>
            <label htmlFor="note">Internal note</label>
            <textarea
              id="note"
              rows={3}
              maxLength={5000}
              value={note}
              aria-invalid={noteError || undefined}
              aria-describedby={noteError ? 'note-error' : undefined}
              onChange={(e) => {
                setNote(e.target.value);
                setNoteError(false);
              }}
            />
            {noteError && (
              <p id="note-error" className="field-error">
                Write a note first.
              </p>
            )}
            <button className="button small" type="submit" disabled={busy}>
              Add note
            </button>
          </form>
        )}
      </section>
    </aside>
  );
}

/** A team member claims can be assigned to (GET /v1/shops/{slug}/assignees). */
export interface Assignee {
  email: string;
  name: string | null;
  role: string;
}

/** The shop's members who work claims, read once per page; null until known (or if it cannot be read). */
export function useTeam(slug: string): Assignee[] | null {
  const [team, setTeam] = useState<Assignee[] | null>(null);
  useEffect(() => {
    let live = true;
    api<{ data: Assignee[] }>('GET', `/v1/shops/${slug}/assignees`).then(
      (r) => live && setTeam(r.data),
      () => live && setTeam(null),
    );
    return () => {
      live = false;
    };
  }, [slug]);
  return team;
}

const same = (a: string | null | undefined, b: string | null | undefined) =>
  !!a && !!b && a.toLowerCase() === b.toLowerCase();
export const memberLabel = (m: Assignee) => (m.name ? `${m.name} (${m.email})` : m.email);

/**
 * The assignee, chosen among the team (or Unassigned); it saves on choosing. An assignee set through the API
 * that is not a member (a helpdesk agent's id) stays shown as it is, until someone picks another.
 */
function AssigneePicker({
  claim,
  canWork,
  me,
  team,
  patch,
  busy,
}: {
  claim: Claim;
  canWork: boolean;
  me: Me;
  team: Assignee[] | null;
  patch(body: Record<string, unknown>): Promise<boolean>;
  busy: boolean;
}) {
  const [ownSave, setSaving] = useState(false);
  const saving = ownSave || busy;
  const current = claim.assignee;
  const members = [...(team ?? [])].sort((a, b) => memberLabel(a).localeCompare(memberLabel(b)));
  // Before the team is known (or if it cannot be read), you can still take the claim yourself.
  if (!team && !members.some((m) => same(m.email, me.user.email)))
    members.push({ email: me.user.email, name: me.user.name, role: 'agent' });
  const listed = members.find((m) => same(m.email, current));
  const value = listed?.email ?? current ?? '';
  const mine = same(current, me.user.email);
  const save = async (assignee: string | null) => {
    setSaving(true);
    await patch({ assignee });
    setSaving(false);
  };
  return (
    <div className="field">
      <label htmlFor="assignee">Assignee</label>
      <div className="row">
        <select
          id="assignee"
          value={value}
          disabled={!canWork || saving}
          aria-describedby={current && !listed && team ? 'assignee-hint' : undefined}
          onChange={(e) => void save(e.target.value || null)}
        >
          <option value="">Unassigned</option>
          {current && !listed && <option value={current}>{current}</option>}
          <optgroup label="Team">
            {members.map((m) => (
              <option key={m.email} value={m.email}>
                {same(m.email, me.user.email) ? `${memberLabel(m)} — you` : memberLabel(m)}
              </option>
            ))}
          </optgroup>
        </select>
        {canWork && !mine && (
          <button
            className="button small ghost"
            type="button"
            disabled={saving}
            onClick={() => void save(me.user.email)}
          >
            Assign to me
          </button>
        )}
      </div>
      {current && !listed && team && (
        <span className="hint" id="assignee-hint">
          Not a member of this shop’s team (set through the API).
        </span>
      )}
    </div>
  );
}
