import { EgressRefused, refusedSetting } from '../egress.js';
import {
  type Connection,
  type PlatformDeps,
  PlatformError,
  type PlatformErrorKind,
  SettingError,
} from '../platform.js';
import type { Parser } from './schemas.js';

/**
 * HTTP access to one store's WooCommerce REST API v3 (`/wp-json/wc/v3`). Authentication is the REST API key
 * over HTTPS as HTTP Basic (`consumer_key:consumer_secret`), or as query parameters for servers that strip the
 * Authorization header (`query_string_auth=true`). Plain-HTTP stores need OAuth 1.0a one-legged signing, which
 * this connector does not implement: they are refused. `api_base_url` (test-only) points the client at a
 * simulator and is used as given, http included.
 */

type Query = Record<string, string | number | boolean | (string | number)[] | undefined>;

export interface WooResponse<T> {
  data: T;
  headers: Headers;
}

/** Attempts per call when the store answers 429 (or 503 with Retry-After on a safe method). */
export const MAX_ATTEMPTS = 5;
/** A longer Retry-After is handed to the job layer (PlatformError rate_limited) instead of blocking a worker. */
export const MAX_WAIT_MS = 60_000;
const TIMEOUT_MS = 30_000;

/** Errors WooCommerce reports as HTTP 500 although the request itself was refused (wc_create_refund). */
const REFUSALS_AS_500 = new Set([
  'woocommerce_rest_cannot_create_order_refund',
  'woocommerce_rest_invalid_order_id',
]);

export class WooClient {
  readonly base: string;
  readonly root: string;
  private readonly problem: PlatformError | null = null;
  private readonly auth: { header: string | null; query: Query };

  constructor(
    conn: Connection,
    private readonly deps: PlatformDeps,
  ) {
    const s = conn.settings;
    const key = conn.credentials.consumer_key ?? '';
    const secret = conn.credentials.consumer_secret ?? '';
    const testBase = s.api_base_url?.trim();
    const store = (s.store_url ?? '').trim().replace(/\/+$/, '');
    this.base = testBase ? testBase.replace(/\/+$/, '') : `${store}/wp-json/wc/v3`;
    this.root = this.base.replace(/\/wc\/v3$/, '');
    if (!key || !secret)
      this.problem = new SettingError(
        `/credentials/${key ? 'consumer_secret' : 'consumer_key'}`,
        'consumer key and secret are required',
        'auth_failed',
      );
    else if (!testBase && !/^https:\/\/[^/]+/i.test(store))
      this.problem = new SettingError(
        '/settings/store_url',
        'store_url must be an https:// URL: WooCommerce accepts API keys over plain HTTP only with OAuth 1.0a signing',
        'unsupported',
      );
    this.auth =
      s.query_string_auth === 'true'
        ? { header: null, query: { consumer_key: key, consumer_secret: secret } }
        : { header: `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`, query: {} };
  }

  get<T>(path: string, query: Query, parse: Parser<T>, what: string) {
    return this.request('GET', path, query, undefined, parse, what);
  }
  post<T>(path: string, body: unknown, parse: Parser<T>, what: string) {
    return this.request('POST', path, {}, body, parse, what);
  }
  put<T>(path: string, body: unknown, parse: Parser<T>, what: string) {
    return this.request('PUT', path, {}, body, parse, what);
  }

  /** One call with bounded waits on 429 / 503+Retry-After; a `path` starting with `/wp-json` is site-relative. */
  async request<T>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    query: Query,
    body: unknown,
    parse: Parser<T>,
    what: string,
  ): Promise<WooResponse<T>> {
    if (this.problem) throw this.problem;
    // Paths under the site root (the public REST index) go out without the API key.
    const open = path.startsWith('/wp-json');
    const url = this.url(path, open ? query : { ...query, ...this.auth.query });
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.deps.fetch(url, {
          method,
          headers: {
            accept: 'application/json',
            'user-agent': 'Resolve (woocommerce connector)',
            ...(this.auth.header && !open ? { authorization: this.auth.header } : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (err) {
        if (err instanceof EgressRefused) throw refusedSetting('store_url', 'WooCommerce', err);
        throw new PlatformError('unavailable', `WooCommerce unreachable: ${(err as Error).message}`);
      }
      const text = await res.text().catch(() => '');
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = undefined;
      }
      if (res.ok) {
        if (json === undefined)
          throw new PlatformError('unavailable', `WooCommerce sent non-JSON for ${what}`);
        return { data: parse(json, what), headers: res.headers };
      }
      const waitMs = this.retryAfterMs(res.headers.get('retry-after'));
      const retryable = res.status === 429 || (res.status === 503 && waitMs !== null && method !== 'POST');
      const wait = waitMs ?? 1000 * 2 ** (attempt - 1);
      if (retryable && attempt < MAX_ATTEMPTS && wait <= MAX_WAIT_MS) {
        this.deps.log.warn(
          { status: res.status, waitMs: wait, attempt, what },
          'woocommerce: throttled, waiting',
        );
        await this.deps.sleep(wait);
        continue;
      }
      throw toError(res.status, json, waitMs ?? (res.status === 429 ? wait : null), what);
    }
  }

  private url(path: string, query: Query): string {
    const base = path.startsWith('/wp-json') ? this.root + path.slice('/wp-json'.length) : this.base + path;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) params.set(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    const qs = params.toString();
    return qs ? `${base}?${qs}` : base;
  }

  /** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
  private retryAfterMs(h: string | null): number | null {
    if (!h) return null;
    if (/^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
    const at = Date.parse(h);
    return Number.isNaN(at) ? null : Math.max(0, at - this.deps.now().getTime());
  }
}

/** WordPress REST errors are `{code, message, data: {status}}`; map the status to the port's vocabulary. */
function toError(status: number, body: unknown, retryAfterMs: number | null, what: string): PlatformError {
  const b = (body && typeof body === 'object' ? body : {}) as { code?: unknown; message?: unknown };
  const code = typeof b.code === 'string' ? b.code : null;
  const msg = `WooCommerce ${status} on ${what}${code ? ` (${code})` : ''}${typeof b.message === 'string' ? `: ${b.message}` : ''}`;
  let kind: PlatformErrorKind;
  if (status === 401 || status === 403) kind = 'auth_failed';
  else if (status === 404) kind = 'not_found';
  else if (status === 429) kind = 'rate_limited';
  else if (status >= 500 && code && REFUSALS_AS_500.has(code))
    // wc_create_refund's errors come back as 500; a gateway without API refunds is a shop limitation.
    kind = /does not support automatic refunds/i.test(String(b.message)) ? 'unsupported' : 'rejected';
  else if (status >= 500) kind = 'unavailable';
  else kind = 'rejected';
  return new PlatformError(
    kind,
    msg,
    kind === 'rate_limited' || kind === 'unavailable' ? retryAfterMs : null,
    {
      status,
      code,
    },
  );
}
