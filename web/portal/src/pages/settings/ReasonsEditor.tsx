import { useState } from 'react';
import { FieldError, fieldId, useDoc, useFieldError } from './fields';
import { LabelsField } from './LabelsField';
import { type Flow, getIn, pointer, type Reason, type ResolveSettings } from './model';

const MAX_REASONS = 30;

/** A flow's sub-reasons: stable code (what the API and exports carry) and a label per language. */
export function ReasonsEditor({ flow }: { flow: Flow }) {
  const { draft, saved, set, errors, readOnly } = useDoc();
  const path = ['flows', flow, 'reasons'];
  const reasons = getIn(draft, path) as Reason[];
  const keptHint = `${fieldId(path)}-kept`;
  const anyKept = reasons.some((r) => savedCodes(saved, flow).has(r.code));
  const listError = errors[pointer(path)];
  const move = (i: number, by: number) => {
    const next = [...reasons];
    const [r] = next.splice(i, 1);
    next.splice(i + by, 0, r);
    set(path, next);
  };
  return (
    <fieldset className="sub">
      <legend>Reasons</legend>
      {listError && (
        <p className="field-error" role="alert">
          {listError}
        </p>
      )}
      <table className="grid-table reasons">
        <thead>
          <tr>
            <th scope="col">Code</th>
            <th scope="col">Label</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {reasons.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: codes are being edited; the position is the identity
            <tr key={i}>
              <td>
                <ReasonCode path={[...path, i, 'code']} index={i} flow={flow} hintId={keptHint} />
              </td>
              <td>
                <LabelsField
                  path={[...path, i, 'labels']}
                  label={`Label of ${r.code || `reason ${i + 1}`}`}
                  inlineLabel
                />
              </td>
              <td className="actions">
                <button
                  type="button"
                  className="button small ghost"
                  disabled={i === 0}
                  aria-label={`Move ${r.code || `reason ${i + 1}`} up`}
                  onClick={() => move(i, -1)}
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="button small ghost"
                  disabled={i === reasons.length - 1}
                  aria-label={`Move ${r.code || `reason ${i + 1}`} down`}
                  onClick={() => move(i, 1)}
                >
                  ↓
                </button>
                <button
                  type="button"
                  className="button small danger"
                  disabled={reasons.length <= 1}
                  title={reasons.length <= 1 ? 'A flow needs at least one reason' : undefined}
                  aria-label={`Remove reason ${r.code || i + 1}`}
                  onClick={() =>
                    set(
                      path,
                      reasons.filter((_, j) => j !== i),
                    )
                  }
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {anyKept && (
        <p className="hint small" id={keptHint}>
          The code is kept: claims refer to it. Change the label instead.
        </p>
      )}
      {!readOnly && (
        <button
          type="button"
          className="button small"
          disabled={reasons.length >= MAX_REASONS}
          onClick={() => {
            set(path, [...reasons, { code: '', labels: { en: '' } }]);
            // Focus the new code field once it exists.
            setTimeout(() => document.getElementById(fieldId([...path, reasons.length, 'code']))?.focus());
          }}
        >
          Add reason
        </button>
      )}
    </fieldset>
  );
}

const savedCodes = (saved: ResolveSettings | null | undefined, flow: Flow) =>
  new Set((saved?.flows[flow]?.reasons ?? []).map((r) => r.code));

/** Claims store a reason's code, so a saved reason's code is shown, not edited; a new reason's code is typed. */
function ReasonCode({
  path,
  index,
  flow,
  hintId,
}: {
  path: (string | number)[];
  index: number;
  flow: Flow;
  hintId: string;
}) {
  const { draft, saved, set } = useDoc();
  const { message, errorId, aria } = useFieldError(path);
  // A code being typed stays editable until the field is left, even if it passes through a saved code.
  const [typing, setTyping] = useState(false);
  const id = fieldId(path);
  const value = (getIn(draft, path) as string) ?? '';
  const kept = !typing && !!value && savedCodes(saved, flow).has(value);
  const describedBy = [kept ? hintId : null, message ? errorId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className="sfield">
      <label htmlFor={id} className="sr-only">
        Code of reason {index + 1}
      </label>
      <input
        id={id}
        className={`code-input${kept ? ' code-kept' : ''}`}
        value={value}
        maxLength={64}
        spellCheck={false}
        readOnly={kept}
        placeholder="e.g. too_small"
        onFocus={() => setTyping(!kept)}
        onBlur={() => setTyping(false)}
        onChange={(e) => set(path, e.target.value.toLowerCase().replace(/[^a-z0-9_]/g, '_'))}
        title={kept ? 'The code is kept: claims refer to it. Change the label instead.' : undefined}
        {...aria}
        aria-describedby={describedBy}
      />
      <FieldError id={errorId} message={message} />
    </div>
  );
}
