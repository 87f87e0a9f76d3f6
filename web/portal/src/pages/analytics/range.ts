/**
 * The analytics range lives in the URL (`?range=30` or `?from=…&to=…`, `interval`), so views can be shared.
 * Its days are the shop's (its IANA time zone), not the browser's: every agent of a shop sees the same figures.
 */
export const PRESETS = [7, 30, 90] as const;
export const INTERVALS = ['day', 'week', 'month'] as const;
export type Interval = (typeof INTERVALS)[number];

export interface Range {
  preset: number | null;
  /** Calendar days in the shop's time zone, both inclusive (YYYY-MM-DD). */
  fromDay: string;
  toDay: string;
  interval: Interval;
}

/** The server answers at most this many buckets (src/claims/analytics.ts), counting a month as 28 days. */
export const MAX_BUCKETS = 1000;
const APPROX_DAYS: Record<Interval, number> = { day: 1, week: 7, month: 28 };

const DAY_MS = 86_400_000;

/** Days in the range, both ends included. */
export const daysOf = (r: Pick<Range, 'fromDay' | 'toDay'>) =>
  Math.round((Date.parse(`${r.toDay}T00:00:00Z`) - Date.parse(`${r.fromDay}T00:00:00Z`)) / DAY_MS) + 1;

/** Whether the server can answer `interval` over the range (one day spare for a DST hour at either end). */
export const intervalFits = (r: Pick<Range, 'fromDay' | 'toDay'>, interval: Interval) =>
  Math.ceil((daysOf(r) + 1) / APPROX_DAYS[interval]) <= MAX_BUCKETS;

/** The interval asked for, or the first coarser one the server can answer over the range. */
export function fitInterval(r: Pick<Range, 'fromDay' | 'toDay'>, interval: Interval): Interval {
  const from = INTERVALS.indexOf(interval);
  return INTERVALS.slice(from).find((i) => intervalFits(r, i)) ?? 'month';
}
const pad = (n: number) => String(n).padStart(2, '0');
/** A plain calendar day (as a UTC date) as YYYY-MM-DD. */
const dayOfUtc = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
const addDays = (day: string, n: number) => dayOfUtc(new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS));
const isDay = (s: string | null): s is string =>
  !!s && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));

/** The shop's IANA time zone as the runtime spells it; UTC when it is missing or unknown. */
export function shopZone(tz: string | null | undefined): string {
  if (!tz?.trim()) return 'UTC';
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz.trim() }).resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      numberingSystem: 'latn',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall clock in `zone` at instant `t`, as if it were UTC (ms, to the second). */
function wallClock(zone: string, t: number): number {
  const p: Record<string, number> = {};
  for (const { type, value } of formatter(zone).formatToParts(new Date(t))) p[type] = Number(value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
}

/** The zone's offset from UTC at instant `t` (ms; +3_600_000 for Berlin in winter). */
const offsetAt = (zone: string, t: number) => {
  const s = Math.floor(t / 1000) * 1000;
  return wallClock(zone, s) - s;
};

/** The calendar day in `zone` at instant `now` (YYYY-MM-DD). */
export const dayIn = (zone: string, now: Date = new Date()) =>
  dayOfUtc(new Date(wallClock(zone, now.getTime())));

/**
 * The instant a calendar day starts in `zone`: its midnight, correct across DST changes. Where midnight
 * happens twice (the clock goes back at midnight), the first; where it never happens (the clock jumps over
 * it), the moment the day begins, right after the jump.
 */
export function midnightIn(day: string, zone: string): Date {
  const wall = Date.parse(`${day}T00:00:00Z`);
  const before = offsetAt(zone, wall - DAY_MS);
  const after = offsetAt(zone, wall + DAY_MS);
  const real = [wall - before, wall - after].filter((t) => wallClock(zone, t) === wall);
  return new Date(real.length ? Math.min(...real) : wall - before);
}

/** The range in the URL; "today" (for the presets) is today in the shop's time zone. */
export function rangeOf(search: string, zone: string, now: Date = new Date()): Range {
  const q = new URLSearchParams(search);
  const interval = (INTERVALS as readonly string[]).includes(q.get('interval') ?? '')
    ? (q.get('interval') as Interval)
    : 'day';
  const from = q.get('from');
  const to = q.get('to');
  if (isDay(from) && isDay(to) && from <= to) {
    const days = { fromDay: from, toDay: to };
    // Too many days for daily buckets: by week (or month) instead of a refusal.
    return { preset: null, ...days, interval: fitInterval(days, interval) };
  }
  const n = Number(q.get('range'));
  const preset = (PRESETS as readonly number[]).includes(n) ? n : 30;
  const today = dayIn(zone, now);
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

/** The API's instants: the shop's midnight of the first day, to its midnight after the last (exclusive). */
export function instantsOf(r: Pick<Range, 'fromDay' | 'toDay'>, zone: string) {
  return {
    from: midnightIn(r.fromDay, zone).toISOString(),
    to: midnightIn(addDays(r.toDay, 1), zone).toISOString(),
  };
}

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
