import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api';
import { formatCountry, type Lang, type T } from '../i18n';
import type { MessageKey } from '../i18n/en';
import type { OrderState } from '../types';
import { Alert, FieldError, focusSoon } from '../ui/common';

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

/** The server's refusals of an order action, in the customer's words (its own messages are English). */
const ACTION_ERRORS: Record<string, MessageKey> = {
  action_not_allowed: 'actions.not_allowed',
  action_unavailable: 'actions.unavailable',
  offline: 'page.offline',
};

/**
 * What is wrong with the address, per field, as message keys: the empty required fields, a country that is
 * not two letters or differs from the order's (the server refuses a new country), and whatever else the
 * server named (`paths`, e.g. a postcode that does not fit the country).
 */
export function addressProblems(
  address: Record<string, string>,
  original: Record<string, string>,
  paths: string[],
): Record<string, MessageKey> {
  const out: Record<string, MessageKey> = {};
  for (const [k, , required] of FIELDS) {
    const v = address[k].trim();
    if (required && !v) out[k] = 'lookup.required';
    else if (k === 'country_code' && !/^[A-Za-z]{2}$/.test(v)) out[k] = 'address.country_invalid';
    else if (k === 'country_code' && original[k] && v.toUpperCase() !== original[k].toUpperCase())
      out[k] = 'address.country_fixed';
    else if (paths.includes(k)) out[k] = k === 'zip_code' ? 'address.zip_invalid' : 'address.invalid';
  }
  return out;
}

/**
 * Cancel / change address: offered only when the server says this (token) session may. The address to change is
 * shown first; its country is not a field (the server refuses another one): it is named, in the page's language.
 */
