/**
 * A local Shopify Admin GraphQL API (one pinned version) for the connector's contract tests and bench, built
 * from shopify.dev: POST /admin/api/{version}/graphql.json with X-Shopify-Access-Token; queries are parsed and
 * answered for exactly the fields they select (a field the simulator does not model is an unexpected request);
 * calculated query cost (object 1, scalar 0, connection 2 + first × node, mutation 10, lists like objects) on a
 * leaky bucket with THROTTLED answers; refundCreate requires the @idempotent directive (mandatory in 2026-04).
 * Every request is recorded; anything the connector should never send lands in `unexpected` and gets a 400.
 */
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const SIM_API_VERSION = '2026-04';
const MAX_COST = 1000;

// ------------------------------------------------------------------------------------ GraphQL parsing

type Val =
  | { k: 'var'; name: string }
  | { k: 'lit'; v: unknown }
  | { k: 'list'; items: Val[] }
  | { k: 'obj'; fields: Record<string, Val> };
interface Field {
  name: string;
  alias: string | null;
  args: Record<string, Val>;
  directives: { name: string; args: Record<string, Val> }[];
  sel: Field[] | null;
}
interface Doc {
  type: string;
  name: string | null;
  vars: { name: string; type: string }[];
  sel: Field[];
}
class SimError extends Error {}

function parse(src: string): Doc {
  const toks =
    src.match(/"(?:\\.|[^"\\])*"|\.\.\.|[{}()[\]:!$@=]|-?\d+(?:\.\d+)?|[_A-Za-z][_0-9A-Za-z]*|#[^\n]*/g) ??
    [];
  const t = toks.filter((x) => !x.startsWith('#'));
  let i = 0;
  const peek = () => t[i];
  const next = () => {
    if (i >= t.length) throw new SimError('Unexpected end of document');
    return t[i++];
  };
  const eat = (s: string) => {
    if (t[i] !== s) throw new SimError(`Expected "${s}" but found "${t[i]}"`);
    i++;
  };
  const value = (): Val => {
    const x = next();
    if (x === '$') return { k: 'var', name: next() };
    if (x === '[') {
      const items: Val[] = [];
      while (peek() !== ']') items.push(value());
      eat(']');
      return { k: 'list', items };
    }
    if (x === '{') {
      const fields: Record<string, Val> = {};
      while (peek() !== '}') {
        const n = next();
        eat(':');
        fields[n] = value();
      }
      eat('}');
      return { k: 'obj', fields };
    }
    if (x.startsWith('"')) return { k: 'lit', v: JSON.parse(x) };
    if (/^-?\d/.test(x)) return { k: 'lit', v: Number(x) };
    return { k: 'lit', v: x === 'true' ? true : x === 'false' ? false : x === 'null' ? null : x };
  };
  const args = () => {
    const a: Record<string, Val> = {};
    if (peek() !== '(') return a;
    eat('(');
    while (peek() !== ')') {
      const n = next();
      eat(':');
      a[n] = value();
    }
    eat(')');
    return a;
  };
  const selection = (): Field[] => {
    eat('{');
    const out: Field[] = [];
    while (peek() !== '}') {
      if (peek() === '...') throw new SimError('Fragments are not expected from the connector');
      let name = next();
      let alias: string | null = null;
      if (peek() === ':') {
        eat(':');
        alias = name;
        name = next();
      }
      const a = args();
      const directives: Field['directives'] = [];
      while (peek() === '@') {
        eat('@');
        directives.push({ name: next(), args: args() });
      }
      out.push({ name, alias, args: a, directives, sel: peek() === '{' ? selection() : null });
    }
    eat('}');
    return out;
  };
  const type = next();
  if (type !== 'query' && type !== 'mutation') throw new SimError('Anonymous or unsupported operation');
  const name = peek() !== '(' && peek() !== '{' ? next() : null;
  const vars: Doc['vars'] = [];
  if (peek() === '(') {
    eat('(');
    while (peek() !== ')') {
      eat('$');
      const n = next();
      eat(':');
      let ty = '';
      while (peek() !== ')' && peek() !== '$') ty += next();
      vars.push({ name: n, type: ty });
    }
    eat(')');
  }
  const sel = selection();
  if (i !== t.length) throw new SimError('Trailing tokens after the operation');
  return { type, name, vars, sel };
}

function resolve(v: Val, vars: Record<string, unknown>): unknown {
  if (v.k === 'var') {
    if (!(v.name in vars)) return undefined;
    return vars[v.name];
  }
  if (v.k === 'lit') return v.v;
  if (v.k === 'list') return v.items.map((x) => resolve(x, vars));
  return Object.fromEntries(Object.entries(v.fields).map(([k, x]) => [k, resolve(x, vars)]));
}
const resolveArgs = (a: Record<string, Val>, vars: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(a)
      .map(([k, v]) => [k, resolve(v, vars)])
      .filter(([, v]) => v !== undefined),
  ) as Record<string, unknown>;

// ------------------------------------------------------------------------------------ cost (documented rules)

const nodesOf = (f: Field) => f.sel?.find((s) => s.name === 'nodes');
const isConn = (f: Field, a: Record<string, unknown>) =>
  !!nodesOf(f) && (a.first !== undefined || a.last !== undefined);

function requestedCost(sel: Field[], vars: Record<string, unknown>, mutationRoot = false): number {
  let c = 0;
  for (const f of sel) {
    if (!f.sel) continue;
    const a = resolveArgs(f.args, vars);
    if (isConn(f, a)) c += 2 + Number(a.first ?? a.last) * (1 + requestedCost(nodesOf(f)!.sel!, vars));
    else c += (mutationRoot ? 10 : 1) + requestedCost(f.sel, vars);
  }
  return c;
}

function actualCost(
  sel: Field[],
  data: unknown,
  vars: Record<string, unknown>,
  mutationRoot = false,
): number {
  let c = 0;
  const d = data as Record<string, unknown> | null;
  for (const f of sel) {
    const v = d?.[f.alias ?? f.name];
    if (!f.sel || v == null) continue;
    if (isConn(f, resolveArgs(f.args, vars))) {
      const nodes = (v as { nodes: unknown[] }).nodes;
      c += 2 + nodes.reduce<number>((n, x) => n + 1 + actualCost(nodesOf(f)!.sel!, x, vars), 0);
    } else if (Array.isArray(v)) c += 1 + Math.max(0, ...v.map((x) => actualCost(f.sel!, x, vars)));
    else c += (mutationRoot ? 10 : 1) + actualCost(f.sel, v, vars);
  }
  return c;
}

// ------------------------------------------------------------------------------------ store

export interface SimAddress {
  firstName: string | null;
  lastName: string | null;
  company?: string | null;
  address1: string | null;
  address2?: string | null;
  city: string | null;
  province?: string | null;
  provinceCode?: string | null;
  zip: string | null;
  countryCode: string | null;
  phone?: string | null;
}
export interface SimLine {
  gid: string;
  title: string;
  sku: string | null;
  variantTitle: string | null;
  quantity: number;
  price: number;
  discount: number;
  tax: number;
  variantGid: string | null;
  productGid: string | null;
  imageUrl: string | null;
}
export interface SimEvent {
  gid: string;
  status: string;
  happenedAt: string;
  message: string | null;
  city: string | null;
  province: string | null;
  country: string | null;
}
export interface SimFulfillment {
  gid: string;
  status: string;
  displayStatus: string;
  createdAt: string;
  updatedAt: string;
  inTransitAt: string | null;
  deliveredAt: string | null;
  tracking: { company: string | null; number: string | null; url: string | null }[];
  lines: { lineGid: string; quantity: number }[];
  events: SimEvent[];
}
interface SimTxn {
  gid: string;
  kind: string;
  gateway: string;
  amount: number;
  parentGid: string | null;
}
export interface SimRefund {
  gid: string;
  note: string | null;
  createdAt: string;
  lines: { lineGid: string; quantity: number; restockType: string }[];
  shipping: number;
  amount: number;
}
export interface SimOrder {
  gid: string;
  legacyId: number;
  name: string;
  createdAt: string;
  updatedAt: string;
  cancelledAt: string | null;
  cancelReason: string | null;
  currency: string;
  locale: string | null;
  email: string | null;
  phone: string | null;
  tags: string[];
  customer: { gid: string; firstName: string | null; lastName: string | null } | null;
  shippingAddress: SimAddress | null;
  billingAddress: SimAddress | null;
  lines: SimLine[];
  shippingPrice: number;
  fulfillments: SimFulfillment[];
  transactions: SimTxn[];
  refunds: SimRefund[];
  note: string | null;
}
interface SimDraft {
  gid: string;
  name: string;
  status: 'OPEN' | 'COMPLETED';
  tags: string[];
  note: string | null;
  email: string | null;
  customerGid: string | null;
  shippingAddress: SimAddress | null;
  currency: string;
  lines: { variantGid: string | null; title: string; quantity: number; unitPrice: number; pct: number }[];
  orderGid: string | null;
}
interface SimVariant {
  gid: string;
  productGid: string;
  title: string;
  sku: string;
  price: number;
  tracked: boolean;
  levels: number[];
  currency: string;
}

