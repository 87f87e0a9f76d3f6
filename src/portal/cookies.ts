import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';

/** `__Host-` cookies must be Secure; on plain http (local use) the name drops the prefix. */
export const cookieName = (secure: boolean) => (secure ? '__Host-resolve_portal' : 'resolve_portal');

export function isSecure(config: Config, req: FastifyRequest): boolean {
  return config.publicUrl.startsWith('https://') || req.protocol === 'https';
}

export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      // A value that is not valid percent-encoding (e.g. set by a sibling site) is no cookie of ours.
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function portalCookie(config: Config, req: FastifyRequest): string | undefined {
  return readCookie(req, cookieName(isSecure(config, req)));
}

/** httpOnly (no script reads it), SameSite=Lax (not sent on cross-site POSTs), Secure on HTTPS. */
export function setPortalCookie(
  reply: FastifyReply,
  config: Config,
  req: FastifyRequest,
  value: string,
  maxAgeSeconds: number,
) {
  const secure = isSecure(config, req);
  reply.header(
    'set-cookie',
    `${cookieName(secure)}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`,
  );
}

export function clearPortalCookie(reply: FastifyReply, config: Config, req: FastifyRequest) {
  setPortalCookie(reply, config, req, '', 0);
}
