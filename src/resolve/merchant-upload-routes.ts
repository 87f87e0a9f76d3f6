import multipart from '@fastify/multipart';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import type { ReadyDeps } from '../http/context.js';
import { merchantSecurity } from '../http/schema-helpers.js';
import { findOrderRow } from '../orders/read.js';
import { uploadResponses } from './api-schemas.js';
import { resolveSettingsOf } from './settings.js';
import { readPhoto } from './upload-body.js';
import { createUpload } from './uploads.js';

/**
 * Photos for a claim recorded by the merchant (taken by phone or email): uploaded to the order, then named in the
 * claim's `evidence` (POST /v1/shops/{slug}/claims). Checked like a customer's upload: type by content, size,
 * location metadata removed; removed after 24 hours unless a claim uses it. A customer's claim cannot use them.
 */
export function merchantUploadRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  return async (plain) => {
    const app = plain as unknown as App;
    // In this plugin only: the merchant routes elsewhere take JSON and nothing else.
    await app.register(multipart, { limits: { files: 1, fields: 5, fileSize: 25 * 1024 * 1024, parts: 6 } });

    app.post(
      '/v1/shops/:slug/orders/:id/uploads',
      {
        config: { auth: 'editor' },
        schema: {
          tags: ['Claims'],
          security: merchantSecurity,
          summary: 'Upload a photo for a claim you record (multipart, field `file`)',
          description:
            'For claims taken by phone or email: the photo the customer sent you. JPEG, PNG, WebP or HEIC, decided by the content; at most the shop’s upload limit (default 10 MB); location metadata removed. Name it in `evidence: [{upload_id, kind}]` of POST /v1/shops/{slug}/claims for this order within 24 hours; after that, or once used by a claim, it cannot be used again. `{id}` is the Resolve order id or the `external_id`. A customer’s claim cannot use it.',
          params: Type.Object({ slug: Type.String(), id: Type.String({ maxLength: 255 }) }),
          consumes: ['multipart/form-data'],
          response: uploadResponses,
        },
      },
      async (req, reply) => {
        const { id } = req.params as { id: string };
        const order = await findOrderRow(db, req.shop.id, id);
        const maxBytes = resolveSettingsOf(req.shop).upload_max_bytes;
        const buf = await readPhoto(req, maxBytes);
        const upload = await createUpload(
          db,
          deps.storage,
          { shopId: req.shop.id, orderId: order.id, id: null },
          buf,
          maxBytes,
        );
        return reply.code(201).send(upload);
      },
    );
  };
}
