import path from 'node:path';

/** The only place that reads process.env. Parsed once at start and passed down. */
export interface Config {
  port: number;
  host: string;
  publicUrl: string;
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
  /** Trust X-Forwarded-For from a reverse proxy for the client IP. */
  trustProxy: boolean;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];

  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return def;
    }
    return n;
  };

  const port = int('PORT', 3000, 0, 65535);
  const host = env.HOST || '0.0.0.0';
  const dataDir = path.resolve(env.DATA_DIR || './data');

  let databaseUrl: string | null = env.DATABASE_URL || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(`DATABASE_URL must start with postgres:// or postgresql:// (got "${databaseUrl}")`);
    databaseUrl = null;
  }

  let publicUrl = env.PUBLIC_URL || `http://localhost:${port}`;
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    publicUrl = publicUrl.replace(/\/+$/, '');
  } catch {
    problems.push(`PUBLIC_URL must be an http(s) URL (got "${publicUrl}")`);
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

  const config: Config = {
    storage,
    port,
    host,
    publicUrl,
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
    lookup: {
      ipMax: int('LOOKUP_IP_MAX', 60, 1, 1_000_000),
      ipWindowSeconds: int('LOOKUP_IP_WINDOW_SECONDS', 600, 1, 86_400),
      shopMax: int('LOOKUP_SHOP_MAX_PER_MINUTE', 1200, 1, 10_000_000),
      orderFailures: int('LOOKUP_ORDER_FAILURES', 5, 1, 1000),
      ipFailures: int('LOOKUP_IP_FAILURES', 10, 1, 10_000),
      lockSeconds: int('LOOKUP_LOCK_SECONDS', 900, 1, 86_400),
    },
    trustProxy: env.TRUST_PROXY === 'true' || env.TRUST_PROXY === '1',
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}
