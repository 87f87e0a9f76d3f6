import { type FormEvent, useEffect, useState } from 'react';
import { ApiError } from '../api';
import { formatWait, type T } from '../i18n';
import { Alert, FieldError, focusSoon, Heading } from '../ui/common';

export interface LookupProps {
  t: T;
  initialNumber: string;
  initialZip: string;
  notice?: string | null;
  title?: string;
  /** 1 when the form is the screen's own title (the session ended): the page's intro and its h1 are not shown. */
  level?: 1 | 2;
  intro?: string;
  onLookup(orderNumber: string, zip: string): Promise<void>;
}

/** Order number + ZIP. Wrong number and wrong ZIP get the same answer from the server, and here. */
export function Lookup({ t, initialNumber, initialZip, notice, title, level, intro, onLookup }: LookupProps) {
  const [number, setNumber] = useState(initialNumber);
  const [zip, setZip] = useState(initialZip);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [missing, setMissing] = useState<{ number?: boolean; zip?: boolean }>({});
  const [wait, setWait] = useState(0);
  /** The wait the server asked for: said once (a countdown read every second would drown everything else). */
  const [waitFrom, setWaitFrom] = useState(0);

  useEffect(() => {
    if (wait <= 0) return;
    const timer = setTimeout(() => setWait((w) => w - 1), 1000);
    return () => clearTimeout(timer);
  }, [wait]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const m = { number: !number.trim(), zip: !zip.trim() };
    setMissing(m);
    if (m.number || m.zip) return focusSoon(m.number ? 'order-number' : 'zip-code');
    if (busy || wait > 0) return;
    setBusy(true);
    setError(null);
    try {
      await onLookup(number.trim(), zip.trim());
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : new ApiError('unknown', String(err), 0);
      setError(apiErr);
      if (apiErr.key === 'rate_limited') {
        setWait(apiErr.retryAfter ?? 60);
        setWaitFrom(apiErr.retryAfter ?? 60);
        // The button is off during the wait: the focus goes to the message that says for how long.
        focusSoon('lookup-error');
      }
    } finally {
      setBusy(false);
    }
  };

  const message = (() => {
    if (!error) return null;
    if (error.key === 'order_not_found') return t('lookup.not_found');
    if (error.key === 'rate_limited')
      return t('lookup.throttled', { time: formatWait(t, Math.max(waitFrom, 1)) });
    if (error.key === 'offline') return t('page.offline');
    // Longer than any order number or ZIP code: as good as not found.
    if (error.key === 'validation_failed') return t('lookup.not_found');
    if (error.key === 'service_unavailable' || error.key === 'not_ready') return t('error.unavailable');
    if (error.key === 'shop_not_found') return t('page.shop_not_found');
    return t('error.generic');
  })();

  return (
    <section className="card" aria-labelledby="lookup-title">
      <Heading level={level}>
        <span id="lookup-title">{title ?? t('lookup.title')}</span>
      </Heading>
      <p className="muted">{intro ?? t('lookup.intro')}</p>
      {notice && <Alert kind="warning">{notice}</Alert>}
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="order-number">{t('lookup.order_number')}</label>
          <input
            id="order-number"
            name="orderNumber"
            value={number}
            autoComplete="off"
            inputMode="text"
            aria-invalid={missing.number || undefined}
            aria-describedby="order-number-hint order-number-error"
            onChange={(e) => {
              setNumber(e.target.value);
              // The lock-out is per order number: another number may be tried at once (the server still
              // refuses it while the client itself is locked out).
              if (error?.key === 'rate_limited') {
                setError(null);
                setWait(0);
              }
            }}
          />
          <p id="order-number-hint" className="hint">
            {t('lookup.order_number_hint')}
          </p>
          <FieldError id="order-number-error" text={missing.number ? t('lookup.required') : null} />
        </div>
        <div className="field">
          <label htmlFor="zip-code">{t('lookup.zip_code')}</label>
          <input
            id="zip-code"
            name="zipCode"
            value={zip}
            autoComplete="postal-code"
            aria-invalid={missing.zip || undefined}
            aria-describedby="zip-code-error"
            onChange={(e) => setZip(e.target.value)}
          />
          <FieldError id="zip-code-error" text={missing.zip ? t('lookup.required') : null} />
        </div>
        {message &&
          (error?.key !== 'rate_limited' ? (
            <Alert testId={`lookup-error-${error?.key}`} id="lookup-error">
              {message}
            </Alert>
          ) : wait > 0 ? (
            <Alert testId="lookup-error-rate_limited" id="lookup-error">
              {/* The countdown is seen; the wait as first told is what screen readers hear, once. */}
              <span aria-hidden="true">{t('lookup.throttled', { time: formatWait(t, wait) })}</span>
              <span className="sr-only">{message}</span>
            </Alert>
          ) : (
            <Alert kind="info" testId="lookup-ready">
              {t('lookup.try_again_now')}
            </Alert>
          ))}
        <button
          className="button primary block"
          type="submit"
          // While searching the button stays focusable (aria-disabled; a press does nothing): a failed search
          // would otherwise leave the focus on the page's body. During a lock-out it is off (the focus is on the
          // message then).
          disabled={wait > 0}
          aria-disabled={busy || undefined}
        >
          {busy ? t('lookup.searching') : t('lookup.submit')}
        </button>
      </form>
    </section>
  );
}
