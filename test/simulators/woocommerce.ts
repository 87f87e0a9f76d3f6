import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A WooCommerce store as its REST API v3 documents it (woocommerce-rest-api-docs wp-api-v3 + the v3
 * controllers): orders (list/get/create/update), order refunds, notes, the /refunds collection (9.0+),
 * products and variations (stock), webhooks, and the public /wp-json/ index. It enforces API-key auth (Basic
 * or consumer_key/consumer_secret query params, read/write permissions, Woo's error bodies), an optional
 * per-key rate limit (429 + Retry-After), per_page ≤ 100 and the other parameter enums, and signs webhook
 * deliveries like WC_Webhook. Unknown routes answer WordPress's 404 `rest_no_route`; unknown routes, query
 * parameters, body fields and invalid values are also recorded in `unexpected`, which tests assert empty.
 * Money is kept in minor units and printed with the store's price decimals (`priceDecimals`, Woo's `dp`).
 */

type Json = Record<string, unknown>;
export type Addr = Record<string, string>;
export interface SimLine {
  id: number;
  product_id: number;
  variation_id: number;
  name: string;
  sku: string;
  quantity: number;
  subtotal: number;
  total: number;
  tax: number;
  meta: Json[];
}
export interface SimShipLine {
  id: number;
  method_id: string;
  method_title: string;
  total: number;
  tax: number;
}
export interface SimRefund {
  id: number;
  created: number;
  amount: number;
  reason: string;
  items: { id: number; orig: number; kind: 'line' | 'ship'; quantity: number; total: number; tax: number }[];
}
export interface SimOrder {
  id: number;
  parent_id: number;
  number: string;
  status: string;
  currency: string;
  created: number;
  modified: number;
  completed: number | null;
  customer_id: number;
  billing: Addr;
  shipping: Addr;
  lines: SimLine[];
  shipLines: SimShipLine[];
  meta: Json[];
  refunds: SimRefund[];
  stockReduced: boolean;
}
export interface SimProduct {
  id: number;
  name: string;
  sku: string;
  price: number;
  manage_stock: boolean | 'parent';
  stock_quantity: number | null;
  stock_status: string;
  variations: SimProduct[];
}
export interface SimWebhook {
  id: number;
  name: string;
  topic: string;
  delivery_url: string;
  secret: string;
  status: string;
}
export interface LineSpec {
  productId: number;
  variationId?: number;
  name: string;
  sku?: string;
  quantity: number;
  /** Unit price before discounts, minor units. */
  price: number;
  /** Line discount, minor units. */
  discount?: number;
  /** Tax rate in percent (rate id 1). */
  taxRate?: number;
  meta?: Json[];
}
export interface OrderSpec {
  id?: number;
  number?: string;
  status?: string;
  currency?: string;
  createdAt?: Date;
  customerId?: number;
  billing?: Addr;
  shipping?: Addr;
  lines: LineSpec[];
  shippingTotal?: number;
  shippingTaxRate?: number;
  meta?: Json[];
}
export interface Delivery {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}
export interface WooSimOptions {
  consumerKey?: string;
  consumerSecret?: string;
  permissions?: 'read' | 'write' | 'read_write';
  /** Per consumer key; tokens refill at `perSecond` up to `burst` (default perSecond). */
  rateLimit?: { perSecond: number; burst?: number } | null;
  now?: () => number;
  utcOffsetMinutes?: number;
  priceDecimals?: number;
  refundsCollection?: boolean;
  gatewayRefunds?: boolean;
  siteName?: string;
  /** Sends webhook deliveries and pings; default: POST to the delivery URL, as Woo does (`null`: record only). */
  deliver?: ((d: Delivery) => Promise<void>) | null;
}

class WpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly unexpected = false,
  ) {
    super(message);
  }
}
const ANY_EXCLUDES = new Set(['trash', 'checkout-draft']);
const STATUSES = [
  'pending',
  'processing',
  'on-hold',
  'completed',
  'cancelled',
  'refunded',
  'failed',
  'trash',
  'checkout-draft',
];
const TOPICS = /^(order|product|customer|coupon)\.(created|updated|deleted|restored)$|^action\./;
const digits = new Map<string, number>();
const isoDigits = (c: string) => {
  let d = digits.get(c);
  if (d === undefined) {
    d =
      new Intl.NumberFormat('en', { style: 'currency', currency: c }).resolvedOptions()
        .maximumFractionDigits ?? 2;
    digits.set(c, d);
  }
  return d;
};
const emptyAddr = (): Addr =>
  Object.fromEntries(
    [
      'first_name',
      'last_name',
      'company',
      'address_1',
      'address_2',
      'city',
      'state',
      'postcode',
      'country',
    ].map((k) => [k, '']),
  );

