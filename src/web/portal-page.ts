import type { FastifyPluginAsync } from 'fastify';
import { htmlHeaders, htmlTemplate, notBuilt, serveAssets } from './static.js';

/** `/portal` and every path under it: the merchant portal SPA (it signs in through /v1/portal/*). */
export function portalPageRoutes(): FastifyPluginAsync {
  const template = htmlTemplate('portal');
  return async (app) => {
    const page = async (_req: unknown, reply: Parameters<typeof notBuilt>[0]) => {
      const html = template();
      if (!html) return notBuilt(reply);
      // Never framed by other sites (clickjacking); it frames the customer page for previews itself.
      return htmlHeaders(reply, [
        "img-src 'self' data: blob: https:",
        "frame-src 'self'",
        "frame-ancestors 'none'",
      ]).send(html);
    };
    app.get('/portal', { schema: { hide: true } }, page);
    app.get('/portal/*', { schema: { hide: true } }, page);
    serveAssets(app, 'portal');
  };
}
