import { createHash } from 'node:crypto';
import type { TSchema } from 'typebox';
import { EgressRefused, refusedSetting } from '../egress.js';
import { type Connection, type PlatformDeps, PlatformError, SettingError } from '../platform.js';
import { parse, StateSearch, Token } from './schemas.js';

/** How often one call waits out a 429 before giving up with `rate_limited`. */
const MAX_RATE_LIMIT_WAITS = 5;
/** Refresh the token this long before Shopware says it expires (its tokens live 600 s). */
const TOKEN_MARGIN_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;

type Json = Record<string, unknown>;

/**
 * Shopware ids are client-chosen 32-hex UUIDs. Deriving an entity's id from the action's idempotency key makes
 * a retry address the very entity the first attempt created (or tried to), so it is found, never duplicated.
 */
export const derivedId = (...parts: string[]) =>
  createHash('sha256')
    .update(`resolve:${parts.join(':')}`)
    .digest('hex')
    .slice(0, 32);

export interface CallOptions {
  body?: unknown;
  query?: Record<string, string>;
}

/** `https://shop.example.com` (or `…/api`) → the Admin API root `https://shop.example.com/api`. */
export function adminApiRoot(apiUrl: string | undefined, field = 'api_url'): string {
  const raw = (apiUrl ?? '').trim().replace(/\/+$/, '');
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  // A setting the merchant must fix: like bad credentials, sync stops and says so.
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw new SettingError(
      `/settings/${field}`,
      `${field} must be the shop URL, e.g. https://shop.example.com`,
      'auth_failed',
    );
  return raw.endsWith('/api') ? raw : `${raw}/api`;
}

/** Retry-After is delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterMs(res: Response, now: Date): number | null {
  const v = res.headers.get('retry-after');
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}

/** Shopware's error envelope `{errors: [{status, code, title, detail}]}` → one line. */
function errorText(body: unknown, status: number): string {
  const e = (body as { errors?: { code?: string; title?: string; detail?: string }[] } | null)?.errors?.[0];
  if (!e) return `HTTP ${status}`;
  return [e.code, e.detail || e.title].filter(Boolean).join(': ');
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * One shop's Admin API session: OAuth client-credentials token cached until shortly before expiry, one
 * re-authentication on a 401, 429s waited out (Retry-After) a bounded number of times, and HTTP failures
 * mapped to PlatformError kinds.
 */
export class ShopwareApi {
  private token: { value: string; expiresAt: number } | null = null;
  private pendingToken: Promise<string> | null = null;
  private stateIds = new Map<string, string>();

  constructor(
    private readonly conn: Connection,
    private readonly deps: PlatformDeps,
  ) {}

  /**
   * Checked on use, so a bad setting surfaces as a PlatformError from the call, not from `create`. The test-only
   * `api_base_url` (a simulator; see connectors/egress.ts) replaces `api_url`.
   */
  private get root(): string {
    const testBase = this.conn.settings.api_base_url?.trim();
    return testBase ? adminApiRoot(testBase, 'api_base_url') : adminApiRoot(this.conn.settings.api_url);
  }

  /** fetch with the 429 policy; network failures and timeouts are `unavailable`. */
  private async send(url: string, init: RequestInit): Promise<Response> {
    for (let waits = 0; ; waits++) {
      let res: Response;
      try {
        res = await this.deps.fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      } catch (err) {
        if (err instanceof EgressRefused) throw refusedSetting('api_url', 'Shopware', err);
        throw new PlatformError('unavailable', `Shopware unreachable: ${(err as Error).message}`);
      }
      if (res.status !== 429) return res;
      await res.body?.cancel();
      const wait = retryAfterMs(res, this.deps.now()) ?? 1000 * 2 ** waits;
      if (waits >= MAX_RATE_LIMIT_WAITS)
        throw new PlatformError('rate_limited', 'Shopware kept answering 429', wait);
      this.deps.log.info({ waitMs: wait, url }, 'shopware rate limited; waiting');
      await this.deps.sleep(wait);
    }
  }

  private accessToken(): Promise<string> {
    const now = this.deps.now().getTime();
    if (this.token && now < this.token.expiresAt - TOKEN_MARGIN_MS) return Promise.resolve(this.token.value);
    // Concurrent calls share one token request.
    this.pendingToken ??= this.fetchToken(now).finally(() => {
      this.pendingToken = null;
    });
    return this.pendingToken;
  }

  private async fetchToken(now: number): Promise<string> {
    const { client_id, client_secret } = this.conn.credentials;
    if (!client_id || !client_secret)
      throw new SettingError(
        `/credentials/${client_id ? 'client_secret' : 'client_id'}`,
        'client_id and client_secret are required',
        'auth_failed',
      );
    const res = await this.send(`${this.root}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id, client_secret }),
    });
    const body = await readJson(res);
    if (res.status === 400 || res.status === 401 || res.status === 403)
      throw new PlatformError(
        'auth_failed',
        `Shopware refused the credentials (${errorText(body, res.status)})`,
      );
    if (!res.ok) throw this.failure(res.status, body);
    const t = parse(Token, body, 'the token request');
    this.token = { value: t.access_token, expiresAt: now + t.expires_in * 1000 };
    return t.access_token;
  }

  private failure(status: number, body: unknown): PlatformError {
    const text = errorText(body, status);
    if (status === 401 || status === 403)
      return new PlatformError('auth_failed', `Shopware denied access (${text})`, null, body);
    if (status === 404) return new PlatformError('not_found', `Shopware: not found (${text})`, null, body);
    if (status >= 500)
      return new PlatformError('unavailable', `Shopware error ${status} (${text})`, null, body);
    return new PlatformError('rejected', `Shopware rejected the request (${text})`, null, body);
  }

  /** An authenticated call; answers the parsed JSON body (null for 204), or throws PlatformError. */
  async call(method: string, path: string, opts: CallOptions = {}): Promise<unknown> {
    const qs = opts.query ? `?${new URLSearchParams(opts.query)}` : '';
    let reauthenticated = false;
    for (;;) {
      const token = await this.accessToken();
      const res = await this.send(`${this.root}${path}${qs}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
      const body = await readJson(res);
      if (res.status === 401 && !reauthenticated) {
        this.token = null; // revoked or expired early: one fresh token, then give up
        reauthenticated = true;
        continue;
      }
      if (!res.ok) throw this.failure(res.status, body);
      return body;
    }
  }

  /** `POST /api/search/{entity}` with a DAL criteria; answers the validated rows. */
  async search<T extends TSchema>(entity: string, criteria: Json, result: T, what: string) {
    return parse(result, await this.call('POST', `/search/${entity}`, { body: criteria }), what);
  }

  /** Ids of state machine states (`order_delivery.state`/`open` …), looked up once per client. */
  async stateId(machine: string, technicalName: string): Promise<string> {
    const key = `${machine}/${technicalName}`;
    const hit = this.stateIds.get(key);
    if (hit) return hit;
    const res = await this.search(
      'state-machine-state',
      {
        filter: [
          { type: 'equals', field: 'technicalName', value: technicalName },
          { type: 'equals', field: 'stateMachine.technicalName', value: machine },
        ],
        associations: { stateMachine: {} },
        limit: 1,
      },
      StateSearch,
      'a state lookup',
    );
    const id = res.data[0]?.id;
    if (!id) throw new PlatformError('unsupported', `Shopware has no state ${key}`);
    this.stateIds.set(key, id);
    return id;
  }
}
