import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

/** The only place that reads process.env. Parsed once at start and passed down. */
export interface Config {
  /** 0 = any free port (tests, benchmarks). */
  port: number;
  host: string;
  publicUrl: string;
  /** False when PUBLIC_URL is not set: `publicUrl` is then `http://localhost:<port>`, re-pointed at the bound port. */
  publicUrlSet: boolean;
  dataDir: string;
  databaseUrl: string | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Secret used to derive signing keys (order tokens, upload URLs). */
  appSecret: string;
  demoPassword: string | null;
  bodyLimitBytes: number;
  stuckAfterDaysDefault: number;
  workerConcurrency: number;
  workerPollMs: number;
  shutdownTimeoutMs: number;
  pgPoolMax: number;
  /** Optional Redis (`REDIS_URL`): when set, the customer lookup's per-IP and per-shop counters live there. */
  redisUrl: string | null;
  /**
   * Merchant API limit (SPEC §8): requests per fixed window per caller (API key or portal user) and shop, counted
   * in Redis when `redisUrl` is set, else in the database. Only `max` comes from the environment.
   */
  apiRateLimit: { max: number; windowSeconds: number };
  /** Customer lookup limits (SPEC §3): per client IP, per shop, and failure lock-outs. */
  lookup: {
    ipMax: number;
    ipWindowSeconds: number;
    shopMax: number;
    orderFailures: number;
    ipFailures: number;
    lockSeconds: number;
  };
  /** Where evidence files live: a folder under DATA_DIR, or an S3-compatible bucket. */
  storage:
    | { driver: 'local'; dir: string }
    | {
        driver: 's3';
        bucket: string;
        region: string;
        endpoint: string | null;
        accessKeyId: string | null;
        secretAccessKey: string | null;
        forcePathStyle: boolean;
      };
  /**
   * Which reverse proxies' X-Forwarded-For gives the client IP (Fastify's `trustProxy`): false (the socket's peer),
   * their addresses/CIDRs, or true (any: only when nothing but the proxy can reach the server).
   */
  trustProxy: boolean | string[];
  /** Lets connections set `api_base_url` (a platform simulator's address). Tests only: it could reach internal hosts. */
  connectorTestUrls: boolean;
  /**
   * Where shop platform connections may go besides public addresses (CONNECTOR_ALLOWED_HOSTS) and the CAs they
   * trust besides Node's roots (CONNECTOR_CA_FILE): self-hosted Shopware, Vendure or WooCommerce on a private
   * network. Independent of the webhooks' allow-list. https only either way.
   */
  connectors: EgressAllowList & CaTrust;
  /** Outbound webhooks (SPEC §10): retry schedule, timeouts and the egress policy. */
  webhooks: EgressAllowList &
    CaTrust & {
      /** Delay before each attempt of a series, in ms (the first is usually 0); jittered ±10 % when used. */
      retryScheduleMs: number[];
      connectTimeoutMs: number;
      /** The whole attempt (connect, send, response) must finish within this. */
      timeoutMs: number;
      /** `http://[user:pass@]host:port` CONNECT proxy for all webhook traffic. */
      proxyUrl: string | null;
    };
}

/** Destinations an operator allows although they are not public (WEBHOOK_ALLOWED_HOSTS, CONNECTOR_ALLOWED_HOSTS). */
export interface EgressAllowList {
  /** Hostnames (lower case; `*.example.com` for subdomains) whose addresses are never refused. */
  allowedHosts: string[];
  /** Address ranges (`10.0.0.0/8`, `::1/128`) that are never refused. */
  allowedCidrs: { address: string; prefix: number; family: 'ipv4' | 'ipv6' }[];
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A start-up failure caused by the environment rather than by a bug (the address to listen on, the database to reach):
 * the CLI prints its message, which names the variable, on one line and exits 1.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** A connection URL fit for messages: the password (if any) replaced by `***`, even when the URL does not parse. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) {
      u.password = '***';
      return u.toString();
    }
    if (!raw.includes('@')) return raw;
  } catch {}
  // scheme://user:password@… — up to the last "@", so a password holding "@" is hidden whole.
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:).*@/i, '$1***@');
}

