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

  const config: Config = {
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
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}
