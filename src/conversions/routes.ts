import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { pageQuery } from '../http/validate.js';
import { jobStatusFilter, retryDelivery } from '../jobs/delivery-routes.js';
import { jobViews } from '../jobs/queue.js';
import { findSite } from '../sites/store.js';
import { settingsBody } from './schema.js';
import { conversionJobKinds } from './send.js';
import { DESTINATIONS, saveSettings, settingsView } from './settings.js';

const siteParams = z.object({ siteId: z.uuid() });

const deliveriesQuery = z
  .object({
    callId: z.uuid().optional(),
    leadId: z.uuid().optional(),
    destination: z.enum(DESTINATIONS).optional(),
    status: jobStatusFilter,
    ...pageQuery,
  })
  .strict();

interface ConversionRow {
  id: string;
  destination: string;
  name: string;
  call_id: string | null;
  lead_id: string | null;
  job_id: string;
  created_at: Date;
}

/** Conversions out: the site's rule set and destinations, and the delivery log of every conversion. */
export function conversionRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const kinds = conversionJobKinds(ctx);

  const siteOf = async (accountId: string, siteId: string) => {
    const site = await findSite(ctx.db, accountId, siteId);
    if (!site) throw new HttpError(404, 'not_found', `Site ${siteId} not found`);
    return site;
  };

  r.get(
    '/api/v1/sites/:siteId/conversions',
    { schema: { tags: ['conversions'], params: siteParams } },
    async (req) => {
      await siteOf(req.accountId, req.params.siteId);
      return settingsView(ctx.db, req.accountId, req.params.siteId);
    },
  );

  r.put(
    '/api/v1/sites/:siteId/conversions',
    { schema: { tags: ['conversions'], params: siteParams, body: settingsBody } },
    async (req) => {
      await siteOf(req.accountId, req.params.siteId);
      await ctx.db.tx((q) =>
        saveSettings(q, ctx.secrets, req.accountId, req.params.siteId, req.body, ctx.clock.now()),
      );
      return settingsView(ctx.db, req.accountId, req.params.siteId);
    },
  );

  r.get(
    '/api/v1/sites/:siteId/conversions/deliveries',
    { schema: { tags: ['conversions'], params: siteParams, querystring: deliveriesQuery } },
    async (req) => {
      await siteOf(req.accountId, req.params.siteId);
      const f = req.query;
      const where = ['cv.account_id = $1', 'cv.site_id = $2'];
      const params: unknown[] = [req.accountId, req.params.siteId];
      const add = (col: string, value: unknown) => {
        params.push(value);
        where.push(`${col} = $${params.length}`);
      };
      if (f.callId) add('cv.call_id', f.callId);
      if (f.leadId) add('cv.lead_id', f.leadId);
      if (f.destination) add('cv.destination', f.destination);
      if (f.status) add('j.status', f.status);
      const from = `FROM conversions cv JOIN jobs j ON j.account_id = cv.account_id AND j.id = cv.job_id
        WHERE ${where.join(' AND ')}`;
      const [total] = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n ${from}`, params);
      const rows = await ctx.db.query<ConversionRow>(
        `SELECT cv.id, cv.destination, cv.name, cv.call_id, cv.lead_id, cv.job_id, cv.created_at ${from}
          ORDER BY cv.created_at DESC, cv.id LIMIT ${f.limit} OFFSET ${f.offset}`,
        params,
      );
      const jobs = new Map(
        (await jobViews(ctx.db, req.accountId, [...new Set(rows.map((row) => row.job_id))])).map((j) => [
          j.id,
          j,
        ]),
      );
      return {
        total: total.n,
        limit: f.limit,
        offset: f.offset,
        items: rows.map((row) => ({
          id: row.id,
          destination: row.destination,
          name: row.name,
          callId: row.call_id,
          leadId: row.lead_id,
          createdAt: new Date(row.created_at).toISOString(),
          job: jobs.get(row.job_id),
        })),
      };
    },
  );

  r.post(
    '/api/v1/sites/:siteId/conversions/deliveries/:jobId/retry',
    { schema: { tags: ['conversions'], params: siteParams.extend({ jobId: z.uuid() }) } },
    async (req) => {
      await siteOf(req.accountId, req.params.siteId);
      const owned = await ctx.db.query(
        'SELECT 1 FROM conversions WHERE account_id = $1 AND site_id = $2 AND job_id = $3 LIMIT 1',
        [req.accountId, req.params.siteId, req.params.jobId],
      );
      if (owned.length === 0)
        throw new HttpError(404, 'not_found', `Delivery ${req.params.jobId} not found on this site`);
      return retryDelivery({ db: ctx.db, clock: ctx.clock, kinds }, req.accountId, req.params.jobId);
    },
  );
}
