import { formatDate, formatMoney, type Lang, type T } from '../i18n';
import type { MessageKey } from '../i18n/en';
import { reasonKey } from '../reasons';
import type { CustomerClaim, CustomerOrder, Flow, FlowEligibility, OrderState } from '../types';
import { Heading } from '../ui/common';
import { OrderActions } from './OrderActions';

export interface OrderHomeProps {
  t: T;
  lang: Lang;
  state: OrderState;
  claims: CustomerClaim[];
  /**
   * The result of an order action, shown here because the actions section may be gone afterwards; or (warning)
   * why the report just refused is no longer offered, when the shop hides closed flows.
   */
  notice?: string | null;
  noticeTone?: 'success' | 'warning';
  onPick(flow: FlowEligibility): void;
  onAction(kind: 'cancel' | 'address', body?: Record<string, string | null>): Promise<void>;
}

export function OrderHome({
  t,
  lang,
  state,
  claims,
  notice,
  noticeTone = 'success',
  onPick,
  onAction,
}: OrderHomeProps) {
  const { order, flows } = state;
  const name = order.customer.first_name;
  const items = new Map(order.line_items.map((l) => [l.id, l]));
  const available = flows.filter((f) => f.available);
  const unavailable = flows.filter((f) => !f.available);
  return (
    <>
      {notice && (
        <div
          className={`alert alert-${noticeTone}`}
          role="status"
          data-testid="action-result"
          id="action-result"
          tabIndex={-1}
        >
          {notice}
        </div>
      )}
      <section className="card" aria-labelledby="order-title">
        {/* The screen's title, read with which order this is when it takes the focus. */}
        <Heading level={1} describedBy="order-summary">
          <span id="order-title">{name ? t('order.greeting', { name }) : t('order.greeting_anonymous')}</span>
        </Heading>
        <p className="muted" id="order-summary" data-testid="order-summary">
          {t('order.summary', {
            number: order.order_name ?? order.order_number,
            date: formatDate(lang, order.placed_at),
          })}
        </p>
        {order.state === 'cancelled' && (
          <p className="alert alert-info" role="status">
            {t('order.cancelled')}
          </p>
        )}
        <h3 className="subheading">{t('order.items')}</h3>
        <ul className="items">
          {order.line_items.map((l) => (
            <li key={l.id} className="item">
              <ItemImage url={l.image_url} />
              <div>
                <p className="item-title">{l.title}</p>
                {l.variant_title && <p className="muted small">{l.variant_title}</p>}
                <p className="muted small">
                  {t('order.quantity', { count: l.quantity })} ·{' '}
                  {l.quantity > 1
                    ? t('order.unit_price', { price: formatMoney(lang, l.unit_price, order.currency) })
                    : formatMoney(lang, l.unit_price, order.currency)}
                </p>
              </div>
            </li>
          ))}
        </ul>
        <p className="total">
          <span>{t('order.total')}</span>{' '}
          <strong>{formatMoney(lang, order.totals.total, order.currency)}</strong>
        </p>
        {order.shipments.length > 0 && (
          <>
            <h3 className="subheading">{t('order.shipments')}</h3>
            <ul className="shipments">
              {order.shipments.map((s, i) => (
                <li key={s.id} className="shipment">
                  <p>
                    <strong>{t('order.shipment', { index: i + 1 })}</strong>{' '}
                    <span className={`badge phase-${s.stuck ? 'stuck' : s.phase}`}>
                      {s.stuck ? t('phase.stuck') : t(`phase.${s.phase}` as MessageKey)}
                    </span>
                  </p>
                  <p className="muted small">
                    {s.line_items
                      .map((li) => `${li.quantity} × ${items.get(li.line_item_id)?.title ?? ''}`)
                      .join(', ')}
                  </p>
                  <p className="muted small">
                    {s.delivered_at
                      ? t('order.delivered_on', { date: formatDate(lang, s.delivered_at) })
                      : s.last_event_at
                        ? t('order.last_update', { date: formatDate(lang, s.last_event_at) })
                        : null}
                    {s.tracking_url && (
                      <>
                        {' · '}
                        <a href={s.tracking_url} target="_blank" rel="noopener noreferrer">
                          {t('order.tracking')}
                        </a>
                      </>
                    )}
                  </p>
                </li>
              ))}
            </ul>
          </>
        )}
      </section>

      {claims.length > 0 && (
        <section className="card" aria-labelledby="claims-title" data-testid="earlier-claims">
          <h2 id="claims-title" className="heading">
            {t('order.earlier_claims')}
          </h2>
          <ul className="claims">
            {claims.map((c) => (
              <li key={c.id}>
                <span>
                  {t('order.claim_line', {
                    number: c.number,
                    flow: t(`flow_short.${c.flow}` as MessageKey),
                    date: formatDate(lang, c.created_at),
                  })}
                </span>
                <span className={`badge status-${c.status}`}>{t(`status.${c.status}` as MessageKey)}</span>
                {c.handoff_url && (
                  // An open return of a shop with its own returns portal: the way on to the label stays here.
                  <a
                    className="handoff"
                    href={c.handoff_url}
                    rel="noopener noreferrer"
                    data-testid="claim-handoff"
                  >
                    {t('done.handoff')}
                  </a>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}

      {(state.actions.cancel || state.actions.change_address) && (
        <OrderActions t={t} lang={lang} state={state} onAction={onAction} />
      )}

      {(available.length > 0 || order.state !== 'cancelled') && (
        <section className="card" aria-labelledby="flows-title">
          <h2 id="flows-title" className="heading">
            {t('order.what_happened')}
          </h2>
          {available.length === 0 && <p className="muted">{t('order.no_flows')}</p>}
          <ul className="flows">
            {available.map((f) => (
              <li key={f.flow}>
                <button type="button" className="flow" data-flow={f.flow} onClick={() => onPick(f)}>
                  <span>{t(`flow.${f.flow}` as MessageKey)}</span>
                  <span aria-hidden="true">›</span>
                </button>
              </li>
            ))}
            {unavailable.map((f) => (
              <li
                key={f.flow}
                className="flow flow-unavailable"
                data-flow={f.flow}
                data-testid={`unavailable-${f.flow}`}
              >
                <span>{t(`flow.${f.flow}` as MessageKey)}</span>
                <span className="muted small">
                  {t('order.unavailable', { reason: reasonText(t, f.flow, f.reason_code, order) })}
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

/** Why `flow` is not offered for this order, in words (see reasonKey). */
export function reasonText(t: T, flow: Flow, code: string | null, order: CustomerOrder): string {
  const key = reasonKey(flow, code, order);
  return key ? t(key) : '';
}

export function ItemImage({ url }: { url: string | null }) {
  return url ? (
    <img className="thumb" src={url} alt="" loading="lazy" />
  ) : (
    <span className="thumb thumb-empty" aria-hidden="true" />
  );
}

export const flowLabel = (t: T, f: Flow) => t(`flow.${f}` as MessageKey);
