import type { Draft } from '../draft';
import type { T } from '../i18n';
import type { MessageKey } from '../i18n/en';
import type { CustomerOrder, FlowEligibility } from '../types';
import { FieldError } from '../ui/common';
import { itemsOptional } from '../validate';
import { ItemImage } from './OrderHome';

interface StepProps {
  t: T;
  flow: FlowEligibility;
  order: CustomerOrder;
  draft: Draft;
  update(patch: Partial<Draft>): void;
  error: string | null;
}

/** The items step's title: "(optional)" where the flow takes a claim without items (itemsOptional). */
export const itemsTitle = (t: T, flow: FlowEligibility): string =>
  itemsOptional(flow) ? `${t('items.title')} (${t('evidence.optional')})` : t('items.title');

/** Items and quantities: only what the server says is eligible, up to its maximum. */
export function Items({ t, flow, order, draft, update, error }: StepProps) {
  const lines = new Map(order.line_items.map((l) => [l.id, l]));
  const setQty = (id: string, q: number) => {
    const items = { ...draft.items };
    if (q <= 0) delete items[id];
    else items[id] = q;
    update({ items });
  };
  return (
    <fieldset className="fieldset" aria-describedby="items-hint items-error">
      <legend className="sr-only">{itemsTitle(t, flow)}</legend>
      <p id="items-hint" className="muted">
        {t(itemsOptional(flow) ? 'items.hint_optional' : 'items.hint')}
      </p>
      <ul className="items">
        {flow.items.map((it) => {
          const line = lines.get(it.line_item_id);
          const title = line?.title ?? it.line_item_id;
          const q = draft.items[it.line_item_id] ?? 0;
          const id = `item-${it.line_item_id}`;
          return (
            <li key={it.line_item_id} className={`item selectable${q > 0 ? ' selected' : ''}`}>
              <input
                type="checkbox"
                id={id}
                checked={q > 0}
                aria-invalid={error ? true : undefined}
                aria-describedby={error ? 'items-error' : undefined}
                onChange={(e) => setQty(it.line_item_id, e.target.checked ? Math.max(1, q || 1) : 0)}
              />
              <label htmlFor={id} className="item-label">
                <ItemImage url={line?.image_url ?? null} />
                <span>
                  <span className="item-title">{title}</span>
                  {line?.variant_title && <span className="muted small block">{line.variant_title}</span>}
                </span>
              </label>
              {q > 0 && it.max_quantity > 1 && (
                <fieldset className="stepper">
                  <legend className="sr-only">{`${t('items.quantity')} ${title}`}</legend>
                  <button
                    type="button"
                    className="button small"
                    aria-label={t('items.decrease', { title })}
                    // aria-disabled, not disabled: at the limit the focus stays on the button.
                    aria-disabled={q <= 1 || undefined}
                    onClick={() => q > 1 && setQty(it.line_item_id, q - 1)}
                  >
                    −
                  </button>
                  <output aria-live="polite" data-testid={`qty-${it.line_item_id}`}>
                    {q} {t('items.of', { max: it.max_quantity })}
                  </output>
                  <button
                    type="button"
                    className="button small"
                    aria-label={t('items.increase', { title })}
                    aria-disabled={q >= it.max_quantity || undefined}
                    onClick={() => q < it.max_quantity && setQty(it.line_item_id, q + 1)}
                  >
                    +
                  </button>
                </fieldset>
              )}
            </li>
          );
        })}
      </ul>
      <FieldError id="items-error" text={error} />
    </fieldset>
  );
}

export function Reason({ t, flow, draft, update, error }: StepProps) {
  return (
    <fieldset className="fieldset" aria-describedby="reason-error">
      <legend className="sr-only">{t('reason.title')}</legend>
      <div className="options">
        {flow.reasons.map((r) => (
          <label key={r.code} className={`option${draft.reason === r.code ? ' selected' : ''}`}>
            <input
              type="radio"
              name="reason"
              value={r.code}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? 'reason-error' : undefined}
              checked={draft.reason === r.code}
              onChange={() => update({ reason: r.code })}
            />
            <span>{r.label}</span>
          </label>
        ))}
      </div>
      <FieldError id="reason-error" text={error} />
    </fieldset>
  );
}

export function Resolution({ t, flow, draft, update, error }: StepProps) {
  return (
    <fieldset className="fieldset" aria-describedby="resolution-error">
      <legend className="sr-only">{t('resolution.title')}</legend>
      <div className="options">
        {flow.resolutions.map((r) => (
          <label key={r} className={`option${draft.resolution === r ? ' selected' : ''}`}>
            <input
              type="radio"
              name="resolution"
              value={r}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? 'resolution-error' : undefined}
              checked={draft.resolution === r}
              onChange={() => update({ resolution: r })}
            />
            <span>
              <span className="block">{t(`resolution.${r}` as MessageKey)}</span>
              <span className="muted small">{t(`resolution.${r}_hint` as MessageKey)}</span>
            </span>
          </label>
        ))}
      </div>
      <FieldError id="resolution-error" text={error} />
    </fieldset>
  );
}

export type { StepProps };
