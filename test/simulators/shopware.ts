import { createHash, createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Shopware 6 Admin API simulator for the connector's contract tests and the backfill benchmark, built from the
 * Admin API guides (authentication, search criteria, writing entities, action routes, app webhooks):
 * - OAuth client credentials (`POST /api/oauth/token`), bearer tokens that expire (600 s unless configured);
 * - DAL search for order / product / country / state-machine-state with `ids`, `filter` (equals, equalsAny,
 *   range, multi, not; to-many paths match when any row does), `sort` (NULL first when ascending), `page`,
 *   `limit`, `total-count-mode`, `includes`, and `associations`: an association not asked for comes back null;
 * - the action and write routes the connector uses (order state transitions, order-address, order-delivery,
 *   capture refunds and their refund action, order create), validating required fields;
 * - a token-bucket rate limit answering 429 with Retry-After, and `force429` for tests;
 * - errors in Shopware's envelope `{errors: [{status, code, title, detail}]}`.
 * Anything the connector should never send (unknown route or field, malformed criteria, a request without a
 * token, an invalid write) is answered with an error AND recorded in `unexpected`; tests assert it stays empty.
 */

// biome-ignore lint/suspicious/noExplicitAny: simulated Shopware JSON documents are free-form
type Obj = Record<string, any>;
type Assoc = { [k: string]: Assoc };

export interface ShopwareSimOptions {
  clientId?: string;
  clientSecret?: string;
  appSecret?: string;
  /** Clock in ms; share it with the connector's deps.now to test token expiry without waiting. */
  now?: () => number;
  tokenTtlSec?: number;
  /** Token bucket: `perSecond` refill, `burst` capacity (default = perSecond). */
  rateLimit?: { perSecond: number; burst?: number } | null;
  /** Largest `limit` a search accepts (Shopware's `shopware.api.max_limit`). */
  maxLimit?: number;
}

export interface LineSpec {
  label: string;
  quantity: number;
  unitPrice: number;
  productNumber?: string;
  taxRate?: number;
  options?: { group: string; option: string }[];
  stock?: number;
}

export interface OrderSpec {
  orderNumber?: string;
  placedAt?: Date;
  currency?: 'EUR' | 'JPY' | 'USD';
  taxStatus?: 'gross' | 'net';
  lines?: LineSpec[];
  promotion?: number;
  shipping?: number;
  /** Line indexes per delivery (default: one delivery with every line). */
  deliveries?: number[][];
  /** The delivery uses the billing address row (Shopware does this when both are equal). */
  sharedAddress?: boolean;
  payment?: { refundable: boolean; captured: boolean; name?: string };
  customer?: { email: string; firstName: string; lastName: string };
  address?: { street: string; zipcode: string; city: string; countryIso: string; stateCode?: string };
  language?: string;
  tags?: string[];
}

const hex = () => randomBytes(16).toString('hex');
const stableId = (s: string) => createHash('md5').update(s).digest('hex');
const swTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00');
const round = (n: number, d = 2) => Number(n.toFixed(d));
/** A CalculatedPrice (unit, quantity, total, taxes) as Shopware stores it. */
const calc = (
  total: number,
  quantity = 1,
  unitPrice = total / quantity,
  calculatedTaxes: Obj[] = [],
  taxRules: Obj[] = [],
) => ({
  unitPrice,
  quantity,
  totalPrice: total,
  calculatedTaxes,
  taxRules,
});

class SimError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly unexpected = false,
  ) {
    super(detail);
  }
}
const bad = (detail: string, code = 'FRAMEWORK__INVALID_CRITERIA') => new SimError(400, code, detail, true);

const MACHINES: Record<string, string[]> = {
  'order.state': ['open', 'in_progress', 'completed', 'cancelled'],
  'order_delivery.state': [
    'open',
    'shipped',
    'shipped_partially',
    'returned',
    'returned_partially',
    'cancelled',
  ],
  'order_transaction.state': [
    'open',
    'authorized',
    'paid',
    'paid_partially',
    'refunded',
    'refunded_partially',
    'cancelled',
    'failed',
  ],
  'order_transaction_capture.state': ['pending', 'completed', 'failed'],
  'order_transaction_capture_refund.state': ['open', 'in_progress', 'completed', 'failed', 'cancelled'],
};
const STATES = Object.entries(MACHINES).flatMap(([machine, names]) =>
  names.map((technicalName) => ({
    id: stableId(`${machine}/${technicalName}`),
    technicalName,
    name: technicalName,
    stateMachineId: stableId(machine),
    stateMachine: { id: stableId(machine), technicalName: machine },
    apiAlias: 'state_machine_state',
  })),
);
const state = (machine: string, name: string) => {
  const s = STATES.find((x) => x.stateMachine.technicalName === machine && x.technicalName === name);
  if (!s) throw new Error(`no state ${machine}/${name}`);
  const { stateMachine: _m, ...rest } = s;
  return rest;
};
const ORDER_TRANSITIONS: Record<string, Record<string, string>> = {
  open: { process: 'in_progress', cancel: 'cancelled', complete: 'completed' },
  in_progress: { complete: 'completed', cancel: 'cancelled', reopen: 'open' },
  completed: { reopen: 'open' },
  cancelled: { reopen: 'open' },
};

