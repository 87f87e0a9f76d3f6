/**
 * The methods each API path answers, collected from the routes as they are registered: a request that matches a
 * path but not its method is a 405 `method_not_allowed` with `Allow` (RFC 9110 §15.5.6), not a 404 that makes an
 * integrator doubt the path.
 */
export class AllowedMethods {
  private readonly byUrl = new Map<string, Set<string>>();
  private compiled: { pattern: RegExp; methods: Set<string> }[] | null = null;

  add(url: string, method: string | string[]): void {
    if (!url.startsWith('/v1/')) return;
    const methods = this.byUrl.get(url) ?? new Set<string>();
    for (const m of Array.isArray(method) ? method : [method]) methods.add(m.toUpperCase());
    if (methods.has('GET')) methods.add('HEAD');
    this.byUrl.set(url, methods);
    this.compiled = null;
  }

  /** The methods some route answers on this concrete path (query string ignored), sorted; empty when none. */
  of(path: string): string[] {
    this.compiled ??= [...this.byUrl].map(([url, methods]) => ({ pattern: patternOf(url), methods }));
    const p = path.split('?')[0].replace(/(.)\/+$/, '$1');
    const found = new Set<string>();
    for (const { pattern, methods } of this.compiled)
      if (pattern.test(p)) for (const m of methods) found.add(m);
    return [...found].sort();
  }
}

/** `/v1/shops/:slug/claims/:id` → a pattern for one concrete path: a parameter is one non-empty segment part. */
function patternOf(url: string): RegExp {
  const parts = url.split(/(:[A-Za-z_][A-Za-z0-9_]*|\*)/);
  const source = parts
    .map((part) =>
      part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`);
}
