import { createHash } from 'node:crypto';
import { type AdminApiClient, createAdminApiClient } from '@shopify/admin-api-client';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { type Connection, type PlatformDeps, PlatformError, SettingError } from '../platform.js';
import { API_VERSION, MAX_QUERY_COST, type Operation } from './queries.js';

/** What a connection must hold; parsed once per client. */
export interface ShopifyConnection {
  shopDomain: string;
  /** Test or proxy override of `https://{shopDomain}` (the documented `api_base_url` setting). */
  apiBaseUrl: string | null;
  accessToken: string;
  webhookSecret: string | null;
}

export function parseConnection(c: Connection): ShopifyConnection {
  const shopDomain = (c.settings.shop_domain ?? '').trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/.test(shopDomain))
    throw new SettingError(
      '/settings/shop_domain',
      "shop_domain must be the shop's myshopify domain, e.g. acme.myshopify.com",
    );
  const base = c.settings.api_base_url?.trim() || null;
  if (base && !/^https?:\/\/[^/]+\/?$/.test(base))
    throw new SettingError(
      '/settings/api_base_url',
      'api_base_url must be an origin such as http://127.0.0.1:8080',
    );
  const accessToken = c.credentials.access_token?.trim();
  if (!accessToken)
    throw new SettingError(
      '/credentials/access_token',
      'The Shopify access token is missing.',
      'auth_failed',
    );
  return {
    shopDomain,
    apiBaseUrl: base ? base.replace(/\/$/, '') : null,
    accessToken,
    webhookSecret: c.credentials.webhook_secret || null,
  };
}

interface Bucket {
  max: number;
  available: number;
  restoreRate: number;
  atMs: number;
}

/** THROTTLED answers (the query did not run) are retried this often before giving up as `rate_limited`. */
const MAX_THROTTLED_RETRIES = 8;
/** One leaky bucket per app and shop: every client of the shop in this process shares what it learned. */
const buckets = new Map<string, Bucket>();
const validators = new Map<TSchema, ReturnType<typeof Compile>>();
const validator = (s: TSchema) => validators.get(s) ?? validators.set(s, Compile(s)).get(s)!;

/**
 * The GraphQL Admin API through `@shopify/admin-api-client`, pointed at `deps.fetch`. Paces itself on Shopify's
 * cost-based leaky bucket: it remembers the last `throttleStatus`, waits (`deps.sleep`) until the bucket holds the
 * next query's requested cost, and retries THROTTLED answers after the wait the bucket implies.
 */
export class ShopifyGraphql {
  private readonly client: AdminApiClient;
  private readonly bucketKey: string;
  /** Last `requestedQueryCost` Shopify reported per operation (and page size). */
  private readonly learned = new Map<string, number>();

  constructor(
    readonly conn: ShopifyConnection,
    private readonly deps: PlatformDeps,
  ) {
    const origin = conn.apiBaseUrl;
    const app = createHash('sha256').update(conn.accessToken).digest('hex').slice(0, 16);
    this.bucketKey = `${origin ?? 'https://'}|${conn.shopDomain}|${app}`;
    this.client = createAdminApiClient({
      storeDomain: origin ? new URL(origin).host : conn.shopDomain,
      apiVersion: API_VERSION,
      accessToken: conn.accessToken,
      userAgentPrefix: 'Resolve',
      retries: 0,
      // The client always builds https://{storeDomain}/admin/api/…; only an explicit api_base_url rewrites the origin.
      customFetchApi: (url, init) =>
        deps.fetch(origin ? url.replace(/^https:\/\/[^/]+/, origin) : url, init as RequestInit),
      logger: (log) => {
        if (log.type === 'Unsupported_Api_Version')
          deps.log.warn({ apiVersion: API_VERSION }, 'shopify: api version');
      },
    });
  }

  private get bucket(): Bucket | null {
    return buckets.get(this.bucketKey) ?? null;
  }
  private set bucket(b: Bucket) {
    buckets.set(this.bucketKey, b);
  }

  /** The most a single query may request: Shopify's limit, or a smaller bucket's whole capacity. */
  get maxQueryCost(): number {
    return Math.min(MAX_QUERY_COST, this.bucket?.max ?? MAX_QUERY_COST);
  }

  /** The requested cost this client expects for `op` (learned from Shopify, else the documented estimate). */
  expectedCost(op: Operation, variables: Record<string, unknown>, key = op.name): number {
    return this.learned.get(key) ?? op.estimate(variables);
  }

