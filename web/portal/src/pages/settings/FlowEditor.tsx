import { label } from '../../ui/format';
import { CheckField, Editable, FieldError, NumberField, SelectField, useDoc, useFieldError } from './fields';
import {
  errorsUnder,
  FLOW_INFO,
  type Flow,
  type FlowSettings,
  OPTIONALITY,
  pointer,
  RESOLUTIONS,
} from './model';
import { PromptsEditor } from './PromptsEditor';
import { ReasonsEditor } from './ReasonsEditor';

const OPTIONS = OPTIONALITY.map((o) => [o, label(o)] as const);

/** One flow, folded to a summary line; unfolds by itself when the server reports an error inside. */
export function FlowEditor({
  flow,
  open,
  onToggle,
}: {
  flow: Flow;
  open: boolean;
  onToggle(open: boolean): void;
}) {
  const { draft, errors, set } = useDoc();
  const f = draft.flows[flow] as FlowSettings;
  const base = ['flows', flow];
  const problems = errorsUnder(errors, pointer(base)).length;
  const summary = [
    `${f.reasons.length} reason${f.reasons.length === 1 ? '' : 's'}`,
    f.resolutions.length ? f.resolutions.map(label).join(', ') : 'no resolution',
    f.photos.max ? `photos ${f.photos.min}–${f.photos.max}` : 'no photos',
    f.prompts.length ? `${f.prompts.length} question${f.prompts.length === 1 ? '' : 's'}` : null,
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <details
      className={`card flow-card${f.enabled ? '' : ' flow-off'}`}
      open={open}
      onToggle={(e) => onToggle((e.currentTarget as HTMLDetailsElement).open)}
      data-testid={`flow-${flow}`}
    >
      <summary>
        <span className="flow-title">
          <strong>{label(flow)}</strong>
          <span className={`badge ${f.enabled ? 'badge-accepted' : 'badge-off'}`}>
            {f.enabled ? 'on' : 'off'}
          </span>
          {problems > 0 && (
            <span className="badge badge-rejected">
              {problems} error{problems === 1 ? '' : 's'}
            </span>
          )}
        </span>
        <span className="muted small">{summary}</span>
      </summary>
      <p className="muted small">{FLOW_INFO[flow]}.</p>
      <Editable legend={`${label(flow)} settings`}>
        <div className="flow-grid">
          <fieldset className="group">
            <legend>Offer</legend>
            <CheckField
              path={[...base, 'enabled']}
              label={`Offer “${label(flow)}” to customers`}
              hint={
                flow === 'support'
                  ? 'Turned off, customers can only contact you through the other flows.'
                  : 'Turned off, the page explains or hides it (see “Unavailable flows”).'
              }
            />
            <fieldset className="sfield checks">
              <legend>Resolutions the customer may ask for</legend>
              {RESOLUTIONS.map((r) => (
                <label key={r} className="check">
                  <input
                    type="checkbox"
                    checked={f.resolutions.includes(r)}
                    onChange={(e) =>
                      set(
                        [...base, 'resolutions'],
                        e.target.checked
                          ? RESOLUTIONS.filter((x) => x === r || f.resolutions.includes(x))
                          : f.resolutions.filter((x) => x !== r),
                      )
                    }
                  />
                  {label(r)}
                </label>
              ))}
              <ResolutionsError path={[...base, 'resolutions']} />
            </fieldset>
          </fieldset>
          <fieldset className="group">
            <legend>Evidence</legend>
            <div className="pair">
              <NumberField path={[...base, 'photos', 'min']} label="Photos, at least" min={0} max={10} />
              <NumberField path={[...base, 'photos', 'max']} label="Photos, at most" min={0} max={10} />
            </div>
            <div className="pair">
              <SelectField path={[...base, 'package_photo']} label="Photo of the package" options={OPTIONS} />
              <SelectField path={[...base, 'signature']} label="Signature" options={OPTIONS} />
            </div>
          </fieldset>
          <fieldset className="group">
            <legend>Description</legend>
            <CheckField path={[...base, 'description', 'required']} label="Description required" />
            <div className="pair">
              <NumberField
                path={[...base, 'description', 'min_length']}
                label="Description, min. length"
                min={0}
                max={5000}
                suffix="chars"
              />
              <NumberField
                path={[...base, 'description', 'max_length']}
                label="Description, max. length"
                min={1}
                max={5000}
                suffix="chars"
              />
            </div>
          </fieldset>
        </div>
        <ReasonsEditor flow={flow} />
        <PromptsEditor flow={flow} />
      </Editable>
    </details>
  );
}

function ResolutionsError({ path }: { path: (string | number)[] }) {
  const { message, errorId } = useFieldError(path);
  return <FieldError id={errorId} message={message} />;
}
