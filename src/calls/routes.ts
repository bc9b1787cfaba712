import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { pageQuery } from '../http/validate.js';
import { CALL_SORTS, callFilterFields, callsWhere, countCalls } from './filters.js';
import { CALL_SELECT, callDetail, callView } from './view.js';

const listQuery = z
  .object({
    siteId: z.uuid().optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    ...callFilterFields,
    sort: z.enum(Object.keys(CALL_SORTS) as [keyof typeof CALL_SORTS]).default('-startedAt'),
    ...pageQuery,
  })
  .strict();

export function callRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/v1/calls', { schema: { tags: ['calls'], querystring: listQuery } }, async (req) => {
    const f = req.query;
    const { where, params } = callsWhere(req.accountId, f);
    const whereSql = where.join(' AND ');
    const total = await countCalls(ctx.db, req.accountId, f);
    const rows = await ctx.db.query(
      `${CALL_SELECT} WHERE ${whereSql} ORDER BY ${CALL_SORTS[f.sort]} LIMIT ${f.limit} OFFSET ${f.offset}`,
      params,
    );
    return { total, limit: f.limit, offset: f.offset, items: rows.map(callView) };
  });

  r.get(
    '/api/v1/calls/:id',
    { schema: { tags: ['calls'], params: z.object({ id: z.uuid() }) } },
    async (req) => {
      const detail = await callDetail(ctx.db, req.accountId, req.params.id);
      if (!detail) throw new HttpError(404, 'not_found', `Call ${req.params.id} not found`);
      return detail;
    },
  );
}