export async function startWooSim(opts: WooSimOptions = {}) {
  const key = opts.consumerKey ?? `ck_${randomBytes(20).toString('hex')}`;
  const secret = opts.consumerSecret ?? `cs_${randomBytes(20).toString('hex')}`;
  const now = opts.now ?? Date.now;
  const offsetMs = (opts.utcOffsetMinutes ?? 120) * 60_000;
  const dp = opts.priceDecimals ?? 2;
  const orders = new Map<number, SimOrder>();
  const products = new Map<number, SimProduct>();
  const webhooks: SimWebhook[] = [];
  const notes = new Map<number, { id: number; note: string; customer_note: boolean }[]>();
  const requests: {
    method: string;
    path: string;
    query: string;
    status: number;
    auth: 'query' | 'basic' | 'none';
  }[] = [];
  const unexpected: string[] = [];
  const deliveries: Delivery[] = [];
  const post = async (d: Delivery) => {
    await fetch(d.url, {
      method: 'POST',
      headers: d.headers,
      body: new Uint8Array(d.body),
      redirect: 'manual',
    });
  };
  const deliver = opts.deliver === undefined ? post : opts.deliver;
  const scripted: {
    status: number;
    retryAfter?: string;
    when?: (method: string, path: string) => boolean;
  }[] = [];
  /** Requests carried out in full whose answer is then lost: a 5xx instead, or the connection dropped. */
  const lost: { status: number | 'drop'; when?: (method: string, path: string) => boolean }[] = [];
  const buckets = new Map<string, { tokens: number; at: number }>();
  let nextPost = 100;
  let nextItem = 1000;
  let nextMeta = 5000;

  const sec = (ms: number) => Math.floor(ms / 1000) * 1000;
  const gmtStr = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().slice(0, 19));
  const localStr = (ms: number | null) => (ms === null ? null : gmtStr(ms + offsetMs));
  const money = (minor: number, cur: string) => (minor / 10 ** isoDigits(cur)).toFixed(dp);
  const parseMoney = (v: unknown, cur: string) => Math.round(Number(v) * 10 ** isoDigits(cur));
  const order = (id: number) => {
    const o = orders.get(id);
    if (!o || o.status === 'checkout-draft')
      throw new WpError(404, 'woocommerce_rest_shop_order_invalid_id', 'Invalid ID.');
    return o;
  };
  const refundedQty = (o: SimOrder, itemId: number) =>
    o.refunds
      .flatMap((r) => r.items)
      .filter((i) => i.orig === itemId)
      .reduce((n, i) => n + i.quantity, 0);
  const orderTotal = (o: SimOrder) =>
    o.lines.reduce((n, l) => n + l.total + l.tax, 0) + o.shipLines.reduce((n, s) => n + s.total + s.tax, 0);

  // ------------------------------------------------------------------------------------------ JSON shapes
  function orderJson(o: SimOrder): Json {
    const c = o.currency;
    const tax = o.lines.reduce((n, l) => n + l.tax, 0);
    const shipTax = o.shipLines.reduce((n, s) => n + s.tax, 0);
    const taxes = (t: number) => (t ? [{ id: 1, total: money(t, c), subtotal: money(t, c) }] : []);
    return {
      id: o.id,
      parent_id: o.parent_id,
      number: o.number,
      order_key: `wc_order_${o.id}`,
      created_via: 'checkout',
      version: '9.4.0',
      status: o.status,
      currency: c,
      date_created: localStr(o.created),
      date_created_gmt: gmtStr(o.created),
      date_modified: localStr(o.modified),
      date_modified_gmt: gmtStr(o.modified),
      discount_total: money(
        o.lines.reduce((n, l) => n + l.subtotal - l.total, 0),
        c,
      ),
      discount_tax: money(0, c),
      shipping_total: money(
        o.shipLines.reduce((n, s) => n + s.total, 0),
        c,
      ),
      shipping_tax: money(shipTax, c),
      cart_tax: money(tax, c),
      total: money(orderTotal(o), c),
      total_tax: money(tax + shipTax, c),
      prices_include_tax: false,
      customer_id: o.customer_id,
      customer_note: '',
      billing: o.billing,
      shipping: o.shipping,
      payment_method: 'bacs',
      payment_method_title: 'Direct bank transfer',
      transaction_id: '',
      date_paid: localStr(o.created),
      date_paid_gmt: gmtStr(o.created),
      date_completed: localStr(o.completed),
      date_completed_gmt: gmtStr(o.completed),
      meta_data: o.meta,
      line_items: o.lines.map((l) => ({
        id: l.id,
        name: l.name,
        product_id: l.product_id,
        variation_id: l.variation_id,
        quantity: l.quantity,
        tax_class: '',
        subtotal: money(l.subtotal, c),
        subtotal_tax: money(l.tax, c),
        total: money(l.total, c),
        total_tax: money(l.tax, c),
        taxes: taxes(l.tax),
        meta_data: l.meta,
        sku: l.sku,
        price: l.total / 10 ** isoDigits(c) / l.quantity,
        image: {
          id: 0,
          src: l.product_id ? `https://shop.test/wp-content/uploads/p${l.product_id}.jpg` : '',
        },
        parent_name: l.variation_id ? (products.get(l.product_id)?.name ?? null) : null,
      })),
      tax_lines:
        tax + shipTax
          ? [
              {
                id: 9,
                rate_code: 'DE-MWST-1',
                rate_id: 1,
                label: 'MwSt.',
                compound: false,
                tax_total: money(tax, c),
                shipping_tax_total: money(shipTax, c),
              },
            ]
          : [],
      shipping_lines: o.shipLines.map((s) => ({
        id: s.id,
        method_title: s.method_title,
        method_id: s.method_id,
        instance_id: '',
        total: money(s.total, c),
        total_tax: money(s.tax, c),
        taxes: taxes(s.tax),
        meta_data: [],
      })),
      fee_lines: [],
      coupon_lines: [],
      refunds: o.refunds.map((r) => ({ id: r.id, reason: r.reason, total: `-${money(r.amount, c)}` })),
      _links: { self: [{ href: `${base}/orders/${o.id}` }], collection: [{ href: `${base}/orders` }] },
    };
  }
  function refundJson(o: SimOrder, r: SimRefund, withParent = false): Json {
    const c = o.currency;
    const item = (i: SimRefund['items'][number]) => {
      const src =
        i.kind === 'line' ? o.lines.find((l) => l.id === i.orig)! : o.shipLines.find((s) => s.id === i.orig)!;
      const tx = i.tax ? [{ id: 1, total: `-${money(i.tax, c)}`, subtotal: `-${money(i.tax, c)}` }] : [];
      const ref = [{ id: i.id * 10, key: '_refunded_item_id', value: String(i.orig) }];
      return i.kind === 'line'
        ? {
            id: i.id,
            name: (src as SimLine).name,
            product_id: (src as SimLine).product_id,
            variation_id: (src as SimLine).variation_id,
            quantity: -i.quantity,
            subtotal: `-${money(i.total, c)}`,
            total: `-${money(i.total, c)}`,
            total_tax: `-${money(i.tax, c)}`,
            taxes: tx,
            meta_data: ref,
            sku: (src as SimLine).sku,
            price: -i.total / 10 ** isoDigits(c) / Math.max(1, i.quantity),
          }
        : {
            id: i.id,
            method_title: (src as SimShipLine).method_title,
            method_id: (src as SimShipLine).method_id,
            total: `-${money(i.total, c)}`,
            total_tax: `-${money(i.tax, c)}`,
            taxes: tx,
            meta_data: ref,
          };
    };
    return {
      id: r.id,
      ...(withParent ? { parent_id: o.id } : {}),
      date_created: localStr(r.created),
      date_created_gmt: gmtStr(r.created),
      amount: money(r.amount, c),
      reason: r.reason,
      refunded_by: 1,
      refunded_payment: opts.gatewayRefunds !== false,
      meta_data: [],
      line_items: r.items.filter((i) => i.kind === 'line').map(item),
      shipping_lines: r.items.filter((i) => i.kind === 'ship').map(item),
    };
  }
  const productJson = (p: SimProduct, parent?: SimProduct): Json => ({
    id: p.id,
    name: p.name,
    sku: p.sku,
    type: parent ? 'variation' : p.variations.length ? 'variable' : 'simple',
    ...(parent ? { parent_id: parent.id } : { variations: p.variations.map((v) => v.id) }),
    price: money(p.price, 'EUR'),
    manage_stock: p.manage_stock,
    stock_quantity: p.stock_quantity,
    stock_status: p.stock_status,
  });
  const webhookJson = (w: SimWebhook): Json => ({
    id: w.id,
    name: w.name,
    status: w.status,
    topic: w.topic,
    resource: w.topic.split('.')[0],
    event: w.topic.split('.')[1],
    hooks: [],
    delivery_url: w.delivery_url,
  });

  // --------------------------------------------------------------------------------------------- store
  function addProduct(p: Partial<SimProduct> & { id: number; name: string }): SimProduct {
    const full: SimProduct = {
      sku: '',
      price: 0,
      manage_stock: false,
      stock_quantity: null,
      stock_status: 'instock',
      variations: [],
      ...p,
    };
    products.set(full.id, full);
    return full;
  }
  function adjustStock(o: SimOrder, sign: 1 | -1) {
    for (const l of o.lines) {
      const p = products.get(l.product_id);
      let target = l.variation_id ? p?.variations.find((v) => v.id === l.variation_id) : p;
      if (target?.manage_stock === 'parent') target = p;
      if (target?.manage_stock === true)
        target.stock_quantity = (target.stock_quantity ?? 0) + sign * l.quantity;
    }
  }
  function makeLine(s: LineSpec): SimLine {
    const subtotal = s.price * s.quantity;
    const total = subtotal - (s.discount ?? 0);
    return {
      id: nextItem++,
      product_id: s.productId,
      variation_id: s.variationId ?? 0,
      name: s.name,
      sku: s.sku ?? '',
      quantity: s.quantity,
      subtotal,
      total,
      tax: Math.round((total * (s.taxRate ?? 0)) / 100),
      meta: s.meta ?? [],
    };
  }
  function createOrder(spec: OrderSpec): SimOrder {
    const id = spec.id ?? nextPost++;
    nextPost = Math.max(nextPost, id + 1);
    const cur = spec.currency ?? 'EUR';
    const created = sec(spec.createdAt?.getTime() ?? now());
    const ship = spec.shippingTotal ?? 0;
    const o: SimOrder = {
      id,
      parent_id: 0,
      number: spec.number ?? String(id),
      status: spec.status ?? 'processing',
      currency: cur,
      created,
      modified: created,
      completed: null,
      customer_id: spec.customerId ?? 0,
      billing: { ...emptyAddr(), email: '', phone: '', ...spec.billing },
      shipping: { ...emptyAddr(), phone: '', ...spec.shipping },
      lines: spec.lines.map(makeLine),
      shipLines: ship
        ? [
            {
              id: nextItem++,
              method_id: 'flat_rate',
              method_title: 'Flat rate',
              total: ship,
              tax: Math.round((ship * (spec.shippingTaxRate ?? 0)) / 100),
            },
          ]
        : [],
      meta: (spec.meta ?? []).map((m) => ({ id: nextMeta++, ...m })),
      refunds: [],
      stockReduced: false,
    };
    orders.set(id, o);
    return o;
  }
  const touch = (o: SimOrder) => {
    o.modified = Math.max(sec(now()), o.modified);
  };
  function addTracking(
    orderId: number,
    t: {
      provider?: string;
      customProvider?: string;
      customLink?: string;
      number: string;
      shippedAt?: Date;
      productsList?: { item_id: number; qty: number }[];
    },
  ) {
    const o = order(orderId);
    let m = o.meta.find((x) => x.key === '_wc_shipment_tracking_items');
    if (!m) {
      m = { id: nextMeta++, key: '_wc_shipment_tracking_items', value: [] };
      o.meta.push(m);
    }
    const item: Json = {
      tracking_provider: t.provider ?? '',
      custom_tracking_provider: t.customProvider ?? '',
      custom_tracking_link: t.customLink ?? '',
      tracking_number: t.number,
      date_shipped: String(Math.floor((t.shippedAt?.getTime() ?? now()) / 1000)),
      tracking_id: createHash('md5').update(`${t.number}-${nextMeta++}`).digest('hex'),
    };
    if (t.productsList)
      item.products_list = t.productsList.map((p) => ({
        product: o.lines.find((l) => l.id === p.item_id)?.product_id,
        ...p,
      }));
    (m.value as Json[]).push(item);
    touch(o);
    return item;
  }
  function completeOrder(orderId: number, at = now()) {
    const o = order(orderId);
    o.status = 'completed';
    o.completed = sec(at);
    touch(o);
  }

  // -------------------------------------------------------------------------------------------- webhooks
  function signedDelivery(topic: string, orderId: number, hook?: SimWebhook): Delivery {
    const w = hook ?? webhooks.find((x) => x.topic === topic && x.status === 'active');
    if (!w) throw new Error(`no active webhook for ${topic}`);
    const [resource, event] = topic.split('.');
    const payload = event === 'deleted' ? { id: orderId } : orderJson(orders.get(orderId)!);
    const body = Buffer.from(JSON.stringify(payload).replace(/\//g, '\\/')); // wp_json_encode escapes slashes
    return {
      url: w.delivery_url,
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)',
        'x-wc-webhook-source': `${url}/`,
        'x-wc-webhook-topic': topic,
        'x-wc-webhook-resource': resource,
        'x-wc-webhook-event': event,
        'x-wc-webhook-signature': createHmac('sha256', w.secret).update(body).digest('base64'),
        'x-wc-webhook-id': String(w.id),
        // wp_hash( webhook id . strtotime('now') ): one id per webhook per second
        'x-wc-webhook-delivery-id': createHmac('md5', 'wp-salt')
          .update(`${w.id}${Math.floor(now() / 1000)}`)
          .digest('hex'),
      },
    };
  }
  async function fireWebhooks(topic: string, orderId: number) {
    for (const w of webhooks.filter((x) => x.topic === topic && x.status === 'active')) {
      const d = signedDelivery(topic, orderId, w);
      deliveries.push(d);
      await deliver?.(d);
    }
  }

  // -------------------------------------------------------------------------------------------- handlers
  type Ctx = { method: string; parts: string[]; q: URLSearchParams; body: Json; res: http.ServerResponse };
  const want = (ctx: Ctx, allowed: string[], where: 'query' | 'body') => {
    const keys = where === 'query' ? [...ctx.q.keys()] : Object.keys(ctx.body);
    for (const k of keys)
      if (!allowed.includes(k))
        unexpected.push(`${ctx.method} /${ctx.parts.join('/')}: unknown ${where} field "${k}"`);
  };
  const invalidParam = (name: string, why: string) =>
    new WpError(400, 'rest_invalid_param', `Invalid parameter(s): ${name} (${why})`, true);
  function intParam(q: URLSearchParams, name: string, def: number, min: number, max: number) {
    const v = q.get(name);
    if (v === null) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw invalidParam(name, `${name} must be between ${min} (inclusive) and ${max} (inclusive)`);
    return n;
  }
  function dateParam(q: URLSearchParams, name: string): number | null {
    const v = q.get(name);
    if (v === null) return null;
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$/.test(v))
      throw invalidParam(name, 'Invalid date.');
    if (/Z|[+-]\d\d:\d\d$/.test(v)) return Date.parse(v);
    return Date.parse(`${v}Z`) - (q.get('dates_are_gmt') === 'true' ? 0 : offsetMs);
  }
  function paginate<T>(ctx: Ctx, all: T[], defPer = 10) {
    const per = intParam(ctx.q, 'per_page', defPer, 1, 100);
    const page = intParam(ctx.q, 'page', 1, 1, 1e9);
    const pages = Math.ceil(all.length / per);
    ctx.res.setHeader('X-WP-Total', String(all.length));
    ctx.res.setHeader('X-WP-TotalPages', String(pages));
    const link = (p: number, rel: string) => {
      const q = new URLSearchParams(ctx.q);
      q.set('page', String(p));
      return `<${url}/wp-json/${ctx.parts.join('/')}?${q}>; rel="${rel}"`;
    };
    const links = [
      ...(page > 1 ? [link(Math.min(page - 1, pages), 'prev')] : []),
      ...(pages > page ? [link(page + 1, 'next')] : []),
    ];
    if (links.length) ctx.res.setHeader('Link', links.join(', '));
    return all.slice((page - 1) * per, page * per);
  }
  const fields = (ctx: Ctx, v: Json) => {
    const f = ctx.q.get('_fields');
    return f
      ? Object.fromEntries(
          f
            .split(',')
            .filter((k) => k in v)
            .map((k) => [k, v[k]]),
        )
      : v;
  };

  function listOrders(ctx: Ctx) {
    want(
      ctx,
      [
        'page',
        'per_page',
        'after',
        'before',
        'modified_after',
        'modified_before',
        'dates_are_gmt',
        'orderby',
        'order',
        'status',
        'parent',
        'include',
        '_fields',
        'context',
        'search',
      ],
      'query',
    );
    const orderby = ctx.q.get('orderby') ?? 'date';
    const dir = ctx.q.get('order') ?? 'desc';
    if (!['date', 'id', 'include', 'title', 'slug', 'modified'].includes(orderby))
      throw invalidParam('orderby', 'not one of the enum');
    if (!['asc', 'desc'].includes(dir)) throw invalidParam('order', 'asc or desc');
    const st = (ctx.q.get('status') ?? 'any').split(',');
    const [after, before, mAfter, mBefore] = ['after', 'before', 'modified_after', 'modified_before'].map(
      (n) => dateParam(ctx.q, n),
    );
    const ids = (n: string) => ctx.q.get(n)?.split(',').map(Number);
    const parent = ids('parent');
    const include = ids('include');
    const list = [...orders.values()]
      .filter((o) => (st.includes('any') ? !ANY_EXCLUDES.has(o.status) : st.includes(o.status)))
      .filter((o) => (after === null || o.created > after) && (before === null || o.created < before))
      .filter((o) => (mAfter === null || o.modified > mAfter) && (mBefore === null || o.modified < mBefore))
      .filter((o) => (!parent || parent.includes(o.parent_id)) && (!include || include.includes(o.id)))
      .sort((a, b) => {
        const k =
          orderby === 'modified' ? a.modified - b.modified : orderby === 'date' ? a.created - b.created : 0;
        return (dir === 'asc' ? 1 : -1) * (k || a.id - b.id);
      });
    return paginate(ctx, list).map((o) => fields(ctx, orderJson(o)));
  }

  function createRefund(ctx: Ctx, o: SimOrder) {
    want(
      ctx,
      ['amount', 'reason', 'refunded_by', 'api_refund', 'api_restock', 'line_items', 'meta_data'],
      'body',
    );
    const items: SimRefund['items'] = [];
    for (const li of (ctx.body.line_items as Json[] | undefined) ?? []) {
      for (const k of Object.keys(li))
        if (!['id', 'quantity', 'refund_total', 'refund_tax'].includes(k))
          unexpected.push(`refund line field "${k}"`);
      const id = Number(li.id);
      const line = o.lines.find((l) => l.id === id);
      const ship = o.shipLines.find((s) => s.id === id);
      if (!line && !ship) {
        unexpected.push(`refund of unknown item ${id}`);
        continue;
      }
      const qty = Number(li.quantity ?? 0);
      if (line && qty > line.quantity - refundedQty(o, id))
        unexpected.push(`refund of ${qty} units of item ${id} exceeds what is left`);
      const tax = ((li.refund_tax as Json[] | undefined) ?? []).reduce(
        (n, t) => n + parseMoney(t.refund_total, o.currency),
        0,
      );
      items.push({
        id: nextItem++,
        orig: id,
        kind: line ? 'line' : 'ship',
        quantity: qty,
        total: parseMoney(li.refund_total ?? 0, o.currency),
        tax,
      });
    }
    const amount =
      ctx.body.amount !== undefined
        ? parseMoney(ctx.body.amount, o.currency)
        : items.reduce((n, i) => n + i.total + i.tax, 0);
    if (amount <= 0)
      throw new WpError(
        400,
        'woocommerce_rest_invalid_order_refund',
        'Refund amount must be greater than zero.',
      );
    const left = orderTotal(o) - o.refunds.reduce((n, r) => n + r.amount, 0);
    if (amount > left)
      throw new WpError(500, 'woocommerce_rest_cannot_create_order_refund', 'Invalid refund amount.');
    if (ctx.body.api_refund !== false && opts.gatewayRefunds === false)
      throw new WpError(
        500,
        'woocommerce_rest_cannot_create_order_refund',
        'The payment gateway for this order does not support automatic refunds.',
      );
    const r: SimRefund = {
      id: nextPost++,
      created: sec(now()),
      amount,
      reason: String(ctx.body.reason ?? ''),
      items,
    };
    o.refunds.unshift(r); // Woo lists refunds newest first
    if (ctx.body.api_restock !== false)
      for (const i of items.filter((x) => x.kind === 'line')) {
        const p = products.get(o.lines.find((l) => l.id === i.orig)!.product_id);
        if (p?.manage_stock === true) p.stock_quantity = (p.stock_quantity ?? 0) + i.quantity;
      }
    if (amount === left) o.status = 'refunded';
    touch(o);
    ctx.res.statusCode = 201;
    return refundJson(o, r);
  }

  function createOrderFromApi(ctx: Ctx) {
    want(
      ctx,
      [
        'parent_id',
        'status',
        'currency',
        'customer_id',
        'billing',
        'shipping',
        'line_items',
        'shipping_lines',
        'meta_data',
        'set_paid',
        'customer_note',
        'payment_method',
        'payment_method_title',
      ],
      'body',
    );
    const b = ctx.body;
    const cur = String(b.currency ?? 'EUR');
    const lines = ((b.line_items as Json[] | undefined) ?? []).map((li) => {
      for (const k of Object.keys(li))
        if (
          ![
            'product_id',
            'variation_id',
            'quantity',
            'subtotal',
            'total',
            'name',
            'meta_data',
            'sku',
          ].includes(k)
        )
          unexpected.push(`order line field "${k}"`);
      const p = products.get(Number(li.product_id));
      const v = li.variation_id ? p?.variations.find((x) => x.id === Number(li.variation_id)) : undefined;
      if (!p || (li.variation_id && !v))
        throw new WpError(400, 'woocommerce_rest_invalid_product_id', 'Invalid product ID.');
      const qty = Number(li.quantity ?? 1);
      const line = makeLine({
        productId: p.id,
        variationId: v?.id,
        name: v ? `${p.name} - ${v.name}` : p.name,
        sku: (v ?? p).sku,
        quantity: qty,
        price: (v ?? p).price,
      });
      if (li.subtotal !== undefined) line.subtotal = parseMoney(li.subtotal, cur);
      if (li.total !== undefined) line.total = parseMoney(li.total, cur);
      line.tax = 0;
      return line;
    });
    const o = createOrder({
      currency: cur,
      customerId: Number(b.customer_id ?? 0),
      billing: b.billing as Addr,
      shipping: b.shipping as Addr,
      lines: [],
      meta: (b.meta_data as Json[]) ?? [],
    });
    o.lines = lines;
    o.shipLines = ((b.shipping_lines as Json[] | undefined) ?? []).map((s) => ({
      id: nextItem++,
      method_id: String(s.method_id),
      method_title: String(s.method_title ?? ''),
      total: parseMoney(s.total ?? 0, cur),
      tax: 0,
    }));
    o.parent_id = Number(b.parent_id ?? 0);
    o.status = String(b.status ?? (b.set_paid ? 'processing' : 'pending'));
    if (b.set_paid) {
      adjustStock(o, -1);
      o.stockReduced = true;
    }
    ctx.res.statusCode = 201;
    return orderJson(o);
  }

  function updateOrder(ctx: Ctx, o: SimOrder) {
    want(ctx, ['status', 'shipping', 'billing', 'meta_data', 'customer_note'], 'body');
    const b = ctx.body;
    if (b.status !== undefined) {
      if (!STATUSES.includes(String(b.status))) throw invalidParam('status', 'not one of the enum');
      if (b.status === 'cancelled' && o.stockReduced) {
        adjustStock(o, 1);
        o.stockReduced = false;
      }
      o.status = String(b.status);
    }
    for (const k of ['shipping', 'billing'] as const)
      if (b[k]) {
        for (const f of Object.keys(b[k] as Json))
          if (!(f in o[k])) unexpected.push(`unknown ${k} field "${f}"`);
        o[k] = { ...o[k], ...(b[k] as Addr) };
      }
    touch(o);
    return orderJson(o);
  }

  function route(ctx: Ctx): unknown {
    const [ns, ver, res, id, sub, subId] = ctx.parts;
    const m = ctx.method;
    if (!ns && m === 'GET') {
      want(ctx, ['_fields'], 'query');
      return fields(ctx, {
        name: opts.siteName ?? 'Simulated Woo Store',
        description: '',
        url,
        home: url,
        namespaces: ['wp/v2', 'wc/v3'],
      });
    }
    if (ns !== 'wc' || ver !== 'v3') throw noRoute();
    const n = Number(id);
    if (res === 'orders' && !id && m === 'GET') return listOrders(ctx);
    if (res === 'orders' && !id && m === 'POST') return createOrderFromApi(ctx);
    if (res === 'orders' && id && !sub && m === 'GET') {
      want(ctx, ['_fields', 'context', 'dp'], 'query');
      return fields(ctx, orderJson(order(n)));
    }
    if (res === 'orders' && id && !sub && m === 'PUT') return updateOrder(ctx, order(n));
    if (res === 'orders' && sub === 'refunds' && !subId && m === 'GET') {
      want(ctx, ['page', 'per_page', '_fields', 'context'], 'query');
      const o = order(n);
      return paginate(ctx, o.refunds).map((r) => refundJson(o, r));
    }
    if (res === 'orders' && sub === 'refunds' && !subId && m === 'POST') {
      const o = orders.get(n);
      if (!o) throw new WpError(500, 'woocommerce_rest_invalid_order_id', 'Invalid order ID.');
      return createRefund(ctx, o);
    }
    if (res === 'orders' && sub === 'notes' && !subId && m === 'POST') {
      want(ctx, ['note', 'customer_note', 'added_by_user'], 'body');
      const o = order(n);
      if (!ctx.body.note)
        throw new WpError(400, 'woocommerce_rest_invalid_order_note', 'Order note is required.');
      const note = {
        id: nextMeta++,
        note: String(ctx.body.note),
        customer_note: ctx.body.customer_note === true,
      };
      notes.set(o.id, [...(notes.get(o.id) ?? []), note]);
      ctx.res.statusCode = 201;
      return { ...note, author: 'system', date_created: localStr(now()), date_created_gmt: gmtStr(now()) };
    }
    if (res === 'refunds' && !id && m === 'GET' && opts.refundsCollection !== false) {
      want(ctx, ['include', 'per_page', 'page', '_fields', 'context'], 'query');
      const inc = ctx.q.has('include') ? new Set(ctx.q.get('include')!.split(',').map(Number)) : null;
      const all: Json[] = [];
      for (const o of orders.values())
        for (const r of o.refunds) if (!inc || inc.has(r.id)) all.push(refundJson(o, r, true));
      return paginate(ctx, all);
    }
    if (res === 'products' && id && m === 'GET' && (!sub || (sub === 'variations' && subId))) {
      want(ctx, ['_fields', 'context'], 'query');
      const p = products.get(n);
      const v = sub ? p?.variations.find((x) => x.id === Number(subId)) : undefined;
      if (!p || (sub && !v))
        throw new WpError(
          404,
          sub ? 'woocommerce_rest_product_variation_invalid_id' : 'woocommerce_rest_product_invalid_id',
          'Invalid ID.',
        );
      return v ? productJson(v, p) : productJson(p);
    }
    if (res === 'webhooks' && !id && m === 'GET') {
      want(ctx, ['page', 'per_page', 'status', '_fields', 'context'], 'query');
      return paginate(ctx, webhooks).map(webhookJson);
    }
    if (res === 'webhooks' && (m === 'POST' ? !id : m === 'PUT' && id && !sub)) {
      want(ctx, ['name', 'status', 'topic', 'delivery_url', 'secret', 'api_version'], 'body');
      const b = ctx.body;
      if (b.topic !== undefined && !TOPICS.test(String(b.topic)))
        throw new WpError(
          400,
          'woocommerce_rest_webhook_invalid_topic',
          'Webhook topic is required and must be valid.',
        );
      if (m === 'PUT') {
        const w = webhooks.find((x) => x.id === n);
        if (!w) throw new WpError(400, 'woocommerce_rest_shop_webhook_invalid_id', 'ID is invalid.');
        Object.assign(w, Object.fromEntries(Object.entries(b).filter(([k]) => k !== 'api_version')));
        return webhookJson(w);
      }
      if (!b.topic || !/^https?:\/\//.test(String(b.delivery_url ?? '')))
        throw new WpError(
          400,
          'rest_missing_callback_param',
          'Missing parameter(s): topic, delivery_url',
          true,
        );
      const w: SimWebhook = {
        id: nextPost++,
        name: String(b.name ?? ''),
        topic: String(b.topic),
        delivery_url: String(b.delivery_url),
        secret: String(b.secret ?? randomBytes(16).toString('hex')),
        status: String(b.status ?? 'active'),
      };
      webhooks.push(w);
      const ping: Delivery = {
        url: w.delivery_url,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'user-agent': 'WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)',
        },
        body: Buffer.from(`webhook_id=${w.id}`),
      };
      deliveries.push(ping);
      void deliver?.(ping).catch(() => undefined); // Woo ignores a failed ping when created over REST
      ctx.res.statusCode = 201;
      return webhookJson(w);
    }
    throw noRoute();
  }
  const noRoute = () =>
    new WpError(404, 'rest_no_route', 'No route was found matching the URL and request method.', true);

  // ------------------------------------------------------------------------------------------ auth, limits
  function authenticate(req: http.IncomingMessage, q: URLSearchParams, method: string) {
    let k = q.get('consumer_key');
    let s = q.get('consumer_secret');
    q.delete('consumer_key');
    q.delete('consumer_secret');
    const auth = req.headers.authorization;
    if (!(k && s) && auth?.startsWith('Basic ')) {
      const dec = Buffer.from(auth.slice(6), 'base64').toString();
      [k, s] = [dec.slice(0, dec.indexOf(':')), dec.slice(dec.indexOf(':') + 1)];
    }
    const verb =
      method === 'GET'
        ? ['view', 'list resources']
        : method === 'POST'
          ? ['create', 'create resources']
          : ['edit', 'edit resources'];
    if (!k || k !== key)
      throw new WpError(401, `woocommerce_rest_cannot_${verb[0]}`, `Sorry, you cannot ${verb[1]}.`);
    const a = Buffer.from(s ?? '');
    const b = Buffer.from(secret);
    if (a.length !== b.length || !timingSafeEqual(a, b))
      throw new WpError(401, 'woocommerce_rest_authentication_error', 'Consumer secret is invalid.');
    const perm = opts.permissions ?? 'read_write';
    if (method === 'GET' ? perm === 'write' : perm === 'read')
      throw new WpError(
        401,
        'woocommerce_rest_authentication_error',
        `The API key provided does not have ${method === 'GET' ? 'read' : 'write'} permissions.`,
      );
  }
  function throttled(client: string): number | null {
    const lim = opts.rateLimit;
    if (!lim) return null;
    const burst = lim.burst ?? lim.perSecond;
    const t = now();
    const b = buckets.get(client) ?? { tokens: burst, at: t };
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * lim.perSecond);
    b.at = t;
    buckets.set(client, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / lim.perSecond));
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://sim');
      const method = req.method ?? 'GET';
      const q = u.searchParams;
      const auth = q.has('consumer_key') ? 'query' : req.headers.authorization ? 'basic' : 'none';
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        requests.push({ method, path: u.pathname, query: q.toString(), status, auth });
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
        res.end(JSON.stringify(body));
      };
      try {
        if (!u.pathname.startsWith('/wp-json')) throw noRoute();
        const parts = u.pathname.slice('/wp-json'.length).split('/').filter(Boolean);
        const client =
          q.get('consumer_key') ?? req.headers.authorization ?? req.socket.remoteAddress ?? 'anon';
        const wait = throttled(client);
        if (wait !== null)
          return send(
            429,
            { code: 'too_many_requests', message: 'Too many requests.', data: { status: 429 } },
            { 'Retry-After': String(wait) },
          );
        const i = scripted.findIndex((f) => !f.when || f.when(method, u.pathname));
        const fail = i < 0 ? undefined : scripted.splice(i, 1)[0];
        if (fail)
          return send(
            fail.status,
            { code: 'sim_failure', message: 'Scripted failure.', data: { status: fail.status } },
            fail.retryAfter ? { 'Retry-After': fail.retryAfter } : {},
          );
        if (parts.length) authenticate(req, q, method);
        let body: Json = {};
        if (chunks.length) {
          try {
            body = JSON.parse(Buffer.concat(chunks).toString()) as Json;
          } catch {
            throw new WpError(400, 'rest_invalid_json', 'Invalid JSON body passed.', true);
          }
        }
        const out = route({ method, parts, q, body, res });
        const l = lost.findIndex((f) => !f.when || f.when(method, u.pathname));
        const gone = l < 0 ? undefined : lost.splice(l, 1)[0];
        if (gone?.status === 'drop') {
          requests.push({ method, path: u.pathname, query: q.toString(), status: 0, auth });
          return void req.socket.destroy();
        }
        if (gone)
          return send(gone.status, {
            code: 'internal_server_error',
            message: 'There has been a critical error on this website.',
            data: { status: gone.status },
          });
        send(res.statusCode, out);
      } catch (caught) {
        const err =
          caught instanceof WpError
            ? caught
            : new WpError(500, 'internal_server_error', `simulator bug: ${(caught as Error).message}`, true);
        if (err.unexpected) unexpected.push(`${method} ${u.pathname}?${q}: ${err.code} ${err.message}`);
        send(err.status, { code: err.code, message: err.message, data: { status: err.status } });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = `${url}/wp-json/wc/v3`;

  return {
    url,
    apiBase: base,
    consumerKey: key,
    consumerSecret: secret,
    orders,
    products,
    webhooks,
    notes,
    requests,
    unexpected,
    deliveries,
    addProduct,
    createOrder,
    addTracking,
    completeOrder,
    orderJson: (id: number) => orderJson(order(id)),
    signedDelivery,
    fireWebhooks,
    /** The next `n` requests (matching `when`) fail with `status` (and Retry-After), after the rate limit, before auth. */
    failNext(
      n: number,
      status: number,
      retryAfter?: string,
      when?: (method: string, path: string) => boolean,
    ) {
      for (let i = 0; i < n; i++) scripted.push({ status, retryAfter, when });
    },
    /**
     * The next `n` requests (matching `when`) are carried out, but their answer is lost: `status` (a 5xx, as a
     * PHP fatal after the refund was saved) or `'drop'` (the connection closes before any answer).
     */
    loseAnswer(n: number, status: number | 'drop', when?: (method: string, path: string) => boolean) {
      for (let i = 0; i < n; i++) lost.push({ status, when });
    },
    /** Forgets scripted failures not yet used (the store is healthy again). */
    heal() {
      scripted.length = 0;
      lost.length = 0;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export type WooSim = Awaited<ReturnType<typeof startWooSim>>;
