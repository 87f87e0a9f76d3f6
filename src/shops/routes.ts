import { eq } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import { shops } from '../db/schema.js';
import type { ReadyDeps } from '../http/context.js';
import { errorResponses, merchantSecurity, Str, StrEnum } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { LANGUAGES } from '../resolve/labels.js';
import type { Shop } from './shops.js';

const Slug = Type.Object({ slug: Type.String({ maxLength: 64 }) });
const ShopView = Type.Object({
  slug: Type.String(),
  name: Type.String(),
  default_language: Type.String({
    description: 'The customer page’s language when neither the link nor the browser decides.',
  }),
  timezone: Type.String({
    description: 'IANA time zone, e.g. Europe/Berlin (analytics buckets days in it).',
  }),
  connector: Type.String({ description: '`headless`, `demo`, or the connected platform.' }),
  created_at: Type.String(),
});

const view = (s: Shop) => ({
  slug: s.slug,
  name: s.name,
  default_language: s.defaultLanguage,
  timezone: s.timezone,
  connector: s.connector,
  created_at: s.createdAt.toISOString(),
});

/** The IANA time zone as the runtime spells it ("europe/berlin" → "Europe/Berlin"); null when unknown. */
function canonicalTimeZone(tz: string): string | null {
  try {
    return new Intl.DateTimeFormat('en', { timeZone: tz.trim() }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The shop itself: its name, default language and time zone. */
export function shopRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  return async (plain) => {
    const app = plain as unknown as App;
    app.get(
      '/v1/shops/:slug',
      {
        config: { auth: 'viewer' },
        schema: {
          tags: ['Shops'],
          security: merchantSecurity,
          summary: 'The shop',
          description:
            'Its `name`, `default_language`, `timezone` and `connector`. Any role (viewer and up); a shop the API key does not cover answers 404 `shop_not_found`, as an unknown slug does.',
          params: Slug,
          response: { 200: ShopView, ...errorResponses },
        },
      },
      async (req) => view(req.shop),
    );
    app.patch(
      '/v1/shops/:slug',
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['Shops'],
          security: merchantSecurity,
          summary: 'Rename the shop, or change its default language or time zone',
          description:
            'Send only what changes (at least one field); the slug never changes. `name` is trimmed and must not be blank (400 `validation_failed` at `/name`); `timezone` must be an IANA time zone (400 `validation_failed` at `/timezone`) and is stored as the IANA database spells it (`europe/berlin` → `Europe/Berlin`). Needs the admin role (403 `forbidden`).',
          params: Slug,
          body: Type.Object(
            {
              name: Type.Optional(Str(200, { minLength: 1 })),
              default_language: Type.Optional(StrEnum(LANGUAGES)),
              timezone: Type.Optional(Str(64, { minLength: 1 })),
            },
            { additionalProperties: false, minProperties: 1 },
          ),
          response: { 200: ShopView, ...errorResponses, 403: Type.Ref('Error') },
        },
      },
      async (req) => {
        const body = req.body as { name?: string; default_language?: string; timezone?: string };
        const name = body.name?.trim();
        if (name === '')
          throw new AppError('validation_failed', 'The shop needs a name.', [
            { path: '/name', message: 'must not be blank' },
          ]);
        const timezone = body.timezone === undefined ? undefined : canonicalTimeZone(body.timezone);
        if (timezone === null)
          throw new AppError('validation_failed', 'Unknown time zone.', [
            { path: '/timezone', message: 'not an IANA time zone' },
          ]);
        const [row] = await db
          .update(shops)
          .set({
            ...(name !== undefined ? { name } : {}),
            ...(body.default_language !== undefined ? { defaultLanguage: body.default_language } : {}),
            ...(timezone !== undefined ? { timezone } : {}),
            updatedAt: new Date(),
          })
          .where(eq(shops.id, req.shop.id))
          .returning();
        return view(row);
      },
    );
  };
}
