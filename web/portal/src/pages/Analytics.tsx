import { type FormEvent, useEffect, useMemo, useState } from 'react';
import type { Static } from 'typebox';
import type { ClaimAnalytics } from '../../../../src/claims/api-schemas';
import type { FlowSettings, ResolveSettings } from '../../../../src/resolve/settings';
import type { Shop } from '../App';
import { type ApiError, api, qs } from '../api';
import { ErrorBox, Loading } from '../ui/common';
import { carrierName, channelLabel, countryName, label, money } from '../ui/format';
import { navigate } from '../ui/router';
import { useTitle } from '../ui/title';
import { Breakdown, type Row } from './analytics/Breakdown';
import { LineChart } from './analytics/charts';
import {
  bucketLabel,
  daysOf,
  fitInterval,
  INTERVALS,
  type Interval,
  instantsOf,
  intervalFits,
  MAX_BUCKETS,
  PRESETS,
  type Range,
  rangeOf,
  searchOf,
  shopZone,
} from './analytics/range';

type Data = Static<typeof ClaimAnalytics>;
type Bucket = Data['breakdowns']['flow'][number];

/** A reason's name: the shop's own label (English) for the flow's code, else one derived from the code. */
type ReasonName = (flow: string, code: string | null) => string;
const reasonNamer =
  (settings: ResolveSettings | null): ReasonName =>
  (flow, code) => {
    if (!settings || code === null) return label(code);
    const reasons = (settings.flows as Record<string, FlowSettings>)[flow]?.reasons;
    const found = reasons?.find((r) => r.code === code);
    return found ? found.labels.en || label(code) : `${label(code)} (no longer offered)`;
  };

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

  useTitle('Analytics');
  // The shop's reason labels (its own words, not the codes'); without them (a failure) names from the codes.
  const [settings, setSettings] = useState<{ slug: string; s: ResolveSettings | null } | null>(null);
  useEffect(() => {
    let live = true;
    api<ResolveSettings>('GET', `/v1/shops/${encodeURIComponent(shop.slug)}/settings/resolve`).then(
      (s) => live && setSettings({ slug: shop.slug, s }),
      () => live && setSettings({ slug: shop.slug, s: null }),
    );
    return () => {
      live = false;
    };
  }, [shop.slug]);
  const reasonName = useMemo(
    () => reasonNamer(settings?.slug === shop.slug ? settings.s : null),
    [settings, shop.slug],
  );
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
      {data && tz && <Report data={data} reasonName={reasonName} />}
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
  // Why the dates cannot be applied, said at the fields rather than only by a disabled button.
  const problem =
    !fromDay || !toDay
      ? 'Enter both dates.'
      : fromDay > toDay
        ? '“From” is after “To”: choose a From date on or before the To date.'
        : null;
  const apply = (e: FormEvent) => {
    e.preventDefault();
    if (problem) return;
    const days = { fromDay, toDay };
    go({ preset: null, ...days, interval: fitInterval(days, range.interval) });
  };
  const dateAria = problem ? { 'aria-invalid': true as const, 'aria-describedby': 'range-dates-error' } : {};
  const tooFine = INTERVALS.filter((i) => !intervalFits(range, i));
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
        <input
          type="date"
          value={fromDay}
          max={toDay}
          onChange={(e) => setFromDay(e.target.value)}
          {...dateAria}
        />
      </label>
      <label>
        <span className="label">To</span>
        <input
          type="date"
          value={toDay}
          min={fromDay}
          onChange={(e) => setToDay(e.target.value)}
          {...dateAria}
        />
      </label>
      <button
        className="button"
        type="submit"
        disabled={!!problem}
        aria-describedby={problem ? 'range-dates-error' : undefined}
      >
        Apply dates
      </button>
      <label>
        <span className="label">Interval</span>
        <select
          value={range.interval}
          onChange={(e) => go({ interval: e.target.value as Interval })}
          aria-describedby={tooFine.length ? 'range-interval-hint' : undefined}
        >
          {INTERVALS.map((i) => (
            <option key={i} value={i} disabled={tooFine.includes(i)}>
              {label(i)}
            </option>
          ))}
        </select>
      </label>
      <span className="muted small tz" data-testid="analytics-tz">
        Days in {tz} (the shop’s time zone)
      </span>
      {problem && (
        <span
          className="field-error range-note"
          id="range-dates-error"
          role="alert"
          data-testid="range-dates-error"
        >
          {problem}
        </span>
      )}
      {tooFine.length > 0 && (
        <span className="muted small range-note" id="range-interval-hint" data-testid="range-interval-hint">
          {daysOf(range)} days are too many for {tooFine.map((i) => label(i).toLowerCase()).join(' or ')}{' '}
          buckets (at most {MAX_BUCKETS}): shown by {range.interval}.
        </span>
      )}
    </form>
  );
}

function Report({ data, reasonName }: { data: Data; reasonName: ReasonName }) {
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
            label: reasonName(r.flow, r.key),
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