export function OrderActions({
  t,
  lang,
  state,
  onAction,
}: {
  t: T;
  lang: Lang;
  state: OrderState;
  onAction(kind: 'cancel' | 'address', body?: Record<string, string | null>): Promise<void>;
}) {
  const [mode, setMode] = useState<'idle' | 'confirm-cancel' | 'address'>('idle');
  const [busy, setBusy] = useState(false);
  // Message keys, not texts: they follow a language switch. (Success is told by the order view.)
  const [failure, setFailure] = useState<MessageKey | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, MessageKey>>({});
  const keepRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (mode === 'confirm-cancel') keepRef.current?.focus();
  }, [mode]);
  /** Back to the order's actions: the focus returns to the button that opened the form or the question. */
  const close = (opener: 'action-address' | 'action-cancel') => {
    setMode('idle');
    focusSoon(opener);
  };
  const a = state.order.shipping_address;
  const [original] = useState<Record<string, string>>(() =>
    Object.fromEntries(FIELDS.map(([k]) => [k, String((a as Record<string, unknown> | null)?.[k] ?? '')])),
  );
  const [address, setAddress] = useState(original);
  // The order's country stays as it is (sent unchanged); only an order without one lets the customer type it.
  const country = original.country_code.trim().toUpperCase();

  const fieldsWithErrors = (errs: Record<string, MessageKey>) => {
    setFieldErrors(errs);
    setFailure('actions.check_fields');
    const first = FIELDS.find(([k]) => errs[k]);
    if (first) requestAnimationFrame(() => document.getElementById(`addr-${first[0]}`)?.focus());
  };

  const run = async (kind: 'cancel' | 'address', body?: Record<string, string | null>) => {
    setBusy(true);
    setFailure(null);
    setFieldErrors({});
    try {
      await onAction(kind, body);
      setMode('idle');
      // Done: the focus goes to the message above the order that says so.
      focusSoon('action-result');
    } catch (err) {
      const e = err instanceof ApiError ? err : null;
      // The session ended: the page asks to confirm the order again and keeps the form as it is (no error here).
      if (e?.sessionEnded) return;
      const paths = (e?.errors ?? []).map((x) => x.path.replace(/^\/(body\/)?/, ''));
      const problems =
        kind === 'address' && e?.key === 'validation_failed' ? addressProblems(address, original, paths) : {};
      if (Object.keys(problems).length) fieldsWithErrors(problems);
      else setFailure(ACTION_ERRORS[e?.key ?? ''] ?? 'error.generic');
    } finally {
      setBusy(false);
    }
  };

  const submitAddress = (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    // Checked here first, in the customer's language; the server checks again (and the postcode's shape).
    const problems = addressProblems(address, original, []);
    if (Object.keys(problems).length) return fieldsWithErrors(problems);
    const body: Record<string, string | null> = {};
    for (const [k, , required] of FIELDS) body[k] = address[k].trim() || (required ? '' : null);
    if (country) body.country_code = country;
    void run('address', body);
  };

  return (
    <section className="card" aria-labelledby="actions-title" data-testid="order-actions">
      <h2 id="actions-title" className="heading">
        {t('actions.title')}
      </h2>
      {failure && <Alert testId="action-error">{t(failure)}</Alert>}
      {mode === 'idle' && state.actions.change_address && a && (
        <div className="address" data-testid="current-address">
          <p className="label">{t('order.ship_to')}</p>
          <address>
            {[
              a.name,
              a.company,
              a.address_line_1,
              a.address_line_2,
              [a.zip_code, a.city].filter(Boolean).join(' '),
              a.province,
              a.country_code && formatCountry(lang, a.country_code),
            ]
              .filter((x): x is string => !!x?.trim())
              .map((x, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the lines of one address, in a fixed order
                <span key={i} className="block">
                  {x}
                </span>
              ))}
          </address>
        </div>
      )}
      {mode === 'idle' && (
        <div className="row">
          {state.actions.change_address && (
            <button
              type="button"
              className="button"
              id="action-address"
              onClick={() => {
                setMode('address');
                focusSoon(() =>
                  document.querySelector<HTMLInputElement>('[data-testid="order-actions"] form input'),
                );
              }}
            >
              {t('actions.change_address')}
            </button>
          )}
          {state.actions.cancel && (
            <button
              type="button"
              className="button danger"
              id="action-cancel"
              onClick={() => setMode('confirm-cancel')}
            >
              {t('actions.cancel')}
            </button>
          )}
        </div>
      )}
      {mode === 'confirm-cancel' && (
        <div
          role="alertdialog"
          aria-labelledby="cancel-q"
          className="confirm"
          onKeyDown={(e) => {
            if (e.key === 'Escape' && !busy) close('action-cancel');
          }}
        >
          <p id="cancel-q">
            {t('actions.cancel_confirm', { number: state.order.order_name ?? state.order.order_number })}
          </p>
          <div className="row">
            <button
              type="button"
              className="button danger"
              aria-disabled={busy || undefined}
              onClick={() => !busy && run('cancel')}
            >
              {t('actions.cancel_yes')}
            </button>
            <button type="button" className="button" ref={keepRef} onClick={() => close('action-cancel')}>
              {t('actions.cancel_no')}
            </button>
          </div>
        </div>
      )}
      {mode === 'address' && (
        <form onSubmit={submitAddress} noValidate>
          {FIELDS.map(([k, label, required, autoComplete]) =>
            k === 'country_code' && country ? (
              // Text, not a field: read in order as "Country", its name, and why it cannot be changed here.
              <div className="field" key={k} data-testid="address-country">
                <p className="label">{t('address.country_name')}</p>
                <p className="value">{formatCountry(lang, country)}</p>
                <p className="hint">{t('address.country_fixed')}</p>
              </div>
            ) : (
              <div className="field" key={k}>
                <label htmlFor={`addr-${k}`}>{t(label)}</label>
                <input
                  id={`addr-${k}`}
                  value={address[k]}
                  required={required}
                  autoComplete={`shipping ${autoComplete}`}
                  aria-invalid={fieldErrors[k] ? true : undefined}
                  aria-describedby={fieldErrors[k] ? `addr-${k}-error` : undefined}
                  onChange={(e) => setAddress({ ...address, [k]: e.target.value })}
                />
                <FieldError id={`addr-${k}-error`} text={fieldErrors[k] && t(fieldErrors[k])} />
              </div>
            ),
          )}
          <div className="row">
            <button type="submit" className="button primary" aria-disabled={busy || undefined}>
              {t('actions.address_save')}
            </button>
            <button
              type="button"
              className="button"
              onClick={() => {
                close('action-address');
                setFailure(null);
                setFieldErrors({});
              }}
            >
              {t('wizard.back')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
