import type { FastifyRequest } from 'fastify';
import type { Role } from '../shops/api-keys.js';

/**
 * Who is calling, as the owner of what they save (saved views): the principal's id — an API key id, or a
 * portal user id once portal sessions authenticate. The one place that decides it.
 */
export function callerId(req: FastifyRequest): string {
  return req.principal?.id ?? req.apiKey.id;
}

/** The caller's role in API terms (viewer < editor < admin). */
export function callerRole(req: FastifyRequest): Role {
  return (req.principal?.role ?? req.apiKey.role) as Role;
}
