import type { RouteOptions } from 'fastify';
import { AppError } from '../lib/errors.js';

/**
 * Query-string checks the schema validator cannot make, since it coerces text to numbers first: a whole number
 * is digits (`per_page=0x10`, `1e1` or ` 5` are not 16, 10 or 5), and a range's end is not before its start
 * (`created_from` after `created_to` is a mistake, not an empty list). Route names are read from each route's
 * query schema once, when it is registered.
 */
export interface QueryChecks {
  integers: string[];
  ranges: [from: string, to: string][];
}

type Props = Record<string, { type?: unknown; format?: unknown }>;

export function queryChecksOf(route: RouteOptions): QueryChecks | null {
  const props = (route.schema?.querystring as { properties?: Props } | undefined)?.properties;
  if (!props) return null;
  const names = Object.keys(props);
  const integers = names.filter((n) => props[n].type === 'integer');
  const ranges = names
    .filter((n) => n.endsWith('_from') && props[n].format === 'date-time')
    .map((n): [string, string] => [n, `${n.slice(0, -'_from'.length)}_to`])
    .filter(([, to]) => props[to]?.format === 'date-time');
  return integers.length || ranges.length ? { integers, ranges } : null;
}

const invalid = (name: string, message: string) =>
  new AppError('validation_failed', 'The request is invalid.', [{ path: `querystring:/${name}`, message }]);

/** Throws 400 validation_failed naming the parameter; `query` is the raw (not yet coerced) query. */
export function checkQuery(checks: QueryChecks, query: Record<string, unknown>): void {
  for (const name of checks.integers) {
    const v = query[name];
    if (typeof v === 'string' && !/^-?\d{1,15}$/.test(v))
      throw invalid(name, 'must be a whole number, in digits');
  }
  for (const [from, to] of checks.ranges) {
    const a = query[from];
    const b = query[to];
    if (typeof a !== 'string' || typeof b !== 'string') continue;
    const [ta, tb] = [Date.parse(a), Date.parse(b)];
    if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta > tb) throw invalid(to, `must not be before ${from}`);
  }
}
