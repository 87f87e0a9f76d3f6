import { type FormEvent, useCallback, useEffect, useState } from 'react';
import type { Shop } from '../../App';
import { type ApiError, api } from '../../api';
import { Badge, ErrorBox, Loading } from '../../ui/common';
import { plainMessage } from '../../ui/errors';
import { date, dateTime } from '../../ui/format';
import { AdminOnly, ConfirmButton, dateInputToIso, SecretOnce } from './ui';

interface Key {
  id: string;
  name: string;
  role: 'viewer' | 'editor' | 'admin';
  secret_hint: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  created_at: string;
}
const ROLES = [
  ['viewer', 'Viewer: read only'],
  ['editor', 'Editor: work claims, upsert orders'],
  ['admin', 'Admin: also settings, keys, webhooks'],
] as const;

const stateOf = (k: Key) =>
  k.revoked_at ? 'revoked' : k.expires_at && new Date(k.expires_at) < new Date() ? 'expired' : 'active';

/** API keys for integrations: create (secret shown once), list, revoke. */
export function KeysTab({ shop }: { shop: Shop }) {
  const url = `/v1/shops/${shop.slug}/api-keys`;
  const [keys, setKeys] = useState<Key[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<(Key & { secret: string }) | null>(null);
  const [showRevoked, setShowRevoked] = useState(false);
  const isAdmin = shop.role === 'admin';
  const load = useCallback(
    () => api<{ data: Key[] }>('GET', url).then((r) => setKeys(r.data), setError),
    [url],
  );
  useEffect(() => {
    if (isAdmin) void load();
  }, [isAdmin, load]);
  if (!isAdmin) return <AdminOnly what="API keys" />;

  const shown = (keys ?? []).filter((k) => showRevoked || stateOf(k) === 'active');
  const hidden = (keys ?? []).length - shown.length;
  return (
    <div className="settings-stack">
      {created && (
        <SecretOnce
          title={`API key “${created.name}” created`}
          label="Secret"
          value={created.secret}
          testId="new-key"
          onDone={() => setCreated(null)}
        >
          <p className="small">
            Send it as <code>Authorization: Bearer &lt;secret&gt;</code>, or with HTTP Basic (user{' '}
            <code>{created.name}</code>, password the secret). Role: {created.role}
            {created.expires_at ? `, expires ${dateTime(created.expires_at)}` : ', no expiry'}.
          </p>
        </SecretOnce>
      )}
      <CreateKey
        url={url}
        onCreated={(k) => {
          setCreated(k);
          void load();
        }}
      />
      <section className="card" aria-labelledby="keys-title">
        <div className="page-head">
          <h2 id="keys-title">API keys</h2>
          <label className="check">
            <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} />
            Show revoked and expired
          </label>
        </div>
        <ErrorBox error={error} />
        {!keys && !error && <Loading />}
        {keys && shown.length === 0 && (
          <p className="muted">No active keys.{hidden ? ` ${hidden} revoked or expired.` : ''}</p>
        )}
        {shown.length > 0 && (
          <table className="grid-table" data-testid="keys-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Secret</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((k) => {
                const state = stateOf(k);
                return (
                  <tr key={k.id} className={state === 'active' ? undefined : 'row-off'} data-testid="key-row">
                    <th scope="row">{k.name}</th>
                    <td>{k.role}</td>
                    <td>
                      <code>…{k.secret_hint}</code>
                    </td>
                    <td>{date(k.created_at)}</td>
                    <td>
                      {k.last_used_at ? dateTime(k.last_used_at) : <span className="muted">Never</span>}
                    </td>
                    <td>{k.expires_at ? date(k.expires_at) : <span className="muted">Never</span>}</td>
                    <td>
                      <Badge value={state} kind={state === 'active' ? 'accepted' : 'off'} />
                      {k.revoked_at && <span className="muted small block">{date(k.revoked_at)}</span>}
                    </td>
                    <td className="actions">
                      {state !== 'revoked' && (
                        <ConfirmButton
                          title={`Revoke the API key “${k.name}”?`}
                          message={
                            <p>
                              Every integration using it stops working at once. This cannot be undone: to
                              continue, create a new key.
                            </p>
                          }
                          confirmText="Revoke key"
                          ariaLabel={`Revoke ${k.name}`}
                          onConfirm={async () => {
                            await api('DELETE', `${url}/${k.id}`);
                            await load();
                          }}
                        >
                          Revoke
                        </ConfirmButton>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function CreateKey({ url, onCreated }: { url: string; onCreated(k: Key & { secret: string }): void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Key['role']>('editor');
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const nameMessage = error?.errors.find((e) => e.path === '/name')?.message;
  // A name an active key already has (it is the HTTP Basic user name): the server's sentence, at the field.
  const nameError =
    error?.key === 'api_key_name_taken'
      ? error.message
      : nameMessage && plainMessage(nameMessage, { name: 'Name', noun: 'a name' });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const k = await api<Key & { secret: string }>('POST', url, {
        name: name.trim(),
        role,
        ...(expires ? { expires_at: dateInputToIso(expires) } : {}),
      });
      setName('');
      setExpires('');
      onCreated(k);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const today = new Date().toISOString().slice(0, 10);
  return (
    <form className="card" onSubmit={submit} aria-labelledby="new-key-title">
      <h2 id="new-key-title">Create an API key</h2>
      <div className="row align-end">
        <div className="sfield">
          <label htmlFor="key-name">Name</label>
          <input
            id="key-name"
            value={name}
            required
            maxLength={100}
            pattern="[A-Za-z0-9._\-]+"
            placeholder="e.g. helpdesk-sync"
            aria-describedby={nameError ? 'key-name-hint key-name-error' : 'key-name-hint'}
            aria-invalid={!!nameError || undefined}
            onChange={(e) => setName(e.target.value)}
          />
          <span className="hint" id="key-name-hint">
            Letters, digits, dot, dash, underscore. Also the HTTP Basic user name.
          </span>
          {nameError && (
            <span className="field-error" id="key-name-error" role="alert" data-testid="key-name-error">
              {nameError}
            </span>
          )}
        </div>
        <div className="sfield">
          <label htmlFor="key-role">Role</label>
          <select id="key-role" value={role} onChange={(e) => setRole(e.target.value as Key['role'])}>
            {ROLES.map(([v, t]) => (
              <option key={v} value={v}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div className="sfield">
          <label htmlFor="key-expires">Expires (optional)</label>
          <input
            id="key-expires"
            type="date"
            min={today}
            value={expires}
            onChange={(e) => setExpires(e.target.value)}
          />
        </div>
        <button className="button primary" type="submit" disabled={busy}>
          Create key
        </button>
      </div>
      {error && !nameError && <ErrorBox error={error} />}
    </form>
  );
}
