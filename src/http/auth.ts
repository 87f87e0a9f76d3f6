import type { FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';
import { portalCookie } from '../portal/cookies.js';
import { userRoleAsApiRole } from '../portal/roles.js';
import { csrfMatches, findPortalSession, membershipRole } from '../portal/sessions.js';
import { type ApiKey, type Role, roleRank, verifyApiKey } from '../shops/api-keys.js';
import { requireShop, type Shop } from '../shops/shops.js';
import type { UserRole } from '../shops/users.js';
import type { AppDeps } from './context.js';

export interface Credentials {
  secret: string;
  username?: string;
}

export function parseAuthorization(header: string | undefined): Credentials | null {
  if (!header) return null;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!value) return null;
  if (/^bearer$/i.test(scheme)) return { secret: value.trim() };
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return null;
    return { username: decoded.slice(0, i) || undefined, secret: decoded.slice(i + 1) };
  }
  return null;
}

const unauthorized = () =>
  new AppError(
    'unauthorized',
    'Missing or invalid API key. Use HTTP Basic (key name : secret) or Authorization: Bearer <secret>.',
    [],
    401,
    {
      'www-authenticate': 'Basic realm="resolve", Bearer',
    },
  );

/**
 * Authenticates the API key, then resolves the shop within the key's scope. A shop the key does not cover
 * answers exactly like a shop that does not exist (404), never 403.
 */
export async function authorizeShop(
  deps: AppDeps,
  req: FastifyRequest,
  slug: string,
  role: Role,
): Promise<{ shop: Shop; key: ApiKey }> {
  const creds = parseAuthorization(req.headers.authorization);
  if (!creds) throw unauthorized();
  const key = await verifyApiKey(deps.database.db, creds.secret, creds.username);
  if (!key) throw unauthorized();
  const shop = await requireShop(deps.database.db, slug);
  if (!key.shopIds.includes(shop.id)) throw new AppError('shop_not_found', `No shop "${slug}".`);
  if (roleRank(key.role as Role) < roleRank(role)) {
    throw new AppError('forbidden', `This needs an API key with the ${role} role; this key is ${key.role}.`);
  }
  req.log = req.log.child({ shop: shop.slug, key: key.id });
  return { shop, key };
}

/** Who is calling a merchant endpoint: an API key, or a portal user through their session cookie. */
export interface Principal {
  type: 'api_key' | 'user';
  id: string;
  /** The role in API terms (a portal agent acts as an editor). */
  role: Role;
  /** Portal users only. */
  userRole?: UserRole;
  email?: string;
  sessionId?: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * An API key in Authorization wins; otherwise the portal session cookie, whose state-changing requests
 * must carry the session's CSRF token in `x-csrf-token`. A shop outside the caller's reach is 404.
 */
export async function authorizeRequest(
  deps: AppDeps,
  req: FastifyRequest,
  slug: string,
  role: Role,
): Promise<{ shop: Shop; principal: Principal; key: ApiKey | null }> {
  if (req.headers.authorization) {
    const { shop, key } = await authorizeShop(deps, req, slug, role);
    return { shop, key, principal: { type: 'api_key', id: key.id, role: key.role as Role } };
  }
  const session = await findPortalSession(deps.database.db, portalCookie(deps.config, req));
  if (!session) throw unauthorized();
  if (
    !SAFE_METHODS.has(req.method) &&
    !csrfMatches(session, req.headers['x-csrf-token'] as string | undefined)
  )
    throw new AppError(
      'csrf_failed',
      'This request lacks the page’s security token. Reload the page and try again.',
    );
  const shop = await requireShop(deps.database.db, slug);
  const membership = await membershipRole(deps.database.db, session.userId, shop.id);
  if (!membership) throw new AppError('shop_not_found', `No shop "${slug}".`);
  const apiRole = userRoleAsApiRole(membership);
  if (roleRank(apiRole) < roleRank(role))
    throw new AppError('forbidden', `Your role (${membership}) cannot do this; ask an admin of the shop.`);
  req.log = req.log.child({ shop: shop.slug, user: session.userId });
  return {
    shop,
    key: null,
    principal: {
      type: 'user',
      id: session.userId,
      role: apiRole,
      userRole: membership,
      email: session.email,
      sessionId: session.id,
    },
  };
}
