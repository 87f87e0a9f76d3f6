import { useCallback, useEffect, useRef, useState } from 'react';
import type { Shop } from '../../App';
import { type ApiError, api, type Claim, type Order, type OrderActivity, type Page } from '../../api';
import { Badge, ErrorBox, Loading } from '../../ui/common';
import { date, dateTime, label, languageName, money } from '../../ui/format';
import { onLink } from '../../ui/router';
import { useTitle } from '../../ui/title';
import { useReasonLabel } from '../ClaimFilters';
import { OrderLink } from './OrderLink';
import { OrderShipments } from './OrderShipments';
import { RecordClaim } from './RecordClaim';
import { activityText, addressLine, customerName, STATE, shortDateTime } from './text';

/**
 * One order as the team needs it to answer a customer: its state, customer and address, items (with what was
 * shipped and refunded), parcels and their carrier events, its claims and what the customer changed through
 * Resolve links. Any role may read it.
 */
export function OrderDetail({ shop, id }: { shop: Shop; id: string }) {
  const url = `/v1/shops/${shop.slug}/orders/${encodeURIComponent(id)}`;
  const reasonLabel = useReasonLabel(shop.slug);
  const [order, setOrder] = useState<Order | null>(null);
  const [claims, setClaims] = useState<Claim[] | null>(null);
  const [activity, setActivity] = useState<OrderActivity[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [sideError, setSideError] = useState<ApiError | null>(null);
  const [recording, setRecording] = useState(false);
  // Agents and admins take claims (POST …/claims needs the editor role); viewers read.
  const canWork = shop.role !== 'viewer';
  // Cancel on the form gives focus back to the button that opened it.
  const recordButton = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    if (!recording && refocus.current) recordButton.current?.focus();
    refocus.current = false;
  }, [recording]);
  useTitle(order ? `Order ${order.order_name ?? order.order_number}` : null);

  const load = useCallback(async () => {
    setError(null);
    setSideError(null);
    let o: Order;
    try {
      o = await api<Order>('GET', url);
    } catch (err) {
      setError(err as ApiError);
      return;
    }
    setOrder(o);
    api<Page<Claim>>(
      'GET',
      `/v1/shops/${shop.slug}/claims?order_id=${encodeURIComponent(o.id)}&per_page=100`,
    ).then((r) => setClaims(r.data), setSideError);
    api<{ data: OrderActivity[] }>('GET', `${url}/activity`).then((r) => setActivity(r.data), setSideError);
  }, [url, shop.slug]);
  useEffect(() => {
    void load();
  }, [load]);

  const back = (
    <p>
      <a href={`/portal/${shop.slug}/orders`} onClick={onLink}>
        ← Orders
      </a>
    </p>
  );
  if (!order)
    return error ? (
      <>
        {back}
        {error.key === 'order_not_found' ? (
          <p className="empty">There is no such order in this shop.</p>
        ) : (
          <ErrorBox error={error} />
        )}
      </>
    ) : (
      <Loading />
    );

  const o = order;
  const name = customerName(o.customer);
  const titles = new Map(o.line_items.map((l) => [l.id, l.title]));
  return (
    <article aria-labelledby="order-title" className="claim">
      {back}
      <div className="page-head">
        <h1 id="order-title">
          Order {o.order_name ?? o.order_number}{' '}
          <Badge value={STATE[o.state].text} kind={STATE[o.state].kind} />
        </h1>
        {canWork && !recording && (
          <button
            ref={recordButton}
            type="button"
            className="button primary"
            onClick={() => setRecording(true)}
          >
            Record a claim
          </button>
        )}
      </div>
      <p className="muted">
        Placed {dateTime(o.placed_at)}
        {o.cancelled_at ? ` · cancelled ${dateTime(o.cancelled_at)}` : ''}
        {o.tags.length ? ` · tags: ${o.tags.join(', ')}` : ''}
      </p>
      <ErrorBox error={sideError} />
      <div className="claim-grid order-grid">
        <div>
          {recording && (
            <RecordClaim
              slug={shop.slug}
              order={o}
              onCancel={() => {
                refocus.current = true;
                setRecording(false);
              }}
            />
          )}
          <section className="card" aria-labelledby="order-items-title">
            <h2 id="order-items-title">Items</h2>
            <ul className="items">
              {o.line_items.map((l) => (
                <li key={l.id} data-testid="order-line">
                  {l.image_url ? (
                    <img src={l.image_url} alt="" className="thumb" />
                  ) : (
                    <span className="thumb" aria-hidden="true" />
                  )}
                  <span className="grow">
                    <strong>
                      {l.quantity} × {l.title}
                    </strong>
                    <span className="muted small block">
                      {[l.variant_title, l.sku, `${money(l.unit_price, o.currency)} each`]
                        .filter(Boolean)
                        .join(' · ')}
                    </span>
                    <span className="small block">
                      {l.quantity_fulfilled} of {l.quantity} shipped
                      {l.quantity_refunded > 0 ? ` · ${l.quantity_refunded} refunded` : ''}
                    </span>
                  </span>
                </li>
              ))}
            </ul>
            <dl className="facts order-totals">
              <dt>Subtotal</dt>
              <dd>{money(o.totals.subtotal, o.currency)}</dd>
              <dt>Shipping</dt>
              <dd>{money(o.totals.shipping, o.currency)}</dd>
              {o.totals.discount > 0 && (
                <>
                  <dt>Discount</dt>
                  <dd>−{money(o.totals.discount, o.currency)}</dd>
                </>
              )}
              <dt>
                {o.totals.subtotal + o.totals.shipping - o.totals.discount === o.totals.total
                  ? 'Tax (included)'
                  : 'Tax'}
              </dt>
              <dd>{money(o.totals.tax, o.currency)}</dd>
              <dt>Total</dt>
              <dd>
                <strong>{money(o.totals.total, o.currency)}</strong>
              </dd>
            </dl>
          </section>
          <OrderShipments order={o} titles={titles} />
          <section className="card" aria-labelledby="order-claims-title" data-testid="order-claims">
            <h2 id="order-claims-title">Claims</h2>
            {!claims && !sideError && <Loading />}
            {claims && claims.length === 0 && <p className="muted">No claims for this order.</p>}
            {claims && claims.length > 0 && (
              <ul className="history">
                {claims.map((c) => (
                  <li key={c.id}>
                    <a href={`/portal/${shop.slug}/claims/${c.id}`} onClick={onLink}>
                      <strong>{c.number}</strong>
                    </a>{' '}
                    <Badge value={c.status} /> {label(c.flow)} · {reasonLabel(c.flow, c.reason)}{' '}
                    <span className="muted small">{date(c.created_at)}</span>
                    <span className="block small">
                      {c.items.map((it) => `${it.quantity} × ${it.title}`).join(', ') || 'No items'}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section className="card" aria-labelledby="order-activity-title" data-testid="order-activity">
            <h2 id="order-activity-title">Activity</h2>
            {!activity && !sideError && <Loading />}
            {activity && activity.length === 0 && (
              <p className="muted">
                The customer has not cancelled or changed this order through a Resolve link.
              </p>
            )}
            {activity && activity.length > 0 && (
              <ol className="history">
                {activity.map((a) => (
                  <li key={a.id} data-testid="order-activity-row">
                    {activityText(a)} · <span className="muted small">{shortDateTime(a.created_at)}</span>
                  </li>
                ))}
              </ol>
            )}
          </section>
        </div>
        <aside>
          <section className="card" aria-labelledby="order-customer-title">
            <h2 id="order-customer-title">Customer</h2>
            <dl className="facts">
              <dt>Name</dt>
              <dd>{name ?? '—'}</dd>
              <dt>Email</dt>
              <dd>
                {o.customer.email ? <a href={`mailto:${o.customer.email}`}>{o.customer.email}</a> : '—'}
              </dd>
              {o.customer.phone && (
                <>
                  <dt>Phone</dt>
                  <dd>
                    <a href={`tel:${o.customer.phone}`}>{o.customer.phone}</a>
                  </dd>
                </>
              )}
              <dt>Ship to</dt>
              <dd>
                <address>{addressLine(o.shipping_address, { name: true, country: true })}</address>
              </dd>
              {o.billing_address && (
                <>
                  <dt>Bill to</dt>
                  <dd>
                    <address>{addressLine(o.billing_address, { name: true, country: true })}</address>
                  </dd>
                </>
              )}
              {o.language && (
                <>
                  <dt>Language</dt>
                  <dd>{languageName(o.language)}</dd>
                </>
              )}
            </dl>
          </section>
          {canWork && <OrderLink slug={shop.slug} order={o} />}
        </aside>
      </div>
    </article>
  );
}
