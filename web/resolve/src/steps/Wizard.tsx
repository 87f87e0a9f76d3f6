import { useEffect, useRef, useState } from 'react';
import type { Draft, Step } from '../draft';
import type { T } from '../i18n';
import type { MessageKey } from '../i18n/en';
import type { CustomerOrder, FlowEligibility } from '../types';
import { Alert, focusFirstError, focusSoon, Heading } from '../ui/common';
import { validateStep } from '../validate';
import { Items, itemsTitle, Reason, Resolution } from './Choices';
import { Details } from './Details';
import { Evidence, type EvidenceHandlers } from './Evidence';
import { Review } from './Review';

const TITLES: Record<Step, MessageKey> = {
  items: 'items.title',
  reason: 'reason.title',
  evidence: 'evidence.title',
  details: 'details.title',
  resolution: 'resolution.title',
  review: 'review.title',
};

export interface WizardProps extends EvidenceHandlers {
  t: T;
  flow: FlowEligibility;
  order: CustomerOrder;
  draft: Draft;
  steps: Step[];
  index: number;
  /** A step forward, or a jump from the review: a new history entry. */
  setIndex(i: number): void;
  /** The page corrects the step shown (an earlier one is incomplete): in place of the current history entry. */
  fixIndex(i: number): void;
  /** The in-page Back: to step `i`, or (-1) out to the order. */
  goBack(i: number): void;
  update(patch: Partial<Draft>): void;
  submitting: boolean;
  submitError: string | null;
  onSubmit(): void;
  /** Set when the report cannot go on (a refusal that closed the flow): the way back to the order. */
  onToOrder?: () => void;
  /** The refusal above closed the flow: Send stays off from the moment it is shown, before the order reloads. */
  closed?: boolean;
}

export function Wizard(props: WizardProps) {
  const { t, flow, order, draft, steps, index, setIndex, fixIndex, update, submitting, submitError } = props;
  const [errors, setErrors] = useState<Record<string, string>>({});
  const form = useRef<HTMLFormElement>(null);
  const step = steps[index];
  const sendClosed = step === 'review' && (!flow.available || !!props.closed);
  const shown = Object.keys(errors).length > 0;
  // Once errors are shown they follow the customer's corrections live.
  useEffect(() => {
    if (shown) setErrors(validateStep(step, flow, draft, order, t));
  }, [draft, shown, step, flow, order, t]);
  // A draft restored after a reload has lost its photos (they live in memory only), Forward may lead past a step
  // changed since, and the order or the shop's form may have changed (a refused submit reloads them): the wizard
  // shows the first step that is no longer complete, with its messages, instead of a review whose sending fails.
  // biome-ignore lint/correctness/useExhaustiveDependencies: checked when the step or the eligibility changes
  useEffect(() => {
    if (!flow.available) return;
    for (let i = 0; i < index; i++) {
      const e = validateStep(steps[i], flow, draft, order, t);
      if (Object.keys(e).length) {
        fixIndex(i);
        setErrors(e);
        return;
      }
    }
  }, [index, flow]);

  const next = () => {
    const e = validateStep(step, flow, draft, order, t);
    setErrors(e);
    if (Object.keys(e).length) {
      requestAnimationFrame(() =>
        (document.querySelector('.field-error') as HTMLElement | null)?.scrollIntoView({ block: 'center' }),
      );
      // The first field to correct takes the focus: its label, state and message are read together.
      focusFirstError(form.current);
      return;
    }
    if (step === 'review') {
      // Send stays focusable while sending (aria-disabled): a press meanwhile does nothing.
      if (!submitting && !sendClosed) props.onSubmit();
    } else setIndex(index + 1);
  };
  const back = () => {
    setErrors({});
    props.goBack(index - 1);
  };
  const common = { t, flow, order, draft, update };
  // A refusal that closes the flow turns Send off: the focus goes to the message and its way back to the order.
  useEffect(() => {
    if (props.closed) focusSoon('submit-error');
  }, [props.closed]);

  const flowName = t(`flow_short.${flow.flow}` as MessageKey);
  const count = t('wizard.step', { current: index + 1, total: steps.length });
  return (
    <section className="card wizard" aria-labelledby="step-title" data-step={step}>
      {/* Read with the step's h1 when it takes the focus (on each step): once per step, in no live region. */}
      <p className="progress-text" id="step-progress">
        <span>{flowName}</span> <span>{count}</span>
      </p>
      <div className="progress" aria-hidden="true">
        <span style={{ width: `${((index + 1) / steps.length) * 100}%` }} />
      </div>
      <Heading key={step} level={1} describedBy="step-progress">
        <span id="step-title">{step === 'items' ? itemsTitle(t, flow) : t(TITLES[step])}</span>
      </Heading>
      <form
        noValidate
        ref={form}
        onSubmit={(e) => {
          e.preventDefault();
          next();
        }}
      >
        {step === 'items' && <Items {...common} error={errors.general} />}
        {step === 'reason' && <Reason {...common} error={errors.general} />}
        {step === 'evidence' && (
          <Evidence
            {...common}
            error={null}
            errors={errors}
            onAdd={props.onAdd}
            onRetry={props.onRetry}
            onRemove={props.onRemove}
          />
        )}
        {step === 'details' && <Details {...common} errors={errors} />}
        {step === 'resolution' && <Resolution {...common} error={errors.general} />}
        {step === 'review' && (
          <Review
            t={t}
            flow={flow}
            order={order}
            draft={draft}
            steps={steps}
            goTo={(s) => setIndex(steps.indexOf(s))}
          />
        )}
        {submitError && (
          <Alert testId="submit-error" id="submit-error">
            <p>{submitError}</p>
            {props.onToOrder && (
              <button type="button" className="button" onClick={props.onToOrder}>
                {t('done.back')}
              </button>
            )}
          </Alert>
        )}
        <div className="nav">
          <button type="button" className="button" onClick={back}>
            {t('wizard.back')}
          </button>
          <button
            type="submit"
            className="button primary"
            // A flow closed meanwhile (the refusal above says why): sending again cannot help.
            disabled={sendClosed}
            // Not \`disabled\` while sending: the focus would drop to the page's body, and stay lost after a failure.
            aria-disabled={(step === 'review' && submitting) || undefined}
            aria-busy={submitting || undefined}
          >
            {step === 'review'
              ? submitting
                ? t('review.submitting')
                : t('review.submit')
              : t('wizard.continue')}
          </button>
        </div>
      </form>
    </section>
  );
}