type ParseConnectionString = (url: string) => Record<string, unknown>;
let pgParse: ParseConnectionString | null = null;
/** The parser pg itself applies to DATABASE_URL (resolved from pg's own location: the version pg uses). */
function parseConnectionString(url: string): Record<string, unknown> {
  if (!pgParse) {
    const fromPg = createRequire(createRequire(import.meta.url).resolve('pg'));
    pgParse = (fromPg('pg-connection-string') as { parse: ParseConnectionString }).parse;
  }
  return pgParse(url);
}

const HOSTNAME_RE = /^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?$/i;

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = '0,5s,5m,30m,2h,5h,10h,14h,20h,24h';

/** `0,5s,5m,30m,2h` → ms; null when any entry is not a duration of at most 7 days. */
export function parseDurations(raw: string): number[] | null {
  const parts = raw.split(',').map((p) => p.trim());
  const out: number[] = [];
  for (const p of parts) {
    const m = /^(\d+)(ms|s|m|h|d)?$/.exec(p);
    if (!m) return null;
    const ms = Number(m[1]) * DURATION_MS[m[2] ?? 'ms'];
    if (ms > 7 * 86_400_000) return null;
    out.push(ms);
  }
  return out;
}

/**
 * An allow-list variable (`hooks.internal, *.corp.example, 10.0.0.0/8, fd00::/8, 192.168.1.10`): hostnames (a
 * leading `*.` for every subdomain) and IP addresses or CIDR ranges, comma-separated. Each bad entry is a problem
 * naming the variable.
 */
function parseAllowList(name: string, raw: string | undefined, problems: string[]): EgressAllowList {
  const out: EgressAllowList = { allowedHosts: [], allowedCidrs: [] };
  for (const entry of (raw || '').split(',').map((e) => e.trim().toLowerCase())) {
    if (!entry) continue;
    const [address, prefixRaw] = entry.split('/', 2);
    const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : null;
    if (family) {
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = prefixRaw === undefined ? max : Number(prefixRaw);
      if (!/^\d+$/.test(prefixRaw ?? String(max)) || prefix > max) {
        problems.push(`${name}: "${entry}" is not a valid CIDR range`);
      } else out.allowedCidrs.push({ address, prefix, family });
    } else if (
      /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(entry)
    ) {
      out.allowedHosts.push(entry);
    } else {
      problems.push(`${name}: "${entry}" is neither a hostname nor an IP address or CIDR range`);
    }
  }
  return out;
}

/** proxy-addr's names for address ranges, allowed in TRUST_PROXY's list. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: `false` (default), the proxies' addresses and CIDR ranges (`10.0.0.0/8, 127.0.0.1, loopback`), or
 * `true` (any peer: only when nothing but the proxy can reach the server). The client IP (rate limits, lock-outs,
 * logs) is then the first address in X-Forwarded-For, from the right, that is not a trusted proxy: a client
 * cannot choose its own address by sending the header. (Fastify ignores hop counts, so none is offered.)
 */
function parseTrustProxy(raw: string | undefined, problems: string[]): Config['trustProxy'] {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  const list = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const bad = list.filter((entry) => {
    if (PROXY_RANGES.has(entry)) return false;
    const [address, prefix] = entry.split('/', 2);
    const max = net.isIPv4(address) ? 32 : net.isIPv6(address) ? 128 : 0;
    return !max || (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max));
  });
  if (bad.length || !list.length)
    problems.push(
      `TRUST_PROXY must be false, true, or the proxies' comma-separated addresses/CIDR ranges (got "${raw}")`,
    );
  return bad.length ? false : list;
}

/** Extra trusted CA certificates, on top of Node's bundled roots (WEBHOOK_CA_FILE, CONNECTOR_CA_FILE). */
export interface CaTrust {
  /** The file's absolute path (for messages), or null. */
  caFile: string | null;
  /**
   * Its PEM text, read once at start: a file moved, deleted or made unreadable later (a secret volume remounted,
   * a config management run) changes nothing until the next start, rather than failing the first connection.
   */
  caPem: string | null;
}

