import type { FastifyPluginAsync } from 'fastify';
import { type Static, Type } from 'typebox';
import type { App } from '../app.js';
import { isUniqueViolation } from '../db/errors.js';
import type { AppDeps } from '../http/context.js';
import { listAnswer, PageQuery, pageRequest, splitPage } from '../http/pagination.js';
import { errorResponses, merchantSecurity } from '../http/schema-helpers.js';
import { bodyValidator, fieldErrors } from '../http/validation.js';
import { AppError } from '../lib/errors.js';
import { shopNumber } from '../shops/shops.js';
import { ACTIVITY_LIMIT, OrderActivity, orderActivity } from './activity.js';
import { BulkResult, OrderList } from './api-schemas.js';
import { futureTimes, normalizeOrder, OrderInput, type OrderInputT, ShipmentEventInput } from './document.js';
import { decodeOrderKeyset, findOrderRow, loadOrderViews, orderKeysetText, searchOrderRows } from './read.js';
import { addShipmentEvents } from './shipment-events.js';
import { upsertOrder, upsertOrders } from './upsert.js';

const Slug = Type.Object({ slug: Type.String() });
const SlugId = Type.Object({
  slug: Type.String(),
  id: Type.String({ description: 'Resolve id (ord_…) or external_id.' }),
});
const security = merchantSecurity;
const tags = ['Orders'];
const MAX_BULK = 1000;

/** Conflicting concurrent writes of the same order surface as a unique violation: report, never 500. */
function mapWriteError(err: unknown): never {
  // Drizzle wraps driver errors (DrizzleQueryError); the PostgreSQL code is on `cause`.
  if (isUniqueViolation(err) || isUniqueViolation((err as { cause?: unknown } | null)?.cause))
    throw new AppError('order_exists', 'Another request wrote this order at the same time; retry.');
  throw err;
}

