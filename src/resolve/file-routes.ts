import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { ReadyDeps } from '../http/context.js';
import { AppError } from '../lib/errors.js';
import { verifyFileSignature } from './files.js';
import { findUpload } from './uploads.js';

/**
 * Evidence files through short-lived signed URLs (the `url` of a claim's evidence): the link's signature is the
 * permission, so it works for the portal, the API and a helpdesk alike, with no credentials.
 */
export function fileRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  return async (app) => {
    app.get(
      '/v1/files/:id',
      {
        schema: {
          tags: ['Files'],
          summary: 'An evidence file, through a short-lived signed URL',
          description:
            'Takes no credentials: the `exp` and `sig` of the evidence `url` in a claim are the permission, for 15 minutes from when the claim was read. Answers the stored bytes (location metadata removed) with their content type, `cache-control: private, max-age=300` and a sandboxing Content-Security-Policy. A wrong, foreign or expired signature answers 403 `file_link_invalid`; a file no longer stored, 404 `upload_not_found`.',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          querystring: Type.Object({ exp: Type.Integer(), sig: Type.String({ maxLength: 100 }) }),
          response: {
            200: {
              description: 'The file, with its stored content type.',
              content: {
                'image/jpeg': { schema: { type: 'string', format: 'binary' } },
                'image/png': { schema: { type: 'string', format: 'binary' } },
                'image/webp': { schema: { type: 'string', format: 'binary' } },
                'image/heic': { schema: { type: 'string', format: 'binary' } },
              },
            },
            400: Type.Ref('Error'),
            403: Type.Ref('Error'),
            404: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const { id } = req.params as { id: string };
        const { exp, sig } = req.query as { exp: number; sig: string };
        if (!verifyFileSignature(deps.masterSecret, id, exp, sig))
          throw new AppError('file_link_invalid', 'This file link is invalid or has expired.');
        const upload = await findUpload(db, id);
        const data = upload ? await deps.storage.get(upload.storageKey) : null;
        if (!upload || !data) throw new AppError('upload_not_found', 'No such file.');
        reply
          .header('content-type', upload.contentType)
          .header('cache-control', 'private, max-age=300')
          .header('x-content-type-options', 'nosniff')
          .header('content-security-policy', "default-src 'none'; sandbox")
          .header('content-disposition', `inline; filename="${upload.id}"`);
        return reply.send(data);
      },
    );
  };
}
