import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { ReadyDeps } from '../http/context.js';
import { pickLanguage } from '../resolve/customer-view.js';
import { LANGUAGES } from '../resolve/labels.js';
import { resolveSettingsOf } from '../resolve/settings.js';
import { findShopBySlug, type Shop } from '../shops/shops.js';
import { htmlHeaders, htmlTemplate, notBuilt, serveAssets, WEB_DIST } from './static.js';

export const CUSTOMER_PAGE_DIR = path.join(WEB_DIST, 'resolve');

/** What the page needs before the customer has a session: the shop's name, languages and look. */
export function bootConfig(shop: Shop) {
  const s = resolveSettingsOf(shop);
  return {
    slug: shop.slug,
    name: shop.name,
    default_language: (LANGUAGES as readonly string[]).includes(shop.defaultLanguage)
      ? shop.defaultLanguage
      : 'en',
    languages: LANGUAGES,
    branding: s.branding,
    upload_max_bytes: s.upload_max_bytes,
  };
}

/** JSON inside an HTML <script> element: `<` escaped so no value can close the element. */
const embedJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028|\u2029/g, '');

function frameAncestors(shop: Shop | null): string {
  const origins = shop ? resolveSettingsOf(shop).allowed_origins : [];
  if (origins.includes('*')) return '*';
  return ["'self'", ...origins].join(' ');
}

/** Serves `/resolve/{slug}` (the React page, with the shop's boot data) and its hashed assets. */
export function customerPageRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const template = htmlTemplate('resolve');

  const sendPage = (reply: FastifyReply, shop: Shop | null, slug: string, lang: string) => {
    const html = template();
    if (!html) return notBuilt(reply);
    const boot = shop ? bootConfig(shop) : { slug, name: null, default_language: 'en', languages: LANGUAGES };
    return htmlHeaders(reply.code(shop ? 200 : 404), [
      "img-src 'self' data: blob: https:",
      `frame-ancestors ${frameAncestors(shop)}`,
    ]).send(
      html
        // The language the page will speak (as it picks it: ?lang, the browser's, the shop's), before the script
        // runs: screen readers and translation tools read it from the first byte.
        .replace('<html lang="en">', `<html lang="${lang}">`)
        .replace(
          '<!--boot-->',
          `<script type="application/json" id="resolve-boot">${embedJson(boot)}</script>`,
        ),
    );
  };

  return async (app) => {
    app.get(
      '/resolve/:slug',
      { schema: { hide: true, params: Type.Object({ slug: Type.String({ maxLength: 64 }) }) } },
      async (req, reply) => {
        const { slug } = req.params as { slug: string };
        const shop = await findShopBySlug(deps.database.db, slug);
        const { lang } = req.query as { lang?: unknown };
        const accept = req.headers['accept-language'];
        const picked = shop
          ? pickLanguage(shop, null, typeof lang === 'string' ? lang : undefined, accept)
          : 'en';
        return sendPage(reply, shop, slug, picked);
      },
    );
    serveAssets(app, 'resolve');
  };
}
