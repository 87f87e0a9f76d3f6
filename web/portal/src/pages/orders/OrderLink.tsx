import { type FormEvent, useId, useRef, useState } from 'react';
import { type ApiError, api, type Order } from '../../api';
import { ErrorBox, Notice } from '../../ui/common';
import { dateTime, languageName } from '../../ui/format';
import { ConfirmButton } from '../settings/ui';

const LANGUAGES = ['en', 'de', 'fr', 'es', 'it', 'nl', 'da'];

interface Link {
  url: string;
  token: string;
  token_id: string;
  expires_at: string;
}

/**
 * The order's customer link (POST …/orders/{id}/resolve-link), for an email or a helpdesk reply, and revoking every
 * link made for it (POST …/orders/{id}/tokens/revoke). Editors and admins only, as the server allows.
 */
export function OrderLink({ slug, order }: { slug: string; order: Order }) {
  const url = `/v1/shops/${slug}/orders/${encodeURIComponent(order.id)}`;
  // Empty: the shop's own link lifetime (Settings), as the API does without `expires_in_days`.
  const [days, setDays] = useState('');
  const [lang, setLang] = useState('');
  const [link, setLink] = useState<Link | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState<boolean | null>(null);
  const [revoked, setRevoked] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  const id = useId();
  const n = Number(days);
  const daysOk = days.trim() === '' || (Number.isInteger(n) && n >= 1 && n <= 365);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (!daysOk || busy) return;
    setBusy(true);
    setError(null);
    setCopied(null);
    setRevoked(false);
    try {
      setLink(
        await api<Link>('POST', `${url}/resolve-link`, {
          ...(days.trim() ? { expires_in_days: n } : {}),
          ...(lang ? { lang } : {}),
        }),
      );
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const copy = async () => {
    if (!link) return;
    try {
      await navigator.clipboard.writeText(link.url);
      setCopied(true);
    } catch {
      // No clipboard access (permission, insecure origin): the text is selected for Ctrl+C / ⌘C.
      field.current?.focus();
      field.current?.select();
      setCopied(false);
    }
  };

  return (
    <section className="card" aria-labelledby={`${id}-t`} data-testid="order-link">
      <h2 id={`${id}-t`}>Customer link</h2>
      <p className="muted small">
        Opens the customer page for this order without the ZIP code; with it the customer can also cancel the
        order or change the address while nothing has shipped.
      </p>
      <form className="field" onSubmit={create} noValidate>
        <div className="row">
          <label htmlFor={`${id}-days`}>Valid for (days)</label>
          <input
            id={`${id}-days`}
            className="qty"
            type="number"
            inputMode="numeric"
            min={1}
            max={365}
            step={1}
            placeholder="shop default"
            value={days}
            onChange={(e) => setDays(e.target.value)}
            aria-invalid={daysOk ? undefined : true}
            aria-describedby={daysOk ? undefined : `${id}-days-error`}
          />
        </div>
        {!daysOk && (
          <p id={`${id}-days-error`} className="field-error">
            Enter a whole number of days from 1 to 365, or leave it empty for the shop’s default
          </p>
        )}
        <div className="row">
          <label htmlFor={`${id}-lang`}>Page language</label>
          <select id={`${id}-lang`} value={lang} onChange={(e) => setLang(e.target.value)}>
            <option value="">The customer’s</option>
            {LANGUAGES.map((l) => (
              <option key={l} value={l}>
                {languageName(l)}
              </option>
            ))}
          </select>
        </div>
        <div className="row">
          <button className="button primary" type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create customer link'}
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
      {link && (
        <div className="field" data-testid="order-link-value">
          <label htmlFor={`${id}-url`}>Link for the customer</label>
          <div className="row nowrap-row">
            <input
              id={`${id}-url`}
              ref={field}
              className="secret-value"
              readOnly
              value={link.url}
              spellCheck={false}
              onFocus={(e) => e.currentTarget.select()}
            />
            <button type="button" className="button" onClick={copy}>
              Copy
            </button>
          </div>
          <p className="small">
            Valid until {dateTime(link.expires_at)}.{' '}
            <span role="status">
              {copied === true
                ? 'Copied to the clipboard.'
                : copied === false
                  ? 'The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.'
                  : ''}
            </span>
          </p>
        </div>
      )}
      {revoked && <Notice kind="success">Every link made for this order so far no longer works.</Notice>}
      <ConfirmButton
        className="button small danger"
        title="Revoke all links of this order?"
        confirmText="Revoke all links"
        message={
          <p>
            Every customer link made for this order so far stops working, also in emails already sent, and
            customers signed in with one are signed out. The customer can still look the order up with its ZIP
            code, and you can create a new link.
          </p>
        }
        onConfirm={async () => {
          await api('POST', `${url}/tokens/revoke`, {});
          setLink(null);
          setCopied(null);
          setRevoked(true);
        }}
      >
        Revoke all links…
      </ConfirmButton>
    </section>
  );
}
