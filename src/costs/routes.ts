import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sqlConditions } from '../db/conditions.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { findSite } from '../sites/store.js';
import { COST_FORMATS, CostParseError, parseCostFile } from './parse.js';
import { storeCostRows } from './store.js';

const MAX_BODY = 20 * 1024 * 1024;
const BODY_TYPES = [
  'text/csv',
  'text/tab-separated-values',
  'text/plain',
  'application/csv',
  'application/octet-stream',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.ms-excel',
];

const siteParams = z.object({ siteId: z.uuid() });
const localDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD');

export function costRoutes(app: FastifyInstance, ctx: AppContext): void {
  // Own scope: the raw-body parsers below apply to these routes only.
  app.register(async (scope) => {
    scope.removeContentTypeParser('text/plain');
    scope.addContentTypeParser(BODY_TYPES, { parseAs: 'buffer', bodyLimit: MAX_BODY }, (_req, body, done) =>
      done(null, body),
    );
    const r = scope.withTypeProvider<ZodTypeProvider>();

    async function siteOf(accountId: string, siteId: string) {
      const site = await findSite(ctx.db, accountId, siteId);
      if (!site) throw new HttpError(404, 'not_found', `Site ${siteId} not found`);
      return site;
    }

    r.post(
      '/api/v1/sites/:siteId/costs/import',
      {
        bodyLimit: MAX_BODY,
        schema: {
          tags: ['costs'],
          params: siteParams,
          querystring: z.object({ format: z.enum(COST_FORMATS).default('generic') }).strict(),
        },
      },
      async (req, reply) => {
        const site = await siteOf(req.accountId, req.params.siteId);
        const body = req.body;
        if (!Buffer.isBuffer(body))
          throw new HttpError(
            400,
            'invalid_request',
            `body: send the CSV, TSV or XLSX file as the request body`,
          );
        try {
          const rows = await parseCostFile(body, req.query.format, site.currency);
          if (rows.length === 0) throw new HttpError(400, 'invalid_file', 'file: no data rows');
          const stored = await storeCostRows(ctx.db, {
            accountId: req.accountId,
            site,
            format: req.query.format,
            rows,
            now: ctx.clock.now(),
          });
          reply.code(201);
          return { ...stored, siteId: site.id, format: req.query.format };
        } catch (err) {
          if (err instanceof CostParseError)
            throw new HttpError(400, 'invalid_file', err.message, [
              { line: err.line, column: err.column, message: err.reason },
            ]);
          throw err;
        }
      },
    );

    r.get(
      '/api/v1/sites/:siteId/costs',
      {
        schema: {
          tags: ['costs'],
          params: siteParams,
          querystring: z
            .object({
              from: localDate.optional(),
              to: localDate.optional(),
              source: z.string().max(500).optional(),
              medium: z.string().max(500).optional(),
              campaign: z.string().max(500).optional(),
              importId: z.uuid().optional(),
              limit: z.coerce.number().int().min(1).max(1000).default(100),
              offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
            })
            .strict(),
        },
      },
      async (req) => {
        const site = await siteOf(req.accountId, req.params.siteId);
        const f = req.query;
        const { add, params, sql } = sqlConditions(
          ['account_id = $1', 'site_id = $2'],
          [req.accountId, site.id],
        );
        if (f.from) add('date >= ?::date', f.from);
        if (f.to) add('date <= ?::date', f.to);
        if (f.source) add('lower(source) = lower(?)', f.source);
        if (f.medium) add('lower(medium) = lower(?)', f.medium);
        if (f.campaign) add('(lower(campaign) = lower(?) OR campaign_id = ?)', f.campaign);
        if (f.importId) add('import_id = ?', f.importId);
        const w = sql();
        const [totals] = await ctx.db.query<Record<string, unknown>>(
          `SELECT count(*)::int AS n, coalesce(sum(impressions), 0)::float8 AS impressions,
                  coalesce(sum(clicks), 0)::float8 AS clicks, coalesce(sum(cost_minor), 0)::float8 AS cost_minor
             FROM ad_costs WHERE ${w}`,
          params,
        );
        const rows = await ctx.db.query<Record<string, unknown>>(
          `SELECT id, to_char(date, 'YYYY-MM-DD') AS date, channel, source, medium, campaign, ad_group, keyword,
                  campaign_id, impressions::float8 AS impressions, clicks::float8 AS clicks,
                  cost_minor::float8 AS cost_minor, currency, import_id
             FROM ad_costs WHERE ${w}
            ORDER BY date, source, campaign, ad_group, keyword LIMIT ${f.limit} OFFSET ${f.offset}`,
          params,
        );
        return {
          total: totals.n,
          limit: f.limit,
          offset: f.offset,
          totals: {
            impressions: totals.impressions,
            clicks: totals.clicks,
            costMinor: totals.cost_minor,
            currency: site.currency,
          },
          items: rows.map((row) => camelize(row)),
        };
      },
    );

    r.get(
      '/api/v1/sites/:siteId/costs/imports',
      { schema: { tags: ['costs'], params: siteParams } },
      async (req) => {
        const site = await siteOf(req.accountId, req.params.siteId);
        const rows = await ctx.db.query<Record<string, unknown>>(
          `SELECT id, format, connection_id, rows, cost_minor::float8 AS cost_minor, currency, created_at
             FROM ad_cost_imports WHERE account_id = $1 AND site_id = $2 ORDER BY created_at DESC, id LIMIT 500`,
          [req.accountId, site.id],
        );
        return { items: rows.map((row) => camelize(row)) };
      },
    );

    r.delete(
      '/api/v1/sites/:siteId/costs/imports/:importId',
      { schema: { tags: ['costs'], params: siteParams.extend({ importId: z.uuid() }) } },
      async (req, reply) => {
        const site = await siteOf(req.accountId, req.params.siteId);
        const deleted = await ctx.db.tx(async (q) => {
          const imp = await q.query(
            'DELETE FROM ad_cost_imports WHERE account_id = $1 AND site_id = $2 AND id = $3 RETURNING id',
            [req.accountId, site.id, req.params.importId],
          );
          if (imp.length === 0) return null;
          return q.query('DELETE FROM ad_costs WHERE account_id = $1 AND import_id = $2 RETURNING id', [
            req.accountId,
            req.params.importId,
          ]);
        });
        if (!deleted) throw new HttpError(404, 'not_found', `Import ${req.params.importId} not found`);
        reply.code(200);
        return { importId: req.params.importId, deletedRows: deleted.length };
      },
    );
  });
}
