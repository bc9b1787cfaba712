import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { CALL_SORTS, callFilterFields, callsWhere, countCalls } from './filters.js';
import { CALL_SELECT, callView } from './view.js';

const listQuery = z
  .object({
    siteId: z.uuid().optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    ...callFilterFields,
    sort: z.enum(Object.keys(CALL_SORTS) as [keyof typeof CALL_SORTS]).default('-startedAt'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
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
      const rows = await ctx.db.query(`${CALL_SELECT} WHERE c.account_id = $1 AND c.id = $2`, [
        req.accountId,
        req.params.id,
      ]);
      if (!rows[0]) throw new HttpError(404, 'not_found', `Call ${req.params.id} not found`);
      const call = callView(rows[0]);
      const [detail] = await ctx.db.query<{ candidates: unknown }>(
        'SELECT candidates FROM calls WHERE account_id = $1 AND id = $2',
        [req.accountId, req.params.id],
      );
      const pages = call.visitId
        ? await ctx.db.query(
            'SELECT url, title, at FROM page_views WHERE account_id = $1 AND visit_id = $2 ORDER BY at',
            [req.accountId, call.visitId],
          )
        : [];
      const previous = call.caller
        ? await ctx.db.query(
            `SELECT id, started_at, status, talk_seconds FROM calls
            WHERE account_id = $1 AND site_id = $2 AND caller = $3 AND started_at < $4 ORDER BY started_at DESC LIMIT 20`,
            [req.accountId, call.siteId, call.caller, call.startedAt],
          )
        : [];
      return {
        ...call,
        candidates: detail.candidates,
        pages: pages.map((p) => camelize(p)),
        previousCalls: previous.map((p) => camelize(p)),
      };
    },
  );
}
