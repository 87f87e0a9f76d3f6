import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import type { ReadyDeps } from '../http/context.js';
import { withSecretOnce } from '../http/idempotency.js';
import { pageRequest, splitPage } from '../http/pagination.js';
import { errorResponses } from '../http/schema-helpers.js';
import { optionalBody } from '../resolve/api-schemas.js';
import {
  DeliveryView,
  EndpointCreate,
  EndpointParams,
  EndpointPatch,
  EndpointView,
  EndpointWithSecret,
  ListMeta,
  RotateBody,
  SlugParams,
  security,
  tags,
} from './api-schemas.js';
import { deliveryView } from './deliveries.js';
import { deliveryRoutes } from './delivery-routes.js';
import { egressPolicy } from './egress-policy.js';
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointInput,
  type EndpointPatch as EndpointPatchT,
  endpointView,
  findEndpoint,
  listEndpoints,
  rotateSecret,
  updateEndpoint,
} from './endpoints.js';
import { createTestMessage } from './messages.js';
import { noticeRoutes } from './notice-routes.js';

const PerPage = {
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  cursor: Type.Optional(
    Type.String({ maxLength: 200, description: '`next_cursor` of the previous answer.' }),
  ),
};

/**
 * Webhook endpoints (SPEC §8, §10, §14). Roles: `viewer` reads; `admin` creates, changes, deletes and rotates
 * (an endpoint decides where customer data goes); `editor` may send tests and replays to an endpoint that exists.
 */
export function webhookRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  const policy = egressPolicy(deps.config.webhooks);

  return async (plain) => {
    const app = plain as unknown as App;

    app.get(
      '/v1/shops/:slug/webhooks',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'List webhook endpoints',
          description: 'Newest first; page with `cursor` (`next_cursor` of the previous answer).',
          params: SlugParams,
          querystring: Type.Object(PerPage, { additionalProperties: false }),
          response: { 200: Type.Object({ data: Type.Array(EndpointView), ...ListMeta }), ...errorResponses },
        },
      },
      async (req) => {
        const page = pageRequest(req.query as { per_page?: number; cursor?: string });
        const rows = await listEndpoints(db, req.shop.id, page.after, page.limit);
        const { rows: pageRows, has_more, next_cursor } = splitPage(rows, page);
        return { data: pageRows.map((r) => endpointView(r)), has_more, next_cursor };
      },
    );

    app.post(
      '/v1/shops/:slug/webhooks',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Create a webhook endpoint',
          description:
            'Events of the shop that match `event_types` and happen from now on are POSTed to `url`, signed per Standard Webhooks with the returned `whsec_` secret (shown only in this answer). Needs an admin key.',
          params: SlugParams,
          body: EndpointCreate,
          response: {
            201: EndpointWithSecret,
            ...errorResponses,
            403: Type.Ref('Error'),
            422: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const { row, secret } = await db.transaction((tx) =>
          createEndpoint(tx, req.shop.id, deps.masterSecret, policy, req.body as EndpointInput),
        );
        reply.code(201).header('cache-control', 'no-store');
        return withSecretOnce(db, req, 201, endpointView(row), secret);
      },
    );

    app.get(
      '/v1/shops/:slug/webhooks/:id',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Get a webhook endpoint',
          description:
            'Its `url`, `event_types`, `status` and delivery health (`disabled_reason`, `failing_since`, `last_success_at`), and whether a previous secret still signs (`previous_secret_expires_at`); never the secret itself, which only creation and rotation answer. Any role (viewer and up). 404 `webhook_endpoint_not_found` for an id not of this shop.',
          params: EndpointParams,
          response: { 200: EndpointView, ...errorResponses },
        },
      },
      async (req) => endpointView(await findEndpoint(db, req.shop.id, (req.params as { id: string }).id)),
    );

    app.patch(
      '/v1/shops/:slug/webhooks/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Change a webhook endpoint',
          description:
            'Send only what changes. `status: "disabled"` stops deliveries (pending messages fail); `"enabled"` resumes them for new events.',
          params: EndpointParams,
          body: EndpointPatch,
          response: { 200: EndpointView, ...errorResponses, 403: Type.Ref('Error') },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const row = await db.transaction((tx) =>
          updateEndpoint(tx, req.shop.id, id, policy, req.body as EndpointPatchT),
        );
        return endpointView(row);
      },
    );

    app.delete(
      '/v1/shops/:slug/webhooks/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Delete a webhook endpoint',
          description: 'With its delivery log. Deliveries in flight finish; nothing else is sent.',
          params: EndpointParams,
          response: { 204: Type.Null(), ...errorResponses, 403: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        await db.transaction((tx) => deleteEndpoint(tx, req.shop.id, (req.params as { id: string }).id));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/shops/:slug/webhooks/:id/rotate-secret',
      {
        config: { auth: 'admin' },
        preValidation: optionalBody,
        schema: {
          tags,
          security,
          summary: 'Rotate the signing secret',
          description:
            'Answers the new secret (once). For `overlap_seconds` (default one day) every delivery carries two signatures, new and old, so receivers can switch over without losing a message; after that only the new secret signs.',
          params: EndpointParams,
          body: Type.Optional(RotateBody),
          response: { 200: EndpointWithSecret, ...errorResponses, 403: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        const { id } = req.params as { id: string };
        const overlap = (req.body as { overlap_seconds?: number } | undefined)?.overlap_seconds ?? 86_400;
        const { row, secret } = await db.transaction((tx) =>
          rotateSecret(tx, req.shop.id, id, deps.masterSecret, overlap),
        );
        reply.header('cache-control', 'no-store');
        return withSecretOnce(db, req, 200, endpointView(row), secret);
      },
    );

    app.post(
      '/v1/shops/:slug/webhooks/:id/test',
      {
        config: { auth: 'editor' },
        preValidation: optionalBody,
        schema: {
          tags,
          security,
          summary: 'Send a test event',
          description:
            'Queues a `webhooks/test` message to this endpoint, signed and retried like any other; follow it in the delivery log.',
          params: EndpointParams,
          body: Type.Optional(Type.Object({}, { additionalProperties: false })),
          response: { 202: DeliveryView, ...errorResponses, 409: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        const endpoint = await findEndpoint(db, req.shop.id, (req.params as { id: string }).id);
        const row = await db.transaction((tx) => createTestMessage(tx, req.shop, endpoint));
        deps.nudgeWorker?.();
        reply.code(202);
        return deliveryView(row);
      },
    );

    await app.register(deliveryRoutes(deps));
    await app.register(noticeRoutes(deps));
  };
}