export function orderRoutes(deps: AppDeps): FastifyPluginAsync {
  const { db } = deps.database;
  const readOpts = (shop: AppRequestShop) => ({
    stuckAfterDays: shopNumber(shop, 'stuck_after_days', deps.config.stuckAfterDaysDefault),
  });
  type AppRequestShop = Parameters<typeof shopNumber>[0];

  return async (plain) => {
    const app = plain as unknown as App;

    app.put(
      '/v1/shops/:slug/orders',
      {
        config: { auth: 'editor' },
        schema: {
          tags,
          security,
          summary: 'Upsert an order',
          description:
            'Creates or updates one order document, matched by `external_id`, else by `order_number`. Re-sending the same document changes nothing. Answers 201 when created, 200 otherwise; the `Resolve-Upsert` header says `created`, `updated`, `unchanged` or `stale`. `stale`: the document’s `updated_at` is older than a change the customer made through a Resolve link (cancellation, new address), so it would undo that change; nothing is written and the answer is the order as stored. Send `updated_at` so a late or retried push cannot undo such a change.',
          params: Slug,
          body: OrderInput,
          response: {
            200: Type.Ref('Order'),
            201: Type.Ref('Order'),
            ...errorResponses,
            409: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const doc = normalizeOrder(req.body as OrderInputT);
        const result = await db.transaction((tx) => upsertOrder(tx, req.shop.id, doc)).catch(mapWriteError);
        const [view] = await loadOrderViews(
          db,
          req.shop.id,
          [await findOrderRow(db, req.shop.id, result.id)],
          readOpts(req.shop),
        );
        reply.header('resolve-upsert', result.status).code(result.status === 'created' ? 201 : 200);
        return view;
      },
    );

    app.post(
      '/v1/shops/:slug/orders/bulk',
      {
        config: { auth: 'editor' },
        schema: {
          tags,
          security,
          summary: 'Upsert up to 1,000 orders',
          description:
            'Each order is validated and upserted on its own terms; the answer has one result per input, in order. Valid orders are written in one transaction even when others fail validation.',
          params: Slug,
          body: Type.Object(
            {
              orders: Type.Array(Type.Object({}, { additionalProperties: true }), {
                minItems: 1,
                maxItems: MAX_BULK,
              }),
            },
            { additionalProperties: false },
          ),
          response: { 200: BulkResult, ...errorResponses },
        },
      },
      async (req) => {
        const input = (req.body as { orders: unknown[] }).orders;
        const validate = bodyValidator(OrderInput);
        const results: Static<typeof BulkResult>['data'] = new Array(input.length);
        const valid: { index: number; doc: ReturnType<typeof normalizeOrder> }[] = [];
        input.forEach((raw, index) => {
          const number =
            typeof (raw as { order_number?: unknown }).order_number === 'string'
              ? (raw as { order_number: string }).order_number
              : null;
          if (!validate(raw)) {
            const errors = fieldErrors(validate.errors ?? [], 'body').map((e) => ({
              ...e,
              path: `/orders/${index}${e.path}`,
            }));
            results[index] = {
              index,
              status: 'error',
              order_number: number,
              error: { key: 'validation_failed', message: 'The order document is invalid.', errors },
            };
            return;
          }
          try {
            valid.push({ index, doc: normalizeOrder(raw as OrderInputT, `/orders/${index}`) });
          } catch (err) {
            if (!(err instanceof AppError)) throw err;
            results[index] = {
              index,
              status: 'error',
              order_number: number,
              error: { key: err.key, message: err.message, errors: err.errors },
            };
          }
        });
        if (valid.length) {
          const outcomes = await db
            .transaction((tx) =>
              upsertOrders(
                tx,
                req.shop.id,
                valid.map((v) => v.doc),
              ),
            )
            .catch(mapWriteError);
          outcomes.forEach((o, i) => {
            const index = valid[i].index;
            results[index] =
              o.status === 'error'
                ? {
                    index,
                    status: 'error',
                    order_number: o.order_number,
                    error: { key: o.error.key, message: o.error.message },
                  }
                : { index, status: o.status, id: o.id, order_number: o.order_number };
          });
        }
        const summary = { created: 0, updated: 0, unchanged: 0, stale: 0, failed: 0 };
        for (const r of results) summary[r.status === 'error' ? 'failed' : r.status]++;
        return { data: results, summary };
      },
    );

    app.get(
      '/v1/shops/:slug/orders',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Search orders',
          description:
            'Newest first by `placed_at` (the shop’s date of the order, not when Resolve received it), then by id. `order_number` and `zip_code` are matched normalised (case, leading `#`, spaces and dashes in ZIPs).',
          params: Slug,
          querystring: Type.Object(
            {
              order_number: Type.Optional(Type.String({ maxLength: 100 })),
              zip_code: Type.Optional(Type.String({ maxLength: 32 })),
              email: Type.Optional(Type.String({ maxLength: 320 })),
              placed_from: Type.Optional(Type.String({ format: 'date-time' })),
              placed_to: Type.Optional(Type.String({ format: 'date-time' })),
              ...PageQuery,
            },
            { additionalProperties: false },
          ),
          response: { 200: OrderList, ...errorResponses },
        },
      },
      async (req) => {
        const q = req.query as Record<string, string | number | undefined> & {
          page?: number;
          per_page?: number;
          cursor?: string;
        };
        const page = pageRequest(q, { validCursor: () => true });
        const rows = await searchOrderRows(db, req.shop.id, {
          ...(q as object),
          after: page.after ? decodeOrderKeyset(page.after) : undefined,
          offset: page.offset,
          limit: page.limit,
        });
        const { rows: pageRows, ...meta } = splitPage(rows, page, (r) =>
          orderKeysetText({ at: r.placedKey, id: r.id }),
        );
        return { data: await loadOrderViews(db, req.shop.id, pageRows, readOpts(req.shop)), ...meta };
      },
    );

    app.get(
      '/v1/shops/:slug/orders/:id',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Get an order',
          description:
            'The order with its customer, addresses, totals, line items (with `quantity_fulfilled` and `quantity_refunded`) and shipments, each with its carrier events and `stuck` flag. `id` is the Resolve id (`ord_…`) or the `external_id`, not the order number (search by `order_number` with GET /v1/shops/{slug}/orders). Any role; 404 `order_not_found`.',
          params: SlugId,
          response: { 200: Type.Ref('Order'), ...errorResponses },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const [view] = await loadOrderViews(
          db,
          req.shop.id,
          [await findOrderRow(db, req.shop.id, id)],
          readOpts(req.shop),
        );
        return view;
      },
    );

    app.get(
      '/v1/shops/:slug/orders/:id/activity',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: "An order's activity: customer cancellations and address changes",
          description: `The order's \`orders/*\` events, newest first (at most ${ACTIVITY_LIMIT}): a cancellation or shipping-address change the customer made through a Resolve link, with what its webhook carries (\`reason\`, \`initiated_by\`, \`from\`/\`to\`, \`external_ref\`). Claims of the order: GET …/claims?order_id=. Any role; 404 \`order_not_found\`.`,
          params: SlugId,
          response: { 200: OrderActivity, ...errorResponses },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const order = await findOrderRow(db, req.shop.id, id);
        return listAnswer(await orderActivity(db, req.shop.id, order.id), ACTIVITY_LIMIT);
      },
    );

    app.post(
      '/v1/shops/:slug/orders/:id/shipments/:shipment_id/events',
      {
        config: { auth: 'editor' },
        schema: {
          tags,
          security,
          summary: 'Add carrier events to a shipment',
          description:
            'Appends events (an event with the same time and code as a stored one is ignored) and re-derives the shipment phase. `shipment_id` accepts the Resolve id or the external_id.',
          params: Type.Object({ slug: Type.String(), id: Type.String(), shipment_id: Type.String() }),
          body: Type.Object(
            { events: Type.Array(ShipmentEventInput, { minItems: 1, maxItems: 500 }) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ added: Type.Integer(), shipment: Type.Ref('Shipment') }),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const { id, shipment_id } = req.params as { id: string; shipment_id: string };
        const body = req.body as { events: Static<typeof ShipmentEventInput>[] };
        const future = futureTimes(body.events.map((e, i) => [`/events/${i}/time`, e.time]));
        if (future.length) throw new AppError('validation_failed', 'The events are invalid.', future);
        const order = await findOrderRow(db, req.shop.id, id);
        const events = body.events.map((e) => ({
          time: new Date(e.time),
          code: e.code,
          phase: e.phase ?? null,
          description: e.description ?? null,
          location: e.location ?? null,
        }));
        const { shipmentId, added } = await db.transaction((tx) =>
          addShipmentEvents(tx, req.shop.id, order.id, shipment_id, events),
        );
        const [view] = await loadOrderViews(db, req.shop.id, [order], readOpts(req.shop));
        return { added, shipment: view.shipments.find((s) => s.id === shipmentId)! };
      },
    );
  };
}
