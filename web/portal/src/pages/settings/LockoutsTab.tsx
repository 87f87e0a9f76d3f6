import { useCallback, useEffect, useState } from 'react';
import type { Shop } from '../../App';
import { type ApiError, api } from '../../api';
import { ErrorBox, Loading } from '../../ui/common';
import { dateTime } from '../../ui/format';
import { onLink } from '../../ui/router';
import { ConfirmButton } from './ui';

interface Lockout {
  order_number: string;
  order: { id: string; order_number: string } | null;
  failures: number;
  locked_until: string;
}
interface Lockouts {
  data: Lockout[];
  policy: { failures: number; lock_seconds: number };
}

const duration = (s: number) =>
  s % 3600 === 0
    ? `${s / 3600} hour${s === 3600 ? '' : 's'}`
    : s % 60 === 0
      ? `${s / 60} minute${s === 60 ? '' : 's'}`
      : `${s} seconds`;

/**
 * Order numbers locked after repeated failed lookups (SPEC §3). A customer who mistyped their ZIP code too often
 * calls support; here the merchant sees why and can lift the lock.
 */
export function LockoutsTab({ shop }: { shop: Shop }) {
  const url = `/v1/shops/${shop.slug}/lookup-lockouts`;
  const [list, setList] = useState<Lockouts | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const canLift = shop.role !== 'viewer';
  const load = useCallback(
    () =>
      api<Lockouts>('GET', url).then((r) => {
        setList(r);
        setError(null);
      }, setError),
    [url],
  );
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section className="card" aria-labelledby="lockouts-title">
      <div className="page-head">
        <h2 id="lockouts-title">Locked order lookups</h2>
        <button type="button" className="button small" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {list && (
        <p className="muted small" data-testid="lockout-policy">
          After {list.policy.failures} failed lookups of one order number (a wrong ZIP code, or a number that
          is no order), that number is locked for {duration(list.policy.lock_seconds)}: customers who look it
          up are asked to try again later. Lift a lock when a customer who really has the order asks for help.
        </p>
      )}
      <ErrorBox error={error} />
      {!list && !error && <Loading />}
      {list && list.data.length === 0 && <p className="muted">No order number is locked.</p>}
      {list && list.data.length > 0 && (
        <table className="grid-table" data-testid="lockouts-table">
          <thead>
            <tr>
              <th scope="col">Order number</th>
              <th scope="col">Order</th>
              <th scope="col">Failed lookups</th>
              <th scope="col">Locked until</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((l) => (
              <tr key={l.order_number} data-testid="lockout-row">
                <th scope="row">
                  <code>{l.order_number}</code>
                </th>
                <td>
                  {l.order ? (
                    <a
                      href={`/portal/${shop.slug}/claims?order_id=${encodeURIComponent(l.order.id)}`}
                      onClick={onLink}
                    >
                      {l.order.order_number} · claims
                    </a>
                  ) : (
                    <span className="muted">No such order (someone guessing numbers?)</span>
                  )}
                </td>
                <td>{l.failures}</td>
                <td>{dateTime(l.locked_until)}</td>
                <td className="actions">
                  {canLift && (
                    <ConfirmButton
                      className="button small"
                      title={`Lift the lock on order number ${l.order_number}?`}
                      message={
                        <p>
                          Anyone can try ZIP codes for this number again, {list.policy.failures} more times
                          before it locks again.
                        </p>
                      }
                      confirmText="Lift lock"
                      ariaLabel={`Lift lock on ${l.order_number}`}
                      onConfirm={async () => {
                        await api('DELETE', `${url}/${encodeURIComponent(l.order_number)}`);
                        await load();
                      }}
                    >
                      Lift lock
                    </ConfirmButton>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
