import { createHash } from 'node:crypto';
import { type Static, type TSchema, Type } from 'typebox';
import { EgressRefused, refusedSetting } from '../egress.js';
import { type Connection, type PlatformDeps, PlatformError, SettingError } from '../platform.js';
import { LOGIN } from './queries.js';
import { parse } from './schemas.js';

const REQUEST_TIMEOUT_MS = 30_000;
/** Vendure has no rate limit of its own; a proxy in front may answer 429. Waited out this often per call. */
const MAX_RATE_LIMIT_WAITS = 5;
/** Sessions of username/password connections, shared by the short-lived clients of one process. */
const SESSIONS = new Map<string, Record<string, string>>();
const MAX_SESSIONS = 500;

interface GqlError {
  message?: string;
  extensions?: { code?: string };
}

/** `https://shop.example.com/admin-api` (trailing slashes dropped); anything else is refused before a request. */
function apiUrl(raw: string | undefined, field: string): string {
  const url = (raw ?? '').trim().replace(/\/+$/, '');
  try {
    const u = new URL(url);
    if (u.protocol === 'https:' || u.protocol === 'http:') return url;
  } catch {
    // fall through
  }
  throw new SettingError(
    `/settings/${field}`,
    `${field} must be the Admin API URL, e.g. https://shop.example.com/admin-api`,
  );
}

function retryAfterMs(res: Response, now: Date): number | null {
  const v = res.headers.get('retry-after');
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}

async function readJson(res: Response): Promise<{ data?: unknown; errors?: GqlError[] } | null> {
  try {
    const body = JSON.parse(await res.text());
    return body && typeof body === 'object' ? body : null;
  } catch {
    return null;
  }
}

/**
 * One shop's Admin API over fetch. Auth is an API key (`vendure-api-key` header, Vendure ≥ 3.6 with 'api-key'
 * in `authOptions.tokenMethod`) or an administrator login: the `login` mutation's session token from the
 * `vendure-auth-token` header (tokenMethod 'bearer'), or the session cookies when the server only sets cookies.
 * A login session that expired or was revoked shows as FORBIDDEN: one fresh login, then the call fails.
 */
export class VendureApi {
  private readonly sessionKey: string;

  constructor(
    private readonly conn: Connection,
    private readonly deps: PlatformDeps,
  ) {
    const c = conn.credentials;
    this.sessionKey = createHash('sha256')
      .update(
        [
          conn.settings.api_base_url ?? '',
          conn.settings.admin_api_url,
          conn.settings.channel_token,
          c.username,
          c.password,
        ].join('\n'),
      )
      .digest('base64url');
  }

  /** The Admin API URL; the test-only `api_base_url` (a simulator; see connectors/egress.ts) replaces it. */
  private get url(): string {
    const testBase = this.conn.settings.api_base_url?.trim();
    return testBase
      ? apiUrl(testBase, 'api_base_url')
      : apiUrl(this.conn.settings.admin_api_url, 'admin_api_url');
  }

  private get apiKey() {
    return this.conn.credentials.api_key?.trim() ?? '';
  }

  private baseHeaders(): Record<string, string> {
    const channel = this.conn.settings.channel_token?.trim();
    return {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(channel ? { 'vendure-token': channel } : {}),
    };
  }

