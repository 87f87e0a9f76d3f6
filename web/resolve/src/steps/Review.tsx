import type { Draft, Step } from '../draft';
import type { T } from '../i18n';
import type { MessageKey } from '../i18n/en';
import type { CustomerOrder, FlowEligibility } from '../types';
import { asksDropoff, sentEvidence } from '../validate';

/** Everything the customer entered, each part with a way back to change it. */
export function Review({
  t,
  flow,
  order,
  draft,
  steps,
  goTo,
}: {
  t: T;
  flow: FlowEligibility;
  order: CustomerOrder;
  draft: Draft;
  steps: Step[];
  goTo(step: Step): void;
}) {
  const lines = new Map(order.line_items.map((l) => [l.id, l]));
  const reason = flow.reasons.find((r) => r.code === draft.reason)?.label;
  const sent = sentEvidence(draft);
  const photos = sent.filter((p) => p.kind !== 'signature');
  const signed = sent.some((p) => p.kind === 'signature');
  // A label is a message key, or the shop's own words (its questions).
  const row = (label: MessageKey | { text: string }, value: React.ReactNode, step?: Step) => {
    const text = typeof label === 'string' ? t(label) : label.text;
    return (
      <div className="review-row" key={text}>
        <dt>{text}</dt>
        <dd>
          {value}
          {step && steps.includes(step) && (
            <button
              type="button"
              className="link"
              onClick={() => goTo(step)}
              aria-label={`${t('review.edit')}: ${text}`}
            >
              {t('review.edit')}
            </button>
          )}
        </dd>
      </div>
    );
  };
  // The answers to the shop's own questions, in their order, as the customer gave them.
  const answers = flow.steps.prompts.flatMap((p) => {
    const v = draft.answers[p.id];
    if (v === undefined || v === '') return [];
    const shown =
      typeof v === 'boolean'
        ? t(v ? 'details.yes' : 'details.no')
        : p.type === 'choice'
          ? (p.options?.find((o) => o.value === v)?.label ?? v)
          : v;
    return [{ label: p.label, shown }];
  });
  // A reason the customer did not pick (the flow has only "other") says nothing: not shown.
  const showReason = reason && (steps.includes('reason') || draft.reason !== 'other');
  return (
    <div>
      <dl className="review" data-testid="review">
        {row('review.flow', t(`flow.${flow.flow}` as MessageKey))}
        {Object.keys(draft.items).length > 0 &&
          row(
            'review.items',
            <ul className="plain">
              {Object.entries(draft.items).map(([id, q]) => (
                <li key={id}>
                  {q} × {lines.get(id)?.title}
                  {lines.get(id)?.variant_title ? ` (${lines.get(id)?.variant_title})` : ''}
                </li>
              ))}
            </ul>,
            'items',
          )}
        {showReason && row('review.reason', reason, 'reason')}
        {photos.length > 0 &&
          row(
            'review.photos',
            <>
              {t('review.photo_count', { count: photos.length })}
              {/* What was sent, at a glance; the count says it for screen readers. HEIC has no preview here. */}
              <span className="review-thumbs" aria-hidden="true" data-testid="review-thumbs">
                {photos.map((p) => (
                  <img
                    key={p.key}
                    className="thumb"
                    src={p.preview}
                    alt=""
                    onError={(e) => {
                      e.currentTarget.hidden = true;
                    }}
                  />
                ))}
              </span>
            </>,
            'evidence',
          )}
        {signed && row('review.signature', t('review.signed'), 'evidence')}
        {asksDropoff(flow, draft) &&
          draft.dropoff !== null &&
          row('review.dropoff', t(draft.dropoff ? 'details.yes' : 'details.no'), 'details')}
        {draft.description.trim() &&
          row('review.description', <span className="pre">{draft.description.trim()}</span>, 'details')}
        {answers.map((a) => row({ text: a.label }, <span className="pre">{a.shown}</span>, 'details'))}
        {draft.resolution &&
          row('review.resolution', t(`resolution.${draft.resolution}` as MessageKey), 'resolution')}
      </dl>
      {order.customer.email && (
        <p className="muted">{t('review.contact', { email: order.customer.email })}</p>
      )}
    </div>
  );
}
