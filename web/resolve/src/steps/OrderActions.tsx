import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api';
import type { T } from '../i18n';
import type { MessageKey } from '../i18n/en';
import type { OrderState } from '../types';
import { Alert } from '../ui/common';

const FIELDS: [string, MessageKey, boolean, string][] = [
  ['name', 'address.name', true, 'name'],
  ['company', 'address.company', false, 'organization'],
  ['address_line_1', 'address.line1', true, 'address-line1'],
  ['address_line_2', 'address.line2', false, 'address-line2'],
  ['zip_code', 'address.zip', true, 'postal-code'],
  ['city', 'address.city', true, 'address-level2'],
  ['province', 'address.province', false, 'address-level1'],
  ['country_code', 'address.country', true, 'country'],
  ['phone', 'address.phone', false, 'tel'],
];

/** Cancel / change address: offered only when the server says this (token) session may. */
export function OrderActions({
  t,
  state,
  onAction,
}: {
  t: T;
  state: OrderState;
  onAction(kind: 'cancel' | 'address', body?: Record<string, string | null>): Promise<void>;
}) {
  const [mode, setMode] = useState<'idle' | 'confirm-cancel' | 'address'>('idle');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const keepRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (mode === 'confirm-cancel') keepRef.current?.focus();
  }, [mode]);
  const a = state.order.shipping_address;
  const [address, setAddress] = useState<Record<string, string>>(() =>
    Object.fromEntries(FIELDS.map(([k]) => [k, String((a as Record<string, unknown> | null)?.[k] ?? '')])),
  );

  const run = async (kind: 'cancel' | 'address', body?: Record<string, string | null>) => {
    setBusy(true);
    setResult(null);
    setFieldErrors({});
    try {
      await onAction(kind, body);
      setMode('idle');
    } catch (err) {
      const e = err instanceof ApiError ? err : null;
      if (e?.errors.length)
        setFieldErrors(
          Object.fromEntries(e.errors.map((x) => [x.path.replace(/^\/(body\/)?/, ''), x.message])),
        );
      setResult({ ok: false, text: t('actions.failed', { message: e?.message ?? t('error.generic') }) });
    } finally {
      setBusy(false);
    }
  };

  const submitAddress = (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, string | null> = {};
    for (const [k, , required] of FIELDS) body[k] = address[k].trim() || (required ? '' : null);
    void run('address', body);
  };

  return (
    <section className="card" aria-labelledby="actions-title" data-testid="order-actions">
      <h2 id="actions-title" className="heading">
        {t('actions.title')}
      </h2>
      {result && <Alert kind={result.ok ? 'success' : 'error'}>{result.text}</Alert>}
      {mode === 'idle' && (
        <div className="row">
          {state.actions.change_address && (
            <button type="button" className="button" onClick={() => setMode('address')}>
              {t('actions.change_address')}
            </button>
          )}
          {state.actions.cancel && (
            <button type="button" className="button danger" onClick={() => setMode('confirm-cancel')}>
              {t('actions.cancel')}
            </button>
          )}
        </div>
      )}
      {mode === 'confirm-cancel' && (
        <div role="alertdialog" aria-labelledby="cancel-q" className="confirm">
          <p id="cancel-q">
            {t('actions.cancel_confirm', { number: state.order.order_name ?? state.order.order_number })}
          </p>
          <div className="row">
            <button type="button" className="button danger" disabled={busy} onClick={() => run('cancel')}>
              {t('actions.cancel_yes')}
            </button>
            <button type="button" className="button" ref={keepRef} onClick={() => setMode('idle')}>
              {t('actions.cancel_no')}
            </button>
          </div>
        </div>
      )}
      {mode === 'address' && (
        <form onSubmit={submitAddress} noValidate>
          {FIELDS.map(([k, label, required, autoComplete]) => (
            <div className="field" key={k}>
              <label htmlFor={`addr-${k}`}>{t(label)}</label>
              <input
                id={`addr-${k}`}
                value={address[k]}
                required={required}
                autoComplete={`shipping ${autoComplete}`}
                aria-invalid={fieldErrors[k] ? true : undefined}
                onChange={(e) => setAddress({ ...address, [k]: e.target.value })}
              />
              {fieldErrors[k] && <p className="field-error">{fieldErrors[k]}</p>}
            </div>
          ))}
          <div className="row">
            <button type="submit" className="button primary" disabled={busy}>
              {t('actions.address_save')}
            </button>
            <button type="button" className="button" onClick={() => setMode('idle')}>
              {t('wizard.back')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
