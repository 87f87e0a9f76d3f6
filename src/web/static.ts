import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Built front ends (Vite, `npm run build`): two folders up from src/web and from dist/web alike. */
export const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist-web');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** The app's index.html, re-read only when a new build replaced it (null when the app is not built). */
export function htmlTemplate(app: string): () => string | null {
  const file = path.join(WEB_DIST, app, 'index.html');
  let cached: { mtimeMs: number; html: string } | null = null;
  return () => {
    try {
      const { mtimeMs } = fs.statSync(file);
      if (cached?.mtimeMs !== mtimeMs) cached = { mtimeMs, html: fs.readFileSync(file, 'utf8') };
      return cached.html;
    } catch {
      return null;
    }
  };
}

export function notBuilt(reply: FastifyReply) {
  return reply
    .code(503)
    .type('text/plain; charset=utf-8')
    .send('This page is not built. Run `npm run build` (npm install does it too).');
}

/** Common headers of an app's HTML: never cached, strict CSP (the caller adds frame-ancestors and more). */
export function htmlHeaders(reply: FastifyReply, csp: string[]) {
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header(
      'content-security-policy',
      [
        "default-src 'self'",
        "style-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        ...csp,
      ].join('; '),
    );
}

/** `/static/<app>/…`: the app's hashed assets, gzipped when the client accepts it. */
export function serveAssets(server: FastifyInstance, app: string) {
  const dir = path.join(WEB_DIST, app);
  server.get(`/static/${app}/*`, { schema: { hide: true } }, async (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    const file = path.resolve(dir, rel);
    const type = TYPES[path.extname(file)];
    if (!type || !file.startsWith(dir + path.sep) || !fs.existsSync(file))
      return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    const gz = `${file}.gz`;
    const useGz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && fs.existsSync(gz);
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
}