const digitCache = new Map<string, number>();
function digits(c: string): number {
  let d = digitCache.get(c);
  if (d === undefined) {
    d =
      new Intl.NumberFormat('en', { style: 'currency', currency: c }).resolvedOptions()
        .maximumFractionDigits ?? 2;
    digitCache.set(c, d);
  }
  return d;
}
/** Shopify prints decimals with at least one fraction digit: "25.0", "25.5", "1000.0". */
export function money(minor: number, currency: string): string {
  const d = digits(currency);
  const s = String(Math.abs(minor)).padStart(d + 1, '0');
  const int = d ? s.slice(0, -d) : s;
  const frac = (d ? s.slice(-d) : '').replace(/0+$/, '') || '0';
  return `${minor < 0 ? '-' : ''}${int}.${frac}`;
}
export function minorOf(amount: unknown, currency: string): number {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(String(amount));
  if (!m) throw new SimError(`Invalid Money value "${amount}"`);
  const d = digits(currency);
  return Number(m[1]) * 10 ** d + Number((m[2] ?? '').slice(0, d).padEnd(d, '0') || 0);
}
const bag = (minor: number, cur: string) => ({
  shopMoney: { amount: money(minor, cur), currencyCode: cur },
  presentmentMoney: { amount: money(minor, cur), currencyCode: cur },
});
const b64 = (s: string) => Buffer.from(s).toString('base64url');
const unb64 = (s: string) => Buffer.from(s, 'base64url').toString();

function allow(obj: unknown, where: string, allowed: string[], required: string[] = []) {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj))
    throw new SimError(`${where}: expected an input object`);
  for (const k of Object.keys(obj))
    if (!allowed.includes(k)) throw new SimError(`${where}: field "${k}" is not defined`);
  for (const k of required)
    if ((obj as Record<string, unknown>)[k] == null) throw new SimError(`${where}: "${k}" is required`);
  return obj as Record<string, unknown>;
}
const ADDRESS_INPUT = [
  'address1',
  'address2',
  'city',
  'company',
  'countryCode',
  'firstName',
  'lastName',
  'phone',
  'provinceCode',
  'zip',
];

export interface SimOptions {
  accessToken?: string;
  clientSecret?: string;
  shopDomain?: string;
  shopName?: string;
  bucket?: { max: number; restoreRate: number };
  /** Milliseconds; tests inject a fake clock advanced by the connector's fake sleep. */
  now?: () => number;
  scopes?: string[];
}
export interface SimRequest {
  operation: string | null;
  variables: Record<string, unknown>;
  status: number;
  requestedCost: number | null;
  actualCost: number | null;
  throttled: boolean;
}

// ------------------------------------------------------------------------------------ projection

type View = { __typename?: string; [k: string]: unknown };
interface Ctx {
  errors: object[];
  vars: Record<string, unknown>;
  scopes: Set<string>;
}
type Resolver = (a: Record<string, unknown>, ctx: Ctx, f: Field, path: string[]) => unknown;

function project(sel: Field[], view: View, ctx: Ctx, path: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of sel) {
    const key = f.alias ?? f.name;
    if (f.name === '__typename') {
      out[key] = view.__typename;
      continue;
    }
    if (!(f.name in view)) throw new SimError(`Field '${f.name}' doesn't exist on type '${view.__typename}'`);
    const args = resolveArgs(f.args, ctx.vars);
    let v = view[f.name];
    if (typeof v === 'function') v = (v as Resolver)(args, ctx, f, [...path, key]);
    else if (Object.keys(args).length) throw new SimError(`Field '${f.name}' doesn't accept arguments`);
    if (f.sel) {
      if (v != null && typeof v !== 'object')
        throw new SimError(`Selections can't be made on scalar '${f.name}'`);
      const sub = f.sel;
      out[key] =
        v == null
          ? null
          : Array.isArray(v)
            ? v.map((x) => project(sub, x, ctx, path))
            : project(sub, v as View, ctx, path);
    } else {
      if (v !== null && typeof v === 'object' && !(Array.isArray(v) && v.every((x) => typeof x !== 'object')))
        throw new SimError(`Field '${f.name}' must have selections`);
      out[key] = v ?? null;
    }
  }
  return out;
}

/** A connection page; cursors are positions unless `cursorOf` gives value-based ones. */
function conn<T>(
  all: T[],
  a: Record<string, unknown>,
  toView: (x: T, i: number) => View,
  opts: { extra?: string[]; cursorOf?: (x: T) => string; seek?: (after: string) => number } = {},
): View {
  allow(a, 'connection args', ['first', 'after', 'reverse', ...(opts.extra ?? [])]);
  if (a.first == null) throw new SimError('you must provide one of first or last');
  const n = Number(a.first);
  if (!Number.isInteger(n) || n < 0 || n > 250) throw new SimError('first must be between 0 and 250');
  const items = a.reverse ? [...all].reverse() : all;
  const cursorOf = (x: T, i: number) => opts.cursorOf?.(x) ?? b64(`i:${i}`);
  let start = 0;
  if (typeof a.after === 'string') {
    start = opts.seek ? opts.seek(a.after) : Number(unb64(a.after).slice(2)) + 1;
    if (!Number.isInteger(start) || start < 0) throw new SimError('Invalid cursor');
  }
  const page = items.slice(start, start + n);
  const last = page.length ? cursorOf(page[page.length - 1], start + page.length - 1) : null;
  return {
    __typename: 'Connection',
    nodes: page.map((x, j) => toView(x, start + j)),
    pageInfo: {
      __typename: 'PageInfo',
      hasNextPage: start + page.length < items.length,
      hasPreviousPage: start > 0,
      startCursor: page.length ? cursorOf(page[0], start) : null,
      endCursor: last,
    },
  };
}
function list<T>(items: T[], a: Record<string, unknown>, toView: (x: T) => View): View[] {
  allow(a, 'list args', ['first']);
  return items.slice(0, a.first == null ? items.length : Number(a.first)).map(toView);
}

/** `created_at:>='2026-01-01T00:00:00Z' updated_at:>…` / `tag:x` — only the filters the connector sends. */
function search(q: unknown, fields: string[]): { field: string; op: string; value: string }[] {
  if (q == null) return [];
  const out: { field: string; op: string; value: string }[] = [];
  const rest = String(q).replace(
    /(\w+):(>=|<=|>|<)?(?:'([^']*)'|"([^"]*)"|([^\s'"]+))/g,
    (_m, f, op, a, b, c) => {
      if (!fields.includes(f)) throw new SimError(`search field "${f}" not expected`);
      out.push({ field: f, op: op ?? '=', value: a ?? b ?? c });
      return '';
    },
  );
  if (rest.replace(/\bAND\b/g, '').trim()) throw new SimError(`search syntax not expected: "${q}"`);
  return out;
}
const cmp = (a: number, op: string, b: number) =>
  op === '>=' ? a >= b : op === '>' ? a > b : op === '<=' ? a <= b : op === '<' ? a < b : a === b;

