import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import { EVENT_TYPES } from '../claims/events.js';
import type { ReadyDeps } from '../http/context.js';
import { pageRequest, splitPage } from '../http/pagination.js';
import { errorResponses, StrEnum } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { optionalBody } from '../resolve/api-schemas.js';
import {
  DeliveryDetail,
  DeliveryView,
  EndpointParams,
  ListMeta,
  MessageParams,
  security,
  tags,
} from './api-schemas.js';
import { attemptView, deliveryView, loadAttempts, searchDeliveries } from './deliveries.js';
import { findEndpoint } from './endpoints.js';
import { findMessage, replayFailed, replayMessage } from './messages.js';

/** The event types a delivery can carry (the test event too), and their sources. */
const DELIVERY_TYPES = [...EVENT_TYPES, 'webhooks/test'];
const DELIVERY_EVENT_FILTERS = [...new Set(DELIVERY_TYPES.map((t) => t.split('/')[0])), ...DELIVERY_TYPES];

const STATUSES = ['pending', 'succeeded', 'failed'];
const MAX_REPLAY_RANGE_DAYS = 31;

/** The delivery log of an endpoint and manual replays (SPEC §10). */
export function deliveryRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  return async (plain) => {
    const app = plain as unknown as App;

    app.get(
      '/v1/shops/:slug/webhooks/:id/deliveries',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'List deliveries (messages) of an endpoint',
          description:
            'Newest first, with the state of each and its last attempt. Filters: `status` (comma-separated), `event_type` (a type such as `claims/created` or a source such as `claims`), `created_from` / `created_to`. Page with `cursor`.',
          params: EndpointParams,
          querystring: Type.Object(
            {
              status: Type.Optional(
                Type.String({
                  pattern: `^(${STATUSES.join('|')})(,(${STATUSES.join('|')}))*$`,
                  patternMessage: `must be comma-separated values of: ${STATUSES.join(', ')}`,
                  examples: ['failed', 'pending,failed'],
                }),
              ),
              event_type: Type.Optional(
                StrEnum(DELIVERY_EVENT_FILTERS, {
                  description: 'An event type, or a source (every type of it).',
                  examples: ['claims', 'claims/created'],
                }),
              ),
              created_from: Type.Optional(Type.String({ format: 'date-time' })),
              created_to: Type.Optional(Type.String({ format: 'date-time' })),
              per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
              cursor: Type.Optional(
                Type.String({ maxLength: 200, description: '`next_cursor` of the previous answer.' }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ data: Type.Array(DeliveryView), ...ListMeta }), ...errorResponses },
        },
      },
      async (req) => {
        const q = req.query as {
          status?: string;
          event_type?: string;
          created_from?: string;
          created_to?: string;
          per_page?: number;
          cursor?: string;
        };
        const endpoint = await findEndpoint(db, req.shop.id, (req.params as { id: string }).id);
        const page = pageRequest(q);
        const rows = await searchDeliveries(db, req.shop.id, endpoint.id, {
          ...q,
          after: page.after,
          limit: page.limit,
        });
        const { rows: pageRows, has_more, next_cursor } = splitPage(rows, page);
        return { data: pageRows.map(deliveryView), has_more, next_cursor };
      },
    );

    app.get(
      '/v1/shops/:slug/webhooks/:id/deliveries/:message_id',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Get a delivery with its payload and every attempt',
          description:
            'Each attempt: when, what triggered it, HTTP status, duration, the first 4 kB of the response, and why it failed.',
          params: MessageParams,
          response: { 200: DeliveryDetail, ...errorResponses },
        },
      },
      async (req) => {
        const { id, message_id } = req.params as { id: string; message_id: string };
        const endpoint = await findEndpoint(db, req.shop.id, id);
        const message = await findMessage(db, req.shop.id, endpoint.id, message_id);
        const attempts = await loadAttempts(db, req.shop.id, message.id);
        return {
          ...deliveryView(message),
          payload: JSON.parse(message.payload),
          attempts: attempts.map(attemptView),
        };
      },
    );

    app.post(
      '/v1/shops/:slug/webhooks/:id/deliveries/:message_id/replay',
      {
        config: { auth: 'editor' },
        preValidation: optionalBody,
        schema: {
          tags,
          security,
          summary: 'Replay one delivery',
          description:
            'Sends the message again now — same `webhook-id` and body, fresh timestamp and signature — with a fresh retry schedule. A message still retrying is moved up to now.',
          params: MessageParams,
          body: Type.Optional(Type.Object({}, { additionalProperties: false })),
          response: { 202: DeliveryView, ...errorResponses, 409: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        const { id, message_id } = req.params as { id: string; message_id: string };
        const endpoint = await findEndpoint(db, req.shop.id, id);
        const row = await db.transaction((tx) => replayMessage(tx, endpoint, message_id));
        deps.nudgeWorker?.();
        reply.code(202);
        return deliveryView(row);
      },
    );

    app.post(
      '/v1/shops/:slug/webhooks/:id/replay-failed',
      {
        config: { auth: 'editor' },
        schema: {
          tags,
          security,
          summary: 'Replay every failed delivery in a time range',
          description: `After an outage: every message of this endpoint created in [\`since\`, \`until\`] (at most ${MAX_REPLAY_RANGE_DAYS} days) whose delivery failed is sent again with a fresh retry schedule. \`until\` defaults to now.`,
          params: EndpointParams,
          body: Type.Object(
            {
              since: Type.String({ format: 'date-time', examples: ['2026-11-28T00:00:00Z'] }),
              until: Type.Optional(Type.String({ format: 'date-time' })),
            },
            { additionalProperties: false },
          ),
          response: {
            202: Type.Object({
              replayed: Type.Integer({ description: 'How many messages were queued again.' }),
            }),
            ...errorResponses,
            409: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const body = req.body as { since: string; until?: string };
        const since = new Date(body.since);
        const until = body.until ? new Date(body.until) : new Date();
        if (until < since)
          throw new AppError('validation_failed', 'The request is invalid.', [
            { path: '/until', message: 'must not be before since' },
          ]);
        if (until.getTime() - since.getTime() > MAX_REPLAY_RANGE_DAYS * 86_400_000)
          throw new AppError('validation_failed', 'The request is invalid.', [
            { path: '/since', message: `the range may span at most ${MAX_REPLAY_RANGE_DAYS} days` },
          ]);
        const endpoint = await findEndpoint(db, req.shop.id, (req.params as { id: string }).id);
        const replayed = await db.transaction((tx) => replayFailed(tx, endpoint, since, until));
        deps.nudgeWorker?.();
        reply.code(202);
        return { replayed };
      },
    );
  };
}
