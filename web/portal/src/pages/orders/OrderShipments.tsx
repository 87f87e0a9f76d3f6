import type { Order } from '../../api';
import { Badge } from '../../ui/common';
import { carrierName, date, dateTime } from '../../ui/format';
import { phaseText } from './text';

const DAY = 86_400_000;

/** An order's parcels: carrier and tracking, where each is (stuck or not), what it holds and its carrier events. */
export function OrderShipments({ order, titles }: { order: Order; titles: Map<string, string> }) {
  const n = order.shipments.length;
  return (
    <section className="card" aria-labelledby="order-shipments-title" data-testid="order-shipments">
      <h2 id="order-shipments-title">Shipments</h2>
      {n === 0 && (
        <p className="muted">
          {order.state === 'cancelled' ? 'Nothing was shipped.' : 'Nothing shipped yet.'}
        </p>
      )}
      {order.shipments.map((s, i) => {
        const quiet = s.last_event_at ? Math.floor((Date.now() - Date.parse(s.last_event_at)) / DAY) : null;
        return (
          <div key={s.id} className="shipment" data-testid="order-shipment">
            <h3>
              {n > 1 ? `Parcel ${i + 1} of ${n}` : 'Parcel'}{' '}
              <Badge value={phaseText(s.phase)} kind={s.phase === 'delivered' ? 'accepted' : 'pending'} />
              {s.stuck && (
                <>
                  {' '}
                  <Badge value="Stuck" kind="rejected" />
                </>
              )}
            </h3>
            <dl className="facts">
              <dt>Carrier</dt>
              <dd>{s.carrier ? carrierName(s.carrier) : '—'}</dd>
              <dt>Tracking</dt>
              <dd>
                {s.tracking_number ? (
                  s.tracking_url ? (
                    <a href={s.tracking_url} target="_blank" rel="noreferrer">
                      {s.tracking_number}
                    </a>
                  ) : (
                    s.tracking_number
                  )
                ) : (
                  '—'
                )}
              </dd>
              {s.delivered_at && (
                <>
                  <dt>Delivered</dt>
                  <dd>{dateTime(s.delivered_at)}</dd>
                </>
              )}
              {s.stuck && (
                <>
                  <dt>Stuck</dt>
                  <dd>
                    No carrier news{' '}
                    {quiet !== null ? `for ${quiet} days (since ${date(s.last_event_at)})` : 'yet'}
                  </dd>
                </>
              )}
              <dt>Contains</dt>
              <dd>
                {s.line_items
                  .map(
                    (l) =>
                      `${l.quantity} × ${titles.get(l.line_item_id) ?? 'an item no longer on the order'}`,
                  )
                  .join(', ') || '—'}
              </dd>
            </dl>
            {s.events.length > 0 && (
              <details className="events" open>
                <summary>Carrier events ({s.events.length})</summary>
                <ol className="history">
                  {[...s.events]
                    .sort((a, b) => b.time.localeCompare(a.time))
                    .map((e) => (
                      <li key={e.id}>
                        <span className="muted small">{dateTime(e.time)}</span>{' '}
                        {e.description ?? phaseText(e.phase ?? e.code)}
                        {e.location ? <span className="muted small"> · {e.location}</span> : null}
                      </li>
                    ))}
                </ol>
              </details>
            )}
          </div>
        );
      })}
    </section>
  );
}
