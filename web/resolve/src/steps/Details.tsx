import { formatCountry, type Lang, type T } from '../i18n';
import { Alert, FieldError } from '../ui/common';
import { asksDropoff } from '../validate';
import type { StepProps } from './Choices';

type Prompt = StepProps['flow']['steps']['prompts'][number];

/** Description with live limits, the merchant's own questions, and not_received's checks. */
export function Details({
  t,
  flow,
  order,
  draft,
  update,
  errors,
}: Omit<StepProps, 'error'> & { errors: Record<string, string> }) {
  const d = flow.steps.description;
  const len = draft.description.length;
  const a = order.shipping_address;
  return (
    <div>
      {flow.flow === 'not_received' && (
        <>
          {asksDropoff(flow, draft) && (
            <Alert kind="info">
              <strong className="block">{t('details.not_received_title')}</strong>
              {t('details.not_received_tips')}
            </Alert>
          )}
          {a && (
            <div className="address" data-testid="address-check">
              <p className="label">{t('details.address_check')}</p>
              <address>
                {[
                  a.name,
                  a.company,
                  a.address_line_1,
                  a.address_line_2,
                  `${a.zip_code ?? ''} ${a.city ?? ''}`,
                  a.country_code && formatCountry(t('lang.code') as Lang, a.country_code),
                ]
                  .filter((x) => x && String(x).trim())
                  .map((x) => (
                    <span key={String(x)} className="block">
                      {x}
                    </span>
                  ))}
              </address>
            </div>
          )}
        </>
      )}
      {asksDropoff(flow, draft) && (
        <fieldset className="fieldset" aria-describedby="dropoff-error">
          <legend className="label">{t('details.dropoff')}</legend>
          <YesNo
            t={t}
            name="dropoff"
            value={draft.dropoff}
            errorId={errors.dropoff ? 'dropoff-error' : undefined}
            onChange={(v) => update({ dropoff: v })}
          />
          <FieldError id="dropoff-error" text={errors.dropoff} />
        </fieldset>
      )}
      <div className="field">
        <label htmlFor="description">
          {t(d.required ? 'details.description' : 'details.description_optional')}
        </label>
        <textarea
          id="description"
          rows={5}
          maxLength={d.max_length}
          value={draft.description}
          aria-invalid={errors.description ? true : undefined}
          aria-describedby="description-counter description-error"
          onChange={(e) => update({ description: e.target.value })}
        />
        <p id="description-counter" className={`hint counter${len > d.max_length ? ' over' : ''}`}>
          {t('details.counter', { count: len, max: d.max_length })}
          {d.min_length > 0 && len < d.min_length
            ? ` · ${t('details.too_short', { min: d.min_length })}`
            : ''}
        </p>
        <FieldError id="description-error" text={errors.description} />
      </div>
      {flow.steps.prompts.map((p) => (
        <PromptField
          key={p.id}
          t={t}
          prompt={p}
          value={draft.answers[p.id]}
          error={errors[`prompt:${p.id}`]}
          onChange={(v) => update({ answers: { ...draft.answers, [p.id]: v } })}
        />
      ))}
    </div>
  );
}

function PromptField({
  t,
  prompt: p,
  value,
  error,
  onChange,
}: {
  t: T;
  prompt: Prompt;
  value: string | boolean | undefined;
  error?: string;
  onChange(v: string | boolean): void;
}) {
  const id = `prompt-${p.id}`;
  const label = `${p.label}${p.required ? '' : ` (${t('evidence.optional')})`}`;
  if (p.type === 'yes_no')
    return (
      <fieldset className="fieldset" aria-describedby={`${id}-error`}>
        <legend className="label">{label}</legend>
        <YesNo
          t={t}
          name={id}
          value={typeof value === 'boolean' ? value : null}
          errorId={error ? `${id}-error` : undefined}
          onChange={onChange}
        />
        <FieldError id={`${id}-error`} text={error} />
      </fieldset>
    );
  if (p.type === 'choice')
    return (
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <select
          id={id}
          value={typeof value === 'string' ? value : ''}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-error`}
          onChange={(e) => onChange(e.target.value)}
        >
          <option value="">{t('details.choose')}</option>
          {p.options?.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
        <FieldError id={`${id}-error`} text={error} />
      </div>
    );
  const text = typeof value === 'string' ? value : '';
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={text}
        maxLength={p.max_length}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-counter ${id}-error`}
        onChange={(e) => onChange(e.target.value)}
      />
      {p.max_length && (
        <p id={`${id}-counter`} className="hint counter">
          {t('details.counter', { count: text.length, max: p.max_length })}
        </p>
      )}
      <FieldError id={`${id}-error`} text={error} />
    </div>
  );
}

function YesNo({
  t,
  name,
  value,
  errorId,
  onChange,
}: {
  t: T;
  name: string;
  value: boolean | null;
  /** The group's message, when there is one: each radio is marked invalid and points at it. */
  errorId?: string;
  onChange(v: boolean): void;
}) {
  return (
    <div className="options inline">
      {[true, false].map((v) => (
        <label key={String(v)} className={`option${value === v ? ' selected' : ''}`}>
          <input
            type="radio"
            name={name}
            checked={value === v}
            aria-invalid={errorId ? true : undefined}
            aria-describedby={errorId}
            onChange={() => onChange(v)}
          />
          <span>{t(v ? 'details.yes' : 'details.no')}</span>
        </label>
      ))}
    </div>
  );
}
