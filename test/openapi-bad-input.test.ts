// Walks every operation of GET /v1/openapi.json and throws bad input at it: the server must never answer 5xx,
// every 4xx carries a string `error.key`, and none of it stores anything. All offenders are collected and
// reported together, so one run shows every problem.
//
// Not reached meaningfully, on purpose:
// - the portal login lock-out (repeated failed logins of one account): bad bodies are refused before a login
//   is attempted, and locking an account out is covered by test/portal-auth.test.ts;
// - POST /v1/connectors/{connectionId}/webhooks with a real connection: a connection needs credentials a live
//   platform accepts (test/connectors-*.test.ts use the fake platform); here it gets bad ids and bodies only;
// - GET /v1/files/{id} with a real signed link: only bad ids and query strings (a link is minted for an
//   upload attached to a claim, covered by test/uploads.test.ts);
// - portal me/logout with a real portal session: they take no body or parameters beyond the cookie.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { InjectOptions } from 'fastify';
import { query } from '../src/db/client.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { shapedOrder } from './support/claims.js';
import type { Res } from './support/http.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = Record<string, unknown>;
interface Operation {
  method: string;
  path: string;
  parameters?: { name: string; in: string; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  security?: Record<string, unknown>[];
}

/** 5xx answers with a known cause whose fix is not small: none at the moment. Keys are `METHOD path-template`. */
const KNOWN_5XX: Record<string, string> = {};

let ctx: TestContext;
let shop: TestShop;
let session: string;
let spec: {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};
/** Real ids of this shop, by path template and parameter name, so bodies reach the handlers. */
const real: Record<string, string> = {};

const randomIp = () => {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}`;
};

async function counts() {
  const id = shop.shop.id;
  const [row] = await query<Record<string, number>>(
    ctx.db,
    sql`select
      (select count(*)::int from orders where shop_id = ${id}) as orders,
      (select count(*)::int from claims where shop_id = ${id}) as claims,
      (select count(*)::int from uploads where shop_id = ${id}) as uploads,
      (select count(*)::int from claim_views where shop_id = ${id}) as claim_views,
      (select count(*)::int from webhook_endpoints where shop_id = ${id}) as webhook_endpoints,
      (select count(*)::int from invites where shop_id = ${id}) as invites,
      (select count(*)::int from api_keys where ${id} = any(shop_ids)) as api_keys`,
  );
  return row;
}

before(async () => {
  // The API rate limit would answer most of these requests before they reach validation.
  ctx = await startTestApp({ apiRateLimit: { max: 10_000_000, windowSeconds: 60 } });
  shop = await createTestShop(ctx.db, 'fuzz');
  spec = (await ctx.app.inject({ url: '/v1/openapi.json' })).json();
  const h = shop.auth.admin;
  const doc = shapedOrder();
  const put = await ctx.app.inject({
    method: 'PUT',
    url: `/v1/shops/${shop.slug}/orders`,
    headers: h,
    payload: doc,
  });
  assert.ok([200, 201].includes(put.statusCode), put.body);
  const order = put.json();
  real.order = order.id;
  real.shipment = order.shipments[0].id;
  lookup = { order_number: doc.order_number, zip_code: doc.shipping_address!.zip_code! };
  session = await openSession();
  const claim = await ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/claims`,
    headers: h,
    payload: {
      order_id: order.id,
      flow: 'missing_item',
      reason: 'missing_from_parcel',
      items: [{ line_item_id: order.line_items[0].id, quantity: 1 }],
      resolution_preference: 'replacement',
      override_gating: true,
    },
  });
  assert.equal(claim.statusCode, 201, claim.body);
  real.claim = claim.json().id;
  const view = await ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/claim-views`,
    headers: h,
    payload: { name: 'fuzz', query: {} },
  });
  assert.equal(view.statusCode, 201, view.body);
  real.view = view.json().id;
  const hook = await ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/webhooks`,
    headers: h,
    payload: { url: 'https://hooks.example.com/fuzz' },
  });
  // Endpoints may be refused by the egress allow-list: then only bad ids reach the webhook routes.
  if (hook.statusCode === 201) real.webhook = hook.json().id;
});
after(() => ctx.close());

