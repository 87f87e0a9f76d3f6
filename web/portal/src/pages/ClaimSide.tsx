import { type FormEvent, useState } from 'react';
import type { Claim, Me } from '../api';
import { date, label, money } from '../ui/format';

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
  claim,
  ctx,
  canWork,
  me,
  patch,
}: {
  claim: Claim;
  ctx: Ctx;
  canWork: boolean;
  me: Me;
  patch(body: Record<string, unknown>): Promise<boolean>;
}) {
  const [tag, setTag] = useState('');
  const [note, setNote] = useState('');
  const [assignee, setAssignee] = useState(claim.assignee ?? '');
  const a = ctx.shipping_address;
  const s = ctx.shipment;

  const addTag = async (e: FormEvent) => {
    e.preventDefault();
    const t = tag.trim();
    if (t && !claim.tags.includes(t) && (await patch({ tags: [...claim.tags, t] }))) setTag('');
  };
  const addNote = async (e: FormEvent) => {
    e.preventDefault();
    if (note.trim() && (await patch({ note: note.trim() }))) setNote('');
  };

  return (
    <aside>
      <section className="card" aria-labelledby="ctx-title">
        <h2 id="ctx-title">At submission</h2>
        <dl className="facts">
          <dt>Order</dt>
          <dd>
            {claim.order?.order_name ?? claim.order_number}
            {ctx.placed_at ? ` · ${date(ctx.placed_at)}` : ''}
            {ctx.order_state ? ` · ${label(ctx.order_state)}` : ''}
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
                  {s.carrier?.toUpperCase()}{' '}
                  {s.tracking_url ? <a href={s.tracking_url}>{s.tracking_number}</a> : s.tracking_number}
                </span>
              </dd>
            </>
          )}
        </dl>
      </section>
      <section className="card" aria-labelledby="work-title">
        <h2 id="work-title">Work</h2>
        <form
          className="field"
          onSubmit={(e) => {
            e.preventDefault();
            void patch({ assignee: assignee.trim() || null });
          }}
        >
          <label htmlFor="assignee">Assignee</label>
          <div className="row">
            <input
              id="assignee"
              value={assignee}
              disabled={!canWork}
              onChange={(e) => setAssignee(e.target.value)}
            />
            {canWork && (
              <>
                <button className="button small" type="submit">
                  Save
                </button>
                <button
                  className="button small ghost"
                  type="button"
                  onClick={() => {
                    setAssignee(me.user.email);
                    void patch({ assignee: me.user.email });
                  }}
                >
                  Assign to me
                </button>
              </>
            )}
          </div>
        </form>
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
                    onClick={() => patch({ tags: claim.tags.filter((x) => x !== t) })}
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
                id="new-tag"
                placeholder="Add a tag"
                value={tag}
                maxLength={100}
                onChange={(e) => setTag(e.target.value)}
              />
              <button className="button small" type="submit">
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
            onChange={(e) => patch({ resolution_preference: e.target.value || null })}
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
              onChange={(e) => setNote(e.target.value)}
            />
            <button className="button small" type="submit">
              Add note
            </button>
          </form>
        )}
      </section>
    </aside>
  );
}