const CURRENCIES: Record<string, { id: string; isoCode: string; decimals: number }> = {
  EUR: { id: stableId('EUR'), isoCode: 'EUR', decimals: 2 },
  USD: { id: stableId('USD'), isoCode: 'USD', decimals: 2 },
  JPY: { id: stableId('JPY'), isoCode: 'JPY', decimals: 0 },
};
const COUNTRIES = ['DE', 'AT', 'GB', 'US', 'JP', 'FR'].map((iso) => ({
  id: stableId(`country-${iso}`),
  iso,
}));
const SALES_CHANNEL = stableId('sales-channel');
const SHIPPING_METHOD = {
  id: stableId('dhl'),
  name: 'DHL Paket',
  trackingUrl: 'https://www.dhl.de/track?piececode=%s',
};

const ADDRESS: Assoc = { country: {}, countryState: {}, salutation: {} };
const ORDER_ASSOC: Assoc = {
  currency: {},
  language: { locale: {} },
  stateMachineState: {},
  orderCustomer: {},
  tags: {},
  billingAddress: ADDRESS,
  addresses: ADDRESS,
  lineItems: { cover: {}, product: {} },
  deliveries: { stateMachineState: {}, shippingMethod: {}, positions: {}, shippingOrderAddress: ADDRESS },
  transactions: {
    stateMachineState: {},
    paymentMethod: {},
    captures: { stateMachineState: {}, refunds: { stateMachineState: {}, positions: {} } },
  },
};
const ENTITIES: Record<string, { assoc: Assoc; fields: string[]; alias: string }> = {
  order: {
    assoc: ORDER_ASSOC,
    alias: 'order',
    fields: [
      'id',
      'orderNumber',
      'orderDateTime',
      'createdAt',
      'updatedAt',
      'deliveries.updatedAt',
      'transactions.updatedAt',
      'addresses.updatedAt',
      'stateMachineState.technicalName',
    ],
  },
  product: { assoc: {}, alias: 'product', fields: ['id', 'productNumber'] },
  country: { assoc: {}, alias: 'country', fields: ['id', 'iso'] },
  'state-machine-state': {
    assoc: { stateMachine: {} },
    alias: 'state_machine_state',
    fields: ['id', 'technicalName', 'stateMachine.technicalName'],
  },
};
const CRITERIA_KEYS = new Set([
  'ids',
  'filter',
  'sort',
  'page',
  'limit',
  'total-count-mode',
  'associations',
  'includes',
]);
const isDateField = (f: string) => /(At|DateTime)$/.test(f);

/** Storage format `2024-01-05 10:00:00.000` (UTC) or ISO 8601 → ms; anything else is the caller's bug. */
function parseTime(v: unknown): number {
  if (typeof v !== 'string') throw bad(`date value ${JSON.stringify(v)} is not a string`);
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(\.\d{1,6})?)$/.exec(v);
  const t = m ? Date.parse(`${m[1]}T${m[2]}Z`) : /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) throw bad(`unparseable date "${v}"`);
  return t;
}

const timeCache = new Map<string, number>();
/** Stored date-times (`…+00:00`), parsed once each: filters and sorts touch every row on every search. */
function storedTime(v: string): number {
  let t = timeCache.get(v);
  if (t === undefined) {
    t = Date.parse(v);
    if (timeCache.size > 100_000) timeCache.clear();
    timeCache.set(v, t);
  }
  return t;
}

function values(entity: Obj, path: string): unknown[] {
  let cur: unknown[] = [entity];
  for (const key of path.split('.')) {
    cur = cur.flatMap((v) => {
      const next = (v as Obj | null)?.[key];
      return Array.isArray(next) ? next : [next];
    });
  }
  return cur;
}

/** A criteria filter → a row predicate, checked and prepared once per search rather than once per row. */
function compileFilter(f: Obj, fields: string[]): (row: Obj) => boolean {
  if (f.type === 'multi' || f.type === 'not') {
    if (!Array.isArray(f.queries) || !/^(and|or)$/i.test(f.operator ?? ''))
      throw bad('multi/not needs operator and queries');
    const parts = f.queries.map((q: Obj) => compileFilter(q, fields));
    const and = /^and$/i.test(f.operator);
    const neg = f.type === 'not';
    return (row) => neg !== (and ? parts.every((p) => p(row)) : parts.some((p) => p(row)));
  }
  if (!fields.includes(f.field))
    throw bad(`field "${f.field}" is not filterable here`, 'FRAMEWORK__UNMAPPED_FIELD');
  const date = isDateField(f.field);
  const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
  const stored = (v: unknown) => (v == null ? null : date ? storedTime(String(v)) : lower(v));
  const given = (v: unknown) => (v == null ? null : date ? parseTime(v) : lower(v));
  const any = (test: (v: unknown) => boolean) => (row: Obj) =>
    values(row, f.field).some((v) => test(stored(v)));
  if (f.type === 'equals') {
    const want = given(f.value);
    return any((v) => v === want);
  }
  if (f.type === 'equalsAny') {
    const list = (Array.isArray(f.value) ? f.value : String(f.value).split('|')).map(given);
    return any((v) => list.includes(v));
  }
  if (f.type === 'range') {
    const p = f.parameters ?? {};
    const [gte, gt, lte, lt] = ['gte', 'gt', 'lte', 'lt'].map((k) =>
      p[k] === undefined ? undefined : date ? parseTime(p[k]) : Number(p[k]),
    );
    return any((v) => {
      if (v == null) return false;
      const x = v as number;
      return (
        (gte === undefined || x >= gte) &&
        (gt === undefined || x > gt) &&
        (lte === undefined || x <= lte) &&
        (lt === undefined || x < lt)
      );
    });
  }
  throw bad(`unknown filter type "${f.type}"`);
}

