import { FieldError, fieldId, useDoc, useFieldError } from './fields';
import { getIn, LANG_NAMES, type Labels, OTHER_LANGS, type Path, pointer } from './model';

/**
 * A label in every customer language: English (required) inline, the others folded away. An empty translation
 * is removed, so the customer page falls back to English for it.
 */
export function LabelsField({
  path,
  label,
  inlineLabel,
}: {
  path: Path;
  label: string;
  inlineLabel?: boolean;
}) {
  const { draft, set, errors } = useDoc();
  const labels = (getIn(draft, path) ?? { en: '' }) as Labels;
  const en = useFieldError([...path, 'en']);
  const done = OTHER_LANGS.filter((l) => labels[l]).length;
  const otherErrors = OTHER_LANGS.some((l) => errors[pointer([...path, l])]);
  const id = fieldId([...path, 'en']);
  return (
    <div className="labels-field">
      <div className="sfield">
        <label htmlFor={id} className={inlineLabel ? 'sr-only' : undefined}>
          {label} (English)
        </label>
        <input
          id={id}
          value={labels.en ?? ''}
          maxLength={200}
          onChange={(e) => set([...path, 'en'], e.target.value)}
          {...en.aria}
        />
        <FieldError id={en.errorId} message={en.message} />
      </div>
      <details className="translations" open={otherErrors || undefined}>
        <summary>
          Translations{' '}
          <span className="muted small">
            ({done}/{OTHER_LANGS.length})
          </span>
        </summary>
        <div className="translations-grid">
          {OTHER_LANGS.map((l) => (
            <Translation key={l} path={[...path, l]} lang={l} label={label} />
          ))}
        </div>
      </details>
    </div>
  );
}

function Translation({
  path,
  lang,
  label,
}: {
  path: Path;
  lang: (typeof OTHER_LANGS)[number];
  label: string;
}) {
  const { draft, set } = useDoc();
  const { message, errorId, aria } = useFieldError(path);
  const id = fieldId(path);
  return (
    <div className="sfield">
      <label htmlFor={id}>
        <span className="sr-only">{label} in </span>
        {LANG_NAMES[lang]}
      </label>
      <input
        id={id}
        lang={lang}
        value={(getIn(draft, path) as string | undefined) ?? ''}
        placeholder="Falls back to English"
        maxLength={200}
        onChange={(e) => set(path, e.target.value || undefined)}
        {...aria}
      />
      <FieldError id={errorId} message={message} />
    </div>
  );
}
