import { type FormEvent, useCallback, useEffect, useState } from 'react';
import type { Static } from 'typebox';
import type { EndpointView } from '../../../../../src/webhooks/api-schemas';
import type { Shop } from '../../App';
import { type ApiError, api, type Page } from '../../api';
import { Badge, ErrorBox, Loading, Notice } from '../../ui/common';
import { plainMessage } from '../../ui/errors';
import { dateTime } from '../../ui/format';
import { Deliveries } from './Deliveries';
import { ConfirmButton, SecretOnce } from './ui';

export type Endpoint = Static<typeof EndpointView>;
const EVENTS = [
  ['claims/created', 'A claim is created'],
  ['claims/updated', 'A claim changes (status, tags, assignee, notes…)'],
  ['claims/action', 'A refund or replacement succeeded or failed'],
  ['orders/cancelled', 'An order is cancelled from the customer page'],
  ['orders/address_changed', 'A shipping address is changed from the customer page'],
] as const;
const OVERLAPS = [
  [0, 'Retire the old secret now'],
  [3600, 'Keep the old secret signing for 1 hour'],
  [86_400, 'Keep the old secret signing for 1 day'],
  [7 * 86_400, 'Keep the old secret signing for 7 days'],
] as const;

/** Webhook endpoints: create (secret shown once), enable or disable, test, rotate, delete, delivery log. */
export function WebhooksTab({ shop }: { shop: Shop }) {
  const url = `/v1/shops/${shop.slug}/webhooks`;
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [secret, setSecret] = useState<{ title: string; value: string } | null>(null);
  const [status, setStatus] = useState('');
  const isAdmin = shop.role === 'admin';
  const canSend = shop.role !== 'viewer';
  const load = useCallback(
    () => api<Page<Endpoint>>('GET', `${url}?per_page=100`).then((r) => setEndpoints(r.data), setError),
    [url],
  );
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (what: () => Promise<unknown>, done: string) => {
    setError(null);
    setStatus('');
    try {
      await what();
      setStatus(done);
      await load();
    } catch (err) {
      setError(err as ApiError);
    }
  };

  return (
    <div className="settings-stack">
      <p className="muted small">
        Resolve POSTs events to your endpoints, signed per{' '}
        <a href="https://www.standardwebhooks.com/" target="_blank" rel="noopener noreferrer">
          Standard Webhooks
        </a>{' '}
        (<code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>), and retries
        failures for about three days.
      </p>
      {!isAdmin && (
        <Notice>
          Only admins can add, change or delete endpoints.{' '}
          {canSend ? 'You can send tests and replay deliveries.' : 'You can look at the delivery logs.'}
        </Notice>
      )}
      {secret && (
        <SecretOnce
          title={secret.title}
          label="Signing secret"
          value={secret.value}
          testId="webhook-secret"
          kept="Resolve keeps it encrypted, to sign each delivery, and never shows it again; if it is lost, rotate the secret to get a new one."
          onDone={() => setSecret(null)}
        >
          <p className="small">
            Verify each delivery’s webhook-signature with it (any Standard Webhooks library does).
          </p>
        </SecretOnce>
      )}
      {isAdmin && (
        <CreateEndpoint
          url={url}
          onCreated={(e) => {
            setSecret({ title: `Endpoint created: ${e.url}`, value: e.secret ?? '' });
            void load();
          }}
        />
      )}
      <section aria-labelledby="endpoints-title">
        <h2 id="endpoints-title">Endpoints</h2>
        <ErrorBox error={error} />
        {status && <Notice kind="success">{status}</Notice>}
        {!endpoints && !error && <Loading />}
        {endpoints?.length === 0 && <p className="muted">No endpoints yet.</p>}
        {endpoints?.map((e) => (
          <EndpointCard
            key={e.id}
            endpoint={e}
            base={`${url}/${e.id}`}
            isAdmin={isAdmin}
            canSend={canSend}
            act={act}
            onSecret={(value) => setSecret({ title: `New secret for ${e.url}`, value })}
          />
        ))}
      </section>
    </div>
  );
}

