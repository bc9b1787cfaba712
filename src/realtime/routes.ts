import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { findSite } from '../sites/store.js';
import type { CallStreamHub } from './call-stream.js';

/** Comment lines keep idle proxies from closing the stream. */
const KEEPALIVE_MS = 25_000;

export function realtimeRoutes(app: FastifyInstance, ctx: AppContext, hub: CallStreamHub): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/stream/calls',
    {
      schema: {
        tags: ['calls'],
        summary: 'Server-sent events: a caller card for every new or changed call (event "call")',
        querystring: z.object({ siteId: z.uuid().optional() }).strict(),
      },
    },
    async (req, reply) => {
      const siteId = req.query.siteId ?? null;
      if (siteId && !(await findSite(ctx.db, req.accountId, siteId))) {
        throw new HttpError(404, 'not_found', `Site ${siteId} not found`);
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 3000\n: connected\n\n');
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
      const unsubscribe = await hub.subscribe({
        accountId: req.accountId,
        siteId,
        send: (card) => res.write(`id: ${card.id}\nevent: call\ndata: ${JSON.stringify(card)}\n\n`),
        end: () => res.end(),
      });
      req.raw.once('close', () => {
        clearInterval(keepalive);
        unsubscribe();
      });
    },
  );
}
