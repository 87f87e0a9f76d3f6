import { type FormEvent, useEffect, useState } from 'react';
import type { Shop } from '../../App';
import { type ApiError, api, type Order, type Page, qs } from '../../api';
import { Badge, ErrorBox, Loading } from '../../ui/common';
import { date, money } from '../../ui/format';
import { navigate, onLink } from '../../ui/router';
import { useTitle } from '../../ui/title';
import { customerName, STATE } from './text';

const FIELDS = [
  ['order_number', 'Order number', 'e.g. 1001'],
  ['email', 'Customer email', 'name@example.com'],
  ['zip_code', 'ZIP code', 'e.g. 10115'],
] as const;
type Field = (typeof FIELDS)[number][0];
type Search = Record<Field, string>;

const fromUrl = (search: string): Search => {
  const p = new URLSearchParams(search);
  return {
    order_number: p.get('order_number') ?? '',
    email: p.get('email') ?? '',
    zip_code: p.get('zip_code') ?? '',
  };
};

/**
 * The shop's orders, newest first, narrowed by order number, customer email and ZIP (GET …/orders, each filled
 * field narrows, matched exactly). The URL holds the search, so a search can be shared or reloaded.
 */
export function Orders({ shop, search }: { shop: Shop; search: string }) {
  useTitle('Orders');
  const applied = fromUrl(search);
  const [form, setForm] = useState<Search>(applied);
  const [rows, setRows] = useState<Order[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [more, setMore] = useState(false);
  const query = qs({ ...applied, per_page: 25 });
  const base = `/portal/${shop.slug}/orders`;
  const filtered = FIELDS.some(([k]) => applied[k]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the query string is the search
  useEffect(() => {
    setRows(null);
    setError(null);
    setForm(fromUrl(search));
    api<Page<Order>>('GET', `/v1/shops/${shop.slug}/orders${query}`).then((r) => {
      setRows(r.data);
      setNext(r.has_more ? r.next_cursor : null);
    }, setError);
  }, [shop.slug, query]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    navigate(`${base}${qs({ ...form, email: form.email.trim(), order_number: form.order_number.trim() })}`);
  };
  const loadMore = async () => {
    if (!next) return;
    setMore(true);
    try {
      const r = await api<Page<Order>>(
        'GET',
        `/v1/shops/${shop.slug}/orders${qs({ ...applied, cursor: next })}`,
      );
      setRows((prev) => [...(prev ?? []), ...r.data]);
      setNext(r.has_more ? r.next_cursor : null);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setMore(false);
    }
  };

  return (
    <section aria-labelledby="orders-title">
      <div className="page-head">
        <h1 id="orders-title">Orders</h1>
      </div>
      <form className="filters" aria-label="Search orders" onSubmit={submit}>
        {FIELDS.map(([key, text, hint]) => (
          <label key={key}>
            <span className="label">{text}</span>
            <input
              type={key === 'email' ? 'email' : 'search'}
              name={key}
              placeholder={hint}
              value={form[key]}
              maxLength={key === 'email' ? 320 : key === 'zip_code' ? 32 : 100}
              onChange={(e) => setForm({ ...form, [key]: e.target.value })}
            />
          </label>
        ))}
        <div className="row">
          <button className="button primary" type="submit">
            Search
          </button>
          {filtered && (
            <a className="button" href={base} onClick={onLink}>
              Show all orders
            </a>
          )}
        </div>
      </form>
      <p className="muted small">
        Each field you fill narrows the search; order numbers, emails and ZIP codes are matched in full.
      </p>
      <ErrorBox error={error} />
      {!rows && !error && <Loading />}
      {rows && rows.length === 0 && (
        <p className="empty">
          {filtered ? 'No order matches this search. Check the number, email or ZIP code.' : 'No orders yet.'}
        </p>
      )}
      {rows && rows.length > 0 && (
        <table className="claims-table" aria-label="Orders">
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Placed</th>
              <th scope="col">Customer</th>
              <th scope="col">State</th>
              <th scope="col">Total</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((o) => (
              <tr key={o.id} data-testid="order-row">
                <td>
                  <a href={`${base}/${encodeURIComponent(o.id)}`} onClick={onLink}>
                    {o.order_name ?? o.order_number}
                  </a>
                </td>
                <td className="nowrap">{date(o.placed_at)}</td>
                <td className="truncate">
                  {customerName(o.customer) ?? '—'}
                  {o.customer.email && <span className="muted small block">{o.customer.email}</span>}
                </td>
                <td>
                  <Badge value={STATE[o.state].text} kind={STATE[o.state].kind} />
                </td>
                <td className="nowrap">{money(o.totals.total, o.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <p>
          <button type="button" className="button" onClick={loadMore} disabled={more}>
            {more ? 'Loading…' : 'Show more orders'}
          </button>
        </p>
      )}
    </section>
  );
}
