import type { FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';
import { type ApiKey, type Role, roleRank, verifyApiKey } from '../shops/api-keys.js';
import { requireShop, type Shop } from '../shops/shops.js';
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
