import { type FormEvent, useCallback, useEffect, useState } from 'react';
import type { Shop } from '../../App';
import { ApiError, api } from '../../api';
import { Badge, ErrorBox, Loading, Notice } from '../../ui/common';
import { type FieldInfo, plainMessage } from '../../ui/errors';
import { dateTime } from '../../ui/format';
import { AdminOnly, ConfirmButton } from './ui';

interface Platform {
  id: string;
  name: string;
  capabilities: string[];
  settings_fields: { key: string; label: string; example?: string; optional: boolean }[];
  credential_fields: { key: string; label: string }[];
}
interface Connection {
  id: string;
  platform: string;
  settings: Record<string, string>;
  credentials_set: string[];
  status: 'active' | 'error';
  last_error: string | null;
  webhook_url: string;
  sync: {
    backfill?: {
      status: 'running' | 'done' | 'failed' | 'cancelled';
      since: string;
      imported: number;
      failed: number;
      started_at: string;
      finished_at?: string | null;
      error?: string | null;
    };
    reconciled_until?: string;
    last_webhook_at?: string;
    last_errors?: { at: string; order: string | null; message: string }[];
  };
}
interface TestResult {
  ok: boolean;
  shop_name: string | null;
  error: { kind: string; message: string } | null;
}

/** The shop's platform account: connect (credentials are tested first, stored encrypted), sync status, disconnect. */
export function ConnectionTab({ shop }: { shop: Shop }) {
  const base = `/v1/shops/${shop.slug}/connection`;
  const [platforms, setPlatforms] = useState<Platform[] | null>(null);
  const [conn, setConn] = useState<Connection | null | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [test, setTest] = useState<TestResult | null>(null);
  // `demo`: the demo shop, whose orders and actions are Resolve's own (no platform account behind it).
  const [connector, setConnector] = useState<string | null>(null);
  const isAdmin = shop.role === 'admin';

  const load = useCallback(async () => {
    setError(null);
    try {
      setConn(await api<Connection>('GET', base));
    } catch (err) {
      if (err instanceof ApiError && err.key === 'connection_not_found') setConn(null);
      else setError(err as ApiError);
    }
  }, [base]);
  useEffect(() => {
    if (!isAdmin) return;
    void load();
    api<{ data: Platform[] }>('GET', `${base}/platforms`).then((r) => setPlatforms(r.data), setError);
    api<{ connector: string }>('GET', `/v1/shops/${shop.slug}`).then(
      (r) => setConnector(r.connector),
      () => setConnector(null),
    );
  }, [base, isAdmin, load, shop.slug]);

  if (!isAdmin) return <AdminOnly what="the shop platform connection" />;
  if (conn === undefined || !platforms) return error ? <ErrorBox error={error} /> : <Loading />;

  return (
    <div className="settings-stack">
      <ErrorBox error={error} />
      {conn ? (
        <ConnectedView
          conn={conn}
          platform={platforms.find((p) => p.id === conn.platform)}
          test={test}
          onTest={async () => setTest(await api<TestResult>('POST', `${base}/test`))}
          onBackfill={async (days) => {
            setError(null);
            try {
              setConn(await api<Connection>('POST', `${base}/backfill`, { days }));
            } catch (err) {
              // 409 backfill_running: the message gives the running import's progress; the status shows it too.
              if (err instanceof ApiError && err.key === 'backfill_running') await load();
              setError(err as ApiError);
            }
          }}
          onStopBackfill={async () => {
            setError(null);
            try {
              setConn(await api<Connection>('POST', `${base}/backfill/cancel`));
            } catch (err) {
              // 409 backfill_not_running: it ended meanwhile; the status shows how.
              if (err instanceof ApiError && err.key === 'backfill_not_running') await load();
              setError(err as ApiError);
            }
          }}
          onDisconnect={async () => {
            await api('DELETE', base);
            setTest(null);
            await load();
          }}
          onRefresh={load}
        />
      ) : (
        <>
          {connector === 'demo' && (
            <section className="card" aria-labelledby="demo-connector-title" data-testid="demo-connector">
              <h2 id="demo-connector-title">The demo shop</h2>
              <p>
                This shop’s orders come with Resolve. Refunds, replacements, cancellations and address changes
                run against Resolve’s own copy of them (the built-in demo connector): try them end to end,
                nothing leaves this server. To work with a real shop, create a shop of your own and connect
                its platform there, or connect one below to replace the demo orders’ connector in this shop.
              </p>
            </section>
          )}
          <ConnectForm
            platforms={platforms}
            base={base}
            onConnected={(c, t) => {
              setConn(c);
              setTest(t);
            }}
          />
        </>
      )}
    </div>
  );
}

