import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api, type Claim, type Order } from '../../api';
import { ErrorBox, Loading } from '../../ui/common';
import { type FieldInfo, plainMessage } from '../../ui/errors';
import { navigate } from '../../ui/router';
import { FLOW_NAMES, type FlowEligibility, RESOLUTION_NAMES, WHY_NOT } from './claimText';

type Errors = Record<string, string>;

/**
 * A claim taken by phone or email, recorded from the order page (POST …/claims, channel `portal`): the issue, the
 * reason and the items the order is eligible for (GET …/orders/{id}/eligibility), quantities within what is left,
 * a description, what the customer would like and, optionally, the photos the customer sent (each uploaded to the
 * order, POST …/orders/{id}/uploads, then named as evidence; a merchant is asked for none). One Idempotency-Key
 * per form, so a double click or a retry records one claim; the new claim opens afterwards.
 */
export function RecordClaim({ slug, order, onCancel }: { slug: string; order: Order; onCancel(): void }) {
  const [goodwill, setGoodwill] = useState(false);
  const [flows, setFlows] = useState<FlowEligibility[] | null>(null);
  const [flowName, setFlowName] = useState('');
  const [reason, setReason] = useState('');
  const [qty, setQty] = useState<Record<string, string>>({});
  const [description, setDescription] = useState('');
  const [pref, setPref] = useState('');
  const [dropoff, setDropoff] = useState<'' | 'yes' | 'no'>('');
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [photos, setPhotos] = useState<File[]>([]);
  // Photos already uploaded, so that a retry after a refused claim does not upload them again.
  const uploaded = useRef(new Map<File, string>());
  // Whether the carrier could leave the parcel: asked for not_received unless the parcel is stuck in transit
  // (it never reached the door), as the server asks it.
  const asksDropoff = (f: { steps: { dropoff_permission: boolean } }) =>
    f.steps.dropoff_permission && reason !== 'stuck_in_transit';
  const [errors, setErrors] = useState<Errors>({});
  // The shop's largest photo upload (Resolve settings), checked before uploading; 10 MB until read.
  const [maxBytes, setMaxBytes] = useState(10 * 1024 * 1024);
  useEffect(() => {
    api<{ upload_max_bytes: number }>('GET', `/v1/shops/${slug}/settings/resolve`).then(
      (s) => setMaxBytes(s.upload_max_bytes),
      () => undefined,
    );
  }, [slug]);
  const tooBig = (files: File[]) => {
    const big = files.filter((f) => f.size > maxBytes);
    return big.length
      ? `${big.map((f) => f.name).join(', ')} ${big.length > 1 ? 'are' : 'is'} larger than ${mb(maxBytes)}`
      : null;
  };
  // After a refused submit, focus goes to the first field marked invalid, once it is rendered.
  const focusFirst = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs after the errors are rendered
  useEffect(() => {
    if (!focusFirst.current) return;
    focusFirst.current = false;
    const first = document.querySelector<HTMLElement>(
      '#record-claim [aria-invalid="true"], #record-claim fieldset[aria-describedby]',
    );
    (first instanceof HTMLFieldSetElement
      ? first.querySelector<HTMLElement>('input:not([disabled]), select, textarea')
      : first
    )?.focus();
  }, [errors]);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  // One key per claim being recorded: a double click or a retry after a lost answer sends the same one. A request
  // the server refused (4xx: nothing recorded) frees it, so the corrected form is a new request.
  const key = useRef(crypto.randomUUID());

  const load = useCallback(
    (override: boolean) => {
      setFlows(null);
      api<{ flows: FlowEligibility[] }>(
        'GET',
        `/v1/shops/${slug}/orders/${order.id}/eligibility${override ? '?override_gating=true' : ''}`,
        undefined,
        { 'accept-language': 'en' },
      ).then((r) => setFlows(r.flows), setError);
    },
    [slug, order.id],
  );
  useEffect(() => {
    load(goodwill);
  }, [load, goodwill]);
  useEffect(() => {
    document.getElementById('record-claim')?.scrollIntoView({ block: 'start' });
  }, []);

  const flow = flows?.find((f) => f.flow === flowName && f.available) ?? null;
  const line = (id: string) => order.line_items.find((l) => l.id === id);
  const pick = (name: string) => {
    setFlowName(name);
    setReason('');
    setQty({});
    setPref('');
    setDropoff('');
    setAnswers({});
    setErrors({});
    setError(null);
  };

  /** What the form can tell before sending: the same rules the server applies. */
  const check = (f: FlowEligibility): Errors => {
    const e: Errors = {};
    if (!reason) e['/reason'] = 'Choose a reason';
    let any = false;
    for (const it of f.items) {
      const raw = qty[it.line_item_id]?.trim() ?? '';
      if (!raw) continue;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) e[`item:${it.line_item_id}`] = 'Enter a whole number';
      else if (n > it.max_quantity) e[`item:${it.line_item_id}`] = `At most ${it.max_quantity}`;
      else if (n > 0) any = true;
    }
    if (!any && f.flow !== 'support' && !Object.keys(e).some((k) => k.startsWith('item:')))
      e['/items'] = 'Choose at least one item';
    const d = f.steps.description;
    const text = description.trim();
    if (d.required && !text) e['/description'] = 'Write what the customer told you';
    else if (text && text.length < d.min_length)
      e['/description'] = `Use at least ${d.min_length} characters`;
    if (f.resolutions.length && !pref) e['/resolution_preference'] = 'Choose what the customer would like';
    if (asksDropoff(f) && !dropoff) e['/dropoff_permission'] = 'Choose yes or no';
    const big = f.steps.photos.max > 0 ? tooBig(photos) : null;
    if (big) e['/evidence'] = big;
    f.steps.prompts.forEach((p) => {
      if (p.required && !(answers[p.id] ?? '').trim()) e[`prompt:${p.id}`] = 'Enter an answer';
    });
    return e;
  };

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    if (!flow || busy) return;
    const found = check(flow);
    setErrors(found);
    setError(null);
    if (Object.keys(found).length) {
      focusFirst.current = true;
      return;
    }
    const items = flow.items
      .filter((it) => Number(qty[it.line_item_id] || 0) > 0)
      .map((it) => ({ line_item_id: it.line_item_id, quantity: Number(qty[it.line_item_id]) }));
    const prompts = flow.steps.prompts.filter((p) => (answers[p.id] ?? '') !== '');
    setBusy(true);
    const evidence: { upload_id: string; kind: 'photo' }[] = [];
    // A flow that takes no photos (not received, …) sends none, whatever was picked for another issue.
    for (const file of flow.steps.photos.max > 0 ? photos : []) {
      let id = uploaded.current.get(file);
      if (!id) {
        const form = new FormData();
        form.append('file', file);
        try {
          id = (await api<{ id: string }>('POST', `/v1/shops/${slug}/orders/${order.id}/uploads`, form)).id;
        } catch (err) {
          setBusy(false);
          if (!(err instanceof ApiError)) throw err;
          setErrors({ '/evidence': `${file.name}: ${err.message}` });
          document.getElementById('rc-photos')?.focus();
          return;
        }
        uploaded.current.set(file, id);
      }
      evidence.push({ upload_id: id, kind: 'photo' });
    }
    const body = {
      order_id: order.id,
      flow: flow.flow,
      reason,
      items,
      description: description.trim() || null,
      resolution_preference: pref || null,
      ...(asksDropoff(flow) ? { dropoff_permission: dropoff === 'yes' } : {}),
      ...(prompts.length
        ? {
            answers: prompts.map((p) => ({
              prompt_id: p.id,
              value: p.type === 'yes_no' ? answers[p.id] === 'yes' : answers[p.id].trim(),
            })),
          }
        : {}),
      ...(evidence.length ? { evidence } : {}),
      channel: 'portal',
      ...(goodwill ? { override_gating: true } : {}),
    };
    try {
      // A retry while the first request still runs is told to wait: ask again until it has an answer.
      let claim: Claim | null = null;
      for (let i = 0; !claim; i++) {
        try {
          claim = await api<Claim>('POST', `/v1/shops/${slug}/claims`, body, {
            'idempotency-key': key.current,
          });
        } catch (err) {
          if (!(err instanceof ApiError && err.key === 'idempotency_in_progress' && i < 10)) throw err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      navigate(`/portal/${slug}/claims/${claim.id}`);
    } catch (err) {
      setBusy(false);
      if (!(err instanceof ApiError)) throw err;
      if (err.status >= 400 && err.status < 500) key.current = crypto.randomUUID();
      setErrors(serverErrors(err, items, prompts));
      // Field errors (400, or a 422 naming items) at their fields; a flow no longer open (a 422 with its
      // eligibility reason code) in words, with the order's eligibility read again.
      const flowClosed = err.key in WHY_NOT && err.errors.length === 0;
      setError(
        flowClosed
          ? new ApiError(err.key, `${WHY_NOT[err.key]}: this claim cannot be recorded.`, err.status)
          : new ApiError(
              err.key,
              err.errors.length ? 'Check the fields marked below.' : err.message,
              err.status,
            ),
      );
      if (flowClosed) load(goodwill);
    }
  };

  /** A group (fieldset) is described by its error but not outlined as an input. */
  const described = (k: string) => (errors[k] ? { 'aria-describedby': `${ids(k)}-error` } : {});
  const invalid = (k: string) =>
    errors[k] ? { 'aria-invalid': true, 'aria-describedby': `${ids(k)}-error` } : {};
  const say = (k: string) =>
    errors[k] ? (
      <p id={`${ids(k)}-error`} className="field-error">
        {errors[k]}
      </p>
    ) : null;

  return (
    <form id="record-claim" className="card" aria-labelledby="record-title" onSubmit={submit} noValidate>
      <h2 id="record-title">Record a claim taken by phone or email</h2>
      <ErrorBox error={error} />
      {!flows && !error && <Loading />}
      {flows && (
        <>
          <fieldset className="plain field">
            <legend className="label">Issue</legend>
            <div className="radios">
              {flows.map((f) => (
                <label key={f.flow} className="check">
                  <input
                    type="radio"
                    name="flow"
                    value={f.flow}
                    checked={flowName === f.flow}
                    disabled={!f.available}
                    onChange={() => pick(f.flow)}
                  />
                  <span>
                    {FLOW_NAMES[f.flow] ?? f.flow}
                    {!f.available && f.reason_code && (
                      <span className="muted small block">{WHY_NOT[f.reason_code] ?? f.reason_code}</span>
                    )}
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
          <div className="field">
            <label className="check">
              <input type="checkbox" checked={goodwill} onChange={(e) => setGoodwill(e.target.checked)} />
              Goodwill: allow issues outside the shop’s windows or switched off in Settings
            </label>
          </div>
        </>
      )}
      {flow && (
        <>
          <div className="field">
            <label htmlFor="rc-reason">Reason</label>
            <select
              id="rc-reason"
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              {...invalid('/reason')}
            >
              <option value="">Choose a reason…</option>
              {flow.reasons.map((r) => (
                <option key={r.code} value={r.code}>
                  {r.label}
                </option>
              ))}
            </select>
            {say('/reason')}
          </div>
          <fieldset className="plain field" {...described('/items')}>
            <legend className="label">
              Items and quantities{flow.flow === 'support' ? ' (optional)' : ''}
            </legend>
            {flow.items.length === 0 && <p className="muted small">No item can be claimed for this issue.</p>}
            {flow.items.map((it) => (
              <div className="field" key={it.line_item_id}>
                <div className="row">
                  <label htmlFor={`rc-qty-${it.line_item_id}`} className="grow">
                    {line(it.line_item_id)?.title ?? 'Item'}
                    {line(it.line_item_id)?.variant_title ? ` (${line(it.line_item_id)?.variant_title})` : ''}
                  </label>
                  <input
                    id={`rc-qty-${it.line_item_id}`}
                    className="qty"
                    type="number"
                    inputMode="numeric"
                    min={0}
                    max={it.max_quantity}
                    step={1}
                    placeholder="0"
                    value={qty[it.line_item_id] ?? ''}
                    onChange={(e) => setQty({ ...qty, [it.line_item_id]: e.target.value })}
                    {...invalid(`item:${it.line_item_id}`)}
                  />
                  <span className="muted small">of {it.max_quantity}</span>
                </div>
                {say(`item:${it.line_item_id}`)}
              </div>
            ))}
            {say('/items')}
          </fieldset>
          {asksDropoff(flow) && (
            <fieldset className="plain field" {...described('/dropoff_permission')}>
              <legend className="label">
                Had the customer allowed the carrier to leave the parcel (drop-off)?
              </legend>
              <div className="radios">
                {(['yes', 'no'] as const).map((v) => (
                  <label key={v} className="check">
                    <input
                      type="radio"
                      name="dropoff"
                      checked={dropoff === v}
                      onChange={() => setDropoff(v)}
                    />
                    {v === 'yes' ? 'Yes' : 'No'}
                  </label>
                ))}
              </div>
              {say('/dropoff_permission')}
            </fieldset>
          )}
          {flow.steps.prompts.map((p) => (
            <div className="field" key={p.id}>
              <label htmlFor={`rc-prompt-${p.id}`}>
                {p.label}
                {p.required ? '' : ' (optional)'}
              </label>
              {p.type === 'text' ? (
                <input
                  id={`rc-prompt-${p.id}`}
                  maxLength={p.max_length ?? 2000}
                  value={answers[p.id] ?? ''}
                  onChange={(e) => setAnswers({ ...answers, [p.id]: e.target.value })}
                  {...invalid(`prompt:${p.id}`)}
                />
              ) : (
                <select
                  id={`rc-prompt-${p.id}`}
                  value={answers[p.id] ?? ''}
                  onChange={(e) => setAnswers({ ...answers, [p.id]: e.target.value })}
                  {...invalid(`prompt:${p.id}`)}
                >
                  <option value="">Choose…</option>
                  {(p.type === 'yes_no'
                    ? [
                        { value: 'yes', label: 'Yes' },
                        { value: 'no', label: 'No' },
                      ]
                    : (p.options ?? [])
                  ).map((o) => (
                    <option key={o.value} value={o.value}>
                      {o.label}
                    </option>
                  ))}
                </select>
              )}
              {say(`prompt:${p.id}`)}
            </div>
          ))}
          <div className="field">
            <label htmlFor="rc-description">
              What the customer said{flow.steps.description.required ? '' : ' (optional)'}
            </label>
            <textarea
              id="rc-description"
              rows={3}
              maxLength={flow.steps.description.max_length}
              value={description}
              onChange={(e) => setDescription(e.target.value)}
              {...invalid('/description')}
            />
            {say('/description')}
          </div>
          {flow.steps.photos.max > 0 && (
            <div className="field">
              <label htmlFor="rc-photos">Photos the customer sent (optional)</label>
              <input
                id="rc-photos"
                type="file"
                multiple
                accept="image/jpeg,image/png,image/webp,image/heic,image/heif"
                onChange={(e) => {
                  const picked = Array.from(e.target.files ?? []);
                  e.target.value = '';
                  // The same file picked twice is attached once.
                  const known = new Set(photos.map(fileKey));
                  // A photo over the shop's limit is refused here, before any upload.
                  const big = tooBig(picked);
                  const fresh = picked.filter((f) => !known.has(fileKey(f)) && f.size <= maxBytes);
                  setPhotos([...photos, ...fresh]);
                  setErrors(({ '/evidence': _, ...rest }) => (big ? { ...rest, '/evidence': big } : rest));
                }}
                {...invalid('/evidence')}
              />
              <p className="muted small">
                JPEG, PNG, WebP or HEIC, up to {mb(maxBytes)} each. Location data is removed.
              </p>
              {photos.length > 0 && (
                <ul className="file-list" aria-label="Photos to attach">
                  {photos.map((f) => (
                    <li key={fileKey(f)} className="row">
                      <span className="grow">{f.name}</span>
                      <button
                        type="button"
                        className="button small"
                        aria-label={`Remove ${f.name}`}
                        onClick={() => setPhotos(photos.filter((x) => x !== f))}
                      >
                        Remove
                      </button>
                    </li>
                  ))}
                </ul>
              )}
              {say('/evidence')}
            </div>
          )}
          {flow.resolutions.length > 0 && (
            <fieldset className="plain field" {...described('/resolution_preference')}>
              <legend className="label">The customer would like</legend>
              <div className="radios">
                {flow.resolutions.map((r) => (
                  <label key={r} className="check">
                    <input type="radio" name="pref" checked={pref === r} onChange={() => setPref(r)} />
                    {RESOLUTION_NAMES[r] ?? r}
                  </label>
                ))}
              </div>
              {say('/resolution_preference')}
            </fieldset>
          )}
        </>
      )}
      <div className="row">
        <button className="button primary" type="submit" disabled={!flow || busy}>
          {busy ? 'Recording…' : 'Record the claim'}
        </button>
        <button className="button" type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const mb = (bytes: number) => `${Number((bytes / (1024 * 1024)).toFixed(1))} MB`;

const fileKey = (f: File) => `${f.name}:${f.size}:${f.lastModified}`;

const ids = (k: string) => `rc-${k.replace(/[^a-z0-9]+/gi, '-')}`;

/** The server's field errors at the form's fields: /items/0/quantity → that item's quantity, and so on. */
function serverErrors(
  err: ApiError,
  items: { line_item_id: string }[],
  prompts: { id: string; label: string }[],
): Errors {
  const out: Errors = {};
  const fields: Record<string, FieldInfo> = {
    '/description': { name: 'Description', noun: 'what the customer told you' },
    '/reason': { name: 'Reason' },
  };
  for (const e of err.errors) {
    const item = /^\/items\/(\d+)/.exec(e.path);
    const answer = /^\/answers\/(\d+)/.exec(e.path);
    const k = item
      ? items[Number(item[1])]
        ? `item:${items[Number(item[1])].line_item_id}`
        : '/items'
      : answer && prompts[Number(answer[1])]
        ? `prompt:${prompts[Number(answer[1])].id}`
        : e.path.startsWith('/evidence')
          ? '/evidence'
          : ['/reason', '/description', '/resolution_preference', '/dropoff_permission', '/items'].includes(
                e.path,
              )
            ? e.path
            : '/items';
    out[k] ??= plainMessage(e.message, fields[e.path]);
  }
  return out;
}
