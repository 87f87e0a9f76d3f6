import https from 'node:https';
import net from 'node:net';
import { pipeline, Readable } from 'node:stream';
import tls from 'node:tls';
import zlib from 'node:zlib';
import type { Config } from '../config.js';
import { AppError, type FieldError } from '../lib/errors.js';
import { type EgressPolicy, egressPolicy } from '../webhooks/egress-policy.js';
import { checkWebhookUrl } from '../webhooks/endpoints.js';
import { type Resolver, systemResolver } from '../webhooks/transport.js';
import { type Connection, type PlatformDeps, type PlatformManifest, SettingError } from './platform.js';

/**
 * Where connectors may send requests. A platform's address is the merchant's choice (Shopware `api_url`, Vendure
 * `admin_api_url`, WooCommerce `store_url`, Shopify `shop_domain`) and every request to it carries the shop's
 * credentials, so the webhooks' egress rules (src/webhooks/egress-policy.ts, README "Webhooks") apply to it:
 * https only, public unicast addresses only (no loopback, private, link-local, CGNAT, multicast, reserved;
 * IPv4-mapped and other embedded forms included) — unless the operator allow-lists the host or its address range
 * in CONNECTOR_ALLOWED_HOSTS (a self-hosted shop on the private network), whose certificate a CA in
 * CONNECTOR_CA_FILE may sign. The two allow-lists are separate: WEBHOOK_ALLOWED_HOSTS is for webhook receivers
 * and opens nothing here, CONNECTOR_ALLOWED_HOSTS opens nothing for webhooks. An allow-listed host is still
 * https only (credentials are sent to it). `platformEgress(config)` is the one place config becomes this policy.
 *
 * Checked twice, as for webhooks: the URL when it is saved (`platformUrlProblem`: scheme, IP literals in any
 * notation the URL parser accepts, localhost, dotless names; a 400 naming the field), and the address each
 * connection actually goes to (`checkedFetch`: the hostname is resolved once, every address it resolves to is
 * checked, and the socket connects to a checked address, so a DNS answer that changes later cannot reach the
 * internal network). Redirects are not followed: a public URL that redirects inward gets nowhere.
 */

/** Public addresses only: `checkedFetch`'s policy unless one is given. */
const PUBLIC_ONLY: EgressPolicy = egressPolicy({ allowedHosts: [], allowedCidrs: [] });

/** Appended to a refusal of a non-public destination: who can change that. */
const ALLOW_HINT = 'the operator can allow it with CONNECTOR_ALLOWED_HOSTS';

/** The connectors' egress: the policy (save time) and the fetch that applies it on every connection. */
export interface PlatformEgress {
  policy: EgressPolicy;
  /** Node's roots plus CONNECTOR_CA_FILE; one keep-alive pool per config. */
  fetch: typeof fetch;
}

const built = new WeakMap<Config['connectors'], PlatformEgress>();
/** Fetches made by `platformEgress`: `depsForConnection` leaves any other (a test's) alone. */
const production = new WeakSet<typeof fetch>();

/**
 * The one place the configuration (CONNECTOR_ALLOWED_HOSTS, CONNECTOR_CA_FILE) becomes the connectors' egress
 * policy and fetch; built once per config (with the CA file's text read at start), so every caller shares one socket pool.
 */
export function platformEgress(config: Pick<Config, 'connectors'>): PlatformEgress {
  let egress = built.get(config.connectors);
  if (!egress) {
    const policy = egressPolicy(config.connectors);
    const fetch = checkedFetch({ policy, ca: config.connectors.caPem ?? undefined });
    production.add(fetch);
    egress = { policy, fetch };
    built.set(config.connectors, egress);
  }
  return egress;
}

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
export function platformUrlProblem(raw: string, policy: EgressPolicy): string | null {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return 'not an absolute URL (e.g. https://shop.example.com)';
  }
  if (u.protocol !== 'https:')
    return 'must start with https:// (the shop’s credentials are sent to it; plain http is refused even for an allow-listed host)';
  if (u.username || u.password) return 'must not contain a user name or password';
  try {
    checkWebhookUrl(u.toString(), policy); // the same host rules as a webhook URL
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    const problem = err.errors[0]?.message ?? err.message;
    return /not a public (address|hostname)$/.test(problem) ? `${problem} (${ALLOW_HINT})` : problem;
  }
  return null;
}

/**
 * The settings of a connection being saved that the egress policy refuses: every manifest field marked `url`,
 * plus the test-only `api_base_url` (any http(s) URL: it exists only where CONNECTOR_TEST_URLS allowed it).
 */
export function settingsProblems(
  manifest: PlatformManifest,
  settings: Record<string, string>,
  policy: EgressPolicy,
): FieldError[] {
  const out: FieldError[] = [];
  for (const f of manifest.settingsFields) {
    const value = settings[f.key];
    if (!f.url || !value?.trim()) continue;
    const problem = platformUrlProblem(value, policy);
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
  /** Extra trusted CA certificates (PEM, CONNECTOR_CA_FILE), on top of Node's bundled roots. */
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
  const policy = opts.policy ?? PUBLIC_ONLY;
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
              refusal = new EgressRefused(
                `${hostname} resolves to ${why}, not a public address (${ALLOW_HINT})`,
              );
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
      return Promise.reject(
        new EgressRefused(
          `only https:// URLs are allowed, allow-listed hosts included (got ${url.protocol}//)`,
        ),
      );
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(host) && !policy.hostAllowed(host)) {
      // The socket skips the lookup for an IP literal: check it here.
      const why = policy.refuseAddress(host);
      if (why) return Promise.reject(new EgressRefused(`${why} is not a public address (${ALLOW_HINT})`));
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
        else reject(new TypeError(`fetch failed: ${describe(err, url.hostname)}`, { cause: err }));
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

/** OpenSSL's verdicts on a certificate chain that no trusted CA signed. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);
/** A certificate that is trusted but does not fit: expired, not yet valid, another host's, a bad signature. */
const INVALID = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

function describe(err: unknown, host: string): string {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const text = e?.reason ?? e?.message?.split('\n')[0];
  const what = [e?.code, text].filter(Boolean).join(': ') || String(err);
  // Said plainly: on a self-hosted shop the usual cause is a private CA the operator has not configured.
  if (e?.code && UNTRUSTED.has(e.code))
    return `the TLS certificate of ${host} is not trusted (${what}); a certificate from a private CA needs that CA in CONNECTOR_CA_FILE`;
  if (e?.code && INVALID.has(e.code)) return `the TLS certificate of ${host} is not valid (${what})`;
  return what;
}

/**
 * The deps for one connection. A test connection's simulator — `api_base_url`, which a connection can hold only
 * where CONNECTOR_TEST_URLS allowed it when it was saved — is reached with the plain fetch (http, loopback);
 * every other destination still goes through the policy. Deps a caller injected are left alone.
 */
export function depsForConnection(connection: Connection, deps: PlatformDeps): PlatformDeps {
  const simulator = testOrigin(connection.settings.api_base_url);
  const checked = deps.fetch;
  if (!simulator || !production.has(checked)) return deps;
  const plain: typeof fetch = (input, init) => {
    const target = input instanceof Request ? input.url : String(input);
    return new URL(target).origin === simulator ? globalThis.fetch(input, init) : checked(input, init);
  };
  return { ...deps, fetch: plain };
}
