import dns from 'node:dns/promises';
import { once } from 'node:events';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { EgressPolicy } from './egress-policy.js';

/**
 * HTTPS client for webhook attempts (SPEC §10): TLS ≥ 1.2 with a verified certificate, no redirects, a connect
 * and an overall timeout, optional egress through an HTTP CONNECT proxy. The destination is checked where the
 * connection is made: the hostname is resolved here, every address it resolves to is checked against the egress
 * policy, and the socket connects to the checked address itself. No second lookup happens, so DNS rebinding
 * cannot swap in another address; IP-literal URLs are checked the same way. Through a proxy, the CONNECT names
 * the checked address too (TLS still verifies the certificate against the hostname).
 */

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;
export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

export type FailureKind =
  | 'dns'
  | 'refused_destination'
  | 'connect_timeout'
  | 'connection'
  | 'proxy'
  | 'tls'
  | 'timeout'
  | 'redirect'
  | 'http_status';

export class TransportError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface TransportOptions {
  policy: EgressPolicy;
  connectTimeoutMs: number;
  /** Connect, send and the whole response must fit in this. */
  timeoutMs: number;
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  extraCa?: string | null;
  proxyUrl?: string | null;
  /** DNS, injectable for tests (rebinding); defaults to the system resolver. */
  resolve?: Resolver;
}

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  /** The first 4 kB of the response body (UTF-8, NUL replaced). */
  responseExcerpt: string | null;
  errorKind: FailureKind | null;
  error: string | null;
  /** From `Retry-After` on 429 and 503. */
  retryAfterMs: number | null;
  /** 410 Gone: the receiver asks us to stop. */
  gone: boolean;
}

export const EXCERPT_BYTES = 4096;
/** Bodies are read this far so the connection can be reused; a longer one closes the connection. */
const DRAIN_BYTES = 64 * 1024;

/** `Retry-After` in ms: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Number(v) * 1000;
  if (!/^[A-Za-z]{3},? .* GMT$/.test(v)) return null; // an HTTP date (IMF-fixdate and the obsolete forms)
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

interface ConnectOptions {
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
}

/** A keep-alive agent whose every new connection goes through the policy (see the file comment). */
class PolicyAgent extends https.Agent {
  constructor(
    private readonly opts: TransportOptions,
    private readonly secureContext: tls.SecureContext,
  ) {
    // Idle sockets close after 4 s, before a Node receiver's default 5 s keep-alive timeout closes them under us.
    super({ keepAlive: true, timeout: 4000, scheduling: 'lifo' });
  }

