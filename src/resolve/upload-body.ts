import type { FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';
import { tooLargeMessage } from './uploads.js';

const fileRequired = (message = 'Send the photo in the field "file".') =>
  new AppError('validation_failed', message, [{ path: '/file', message: 'required: exactly one photo' }]);

/**
 * What went wrong while reading a multipart body, as a 4xx with a stable key: the limits of @fastify/multipart
 * (their codes) and busboy's parse errors (no boundary, a part cut off by an aborted upload, a malformed part
 * header), which carry no status of their own and would otherwise be answered as a 500.
 */
function multipartError(err: unknown, maxBytes: number): AppError {
  if (err instanceof AppError) return err;
  switch ((err as { code?: string }).code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return new AppError('payload_too_large', tooLargeMessage(maxBytes));
    case 'FST_FILES_LIMIT':
      return fileRequired('Send one photo per request.');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_PROTO_VIOLATION':
      return fileRequired('Send only the field "file" with the photo.');
    default:
      return new AppError(
        'invalid_request',
        'The upload is malformed or incomplete (multipart/form-data with the field "file"). Send the photo again.',
      );
  }
}

/**
 * The one photo of an upload request (multipart/form-data, field `file`), read whole. Text fields are ignored
 * (at most 5); a second file, a file in another field, a file over `maxBytes` or a malformed body is refused.
 */
export async function readPhoto(req: FastifyRequest, maxBytes: number): Promise<Buffer> {
  if (!req.isMultipart())
    throw new AppError(
      'unsupported_media_type',
      'Send the photo as multipart/form-data with the field "file".',
    );
  let photo: Buffer | null = null;
  try {
    for await (const part of req.parts({ limits: { fileSize: maxBytes, files: 1, fields: 5, parts: 6 } })) {
      if (part.type !== 'file') continue;
      if (part.fieldname !== 'file') throw fileRequired();
      photo = await part.toBuffer();
    }
  } catch (err) {
    throw multipartError(err, maxBytes);
  }
  if (!photo) throw fileRequired();
  return photo;
}