function EndpointCard({
  endpoint: e,
  base,
  isAdmin,
  canSend,
  act,
  onSecret,
}: {
  endpoint: Endpoint;
  base: string;
  isAdmin: boolean;
  canSend: boolean;
  act(what: () => Promise<unknown>, done: string): Promise<void>;
  onSecret(secret: string): void;
}) {
  const [log, setLog] = useState(false);
  const [overlap, setOverlap] = useState(86_400);
  const [refresh, setRefresh] = useState(0);
  const [watch, setWatch] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const enabled = e.status === 'enabled';
  return (
    <article className="card endpoint" aria-label={`Endpoint ${e.url}`} data-testid="endpoint">
      <div className="page-head">
        <div>
          <code className="endpoint-url">{e.url}</code>
          {e.description && <span className="block muted small">{e.description}</span>}
        </div>
        <Badge value={enabled ? 'enabled' : 'disabled'} kind={enabled ? 'accepted' : 'rejected'} />
      </div>
      <dl className="facts small">
        <dt>Events</dt>
        <dd>{e.event_types.map((t) => (t === '*' ? 'all events' : t)).join(', ')}</dd>
        {!enabled && (
          <>
            <dt>Disabled</dt>
            <dd>
              {e.disabled_reason === 'gone'
                ? 'the receiver answered 410 Gone'
                : e.disabled_reason === 'failing'
                  ? 'every attempt failed for 5 days'
                  : 'by hand'}
              {e.disabled_at ? `, ${dateTime(e.disabled_at)}` : ''}
            </dd>
          </>
        )}
        <dt>Last success</dt>
        <dd>{e.last_success_at ? dateTime(e.last_success_at) : 'never'}</dd>
        {e.failing_since && (
          <>
            <dt>Failing since</dt>
            <dd className="text-error">{dateTime(e.failing_since)}</dd>
          </>
        )}
        {e.previous_secret_expires_at && (
          <>
            <dt>Old secret</dt>
            <dd>still signs until {dateTime(e.previous_secret_expires_at)}</dd>
          </>
        )}
      </dl>
      <div className="row">
        <button
          type="button"
          className="button small"
          aria-expanded={log}
          aria-controls={`log-${e.id}`}
          onClick={() => setLog((l) => !l)}
        >
          {log ? 'Hide deliveries' : 'Deliveries'}
        </button>
        {canSend && (
          <button
            type="button"
            className="button small"
            disabled={!enabled}
            title={enabled ? undefined : 'Enable the endpoint first'}
            onClick={() =>
              act(async () => {
                const d = await api<{ id: string }>('POST', `${base}/test`);
                setLog(true);
                setRefresh((r) => r + 1);
                setWatch(d.id);
              }, `Test event queued for ${e.url}; its outcome shows in the deliveries below.`)
            }
          >
            Send test event
          </button>
        )}
        {isAdmin && (
          <>
            <button
              type="button"
              className="button small"
              aria-expanded={editing}
              onClick={() => setEditing((x) => !x)}
            >
              Edit
            </button>
            <button
              type="button"
              className="button small"
              onClick={() =>
                act(
                  () => api('PATCH', base, { status: enabled ? 'disabled' : 'enabled' }),
                  `${e.url} is ${enabled ? 'disabled' : 'enabled'}.`,
                )
              }
            >
              {enabled ? 'Disable' : 'Enable'}
            </button>
            <ConfirmButton
              className="button small"
              title="Rotate the signing secret?"
              message={
                <>
                  <p>A new secret signs every delivery from now on. You see it once.</p>
                  <label htmlFor={`overlap-${e.id}`}>Switch-over</label>
                  <select
                    id={`overlap-${e.id}`}
                    value={overlap}
                    onChange={(ev) => setOverlap(Number(ev.target.value))}
                  >
                    {OVERLAPS.map(([v, t]) => (
                      <option key={v} value={v}>
                        {t}
                      </option>
                    ))}
                  </select>
                  <p className="hint">During the switch-over each delivery carries both signatures.</p>
                </>
              }
              confirmText="Rotate secret"
              onConfirm={async () => {
                const r = await api<{ secret: string | null }>('POST', `${base}/rotate-secret`, {
                  overlap_seconds: overlap,
                });
                if (r.secret) onSecret(r.secret);
                await act(async () => undefined, 'Secret rotated.');
              }}
            >
              Rotate secret
            </ConfirmButton>
            <ConfirmButton
              title="Delete this endpoint?"
              message={
                <p>
                  <code>{e.url}</code> receives nothing more, and its delivery log is deleted.
                </p>
              }
              confirmText="Delete endpoint"
              ariaLabel={`Delete endpoint ${e.url}`}
              onConfirm={async () => {
                await api('DELETE', base);
                await act(async () => undefined, `${e.url} was deleted.`);
              }}
            >
              Delete
            </ConfirmButton>
          </>
        )}
      </div>
      {editing && (
        <CreateEndpoint
          url={base}
          editing={e}
          onCancel={() => setEditing(false)}
          onCreated={() => {
            setEditing(false);
            void act(async () => undefined, `${e.url} was changed; its secret stays the same.`);
          }}
        />
      )}
      {log && (
        <div id={`log-${e.id}`}>
          <Deliveries base={base} canReplay={canSend} refresh={refresh} watch={watch} />
        </div>
      )}
    </article>
  );
}

