import type { T } from '../i18n';
import type { CustomerClaim } from '../types';
import { Alert, Heading } from '../ui/common';

export function Done({
  t,
  claim,
  copy,
  preview,
  onBack,
}: {
  t: T;
  claim: CustomerClaim;
  copy?: string;
  preview: boolean;
  onBack(): void;
}) {
  return (
    <section className="card done" aria-labelledby="done-title" data-testid="confirmation">
      <div className="done-mark" aria-hidden="true">
        ✓
      </div>
      <Heading level={1}>
        <span id="done-title">{t('done.title')}</span>
      </Heading>
      {preview && <Alert kind="info">{t('done.preview')}</Alert>}
      <p className="claim-number">{t('done.number', { number: claim.number })}</p>
      <p>{copy || t('done.next')}</p>
      {claim.handoff_url && (
        <>
          <p>{t('done.next_return')}</p>
          <a className="button primary block" href={claim.handoff_url} rel="noopener noreferrer">
            {t('done.handoff')}
          </a>
        </>
      )}
      <button type="button" className="button block" onClick={onBack}>
        {t('done.back')}
      </button>
    </section>
  );
}