function project(entity: Obj, def: Assoc, asked: Obj): Obj {
  for (const k of Object.keys(asked))
    if (!(k in def)) throw bad(`association "${k}" not found`, 'FRAMEWORK__ASSOCIATION_NOT_FOUND');
  const out: Obj = { ...entity };
  for (const [k, sub] of Object.entries(def)) {
    const v = entity[k];
    if (asked[k] === undefined || v == null) out[k] = null;
    else {
      const inner = (asked[k] as Obj).associations ?? {};
      out[k] = Array.isArray(v) ? v.map((x) => project(x, sub, inner)) : project(v, sub, inner);
    }
  }
  return out;
}

export type ShopwareSim = Awaited<ReturnType<typeof startShopwareSim>>;

export async function startShopwareSim(opts: ShopwareSimOptions = {}) {
  const clientId = opts.clientId ?? 'SWIAINTEGRATIONSIM';
  const clientSecret = opts.clientSecret ?? 'sim-secret-access-key';
  const appSecret = opts.appSecret ?? 'sim-app-secret';
  const now = opts.now ?? (() => Date.now());
  const maxLimit = opts.maxLimit ?? 500;
  const tokens = new Map<string, number>();
  const orders = new Map<string, Obj>();
  const products = new Map<string, Obj>();
  const log: { method: string; path: string; status: number }[] = [];
  const unexpected: string[] = [];
  const refundsExecuted: { refundId: string; amount: number }[] = [];
  const control = {
    forced429: 0,
    retryAfterSec: 1,
    refundOutcome: 'completed' as 'completed' | 'failed',
    shopName: 'Sim Shop',
    /** Every bearer token is refused (a revoked integration). */
    denyTokens: false,
    /** The next matching requests fail with this status before doing anything (a crash on Shopware's side). */
    failures: [] as { method: string; path: RegExp; status: number; count: number }[],
  };
  const limiter = opts.rateLimit
    ? { tokens: opts.rateLimit.burst ?? opts.rateLimit.perSecond, at: now() }
    : null;
  let orderCounter = 10000;
  /** Time spent handling requests (incl. JSON encoding), so a benchmark can tell simulator from client cost. */
  const stats = { busyMs: 0 };

  function rateLimited(): number | null {
    if (control.forced429 > 0) {
      control.forced429--;
      return control.retryAfterSec;
    }
    if (!limiter || !opts.rateLimit) return null;
    const { perSecond, burst = perSecond } = opts.rateLimit;
    const t = now();
    limiter.tokens = Math.min(burst, limiter.tokens + ((t - limiter.at) / 1000) * perSecond);
    limiter.at = t;
    if (limiter.tokens >= 1) {
      limiter.tokens--;
      return null;
    }
    return Math.max(1, Math.ceil((1 - limiter.tokens) / perSecond));
  }

  const allAddresses = () => [...orders.values()].flatMap((o) => o.addresses as Obj[]);
  const findOrderOf = (pred: (o: Obj) => boolean) => [...orders.values()].find(pred);

  function search(entity: string, c: Obj): Obj {
    const meta = ENTITIES[entity];
    if (!meta) throw new SimError(404, 'FRAMEWORK__DEFINITION_NOT_FOUND', `no entity ${entity}`, true);
    for (const k of Object.keys(c)) if (!CRITERIA_KEYS.has(k)) throw bad(`unknown criteria key "${k}"`);
    const rows: Obj[] =
      entity === 'order'
        ? [...orders.values()]
        : entity === 'product'
          ? [...products.values()]
          : entity === 'country'
            ? COUNTRIES.map((x) => ({ ...x, apiAlias: 'country' }))
            : STATES;
    const limit = c.limit ?? 25;
    if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit)
      throw bad(`limit must be 1..${maxLimit}`, 'FRAMEWORK__INVALID_LIMIT_QUERY');
    const page = c.page ?? 1;
    if (!Number.isInteger(page) || page < 1) throw bad('page must be ≥ 1');
    const preds = (c.filter ?? []).map((f: Obj) => compileFilter(f, meta.fields));
    let hits = rows.filter(
      (r) => (!c.ids || c.ids.includes(r.id)) && preds.every((p: (r: Obj) => boolean) => p(r)),
    );
    for (const s of [...(c.sort ?? [])].reverse()) {
      if (!meta.fields.includes(s.field))
        throw bad(`cannot sort by "${s.field}"`, 'FRAMEWORK__UNMAPPED_FIELD');
      const dir = /^desc$/i.test(s.order ?? 'ASC') ? -1 : 1;
      const keyOf = (r: Obj) => {
        const v = values(r, s.field)[0];
        return v == null ? null : isDateField(s.field) ? storedTime(String(v)) : String(v);
      };
      const keyed = hits.map((r) => ({ r, k: keyOf(r) })); // one key per row, not per comparison
      hits = keyed
        .sort((a, b) => {
          const [x, y] = [a.k, b.k];
          if (x === y) return 0;
          if (x === null) return -dir; // MySQL: NULL sorts first ascending
          if (y === null) return dir;
          return (x < y ? -1 : 1) * dir;
        })
        .map((e) => e.r);
    }
    const total = hits.length;
    const data = hits.slice((page - 1) * limit, page * limit).map((r) => {
      let out = project(r, meta.assoc, c.associations ?? {});
      const inc = c.includes?.[meta.alias];
      if (Array.isArray(inc))
        out = Object.fromEntries(Object.entries(out).filter(([k]) => inc.includes(k) || k === 'apiAlias'));
      return out;
    });
    return { total: c['total-count-mode'] === 1 ? total : data.length, data, aggregations: [] };
  }

  function requireFields(body: Obj, names: string, what: string) {
    const missing = names
      .split(' ')
      .filter((f) => body[f] === undefined || body[f] === null || body[f] === '');
    if (missing.length)
      throw bad(`${what}: missing ${missing.join(', ')}`, 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
  }
  const calcPriceOk = (p: Obj | undefined) =>
    !!p &&
    typeof p.unitPrice === 'number' &&
    typeof p.totalPrice === 'number' &&
    typeof p.quantity === 'number' &&
    Array.isArray(p.calculatedTaxes) &&
    Array.isArray(p.taxRules);
  const ADDRESS_FIELDS = [
    'firstName',
    'lastName',
    'company',
    'department',
    'street',
    'additionalAddressLine1',
    'additionalAddressLine2',
    'zipcode',
    'city',
    'phoneNumber',
    'countryId',
    'countryStateId',
    'salutationId',
    'title',
    'vatId',
  ];

  function writeAddress(target: Obj, body: Obj) {
    for (const k of Object.keys(body))
      if (!ADDRESS_FIELDS.includes(k))
        throw bad(`order_address has no writable field "${k}"`, 'FRAMEWORK__WRITE_UNKNOWN_FIELD');
    Object.assign(target, body);
    if (body.countryId !== undefined) {
      const c = COUNTRIES.find((x) => x.id === body.countryId);
      if (!c) throw bad('unknown countryId', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
      target.country = { id: c.id, iso: c.iso };
    }
    if (body.countryStateId === null) target.countryState = null;
    target.updatedAt = swTime(now());
  }

  const routes: [
    string,
    RegExp,
    (m: RegExpMatchArray, body: Obj, url: URL) => { status: number; body?: unknown },
  ][] = [
    ['POST', /^\/api\/search\/([a-z-]+)$/, (m, body) => ({ status: 200, body: search(m[1], body) })],
    [
      'GET',
      /^\/api\/_action\/system-config$/,
      (_m, _b, url) => {
        if (url.searchParams.get('domain') !== 'core.basicInformation') throw bad('unexpected config domain');
        return {
          status: 200,
          body: {
            'core.basicInformation.shopName': control.shopName,
            'core.basicInformation.email': 'shop@example.com',
          },
        };
      },
    ],
    [
      'POST',
      /^\/api\/_action\/order\/([0-9a-f]{32})\/state\/([a-z_]+)$/,
      (m) => {
        const o = orders.get(m[1]);
        if (!o) throw new SimError(404, 'FRAMEWORK__ENTITY_NOT_FOUND', `order ${m[1]} not found`);
        const to = ORDER_TRANSITIONS[o.stateMachineState.technicalName]?.[m[2]];
        if (!to)
          throw new SimError(
            400,
            'SYSTEM__ILLEGAL_STATE_TRANSITION',
            `illegal transition "${m[2]}" from ${o.stateMachineState.technicalName}`,
          );
        o.stateMachineState = state('order.state', to);
        o.stateId = o.stateMachineState.id;
        o.updatedAt = swTime(now());
        return { status: 200, body: { ...o.stateMachineState, apiAlias: 'state_machine_state' } };
      },
    ],
    [
      'PATCH',
      /^\/api\/order-address\/([0-9a-f]{32})$/,
      (m, body) => {
        const a = allAddresses().find((x) => x.id === m[1]);
        if (!a) throw new SimError(404, 'FRAMEWORK__ENTITY_NOT_FOUND', `order_address ${m[1]} not found`);
        writeAddress(a, body);
        return { status: 204 };
      },
    ],
    [
      'POST',
      /^\/api\/order-address$/,
      (_m, body) => {
        requireFields(body, 'id orderId countryId firstName lastName street city', 'order_address');
        const o = orders.get(body.orderId);
        if (!o) throw bad('unknown orderId', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
        if (allAddresses().some((a) => a.id === body.id))
          throw bad('duplicate primary key', 'FRAMEWORK__DUPLICATE');
        const { id, orderId: _o, ...rest } = body;
        const a: Obj = {
          id,
          createdAt: swTime(now()),
          updatedAt: null,
          country: null,
          countryState: null,
          apiAlias: 'order_address',
        };
        writeAddress(a, rest);
        a.updatedAt = null;
        o.addresses.push(a);
        return { status: 204 };
      },
    ],
    [
      'PATCH',
      /^\/api\/order-delivery\/([0-9a-f]{32})$/,
      (m, body) => {
        const o = findOrderOf((x) => x.deliveries.some((d: Obj) => d.id === m[1]));
        const d = o?.deliveries.find((x: Obj) => x.id === m[1]);
        if (!o || !d)
          throw new SimError(404, 'FRAMEWORK__ENTITY_NOT_FOUND', `order_delivery ${m[1]} not found`);
        for (const k of Object.keys(body))
          if (!['shippingOrderAddressId', 'trackingCodes'].includes(k))
            throw bad(`unexpected field ${k}`, 'FRAMEWORK__WRITE_UNKNOWN_FIELD');
        if (body.shippingOrderAddressId) {
          const a = o.addresses.find((x: Obj) => x.id === body.shippingOrderAddressId);
          if (!a) throw bad('address belongs to another order', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
          d.shippingOrderAddressId = a.id;
          d.shippingOrderAddress = a;
        }
        if (body.trackingCodes) d.trackingCodes = body.trackingCodes;
        d.updatedAt = swTime(now());
        return { status: 204 };
      },
    ],
    [
      'POST',
      /^\/api\/order-transaction-capture-refund$/,
      (_m, body) => {
        requireFields(body, 'id captureId stateId amount', 'order_transaction_capture_refund');
        const o = findOrderOf((x) =>
          x.transactions.some((t: Obj) => t.captures.some((c: Obj) => c.id === body.captureId)),
        );
        if (!o) throw bad('unknown captureId', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
        const capture = o.transactions
          .flatMap((t: Obj) => t.captures)
          .find((c: Obj) => c.id === body.captureId);
        if (
          o.transactions.some((t: Obj) =>
            t.captures.some((c: Obj) => c.refunds.some((r: Obj) => r.id === body.id)),
          )
        )
          throw bad('duplicate primary key', 'FRAMEWORK__DUPLICATE');
        const st = STATES.find(
          (s) =>
            s.id === body.stateId &&
            s.stateMachine.technicalName === 'order_transaction_capture_refund.state',
        );
        if (!st) throw bad('stateId is not a capture refund state', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
        if (!calcPriceOk(body.amount))
          throw bad('amount must be a CalculatedPrice', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
        const positions = (body.positions ?? []).map((p: Obj) => {
          requireFields(p, 'orderLineItemId quantity amount', 'refund position');
          if (!o.lineItems.some((l: Obj) => l.id === p.orderLineItemId) || !calcPriceOk(p.amount))
            throw bad('invalid refund position', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
          return {
            id: p.id ?? hex(),
            refundId: body.id,
            orderLineItemId: p.orderLineItemId,
            quantity: p.quantity,
            reason: p.reason ?? null,
            amount: p.amount,
            apiAlias: 'order_transaction_capture_refund_position',
          };
        });
        const { stateMachine: _sm, ...stateRow } = st;
        capture.refunds.push({
          id: body.id,
          captureId: capture.id,
          stateId: st.id,
          stateMachineState: stateRow,
          reason: body.reason ?? null,
          amount: body.amount,
          customFields: body.customFields ?? null,
          externalReference: null,
          positions,
          createdAt: swTime(now()),
          updatedAt: null,
          apiAlias: 'order_transaction_capture_refund',
        });
        return { status: 204 };
      },
    ],
    [
      'POST',
      /^\/api\/_action\/order_transaction_capture_refund\/([0-9a-f]{32})$/,
      (m) => {
        for (const o of orders.values())
          for (const t of o.transactions)
            for (const c of t.captures)
              for (const r of c.refunds) {
                if (r.id !== m[1]) continue;
                if (r.stateMachineState.technicalName !== 'open')
                  throw new SimError(
                    400,
                    'CHECKOUT__REFUND_INVALID_TRANSITION',
                    `refund ${r.id} is ${r.stateMachineState.technicalName}`,
                  );
                if (!t.paymentMethod.refundable)
                  throw new SimError(
                    400,
                    'CHECKOUT__REFUND_UNKNOWN_HANDLER',
                    `no refund handler for refund ${r.id}`,
                  );
                r.stateMachineState = state('order_transaction_capture_refund.state', control.refundOutcome);
                r.updatedAt = swTime(now());
                t.updatedAt = r.updatedAt;
                if (control.refundOutcome === 'completed')
                  refundsExecuted.push({ refundId: r.id, amount: r.amount.totalPrice });
                return { status: 204 };
              }
        throw new SimError(400, 'CHECKOUT__REFUND_UNKNOWN', `unknown refund ${m[1]}`);
      },
    ],
    ['POST', /^\/api\/order$/, (_m, body) => ({ status: 204, body: insertOrder(body) })],
  ];

  /** `POST /api/order`: the required fields of OrderDefinition and its nested writes. */
  function insertOrder(b: Obj): undefined {
    requireFields(
      b,
      'id billingAddressId currencyId languageId salesChannelId orderDateTime currencyFactor stateId price itemRounding totalRounding orderCustomer lineItems addresses',
      'order',
    );
    if (orders.has(b.id)) throw bad('duplicate primary key', 'FRAMEWORK__DUPLICATE');
    const currency = Object.values(CURRENCIES).find((c) => c.id === b.currencyId);
    const st = STATES.find((s) => s.id === b.stateId && s.stateMachine.technicalName === 'order.state');
    if (!currency || !st) throw bad('unknown currencyId or stateId', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
    requireFields(b.orderCustomer, 'email firstName lastName', 'order_customer');
    const addresses = b.addresses.map((a: Obj) => {
      requireFields(a, 'id countryId firstName lastName street city', 'order_address');
      const t: Obj = { id: a.id, createdAt: swTime(now()), updatedAt: null, apiAlias: 'order_address' };
      const { id: _id, ...rest } = a;
      writeAddress(t, rest);
      t.updatedAt = null;
      return t;
    });
    const billing = addresses.find((a: Obj) => a.id === b.billingAddressId);
    if (!billing) throw bad('billingAddressId not among addresses', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
    const lineItems = b.lineItems.map((l: Obj) => {
      requireFields(l, 'id identifier quantity label price', 'order_line_item');
      if (!calcPriceOk(l.price))
        throw bad('line price must be a CalculatedPrice', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
      return {
        ...l,
        unitPrice: l.price.unitPrice,
        totalPrice: l.price.totalPrice,
        parentId: null,
        cover: null,
      };
    });
    const deliveries = (b.deliveries ?? []).map((d: Obj) => {
      requireFields(
        d,
        'id shippingOrderAddressId shippingMethodId stateId shippingDateEarliest shippingDateLatest',
        'order_delivery',
      );
      const ds = STATES.find(
        (s) => s.id === d.stateId && s.stateMachine.technicalName === 'order_delivery.state',
      );
      const addr = addresses.find((a: Obj) => a.id === d.shippingOrderAddressId);
      if (!ds || !addr)
        throw bad('invalid delivery state or address', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
      for (const p of d.positions ?? [])
        if (!lineItems.some((l: Obj) => l.id === p.orderLineItemId))
          throw bad('position for unknown line', 'FRAMEWORK__WRITE_CONSTRAINT_VIOLATION');
      const { stateMachine: _sm, ...dsRow } = ds;
      return {
        ...d,
        stateMachineState: dsRow,
        shippingOrderAddress: addr,
        shippingMethod: SHIPPING_METHOD,
        trackingCodes: d.trackingCodes ?? [],
        createdAt: swTime(now()),
        updatedAt: null,
      };
    });
    const { stateMachine: _sm, ...stRow } = st;
    orders.set(b.id, {
      ...b,
      orderNumber: b.orderNumber ?? String(++orderCounter),
      createdAt: swTime(now()),
      updatedAt: null,
      amountTotal: b.price.totalPrice,
      amountNet: b.price.netPrice,
      positionPrice: b.price.positionPrice,
      shippingTotal: 0,
      taxStatus: b.price.taxStatus,
      stateMachineState: stRow,
      currency: {
        id: currency.id,
        isoCode: currency.isoCode,
        itemRounding: b.itemRounding,
        totalRounding: b.totalRounding,
        apiAlias: 'currency',
      },
      language: { id: b.languageId, locale: { code: 'de-DE' } },
      tags: [],
      billingAddress: billing,
      addresses,
      lineItems,
      deliveries,
      transactions: [],
      apiAlias: 'order',
    });
    return undefined;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const began = performance.now();
      const url = new URL(req.url ?? '/', 'http://sim');
      const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
        log.push({ method: req.method ?? '', path: url.pathname, status });
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(body === undefined ? undefined : JSON.stringify(body));
        stats.busyMs += performance.now() - began; // synchronous work: routing, search, JSON encoding
      };
      const fail = (e: SimError, headers: Record<string, string> = {}) => {
        if (e.unexpected) unexpected.push(`${req.method} ${url.pathname}: ${e.message}`);
        send(
          e.status,
          {
            errors: [
              {
                status: String(e.status),
                code: e.code,
                title: http.STATUS_CODES[e.status],
                detail: e.message,
              },
            ],
          },
          headers,
        );
      };
      try {
        const wait = rateLimited();
        if (wait !== null)
          return fail(new SimError(429, 'FRAMEWORK__RATE_LIMIT_EXCEEDED', 'Too many requests'), {
            'retry-after': String(wait),
          });
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: Obj = {};
        if (raw) {
          if (!/application\/json/.test(req.headers['content-type'] ?? ''))
            throw bad('body without content-type application/json');
          try {
            body = JSON.parse(raw);
          } catch {
            throw bad('malformed JSON body', 'FRAMEWORK__INVALID_JSON');
          }
        }
        if (req.method === 'POST' && url.pathname === '/api/oauth/token') {
          if (body.grant_type !== 'client_credentials') throw bad('unsupported grant_type');
          if (body.client_id !== clientId || body.client_secret !== clientSecret)
            throw new SimError(401, '9', 'The client credentials are invalid');
          const token = randomBytes(24).toString('base64url');
          const ttl = opts.tokenTtlSec ?? 600;
          tokens.set(token, now() + ttl * 1000);
          return send(200, { token_type: 'Bearer', expires_in: ttl, access_token: token });
        }
        const failure = control.failures.find(
          (f) => f.count > 0 && f.method === req.method && f.path.test(url.pathname),
        );
        if (failure) {
          failure.count--;
          return fail(new SimError(failure.status, 'FRAMEWORK__SIM_FAILURE', 'simulated failure'));
        }
        const route = routes.find(([method, re]) => method === req.method && re.test(url.pathname));
        if (!route)
          throw new SimError(
            404,
            'FRAMEWORK__ROUTING_NOT_FOUND',
            `No route found for "${req.method} ${url.pathname}"`,
            true,
          );
        const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!bearer) throw new SimError(401, 'FRAMEWORK__UNAUTHORIZED', 'Missing bearer token', true);
        const exp = tokens.get(bearer);
        if (exp === undefined || now() >= exp || control.denyTokens)
          throw new SimError(
            401,
            '9',
            'The resource owner or authorization server denied the request. Access token could not be verified',
          );
        if (req.headers.accept !== 'application/json')
          throw bad('Accept must be application/json (else JSON:API)');
        const out = route[2](url.pathname.match(route[1])!, body, url);
        send(out.status, out.status === 204 ? undefined : out.body);
      } catch (e) {
        if (e instanceof SimError) return fail(e);
        fail(new SimError(500, 'FRAMEWORK__INTERNAL', String(e), true));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  /** An order as Shopware stores it (floats, 32-hex ids), with every association filled. */
  function createOrder(spec: OrderSpec = {}): Obj {
    const cur = CURRENCIES[spec.currency ?? 'EUR'];
    const d = cur.decimals;
    const gross = (spec.taxStatus ?? 'gross') === 'gross';
    const t = spec.placedAt?.getTime() ?? now();
    const id = hex();
    const country = COUNTRIES.find((c) => c.iso === (spec.address?.countryIso ?? 'DE'))!;
    const addr = (which: string): Obj => ({
      id: hex(),
      countryId: country.id,
      countryStateId: spec.address?.stateCode ? stableId(spec.address.stateCode) : null,
      salutationId: stableId('mr'),
      firstName: spec.customer?.firstName ?? 'Kim',
      lastName: spec.customer?.lastName ?? 'Berg',
      company: null,
      department: null,
      street: spec.address?.street ?? (which === 'billing' ? 'Rechnungsweg 2' : 'Invalidenstr. 1'),
      additionalAddressLine1: null,
      additionalAddressLine2: null,
      zipcode: spec.address?.zipcode ?? '10115',
      city: spec.address?.city ?? 'Berlin',
      phoneNumber: '+49 30 123456',
      country: { id: country.id, iso: country.iso },
      countryState: spec.address?.stateCode
        ? { shortCode: spec.address.stateCode, name: spec.address.stateCode }
        : null,
      createdAt: swTime(t),
      updatedAt: null,
      apiAlias: 'order_address',
    });
    const billing = addr('billing');
    const shipping = spec.sharedAddress ? billing : addr('shipping');
    const lineSpecs = spec.lines ?? [
      {
        label: 'T-Shirt',
        quantity: 2,
        unitPrice: 19.99,
        productNumber: 'TEE-M',
        options: [{ group: 'Size', option: 'M' }],
      },
    ];
    const taxByRate = new Map<number, number>();
    const lineItems: Obj[] = lineSpecs.map((l, i) => {
      const rate = l.taxRate ?? 19;
      const total = round(l.unitPrice * l.quantity, d);
      const tax = round(gross ? total - total / (1 + rate / 100) : (total * rate) / 100, d);
      taxByRate.set(rate, round((taxByRate.get(rate) ?? 0) + tax, d));
      const productId = hex();
      products.set(productId, {
        id: productId,
        productNumber: l.productNumber ?? `SW${10000 + i}`,
        stock: l.stock ?? 10,
        availableStock: (l.stock ?? 10) - l.quantity,
        apiAlias: 'product',
      });
      return {
        id: hex(),
        identifier: productId,
        referencedId: productId,
        productId,
        parentId: null,
        type: 'product',
        label: l.label,
        quantity: l.quantity,
        unitPrice: l.unitPrice,
        totalPrice: total,
        good: true,
        position: i + 1,
        payload: { productNumber: l.productNumber ?? `SW${10000 + i}`, options: l.options ?? [] },
        price: calc(
          total,
          l.quantity,
          l.unitPrice,
          [{ tax, taxRate: rate, price: total }],
          [{ taxRate: rate, percentage: 100 }],
        ),
        cover: { url: `https://shop.example.com/media/${i}.jpg` },
        createdAt: swTime(t),
        updatedAt: null,
      };
    });
    if (spec.promotion) {
      const p = -spec.promotion;
      lineItems.push({
        id: hex(),
        identifier: 'promo',
        referencedId: 'SUMMER',
        productId: null,
        parentId: null,
        type: 'promotion',
        label: 'Summer sale',
        quantity: 1,
        unitPrice: p,
        totalPrice: p,
        good: false,
        position: lineItems.length + 1,
        payload: [],
        price: calc(p),
        cover: null,
      });
    }
    const shippingTotal = spec.shipping ?? (d ? 4.95 : 500);
    const positionPrice = round(
      lineItems.reduce((s, l) => s + l.totalPrice, 0),
      d,
    );
    const taxes = [...taxByRate].map(([taxRate, tax]) => ({ tax, taxRate, price: 0 }));
    const taxSum = round(
      taxes.reduce((s, x) => s + x.tax, 0),
      d,
    );
    const amountTotal = round(positionPrice + shippingTotal + (gross ? 0 : taxSum), d);
    const deliveries = (spec.deliveries ?? [lineSpecs.map((_, i) => i)]).map((idx) => ({
      id: hex(),
      orderId: id,
      shippingOrderAddressId: shipping.id,
      shippingOrderAddress: shipping,
      shippingMethodId: SHIPPING_METHOD.id,
      shippingMethod: SHIPPING_METHOD,
      stateId: state('order_delivery.state', 'open').id,
      stateMachineState: state('order_delivery.state', 'open'),
      trackingCodes: [] as string[],
      shippingDateEarliest: swTime(t + 86_400_000),
      shippingDateLatest: swTime(t + 3 * 86_400_000),
      shippingCosts: calc(shippingTotal),
      positions: idx.map((i) => ({
        id: hex(),
        orderLineItemId: lineItems[i].id,
        quantity: lineItems[i].quantity,
      })),
      createdAt: swTime(t),
      updatedAt: null,
    }));
    const pay = spec.payment ?? { refundable: true, captured: true };
    const paid = state('order_transaction.state', 'paid');
    const transactions = [
      {
        id: hex(),
        createdAt: swTime(t),
        updatedAt: null,
        stateId: paid.id,
        stateMachineState: paid,
        amount: calc(amountTotal),
        paymentMethod: {
          id: stableId(pay.name ?? 'card'),
          name: pay.name ?? 'Credit card',
          refundable: pay.refundable,
        },
        captures: pay.captured
          ? [
              {
                id: hex(),
                stateMachineState: state('order_transaction_capture.state', 'completed'),
                amount: calc(amountTotal),
                refunds: [] as Obj[],
              },
            ]
          : [],
      },
    ];
    const open = state('order.state', 'open');
    const order: Obj = {
      id,
      versionId: stableId('live'),
      orderNumber: spec.orderNumber ?? String(++orderCounter),
      orderDateTime: swTime(t),
      createdAt: swTime(t),
      updatedAt: null,
      currencyId: cur.id,
      languageId: stableId('lang'),
      salesChannelId: SALES_CHANNEL,
      currencyFactor: 1,
      billingAddressId: billing.id,
      amountTotal,
      amountNet: round(amountTotal - taxSum, d),
      positionPrice,
      shippingTotal,
      taxStatus: gross ? 'gross' : 'net',
      price: {
        netPrice: round(amountTotal - taxSum, d),
        totalPrice: amountTotal,
        positionPrice,
        rawTotal: amountTotal,
        taxStatus: gross ? 'gross' : 'net',
        calculatedTaxes: taxes,
        taxRules: [],
      },
      stateId: open.id,
      stateMachineState: open,
      customFields: null,
      currency: {
        id: cur.id,
        isoCode: cur.isoCode,
        itemRounding: { decimals: d, interval: 10 ** -d, roundForNet: true },
        totalRounding: { decimals: d, interval: 10 ** -d, roundForNet: true },
        apiAlias: 'currency',
      },
      language: { id: stableId('lang'), locale: { code: spec.language ?? 'de-DE' } },
      orderCustomer: {
        id: hex(),
        email: spec.customer?.email ?? 'kim@example.com',
        firstName: spec.customer?.firstName ?? 'Kim',
        lastName: spec.customer?.lastName ?? 'Berg',
        customerId: hex(),
        salutationId: stableId('mr'),
      },
      tags: (spec.tags ?? []).map((name) => ({ id: stableId(name), name })),
      billingAddress: billing,
      addresses: spec.sharedAddress ? [billing] : [billing, shipping],
      lineItems,
      deliveries,
      transactions,
      apiAlias: 'order',
    };
    orders.set(id, order);
    return order;
  }

  return {
    url,
    clientId,
    clientSecret,
    appSecret,
    orders,
    products,
    log,
    unexpected,
    refundsExecuted,
    control,
    stats,
    createOrder,
    /** Moves a delivery to `shipped` (or another state) as the warehouse would; only the delivery row changes. */
    shipDelivery(
      orderId: string,
      index = 0,
      trackingCodes: string[] = ['00340434161094042557'],
      to = 'shipped',
    ) {
      const d = orders.get(orderId)!.deliveries[index];
      d.stateMachineState = state('order_delivery.state', to);
      d.stateId = d.stateMachineState.id;
      d.trackingCodes = trackingCodes;
      d.updatedAt = swTime(now());
    },
    setOrderState(orderId: string, to: string) {
      const o = orders.get(orderId)!;
      o.stateMachineState = state('order.state', to);
      o.stateId = o.stateMachineState.id;
      o.updatedAt = swTime(now());
    },
    force429(count: number, retryAfterSec = 1) {
      control.forced429 = count;
      control.retryAfterSec = retryAfterSec;
    },
    revokeTokens: () => tokens.clear(),
    failNext(method: string, path: RegExp, status = 503, count = 1) {
      control.failures.push({ method, path, status, count });
    },
    count: (method: string, path: string | RegExp) =>
      log.filter(
        (l) => l.method === method && (typeof path === 'string' ? l.path === path : path.test(l.path)),
      ).length,
    /** A webhook the way Shopware's app system sends it: signed raw body, event id in header and payload. */
    webhook(event: string, payload: unknown, o: { eventId?: string; secret?: string; sign?: boolean } = {}) {
      const eventId = o.eventId ?? hex();
      const rawBody = Buffer.from(
        JSON.stringify({
          data: { payload, event },
          source: { url, appVersion: '1.0.0', shopId: 'simShop01', eventId },
          timestamp: Math.floor(now() / 1000),
        }),
      );
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'sw-version': '6.6.10.0',
        'x-shopware-event-id': eventId,
        'x-shopware-sequence': String(log.length),
        'x-shopware-attempt': '0',
      };
      if (o.sign !== false)
        headers['shopware-shop-signature'] = createHmac('sha256', o.secret ?? appSecret)
          .update(rawBody)
          .digest('hex');
      return { rawBody, headers };
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