/** Adds an endpoint (POST to `url`), or with `editing`, changes that one (PATCH to `url`: what changed only). */
function CreateEndpoint({
  url,
  onCreated,
  editing,
  onCancel,
}: {
  url: string;
  onCreated(e: Endpoint & { secret: string | null }): void;
  editing?: Endpoint;
  onCancel?(): void;
}) {
  const [target, setTarget] = useState(editing?.url ?? '');
  const [description, setDescription] = useState(editing?.description ?? '');
  const [all, setAll] = useState(editing ? editing.event_types.includes('*') : true);
  const [types, setTypes] = useState<string[]>(editing?.event_types.filter((t) => t !== '*') ?? []);
  const id = (name: string) => (editing ? `${name}-${editing.id}` : name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const urlMessage = error?.errors.find((x) => x.path === '/url')?.message;
  const urlError =
    urlMessage &&
    plainMessage(urlMessage, { name: 'URL', noun: 'a URL', format: 'Enter an https:// address' });
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = {
        url: target.trim(),
        ...(description.trim() || editing ? { description: description.trim() || null } : {}),
        event_types: all ? ['*'] : types,
      };
      if (editing) {
        const changed = Object.fromEntries(
          Object.entries(body).filter(
            ([k, v]) => JSON.stringify(v) !== JSON.stringify(editing[k as keyof Endpoint] ?? null),
          ),
        );
        onCreated(
          Object.keys(changed).length
            ? await api<Endpoint & { secret: null }>('PATCH', url, changed)
            : { ...editing, secret: null },
        );
        return;
      }
      const e = await api<Endpoint & { secret: string | null }>('POST', url, body);
      setTarget('');
      setDescription('');
      onCreated(e);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className={editing ? 'endpoint-edit' : 'card'}
      onSubmit={submit}
      aria-labelledby={id('new-endpoint-title')}
    >
      {editing ? (
        <h3 id={id('new-endpoint-title')}>Change this endpoint</h3>
      ) : (
        <h2 id={id('new-endpoint-title')}>Add an endpoint</h2>
      )}
      <div className="field-grid wide">
        <div className="sfield">
          <label htmlFor={id('wh-url')}>URL</label>
          <input
            id={id('wh-url')}
            type="url"
            required
            maxLength={2048}
            placeholder="https://hooks.example.com/resolve"
            value={target}
            aria-invalid={!!urlError || undefined}
            aria-describedby={id('wh-url-hint')}
            onChange={(e) => {
              setTarget(e.target.value);
              // The server's word was about the value sent: an edited value is not that one.
              if (urlMessage) setError(null);
            }}
          />
          <span className="hint" id={id('wh-url-hint')}>
            https only, a public address.
          </span>
          {urlError && <span className="field-error">{urlError}</span>}
        </div>
        <div className="sfield">
          <label htmlFor={id('wh-description')}>Description (optional)</label>
          <input
            id={id('wh-description')}
            maxLength={500}
            value={description}
            placeholder="e.g. ERP sync"
            onChange={(e) => setDescription(e.target.value)}
          />
        </div>
      </div>
      <fieldset className="sfield checks">
        <legend>Events</legend>
        <label className="check">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
          All events, including types added later
        </label>
        {EVENTS.map(([t, text]) => (
          <label key={t} className="check">
            <input
              type="checkbox"
              disabled={all}
              checked={all || types.includes(t)}
              onChange={(e) => setTypes((s) => (e.target.checked ? [...s, t] : s.filter((x) => x !== t)))}
            />
            <code>{t}</code> <span className="muted small">{text}</span>
          </label>
        ))}
      </fieldset>
      {error && !urlError && <ErrorBox error={error} />}
      <button className="button primary" type="submit" disabled={busy || (!all && types.length === 0)}>
        {editing ? 'Save changes' : 'Add endpoint'}
      </button>
      {onCancel && (
        <button className="button" type="button" onClick={onCancel}>
          Cancel
        </button>
      )}
      {!all && types.length === 0 && <span className="hint"> Choose at least one event.</span>}
    </form>
  );
}