  /** POST with the 429 policy; network failures and timeouts are `unavailable`. */
  private async post(body: string, headers: Record<string, string>): Promise<Response> {
    const url = this.url;
    for (let waits = 0; ; waits++) {
      let res: Response;
      try {
        res = await this.deps.fetch(url, {
          method: 'POST',
          headers: { ...this.baseHeaders(), ...headers },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        if (err instanceof EgressRefused) throw refusedSetting('admin_api_url', 'Vendure', err);
        throw new PlatformError('unavailable', `Vendure unreachable: ${(err as Error).message}`);
      }
      if (res.status !== 429) return res;
      await res.body?.cancel();
      const wait = retryAfterMs(res, this.deps.now()) ?? 1000 * 2 ** waits;
      if (waits >= MAX_RATE_LIMIT_WAITS)
        throw new PlatformError('rate_limited', 'Vendure (or its proxy) kept answering 429', wait);
      this.deps.log.info({ waitMs: wait }, 'vendure rate limited; waiting');
      await this.deps.sleep(wait);
    }
  }

  private async login(): Promise<Record<string, string>> {
    const { username, password } = this.conn.credentials;
    if (!username || !password)
      throw new SettingError(
        `/credentials/${username ? 'password' : 'api_key'}`,
        'Give an api_key, or a username and password of a Vendure administrator',
        'auth_failed',
      );
    const res = await this.post(JSON.stringify({ query: LOGIN, variables: { username, password } }), {});
    const body = await readJson(res);
    if (res.status >= 500) throw new PlatformError('unavailable', `Vendure error ${res.status} on login`);
    const login = (body?.data as { login?: { __typename?: string; message?: string } } | undefined)?.login;
    if (!res.ok || body?.errors?.length || !login)
      throw new PlatformError(
        'auth_failed',
        `Vendure refused the login (${body?.errors?.[0]?.message ?? `HTTP ${res.status}`})`,
      );
    if (login.__typename !== 'CurrentUser')
      throw new PlatformError(
        'auth_failed',
        `Vendure refused the login: ${login.message ?? login.__typename}`,
      );
    const token = res.headers.get('vendure-auth-token');
    const cookies = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0].trim())
      .filter(Boolean);
    const headers: Record<string, string> = token
      ? { authorization: `Bearer ${token}` }
      : cookies.length
        ? { cookie: cookies.join('; ') }
        : {};
    if (!token && !cookies.length)
      throw new PlatformError('unsupported', 'Vendure answered the login without a session token or cookie');
    if (SESSIONS.size >= MAX_SESSIONS) SESSIONS.clear();
    SESSIONS.set(this.sessionKey, headers);
    return headers;
  }

  private async auth(): Promise<Record<string, string>> {
    if (this.apiKey) return { 'vendure-api-key': this.apiKey };
    return SESSIONS.get(this.sessionKey) ?? this.login();
  }

  /** Runs a query or mutation and answers its validated `data`; errors become PlatformError kinds. */
  async request<T extends TSchema>(
    query: string,
    variables: object,
    schema: T,
    what: string,
  ): Promise<Static<T>> {
    let relogged = false;
    for (;;) {
      const headers = await this.auth();
      const res = await this.post(JSON.stringify({ query, variables }), headers);
      const body = await readJson(res);
      const err = body?.errors?.[0];
      const denied =
        res.status === 401 ||
        res.status === 403 ||
        err?.extensions?.code === 'FORBIDDEN' ||
        err?.extensions?.code === 'UNAUTHORIZED';
      if (denied && !this.apiKey && !relogged) {
        // An expired or revoked session looks like missing permissions: one fresh login tells them apart.
        SESSIONS.delete(this.sessionKey);
        relogged = true;
        continue;
      }
      if (denied)
        throw new PlatformError(
          'auth_failed',
          `Vendure denied ${what}: ${err?.message ?? `HTTP ${res.status}`}`,
        );
      if (res.status >= 500 || (!body && res.ok))
        throw new PlatformError('unavailable', `Vendure error ${res.status} on ${what}`);
      if (err) {
        const code = err.extensions?.code ?? '';
        const msg = `Vendure: ${err.message ?? code} (${what})`;
        if (code === 'ENTITY_NOT_FOUND') throw new PlatformError('not_found', msg, null, body?.errors);
        if (code === 'INTERNAL_SERVER_ERROR') throw new PlatformError('unavailable', msg, null, body?.errors);
        throw new PlatformError('rejected', msg, null, body?.errors);
      }
      if (!res.ok) throw new PlatformError('rejected', `Vendure answered HTTP ${res.status} on ${what}`);
      return parse(schema, body?.data, what);
    }
  }

  /**
   * A mutation whose field is an ErrorResult union: an error member (`errorCode`) is the platform refusing,
   * `rejected` with its message; otherwise the field is checked against `schema`.
   */
  async mutate<T extends TSchema>(
    query: string,
    variables: object,
    field: string,
    schema: T,
    what: string,
  ): Promise<Static<T>> {
    const data = (await this.request(query, variables, ANY, what)) as Record<string, unknown>;
    const result = data[field] as { errorCode?: string; message?: string } | null | undefined;
    if (result && typeof result.errorCode === 'string')
      throw new PlatformError(
        'rejected',
        `Vendure refused ${what}: ${result.message ?? result.errorCode}`,
        null,
        result,
      );
    return parse(schema, result, what);
  }
}

/** The `data` of a mutation, checked field by field by `mutate`. */
const ANY = Type.Record(Type.String(), Type.Unknown());