let lookup: { order_number: string; zip_code: string };
async function openSession(): Promise<string> {
  const opened = await ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${shop.slug}/sessions`,
    payload: lookup,
    remoteAddress: randomIp(),
  });
  assert.equal(opened.statusCode, 201, opened.body);
  return opened.json().session;
}

/** The real value of a path parameter, or a well-formed id that does not exist. */
function realParam(path: string, name: string): string {
  if (name === 'slug') return shop.slug;
  if (name === 'shipment_id') return real.shipment;
  if (name === 'id' && path.startsWith('/v1/shops/{slug}/orders/')) return real.order;
  if (name === 'id' && path.startsWith('/v1/shops/{slug}/claims/')) return real.claim;
  if (name === 'id' && path.startsWith('/v1/shops/{slug}/claim-views/')) return real.view;
  if (name === 'id' && path.startsWith('/v1/shops/{slug}/webhooks/') && real.webhook) return real.webhook;
  return missingParam(path, name);
}

function missingParam(path: string, name: string): string {
  if (name === 'slug') return `nosuch-${randomBytes(4).toString('hex')}`;
  if (name === 'order_number') return 'NOSUCH4711';
  const prefix: Record<string, string> = {
    orders: 'ord',
    claims: 'clm',
    'claim-views': 'cv',
    webhooks: 'whe',
    notices: 'ntc',
    users: 'usr',
    invites: 'inv',
    'api-keys': 'key',
    files: 'upl',
    connectors: 'con',
  };
  const segment = path.split('/')[path.split('/').indexOf(`{${name}}`) - 1];
  const p = name === 'action_id' ? 'act' : name === 'message_id' ? 'msg' : (prefix[segment] ?? 'x');
  return `${p}_${'0'.repeat(26)}`;
}

const BAD_PARAMS: [string, string][] = [
  ['x×300', 'x'.repeat(300)],
  ['%00', 'a%00b'],
  ['%2e%2e%2f', '%2e%2e%2f'],
  ['unicode', encodeURIComponent('ünï✓😀')],
  ['invalid UTF-8', '%ED%A0%80%ff'],
];

function resolve(schema: Schema | undefined): Schema {
  let s = schema ?? {};
  for (let i = 0; i < 20 && typeof s.$ref === 'string'; i++) {
    const name = (s.$ref as string).replace('#/components/schemas/', '');
    s = spec.components?.schemas?.[name] ?? {};
  }
  return s;
}

function types(schema: Schema): Set<string> {
  const s = resolve(schema);
  const out = new Set<string>();
  if (Array.isArray(s.type)) for (const t of s.type) out.add(t);
  else if (typeof s.type === 'string') out.add(s.type);
  for (const key of ['anyOf', 'oneOf']) {
    for (const branch of (s[key] as Schema[] | undefined) ?? []) for (const t of types(branch)) out.add(t);
  }
  if (out.has('integer')) out.add('number');
  if ('const' in s) out.add(s.const === null ? 'null' : typeof s.const);
  return out;
}

/** The first non-null branch of a union, merged `allOf`: the shape a sample value is made from. */
function shape(schema: Schema | undefined): Schema {
  const s = resolve(schema);
  for (const key of ['anyOf', 'oneOf']) {
    const branches = s[key] as Schema[] | undefined;
    if (branches?.length)
      return shape(branches.find((b) => !types(b).has('null') || types(b).size > 1) ?? branches[0]);
  }
  if (Array.isArray(s.allOf)) {
    const merged: Schema = { type: 'object', properties: {}, required: [] };
    for (const part of s.allOf as Schema[]) {
      const p = shape(part);
      Object.assign(merged.properties as Schema, p.properties ?? {});
      (merged.required as string[]).push(...((p.required as string[]) ?? []));
    }
    return merged;
  }
  return s;
}

/** A plausible value of the schema (required properties only): the base each bad body changes one thing of. */
function sample(schema: Schema | undefined, depth = 0): Json {
  const s = shape(schema);
  if ('const' in s) return s.const as Json;
  if (Array.isArray(s.enum)) return s.enum[0] as Json;
  const t = [...types(s)].find((x) => x !== 'null') ?? (s.properties ? 'object' : 'null');
  if (depth > 8) return null;
  switch (t) {
    case 'object': {
      const out: Record<string, Json> = {};
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const k of (s.required as string[] | undefined) ?? []) out[k] = sample(props[k], depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: Number(s.minItems ?? 0) }, () => sample(s.items as Schema, depth + 1));
    case 'string': {
      const formats: Record<string, string> = {
        'date-time': '2026-11-20T09:30:00Z',
        date: '2026-11-20',
        email: 'kim@example.com',
        uri: 'https://example.com/x',
      };
      return formats[s.format as string] ?? 'a'.repeat(Math.max(1, Number(s.minLength ?? 1)));
    }
    case 'integer':
    case 'number':
      return Number(s.minimum ?? 1);
    case 'boolean':
      return true;
    default:
      return null;
  }
}

const WRONG: Record<string, Json> = {
  string: 'x',
  number: 1.5,
  boolean: true,
  array: [1],
  object: { a: 1 },
  null: null,
};

function wrongValues(schema: Schema): [string, Json][] {
  const ok = types(schema);
  const out: [string, Json][] = Object.entries(WRONG).filter(([t]) => !ok.has(t));
  if (ok.has('integer')) out.push(['non-integer', 1.5]);
  return out;
}

/** Every property of a body schema (into objects and array items), as a path and its schema. */
function properties(
  schema: Schema | undefined,
  path: (string | number)[] = [],
  depth = 0,
): [(string | number)[], Schema][] {
  if (depth > 4) return [];
  const s = shape(schema);
  const out: [(string | number)[], Schema][] = [];
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
    out.push([[...path, k], v]);
    const inner = shape(v);
    if (inner.properties) out.push(...properties(v, [...path, k], depth + 1));
    else if (inner.items) {
      out.push([[...path, k, 0], inner.items as Schema]);
      out.push(...properties(inner.items as Schema, [...path, k, 0], depth + 1));
    }
  }
  return out;
}

/** The base body with the value at `path` set (containers on the way are created from their schema). */
function setAt(base: Json, path: (string | number)[], value: Json): Json {
  const copy = structuredClone(base) as Record<string, Json>;
  let node: Record<string | number, Json> = copy;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<string | number, Json>;
  }
  node[path[path.length - 1]] = value;
  return copy;
}

const DEEP = '__fuzz_deep__';

function nested(depth: number, leaf: Json): string {
  return '{"a":'.repeat(depth) + JSON.stringify(leaf) + '}'.repeat(depth);
}

interface Probe {
  what: string;
  url: string;
  payload?: string | Buffer;
  contentType?: string;
}

const offenders: string[] = [];
let sent = 0;
let operations = 0;

function check(method: string, template: string, probe: Probe, res: Res) {
  sent++;
  const excerpt = () => res.body.slice(0, 300);
  const where = `${method} ${template} [${probe.what}] ${probe.url.slice(0, 160)}`;
  if (res.statusCode >= 500) {
    if (KNOWN_5XX[`${method} ${template}`]) return;
    offenders.push(`${where} → ${res.statusCode} ${excerpt()}`);
    return;
  }
  if (res.statusCode < 400 || method === 'HEAD') return;
  let key: unknown;
  try {
    key = res.json().error?.key;
  } catch {
    offenders.push(`${where} → ${res.statusCode}, body not JSON: ${excerpt()}`);
    return;
  }
  if (typeof key !== 'string' || !key)
    offenders.push(`${where} → ${res.statusCode}, no error.key: ${excerpt()}`);
}

/** Claim submissions are limited per session (CLAIM_LIMIT, 30 an hour): a fresh session every 25 of them. */
let submissions = 0;
async function headersFor(method: string, template: string): Promise<Record<string, string>> {
  if (method === 'POST' && template === '/v1/resolve/{slug}/claims' && ++submissions % 25 === 0) {
    session = await openSession();
  }
  if (template.startsWith('/v1/resolve/')) return { authorization: `Bearer ${session}` };
  if (template.startsWith('/v1/shops/')) return shop.auth.admin;
  return {};
}

async function send(method: string, template: string, probe: Probe) {
  const headers: Record<string, string> = { ...(await headersFor(method, template)) };
  if (probe.contentType) headers['content-type'] = probe.contentType;
  const opts: InjectOptions = {
    method: method as InjectOptions['method'],
    url: probe.url,
    headers,
    remoteAddress: randomIp(),
  };
  if (probe.payload !== undefined) opts.payload = probe.payload;
  let res: Res;
  try {
    res = await ctx.app.inject(opts);
  } catch (err) {
    offenders.push(`${method} ${template} [${probe.what}] inject threw: ${(err as Error).message}`);
    return;
  }
  check(method, template, probe, res);
}

function urlOf(template: string, values: Record<string, string>, qs = ''): string {
  return template.replace(/\{(\w+)\}/g, (_, n: string) => values[n]) + qs;
}

function probesFor(template: string, method: string, op: Operation): Probe[] {
  const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const good = Object.fromEntries(names.map((n) => [n, realParam(template, n)]));
  const url = urlOf(template, good);
  const jsonSchema = op.requestBody?.content['application/json']?.schema;
  const base = jsonSchema ? sample(jsonSchema) : {};
  const baseText = JSON.stringify(base);
  const json = (what: string, payload: string): Probe => ({
    what,
    url,
    payload,
    contentType: 'application/json',
  });
  const probes: Probe[] = [];

  // Path parameters: each one in turn, the others real.
  for (const n of names) {
    const variants: [string, string][] = [['missing id', missingParam(template, n)], ...BAD_PARAMS];
    for (const [what, value] of variants) {
      const p: Probe = { what: `path ${n}: ${what}`, url: urlOf(template, { ...good, [n]: value }) };
      if (['POST', 'PUT', 'PATCH'].includes(method))
        Object.assign(p, { payload: baseText, contentType: 'application/json' });
      probes.push(p);
    }
  }

  // Query strings: unknown, wrong types, huge values, NUL, broken encodings, repeated. Never with a real id on
  // DELETE (an ignored query would make it a real deletion).
  const queryUrl =
    method === 'DELETE'
      ? urlOf(template, Object.fromEntries(names.map((n) => [n, missingParam(template, n)])))
      : url;
  // A body operation gets its base body only when it declares query parameters (so the query is what is
  // judged); the others get no body: an ignored unknown parameter with a valid body would be a real write.
  const declaresQuery = (op.parameters ?? []).some((p) => p.in === 'query');
  const withQuery = (what: string, qs: string): Probe => ({
    what,
    url: `${queryUrl}?${qs}`,
    ...(['POST', 'PUT', 'PATCH'].includes(method) && declaresQuery
      ? { payload: baseText, contentType: 'application/json' }
      : {}),
  });
  probes.push(withQuery('unknown query', 'zz_unknown=1&__proto__=x&constructor=y'));
  for (const param of (op.parameters ?? []).filter((p) => p.in === 'query')) {
    const s = shape(param.schema);
    const t = types(param.schema ?? {});
    const wrong =
      t.has('number') || t.has('boolean')
        ? 'abc'
        : s.format
          ? 'not-a-value'
          : Array.isArray(s.enum)
            ? 'zz-none'
            : '-1';
    const q = encodeURIComponent(param.name);
    probes.push(withQuery(`query ${param.name}: wrong type`, `${q}=${wrong}`));
    probes.push(withQuery(`query ${param.name}: huge`, `${q}=${'9'.repeat(100_000)}`));
    probes.push(withQuery(`query ${param.name}: huge string`, `${q}=${'x'.repeat(100_000)}`));
    probes.push(withQuery(`query ${param.name}: NUL`, `${q}=a%00b`));
    probes.push(withQuery(`query ${param.name}: invalid UTF-8`, `${q}=%ED%A0%80%ff%`));
    probes.push(withQuery(`query ${param.name}: repeated`, `${q}=1&${q}=2&${q}[]=3`));
    probes.push(withQuery(`query ${param.name}: empty`, `${q}=`));
  }

  if (!['POST', 'PUT', 'PATCH'].includes(method)) return probes;

  // Multipart upload: no JSON body schema.
  if (op.requestBody?.content['multipart/form-data']) {
    const boundary = `----fuzz${randomBytes(6).toString('hex')}`;
    const type = `multipart/form-data; boundary=${boundary}`;
    const part = (head: string, body: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; ${head}\r\n\r\n${body}\r\n--${boundary}--\r\n`;
    probes.push(json('multipart route: JSON body', '{"file": "x"}'));
    probes.push({ what: 'empty multipart', url, payload: `--${boundary}--\r\n`, contentType: type });
    probes.push({ what: 'multipart without parts', url, payload: '', contentType: type });
    probes.push({
      what: 'non-image file',
      url,
      payload: part('name="file"; filename="photo.png"\r\nContent-Type: image/png', 'hello, not an image'),
      contentType: type,
    });
    probes.push({ what: 'text field only', url, payload: part('name="note"', 'hi'), contentType: type });
    probes.push({ what: 'multipart, no boundary', url, payload: 'x', contentType: 'multipart/form-data' });
  }

  // Whole bodies.
  probes.push({ what: 'no body', url });
  probes.push({ what: 'no body, JSON type', url, contentType: 'application/json' });
  for (const body of ['null', '[]', '"text"', '{}', '42', 'true', '{"a":', '\u0000'])
    probes.push(json(`body ${body}`, body));
  probes.push(
    json('extra unknown properties', JSON.stringify({ ...(base as object), zz_unknown: 1, __proto__x: {} })),
  );
  probes.push(json('depth-200 object', nested(200, 1)));
  probes.push(json('depth-200 array', `${'['.repeat(200)}1${']'.repeat(200)}`));
  if (base && typeof base === 'object' && !Array.isArray(base)) {
    probes.push(
      json(
        'depth-200 under an unknown key',
        JSON.stringify(base).replace(/^\{/, `{"zz":${nested(200, 1)}${baseText === '{}' ? '' : ','}`),
      ),
    );
  }

  // Each property of the body schema: wrong types, huge strings, NUL, an unpaired surrogate, deep nesting.
  for (const [path, propSchema] of properties(jsonSchema)) {
    const name = path.join('.');
    for (const [t, value] of wrongValues(propSchema)) {
      probes.push(json(`${name}: ${t}`, JSON.stringify(setAt(base, path, value))));
    }
    if (types(propSchema).has('string') || types(propSchema).size === 0) {
      probes.push(json(`${name}: 100,000 chars`, JSON.stringify(setAt(base, path, 'x'.repeat(100_000)))));
      probes.push(json(`${name}: NUL`, JSON.stringify(setAt(base, path, 'a\u0000b'))));
      probes.push(json(`${name}: unpaired surrogate`, JSON.stringify(setAt(base, path, 'a\ud800b'))));
    }
    probes.push(
      json(
        `${name}: depth-200 object`,
        JSON.stringify(setAt(base, path, DEEP)).replace(`"${DEEP}"`, nested(200, 1)),
      ),
    );
  }
  return probes;
}

test('every operation answers bad input with a 4xx and an error key, and stores nothing', {
  timeout: 180_000,
}, async () => {
  const before = await counts();
  const started = Date.now();
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const [m, op] of Object.entries(item)) {
      const method = m.toUpperCase();
      if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) continue;
      operations++;
      const probes = probesFor(template, method, op);
      for (const probe of probes) await send(method, template, probe);
      if (method === 'GET') {
        for (const probe of probes.filter((p) => p.what.startsWith('path ')))
          await send('HEAD', template, probe);
      }
    }
  }
  const after = await counts();
  console.log(`${operations} operations, ${sent} requests, ${Date.now() - started} ms`);
  assert.ok(operations >= 71, `the document lists ${operations} operations`);
  assert.deepEqual(offenders, [], `${offenders.length} offending answers:\n${offenders.join('\n')}`);
  assert.deepEqual(after, before, 'bad requests stored nothing');
});
