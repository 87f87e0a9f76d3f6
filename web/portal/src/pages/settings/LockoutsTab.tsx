import { useCallback, useEffect, useState } from 'react';
import type { Shop } from '../../App';
import { type ApiError, api } from '../../api';
import { ErrorBox, Loading } from '../../ui/common';
import { dateTime } from '../../ui/format';
import { onLink } from '../../ui/router';
import { ConfirmButton } from './ui';

interface Lockout {
  kind: 'order_number' | 'client_ip';
  /** Set for `order_number`, null for `client_ip`. */
  order_number: string | null;
  /** Set for `client_ip`, null for `order_number`. */
  client_ip: string | null;
  order: { id: string; order_number: string } | null;
  failures: number;
  locked_until: string;
}
interface Lockouts {
  data: Lockout[];
  policy: { failures: number; ip_failures: number; lock_seconds: number };
}

const KIND_LABEL: Record<Lockout['kind'], string> = { order_number: 'Order number', client_ip: 'Client IP' };

const duration = (s: number) =>
  s % 3600 === 0
    ? `${s / 3600} hour${s === 3600 ? '' : 's'}`
    : s % 60 === 0
      ? `${s / 60} minute${s === 60 ? '' : 's'}`
      : `${s} seconds`;

/**
 * Order numbers and client IPs locked after repeated failed lookups (SPEC §3). A customer who mistyped their ZIP
 * code too often, or who shares a network address with someone who did, calls support; here the merchant sees why
 * and can lift the lock.
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
        <>
          <p className="muted small" data-testid="lockout-policy">
            After {list.policy.failures} failed lookups of one order number (a wrong ZIP code, or a number
            that is no order), that number is locked for {duration(list.policy.lock_seconds)}: customers who
            look it up are asked to try again later. Lift a lock when a customer who really has the order asks
            for help.
          </p>
          <p className="muted small" data-testid="lockout-ip-policy">
            After {list.policy.ip_failures} failed lookups from one client IP (network address) in this shop,
            whatever the order numbers, lookups from that address are locked for the same time. An IP lock-out
            usually means a shared network, such as an office or a mobile carrier where many people use one
            address, or someone guessing order numbers.
          </p>
        </>
      )}
      <ErrorBox error={error} />
      {!list && !error && <Loading />}
      {list && list.data.length === 0 && <p className="muted">No order number or client IP is locked.</p>}
      {list && list.data.length > 0 && (
        <table className="grid-table" data-testid="lockouts-table">
          <thead>
            <tr>
              <th scope="col">Locked</th>
              <th scope="col">Kind</th>
              <th scope="col">Order</th>
              <th scope="col">Failed lookups</th>
              <th scope="col">Locked until</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((l) => {
              const value = (l.kind === 'client_ip' ? l.client_ip : l.order_number) ?? '';
              const lift =
                l.kind === 'client_ip'
                  ? {
                      title: `Lift the lock on client IP ${value}?`,
                      message: `Lookups from this address may fail ${list.policy.ip_failures} more times before it locks again.`,
                      path: `${url}/ip/${encodeURIComponent(value)}`,
                    }
                  : {
                      title: `Lift the lock on order number ${value}?`,
                      message: `Anyone can try ZIP codes for this number again, ${list.policy.failures} more times before it locks again.`,
                      path: `${url}/${encodeURIComponent(value)}`,
                    };
              return (
                <tr key={`${l.kind}:${value}`} data-testid="lockout-row" data-kind={l.kind}>
                  <th scope="row">
                    <code>{value}</code>
                  </th>
                  <td>{KIND_LABEL[l.kind]}</td>
                  <td>
                    {l.kind === 'client_ip' ? (
                      <span className="muted">Any order number from this address</span>
                    ) : l.order ? (
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
                        title={lift.title}
                        message={<p>{lift.message}</p>}
                        confirmText="Lift lock"
                        ariaLabel={`Lift lock on ${value}`}
                        onConfirm={async () => {
                          await api('DELETE', lift.path);
                          await load();
                        }}
                      >
                        Lift lock
                      </ConfirmButton>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
