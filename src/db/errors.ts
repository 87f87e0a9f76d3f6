/**
 * PostgreSQL unique_violation (23505), raised the same way by pg and PGlite. Drizzle wraps driver errors
 * (DrizzleQueryError), so the code may sit on `cause`.
 */
export function isUniqueViolation(err: unknown): boolean {
  for (
    let e = err, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    if ((e as { code?: string }).code === '23505') return true;
  }
  return false;
}

const UNAVAILABLE_CODES = new Set([
  // Node sockets: the server is not there, went away or does not answer.
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // PostgreSQL: too many connections, shutting down or starting up, connection failures (class 08).
  '53300',
  '57P01',
  '57P02',
  '57P03',
]);
const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /connection is not open|Cannot use a pool after calling end/i,
];

/**
 * The database cannot be reached for now (down, restarting, out of connections, network): a retryable 503 for
 * the caller, not a fault of the request or a bug. Looks through Drizzle's wrapping (`cause`).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (
    let e = err, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = String((e as { code?: unknown }).code ?? '');
    if (UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return true;
    const message = String((e as { message?: unknown }).message ?? '');
    if (UNAVAILABLE_MESSAGES.some((r) => r.test(message))) return true;
  }
  return false;
}