  async request<S extends TSchema>(
    op: Operation,
    variables: Record<string, unknown>,
    schema: S,
    costKey = op.name,
  ): Promise<Static<S>> {
    for (let attempt = 0; ; attempt++) {
      await this.pace(op, this.expectedCost(op, variables, costKey));
      const res = await this.client.request(op.query, { variables });
      const cost = res.extensions?.cost;
      if (cost?.throttleStatus) this.observe(cost.throttleStatus);
      if (typeof cost?.requestedQueryCost === 'number') this.learned.set(costKey, cost.requestedQueryCost);
      const status = res.errors?.networkStatusCode;
      const gqlErrors = res.errors?.graphQLErrors ?? [];
      const throttled = status === 429 || gqlErrors.some((e) => e.extensions?.code === 'THROTTLED');
      if (throttled) {
        if (attempt >= MAX_THROTTLED_RETRIES)
          throw new PlatformError('rate_limited', 'Shopify kept throttling the request.', this.refillMs(op));
        // The bucket state (if Shopify sent one) makes the next pace() wait exactly long enough.
        const available = cost?.throttleStatus?.currentlyAvailable;
        const paced = available !== undefined && this.expectedCost(op, variables, costKey) > available;
        const retryAfter = Number(res.errors?.response?.headers.get('retry-after'));
        if (!paced) await this.deps.sleep(retryAfter > 0 ? retryAfter * 1000 : 1000 * 2 ** attempt);
        this.deps.log.info({ op: op.name, attempt }, 'shopify: throttled, retrying');
        continue;
      }
      if (res.errors)
        throw httpOrGraphqlError(op, res.errors.networkStatusCode, gqlErrors, res.errors.message);
      const check = validator(schema);
      if (!check.Check(res.data)) {
        const errors = check.Errors(res.data).slice(0, 5);
        this.deps.log.warn({ op: op.name, errors }, 'shopify: unexpected response shape');
        throw new PlatformError(
          'unavailable',
          `Shopify answered ${op.name} with an unexpected shape.`,
          null,
          errors,
        );
      }
      return res.data as Static<S>;
    }
  }

  private observe(t: { maximumAvailable?: number; currentlyAvailable?: number; restoreRate?: number }) {
    if (t.maximumAvailable === undefined || t.currentlyAvailable === undefined || !t.restoreRate) return;
    this.bucket = {
      max: t.maximumAvailable,
      available: t.currentlyAvailable,
      restoreRate: t.restoreRate,
      atMs: this.deps.now().getTime(),
    };
  }

  private refillMs(op: Operation): number | null {
    const b = this.bucket;
    return b
      ? Math.ceil((Math.max(0, this.expectedCost(op, {}) - b.available) / b.restoreRate) * 1000)
      : null;
  }

  /** Waits until the leaky bucket has restored enough points for a query of `cost`. */
  private async pace(op: Operation, cost: number) {
    const b = this.bucket;
    if (!b) return;
    const now = this.deps.now().getTime();
    const available = Math.min(b.max, b.available + (b.restoreRate * Math.max(0, now - b.atMs)) / 1000);
    const need = Math.min(cost, b.max) - available;
    if (need <= 0) return;
    const waitMs = Math.ceil((need / b.restoreRate) * 1000);
    this.deps.log.info({ op: op.name, cost, available, waitMs }, 'shopify: waiting for query cost budget');
    await this.deps.sleep(waitMs);
    // Credit the wait explicitly so an injected clock that does not advance still sees the restored points.
    this.bucket = {
      ...b,
      available: Math.min(b.max, available + (b.restoreRate * waitMs) / 1000),
      atMs: this.deps.now().getTime(),
    };
  }
}

interface GqlError {
  message: string;
  extensions?: { code?: string };
}

function httpOrGraphqlError(op: Operation, status: number | undefined, errors: GqlError[], message?: string) {
  const details = { operation: op.name, status: status ?? null, errors: errors.slice(0, 5) };
  if (status === 401 || status === 403)
    return new PlatformError('auth_failed', 'Shopify rejected the access token.', null, details);
  if (status === 404)
    return new PlatformError('not_found', 'Shopify answered 404 (shop or API version).', null, details);
  if (status === undefined || status >= 500)
    return new PlatformError(
      'unavailable',
      `Shopify is unreachable: ${message ?? 'network error'}`,
      null,
      details,
    );
  const codes = errors.map((e) => e.extensions?.code);
  const text = errors.map((e) => e.message).join('; ') || message || `HTTP ${status}`;
  // A missing access scope (e.g. read_inventory) is answered per field: the shop's setup cannot do this.
  if (codes.includes('ACCESS_DENIED')) return new PlatformError('unsupported', text, null, details);
  if (codes.includes('INTERNAL_SERVER_ERROR')) return new PlatformError('unavailable', text, null, details);
  if (status >= 400 && status !== 200) return new PlatformError('rejected', text, null, details);
  return new PlatformError('rejected', text, null, { ...details, code: codes[0] ?? null });
}

/** userErrors of a mutation → one rejected/not_found error. */
export function userErrorsToError(
  op: string,
  errors: { field?: string[] | null; message: string; code?: string | null }[],
) {
  const text = errors.map((e) => e.message).join('; ');
  const notFound = errors.some((e) => e.code === 'NOT_FOUND' || /does not exist|not found/i.test(e.message));
  return new PlatformError(notFound ? 'not_found' : 'rejected', `${op}: ${text}`, null, errors);
}
