import { createHash } from 'node:crypto';
import { type Static, Type } from 'typebox';
import { DateTime, Money, Nullable, Str, StrEnum } from '../http/schema-helpers.js';
import { AppError, type FieldError } from '../lib/errors.js';
import { PHASES, type Phase } from './phase.js';

const PhaseSchema = StrEnum(PHASES, { description: 'Normalised shipment phase.' });
/** A link shown to customers and merchants: http(s) only (no javascript:, data: or other schemes). */
const WebUrl = () =>
  Str(2048, {
    pattern: '^[Hh][Tt][Tt][Pp][Ss]?://.',
    patternMessage: 'must be an http(s) URL',
    description: 'An http(s) URL.',
  });

export const AddressInput = Type.Object(
  {
    name: Nullable(Str()),
    company: Nullable(Str()),
    address_line_1: Nullable(Str()),
    address_line_2: Nullable(Str()),
    city: Nullable(Str()),
    zip_code: Nullable(Str(32)),
    province: Nullable(Str()),
    country_code: Nullable(
      Type.String({
        pattern: '^[A-Za-z]{2}$',
        patternMessage: 'must be a two-letter country code such as DE',
      }),
    ),
    phone: Nullable(Str(64)),
  },
  { additionalProperties: false },
);

export const ShipmentEventInput = Type.Object(
  {
    time: DateTime(),
    code: Str(100, { minLength: 1 }),
    phase: Nullable(PhaseSchema),
    description: Nullable(Str(1000)),
    location: Nullable(Str()),
  },
  { additionalProperties: false },
);

export const ShipmentInput = Type.Object(
  {
    external_id: Str(255, { minLength: 1 }),
    carrier: Nullable(Str(100)),
    tracking_number: Nullable(Str(100)),
    tracking_url: Nullable(WebUrl()),
    phase: Nullable(PhaseSchema),
    delivered_at: Nullable(DateTime()),
    line_items: Type.Array(
      Type.Object(
        { external_id: Str(255, { minLength: 1 }), quantity: Type.Integer({ minimum: 1, maximum: 100000 }) },
        { additionalProperties: false },
      ),
      { maxItems: 500 },
    ),
    events: Type.Optional(Type.Array(ShipmentEventInput, { maxItems: 500 })),
  },
  { additionalProperties: false },
);

export const LineItemInput = Type.Object(
  {
    external_id: Str(255, { minLength: 1 }),
    sku: Nullable(Str()),
    title: Str(500, { minLength: 1 }),
    variant_title: Nullable(Str(500)),
    quantity: Type.Integer({ minimum: 1, maximum: 100000 }),
    quantity_refunded: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })),
    unit_price: Money(),
    discount: Type.Optional(Money()),
    tax: Type.Optional(Money()),
    image_url: Nullable(WebUrl()),
    product_id: Nullable(Str()),
    variant_id: Nullable(Str()),
  },
  { additionalProperties: false },
);

