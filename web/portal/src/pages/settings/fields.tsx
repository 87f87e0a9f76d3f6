import { createContext, type ReactNode, useContext } from 'react';
import { type FieldErrors, getIn, type Path, pointer, type ResolveSettings } from './model';

/** The settings draft being edited, shared by every field of the Resolve, Branding and Languages tabs. */
export interface Doc {
  draft: ResolveSettings;
  /** What the server has: what is already saved (a saved reason's code is kept). */
  saved?: ResolveSettings | null;
  set(path: Path, value: unknown): void;
  errors: FieldErrors;
  readOnly: boolean;
}
export const DocContext = createContext<Doc | null>(null);
export function useDoc(): Doc {
  const d = useContext(DocContext);
  if (!d) throw new Error('useDoc outside DocContext');
  return d;
}

export const fieldId = (path: Path) => `f${path.map((p) => `-${p}`).join('')}`;

/** The server's message for this exact field, and the attributes that tie it to its input. */
export function useFieldError(path: Path) {
  const { errors } = useDoc();
  const message = errors[pointer(path)];
  const id = `${fieldId(path)}-error`;
  return {
    message,
    errorId: id,
    aria: message ? { 'aria-invalid': true as const, 'aria-describedby': id } : {},
  };
}

export function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <span className="field-error" id={id} role="alert">
      {message}
    </span>
  );
}

export function NumberField({
  path,
  label,
  min,
  max,
  step,
  suffix,
  hint,
  scale = 1,
  optional,
}: {
  path: Path;
  label: string;
  min?: number;
  max?: number;
  step?: number;
  suffix?: string;
  hint?: string;
  /** Shown value = stored value / scale (e.g. bytes shown as MB). */
  scale?: number;
  /** An empty input removes the key instead of storing null. */
  optional?: boolean;
}) {
  const { draft, set } = useDoc();
  const { message, errorId, aria } = useFieldError(path);
  const value = getIn(draft, path) as number | null | undefined;
  const id = fieldId(path);
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className="sfield">
      <label htmlFor={id}>{label}</label>
      <span className="with-suffix">
        <input
          id={id}
          type="number"
          inputMode="numeric"
          min={min}
          max={max}
          step={step ?? 1}
          value={value == null || Number.isNaN(value) ? '' : Math.round((value / scale) * 100) / 100}
          onChange={(e) =>
            set(
              path,
              e.target.value === ''
                ? optional
                  ? undefined
                  : null
                : Math.round(Number(e.target.value) * scale),
            )
          }
          {...aria}
          aria-describedby={[hintId, message ? errorId : undefined].filter(Boolean).join(' ') || undefined}
        />
        {suffix && <span className="muted small">{suffix}</span>}
      </span>
      {hint && (
        <span className="hint" id={hintId}>
          {hint}
        </span>
      )}
      <FieldError id={errorId} message={message} />
    </div>
  );
}

export function SelectField<T extends string>({
  path,
  label,
  options,
}: {
  path: Path;
  label: string;
  options: readonly (readonly [T, string])[];
}) {
  const { draft, set } = useDoc();
  const { message, errorId, aria } = useFieldError(path);
  const id = fieldId(path);
  return (
    <div className="sfield">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={String(getIn(draft, path) ?? '')}
        onChange={(e) => set(path, e.target.value)}
        {...aria}
      >
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
      <FieldError id={errorId} message={message} />
    </div>
  );
}

export function TextField({
  path,
  label,
  hint,
  placeholder,
  maxLength,
  type = 'text',
  multiline,
  nullable,
  className,
  list,
}: {
  path: Path;
  label: string;
  list?: string;
  hint?: ReactNode;
  placeholder?: string;
  maxLength?: number;
  type?: 'text' | 'url' | 'email';
  multiline?: boolean;
  /** An empty input stores null (else: removes the key, or keeps '' for required texts). */
  nullable?: boolean;
  className?: string;
}) {
  const { draft, set } = useDoc();
  const { message, errorId, aria } = useFieldError(path);
  const id = fieldId(path);
  const hintId = hint ? `${id}-hint` : undefined;
  const value = (getIn(draft, path) as string | null | undefined) ?? '';
  const onChange = (v: string) => set(path, v === '' ? (nullable ? null : undefined) : v);
  const describedBy = [hintId, message ? errorId : undefined].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`sfield ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea
          id={id}
          rows={2}
          value={value}
          placeholder={placeholder}
          maxLength={maxLength}
          onChange={(e) => onChange(e.target.value)}
          {...aria}
          aria-describedby={describedBy}
        />
      ) : (
        <input
          id={id}
          type={type}
          list={list}
          value={value}
          placeholder={placeholder}
          maxLength={maxLength}
          onChange={(e) => onChange(e.target.value)}
          {...aria}
          aria-describedby={describedBy}
        />
      )}
      {hint && (
        <span className="hint" id={hintId}>
          {hint}
        </span>
      )}
      <FieldError id={errorId} message={message} />
    </div>
  );
}

export function CheckField({ path, label, hint }: { path: Path; label: string; hint?: string }) {
  const { draft, set } = useDoc();
  const { message, errorId, aria } = useFieldError(path);
  const id = fieldId(path);
  return (
    <div className="sfield">
      <label className="check" htmlFor={id}>
        <input
          id={id}
          type="checkbox"
          checked={!!getIn(draft, path)}
          onChange={(e) => set(path, e.target.checked)}
          {...aria}
        />
        {label}
      </label>
      {hint && <span className="hint">{hint}</span>}
      <FieldError id={errorId} message={message} />
    </div>
  );
}

/** Radio buttons in a fieldset, for small sets of choices that deserve a sentence each. */
export function RadioField<T extends string>({
  path,
  legend,
  options,
}: {
  path: Path;
  legend: string;
  options: readonly (readonly [T, string, string?])[];
}) {
  const { draft, set } = useDoc();
  const { message, errorId } = useFieldError(path);
  const value = getIn(draft, path);
  return (
    <fieldset className="sfield radios">
      <legend>{legend}</legend>
      {options.map(([v, text, hint]) => (
        <label key={v} className="check">
          <input
            type="radio"
            name={fieldId(path)}
            value={v}
            checked={value === v}
            onChange={() => set(path, v)}
          />
          <span>
            {text}
            {hint && <span className="hint block">{hint}</span>}
          </span>
        </label>
      ))}
      <FieldError id={errorId} message={message} />
    </fieldset>
  );
}

/** Disables every control inside for people who may only look (the server refuses their changes anyway). */
export function Editable({ children, legend }: { children: ReactNode; legend?: string }) {
  const { readOnly } = useDoc();
  return (
    <fieldset className="plain" disabled={readOnly}>
      {legend && <legend className="sr-only">{legend}</legend>}
      {children}
    </fieldset>
  );
}
