import https from 'node:https';
import net from 'node:net';
import { pipeline, Readable } from 'node:stream';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { AppError, type FieldError } from '../lib/errors.js';
import { type EgressPolicy, egressPolicy } from '../webhooks/egress-policy.js';
import { checkWebhookUrl } from '../webhooks/endpoints.js';
import { type Resolver, systemResolver } from '../webhooks/transport.js';
import { type Connection, type PlatformDeps, type PlatformManifest, SettingError } from './platform.js';

/**
 * Where connectors may send requests. A platform's address is the merchant's choice (Shopware `api_url`, Vendure
 * `admin_api_url`, WooCommerce `store_url`, Shopify `shop_domain`) and every request to it carries the shop's
 * credentials, so the webhooks' egress policy (src/webhooks/egress-policy.ts, README "Webhooks") applies to it
 * as is: https only, public unicast addresses only (no loopback, private, link-local, CGNAT, multicast, reserved;
 * IPv4-mapped and other embedded forms included). There is no allow-list: an operator's WEBHOOK_ALLOWED_HOSTS is
 * for webhook receivers, not for addresses a shop admin types in.
 *
 * Checked twice, as for webhooks: the URL when it is saved (`platformUrlProblem`: scheme, IP literals in any
 * notation the URL parser accepts, localhost, dotless names; a 400 naming the field), and the address each
 * connection actually goes to (`checkedFetch`: the hostname is resolved once, every address it resolves to is
 * checked, and the socket connects to a checked address, so a DNS answer that changes later cannot reach the
 * internal network). Redirects are not followed: a public URL that redirects inward gets nowhere.
 */

/** The policy for platform addresses: the webhooks' rules without an allow-list. */
export const PLATFORM_EGRESS: EgressPolicy = egressPolicy({ allowedHosts: [], allowedCidrs: [] });

/** A destination the policy refused; nothing was sent. */
export class EgressRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EgressRefused';
  }
}

/**
 * Why a platform URL may not be saved (`127.0.0.1 (loopback) is not a public address`), or null. Hostnames are
 * not resolved here: `checkedFetch` checks the addresses on every connection.
 */
export function platformUrlProblem(raw: string, policy: EgressPolicy = PLATFORM_EGRESS): string | null {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return 'not an absolute URL (e.g. https://shop.example.com)';
  }
  if (u.protocol !== 'https:') return 'must start with https:// (the shop’s credentials are sent to it)';
  if (u.username || u.password) return 'must not contain a user name or password';
  try {
    checkWebhookUrl(u.toString(), policy); // the same host rules as a webhook URL
  } catch (err) {
    if (err instanceof AppError) return err.errors[0]?.message ?? err.message;
    throw err;
  }
  return null;
}

/**
 * The settings of a connection being saved that the egress policy refuses: every manifest field marked `url`,
 * plus the test-only `api_base_url` (any http(s) URL: it exists only where CONNECTOR_TEST_URLS allowed it).
 */
export function settingsProblems(manifest: PlatformManifest, settings: Record<string, string>): FieldError[] {
  const out: FieldError[] = [];
  for (const f of manifest.settingsFields) {
    const value = settings[f.key];
    if (!f.url || !value?.trim()) continue;
    const problem = platformUrlProblem(value);
    if (problem) out.push({ path: `/settings/${f.key}`, message: problem });
  }
  if (settings.api_base_url !== undefined && !testOrigin(settings.api_base_url))
    out.push({ path: '/settings/api_base_url', message: 'must be an http:// or https:// URL' });
  return out;
}

