/** The analytics range lives in the URL (`?range=30` or `?from=…&to=…`, `interval`), so views can be shared. */
export const PRESETS = [7, 30, 90] as const;
export const INTERVALS = ['day', 'week', 'month'] as const;
export type Interval = (typeof INTERVALS)[number];

export interface Range {
  preset: number | null;
  /** Local calendar days, both inclusive (YYYY-MM-DD). */
  fromDay: string;
  toDay: string;
  interval: Interval;
}

const pad = (n: number) => String(n).padStart(2, '0');
export const dayOf = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const addDays = (day: string, n: number) => {
  const d = new Date(`${day}T00:00:00`);
  d.setDate(d.getDate() + n);
  return dayOf(d);
};
const isDay = (s: string | null): s is string =>
  !!s && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));

export function rangeOf(search: string, now = new Date()): Range {
  const q = new URLSearchParams(search);
  const interval = (INTERVALS as readonly string[]).includes(q.get('interval') ?? '')
    ? (q.get('interval') as Interval)
    : 'day';
  const from = q.get('from');
  const to = q.get('to');
  if (isDay(from) && isDay(to) && from <= to) return { preset: null, fromDay: from, toDay: to, interval };
  const n = Number(q.get('range'));
  const preset = (PRESETS as readonly number[]).includes(n) ? n : 30;
  const today = dayOf(now);
  return { preset, fromDay: addDays(today, -(preset - 1)), toDay: today, interval };
}

export function searchOf(r: {
  preset: number | null;
  fromDay: string;
  toDay: string;
  interval: Interval;
}): string {
  const q = new URLSearchParams();
  if (r.preset) q.set('range', String(r.preset));
  else {
    q.set('from', r.fromDay);
    q.set('to', r.toDay);
  }
  if (r.interval !== 'day') q.set('interval', r.interval);
  return `?${q}`;
}

/** The API's instants: local midnight of the first day, to local midnight after the last (exclusive). */
export function instantsOf(r: Range) {
  return {
    from: new Date(`${r.fromDay}T00:00:00`).toISOString(),
    to: new Date(`${addDays(r.toDay, 1)}T00:00:00`).toISOString(),
  };
}

export const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** A bucket's label from its first local day (already in the requested zone: formatted as a plain date). */
export function bucketLabel(date: string, interval: Interval, long = false): string {
  const d = new Date(`${date}T00:00:00Z`);
  if (interval === 'month')
    return new Intl.DateTimeFormat('en-GB', {
      month: long ? 'long' : 'short',
      year: 'numeric',
      timeZone: 'UTC',
    }).format(d);
  const day = new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'short',
    ...(long ? { year: 'numeric', weekday: 'short' } : {}),
    timeZone: 'UTC',
  }).format(d);
  return interval === 'week' ? `Week of ${day}` : day;
}
