import { Redis } from 'ioredis';
import { AppError } from '../lib/errors.js';

/** Attempts counted in fixed windows, and how long each window still runs (ms). */
export interface LookupAttempts {
  ipHits: number;
  ipWindowLeftMs: number;
  shopHits: number;
  shopWindowLeftMs: number;
}

/**
 * The customer lookup's hot counters in Redis (`REDIS_URL`): attempts per client IP and per shop. In the
 * database every lookup of a shop updates the same row, which stays locked until the statement's transaction
 * ends, so a shop's lookups take turns; an INCR in Redis takes no lock. Failures and lock-outs stay in the
 * database (written only on misses, listed and lifted in the portal).
 */
export interface LookupCounters {
  countAttempt(
    ip: string,
    slug: string,
    windows: { ipSeconds: number; shopSeconds: number },
  ): Promise<LookupAttempts>;
  /** One fixed-window counter (e.g. order-token sessions per IP): hits so far and ms left in the window. */
  countOne(key: string, windowSeconds: number): Promise<{ hits: number; windowLeftMs: number }>;
  close(): Promise<void>;
}

/**
 * One fixed window per key, like the database's rate_limits rows: the first hit starts the window, the key
 * expires with it. PTTL < 0 also repairs a key that lost its expiry. One or two keys in one atomic round trip.
 */
const COUNT = `
local function bump(key, ms)
  local n = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ms)
    ttl = tonumber(ms)
  end
  return {n, ttl}
end
local a = bump(KEYS[1], ARGV[1])
if #KEYS == 1 then return a end
local b = bump(KEYS[2], ARGV[2])
return {a[1], a[2], b[1], b[2]}`;

type CountingRedis = Redis & {
  resolveCountTwo(
    k1: string,
    k2: string,
    ms1: number,
    ms2: number,
  ): Promise<[number, number, number, number]>;
  resolveCountOne(k: string, ms: number): Promise<[number, number]>;
};

/** Redis down or slow: 503 with Retry-After (the cause goes to the log); never a lookup without its limits. */
const unavailable = (err: unknown) =>
  Object.assign(
    new AppError(
      'service_unavailable',
      'The service is briefly unavailable. Please try again in a moment.',
      [],
      503,
      { 'retry-after': '5' },
    ),
    { cause: err },
  );

export function redisLookupCounters(url: string, keyPrefix = 'resolve:'): LookupCounters {
  const redis = new Redis(url, {
    keyPrefix,
    lazyConnect: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    connectTimeout: 5000,
  }) as CountingRedis;
  redis.on('error', () => {}); // reconnects by itself; each failed command answers 503 below
  redis.defineCommand('resolveCountTwo', { numberOfKeys: 2, lua: COUNT });
  redis.defineCommand('resolveCountOne', { numberOfKeys: 1, lua: COUNT });
  return {
    async countAttempt(ip, slug, windows) {
      try {
        const [ipHits, ipLeft, shopHits, shopLeft] = await redis.resolveCountTwo(
          `lookup:ip:${ip}`,
          `lookup:shop:${slug}`,
          windows.ipSeconds * 1000,
          windows.shopSeconds * 1000,
        );
        return { ipHits, ipWindowLeftMs: ipLeft, shopHits, shopWindowLeftMs: shopLeft };
      } catch (err) {
        throw unavailable(err);
      }
    },
    async countOne(key, windowSeconds) {
      try {
        const [hits, left] = await redis.resolveCountOne(key, windowSeconds * 1000);
        return { hits, windowLeftMs: left };
      } catch (err) {
        throw unavailable(err);
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