/** The origin of a test-only `api_base_url` (a platform simulator), or null. */
function testOrigin(raw: string | undefined): string | null {
  if (!raw?.trim()) return null;
  try {
    const u = new URL(raw.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}

/** A connector's own reading of the refusal: the merchant must change the setting; nothing was sent. */
export function refusedSetting(field: string, platform: string, err: EgressRefused): SettingError {
  return new SettingError(
    `/settings/${field}`,
    `${platform} was not contacted: ${err.message}`,
    'unsupported',
  );
}

export interface CheckedFetchOptions {
  policy?: EgressPolicy;
  /** DNS, injectable for tests (rebinding); defaults to the system resolver. */
  resolve?: Resolver;
  /** Extra trusted CA certificate (PEM), for tests; Node's bundled roots otherwise. */
  ca?: string;
  /** A socket idle this long fails the request (callers add an overall AbortSignal). */
  idleTimeoutMs?: number;
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * A `fetch` for platform APIs whose every connection goes through the egress policy (see the file comment).
 * It covers what the connectors use: string/bytes bodies, AbortSignal, gzip/deflate/br bodies, multiple
 * Set-Cookie headers. 3xx answers are returned as they are, never followed.
 */
export function checkedFetch(opts: CheckedFetchOptions = {}): typeof fetch {
  const policy = opts.policy ?? PLATFORM_EGRESS;
  const resolve = opts.resolve ?? systemResolver;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
  // Idle keep-alive sockets close after 4 s, before a typical server's 5 s keep-alive timeout closes them under us.
  const agent = new https.Agent({
    keepAlive: true,
    timeout: 4000,
    scheduling: 'lifo',
    ...(opts.ca ? { ca: [...tls.rootCertificates, opts.ca] } : {}),
  });

  /** net.connect's `lookup`: one resolution, every address checked, the socket connects to what was checked. */
  const lookup: net.LookupFunction = (hostname, options, callback) => {
    const family =
      options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family) || 0;
    resolve(hostname).then(
      (found) => {
        const addresses = found.filter((a) => !family || a.family === family);
        let refusal: Error | null = addresses.length ? null : new Error(`dns: ${hostname} has no address`);
        if (!refusal && !policy.hostAllowed(hostname)) {
          for (const a of addresses) {
            const why = policy.refuseAddress(a.address);
            if (why) {
              refusal = new EgressRefused(`${hostname} resolves to ${why}, not a public address`);
              break;
            }
          }
        }
        if (refusal) callback(refusal, '');
        else if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (err: Error) => callback(err, ''),
    );
  };

  const send = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (input instanceof Request && input.body)
      return Promise.reject(new TypeError('checkedFetch: pass the body in init, not in a Request'));
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const signal = init.signal ?? (input instanceof Request ? input.signal : null);
    if (url.protocol !== 'https:')
      return Promise.reject(new EgressRefused(`only https:// URLs are allowed (got ${url.protocol}//)`));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(host) && !policy.hostAllowed(host)) {
      // The socket skips the lookup for an IP literal: check it here.
      const why = policy.refuseAddress(host);
      if (why) return Promise.reject(new EgressRefused(`${why} is not a public address`));
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined)))
      headers[k] = v;
    let body: Buffer | null = null;
    const b = init.body;
    if (typeof b === 'string') {
      body = Buffer.from(b);
      headers['content-type'] ??= 'text/plain;charset=UTF-8';
    } else if (b instanceof URLSearchParams) {
      body = Buffer.from(b.toString());
      headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
    } else if (b instanceof ArrayBuffer) body = Buffer.from(b);
    else if (ArrayBuffer.isView(b)) body = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    else if (b != null) return Promise.reject(new TypeError('checkedFetch: unsupported body type'));
    if (body) headers['content-length'] = String(body.length);
    headers['accept-encoding'] ??= 'gzip, deflate, br';

    return new Promise<Response>((resolvePromise, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let settled = false;
      const req = https.request(url, { method, headers, agent, lookup });
      const onAbort = () => req.destroy(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      req.setTimeout(idleTimeoutMs, () =>
        req.destroy(new Error(`no answer from ${url.host} within ${idleTimeoutMs} ms`)),
      );
      req.on('error', (err) => {
        done();
        if (settled) return;
        settled = true;
        if (signal?.aborted) reject(signal.reason);
        else if (err instanceof EgressRefused) reject(err);
        else reject(new TypeError(`fetch failed: ${describe(err)}`, { cause: err }));
      });
      req.on('response', (res) => {
        settled = true;
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 599) {
          done();
          res.destroy();
          return reject(new TypeError(`fetch failed: unexpected HTTP status ${status}`));
        }
        const out = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          try {
            out.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
          } catch {
            // a header value Headers refuses is dropped, as fetch does
          }
        }
        res.once('close', done);
        if (method === 'HEAD' || NULL_BODY_STATUS.has(status)) {
          res.resume();
          return resolvePromise(new Response(null, { status, statusText: res.statusMessage, headers: out }));
        }
        const encoding = String(res.headers['content-encoding'] ?? '')
          .trim()
          .toLowerCase();
        const decoder =
          encoding === 'gzip' || encoding === 'x-gzip'
            ? zlib.createGunzip()
            : encoding === 'deflate'
              ? zlib.createInflate()
              : encoding === 'br'
                ? zlib.createBrotliDecompress()
                : null;
        const stream: Readable = decoder ? pipeline(res, decoder, () => {}) : res;
        resolvePromise(
          new Response(Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>, {
            status,
            statusText: res.statusMessage,
            headers: out,
          }),
        );
      });
      req.end(body ?? undefined);
    });
  };
  return send as typeof fetch;
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const text = e?.reason ?? e?.message?.split('\n')[0];
  return [e?.code, text].filter(Boolean).join(': ') || String(err);
}

/** The fetch production connectors use (through `defaultPlatformDeps`). */
export const platformFetch: typeof fetch = checkedFetch();

/**
 * The deps for one connection. A test connection's simulator — `api_base_url`, which a connection can hold only
 * where CONNECTOR_TEST_URLS allowed it when it was saved — is reached with the plain fetch (http, loopback);
 * every other destination still goes through the policy. Deps a caller injected are left alone.
 */
export function depsForConnection(connection: Connection, deps: PlatformDeps): PlatformDeps {
  const simulator = testOrigin(connection.settings.api_base_url);
  if (!simulator || deps.fetch !== platformFetch) return deps;
  const plain: typeof fetch = (input, init) => {
    const target = input instanceof Request ? input.url : String(input);
    return new URL(target).origin === simulator ? globalThis.fetch(input, init) : platformFetch(input, init);
  };
  return { ...deps, fetch: plain };
}
