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