function ConnectForm({
  platforms,
  base,
  onConnected,
}: {
  platforms: Platform[];
  base: string;
  onConnected(c: Connection, t: TestResult): void;
}) {
  const [platformId, setPlatformId] = useState(platforms[0]?.id ?? '');
  const [values, setValues] = useState<Record<string, string>>({});
  const [days, setDays] = useState('90');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const p = platforms.find((x) => x.id === platformId);
  // The server's field errors, said at their fields ("/settings/shop_domain" → the Shop domain input).
  const fieldInfo = (path: string) => connectionField(p, path);
  const placed: { id: string; name: string; message: string }[] = [];
  const rest: { path: string; message: string }[] = [];
  for (const x of error?.key === 'validation_failed' ? error.errors : []) {
    const f = fieldInfo(x.path);
    if (f?.id) placed.push({ id: f.id, name: f.name, message: connectionMessage(x.message, f) });
    else rest.push(x);
  }
  const atField = Object.fromEntries(placed.map((x) => [x.id, x.message]));
  const invalid = (id: string) =>
    atField[id] ? { 'aria-invalid': true as const, 'aria-describedby': `${id}-error` } : {};
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!p) return;
    setBusy(true);
    setError(null);
    try {
      const pick = (keys: string[]) =>
        Object.fromEntries(keys.filter((k) => values[k]?.trim()).map((k) => [k, values[k].trim()]));
      const r = await api<{ connection: Connection; test: TestResult }>('PUT', base, {
        platform: p.id,
        settings: pick(p.settings_fields.map((f) => f.key)),
        credentials: Object.fromEntries(
          p.credential_fields
            .filter((f) => values[`cred:${f.key}`]?.trim())
            .map((f) => [f.key, values[`cred:${f.key}`].trim()]),
        ),
        backfill_days: Number(days),
      });
      onConnected(r.connection, r.test);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  if (!platforms.length) return <Notice>No shop platform connector is installed.</Notice>;
  return (
    <form className="card" onSubmit={submit} aria-labelledby="connect-title">
      <h2 id="connect-title">Connect your shop</h2>
      <p className="muted">
        Resolve imports your recent orders, keeps them in sync (webhooks where the platform has them, and a
        check every 15 minutes) and carries out refunds, replacements and customer order changes in your shop.
        Credentials are tested first, stored encrypted, and never shown again.
      </p>
      <div className="field">
        <label htmlFor="platform">Platform</label>
        <select
          id="platform"
          value={platformId}
          onChange={(e) => {
            // The other platform's form has other fields: an error about this one's would name a missing field.
            setPlatformId(e.target.value);
            setError(null);
          }}
        >
          {platforms.map((x) => (
            <option key={x.id} value={x.id}>
              {x.name}
            </option>
          ))}
        </select>
        {p && (
          <span className="muted small">
            Can: {p.capabilities.map((c) => c.replace(/_/g, ' ')).join(', ')}
          </span>
        )}
      </div>
      {p?.settings_fields.map((f) => (
        <div className="field" key={f.key}>
          <label htmlFor={`set-${f.key}`}>
            {f.label}
            {f.optional ? ' (optional)' : ''}
          </label>
          <input
            id={`set-${f.key}`}
            placeholder={f.example}
            required={!f.optional}
            value={values[f.key] ?? ''}
            onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
            {...invalid(`set-${f.key}`)}
          />
          <FieldMessage id={`set-${f.key}`} message={atField[`set-${f.key}`]} />
        </div>
      ))}
      {p?.credential_fields.map((f) => (
        <div className="field" key={f.key}>
          <label htmlFor={`cred-${f.key}`}>{f.label}</label>
          <input
            id={`cred-${f.key}`}
            type="password"
            autoComplete="off"
            value={values[`cred:${f.key}`] ?? ''}
            onChange={(e) => setValues({ ...values, [`cred:${f.key}`]: e.target.value })}
            {...invalid(`cred-${f.key}`)}
          />
          <FieldMessage id={`cred-${f.key}`} message={atField[`cred-${f.key}`]} />
        </div>
      ))}
      <div className="field">
        <label htmlFor="backfill-days">Import orders of the last … days</label>
        <input
          id="backfill-days"
          type="number"
          min={0}
          max={3650}
          value={days}
          onChange={(e) => setDays(e.target.value)}
          {...invalid('backfill-days')}
        />
        <FieldMessage id="backfill-days" message={atField['backfill-days']} />
      </div>
      {error?.key === 'validation_failed' ? (
        // Said at the fields; the banner names them (the server's sentence repeats the field's key).
        <ErrorBox
          error={withErrors(
            error,
            `Check ${placed.length + rest.length === 1 ? 'this field' : 'these fields'}${placed.length ? `: ${placed.map((x) => x.name).join(', ')}` : ''}.`,
            rest,
          )}
          fields={fieldInfo}
        />
      ) : (
        <ErrorBox error={error} fields={fieldInfo} />
      )}
      <button className="button primary" type="submit" disabled={busy}>
        {busy ? 'Testing and connecting…' : 'Test and connect'}
      </button>
    </form>
  );
}

