import assert from 'node:assert/strict';
import { and, eq, sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.js';
import type { Db } from '../../src/db/client.js';
import { orders } from '../../src/db/schema.js';

export type Res = LightMyRequestResponse;
type Headers = Record<string, string>;

/** The merchant order endpoints of one shop, called with the given headers (e.g. `shop.auth.editor`). */
export function ordersApi(app: App, slug: string, headers: Headers) {
  const base = `/v1/shops/${slug}/orders`;
  return {
    put: (doc: unknown, extra: Headers = {}) =>
      app.inject({ method: 'PUT', url: base, headers: { ...headers, ...extra }, payload: doc as object }),
    bulk: (docs: unknown[], extra: Headers = {}) =>
      app.inject({
        method: 'POST',
        url: `${base}/bulk`,
        headers: { ...headers, ...extra },
        payload: { orders: docs },
      }),
    get: (id: string) => app.inject({ method: 'GET', url: `${base}/${encodeURIComponent(id)}`, headers }),
    search: (q: Record<string, string | number> = {}) =>
      app.inject({
        method: 'GET',
        url: `${base}?${new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]))}`,
        headers,
      }),
    events: (id: string, shipmentId: string, events: unknown[], extra: Headers = {}) =>
      app.inject({
        method: 'POST',
        url: `${base}/${encodeURIComponent(id)}/shipments/${encodeURIComponent(shipmentId)}/events`,
        headers: { ...headers, ...extra },
        payload: { events },
      }),
  };
}

export interface ErrorShape {
  type: string;
  key: string;
  message: string;
  errors?: { path: string; message: string }[];
}

/** Asserts status, key and the error envelope `{error: {type, key, message, errors?}}`; returns `error`. */
export function assertError(res: Res, status: number, key: string): ErrorShape {
  assert.equal(
    res.statusCode,
    status,
    `expected ${status} ${key}, got ${res.statusCode}: ${res.body.slice(0, 500)}`,
  );
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json();
  assert.deepEqual(Object.keys(body), ['error'], res.body);
  const err = body.error as ErrorShape;
  assert.equal(err.key, key, res.body);
  assert.equal(err.type, status >= 500 ? 'api_error' : 'invalid_request_error');
  assert.equal(typeof err.message, 'string');
  assert.ok(err.message.length > 0);
  for (const k of Object.keys(err)) assert.ok(['type', 'key', 'message', 'errors'].includes(k), k);
  if (err.errors !== undefined) {
    assert.ok(Array.isArray(err.errors) && err.errors.length > 0, res.body);
    for (const e of err.errors) {
      assert.deepEqual(Object.keys(e).sort(), ['message', 'path']);
      assert.equal(typeof e.path, 'string');
      assert.equal(typeof e.message, 'string');
    }
  }
  return err;
}

/** Asserts a 400 `validation_failed` whose `errors` name `path` (exactly). */
export function assertInvalidAt(res: Res, path: string): ErrorShape {
  const err = assertError(res, 400, 'validation_failed');
  const paths = (err.errors ?? []).map((e) => e.path);
  assert.ok(paths.includes(path), `expected an error at ${path}, got ${JSON.stringify(paths)}`);
  return err;
}

export const basicAuth = (username: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
});

/** Orders stored for a shop, straight from the database (optionally with one order number). */
export async function countOrders(db: Db, shopId: string, orderNumberNorm?: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(orders)
    .where(
      and(
        eq(orders.shopId, shopId),
        orderNumberNorm === undefined ? undefined : eq(orders.orderNumberNorm, orderNumberNorm),
      ),
    );
  return Number(row.n);
}

/** An ISO timestamp `days` days before now (fractions allowed). */
export const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

/** A client address of its own per call, so per-IP lookup limits of one test do not meet another's. */
export const randomIp = () =>
  `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;

/**
 * What a customer holds after opening the shop's signed link: a merchant key creates the link for the order, and
 * the token opens a `token` session (the level that may cancel or change the address). Returns the bearer.
 */
export async function tokenSession(
  app: App,
  shop: { slug: string; auth: { admin: Headers } },
  orderId: string,
) {
  const link = await app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/orders/${orderId}/resolve-link`,
    headers: shop.auth.admin,
  });
  assert.equal(link.statusCode, 201, link.body);
  const s = await app.inject({
    method: 'POST',
    url: `/v1/resolve/${shop.slug}/sessions`,
    payload: { token: link.json().token },
    remoteAddress: randomIp(),
  });
  assert.equal(s.statusCode, 201, s.body);
  assert.equal(s.json().level, 'token');
  return s.json().session as string;
}