const OPS: Record<string, string[]> = {
  ResolveShopName: ['shop'],
  ResolveListOrders: ['orders'],
  ResolveGetOrder: ['order'],
  ResolveOrderLinesPage: ['order'],
  ResolveFulfillmentLinesPage: ['fulfillment'],
  ResolveRefundContext: ['order'],
  ResolveRefundCreate: ['refundCreate'],
  ResolveReplacementContext: ['order', 'draftOrders'],
  ResolveDraftOrderCreate: ['draftOrderCreate'],
  ResolveDraftOrderComplete: ['draftOrderComplete'],
  ResolveDraftOrder: ['draftOrder'],
  ResolveOrderState: ['order'],
  ResolveOrderCancel: ['orderCancel'],
  ResolveOrderUpdateAddress: ['orderUpdate'],
  ResolveStockLevels: ['order'],
  ResolveWebhookSubscriptions: ['webhookSubscriptions'],
  ResolveWebhookSubscriptionCreate: ['webhookSubscriptionCreate'],
};
const WEBHOOK_TOPICS = [
  'ORDERS_CREATE',
  'ORDERS_UPDATED',
  'ORDERS_CANCELLED',
  'ORDERS_FULFILLED',
  'ORDERS_PAID',
  'FULFILLMENTS_CREATE',
  'FULFILLMENTS_UPDATE',
  'REFUNDS_CREATE',
  'APP_UNINSTALLED',
];
const legacy = (gid: string) => Number(gid.slice(gid.lastIndexOf('/') + 1));

// ------------------------------------------------------------------------------------ the simulator

export interface LineSpec {
  title: string;
  quantity: number;
  price: number;
  discount?: number;
  tax?: number;
  sku?: string | null;
  variantTitle?: string | null;
  imageUrl?: string | null;
  /** false = custom line without variant; stock per location (null = not tracked); default one level of 5. */
  variant?: false | { stock?: number[] | null; price?: number };
}
export interface OrderSpec {
  lines: LineSpec[];
  currency?: string;
  createdAt?: string;
  updatedAt?: string;
  email?: string | null;
  phone?: string | null;
  locale?: string | null;
  tags?: string[];
  customer?: { firstName: string | null; lastName: string | null } | null;
  shippingAddress?: SimAddress | null;
  billingAddress?: SimAddress | null;
  shippingPrice?: number;
  /** Default true: one SALE transaction over the total through `gateway` (default "manual"). */
  paid?: boolean;
  gateway?: string;
}

export class ShopifySimulator {
  readonly unexpected: string[] = [];
  readonly requests: SimRequest[] = [];
  readonly orders: SimOrder[] = [];
  readonly drafts: SimDraft[] = [];
  readonly variants = new Map<string, SimVariant>();
  readonly subscriptions: { id: string; topic: string; uri: string }[] = [];
  authFailures = 0;
  throttled = 0;
  url = '';
  private readonly idem = new Map<string, { fingerprint: string; payload: View }>();
  /** Operations carried out in full whose answer is then lost (see loseAnswer). */
  private readonly lost: { operation: string; status: number | 'drop' }[] = [];
  /** Runs once right before the named operation is carried out (see beforeNext). */
  private readonly hooks: { operation: string; run: () => void }[] = [];
  private seq = 7_000_000;
  private orderNo = 1000;
  private available: number;
  private refilledAt: number;
  private readonly o: Required<SimOptions>;
  private readonly server: http.Server;

