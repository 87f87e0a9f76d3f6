import { type FormEvent, useEffect, useMemo, useState } from 'react';
import type { Static } from 'typebox';
import type { ClaimAnalytics } from '../../../../src/claims/api-schemas';
import type { Shop } from '../App';
import { type ApiError, api, qs } from '../api';
import { ErrorBox, Loading } from '../ui/common';
import { carrierName, channelLabel, countryName, label, money } from '../ui/format';
import { navigate } from '../ui/router';
import { Breakdown, type Row } from './analytics/Breakdown';
import { LineChart } from './analytics/charts';
import {
  bucketLabel,
  INTERVALS,
  type Interval,
  instantsOf,
  PRESETS,
  type Range,
  rangeOf,
  searchOf,
  shopZone,
} from './analytics/range';

type Data = Static<typeof ClaimAnalytics>;
type Bucket = Data['breakdowns']['flow'][number];

const rowsOf = (buckets: Bucket[], none: string, fmt: (k: string) => string = label): Row[] =>
  buckets.map((b) => ({
    key: b.key ?? '∅',
    label: b.key === null ? none : fmt(b.key),
    claims: b.claims,
  }));

export function Analytics({ shop, search }: { shop: Shop; search: string }) {
  // The days are the shop's (its time zone), whatever the browser's: every agent of the shop sees the same
  // figures for "the last 7 days". Nothing is asked for until the shop's zone is known.
  const [zone, setZone] = useState<{ slug: string; tz: string } | null>(null);
  const tz = zone?.slug === shop.slug ? zone.tz : null;
  const range = useMemo(() => rangeOf(search, tz ?? 'UTC'), [search, tz]);
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);
  const { from, to } = instantsOf(range, tz ?? 'UTC');

  useEffect(() => {
    document.title = 'Analytics · Resolve';
  }, []);
  useEffect(() => {
    let live = true;
    setError(null);
    api<{ timezone?: string | null }>('GET', `/v1/shops/${encodeURIComponent(shop.slug)}`).then(
      (s) => live && setZone({ slug: shop.slug, tz: shopZone(s.timezone) }),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [shop.slug]);
  useEffect(() => {
    if (!tz) return;
    let live = true;
    setLoading(true);
    setError(null);
    // Figures of another range never stand next to these dates: cleared until the answer comes.
    setData(null);
    api<Data>(
      'GET',
      `/v1/shops/${shop.slug}/analytics/claims${qs({ from, to, interval: range.interval, tz })}`,
    )
      .then(
        (d) => live && setData(d),
        (e) => live && setError(e),
      )
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [shop.slug, from, to, range.interval, tz]);

  const go = (r: Partial<Range>) => navigate(`/portal/${shop.slug}/analytics${searchOf({ ...range, ...r })}`);
  const exportUrl = `/v1/shops/${shop.slug}/claims/export.csv${qs({ created_from: from, created_to: to, bom: 1 })}`;

  return (
    <section aria-labelledby="analytics-title" className="analytics" aria-busy={loading || (!tz && !error)}>
      <div className="page-head">
        <h1 id="analytics-title">Analytics</h1>
        {tz && (
          <a className="button" href={exportUrl} download>
            Export these claims (CSV)
          </a>
        )}
      </div>
      {tz && <RangeControls range={range} go={go} tz={tz} />}
      <ErrorBox error={error} />
      {!data && !error && <Loading />}
      {data && tz && <Report data={data} />}
    </section>
  );
}

function RangeControls({ range, go, tz }: { range: Range; go(r: Partial<Range>): void; tz: string }) {
  const [fromDay, setFromDay] = useState(range.fromDay);
  const [toDay, setToDay] = useState(range.toDay);
  useEffect(() => {
    setFromDay(range.fromDay);
    setToDay(range.toDay);
  }, [range.fromDay, range.toDay]);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    if (fromDay && toDay && fromDay <= toDay) go({ preset: null, fromDay, toDay });
  };
  return (
    <form className="filters range" onSubmit={apply} aria-label="Date range">
      <fieldset className="plain presets">
        <legend className="label">Range</legend>
        <div className="segmented">
          {PRESETS.map((n) => (
            <button key={n} type="button" aria-pressed={range.preset === n} onClick={() => go({ preset: n })}>
              Last {n} days
            </button>
          ))}
        </div>
      </fieldset>
      <label>
        <span className="label">From</span>
        <input type="date" value={fromDay} max={toDay} onChange={(e) => setFromDay(e.target.value)} />
      </label>
      <label>
        <span className="label">To</span>
        <input type="date" value={toDay} min={fromDay} onChange={(e) => setToDay(e.target.value)} />
      </label>
      <button className="button" type="submit" disabled={!fromDay || !toDay || fromDay > toDay}>
        Apply dates
      </button>
      <label>
        <span className="label">Interval</span>
        <select value={range.interval} onChange={(e) => go({ interval: e.target.value as Interval })}>
          {INTERVALS.map((i) => (
            <option key={i} value={i}>
              {label(i)}
            </option>
          ))}
        </select>
      </label>
      <span className="muted small tz" data-testid="analytics-tz">
        Days in {tz} (the shop’s time zone)
      </span>
    </form>
  );
}

function Report({ data }: { data: Data }) {
  const interval = data.interval as Interval;
  const b = data.breakdowns;
  const total = data.totals.claims;
  return (
    <>
      <dl className="totals" data-testid="totals">
        <div>
          <dt>Claims</dt>
          <dd data-testid="total-claims">{data.totals.claims}</dd>
        </div>
        <div>
          <dt>Affected orders</dt>
          <dd data-testid="total-orders">{data.totals.orders}</dd>
        </div>
        <div>
          <dt>Claimed units</dt>
          <dd data-testid="total-units">{data.totals.units}</dd>
        </div>
        <div>
          <dt>Claim value</dt>
          <dd data-testid="total-value">
            {data.totals.value.length
              ? data.totals.value.map((v) => (
                  <span key={v.currency} className="block">
                    {money(v.amount, v.currency)}
                  </span>
                ))
              : '—'}
          </dd>
        </div>
      </dl>

      <section className="card" aria-labelledby="over-time-title" data-testid="over-time">
        <h2 id="over-time-title">Claims and affected orders over time</h2>
        <LineChart
          labels={data.series.map((s) => bucketLabel(s.date, interval))}
          claims={data.series.map((s) => s.claims)}
          orders={data.series.map((s) => s.orders)}
          label={`Line chart: claims and affected orders per ${interval}. The numbers are in the table below.`}
        />
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard */}
        <section className="table-scroll" tabIndex={0} aria-label="Claims and affected orders per bucket">
          <table className="grid-table numbers">
            <caption className="sr-only">Claims and affected orders per {interval}</caption>
            <thead>
              <tr>
                <th scope="col">{label(interval)}</th>
                <th scope="col" className="num">
                  Claims
                </th>
                <th scope="col" className="num">
                  Affected orders
                </th>
              </tr>
            </thead>
            <tbody>
              {data.series.map((s) => (
                <tr key={s.date} className={s.claims ? undefined : 'zero'}>
                  <th scope="row">{bucketLabel(s.date, interval, true)}</th>
                  <td className="num">{s.claims}</td>
                  <td className="num">{s.orders}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr data-testid="series-total">
                <th scope="row">Whole range</th>
                <td className="num">{data.totals.claims}</td>
                <td
                  className="num"
                  title="Distinct orders: an order with claims in several buckets counts once"
                >
                  {data.totals.orders}
                </td>
              </tr>
            </tfoot>
          </table>
        </section>
      </section>

      <div className="breakdowns">
        <Breakdown id="flow" title="Flow" total={total} rows={rowsOf(b.flow, 'None')} />
        <Breakdown
          id="reason"
          title="Reason"
          total={total}
          rows={b.reason.map((r) => ({
            key: `${r.flow}/${r.key}`,
            label: label(r.key),
            detail: label(r.flow),
            claims: r.claims,
          }))}
        />
        <Breakdown
          id="preference"
          title="Preferred resolution"
          total={total}
          rows={rowsOf(b.resolution_preference, 'No preference')}
        />
        <Breakdown
          id="carrier"
          title="Carrier"
          total={total}
          rows={rowsOf(b.carrier, 'No carrier', carrierName)}
        />
        <Breakdown
          id="country"
          title="Country"
          total={total}
          rows={rowsOf(b.country, 'Unknown', countryName)}
        />
        <Breakdown
          id="phase"
          title="Shipment phase at submission"
          total={total}
          rows={rowsOf(b.shipment_phase, 'No single shipment')}
        />
        <Breakdown
          id="product"
          title="Product"
          total={total}
          otherLabel="Units"
          note={
            data.products_truncated
              ? 'Only the 100 products with the most claimed units are listed.'
              : undefined
          }
          rows={b.product.map((p) => ({
            key: `${p.sku ?? ''}/${p.title ?? ''}`,
            label: p.title ?? p.sku ?? 'Unknown product',
            detail: p.sku ? `SKU ${p.sku}` : 'No SKU',
            claims: p.claims,
            other: p.units,
          }))}
        />
        <Breakdown id="status" title="Status" total={total} rows={rowsOf(b.status, 'None')} />
        <Breakdown
          id="channel"
          title="Channel"
          total={total}
          rows={rowsOf(b.channel, 'None', channelLabel)}
        />
      </div>
    </>
  );
}
