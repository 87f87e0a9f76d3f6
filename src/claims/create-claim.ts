import { and, eq, inArray, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { type Static, Type } from 'typebox';
import { type Db, runPrepared } from '../db/client.js';
import { uploads } from '../db/schema.js';
import { Str, StrEnum } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { isSettled, type Phase } from '../orders/phase.js';
import type { OrderView } from '../orders/read.js';
import type { ClaimedUnits } from '../resolve/eligibility.js';
import { FLOWS, RESOLUTIONS, type ResolveSettings } from '../resolve/settings.js';
import type { Shop } from '../shops/shops.js';
import {
  checkClaimInput,
  checkEvidenceUploads,
  type EvidenceUpload,
  unitNet,
  uploadsGone,
} from './check-claim.js';
import { filterColumns } from './denormalized.js';
import type { ClaimChildren, ClaimRow } from './read.js';

export const ClaimInput = Type.Object(
  {
    flow: StrEnum(FLOWS),
    reason: Str(64, { minLength: 1 }),
    items: Type.Array(
      Type.Object(
        {
          line_item_id: Str(64, { minLength: 1 }),
          quantity: Type.Integer({ minimum: 1, maximum: 100000 }),
          shipment_id: Type.Optional(Str(64)),
        },
        { additionalProperties: false },
      ),
      { maxItems: 200 },
    ),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 10000 }), Type.Null()])),
    resolution_preference: Type.Optional(Type.Union([StrEnum(RESOLUTIONS), Type.Null()])),
    evidence: Type.Optional(
      Type.Array(
        Type.Object(
          {
            upload_id: Str(64, { minLength: 1 }),
            kind: StrEnum(['photo', 'package_photo', 'signature']),
            line_item_id: Type.Optional(Type.Union([Str(64), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        { maxItems: 100 },
      ),
    ),
    answers: Type.Optional(
      Type.Array(
        Type.Object(
          {
            prompt_id: Str(64, { minLength: 1 }),
            value: Type.Union([Type.String({ maxLength: 5000 }), Type.Boolean()]),
          },
          { additionalProperties: false },
        ),
        {
          maxItems: 50,
        },
      ),
    ),
    dropoff_permission: Type.Optional(
      Type.Union([Type.Boolean(), Type.Null()], {
        description:
          'not_received only: whether the customer let the carrier leave the parcel without a signature. Required (true or false) unless the reason is `stuck_in_transit` (the parcel never reached the door; the flow’s `steps.dropoff_permission` then says false); refused on other flows.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ClaimInputT = Static<typeof ClaimInput>;

export interface Actor {
  type: 'customer' | 'api_key' | 'user' | 'system';
  id: string | null;
}

export interface CreateClaimArgs {
  shop: Shop;
  settings: ResolveSettings;
  /** Loads the order as it is inside the transaction (after the row lock). */
  loadOrder: (tx: Db) => Promise<OrderView>;
  orderId: string;
  input: ClaimInputT;
  channel: 'zip' | 'token' | 'api' | 'portal';
  language: string | null;
  /** When set, the claim's language is picked from the order as loaded under the lock (`language` is ignored). */
  languageOf?: (order: OrderView) => string | null;
  actor: Actor;
  idempotencyKey: string | null;
  requestHash: string | null;
  /** Evidence may only come from uploads of this session (customers) or of the order (merchants). */
  sessionId: string | null;
  /** Merchants may take claims outside the windows or for disabled flows (goodwill). */
  overrideGating?: boolean;
  now?: Date;
}

/**
 * The settings a merchant's goodwill claim (`override_gating`) is checked under: every flow enabled and the
 * windows wide open; units already claimed or refunded stay off limits.
 */
export function goodwillSettings(settings: ResolveSettings): ResolveSettings {
  return {
    ...settings,
    claim_window_days: 3650,
    return_window_days: 3650,
    flows: Object.fromEntries(
      FLOWS.map((f) => [f, { ...settings.flows[f], enabled: true }]),
    ) as ResolveSettings['flows'],
  };
}

/**
 * The order as a goodwill claim sees it: a parcel still on its way counts as stuck, so "not received" can be
 * recorded for a customer who reports it lost before the shop's stuck-after days have passed. Only the checks see
 * this; the claim's snapshot keeps the shipments as they are.
 */
export function goodwillView<V extends { shipments: { phase: Phase; stuck: boolean }[] }>(view: V): V {
  return { ...view, shipments: view.shipments.map((s) => (isSettled(s.phase) ? s : { ...s, stuck: true })) };
}

const P = (name: string) => sql.placeholder(name);

/** The order's row lock: concurrent claims on the order wait here and then see each other's units. */
const LOCK_ORDER = new PgDialect().sqlToQuery(
  sql`select id from orders where shop_id = ${P('shop_id')} and id = ${P('order_id')} for update`,
);

/**
 * After the order's row lock, in one round trip: the claim already made with this Idempotency-Key (if any) and
 * the units already claimed on the order (rejected claims, closed or not, give their units back), as
 * claimedUnits() in ./read.ts reads them. Built once, but planned on every run (unnamed; see runPrepared): as a
 * named statement its generic plan, made while `claims` was nearly empty, stayed in use as the table grew and
 * cost ~130 ms of PostgreSQL CPU per claim after a few thousand claims (bench/claims.ts). This is the slow path
 * (merchant claims, and customer claims whose optimistic write lost a race), so the planning is cheap enough.
 */
const PRIOR_AND_CLAIMED = new PgDialect().sqlToQuery(sql`
  select
    (select json_build_object('id', c.id, 'request_hash', c.request_hash) from claims c
      where c.shop_id = ${P('shop_id')} and c.order_id = ${P('order_id')} and c.idempotency_key = ${P('key')}) as prior,
    (select coalesce(json_agg(json_build_object('line_item_id', ci.line_item_id, 'shipment_id', ci.shipment_id,
              'quantity', ci.quantity)), '[]'::json)
      from claim_items ci join claims c on c.id = ci.claim_id
      where c.shop_id = ${P('shop_id')} and c.order_id = ${P('order_id')} and ci.shop_id = c.shop_id
        and c.outcome is distinct from 'rejected') as claimed`);

/**
 * Every write of a new claim, in one statement built once (a named prepared statement: primary-key updates and
 * inserts only, so its generic plan cannot go wrong), in this order:
 * - the order's `updated_at`, which also takes the order's row lock. With `row_version` (the order row's `xmin`
 *   as read before, see tryCreateClaim) only if the row is still that version: a claim, an order update or
 *   anything else written to the order since then leaves it alone, and then nothing below is written either;
 * - the uploads the evidence names, locked, unless one of them is gone or taken by another claim since it was
 *   read (the clean-up of unattached uploads deletes rows that are not locked; see removeStaleUploads): then
 *   nothing below is written;
 * - the number from the shop's counter (unique and gap-free: it is only taken when the claim is written);
 * - the claim, its items and evidence (as JSON arrays, any number of them), the uploads it attaches, its history
 *   row and the `claims/created` event (outbox, as emitEvent() writes it).
 * It answers one row with the number, or no row when the order had changed. Parameters are text, cast in SQL,
 * so both drivers (pg and PGlite) pass them through unchanged.
 */
const T = (name: string) => sql`${P(name)}::text`;
const written = sql`exists (select 1 from next_number)`;
const WRITE_CLAIM = new PgDialect().sqlToQuery(sql`
  with touched_order as (
    update orders set updated_at = ${T('now')}::timestamptz
    where shop_id = ${T('shop_id')} and id = ${T('order_id')}
      and (${T('row_version')} is null or xmin = ${T('row_version')}::xid)
    returning id),
  evidence_uploads as (
    select id from uploads
    where shop_id = ${T('shop_id')} and claim_id is null and exists (select 1 from touched_order)
      and id in (select x.upload_id from jsonb_to_recordset(${T('evidence')}::jsonb) as x(upload_id text))
    for update),
  next_number as (
    update shops set claim_seq = claim_seq + 1
    where id = ${T('shop_id')} and exists (select 1 from touched_order)
      and (select count(*) from evidence_uploads) = jsonb_array_length(${T('evidence')}::jsonb)
    returning claim_seq),
  new_claim as (
    insert into claims (id, shop_id, number, order_id, shipment_id, flow, reason, description, resolution_preference,
      status, channel, language, dropoff_permission, answers, context, order_number_norm, customer_email, carrier,
      country_code, shipment_phase, claim_value, currency, idempotency_key, request_hash, created_at, updated_at)
    select ${T('claim_id')}, ${T('shop_id')}, 'R-' || n.claim_seq, ${T('order_id')}, ${T('shipment_id')}, ${T('flow')},
      ${T('reason')}, ${T('description')}, ${T('resolution_preference')}, 'pending', ${T('channel')}, ${T('language')},
      ${T('dropoff_permission')}::boolean, ${T('answers')}::jsonb, ${T('context')}::jsonb, ${T('order_number_norm')},
      ${T('customer_email')}, ${T('carrier')}, ${T('country_code')}, ${T('shipment_phase')}, ${T('claim_value')}::bigint,
      ${T('currency')}, ${T('idempotency_key')}, ${T('request_hash')}, ${T('now')}::timestamptz, ${T('now')}::timestamptz
    from next_number n),
  new_items as (
    insert into claim_items (id, shop_id, claim_id, line_item_id, shipment_id, sku, title, variant_title, quantity,
      unit_net_price, image_url)
    select x.id, ${T('shop_id')}, ${T('claim_id')}, x.line_item_id, x.shipment_id, x.sku, x.title, x.variant_title,
      x.quantity, x.unit_net_price, x.image_url
    from jsonb_to_recordset(${T('items')}::jsonb) as x(id text, line_item_id text, shipment_id text, sku text,
      title text, variant_title text, quantity integer, unit_net_price bigint, image_url text)
    where ${written}),
  new_evidence as (
    insert into claim_evidence (id, shop_id, claim_id, upload_id, kind, line_item_id, content_type, size)
    select x.id, ${T('shop_id')}, ${T('claim_id')}, x.upload_id, x.kind, x.line_item_id, x.content_type, x.size
    from jsonb_to_recordset(${T('evidence')}::jsonb) as x(id text, upload_id text, kind text, line_item_id text,
      content_type text, size integer)
    where ${written}),
  attached_uploads as (
    update uploads set claim_id = ${T('claim_id')}
    where shop_id = ${T('shop_id')} and claim_id is null and ${written}
      and id in (select x.upload_id from jsonb_to_recordset(${T('evidence')}::jsonb) as x(upload_id text))),
  new_history as (
    insert into claim_history (id, shop_id, claim_id, actor_type, actor_id, action, changes, created_at)
    select ${T('history_id')}, ${T('shop_id')}, ${T('claim_id')}, ${T('actor_type')}, ${T('actor_id')}, 'created',
      ${T('history_changes')}::jsonb, ${T('now')}::timestamptz
    from next_number),
  new_event as (
    insert into events (id, shop_id, type, subject_id, data)
    select ${T('event_id')}, ${T('shop_id')}, 'claims/created', ${T('claim_id')},
      jsonb_build_object('claim_id', ${T('claim_id')}, 'number', 'R-' || n.claim_seq, 'order_id', ${T('order_id')},
        'flow', ${T('flow')}, 'status', 'pending')
    from next_number n)
  select 'R-' || claim_seq as number from next_number`);

const parsed = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

/** A new claim as it was written: its row and children, so the answer needs no read-back. */
export interface CreatedClaim {
  row: ClaimRow;
  children: ClaimChildren;
  order: OrderView;
}

type Created = { claimId: string; replayed: false; created: CreatedClaim };

/** What a claim is checked against: the order, the units claimed on it, and the uploads its evidence names. */
export interface ClaimSnapshot {
  order: OrderView;
  claimed: ClaimedUnits[];
  uploads: EvidenceUpload[];
}

/**
 * Creates a claim (SPEC §5–6) in one transaction: the order row is locked so concurrent claims see each
 * other's units; eligibility is re-checked; number, items, evidence links, history and the
 * `claims/created` event are written together. Returns the claim id and whether it already existed.
 */
export async function createClaim(
  tx: Db,
  a: CreateClaimArgs,
): Promise<{ claimId: string; replayed: true } | Created> {
  const now = a.now ?? new Date();
  const shopId = a.shop.id;
  await runPrepared(tx, 'claim_lock_order', LOCK_ORDER, { shop_id: shopId, order_id: a.orderId });

  // A statement of its own after the lock: it must see the claims committed while this one waited for it.
  const [state] = await runPrepared<{ prior: unknown; claimed: unknown }>(
    tx,
    null, // planned on every run: see PRIOR_AND_CLAIMED
    PRIOR_AND_CLAIMED,
    { shop_id: shopId, order_id: a.orderId, key: a.idempotencyKey },
  );
  const prior = parsed<{ id: string; request_hash: string | null } | null>(state.prior);
  if (prior) {
    if (prior.request_hash !== a.requestHash)
      throw new AppError('idempotency_conflict', 'This Idempotency-Key was used with a different claim.');
    return { claimId: prior.id, replayed: true };
  }

  const order = await a.loadOrder(tx);
  const ids = (a.input.evidence ?? []).map((e) => e.upload_id);
  const rows = ids.length
    ? await tx
        .select()
        .from(uploads)
        .where(and(eq(uploads.shopId, shopId), eq(uploads.orderId, a.orderId), inArray(uploads.id, ids)))
    : [];
  const claim = prepareClaim(
    a,
    { order, claimed: parsed<ClaimedUnits[]>(state.claimed), uploads: rows },
    now,
  );
  const [w] = await runPrepared<{ number: string }>(tx, 'claim_write', WRITE_CLAIM, {
    ...claim.params,
    row_version: null,
  });
  // The order is locked, so only an upload can have changed since it was read: removed or taken meanwhile.
  if (!w) throw uploadsGone();
  return claim.done(w.number);
}

/**
 * The fast path of a customer's claim: checks it against `snapshot` (read by one statement before, with the order
 * row's version `rowVersion`, its `xmin`) and writes it in ONE statement in its own transaction, which commits
 * without another round trip, only if the order row is still that version. Every claim updates its order's row,
 * so a claim committed on the order since the snapshot (or an order update) makes the write do nothing: the
 * answer is then null, and the caller runs createClaim(), which locks the order and checks again. The checks
 * throw as createClaim's do; a snapshot a moment old may refuse a claim that a concurrent rejection would have
 * allowed, as a submission a moment earlier would have been.
 *
 * Why: the transaction of createClaim takes 6 round trips (BEGIN, lock, claimed units, order, write, COMMIT), and
 * the shop's counter row stays locked from the write until the COMMIT has come back, through the event loop of a
 * busy server; all claims of the shop queue behind it (bench/claims.ts, bench/CUSTOMER.md).
 */
export async function tryCreateClaim(
  db: Db,
  a: CreateClaimArgs,
  snapshot: ClaimSnapshot,
  rowVersion: string,
): Promise<Created | null> {
  const claim = prepareClaim(a, snapshot, a.now ?? new Date());
  const [w] = await runPrepared<{ number: string }>(db, 'claim_write', WRITE_CLAIM, {
    ...claim.params,
    row_version: rowVersion,
  });
  return w ? claim.done(w.number) : null;
}

/** Checks the claim against the snapshot (throws 4xx AppErrors) and builds the rows and the write's parameters. */
function prepareClaim(a: CreateClaimArgs, snap: ClaimSnapshot, now: Date) {
  const { order, claimed } = snap;
  const shopId = a.shop.id;
  const language = a.languageOf ? a.languageOf(order) : a.language;
  const settings = a.overrideGating ? goodwillSettings(a.settings) : a.settings;
  const {
    flowSettings: fs,
    description,
    pref,
    answers,
    allocation,
    chosen,
  } = checkClaimInput(
    a.overrideGating ? goodwillView(order) : order,
    claimed,
    settings,
    a.input,
    now,
    language,
  );
  const input = a.input;
  const evidence = checkEvidenceUploads(snap.uploads, a.sessionId, fs, input, chosen);

  const claimId = newId('clm');
  const lines = new Map(order.line_items.map((l) => [l.id, l]));
  const shipmentIds = [...new Set(allocation.map((x) => x.shipment_id).filter((x): x is string => !!x))];
  const shipment = shipmentIds.length === 1 ? order.shipments.find((s) => s.id === shipmentIds[0])! : null;
  const claimValue = allocation.reduce((n, x) => n + unitNet(lines.get(x.line_item_id)!) * x.quantity, 0);
  const context = {
    order_number: order.order_number,
    order_name: order.order_name,
    order_state: order.state,
    placed_at: order.placed_at,
    currency: order.currency,
    order_total: order.totals.total,
    claim_value: claimValue,
    shipment: shipment
      ? {
          id: shipment.id,
          phase: shipment.phase,
          carrier: shipment.carrier,
          tracking_number: shipment.tracking_number,
          tracking_url: shipment.tracking_url,
          delivered_at: shipment.delivered_at,
          stuck: shipment.stuck,
        }
      : null,
    shipments: shipmentIds.length > 1 ? shipmentIds : undefined,
    shipping_address: order.shipping_address,
    customer: {
      email: order.customer.email,
      first_name: order.customer.first_name,
      last_name: order.customer.last_name,
    },
  };

  const claimValues = {
    id: claimId,
    shopId,
    orderId: a.orderId,
    shipmentId: shipment?.id ?? null,
    flow: input.flow,
    reason: input.reason,
    description,
    resolutionPreference: pref,
    status: 'pending',
    channel: a.channel,
    language,
    dropoffPermission: input.flow === 'not_received' ? (input.dropoff_permission ?? null) : null,
    answers,
    context,
    ...filterColumns(context),
    idempotencyKey: a.idempotencyKey,
    requestHash: a.requestHash,
    createdAt: now,
    updatedAt: now,
  };
  const itemRows = allocation.map((x) => {
    const l = lines.get(x.line_item_id)!;
    return {
      id: newId('cli'),
      shopId,
      claimId,
      lineItemId: l.id,
      shipmentId: x.shipment_id,
      sku: l.sku,
      title: l.title,
      variantTitle: l.variant_title,
      quantity: x.quantity,
      unitNetPrice: unitNet(l),
      imageUrl: l.image_url,
    };
  });
  const evidenceRows = evidence.map((e) => ({
    id: newId('cle'),
    shopId,
    claimId,
    uploadId: e.upload_id,
    kind: e.kind,
    lineItemId: e.line_item_id ?? null,
    contentType: e.contentType,
    size: e.size,
  }));
  const c = claimValues;
  const params = {
    shop_id: shopId,
    claim_id: claimId,
    order_id: c.orderId,
    shipment_id: c.shipmentId,
    flow: c.flow,
    reason: c.reason,
    description: c.description,
    resolution_preference: c.resolutionPreference,
    channel: c.channel,
    language: c.language,
    dropoff_permission: c.dropoffPermission === null ? null : String(c.dropoffPermission),
    answers: JSON.stringify(c.answers),
    context: JSON.stringify(c.context),
    order_number_norm: c.orderNumberNorm,
    customer_email: c.customerEmail,
    carrier: c.carrier,
    country_code: c.countryCode,
    shipment_phase: c.shipmentPhase,
    claim_value: String(c.claimValue),
    currency: c.currency,
    idempotency_key: c.idempotencyKey,
    request_hash: c.requestHash,
    now: now.toISOString(),
    items: JSON.stringify(
      itemRows.map((i) => ({
        id: i.id,
        line_item_id: i.lineItemId,
        shipment_id: i.shipmentId,
        sku: i.sku,
        title: i.title,
        variant_title: i.variantTitle,
        quantity: i.quantity,
        unit_net_price: i.unitNetPrice,
        image_url: i.imageUrl,
      })),
    ),
    evidence: JSON.stringify(
      evidenceRows.map((e) => ({
        id: e.id,
        upload_id: e.uploadId,
        kind: e.kind,
        line_item_id: e.lineItemId,
        content_type: e.contentType,
        size: e.size,
      })),
    ),
    history_id: newId('clh'),
    // A goodwill claim (taken outside the shop's rules) says so in its history: who overrode them, and when.
    history_changes: JSON.stringify({
      status: { from: null, to: 'pending' },
      ...(a.overrideGating ? { override_gating: true } : {}),
    }),
    actor_type: a.actor.type,
    actor_id: a.actor.id,
    event_id: newId('evt'),
  };
  const done = (number: string): Created => {
    const row: ClaimRow = {
      ...claimValues,
      number,
      outcome: null,
      tags: [],
      assignee: null,
      version: 1,
      answers: claimValues.answers as unknown,
      context: claimValues.context as unknown,
    };
    return {
      claimId,
      replayed: false,
      created: { row, children: { items: itemRows, evidence: evidenceRows }, order },
    };
  };
  return { params, done };
}