  // http.Agent accepts an asynchronous createConnection: return nothing and call back with the socket.
  override createConnection(
    options: ConnectOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | undefined {
    const host = String(options.hostname ?? options.host ?? '').replace(/^\[|\]$/g, '');
    this.connectChecked(host, Number(options.port) || 443).then(
      (socket) => callback?.(null, socket),
      (err) => callback?.(err, undefined as unknown as Duplex), // the agent ignores the stream on error
    );
    return undefined;
  }

  private async connectChecked(host: string, port: number): Promise<tls.TLSSocket> {
    const { policy, connectTimeoutMs, proxyUrl } = this.opts;
    const opened: net.Socket[] = [];
    let phase: 'resolving' | 'connecting' | 'proxy' | 'tls' = 'resolving';
    let timedOut = false;
    const work = async () => {
      const addresses = await this.addressesOf(host);
      if (!policy.hostAllowed(host)) {
        for (const address of addresses) {
          const why = policy.refuseAddress(address);
          if (why)
            throw new TransportError(
              'refused_destination',
              net.isIP(host)
                ? `refused: ${why} is not a public address`
                : `refused: ${host} resolves to ${why}, not a public address`,
            );
        }
      }
      const address = addresses[0];
      phase = proxyUrl ? 'proxy' : 'connecting';
      const raw = proxyUrl
        ? await this.tunnel(new URL(proxyUrl), address, port, opened)
        : await this.tcp(address, port, opened);
      if (timedOut) throw new TransportError('connect_timeout', 'connect timed out');
      phase = 'tls';
      const socket = tls.connect({
        socket: raw,
        host: address,
        servername: net.isIP(host) ? undefined : host,
        secureContext: this.secureContext,
        rejectUnauthorized: true,
        ALPNProtocols: ['http/1.1'],
      });
      opened.push(socket);
      try {
        await once(socket, 'secureConnect');
      } catch (err) {
        throw new TransportError('tls', `tls: ${describe(err)}`);
      }
      if (timedOut) {
        socket.destroy(); // too late: the attempt already failed
        throw new TransportError('connect_timeout', 'connect timed out');
      }
      return socket;
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(
          new TransportError('connect_timeout', `no connection within ${connectTimeoutMs} ms (${phase})`),
        );
      }, connectTimeoutMs);
    });
    try {
      return await Promise.race([work(), deadline]);
    } catch (err) {
      for (const s of opened) s.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async addressesOf(host: string): Promise<string[]> {
    if (net.isIP(host)) return [host];
    let found: { address: string }[];
    try {
      found = await (this.opts.resolve ?? systemResolver)(host);
    } catch (err) {
      throw new TransportError('dns', `dns: ${host} does not resolve (${describe(err)})`);
    }
    if (!found.length) throw new TransportError('dns', `dns: ${host} has no address`);
    return found.map((a) => a.address);
  }

  private async tcp(address: string, port: number, opened: net.Socket[]): Promise<net.Socket> {
    const socket = net.connect({ host: address, port, noDelay: true });
    opened.push(socket);
    try {
      await once(socket, 'connect');
    } catch (err) {
      throw new TransportError('connection', `connect to ${address}:${port} failed (${describe(err)})`);
    }
    return socket;
  }

  /** Opens a CONNECT tunnel to the (already checked) address through the operator's proxy. */
  private async tunnel(proxy: URL, address: string, port: number, opened: net.Socket[]): Promise<net.Socket> {
    const socket = net.connect({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(proxy.port) || 80,
    });
    opened.push(socket);
    try {
      await once(socket, 'connect');
    } catch (err) {
      throw new TransportError('proxy', `proxy ${proxy.host} unreachable (${describe(err)})`);
    }
    const authority = net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
    const auth = proxy.username
      ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n`
      : '';
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
    let head = Buffer.alloc(0);
    while (!head.includes('\r\n\r\n')) {
      const chunk = await new Promise<Buffer>((resolve, reject) => {
        const onData = (c: Buffer) => {
          cleanup();
          resolve(c);
        };
        const onEnd = () => {
          cleanup();
          reject(new TransportError('proxy', 'proxy closed the connection during CONNECT'));
        };
        const onError = (err: Error) => {
          cleanup();
          reject(new TransportError('proxy', `proxy: ${describe(err)}`));
        };
        const cleanup = () => {
          socket.off('data', onData).off('end', onEnd).off('error', onError);
          socket.pause();
        };
        socket.on('data', onData).once('end', onEnd).once('error', onError);
        socket.resume();
      });
      head = Buffer.concat([head, chunk]);
      if (head.length > 16 * 1024) throw new TransportError('proxy', 'proxy answer too long');
    }
    const end = head.indexOf('\r\n\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1];
    if (status?.[0] !== '2')
      throw new TransportError(
        'proxy',
        `proxy refused CONNECT (${status ? `HTTP ${status}` : 'bad answer'})`,
      );
    const rest = head.subarray(end + 4);
    if (rest.length) socket.unshift(rest);
    return socket;
  }
}

function describe(err: unknown): string {
  if (err instanceof TransportError) return err.message;
  // OpenSSL errors carry a short `reason`; their message is a multi-line dump.
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const text = e?.reason ?? e?.message?.split('\n')[0];
  return [e?.code, text].filter(Boolean).join(': ') || String(err);
}

export class WebhookTransport {
  private readonly agent: PolicyAgent;

  constructor(private readonly opts: TransportOptions) {
    // One context for every connection: building one parses the ~140 bundled roots (milliseconds of CPU each time).
    const secureContext = tls.createSecureContext({
      ca: [...tls.rootCertificates, ...(opts.extraCa ? splitPem(opts.extraCa) : [])],
      minVersion: 'TLSv1.2',
    });
    this.agent = new PolicyAgent(opts, secureContext);
  }

  /** One attempt: POSTs `body` and classifies the outcome. Never throws. */
  send(url: string, headers: Record<string, string>, body: string): Promise<AttemptResult> {
    const started = performance.now();
    let target: URL | null = null;
    try {
      target = new URL(url);
    } catch {}
    const checked = target?.protocol === 'https:' ? target : null;
    if (!checked)
      return Promise.resolve({
        ok: false,
        statusCode: null,
        durationMs: 0,
        responseExcerpt: null,
        errorKind: 'refused_destination',
        error: 'refused: only https:// URLs are allowed',
        retryAfterMs: null,
        gone: false,
      });
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (r: Omit<AttemptResult, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...r, durationMs: Math.round(performance.now() - started) });
      };
      const fail = (err: unknown, statusCode: number | null = null, excerpt: string | null = null) =>
        finish({
          ok: false,
          statusCode,
          responseExcerpt: excerpt,
          errorKind: err instanceof TransportError ? err.kind : 'connection',
          error: describe(err),
          retryAfterMs: null,
          gone: false,
        });
      const req = https.request(checked, {
        method: 'POST',
        agent: this.agent,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      });
      timer = setTimeout(
        () =>
          req.destroy(
            new TransportError('timeout', `timeout: no complete response within ${this.opts.timeoutMs} ms`),
          ),
        this.opts.timeoutMs,
      );
      req.on('error', (err) => fail(err));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        let seen = 0;
        const excerpt = () =>
          kept ? Buffer.concat(chunks).toString('utf8').replaceAll('\u0000', '\uFFFD') : null;
        const status = res.statusCode ?? 0;
        const done = () => {
          const text = excerpt();
          if (status >= 200 && status < 300)
            return finish({
              ok: true,
              statusCode: status,
              responseExcerpt: text,
              errorKind: null,
              error: null,
              retryAfterMs: null,
              gone: false,
            });
          const redirect = status >= 300 && status < 400;
          const location = String(res.headers.location ?? '').slice(0, 300);
          finish({
            ok: false,
            statusCode: status,
            responseExcerpt: text,
            errorKind: redirect ? 'redirect' : 'http_status',
            error: redirect
              ? `redirect: HTTP ${status}${location ? ` to ${location}` : ''} (redirects are not followed)`
              : `HTTP ${status}${status === 410 ? ' Gone: the endpoint is disabled' : ''}`,
            retryAfterMs:
              status === 429 || status === 503
                ? parseRetryAfter(res.headers['retry-after'] as string | undefined)
                : null,
            gone: status === 410,
          });
        };
        res.on('data', (c: Buffer) => {
          seen += c.length;
          if (kept < EXCERPT_BYTES) {
            const part = c.subarray(0, EXCERPT_BYTES - kept);
            chunks.push(part);
            kept += part.length;
          }
          if (seen > DRAIN_BYTES) {
            // Enough: the status decides, and the connection is not worth draining. Settled first: destroying
            // the response emits 'aborted' at once, which must not turn a 2xx into a failed attempt.
            done();
            res.destroy();
          }
        });
        res.on('end', done);
        res.on('error', (err) => fail(err, status, excerpt()));
        res.on('aborted', () =>
          fail(new TransportError('connection', 'response aborted'), status, excerpt()),
        );
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
