import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { ReadyDeps } from '../http/context.js';
import { LANGUAGES } from '../resolve/labels.js';
import { resolveSettingsOf } from '../resolve/settings.js';
import { findShopBySlug, type Shop } from '../shops/shops.js';

/** The built customer page (Vite, `npm run build`): two folders up from src/web and from dist/web alike. */
export const CUSTOMER_PAGE_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'dist-web',
  'resolve',
);
const ASSET_PREFIX = '/static/resolve/';
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

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
  let template: string | null = null;
  const loadTemplate = () => {
    if (template === null) {
      try {
        template = fs.readFileSync(path.join(CUSTOMER_PAGE_DIR, 'index.html'), 'utf8');
      } catch {
        return null;
      }
    }
    return template;
  };

  const sendPage = (reply: FastifyReply, shop: Shop | null, slug: string) => {
    const html = loadTemplate();
    if (!html)
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The customer page is not built. Run `npm run build` (npm install does it too).');
    const boot = shop ? bootConfig(shop) : { slug, name: null, default_language: 'en', languages: LANGUAGES };
    return reply
      .code(shop ? 200 : 404)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
      .header(
        'content-security-policy',
        [
          "default-src 'self'",
          "img-src 'self' data: blob: https:",
          "style-src 'self'",
          "script-src 'self'",
          "connect-src 'self'",
          "base-uri 'none'",
          "form-action 'self'",
          `frame-ancestors ${frameAncestors(shop)}`,
        ].join('; '),
      )
      .send(
        html.replace(
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
        return sendPage(reply, await findShopBySlug(deps.database.db, slug), slug);
      },
    );

    app.get(`${ASSET_PREFIX}*`, { schema: { hide: true } }, async (req, reply) => {
      const rel = (req.params as { '*': string })['*'];
      const file = path.resolve(CUSTOMER_PAGE_DIR, rel);
      const type = TYPES[path.extname(file)];
      if (!type || !file.startsWith(CUSTOMER_PAGE_DIR + path.sep) || !fs.existsSync(file))
        return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
      const gz = `${file}.gz`;
      const wantsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const useGz = wantsGzip && fs.existsSync(gz);
      reply
        .type(type)
        .header('vary', 'Accept-Encoding')
        .header('x-content-type-options', 'nosniff')
        // Vite names assets by content hash, so a name never changes meaning.
        .header(
          'cache-control',
          /-[A-Za-z0-9_-]{8,}\./.test(rel) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      if (useGz) reply.header('content-encoding', 'gzip');
      return reply.send(fs.createReadStream(useGz ? gz : file));
    });
  };
}
