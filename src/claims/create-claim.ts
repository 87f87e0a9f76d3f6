import { and, eq, inArray, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { type Static, Type } from 'typebox';
import { type Db, runPrepared } from '../db/client.js';
import { uploads } from '../db/schema.js';
import { Str, StrEnum } from '../http/schema-helpers.js';
import { AppError, type FieldError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { OrderView } from '../orders/read.js';
import { type ClaimedUnits, computeEligibility, type EligibleItem } from '../resolve/eligibility.js';
import { FLOWS, type Flow, RESOLUTIONS, type ResolveSettings } from '../resolve/settings.js';
import type { Shop } from '../shops/shops.js';
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
    dropoff_permission: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
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

const invalid = (errors: FieldError[]) => new AppError('validation_failed', 'The claim is invalid.', errors);

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
 * cost ~130 ms of PostgreSQL CPU per claim after a few thousand claims (bench/claims.ts).
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
 * inserts only, so its generic plan cannot go wrong): the number from the shop's counter, the claim, its items
 * and evidence (as JSON arrays, any number of them), the uploads it attaches, its history row, the
 * `claims/created` event (outbox, as emitEvent() writes it) and the order's updated_at. Parameters are text,
 * cast in SQL, so both drivers (pg and PGlite) pass them through unchanged.
 */
const T = (name: string) => sql`${P(name)}::text`;
const WRITE_CLAIM = new PgDialect().sqlToQuery(sql`
  with next_number as (update shops set claim_seq = claim_seq + 1 where id = ${T('shop_id')} returning claim_seq),
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
      title text, variant_title text, quantity integer, unit_net_price bigint, image_url text)),
  new_evidence as (
    insert into claim_evidence (id, shop_id, claim_id, upload_id, kind, line_item_id, content_type, size)
    select x.id, ${T('shop_id')}, ${T('claim_id')}, x.upload_id, x.kind, x.line_item_id, x.content_type, x.size
    from jsonb_to_recordset(${T('evidence')}::jsonb) as x(id text, upload_id text, kind text, line_item_id text,
      content_type text, size integer)),
  attached_uploads as (
    update uploads set claim_id = ${T('claim_id')}
    where shop_id = ${T('shop_id')} and claim_id is null
      and id in (select x.upload_id from jsonb_to_recordset(${T('evidence')}::jsonb) as x(upload_id text))),
  new_history as (
    insert into claim_history (id, shop_id, claim_id, actor_type, actor_id, action, changes, created_at)
    values (${T('history_id')}, ${T('shop_id')}, ${T('claim_id')}, ${T('actor_type')}, ${T('actor_id')}, 'created',
      '{"status":{"from":null,"to":"pending"}}'::jsonb, ${T('now')}::timestamptz)),
  new_event as (
    insert into events (id, shop_id, type, subject_id, data)
    select ${T('event_id')}, ${T('shop_id')}, 'claims/created', ${T('claim_id')},
      jsonb_build_object('claim_id', ${T('claim_id')}, 'number', 'R-' || n.claim_seq, 'order_id', ${T('order_id')},
        'flow', ${T('flow')}, 'status', 'pending')
    from next_number n),
  touched_order as (
    update orders set updated_at = ${T('now')}::timestamptz where shop_id = ${T('shop_id')} and id = ${T('order_id')})
  select 'R-' || claim_seq as number from next_number`);

const parsed = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

/** A new claim as it was written: its row and children, so the answer needs no read-back. */
export interface CreatedClaim {
  row: ClaimRow;
  children: ClaimChildren;
  order: OrderView;
}

/**
 * Creates a claim (SPEC §5–6) in one transaction: the order row is locked so concurrent claims see each
 * other's units; eligibility is re-checked; number, items, evidence links, history and the
 * `claims/created` event are written together. Returns the claim id and whether it already existed.
 */
export async function createClaim(
  tx: Db,
  a: CreateClaimArgs,
): Promise<
  { claimId: string; replayed: true } | { claimId: string; replayed: false; created: CreatedClaim }
> {
  const now = a.now ?? new Date();
  const shopId = a.shop.id;
  await runPrepared(tx, 'claim_lock_order', LOCK_ORDER, { shop_id: shopId, order_id: a.orderId });

  // A statement of its own after the lock: it must see the claims committed while this one waited for it.
  const [state] = await runPrepared<{ prior: unknown; claimed: unknown }>(
    tx,
    null, // planned on every run: see PRIOR_AND_CLAIMED
    PRIOR_AND_CLAIMED,
    {
      shop_id: shopId,
      order_id: a.orderId,
      key: a.idempotencyKey,
    },
  );
  const prior = parsed<{ id: string; request_hash: string | null } | null>(state.prior);
  if (prior) {
    if (prior.request_hash !== a.requestHash)
      throw new AppError('idempotency_conflict', 'This Idempotency-Key was used with a different claim.');
    return { claimId: prior.id, replayed: true };
  }

  const order = await a.loadOrder(tx);
  const language = a.languageOf ? a.languageOf(order) : a.language;
  const settings: ResolveSettings = a.overrideGating
    ? {
        ...a.settings,
        claim_window_days: 3650,
        return_window_days: 3650,
        flows: Object.fromEntries(
          FLOWS.map((f) => [f, { ...a.settings.flows[f], enabled: true }]),
        ) as ResolveSettings['flows'],
      }
    : a.settings;
  const claimed = parsed<ClaimedUnits[]>(state.claimed);
  const {
    flowSettings: fs,
    description,
    pref,
    answers,
    allocation,
    chosen,
  } = checkClaimInput(order, claimed, settings, a.input, now, language);
  const input = a.input;
  const evidence = await checkEvidence(tx, shopId, a.orderId, a.sessionId, fs, input, chosen);

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

  // The number comes from the shop's counter row (unique and gap-free under concurrency). That row stays locked
  // until this transaction commits, so the shop's other claims wait for it: every write is therefore made in
  // ONE statement (WRITE_CLAIM), which takes the number first and is followed only by the COMMIT (the lock used to
  // be held across six round trips: measured in bench/claims.ts, see bench/CUSTOMER.md).
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
  const [written] = await runPrepared<{ number: string }>(tx, 'claim_write', WRITE_CLAIM, {
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
    actor_type: a.actor.type,
    actor_id: a.actor.id,
    event_id: newId('evt'),
  });
  const row: ClaimRow = {
    ...claimValues,
    number: written.number,
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
}

export interface CheckedClaim {
  flowSettings: ResolveSettings['flows'][Flow];
  description: string | null;
  pref: NonNullable<ClaimInputT['resolution_preference']> | null;
  answers: { prompt_id: string; value: string | boolean }[];
  /** The units claimed, by shipment (a support request names items but carries no shipment). */
  allocation: { line_item_id: string; shipment_id: string | null; quantity: number }[];
  /** The chosen line item ids. */
  chosen: Set<string>;
}

/**
 * Checks a claim input against the order's eligibility and the flow's settings, without I/O (the real
 * submission and the preview both run it): the flow's availability (422 with the eligibility reason code),
 * then the fields (400), then items and quantities (422). Evidence is checked by checkEvidenceUploads.
 */
export function checkClaimInput(
  order: OrderView,
  claimed: ClaimedUnits[],
  settings: ResolveSettings,
  input: ClaimInputT,
  now: Date,
  language: string | null,
): CheckedClaim {
  const flows = computeEligibility(order, claimed, settings, now, language);
  const flow = flows.find((f) => f.flow === input.flow)!;
  if (!flow.available)
    throw new AppError(
      flow.reason_code!,
      `The ${input.flow} flow is not available for this order (${flow.reason_code}).`,
    );
  const fs = settings.flows[input.flow as Flow];

  const errors: FieldError[] = [];
  if (!fs.reasons.some((r) => r.code === input.reason))
    errors.push({ path: '/reason', message: `must be one of ${fs.reasons.map((r) => r.code).join(', ')}` });
  const pref = input.resolution_preference ?? null;
  if (fs.resolutions.length && !pref)
    errors.push({ path: '/resolution_preference', message: `required: one of ${fs.resolutions.join(', ')}` });
  if (pref && !fs.resolutions.includes(pref))
    errors.push({
      path: '/resolution_preference',
      message: fs.resolutions.length
        ? `must be one of ${fs.resolutions.join(', ')}`
        : 'this flow takes no resolution',
    });
  const description = input.description?.trim() || null;
  const d = fs.description;
  if (d.required && !description) errors.push({ path: '/description', message: 'required' });
  if (description && description.length < d.min_length)
    errors.push({ path: '/description', message: `must be at least ${d.min_length} characters` });
  if (description && description.length > d.max_length)
    errors.push({ path: '/description', message: `must be at most ${d.max_length} characters` });
  if (input.flow === 'not_received' && typeof input.dropoff_permission !== 'boolean')
    errors.push({ path: '/dropoff_permission', message: 'required (true or false) for not_received' });
  if (input.flow !== 'not_received' && input.dropoff_permission != null)
    errors.push({ path: '/dropoff_permission', message: 'only for not_received' });
  if (input.flow !== 'support' && input.items.length === 0)
    errors.push({ path: '/items', message: 'choose at least one item' });
  const seen = new Set<string>();
  input.items.forEach((it, i) => {
    if (seen.has(it.line_item_id)) errors.push({ path: `/items/${i}/line_item_id`, message: 'listed twice' });
    seen.add(it.line_item_id);
  });
  const answers = checkAnswers(fs, input.answers ?? [], errors);
  if (errors.length) throw invalid(errors);

  // Lines whose every fulfilled unit is taken by earlier claims (or refunds).
  const takenByLine = new Map<string, number>();
  for (const c of claimed)
    if (c.shipment_id) takenByLine.set(c.line_item_id, (takenByLine.get(c.line_item_id) ?? 0) + c.quantity);
  const usedUp = new Set(
    order.line_items
      .filter(
        (l) =>
          l.quantity_fulfilled > 0 &&
          (takenByLine.get(l.id) ?? 0) + l.quantity_refunded >= l.quantity_fulfilled,
      )
      .map((l) => l.id),
  );
  const checked = allocateItems(input, flow.items, usedUp);
  // A support request names items but claims no units: its items carry no shipment, so eligibility
  // (which skips shipment-less claim items) leaves those units to a later defective/missing/… claim.
  const allocation =
    input.flow === 'support'
      ? input.items.map((it) => ({ line_item_id: it.line_item_id, shipment_id: null, quantity: it.quantity }))
      : checked;
  const chosen = new Set(input.items.map((i) => i.line_item_id));
  return { flowSettings: fs, description, pref, answers, allocation, chosen };
}

/** A line's unit price net of its discount (what a claim item is worth per unit). */
export const unitNet = (l: OrderView['line_items'][number]) =>
  l.unit_price - Math.round(l.discount / Math.max(1, l.quantity));

/** Assigns each chosen item to shipments with free units; `not_received` must stay within one shipment. */
function allocateItems(input: ClaimInputT, eligible: EligibleItem[], usedUp: Set<string>) {
  const out: { line_item_id: string; shipment_id: string | null; quantity: number }[] = [];
  const errors: FieldError[] = [];
  let qtyError = false;
  let claimedError = false;
  input.items.forEach((it, i) => {
    const e = eligible.find((x) => x.line_item_id === it.line_item_id);
    if (!e) {
      // Say "already claimed" when earlier claims used the units up; otherwise the flow does not cover it.
      claimedError ||= usedUp.has(it.line_item_id);
      errors.push({
        path: `/items/${i}/line_item_id`,
        message: usedUp.has(it.line_item_id) ? 'already claimed' : 'this item cannot be claimed in this flow',
      });
      return;
    }
    if (it.quantity > e.max_quantity) {
      qtyError = true;
      errors.push({ path: `/items/${i}/quantity`, message: `at most ${e.max_quantity}` });
      return;
    }
    const ships = it.shipment_id ? e.shipments.filter((s) => s.shipment_id === it.shipment_id) : e.shipments;
    let left = it.quantity;
    for (const s of ships) {
      const take = Math.min(left, s.max_quantity);
      if (take > 0) out.push({ line_item_id: it.line_item_id, shipment_id: s.shipment_id, quantity: take });
      left -= take;
      if (!left) break;
    }
    if (left > 0) {
      qtyError = true;
      errors.push({ path: `/items/${i}/quantity`, message: 'more units than this shipment has left' });
    }
  });
  if (errors.length) {
    const onlyQty = qtyError && errors.every((e) => e.path.endsWith('/quantity'));
    const onlyClaimed = claimedError && errors.every((e) => e.message === 'already claimed');
    throw new AppError(
      onlyQty ? 'quantity_not_eligible' : onlyClaimed ? 'already_claimed' : 'item_not_eligible',
      'Some items or quantities cannot be claimed.',
      errors,
    );
  }
  if (input.flow === 'not_received' && new Set(out.map((x) => x.shipment_id)).size > 1) {
    throw new AppError(
      'item_not_eligible',
      'A not-received claim covers one shipment; choose items of one parcel.',
      [{ path: '/items', message: 'items from more than one shipment' }],
    );
  }
  return out;
}

function checkAnswers(
  fs: ResolveSettings['flows'][Flow],
  given: NonNullable<ClaimInputT['answers']>,
  errors: FieldError[],
) {
  const byId = new Map(given.map((g, i) => [g.prompt_id, { ...g, i }]));
  if (byId.size !== given.length) errors.push({ path: '/answers', message: 'a prompt is answered twice' });
  for (const g of given)
    if (!fs.prompts.some((p) => p.id === g.prompt_id))
      errors.push({ path: `/answers/${byId.get(g.prompt_id)!.i}/prompt_id`, message: 'unknown prompt' });
  for (const p of fs.prompts) {
    const g = byId.get(p.id);
    const path = g ? `/answers/${g.i}/value` : '/answers';
    if (!g || g.value === '') {
      if (p.required) errors.push({ path, message: `prompt "${p.id}" is required` });
      continue;
    }
    if (p.type === 'yes_no' && typeof g.value !== 'boolean')
      errors.push({ path, message: 'must be true or false' });
    if (p.type === 'text' && (typeof g.value !== 'string' || g.value.length > (p.max_length ?? 2000)))
      errors.push({ path, message: `must be text of at most ${p.max_length ?? 2000} characters` });
    if (p.type === 'choice' && !p.options?.some((o) => o.value === g.value))
      errors.push({ path, message: `must be one of ${p.options?.map((o) => o.value).join(', ')}` });
  }
  return given.map((g) => ({
    prompt_id: g.prompt_id,
    value: typeof g.value === 'string' ? g.value.trim() : g.value,
  }));
}

async function checkEvidence(
  tx: Db,
  shopId: string,
  orderId: string,
  sessionId: string | null,
  fs: ResolveSettings['flows'][Flow],
  input: ClaimInputT,
  chosen: Set<string>,
) {
  const ids = (input.evidence ?? []).map((e) => e.upload_id);
  const rows = ids.length
    ? await tx
        .select()
        .from(uploads)
        .where(and(eq(uploads.shopId, shopId), eq(uploads.orderId, orderId), inArray(uploads.id, ids)))
    : [];
  return checkEvidenceUploads(rows, sessionId, fs, input, chosen);
}

/** An upload as the evidence check needs it (a row of `uploads`, or a preview upload). */
export interface EvidenceUpload {
  id: string;
  contentType: string;
  size: number;
  claimId: string | null;
  sessionId: string | null;
}

/**
 * Checks the evidence against the uploads it names (`rows`: the order's uploads among them) and the flow's
 * rules, without I/O. With a `sessionId` (the customer flow) uploads must come from that session and the
 * minimums apply.
 */
export function checkEvidenceUploads(
  rows: EvidenceUpload[],
  sessionId: string | null,
  fs: ResolveSettings['flows'][Flow],
  input: ClaimInputT,
  chosen: Set<string>,
) {
  const given = input.evidence ?? [];
  const errors: FieldError[] = [];
  const out: ((typeof given)[number] & { contentType: string; size: number })[] = [];
  const used = new Set<string>();
  given.forEach((e, i) => {
    const row = rows.find((r) => r.id === e.upload_id);
    if (!row || row.claimId || (sessionId && row.sessionId !== sessionId) || used.has(e.upload_id)) {
      errors.push({
        path: `/evidence/${i}/upload_id`,
        message: 'unknown, already used, or not uploaded in this session',
      });
      return;
    }
    used.add(e.upload_id);
    if (e.kind === 'photo' && e.line_item_id && !chosen.has(e.line_item_id))
      errors.push({ path: `/evidence/${i}/line_item_id`, message: 'not one of the chosen items' });
    if (
      e.kind === 'signature' &&
      !row.contentType.startsWith('image/png') &&
      !row.contentType.startsWith('image/')
    )
      errors.push({ path: `/evidence/${i}`, message: 'a signature must be an image' });
    out.push({ ...e, contentType: row.contentType, size: row.size });
  });
  if (errors.length) throw new AppError('invalid_evidence', 'Some evidence cannot be used.', errors);

  const missing: FieldError[] = [];
  const photos = given.filter((e) => e.kind === 'photo');
  const perItem = (id: string) =>
    photos.filter((p) => p.line_item_id === id || (!p.line_item_id && chosen.size === 1)).length;
  for (const [i, it] of input.items.entries()) {
    const n = perItem(it.line_item_id);
    // Minimums bind the customer flow; a merchant taking a claim by phone may have no photos yet.
    if (n < fs.photos.min && sessionId)
      missing.push({ path: `/items/${i}`, message: `needs at least ${fs.photos.min} photo(s) of this item` });
    if (n > fs.photos.max)
      missing.push({ path: `/items/${i}`, message: `at most ${fs.photos.max} photo(s) per item` });
  }
  if (fs.photos.max === 0 && photos.length)
    missing.push({ path: '/evidence', message: 'this flow takes no item photos' });
  for (const kind of ['package_photo', 'signature'] as const) {
    const n = given.filter((e) => e.kind === kind).length;
    const rule = fs[kind];
    if (rule === 'required' && n === 0 && sessionId)
      missing.push({ path: '/evidence', message: `a ${kind.replace('_', ' ')} is required` });
    if (rule === 'off' && n > 0)
      missing.push({ path: '/evidence', message: `this flow takes no ${kind.replace('_', ' ')}` });
    if (n > 1) missing.push({ path: '/evidence', message: `at most one ${kind.replace('_', ' ')}` });
  }
  if (missing.length)
    throw new AppError(
      'evidence_required',
      'Some evidence is missing or not accepted for this flow.',
      missing,
    );
  return out;
}
