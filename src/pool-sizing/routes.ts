import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { pageQuery } from '../http/validate.js';
import { findSite, type Site } from '../sites/store.js';
import { type SizedPool, sizeAndStorePool, storedPoolSizing } from './results.js';
import { type PoolRow, sitePools } from './store.js';

const sizingQuery = z
  .object({
    /** The lease history looked at: the last `days` days up to now. */
    days: z.coerce.number().int().min(1).max(90).default(7),
    /** Share of in-freeze calls that must be attributed to the right visit. */
    target: z.coerce.number().min(0.5).max(0.9999).default(0.99),
    fresh: z
      .enum(['true', 'false'])
      .default('false')
      .describe(
        'true: compute from the lease history now instead of serving a stored result younger than RINGTRACE_SIZING_MAX_AGE_SECONDS',
      ),
  })
  .strict();

const eventsQuery = z
  .object({
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    poolId: z.uuid().optional(),
    ...pageQuery,
  })
  .strict();

const siteParams = z.object({ siteId: z.uuid() });
const poolParams = z.object({ siteId: z.uuid(), poolId: z.uuid() });

/**
 * Pool sizing from the recorded lease history (DESIGN §5): the peak of simultaneously held numbers, the
 * size needed for a target share of in-freeze calls attributed right under the site's exhaustion policy
 * (and the size at which that share of visits finds a free number), a what-if table of pool size × freeze time, and the exhaustion
 * events that signal an under-sized pool. Sizings are stored and served again while young (results.ts).
 */
export function poolSizingRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db } = ctx;

  async function requireSite(accountId: string, siteId: string): Promise<Site> {
    const site = await findSite(db, accountId, siteId);
    if (!site) throw new HttpError(404, 'not_found', `Site ${siteId} not found`);
    return site;
  }

  /**
   * The pool's sizing: the stored one when it matches the request, the pool and the site and is younger than
   * the configured age, otherwise computed now and stored.
   */
  async function sizing(site: Site, pool: PoolRow, query: z.infer<typeof sizingQuery>) {
    const sized: SizedPool = {
      accountId: site.accountId,
      siteId: site.id,
      poolId: pool.id,
      size: pool.size,
      freezeMinutes: site.freezeMinutes,
      exhaustionPolicy: site.exhaustionPolicy,
    };
    const params = { days: query.days, target: query.target };
    const maxAge = ctx.config.sizingMaxAgeSeconds;
    const stored =
      query.fresh === 'true' ? undefined : await storedPoolSizing(db, sized, params, ctx.clock.now(), maxAge);
    const { sizing, computedAt } =
      stored ?? (await sizeAndStorePool(db, ctx.clock, sized, params, maxAge, ctx.clock.now()));
    return {
      poolId: pool.id,
      poolName: pool.name,
      region: pool.region,
      ...sizing,
      computedAt: computedAt.toISOString(),
      cached: stored !== undefined,
    };
  }

  r.get(
    '/api/v1/sites/:siteId/pools/:poolId/sizing',
    { schema: { tags: ['numbers'], params: poolParams, querystring: sizingQuery } },
    async (req) => {
      const site = await requireSite(req.accountId, req.params.siteId);
      const [pool] = await sitePools(db, req.accountId, site.id, req.params.poolId);
      if (!pool) throw new HttpError(404, 'not_found', `Pool ${req.params.poolId} not found`);
      return sizing(site, pool, req.query);
    },
  );

  r.get(
    '/api/v1/sites/:siteId/sizing',
    { schema: { tags: ['numbers'], params: siteParams, querystring: sizingQuery } },
    async (req) => {
      const site = await requireSite(req.accountId, req.params.siteId);
      const pools = await sitePools(db, req.accountId, site.id);
      const items = [];
      for (const pool of pools) items.push(await sizing(site, pool, req.query));
      return {
        siteId: site.id,
        days: req.query.days,
        targetAccuracy: req.query.target,
        undersized: items.some((p) => p.undersized),
        // The oldest pool result: how old the least fresh part of the answer is.
        computedAt: items.map((p) => p.computedAt).sort()[0] ?? null,
        cached: items.length > 0 && items.every((p) => p.cached),
        pools: items,
      };
    },
  );

  r.get(
    '/api/v1/sites/:siteId/pool-events',
    { schema: { tags: ['numbers'], params: siteParams, querystring: eventsQuery } },
    async (req) => {
      const site = await requireSite(req.accountId, req.params.siteId);
      const f = req.query;
      const where = ['e.account_id = $1', 'e.site_id = $2'];
      const params: unknown[] = [req.accountId, site.id];
      const add = (sql: string, value: unknown) => {
        params.push(value);
        where.push(sql.replace('?', `$${params.length}`));
      };
      if (f.from) add('e.at >= ?', new Date(f.from));
      if (f.to) add('e.at < ?', new Date(f.to));
      if (f.poolId) add('e.pool_id = ?', f.poolId);
      const whereSql = where.join(' AND ');
      const total = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pool_exhaustions e WHERE ${whereSql}`,
        params,
      );
      const rows = await db.query(
        `SELECT e.id, 'pool_exhausted' AS type, e.at, e.pool_id, p.name AS pool_name, e.visit_id, e.action
           FROM pool_exhaustions e
           LEFT JOIN pools p ON p.account_id = e.account_id AND p.id = e.pool_id
          WHERE ${whereSql}
          ORDER BY e.at DESC, e.id LIMIT ${f.limit} OFFSET ${f.offset}`,
        params,
      );
      return { total: total[0].n, limit: f.limit, offset: f.offset, items: rows.map((row) => camelize(row)) };
    },
  );
}
