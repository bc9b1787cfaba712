/**
 * Serves the built dashboard (dashboard/dist, made by `npm run build:dashboard`) at `/`, with a fallback to
 * index.html for the single-page app's own paths. API, widget and webhook paths are never answered with it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const DASHBOARD_DIST = fileURLToPath(new URL('./dist/', import.meta.url));

const notForTheApp = /^\/(api|t|hooks|healthz|rt\.js)(\/|$|\?)/;

export async function serveDashboard(app: FastifyInstance, root = DASHBOARD_DIST): Promise<void> {
  const built = existsSync(`${root}index.html`);
  if (built) {
    await app.register(fastifyStatic, { root, prefix: '/', wildcard: false, index: ['index.html'] });
  }
  app.setNotFoundHandler((req, reply) => {
    const wantsPage = (req.method === 'GET' || req.method === 'HEAD') && !notForTheApp.test(req.url);
    if (!wantsPage) {
      // Fastify's own 404 body.
      return reply
        .code(404)
        .send({ message: `Route ${req.method}:${req.url} not found`, error: 'Not Found', statusCode: 404 });
    }
    if (!built) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built: run `npm run build:dashboard` (npm start does it).');
    }
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', root);
  });
}