  constructor(opts: SimOptions = {}) {
    this.o = {
      accessToken: 'shpat_test_token',
      clientSecret: 'shpss_test_secret',
      shopDomain: 'acme.myshopify.com',
      shopName: 'Acme Outfitters',
      // Live 2025-01 captures report maximumAvailable 2000 with restoreRate 100 (the documented Standard rate).
      bucket: { max: 2000, restoreRate: 100 },
      now: Date.now,
      scopes: ['read_orders', 'write_orders', 'read_inventory', 'write_draft_orders', 'read_draft_orders'],
      ...opts,
    };
    this.available = this.o.bucket.max;
    this.refilledAt = this.o.now();
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        this.unexpected.push(`simulator crashed: ${String(e)}`);
        res.writeHead(500).end();
      });
    });
  }

  static async start(opts: SimOptions = {}): Promise<ShopifySimulator> {
    const sim = new ShopifySimulator(opts);
    await new Promise<void>((r) => sim.server.listen(0, '127.0.0.1', r));
    sim.url = `http://127.0.0.1:${(sim.server.address() as AddressInfo).port}`;
    return sim;
  }
  close = () => new Promise<void>((r) => this.server.close(() => r()));
  get accessToken() {
    return this.o.accessToken;
  }

  private gid = (type: string) => `gid://shopify/${type}/${++this.seq}`;
  private nowIso = () => new Date(this.o.now()).toISOString();

  /** The leaky bucket: points restore continuously up to the maximum. */
  private refill(): number {
    const now = this.o.now();
    this.available = Math.min(
      this.o.bucket.max,
      this.available + ((now - this.refilledAt) * this.o.bucket.restoreRate) / 1000,
    );
    this.refilledAt = now;
    return this.available;
  }
  /** Spends points out of band (another worker of the same app on the same shop). */
  drainBucket(points: number) {
    this.available = this.refill() - points;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const rec = (r: Partial<SimRequest>) =>
      this.requests.push({
        operation: null,
        variables: {},
        status: 200,
        requestedCost: null,
        actualCost: null,
        throttled: false,
        ...r,
      });
    const fail = (why: string, r: Partial<SimRequest> = {}) => {
      this.unexpected.push(why);
      rec({ ...r, status: 400 });
      send(400, { errors: [{ message: why }] });
    };
    if (req.method !== 'POST' || req.url !== `/admin/api/${SIM_API_VERSION}/graphql.json`) {
      this.unexpected.push(`${req.method} ${req.url}`);
      return send(404, { errors: 'Not Found' });
    }
    if (req.headers['x-shopify-access-token'] !== this.o.accessToken) {
      this.authFailures++;
      rec({ status: 401 });
      return send(401, {
        errors: '[API] Invalid API key or access token (unrecognized login or wrong password)',
      });
    }
    let body: { query?: unknown; variables?: Record<string, unknown> };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return fail('request body is not JSON');
    }
    const vars = body.variables ?? {};
    let doc: Doc;
    try {
      doc = parse(String(body.query ?? ''));
    } catch (e) {
      return fail(`cannot parse query: ${(e as Error).message}`);
    }
    const r: Partial<SimRequest> = { operation: doc.name, variables: vars };
    const roots = doc.name ? OPS[doc.name] : undefined;
    if (!roots) return fail(`unknown operation ${doc.name}`, r);
    const bad = doc.sel.find((f) => !roots.includes(f.name));
    if (bad) return fail(`${doc.name}: root field ${bad.name} not expected`, r);
    for (const v of doc.vars)
      if (v.type.endsWith('!') && vars[v.name] == null)
        return fail(`${doc.name}: $${v.name}: ${v.type} missing`, r);
    const declared = new Set(doc.vars.map((v) => v.name));
    for (const k of Object.keys(vars))
      if (!declared.has(k)) return fail(`${doc.name}: undeclared variable $${k}`, r);
    for (const m of String(body.query).matchAll(/\$(\w+)/g))
      if (!declared.has(m[1])) return fail(`${doc.name}: $${m[1]} used but not declared`, r);

    const mutation = doc.type === 'mutation';
    const requested = requestedCost(doc.sel, vars, mutation);
    const status = () => ({
      maximumAvailable: this.o.bucket.max,
      currentlyAvailable: Math.floor(this.refill()),
      restoreRate: this.o.bucket.restoreRate,
    });
    if (requested > MAX_COST) {
      rec({ ...r, requestedCost: requested });
      return send(200, {
        errors: [
          {
            message: `Query cost is ${requested}, which exceeds the single query max cost limit (${MAX_COST}).`,
            extensions: { code: 'MAX_COST_EXCEEDED', cost: requested, maxCost: MAX_COST },
          },
        ],
        extensions: {
          cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: status() },
        },
      });
    }
    if (requested > this.refill()) {
      this.throttled++;
      rec({ ...r, requestedCost: requested, throttled: true });
      return send(200, {
        errors: [
          {
            message: 'Throttled',
            extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
          },
        ],
        extensions: {
          cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: status() },
        },
      });
    }
    this.available -= requested;
    const hook = this.hooks.findIndex((h) => h.operation === doc.name);
    if (hook >= 0) this.hooks.splice(hook, 1)[0].run();
    const ctx: Ctx = { errors: [], vars, scopes: new Set(this.o.scopes) };
    let data: Record<string, unknown>;
    try {
      data = project(doc.sel, mutation ? this.mutationRoot() : this.queryRoot(), ctx, []);
    } catch (e) {
      this.available += requested;
      if (e instanceof SimError) return fail(`${doc.name}: ${e.message}`, r);
      throw e;
    }
    const actual = actualCost(doc.sel, data, vars, mutation);
    this.available = Math.min(this.o.bucket.max, this.available + requested - actual);
    const l = this.lost.findIndex((x) => x.operation === doc.name);
    const gone = l < 0 ? undefined : this.lost.splice(l, 1)[0];
    if (gone?.status === 'drop') {
      rec({ ...r, status: 0, requestedCost: requested, actualCost: actual });
      return void req.socket.destroy();
    }
    if (gone) {
      rec({ ...r, status: gone.status, requestedCost: requested, actualCost: actual });
      return send(gone.status, { errors: 'Internal Server Error' });
    }
    rec({ ...r, requestedCost: requested, actualCost: actual });
    send(200, {
      data,
      ...(ctx.errors.length ? { errors: ctx.errors } : {}),
      extensions: {
        cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: status() },
      },
    });
  }

  // ---------------------------------------------------------------------------------- reads

  findOrder = (gid: unknown) => this.orders.find((o) => o.gid === gid) ?? null;
  private findFulfillment(gid: unknown) {
    for (const o of this.orders) for (const f of o.fulfillments) if (f.gid === gid) return { o, f };
    return null;
  }

  private queryRoot(): View {
    return {
      __typename: 'QueryRoot',
      shop: { __typename: 'Shop', name: this.o.shopName, myshopifyDomain: this.o.shopDomain },
      order: (a: Record<string, unknown>) => {
        allow(a, 'order', ['id'], ['id']);
        const o = this.findOrder(a.id);
        return o ? this.orderView(o) : null;
      },
      fulfillment: (a: Record<string, unknown>) => {
        allow(a, 'fulfillment', ['id'], ['id']);
        const hit = this.findFulfillment(a.id);
        return hit ? this.fulfillmentView(hit.o, hit.f) : null;
      },
      orders: (a: Record<string, unknown>) => {
        const { query, sortKey = 'PROCESSED_AT', ...page } = a;
        const key = (
          {
            CREATED_AT: 'createdAt',
            PROCESSED_AT: 'createdAt',
            UPDATED_AT: 'updatedAt',
            ID: 'legacyId',
          } as const
        )[String(sortKey) as 'ID'];
        if (!key) throw new SimError(`sortKey ${sortKey} not expected`);
        const terms = search(query, ['created_at', 'updated_at']);
        const sortVal = (o: SimOrder) => (key === 'legacyId' ? o.legacyId : Date.parse(o[key]));
        const all = this.orders
          .filter((o) =>
            terms.every((t) =>
              cmp(
                Date.parse(t.field === 'created_at' ? o.createdAt : o.updatedAt),
                t.op,
                Date.parse(t.value),
              ),
            ),
          )
          .sort((x, y) => sortVal(x) - sortVal(y) || x.legacyId - y.legacyId);
        const cursorOf = (o: SimOrder) => b64(JSON.stringify([sortVal(o), o.legacyId]));
        // Value cursors, as Shopify's: an order that changed while paging does not shift the others.
        const seek = (after: string) => {
          const [v, id] = JSON.parse(unb64(after)) as [number, number];
          const i = all.findIndex((o) => sortVal(o) > v || (sortVal(o) === v && o.legacyId > id));
          return i < 0 ? all.length : i;
        };
        return conn(all, page, (o) => this.orderView(o), { cursorOf, seek });
      },
      draftOrder: (a: Record<string, unknown>) => {
        allow(a, 'draftOrder', ['id'], ['id']);
        const d = this.drafts.find((x) => x.gid === a.id);
        return d ? this.draftView(d) : null;
      },
      draftOrders: (a: Record<string, unknown>) => {
        const { query, ...page } = a;
        const tags = search(query, ['tag']).map((t) => t.value);
        return conn(
          this.drafts.filter((d) => tags.every((t) => d.tags.includes(t))),
          page,
          (d) => this.draftView(d),
        );
      },
      webhookSubscriptions: (a: Record<string, unknown>) => {
        const { topics, ...page } = a;
        const want = (topics as string[] | undefined) ?? null;
        const subs = this.subscriptions.filter((s) => !want || want.includes(s.topic));
        return conn(subs, page, (s) => ({ __typename: 'WebhookSubscription', ...s, format: 'JSON' }));
      },
    };
  }

  private money(o: { currency: string }) {
    return (minor: number) => ({ __typename: 'MoneyBag', ...bag(minor, o.currency) });
  }
  private refundedQty(o: SimOrder, line: SimLine) {
    return o.refunds.reduce(
      (n, r) => n + r.lines.filter((l) => l.lineGid === line.gid).reduce((m, l) => m + l.quantity, 0),
      0,
    );
  }
  private remaining(o: SimOrder, t: SimTxn) {
    return t.amount - o.transactions.filter((x) => x.parentGid === t.gid).reduce((n, x) => n + x.amount, 0);
  }
  private totals(o: SimOrder) {
    const subtotal = o.lines.reduce((n, l) => n + l.price * l.quantity - l.discount, 0);
    const tax = o.lines.reduce((n, l) => n + l.tax, 0);
    return {
      subtotal,
      tax,
      total: subtotal + tax + o.shippingPrice,
      discount: o.lines.reduce((n, l) => n + l.discount, 0),
    };
  }

  private orderView(o: SimOrder): View {
    const m = this.money(o);
    const t = this.totals(o);
    const addr = (a: SimAddress | null) =>
      a && {
        __typename: 'MailingAddress',
        name: [a.firstName, a.lastName].filter(Boolean).join(' ') || null,
        firstName: a.firstName,
        lastName: a.lastName,
        company: a.company ?? null,
        address1: a.address1,
        address2: a.address2 ?? null,
        city: a.city,
        province: a.province ?? null,
        provinceCode: a.provinceCode ?? null,
        zip: a.zip,
        countryCodeV2: a.countryCode,
        phone: a.phone ?? null,
      };
    return {
      __typename: 'Order',
      id: o.gid,
      legacyResourceId: String(o.legacyId),
      name: o.name,
      note: o.note,
      createdAt: o.createdAt,
      processedAt: o.createdAt,
      updatedAt: o.updatedAt,
      cancelledAt: o.cancelledAt,
      cancelReason: o.cancelReason,
      currencyCode: o.currency,
      presentmentCurrencyCode: o.currency,
      customerLocale: o.locale,
      email: o.email,
      phone: o.phone,
      tags: o.tags,
      customer: o.customer && {
        __typename: 'Customer',
        id: o.customer.gid,
        firstName: o.customer.firstName,
        lastName: o.customer.lastName,
      },
      shippingAddress: addr(o.shippingAddress),
      billingAddress: addr(o.billingAddress),
      subtotalPriceSet: m(t.subtotal),
      totalShippingPriceSet: m(o.shippingPrice),
      totalDiscountsSet: m(t.discount),
      totalTaxSet: m(t.tax),
      totalPriceSet: m(t.total),
      totalRefundedSet: m(o.refunds.reduce((n, r) => n + r.amount, 0)),
      lineItems: (a: Record<string, unknown>) => conn(o.lines, a, (l) => this.lineView(o, l)),
      fulfillments: (a: Record<string, unknown>) =>
        list(o.fulfillments, a, (f) => this.fulfillmentView(o, f)),
      refunds: (a: Record<string, unknown>) => list(o.refunds, a, (r) => this.refundView(o, r)),
      suggestedRefund: (a: Record<string, unknown>) => this.suggestedRefund(o, a),
    };
  }

  private lineView(o: SimOrder, l: SimLine): View {
    const m = this.money(o);
    const current = l.quantity - this.refundedQty(o, l);
    const v = l.variantGid ? this.variants.get(l.variantGid) : undefined;
    return {
      __typename: 'LineItem',
      id: l.gid,
      title: l.title,
      name: l.title,
      sku: l.sku,
      variantTitle: l.variantTitle,
      quantity: l.quantity,
      currentQuantity: current,
      refundableQuantity: current,
      originalUnitPriceSet: m(l.price),
      totalDiscountSet: m(l.discount),
      taxLines: (a: Record<string, unknown>) =>
        list(l.tax ? [l.tax] : [], a, (x) => ({ __typename: 'TaxLine', title: 'VAT', priceSet: m(x) })),
      image: l.imageUrl ? { __typename: 'Image', url: l.imageUrl } : null,
      product: l.productGid ? { __typename: 'Product', id: l.productGid } : null,
      variant: v
        ? {
            __typename: 'ProductVariant',
            id: v.gid,
            title: l.variantTitle,
            sku: v.sku,
            inventoryItem: (_a: unknown, ctx: Ctx, _f: Field, path: string[]) => {
              if (!ctx.scopes.has('read_inventory')) {
                ctx.errors.push({
                  message:
                    'Access denied for inventoryItem field. Required access: `read_inventory` access scope.',
                  path,
                  extensions: {
                    code: 'ACCESS_DENIED',
                    documentation: 'https://shopify.dev/api/usage/access-scopes',
                    requiredAccess: '`read_inventory` access scope.',
                  },
                });
                return null;
              }
              return {
                __typename: 'InventoryItem',
                id: v.gid.replace('ProductVariant', 'InventoryItem'),
                tracked: v.tracked,
                inventoryLevels: (a: Record<string, unknown>) =>
                  conn(v.tracked ? v.levels : [], a, (q, i) => ({
                    __typename: 'InventoryLevel',
                    id: `gid://shopify/InventoryLevel/${legacy(v.gid)}${i}`,
                    quantities: (qa: Record<string, unknown>) => {
                      allow(qa, 'quantities', ['names'], ['names']);
                      return (qa.names as string[]).map((name) => ({
                        __typename: 'InventoryQuantity',
                        name,
                        quantity: name === 'available' ? q : 0,
                      }));
                    },
                  })),
              };
            },
          }
        : null,
    };
  }

  private fulfillmentView(o: SimOrder, f: SimFulfillment): View {
    return {
      __typename: 'Fulfillment',
      id: f.gid,
      status: f.status,
      displayStatus: f.displayStatus,
      createdAt: f.createdAt,
      updatedAt: f.updatedAt,
      inTransitAt: f.inTransitAt,
      deliveredAt: f.deliveredAt,
      estimatedDeliveryAt: null,
      trackingInfo: (a: Record<string, unknown>) =>
        list(f.tracking, a, (t) => ({ __typename: 'FulfillmentTrackingInfo', ...t })),
      fulfillmentLineItems: (a: Record<string, unknown>) =>
        conn(f.lines, a, (x, i) => ({
          __typename: 'FulfillmentLineItem',
          id: `gid://shopify/FulfillmentLineItem/${legacy(f.gid)}${i}`,
          quantity: x.quantity,
          lineItem: this.lineView(o, o.lines.find((l) => l.gid === x.lineGid)!),
        })),
      events: (a: Record<string, unknown>) => {
        const { sortKey = 'HAPPENED_AT', ...page } = a;
        if (sortKey !== 'HAPPENED_AT' && sortKey !== 'ID') throw new SimError(`events sortKey ${sortKey}`);
        const key = (e: SimEvent) => (sortKey === 'ID' ? legacy(e.gid) : Date.parse(e.happenedAt));
        const sorted = [...f.events].sort((x, y) => key(x) - key(y));
        return conn(sorted, page, (e) => ({
          __typename: 'FulfillmentEvent',
          id: e.gid,
          status: e.status,
          happenedAt: e.happenedAt,
          createdAt: e.happenedAt,
          message: e.message,
          city: e.city,
          province: e.province,
          country: e.country,
          zip: null,
        }));
      },
    };
  }

  private refundView(o: SimOrder, r: SimRefund): View {
    return {
      __typename: 'Refund',
      id: r.gid,
      note: r.note,
      createdAt: r.createdAt,
      totalRefundedSet: this.money(o)(r.amount),
    };
  }

  /** What a refund of these lines (and shipping) is worth, split over the paid transactions. */
  private refundMath(o: SimOrder, lines: { lineItemId: string; quantity: number }[], shipping: number) {
    let subtotal = 0;
    let tax = 0;
    for (const r of lines) {
      const l = o.lines.find((x) => x.gid === r.lineItemId);
      if (!l) continue;
      const q = Math.min(r.quantity, l.quantity - this.refundedQty(o, l));
      subtotal += Math.round(((l.price * l.quantity - l.discount) * q) / l.quantity);
      tax += Math.round((l.tax * q) / l.quantity);
    }
    const total = subtotal + tax + shipping;
    let left = total;
    const split: { t: SimTxn; amount: number }[] = [];
    for (const t of o.transactions.filter((x) => x.kind === 'SALE' || x.kind === 'CAPTURE')) {
      const amount = Math.min(left, this.remaining(o, t));
      if (amount > 0) split.push({ t, amount });
      left -= amount;
    }
    return { subtotal, tax, total, split };
  }
  private shippingLeft(o: SimOrder) {
    return o.shippingPrice - o.refunds.reduce((n, r) => n + r.shipping, 0);
  }

  private suggestedRefund(o: SimOrder, a: Record<string, unknown>): View {
    allow(a, 'suggestedRefund', [
      'refundLineItems',
      'refundShipping',
      'shippingAmount',
      'suggestFullRefund',
      'refundDuties',
    ]);
    const lines = ((a.refundLineItems as unknown[]) ?? []).map(
      (x) =>
        allow(
          x,
          'RefundLineItemInput',
          ['lineItemId', 'quantity', 'restockType', 'locationId'],
          ['lineItemId', 'quantity'],
        ) as { lineItemId: string; quantity: number },
    );
    const shipping =
      a.shippingAmount != null
        ? minorOf(a.shippingAmount, o.currency)
        : a.refundShipping
          ? this.shippingLeft(o)
          : 0;
    const math = this.refundMath(o, lines, shipping);
    const m = this.money(o);
    return {
      __typename: 'SuggestedRefund',
      amountSet: m(math.total),
      subtotalSet: m(math.subtotal),
      totalTaxSet: m(math.tax),
      shipping: {
        __typename: 'ShippingRefund',
        amountSet: m(shipping),
        maximumRefundableSet: m(this.shippingLeft(o)),
      },
      suggestedTransactions: math.split.map(({ t, amount }) => ({
        __typename: 'SuggestedOrderTransaction',
        kind: 'SUGGESTED_REFUND',
        gateway: t.gateway,
        amountSet: m(amount),
        maximumRefundableSet: m(this.remaining(o, t)),
        parentTransaction: { __typename: 'OrderTransaction', id: t.gid, kind: t.kind, gateway: t.gateway },
      })),
    };
  }

  private draftView(d: SimDraft): View {
    const total = d.lines.reduce(
      (n, l) => n + l.unitPrice * l.quantity - Math.round((l.unitPrice * l.quantity * l.pct) / 100),
      0,
    );
    const o = d.orderGid ? this.findOrder(d.orderGid) : null;
    return {
      __typename: 'DraftOrder',
      id: d.gid,
      name: d.name,
      status: d.status,
      tags: d.tags,
      totalPriceSet: this.money(d)(total),
      order: o && this.orderView(o),
    };
  }

  // ---------------------------------------------------------------------------------- mutations

  private mutationRoot(): View {
    const ue = (field: string[], message: string, code?: string) => [
      { __typename: 'UserError', field, message, code },
    ];
    return {
      __typename: 'Mutation',
      refundCreate: (a: Record<string, unknown>, ctx: Ctx, f: Field) => {
        const dir = f.directives.find((d) => d.name === 'idempotent');
        if (!dir) throw new SimError('refundCreate requires the @idempotent directive (API 2026-04)');
        const key = dir.args.key ? resolve(dir.args.key, ctx.vars) : undefined;
        if (typeof key !== 'string' || !key.trim())
          throw new SimError('@idempotent key must be a non-empty string');
        allow(a, 'refundCreate', ['input'], ['input']);
        const fingerprint = JSON.stringify(a.input);
        const seen = this.idem.get(key);
        if (seen) {
          if (seen.fingerprint !== fingerprint)
            throw new SimError('idempotency key reused with different input');
          return seen.payload;
        }
        const payload = this.refundCreate(a.input, ue);
        this.idem.set(key, { fingerprint, payload });
        return payload;
      },
      draftOrderCreate: (a: Record<string, unknown>) => this.draftOrderCreate(a, ue),
      draftOrderComplete: (a: Record<string, unknown>) => {
        allow(a, 'draftOrderComplete', ['id', 'paymentGatewayId', 'sourceName', 'paymentPending'], ['id']);
        const d = this.drafts.find((x) => x.gid === a.id);
        if (!d) return { draftOrder: null, userErrors: ue(['id'], 'Draft order does not exist') };
        if (d.status !== 'OPEN')
          return { draftOrder: null, userErrors: ue(['id'], 'Draft order has already been completed') };
        this.complete(d);
        return { draftOrder: this.draftView(d), userErrors: [] };
      },
      orderCancel: (a: Record<string, unknown>) => {
        allow(
          a,
          'orderCancel',
          ['orderId', 'reason', 'restock', 'refund', 'refundMethod', 'notifyCustomer', 'staffNote'],
          ['orderId', 'reason', 'restock'],
        );
        if (!['CUSTOMER', 'DECLINED', 'FRAUD', 'INVENTORY', 'STAFF', 'OTHER'].includes(String(a.reason)))
          throw new SimError(`reason ${a.reason}`);
        const rm = a.refundMethod
          ? allow(a.refundMethod, 'OrderCancelRefundMethodInput', [
              'originalPaymentMethodsRefund',
              'storeCreditRefund',
            ])
          : {};
        const err = (message: string, code: string) => ({
          job: null,
          orderCancelUserErrors: ue(['orderId'], message, code),
          userErrors: [],
        });
        const o = this.findOrder(a.orderId);
        if (!o) return err('Order does not exist', 'NOT_FOUND');
        if (o.cancelledAt) return err('Order has already been cancelled', 'INVALID');
        if (o.fulfillments.some((f) => f.status === 'SUCCESS'))
          return err('Cannot cancel an order with fulfilled items that have not been returned', 'INVALID');
        o.cancelledAt = this.nowIso();
        o.cancelReason = String(a.reason);
        o.updatedAt = o.cancelledAt;
        if (rm.originalPaymentMethodsRefund || a.refund) {
          const lines = o.lines.map((l) => ({
            lineItemId: l.gid,
            quantity: l.quantity - this.refundedQty(o, l),
          }));
          const math = this.refundMath(o, lines, this.shippingLeft(o));
          this.recordRefund(
            o,
            null,
            lines.map((l) => ({ lineGid: l.lineItemId, quantity: l.quantity, restockType: 'CANCEL' })),
            this.shippingLeft(o),
            math.split,
          );
        }
        return {
          job: { __typename: 'Job', id: `gid://shopify/Job/${randomUUID()}`, done: false },
          orderCancelUserErrors: [],
          userErrors: [],
        };
      },
      orderUpdate: (a: Record<string, unknown>) => {
        allow(a, 'orderUpdate', ['input'], ['input']);
        const i = allow(
          a.input,
          'OrderInput',
          [
            'id',
            'shippingAddress',
            'email',
            'note',
            'tags',
            'phone',
            'poNumber',
            'customAttributes',
            'metafields',
          ],
          ['id'],
        );
        const o = this.findOrder(i.id);
        if (!o) return { order: null, userErrors: ue(['id'], 'Order does not exist') };
        if (i.shippingAddress) {
          const s = allow(i.shippingAddress, 'MailingAddressInput', ADDRESS_INPUT) as Record<
            string,
            string | null
          >;
          if (s.countryCode != null && !/^[A-Z]{2}$/.test(s.countryCode))
            throw new SimError(`countryCode ${s.countryCode} is not a CountryCode`);
          // The whole address is replaced by what is sent.
          o.shippingAddress = {
            firstName: s.firstName ?? null,
            lastName: s.lastName ?? null,
            company: s.company ?? null,
            address1: s.address1 ?? null,
            address2: s.address2 ?? null,
            city: s.city ?? null,
            provinceCode: s.provinceCode ?? null,
            zip: s.zip ?? null,
            countryCode: s.countryCode ?? null,
            phone: s.phone ?? null,
          };
        }
        o.updatedAt = this.nowIso();
        return { order: this.orderView(o), userErrors: [] };
      },
      webhookSubscriptionCreate: (a: Record<string, unknown>) => {
        allow(
          a,
          'webhookSubscriptionCreate',
          ['topic', 'webhookSubscription'],
          ['topic', 'webhookSubscription'],
        );
        if (!WEBHOOK_TOPICS.includes(String(a.topic))) throw new SimError(`topic ${a.topic}`);
        const s = allow(
          a.webhookSubscription,
          'WebhookSubscriptionInput',
          ['uri', 'format', 'filter', 'includeFields', 'metafieldNamespaces'],
          ['uri'],
        );
        const uri = String(s.uri);
        if (!uri.startsWith('https://'))
          return {
            webhookSubscription: null,
            userErrors: ue(
              ['webhookSubscription', 'uri'],
              `Address protocol ${uri.split(':')[0]}:// is not supported`,
            ),
          };
        if (this.subscriptions.some((x) => x.topic === a.topic && x.uri === uri))
          return {
            webhookSubscription: null,
            userErrors: ue(['webhookSubscription', 'uri'], 'Address for this topic has already been taken'),
          };
        const sub = { id: this.gid('WebhookSubscription'), topic: String(a.topic), uri };
        this.subscriptions.push(sub);
        return {
          webhookSubscription: { __typename: 'WebhookSubscription', ...sub, format: 'JSON' },
          userErrors: [],
        };
      },
    };
  }

  private refundCreate(input: unknown, ue: (f: string[], m: string) => object[]): View {
    const i = allow(
      input,
      'RefundInput',
      [
        'orderId',
        'note',
        'notify',
        'currency',
        'refundLineItems',
        'shipping',
        'transactions',
        'refundDuties',
        'processedAt',
        'allowOverRefunding',
      ],
      ['orderId'],
    );
    const no = (field: string[], m: string) => ({ refund: null, order: null, userErrors: ue(field, m) });
    const o = this.findOrder(i.orderId);
    if (!o) return no(['orderId'], 'Order does not exist');
    if (i.currency != null && i.currency !== o.currency)
      return no(['currency'], 'Currency must be the presentment currency');
    const lines = ((i.refundLineItems as unknown[]) ?? []).map(
      (x) =>
        allow(
          x,
          'RefundLineItemInput',
          ['lineItemId', 'quantity', 'restockType', 'locationId'],
          ['lineItemId', 'quantity'],
        ) as { lineItemId: string; quantity: number; restockType?: string },
    );
    for (const [n, r] of lines.entries()) {
      const l = o.lines.find((x) => x.gid === r.lineItemId);
      if (!l)
        return no(['refundLineItems', String(n), 'lineItemId'], 'Line item does not exist on the order');
      if (r.quantity < 1 || r.quantity > l.quantity - this.refundedQty(o, l))
        return no(
          ['refundLineItems', String(n), 'quantity'],
          'Quantity cannot refund more items than were purchased',
        );
      if (r.restockType && !['NO_RESTOCK', 'CANCEL', 'RETURN'].includes(r.restockType))
        throw new SimError(`restockType ${r.restockType}`);
    }
    let shipping = 0;
    if (i.shipping) {
      const s = allow(i.shipping, 'ShippingRefundInput', ['amount', 'fullRefund']);
      shipping = s.fullRefund ? this.shippingLeft(o) : minorOf(s.amount, o.currency);
      if (shipping > this.shippingLeft(o))
        return no(['shipping', 'amount'], 'Shipping refund amount exceeds the refundable shipping');
    }
    const split: { t: SimTxn; amount: number }[] = [];
    for (const [n, x] of ((i.transactions as unknown[]) ?? []).entries()) {
      const t = allow(
        x,
        'OrderTransactionInput',
        ['amount', 'gateway', 'kind', 'orderId', 'parentId'],
        ['amount', 'gateway', 'kind', 'orderId'],
      );
      if (t.kind !== 'REFUND') throw new SimError(`transaction kind ${t.kind}`);
      if (t.orderId !== o.gid)
        return no(['transactions', String(n), 'orderId'], 'Transaction belongs to another order');
      const parent = o.transactions.find(
        (p) => p.gid === t.parentId && (p.kind === 'SALE' || p.kind === 'CAPTURE'),
      );
      if (!parent) return no(['transactions', String(n), 'parentId'], 'Parent transaction does not exist');
      if (parent.gateway !== t.gateway)
        return no(['transactions', String(n), 'gateway'], 'Gateway does not match the parent transaction');
      const amount = minorOf(t.amount, o.currency);
      if (amount > this.remaining(o, parent))
        return no(
          ['transactions', String(n), 'amount'],
          'Refund amount exceeds the refundable amount of the transaction',
        );
      split.push({ t: parent, amount });
    }
    const r = this.recordRefund(
      o,
      (i.note as string) ?? null,
      lines.map((l) => ({
        lineGid: l.lineItemId,
        quantity: l.quantity,
        restockType: l.restockType ?? 'NO_RESTOCK',
      })),
      shipping,
      split,
    );
    return { refund: this.refundView(o, r), order: this.orderView(o), userErrors: [] };
  }

  private recordRefund(
    o: SimOrder,
    note: string | null,
    lines: SimRefund['lines'],
    shipping: number,
    split: { t: SimTxn; amount: number }[],
  ) {
    const r: SimRefund = {
      gid: this.gid('Refund'),
      note,
      createdAt: this.nowIso(),
      lines,
      shipping,
      amount: split.reduce((n, s) => n + s.amount, 0),
    };
    for (const s of split)
      o.transactions.push({
        gid: this.gid('OrderTransaction'),
        kind: 'REFUND',
        gateway: s.t.gateway,
        amount: s.amount,
        parentGid: s.t.gid,
      });
    o.refunds.push(r);
    o.updatedAt = r.createdAt;
    return r;
  }

  /** Completes an open draft: the order it becomes (paid, nothing to pay). */
  private complete(d: SimDraft): SimOrder {
    const o = this.addOrder({
      currency: d.currency,
      email: d.email,
      tags: d.tags,
      shippingAddress: d.shippingAddress,
      customer: null,
      shippingPrice: 0,
      lines: d.lines.map((l) => ({
        title: l.title,
        quantity: l.quantity,
        price: l.unitPrice,
        discount: Math.round((l.unitPrice * l.quantity * l.pct) / 100),
        variant: false,
      })),
    });
    o.note = d.note;
    o.lines.forEach((l, i) => {
      const v = d.lines[i].variantGid ? this.variants.get(d.lines[i].variantGid!) : undefined;
      if (v) Object.assign(l, { variantGid: v.gid, productGid: v.productGid, sku: v.sku });
    });
    if (d.customerGid) o.customer = { gid: d.customerGid, firstName: null, lastName: null };
    d.status = 'COMPLETED';
    d.orderGid = o.gid;
    return o;
  }

  private draftOrderCreate(a: Record<string, unknown>, ue: (f: string[], m: string) => object[]): View {
    allow(a, 'draftOrderCreate', ['input'], ['input']);
    const i = allow(
      a.input,
      'DraftOrderInput',
      [
        'email',
        'purchasingEntity',
        'shippingAddress',
        'billingAddress',
        'note',
        'tags',
        'lineItems',
        'appliedDiscount',
        'shippingLine',
        'customAttributes',
        'taxExempt',
        'phone',
        'presentmentCurrencyCode',
      ],
      ['lineItems'],
    );
    const pe = i.purchasingEntity
      ? allow(i.purchasingEntity, 'PurchasingEntityInput', ['customerId', 'purchasingCompany'])
      : {};
    const ship = i.shippingAddress
      ? (allow(i.shippingAddress, 'MailingAddressInput', ADDRESS_INPUT) as Record<string, string | null>)
      : null;
    let currency = 'EUR';
    const lines: SimDraft['lines'] = [];
    for (const [n, x] of (i.lineItems as unknown[]).entries()) {
      const l = allow(
        x,
        'DraftOrderLineItemInput',
        [
          'variantId',
          'quantity',
          'appliedDiscount',
          'title',
          'originalUnitPriceWithCurrency',
          'sku',
          'requiresShipping',
          'taxable',
        ],
        ['quantity'],
      );
      const no = (f: string, m: string) => ({
        draftOrder: null,
        userErrors: ue(['lineItems', String(n), f], m),
      });
      if (!Number.isInteger(l.quantity) || Number(l.quantity) < 1)
        return no('quantity', 'Quantity must be greater than 0');
      const disc = l.appliedDiscount
        ? allow(
            l.appliedDiscount,
            'DraftOrderAppliedDiscountInput',
            ['valueType', 'value', 'title', 'description', 'amountWithCurrency'],
            ['valueType', 'value'],
          )
        : null;
      if (disc && disc.valueType !== 'PERCENTAGE')
        throw new SimError('only PERCENTAGE discounts are modelled');
      const pct = disc ? Number(disc.value) : 0;
      if (l.variantId != null) {
        const v = this.variants.get(String(l.variantId));
        if (!v) return no('variantId', 'Product variant does not exist');
        currency = v.currency;
        lines.push({
          variantGid: v.gid,
          title: `${v.sku} item`,
          quantity: Number(l.quantity),
          unitPrice: v.price,
          pct,
        });
      } else {
        const p = l.originalUnitPriceWithCurrency
          ? allow(
              l.originalUnitPriceWithCurrency,
              'MoneyInput',
              ['amount', 'currencyCode'],
              ['amount', 'currencyCode'],
            )
          : null;
        if (!l.title || !p) return no('title', 'Custom line items need a title and a price');
        currency = String(p.currencyCode);
        lines.push({
          variantGid: null,
          title: String(l.title),
          quantity: Number(l.quantity),
          unitPrice: minorOf(p.amount, currency),
          pct,
        });
      }
    }
    const d: SimDraft = {
      gid: this.gid('DraftOrder'),
      name: `#D${this.drafts.length + 1}`,
      status: 'OPEN',
      tags: (i.tags as string[]) ?? [],
      note: (i.note as string) ?? null,
      email: (i.email as string) ?? null,
      customerGid: (pe.customerId as string) ?? null,
      currency,
      lines,
      orderGid: null,
      shippingAddress: ship && {
        firstName: ship.firstName ?? null,
        lastName: ship.lastName ?? null,
        address1: ship.address1 ?? null,
        city: ship.city ?? null,
        zip: ship.zip ?? null,
        countryCode: ship.countryCode ?? null,
      },
    };
    this.drafts.push(d);
    return { draftOrder: this.draftView(d), userErrors: [] };
  }

  // ---------------------------------------------------------------------------------- test helpers

  /**
   * The next `n` requests of `operation` are carried out in full, then their answer is lost: `status` (a 5xx
   * from Shopify's edge) or `'drop'` (the connection closes before any answer, as in a time-out).
   */
  loseAnswer(n: number, status: number | 'drop', operation: string) {
    for (let i = 0; i < n; i++) this.lost.push({ operation, status });
  }
  /** Runs `run` once, right before the next request of `operation` is carried out (a concurrent actor's move). */
  beforeNext(operation: string, run: () => void) {
    this.hooks.push({ operation, run });
  }
  /** Completes a draft as the merchant's admin (or a concurrent API call) does. */
  completeDraft(gid: string): SimOrder {
    const d = this.drafts.find((x) => x.gid === gid);
    if (d?.status !== 'OPEN') throw new Error(`draft ${gid} is not open`);
    return this.complete(d);
  }
  /** Orders made by completing a draft, with the draft's tags (replacements carry `resolve-replacement`). */
  draftOrdersCompleted() {
    return this.drafts
      .filter((d) => d.orderGid)
      .map((d) => ({ draft: d, order: this.findOrder(d.orderGid)! }));
  }

  /** A placed order; each line gets a product variant (with stock) unless `variant: false`. */
  addOrder(spec: OrderSpec): SimOrder {
    const currency = spec.currency ?? 'EUR';
    const at = spec.createdAt ?? this.nowIso();
    const id = this.gid('Order');
    const lines: SimLine[] = spec.lines.map((l) => {
      let variantGid: string | null = null;
      let productGid: string | null = null;
      if (l.variant !== false) {
        variantGid = this.gid('ProductVariant');
        productGid = this.gid('Product');
        const stock = l.variant?.stock === undefined ? [5] : l.variant.stock;
        this.variants.set(variantGid, {
          gid: variantGid,
          productGid,
          title: l.variantTitle ?? 'Default Title',
          sku: l.sku ?? `SKU-${legacy(variantGid)}`,
          price: l.variant?.price ?? l.price,
          tracked: stock !== null,
          levels: stock ?? [],
          currency,
        });
      }
      return {
        gid: this.gid('LineItem'),
        title: l.title,
        sku: l.sku ?? null,
        variantTitle: l.variantTitle ?? null,
        quantity: l.quantity,
        price: l.price,
        discount: l.discount ?? 0,
        tax: l.tax ?? 0,
        variantGid,
        productGid,
        imageUrl: l.imageUrl ?? null,
      };
    });
    const o: SimOrder = {
      gid: id,
      legacyId: legacy(id),
      name: `#${++this.orderNo}`,
      createdAt: at,
      updatedAt: spec.updatedAt ?? at,
      cancelledAt: null,
      cancelReason: null,
      currency,
      locale: spec.locale === undefined ? 'en' : spec.locale,
      email: spec.email === undefined ? 'kim@example.com' : spec.email,
      phone: spec.phone ?? null,
      tags: spec.tags ?? [],
      customer:
        spec.customer === null
          ? null
          : { gid: this.gid('Customer'), firstName: 'Kim', lastName: 'Berg', ...spec.customer },
      shippingAddress:
        spec.shippingAddress === undefined
          ? {
              firstName: 'Kim',
              lastName: 'Berg',
              address1: 'Invalidenstr. 1',
              city: 'Berlin',
              zip: '10115',
              countryCode: 'DE',
            }
          : spec.shippingAddress,
      billingAddress: spec.billingAddress ?? null,
      lines,
      shippingPrice: spec.shippingPrice ?? 0,
      fulfillments: [],
      transactions: [],
      refunds: [],
      note: null,
    };
    const total = this.totals(o).total;
    if (spec.paid !== false && total > 0)
      o.transactions.push({
        gid: this.gid('OrderTransaction'),
        kind: 'SALE',
        gateway: spec.gateway ?? 'manual',
        amount: total,
        parentGid: null,
      });
    this.orders.push(o);
    return o;
  }

  /** A fulfilment of `[lineIndex, quantity]` pairs (default: everything not yet fulfilled). */
  fulfil(
    o: SimOrder,
    opts: {
      lines?: [number, number][];
      company?: string | null;
      number?: string | null;
      url?: string | null;
      at?: string;
      status?: string;
    } = {},
  ): SimFulfillment {
    const done = (l: SimLine) =>
      o.fulfillments.reduce(
        (n, f) => n + f.lines.filter((x) => x.lineGid === l.gid).reduce((m, x) => m + x.quantity, 0),
        0,
      );
    const pairs =
      opts.lines ??
      o.lines.map((l, i) => [i, l.quantity - done(l)] as [number, number]).filter(([, q]) => q > 0);
    const at = opts.at ?? this.nowIso();
    const f: SimFulfillment = {
      gid: this.gid('Fulfillment'),
      status: opts.status ?? 'SUCCESS',
      displayStatus: 'FULFILLED',
      createdAt: at,
      updatedAt: at,
      inTransitAt: null,
      deliveredAt: null,
      tracking:
        opts.number === null
          ? []
          : [
              {
                company: opts.company ?? 'DHL Express',
                number: opts.number ?? `00340434${legacy(o.gid)}`,
                url: opts.url ?? null,
              },
            ],
      lines: pairs.map(([i, quantity]) => ({ lineGid: o.lines[i].gid, quantity })),
      events: [],
    };
    o.fulfillments.push(f);
    o.updatedAt = at;
    return f;
  }

  /** A carrier event; like Shopify, the display status follows the latest shipment status. */
  event(
    f: SimFulfillment,
    status: string,
    at: string,
    extra: { message?: string; city?: string; province?: string; country?: string } = {},
  ) {
    f.events.push({
      gid: this.gid('FulfillmentEvent'),
      status,
      happenedAt: at,
      message: extra.message ?? null,
      city: extra.city ?? null,
      province: extra.province ?? null,
      country: extra.country ?? null,
    });
    if (Date.parse(at) >= Math.max(0, ...f.events.map((e) => Date.parse(e.happenedAt))))
      f.displayStatus = status;
    if (status === 'IN_TRANSIT' && !f.inTransitAt) f.inTransitAt = at;
    if (status === 'DELIVERED') f.deliveredAt = at;
    f.updatedAt = at;
    const o = this.orders.find((x) => x.fulfillments.includes(f));
    if (o) o.updatedAt = at;
  }

  /** `n` orders created `stepMs` apart from `start`, of mixed shapes (1–3 lines, some shipped and delivered). */
  seedOrders(n: number, start: number, stepMs = 60_000): SimOrder[] {
    const out: SimOrder[] = [];
    for (let k = 0; k < n; k++) {
      const at = new Date(start + k * stepMs).toISOString();
      const lines = Array.from({ length: 1 + (k % 3) }, (_, j) => ({
        title: `Product ${j + 1}`,
        quantity: 1 + ((k + j) % 2),
        price: 1999 + j * 500,
        tax: 380,
        sku: `P-${j}`,
      }));
      const o = this.addOrder({ createdAt: at, lines, shippingPrice: 495, email: `buyer${k}@example.com` });
      if (k % 2 === 0) {
        const f = this.fulfil(o, { at });
        this.event(f, 'IN_TRANSIT', new Date(start + k * stepMs + 3_600_000).toISOString(), {
          city: 'Berlin',
        });
        if (k % 4 === 0) this.event(f, 'DELIVERED', new Date(start + k * stepMs + 86_400_000).toISOString());
      }
      out.push(o);
    }
    return out;
  }

  /** The REST-shaped payload Shopify posts for `topic`, signed with the app's client secret. */
  webhook(topic: string, gid: string, opts: { eventId?: string; secret?: string; shopDomain?: string } = {}) {
    let payload: Record<string, unknown>;
    const hit = this.findFulfillment(gid);
    const refundOrder = this.orders.find((o) => o.refunds.some((r) => r.gid === gid));
    if (topic.startsWith('orders/')) {
      const o = this.findOrder(gid)!;
      payload = {
        id: o.legacyId,
        admin_graphql_api_id: o.gid,
        name: o.name,
        email: o.email,
        currency: o.currency,
        created_at: o.createdAt,
        updated_at: o.updatedAt,
        cancelled_at: o.cancelledAt,
        total_price: money(this.totals(o).total, o.currency),
        line_items: o.lines.map((l) => ({
          id: legacy(l.gid),
          admin_graphql_api_id: l.gid,
          title: l.title,
          quantity: l.quantity,
          price: money(l.price, o.currency),
          sku: l.sku,
        })),
      };
    } else if (topic.startsWith('fulfillments/') && hit) {
      const t = hit.f.tracking[0];
      payload = {
        id: legacy(hit.f.gid),
        admin_graphql_api_id: hit.f.gid,
        order_id: hit.o.legacyId,
        status: hit.f.status.toLowerCase(),
        tracking_company: t?.company ?? null,
        tracking_number: t?.number ?? null,
        tracking_url: t?.url ?? null,
        shipment_status: hit.f.displayStatus.toLowerCase(),
        created_at: hit.f.createdAt,
        updated_at: hit.f.updatedAt,
      };
    } else if (topic === 'refunds/create' && refundOrder) {
      const r = refundOrder.refunds.find((x) => x.gid === gid)!;
      payload = {
        id: legacy(r.gid),
        admin_graphql_api_id: r.gid,
        order_id: refundOrder.legacyId,
        note: r.note,
        created_at: r.createdAt,
      };
    } else throw new Error(`no ${topic} payload for ${gid}`);
    const body = Buffer.from(JSON.stringify(payload));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-hmac-sha256': createHmac('sha256', opts.secret ?? this.o.clientSecret)
        .update(body)
        .digest('base64'),
      'x-shopify-shop-domain': opts.shopDomain ?? this.o.shopDomain,
      'x-shopify-api-version': SIM_API_VERSION,
      'x-shopify-webhook-id': randomUUID(),
      'x-shopify-event-id': opts.eventId ?? randomUUID(),
      'x-shopify-triggered-at': this.nowIso(),
    };
    return { body, headers };
  }

  /** A retry of a delivery: same event and body, new delivery id. */
  redeliver(d: { body: Buffer; headers: Record<string, string> }) {
    return { body: d.body, headers: { ...d.headers, 'x-shopify-webhook-id': randomUUID() } };
  }

  /** POSTs a delivery to `url` like Shopify does; answers the receiver's status. */
  async deliver(url: string, d: { body: Buffer; headers: Record<string, string> }): Promise<number> {
    const res = await fetch(url, { method: 'POST', headers: d.headers, body: new Uint8Array(d.body) });
    await res.arrayBuffer();
    return res.status;
  }
}