export const OrderInput = Type.Object(
  {
    external_id: Nullable(Str(255, { minLength: 1 })),
    order_number: Str(100, { minLength: 1 }),
    order_name: Nullable(Str(255)),
    placed_at: DateTime(),
    cancelled_at: Nullable(DateTime()),
    updated_at: Nullable(
      DateTime({
        description:
          'When the order last changed in the shop (optional). A document older than a change the customer made through a Resolve link (cancellation, new address) writes nothing, so a late push cannot undo it: the answer says `stale`. Without it, the document is taken as current — except the very document applied before the change, sent again: it is `stale` too.',
      }),
    ),
    currency: Type.String({
      pattern: '^[A-Za-z]{3}$',
      patternMessage: 'must be a three-letter currency code such as EUR',
      description: 'ISO 4217 code.',
    }),
    language: Nullable(
      Type.String({
        pattern: '^[A-Za-z]{2}([-_][A-Za-z]{2})?$',
        patternMessage: 'must be a language code such as de or de-AT',
      }),
    ),
    tags: Type.Optional(Type.Array(Str(100), { maxItems: 100 })),
    customer: Nullable(
      Type.Object(
        {
          external_id: Nullable(Str()),
          email: Nullable(Type.String({ format: 'email', maxLength: 320 })),
          first_name: Nullable(Str()),
          last_name: Nullable(Str()),
          phone: Nullable(Str(64)),
        },
        { additionalProperties: false },
      ),
    ),
    shipping_address: Nullable(AddressInput),
    billing_address: Nullable(AddressInput),
    totals: Type.Optional(
      Type.Object(
        {
          subtotal: Type.Optional(Money()),
          shipping: Type.Optional(Money()),
          discount: Type.Optional(Money()),
          tax: Type.Optional(Money()),
          total: Type.Optional(Money()),
        },
        { additionalProperties: false },
      ),
    ),
    line_items: Type.Array(LineItemInput, { minItems: 1, maxItems: 500 }),
    shipments: Type.Optional(Type.Array(ShipmentInput, { maxItems: 100 })),
  },
  { additionalProperties: false, $id: 'OrderInput' },
);
export type OrderInputT = Static<typeof OrderInput>;
export type AddressInputT = Static<typeof AddressInput>;

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** Lookup normalisation (SPEC §3): trim, case-fold, drop a leading '#'. */
export function normalizeOrderNumber(v: string): string {
  return v.trim().toLowerCase().replace(/^#+/, '').trim();
}

/** ZIP normalisation: ignore case, spaces and dashes (`SW1A 1AA` = `sw1a1aa`). */
export function normalizeZip(v: string): string {
  return v.toLowerCase().replace(/[\s\-‐-―]+/g, '');
}

export interface NormalizedEvent {
  time: Date;
  code: string;
  phase: Phase | null;
  description: string | null;
  location: string | null;
}

export interface NormalizedOrder {
  externalId: string | null;
  orderNumber: string;
  orderNumberNorm: string;
  orderName: string | null;
  placedAt: Date;
  cancelledAt: Date | null;
  currency: string;
  language: string | null;
  tags: string[];
  customer: {
    externalId: string | null;
    email: string | null;
    firstName: string | null;
    lastName: string | null;
    phone: string | null;
  };
  shippingAddress: Record<string, string | null> | null;
  billingAddress: Record<string, string | null> | null;
  zipNorm: string | null;
  totals: { subtotal: number; shipping: number; discount: number; tax: number; total: number };
  lineItems: {
    externalId: string;
    sku: string | null;
    title: string;
    variantTitle: string | null;
    quantity: number;
    quantityRefunded: number;
    unitPrice: number;
    discount: number;
    tax: number;
    imageUrl: string | null;
    productId: string | null;
    variantId: string | null;
  }[];
  shipments: {
    externalId: string;
    carrier: string | null;
    trackingNumber: string | null;
    trackingUrl: string | null;
    phaseOverride: Phase | null;
    deliveredAtOverride: Date | null;
    lines: { externalId: string; quantity: number }[];
    events: NormalizedEvent[];
  }[];
  state: 'placed' | 'partially_fulfilled' | 'fulfilled' | 'cancelled';
  /** The shop's `updated_at`, when sent. Not part of `docHash`: a re-push with a newer time changes nothing. */
  updatedAt: Date | null;
  docHash: string;
}

function address(a: AddressInputT | null | undefined): Record<string, string | null> | null {
  if (!a) return null;
  const keys = [
    'name',
    'company',
    'address_line_1',
    'address_line_2',
    'city',
    'zip_code',
    'province',
    'country_code',
    'phone',
  ] as const;
  const out: Record<string, string | null> = {};
  for (const k of keys) {
    const v = a[k];
    out[k] = v == null || v.trim() === '' ? null : v.trim();
  }
  if (out.country_code) out.country_code = out.country_code.toUpperCase();
  return out;
}

/**
 * How far after the server's clock a time may lie (time zones written wrongly, clocks a little off). Later is
 * refused: a delivery dated years ahead would hold its claim and return windows open for years.
 */
export const MAX_FUTURE_MS = 24 * 3600 * 1000;

/** Errors for the times (JSON-pointer path → ISO text) that lie more than MAX_FUTURE_MS after `now`. */
export function futureTimes(times: [string, string | null | undefined][], now = Date.now()): FieldError[] {
  return times
    .filter(([, t]) => t != null && Date.parse(t) > now + MAX_FUTURE_MS)
    .map(([path]) => ({ path, message: 'must not lie in the future (more than a day after now)' }));
}

/**
 * Checks what the JSON schema cannot (currency list, references between lines and shipments, quantities)
 * and returns the document in Resolve's shape. `prefix` is the path prefix for errors (bulk items); `now` is the
 * clock times are checked against (the demo seed anchors its orders on a `now` of its own).
 */
export function normalizeOrder(doc: OrderInputT, prefix = '', now = Date.now()): NormalizedOrder {
  const errors: FieldError[] = [];
  const currency = doc.currency.toUpperCase();
  if (!CURRENCIES.has(currency))
    errors.push({ path: `${prefix}/currency`, message: `unknown ISO 4217 currency "${doc.currency}"` });
  const orderNumberNorm = normalizeOrderNumber(doc.order_number);
  if (!orderNumberNorm)
    errors.push({ path: `${prefix}/order_number`, message: 'must contain more than "#" and spaces' });

  errors.push(
    ...futureTimes(
      [
        [`${prefix}/placed_at`, doc.placed_at],
        [`${prefix}/cancelled_at`, doc.cancelled_at],
        ...(doc.shipments ?? []).flatMap((s, si): [string, string | null | undefined][] => [
          [`${prefix}/shipments/${si}/delivered_at`, s.delivered_at],
          ...(s.events ?? []).map((e, ei): [string, string] => [
            `${prefix}/shipments/${si}/events/${ei}/time`,
            e.time,
          ]),
        ]),
      ],
      now,
    ),
  );
  const lineQty = new Map<string, number>();
  doc.line_items.forEach((li, i) => {
    if (lineQty.has(li.external_id))
      errors.push({
        path: `${prefix}/line_items/${i}/external_id`,
        message: 'duplicate line item external_id',
      });
    lineQty.set(li.external_id, li.quantity);
    if ((li.quantity_refunded ?? 0) > li.quantity) {
      errors.push({
        path: `${prefix}/line_items/${i}/quantity_refunded`,
        message: 'must not exceed quantity',
      });
    }
  });
  const shipped = new Map<string, number>();
  const shipmentIds = new Set<string>();
  (doc.shipments ?? []).forEach((s, si) => {
    if (shipmentIds.has(s.external_id))
      errors.push({
        path: `${prefix}/shipments/${si}/external_id`,
        message: 'duplicate shipment external_id',
      });
    shipmentIds.add(s.external_id);
    const seen = new Set<string>();
    s.line_items.forEach((l, li) => {
      const p = `${prefix}/shipments/${si}/line_items/${li}`;
      if (!lineQty.has(l.external_id))
        errors.push({
          path: `${p}/external_id`,
          message: `no line item with external_id "${l.external_id}"`,
        });
      if (seen.has(l.external_id))
        errors.push({ path: `${p}/external_id`, message: 'line item listed twice in one shipment' });
      seen.add(l.external_id);
      shipped.set(l.external_id, (shipped.get(l.external_id) ?? 0) + l.quantity);
    });
    const evKeys = new Set<string>();
    (s.events ?? []).forEach((e, ei) => {
      const k = `${Date.parse(e.time)}|${e.code}`;
      if (evKeys.has(k))
        errors.push({
          path: `${prefix}/shipments/${si}/events/${ei}`,
          message: 'duplicate event (same time and code)',
        });
      evKeys.add(k);
    });
  });
  for (const [ext, q] of shipped) {
    const ordered = lineQty.get(ext);
    if (ordered !== undefined && q > ordered) {
      const i = doc.line_items.findIndex((l) => l.external_id === ext);
      errors.push({
        path: `${prefix}/line_items/${i}/quantity`,
        message: `shipments carry ${q} units but only ${ordered} were ordered`,
      });
    }
  }
  if (errors.length) throw new AppError('validation_failed', 'The order document is invalid.', errors);

  const shippingAddress = address(doc.shipping_address);
  const totalOrdered = doc.line_items.reduce((n, l) => n + l.quantity, 0);
  const totalShipped = [...shipped.values()].reduce((n, q) => n + q, 0);
  const state = doc.cancelled_at
    ? 'cancelled'
    : totalShipped === 0
      ? 'placed'
      : totalShipped >= totalOrdered
        ? 'fulfilled'
        : 'partially_fulfilled';
  const t = doc.totals ?? {};
  const norm: Omit<NormalizedOrder, 'docHash' | 'updatedAt'> = {
    externalId: doc.external_id ?? null,
    orderNumber: doc.order_number.trim(),
    orderNumberNorm,
    orderName: doc.order_name ?? null,
    placedAt: new Date(doc.placed_at),
    cancelledAt: doc.cancelled_at ? new Date(doc.cancelled_at) : null,
    currency,
    language: doc.language ? doc.language.toLowerCase().replace('_', '-') : null,
    tags: [...new Set((doc.tags ?? []).map((x) => x.trim()).filter(Boolean))],
    customer: {
      externalId: doc.customer?.external_id ?? null,
      email: doc.customer?.email ? doc.customer.email.trim() : null,
      firstName: doc.customer?.first_name ?? null,
      lastName: doc.customer?.last_name ?? null,
      phone: doc.customer?.phone ?? null,
    },
    shippingAddress,
    billingAddress: address(doc.billing_address),
    zipNorm: shippingAddress?.zip_code ? normalizeZip(shippingAddress.zip_code) : null,
    totals: {
      subtotal: t.subtotal ?? 0,
      shipping: t.shipping ?? 0,
      discount: t.discount ?? 0,
      tax: t.tax ?? 0,
      total: t.total ?? 0,
    },
    lineItems: doc.line_items.map((l) => ({
      externalId: l.external_id,
      sku: l.sku ?? null,
      title: l.title,
      variantTitle: l.variant_title ?? null,
      quantity: l.quantity,
      quantityRefunded: l.quantity_refunded ?? 0,
      unitPrice: l.unit_price,
      discount: l.discount ?? 0,
      tax: l.tax ?? 0,
      imageUrl: l.image_url ?? null,
      productId: l.product_id ?? null,
      variantId: l.variant_id ?? null,
    })),
    shipments: (doc.shipments ?? []).map((s) => ({
      externalId: s.external_id,
      carrier: s.carrier ?? null,
      trackingNumber: s.tracking_number ?? null,
      trackingUrl: s.tracking_url ?? null,
      phaseOverride: s.phase ?? null,
      deliveredAtOverride: s.delivered_at ? new Date(s.delivered_at) : null,
      lines: s.line_items.map((l) => ({ externalId: l.external_id, quantity: l.quantity })),
      events: (s.events ?? []).map((e) => ({
        time: new Date(e.time),
        code: e.code,
        phase: e.phase ?? null,
        description: e.description ?? null,
        location: e.location ?? null,
      })),
    })),
    state,
  };
  const docHash = createHash('sha256').update(JSON.stringify(norm)).digest('base64url');
  return { ...norm, updatedAt: doc.updated_at ? new Date(doc.updated_at) : null, docHash };
}