/** A CA file variable: the absolute path of a readable PEM file and its text, or nulls. */
function caTrustOf(name: string, raw: string | undefined, problems: string[]): CaTrust {
  if (!raw) return { caFile: null, caPem: null };
  const file = path.resolve(raw);
  let pem: string | null = null;
  try {
    pem = fs.readFileSync(file, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----'))
      problems.push(`${name}: ${file} holds no PEM certificate`);
  } catch (err) {
    problems.push(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
  return { caFile: file, caPem: pem };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];

  // Decimal digits only: Number() would also take "1e3", "0x10", " 12 " or "1_000".
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return def;
    }
    return n;
  };

  const port = int('PORT', 3000, 0, 65535);
  const host = env.HOST || '0.0.0.0';
  // An IP address or a host name; "999.1.1.1" is neither (all-numeric labels are an IPv4 address or nothing).
  if (!net.isIP(host) && (!HOSTNAME_RE.test(host) || /^[\d.]+$/.test(host))) {
    problems.push(`HOST must be an IP address or a host name to listen on (got "${host}")`);
  }
  const dataDir = path.resolve(env.DATA_DIR || './data');

  let databaseUrl: string | null = env.DATABASE_URL || null;
  if (databaseUrl) {
    const shown = redactUrl(databaseUrl);
    let problem: string | null = null;
    if (!/^postgres(ql)?:\/\//i.test(databaseUrl)) {
      problem = 'must start with postgres:// or postgresql://';
    } else {
      // pg's own parser (WHATWG URL, retried with a placeholder host for `postgres://user@/db?host=/socket/dir`),
      // so what passes here is what the driver accepts; it also reads the sslcert/sslkey/sslrootcert files named.
      try {
        parseConnectionString(databaseUrl);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        problem = `is not a valid connection URL (${e.code === 'ERR_INVALID_URL' ? 'Invalid URL' : e.message})`;
      }
    }
    if (problem) {
      problems.push(`DATABASE_URL ${problem} (got "${shown}")`);
      databaseUrl = null;
    }
  }

  let redisUrl: string | null = env.REDIS_URL || null;
  if (redisUrl && !/^rediss?:\/\/[^/]/.test(redisUrl)) {
    problems.push(`REDIS_URL must start with redis:// or rediss:// (got "${redisUrl}")`);
    redisUrl = null;
  }

  let publicUrl = env.PUBLIC_URL || `http://localhost:${port}`;
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    publicUrl = publicUrl.replace(/\/+$/, '');
    // Links are `${PUBLIC_URL}/path…`: a base path works (behind a proxy that strips it), a query, a fragment or
    // credentials would end up in the middle of every link.
    if (u.search || u.hash || publicUrl.includes('?') || publicUrl.includes('#')) {
      problems.push(`PUBLIC_URL must not have a query (?…) or fragment (#…) (got "${redactUrl(publicUrl)}")`);
    } else if (u.username || u.password) {
      problems.push(`PUBLIC_URL must not contain a user name or password (got "${redactUrl(publicUrl)}")`);
    }
  } catch {
    problems.push(`PUBLIC_URL must be an http(s) URL (got "${redactUrl(publicUrl)}")`);
  }

  const logLevel = (env.LOG_LEVEL || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const appSecret = env.RESOLVE_SECRET || '';
  if (appSecret && appSecret.length < 32) problems.push('RESOLVE_SECRET must be at least 32 characters');

  const demoPassword = env.RESOLVE_DEMO_PASSWORD || null;
  if (demoPassword !== null && demoPassword.length < 8) {
    problems.push('RESOLVE_DEMO_PASSWORD must be at least 8 characters');
  }

  let storage: Config['storage'] = { driver: 'local', dir: path.join(dataDir, 'uploads') };
  if ((env.STORAGE_DRIVER || 'local') === 's3') {
    if (!env.S3_BUCKET) problems.push('S3_BUCKET is required when STORAGE_DRIVER=s3');
    storage = {
      driver: 's3',
      bucket: env.S3_BUCKET || '',
      region: env.S3_REGION || 'us-east-1',
      endpoint: env.S3_ENDPOINT || null,
      accessKeyId: env.S3_ACCESS_KEY_ID || null,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY || null,
      forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true' || env.S3_FORCE_PATH_STYLE === '1',
    };
  } else if (env.STORAGE_DRIVER && env.STORAGE_DRIVER !== 'local') {
    problems.push(`STORAGE_DRIVER must be local or s3 (got "${env.STORAGE_DRIVER}")`);
  }

  const retryRaw = env.WEBHOOK_RETRY_SCHEDULE || DEFAULT_WEBHOOK_RETRY_SCHEDULE;
  let retryScheduleMs = parseDurations(retryRaw) ?? [];
  if (!retryScheduleMs.length || retryScheduleMs.length > 30) {
    problems.push(
      `WEBHOOK_RETRY_SCHEDULE must be 1 to 30 comma-separated delays such as 0,5s,5m,2h (units ms, s, m, h, d; each at most 7d) (got "${retryRaw}")`,
    );
    retryScheduleMs = parseDurations(DEFAULT_WEBHOOK_RETRY_SCHEDULE)!;
  }
  const webhookAllowList = parseAllowList('WEBHOOK_ALLOWED_HOSTS', env.WEBHOOK_ALLOWED_HOSTS, problems);
  const webhookCa = caTrustOf('WEBHOOK_CA_FILE', env.WEBHOOK_CA_FILE, problems);
  const proxyUrl = env.WEBHOOK_PROXY_URL || null;
  if (proxyUrl) {
    let ok = false;
    try {
      const u = new URL(proxyUrl);
      ok = u.protocol === 'http:' && !!u.hostname && (u.pathname === '/' || u.pathname === '');
    } catch {}
    if (!ok) problems.push(`WEBHOOK_PROXY_URL must be http://[user:password@]host:port (got "${proxyUrl}")`);
  }

  const config: Config = {
    storage,
    port,
    host,
    publicUrl,
    publicUrlSet: !!env.PUBLIC_URL,
    dataDir,
    databaseUrl,
    logLevel,
    appSecret,
    demoPassword,
    bodyLimitBytes: int('BODY_LIMIT_BYTES', 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    stuckAfterDaysDefault: int('STUCK_AFTER_DAYS', 5, 1, 365),
    workerConcurrency: int('WORKER_CONCURRENCY', 4, 1, 64),
    workerPollMs: int('WORKER_POLL_MS', 500, 10, 60_000),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    pgPoolMax: int('PG_POOL_MAX', 10, 1, 200),
    redisUrl,
    apiRateLimit: { max: int('API_RATE_LIMIT_PER_MINUTE', 600, 1, 10_000_000), windowSeconds: 60 },
    lookup: {
      ipMax: int('LOOKUP_IP_MAX', 60, 1, 1_000_000),
      ipWindowSeconds: int('LOOKUP_IP_WINDOW_SECONDS', 600, 1, 86_400),
      shopMax: int('LOOKUP_SHOP_MAX_PER_MINUTE', 1200, 1, 10_000_000),
      orderFailures: int('LOOKUP_ORDER_FAILURES', 5, 1, 1000),
      ipFailures: int('LOOKUP_IP_FAILURES', 10, 1, 10_000),
      lockSeconds: int('LOOKUP_LOCK_SECONDS', 900, 1, 86_400),
    },
    trustProxy: parseTrustProxy(env.TRUST_PROXY, problems),
    connectorTestUrls: env.CONNECTOR_TEST_URLS === 'true',
    connectors: {
      ...parseAllowList('CONNECTOR_ALLOWED_HOSTS', env.CONNECTOR_ALLOWED_HOSTS, problems),
      ...caTrustOf('CONNECTOR_CA_FILE', env.CONNECTOR_CA_FILE, problems),
    },
    webhooks: {
      retryScheduleMs,
      connectTimeoutMs: int('WEBHOOK_CONNECT_TIMEOUT_MS', 5000, 100, 60_000),
      timeoutMs: int('WEBHOOK_TIMEOUT_MS', 15_000, 100, 120_000),
      ...webhookAllowList,
      ...webhookCa,
      proxyUrl,
    },
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}
