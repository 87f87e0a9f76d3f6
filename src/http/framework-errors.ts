import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorBody } from '../lib/errors.js';
import { loggedUrl } from './log-url.js';

/**
 * Errors raised before a request reaches a route (so before the app's error handler), answered in the app's
 * error shape with stable keys: Fastify's router (`frameworkErrors`) and Node's HTTP parser (`clientErrorHandler`).
 */

/** The longest path parameter routed: external ids are ≤ 255 code points, each ≤ 2 UTF-16 units once decoded. */
export const MAX_PARAM_LENGTH = 512;

function routerError(err: FastifyError): AppError {
  switch (err.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // Raised before routing: no route or resource is known yet, so 414 (RFC 9110 §15.5.15), not a 404.
      return new AppError(
        'uri_too_long',
        `A path segment of the URL is longer than any identifier (at most ${MAX_PARAM_LENGTH} characters).`,
      );
    case 'FST_ERR_BAD_URL':
      return new AppError('invalid_request', 'A path segment of the URL is not valid percent-encoded UTF-8.');
    default:
      return new AppError(
        'internal_error',
        'Something went wrong on our side. The error has been logged.',
        [],
        500,
      );
  }
}

/** Fastify's `frameworkErrors`: bad URLs and over-long path parameters found while routing. */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const appErr = routerError(err);
  if (appErr.status >= 500) req.log.error({ err }, 'router error');
  else
    req.log.info(
      { method: req.method, url: loggedUrl(req.url), status: appErr.status, code: err.code },
      'request',
    );
  reply.code(appErr.status).header('x-request-id', req.id).headers(appErr.headers).send(errorBody(appErr));
}

function parserError(err: NodeJS.ErrnoException): AppError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('request_timeout', 'The request was not received completely in time.');
    case 'HPE_HEADER_OVERFLOW':
      return new AppError(
        'request_headers_too_large',
        'The request line and headers are larger than this server accepts.',
      );
    case 'HPE_INVALID_EOF_STATE':
      return new AppError(
        'invalid_request',
        'The connection ended before the whole request arrived (a body shorter than its Content-Length?).',
      );
    default:
      return new AppError(
        'invalid_request',
        `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'}).`,
      );
  }
}

/**
 * Fastify's `clientErrorHandler` (Node's `clientError`: the HTTP parser failed, or the request timed out). There is
 * no request object: the answer is written to the socket, which is then closed. As Node's own handler does, it
 * writes only while no response has started on the socket (a started one would be corrupted: it is cut off).
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  this.log.debug({ err }, 'client error');
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const appErr = parserError(err);
    const body = JSON.stringify(errorBody(appErr));
    socket.write(
      `HTTP/1.1 ${appErr.status} ${STATUS_CODES[appErr.status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
