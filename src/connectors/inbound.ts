import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import { platformEvents } from '../db/schema.js';
import type { ReadyDeps } from '../http/context.js';
import { errorResponses } from '../http/schema-helpers.js';
import { unstorableTextPath } from '../http/validation.js';
import { enqueue } from '../jobs/queue.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { clientFor, defaultPlatformDeps, findConnectionUnscoped } from './connections.js';

const MAX_BODY = 5 * 1024 * 1024;

/**
 * Inbound platform webhooks (DESIGN convention 9): verify on the raw body → de-duplicate on the platform's event
 * id → store → enqueue → answer fast. A forged call is 401 and leaves no trace; a replay answers 200 and
 * changes nothing.
 */
export function inboundWebhookRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  return async (plain) => {
    const app = plain as unknown as App;
    // This scope reads every body as bytes: the signature covers the exact bytes the platform sent.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY }, (_req, body, done) =>
      done(null, body),
    );

    app.post(
      '/v1/connectors/:connectionId/webhooks',
      {
        bodyLimit: MAX_BODY,
        schema: {
          tags: ['Shop connection'],
          summary: 'Receives the platform’s webhooks (register the connection’s `webhook_url`)',
          description:
            'Called by the platform, not by integrators; PUT …/connection registers the URL where the platform supports it. The exact body is verified with the platform’s signature: an unknown connection id and a missing or wrong signature both answer 401 `webhook_signature_invalid`, and nothing is stored. A verified event is stored once per platform event id (a repeat answers `duplicate: true` and changes nothing) and queued: the worker reads the order again from the platform and imports it. Bodies up to 5 MB (413 `payload_too_large`).',
          params: Type.Object({ connectionId: Type.String({ maxLength: 64 }) }),
          response: {
            200: Type.Object({ received: Type.Boolean(), duplicate: Type.Boolean() }),
            ...errorResponses,
            413: Type.Ref('Error'),
          },
        },
      },
      async (req) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const forged = () =>
          new AppError('webhook_signature_invalid', 'The webhook signature is missing or wrong.', [], 401);
        const row = await findConnectionUnscoped(db, (req.params as { connectionId: string }).connectionId);
        // An unknown connection answers like a bad signature: nothing to learn by probing ids.
        if (!row) throw forged();
        const client = await clientFor(deps.masterSecret, row, defaultPlatformDeps(deps.config, req.log));
        const hook = client.verifyWebhook?.(raw, req.headers) ?? null;
        if (!hook) throw forged();
        let payload: unknown;
        try {
          payload = JSON.parse(raw.toString('utf8'));
        } catch {
          payload = null;
        }
        // Kept as bytes when it is not JSON the database can store (jsonb refuses NUL, for one).
        if (payload === null || unstorableTextPath(payload)) payload = { raw_base64: raw.toString('base64') };
        const duplicate = await db.transaction(async (tx) => {
          const [inserted] = await tx
            .insert(platformEvents)
            .values({
              id: newId('pev'),
              shopId: row.shopId,
              connectionId: row.id,
              eventId: hook.eventId,
              topic: hook.topic,
              orderExternalId: hook.orderExternalId,
              payload,
            })
            .onConflictDoNothing()
            .returning({ id: platformEvents.id });
          if (!inserted) return true;
          await enqueue(tx, 'connector.webhook', { eventId: inserted.id }, { shopId: row.shopId });
          return false;
        });
        if (!duplicate) deps.nudgeWorker?.();
        return { received: true, duplicate };
      },
    );
  };
}