function ConnectedView({
  conn,
  platform,
  test,
  onTest,
  onBackfill,
  onStopBackfill,
  onDisconnect,
  onRefresh,
}: {
  conn: Connection;
  platform: Platform | undefined;
  test: TestResult | null;
  onTest(): Promise<void>;
  onBackfill(days: number): Promise<void>;
  onStopBackfill(): Promise<void>;
  onDisconnect(): Promise<void>;
  onRefresh(): Promise<void>;
}) {
  const [days, setDays] = useState('30');
  const b = conn.sync.backfill;
  return (
    <>
      <section className="card" aria-labelledby="conn-title" data-testid="connection">
        <h2 id="conn-title">
          {platform?.name ?? conn.platform}{' '}
          <Badge
            value={conn.status === 'active' ? 'connected' : 'error'}
            kind={conn.status === 'active' ? 'accepted' : 'rejected'}
          />
        </h2>
        <dl className="facts">
          {Object.entries(conn.settings).map(([k, v]) => (
            <div className="fact-pair" key={k}>
              <dt>{platform?.settings_fields.find((f) => f.key === k)?.label ?? k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
          <dt>Credentials</dt>
          <dd>{conn.credentials_set.join(', ')} (stored encrypted)</dd>
          <dt>Webhook URL</dt>
          <dd>
            <code>{conn.webhook_url}</code>
          </dd>
        </dl>
        {conn.last_error && (
          <p className="alert alert-warning" role="status">
            {conn.last_error}
          </p>
        )}
        {test && (
          <p
            className={`alert ${test.ok ? 'alert-success' : 'alert-error'}`}
            role="status"
            data-testid="test-result"
          >
            {test.ok
              ? `Connected to ${test.shop_name ?? 'the shop'}.`
              : `The platform refused: ${test.error?.message}`}
          </p>
        )}
        <div className="row">
          <button type="button" className="button" onClick={onTest}>
            Test connection
          </button>
          <button type="button" className="button ghost" onClick={onRefresh}>
            Refresh status
          </button>
          <ConfirmButton
            title="Disconnect the shop platform?"
            message="Orders already imported stay in Resolve. Sync, refunds and replacements through the platform stop."
            confirmText="Disconnect"
            onConfirm={onDisconnect}
          >
            Disconnect
          </ConfirmButton>
        </div>
      </section>
      <section className="card" aria-labelledby="sync-title">
        <h2 id="sync-title">Sync</h2>
        <dl className="facts" data-testid="sync-status">
          <dt>Import</dt>
          <dd>{b ? importStatus(b) : 'not started'}</dd>
          <dt>Checked for changes until</dt>
          <dd>{dateTime(conn.sync.reconciled_until)}</dd>
          <dt>Last webhook</dt>
          <dd>{dateTime(conn.sync.last_webhook_at)}</dd>
        </dl>
        {conn.sync.last_errors?.length ? (
          <details>
            <summary>Recent import problems ({conn.sync.last_errors.length})</summary>
            <ul>
              {conn.sync.last_errors.map((e) => (
                <li key={e.at + e.message}>
                  {dateTime(e.at)} {e.order ? `order ${e.order}: ` : ''}
                  {e.message}
                </li>
              ))}
            </ul>
          </details>
        ) : null}
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void onBackfill(Number(days));
          }}
        >
          <label htmlFor="reimport-days">Import again, last … days</label>
          <input
            id="reimport-days"
            type="number"
            min={1}
            max={3650}
            value={days}
            onChange={(e) => setDays(e.target.value)}
          />
          <button className="button" type="submit">
            Import
          </button>
          {b?.status === 'running' && (
            <ConfirmButton
              title="Stop the import?"
              message={`Orders imported so far (${b.imported}) stay in Resolve; the rest of the range is not imported. You can start a new import afterwards.`}
              confirmText="Stop import"
              onConfirm={onStopBackfill}
            >
              Stop import
            </ConfirmButton>
          )}
        </form>
      </section>
    </>
  );
}

function importStatus(b: NonNullable<Connection['sync']['backfill']>): string {
  const counts = `${b.imported} order(s) imported${b.failed ? `, ${b.failed} failed` : ''}`;
  if (b.status === 'cancelled')
    return `Import stopped: ${counts} (since ${dateTime(b.since)}), stopped ${dateTime(b.finished_at)}`;
  return `${b.status} — ${counts} (since ${dateTime(b.since)})${b.error ? `: ${b.error}` : ''}`;
}

/** A connection form field by the server's error path, with the input showing it (none: not on this form). */
function connectionField(
  p: Platform | undefined,
  path: string,
): (FieldInfo & { id?: string; key?: string }) | undefined {
  const m = /^\/(settings|credentials)\/([^/]+)$/.exec(path);
  if (m) {
    const list = m[1] === 'settings' ? p?.settings_fields : p?.credential_fields;
    const f = list?.find((x) => x.key === m[2]);
    if (!f) return undefined;
    return {
      id: `${m[1] === 'settings' ? 'set' : 'cred'}-${f.key}`,
      key: f.key,
      name: f.label,
      noun: `the ${f.label.replace(/^./, (c) => c.toLowerCase())}`,
    };
  }
  if (path === '/backfill_days')
    return { id: 'backfill-days', name: 'Import orders of the last … days', unit: 'days', min: 0 };
  if (path === '/platform') return { name: 'Platform' };
  return undefined;
}

/** A connector's message at its field: without the field's key in front ("shop_domain must be …" → "Must be …"). */
function connectionMessage(message: string, f: FieldInfo & { key?: string }): string {
  const text = f.key && message.startsWith(`${f.key} `) ? message.slice(f.key.length + 1) : message;
  return text === 'required' ? `Enter ${f.noun ?? 'a value'}` : plainMessage(text, f);
}

const withErrors = (e: ApiError, message: string, errors: { path: string; message: string }[]) =>
  new ApiError(e.key, message, e.status, errors, e.retryAfter);

function FieldMessage({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <span className="field-error" id={`${id}-error`}>
      {message}
    </span>
  );
}
