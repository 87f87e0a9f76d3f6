import { CheckField, FieldError, fieldId, NumberField, useDoc, useFieldError } from './fields';
import { LabelsField } from './LabelsField';
import { type Flow, getIn, type Path, type Prompt, pointer } from './model';

const MAX_PROMPTS = 20;
const TYPES = [
  ['text', 'Text answer'],
  ['yes_no', 'Yes / no'],
  ['choice', 'Choice'],
] as const;

const blankOption = (n: number) => ({ value: `option_${n}`, labels: { en: '' } });

/** Questions of the merchant's own, asked in this flow's details step; answers land on the claim. */
export function PromptsEditor({ flow }: { flow: Flow }) {
  const { draft, set, errors, readOnly } = useDoc();
  const path = ['flows', flow, 'prompts'];
  const prompts = getIn(draft, path) as Prompt[];
  const listError = errors[pointer(path)];
  const add = () => {
    const used = new Set(prompts.map((p) => p.id));
    let n = prompts.length + 1;
    while (used.has(`question_${n}`)) n++;
    set(path, [...prompts, { id: `question_${n}`, type: 'text', labels: { en: '' }, required: false }]);
    setTimeout(() => document.getElementById(fieldId([...path, prompts.length, 'labels', 'en']))?.focus());
  };
  return (
    <fieldset className="sub">
      <legend>Custom questions</legend>
      {listError && (
        <p className="field-error" role="alert">
          {listError}
        </p>
      )}
      {prompts.length === 0 && <p className="muted small">No custom questions in this flow.</p>}
      {prompts.map((p, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: ids are being edited; the position is the identity
        <PromptCard key={i} path={[...path, i]} prompt={p} index={i} count={prompts.length} all={prompts} />
      ))}
      {!readOnly && (
        <button type="button" className="button small" disabled={prompts.length >= MAX_PROMPTS} onClick={add}>
          Add question
        </button>
      )}
    </fieldset>
  );
}

function PromptCard({
  path,
  prompt,
  index,
  count,
  all,
}: {
  path: Path;
  prompt: Prompt;
  index: number;
  count: number;
  all: Prompt[];
}) {
  const { set, errors } = useDoc();
  const listPath = path.slice(0, -1);
  const name = prompt.labels.en || prompt.id || `question ${index + 1}`;
  const setType = (type: Prompt['type']) => {
    const { options: _o, max_length: _m, ...rest } = prompt;
    const next: Prompt = { ...rest, type };
    if (type === 'choice')
      next.options = prompt.options?.length ? prompt.options : [blankOption(1), blankOption(2)];
    if (type === 'text' && prompt.max_length) next.max_length = prompt.max_length;
    set(path, next);
  };
  const move = (by: number) => {
    const next = [...all];
    const [p] = next.splice(index, 1);
    next.splice(index + by, 0, p);
    set(listPath, next);
  };
  const optionsPath = [...path, 'options'];
  const optionsError = errors[pointer(optionsPath)];
  return (
    <div className="prompt-card" data-testid="prompt">
      <div className="row wrap-tight">
        <PromptId path={[...path, 'id']} />
        <div className="sfield">
          <label htmlFor={fieldId([...path, 'type'])}>Answer</label>
          <select
            id={fieldId([...path, 'type'])}
            value={prompt.type}
            onChange={(e) => setType(e.target.value as Prompt['type'])}
          >
            {TYPES.map(([v, t]) => (
              <option key={v} value={v}>
                {t}
              </option>
            ))}
          </select>
        </div>
        {prompt.type === 'text' && (
          <NumberField
            path={[...path, 'max_length']}
            label="Max. length"
            min={1}
            max={5000}
            suffix="chars"
            optional
          />
        )}
        <CheckField path={[...path, 'required']} label="Required" />
        <span className="grow-spacer" />
        <button
          type="button"
          className="button small ghost"
          disabled={index === 0}
          aria-label={`Move question ${name} up`}
          onClick={() => move(-1)}
        >
          ↑
        </button>
        <button
          type="button"
          className="button small ghost"
          disabled={index === count - 1}
          aria-label={`Move question ${name} down`}
          onClick={() => move(1)}
        >
          ↓
        </button>
        <button
          type="button"
          className="button small danger"
          aria-label={`Remove question ${name}`}
          onClick={() =>
            set(
              listPath,
              all.filter((_, j) => j !== index),
            )
          }
        >
          Remove
        </button>
      </div>
      <LabelsField path={[...path, 'labels']} label="Question" />
      {prompt.type === 'choice' && (
        <fieldset className="sub options">
          <legend>Options</legend>
          {optionsError && (
            <p className="field-error" role="alert">
              {optionsError}
            </p>
          )}
          {(prompt.options ?? []).map((o, j) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: values are being edited
            <div className="option-row" key={j}>
              <PromptId path={[...optionsPath, j, 'value']} label={`Value of option ${j + 1}`} />
              <LabelsField path={[...optionsPath, j, 'labels']} label={`Option ${j + 1}`} />
              <button
                type="button"
                className="button small danger"
                disabled={(prompt.options?.length ?? 0) <= 2}
                title={(prompt.options?.length ?? 0) <= 2 ? 'A choice needs at least two options' : undefined}
                aria-label={`Remove option ${o.labels.en || o.value || j + 1}`}
                onClick={() =>
                  set(
                    optionsPath,
                    (prompt.options ?? []).filter((_, k) => k !== j),
                  )
                }
              >
                Remove
              </button>
            </div>
          ))}
          <button
            type="button"
            className="button small"
            disabled={(prompt.options?.length ?? 0) >= 20}
            onClick={() =>
              set(optionsPath, [...(prompt.options ?? []), blankOption((prompt.options?.length ?? 0) + 1)])
            }
          >
            Add option
          </button>
        </fieldset>
      )}
    </div>
  );
}

function PromptId({ path, label = 'ID' }: { path: Path; label?: string }) {
  const { draft, set } = useDoc();
  const { message, errorId, aria } = useFieldError(path);
  const id = fieldId(path);
  return (
    <div className="sfield">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        className="code-input"
        value={(getIn(draft, path) as string) ?? ''}
        maxLength={64}
        spellCheck={false}
        onChange={(e) => set(path, e.target.value.toLowerCase().replace(/[^a-z0-9_]/g, '_'))}
        {...aria}
      />
      <FieldError id={errorId} message={message} />
    </div>
  );
}
