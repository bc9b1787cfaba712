import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { findSite } from '../sites/store.js';
import { type Dimension, dimensionSql, FILTERS } from './dimensions.js';
import { deriveMetrics, emptyRaw, METRICS, type Metric, pickMetrics, rawFromRow } from './metrics.js';
import { addDays, bucketKeys, type Period, periodDays, previousPeriod } from './period.js';
import { buildReportQuery, type ReportFilters, type ReportScope, runReportQuery } from './query.js';
import { withRollup } from './rollup.js';
import { reportParams, reportQuery, timeseriesQuery } from './schemas.js';
import { buildTable, type Key, type RawRow } from './table.js';

const intervalDimension = { day: 'date', week: 'week', month: 'month' } as const;

export function reportRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  async function scopeOf(accountId: string, siteId: string): Promise<ReportScope> {
    const site = await findSite(ctx.db, accountId, siteId);
    if (!site) throw new HttpError(404, 'not_found', `Site ${siteId} not found`);
    return withRollup(ctx.db, { accountId, siteId, timeZone: site.timeZone });
  }

  /** Rows of the period and, with `previous`, of the comparison period, read in one query. */
  async function rawRows(
    scope: ReportScope,
    dimension: Dimension,
    period: Period,
    filters: ReportFilters,
    previous?: Period,
  ): Promise<{ rows: RawRow[]; previousRows: RawRow[]; hasVisits: boolean; hasCost: boolean }> {
    const q = buildReportQuery(scope, dimension, period, filters, previous);
    const rows: RawRow[] = [];
    const previousRows: RawRow[] = [];
    for (const row of await runReportQuery(ctx.db, q))
      (row.previous ? previousRows : rows).push({
        key: row.key as Key,
        raw: rawFromRow(row, q.hasVisits, q.hasCost),
      });
    return { rows, previousRows, hasVisits: q.hasVisits, hasCost: q.hasCost };
  }

  const filtersOf = (q: ReportFilters & Record<string, unknown>): ReportFilters => {
    const f: ReportFilters = {};
    for (const name of FILTERS) if (q[name] !== undefined) f[name] = q[name];
    if (q.class) f.class = q.class;
    return f;
  };

  // Registered before the parametric route; find-my-way prefers the static path anyway.
  r.get(
    '/api/v1/reports/timeseries',
    { schema: { tags: ['reports'], querystring: timeseriesQuery } },
    async (req) => {
      const q = req.query;
      const names = q.metrics ? q.metrics.split(',') : [...METRICS];
      const unknown = names.find((n) => !(METRICS as readonly string[]).includes(n));
      if (unknown)
        throw new HttpError(
          400,
          'invalid_request',
          `querystring.metrics: unknown metric ${unknown}; one of ${METRICS.join(', ')}`,
        );
      const metrics = names as Metric[];
      const scope = await scopeOf(req.accountId, q.siteId);
      const period = { from: q.from, to: q.to };
      const { rows, hasVisits, hasCost } = await rawRows(
        scope,
        intervalDimension[q.interval],
        period,
        filtersOf(q),
      );
      const byKey = new Map(rows.map((row) => [row.key, row.raw]));
      const points = bucketKeys(period, q.interval).map((bucket) => ({
        bucket,
        ...pickMetrics(deriveMetrics(byKey.get(bucket) ?? emptyRaw(hasVisits, hasCost)), metrics),
      }));
      const totals = buildTable(rows, {
        hasVisits,
        hasCost,
        sort: 'key',
        order: 'asc',
        limit: 0,
        offset: 0,
      }).totals;
      return {
        siteId: scope.siteId,
        timeZone: scope.timeZone,
        period,
        interval: q.interval,
        metrics,
        points,
        totals: pickMetrics(totals, metrics),
      };
    },
  );

  r.get(
    '/api/v1/reports/:dimension',
    { schema: { tags: ['reports'], params: reportParams, querystring: reportQuery } },
    async (req) => {
      const q = req.query;
      const dimension = req.params.dimension;
      const dim = dimensionSql[dimension];
      const scope = await scopeOf(req.accountId, q.siteId);
      const filters = filtersOf(q);
      const period = { from: q.from, to: q.to };
      const prevPeriod = q.compare === 'previous' ? previousPeriod(period) : undefined;
      const current = await rawRows(scope, dimension, period, filters, prevPeriod);
      const sort = q.sort ?? (dim.time ? 'key' : 'calls');
      const order = q.order ?? (sort === 'key' ? 'asc' : 'desc');
      const days = periodDays(period);
      // Calendar rows compare with the row as many days earlier; weeks and months do not line up.
      const previousKey =
        dimension === 'date'
          ? (key: Key) => addDays(String(key), -days)
          : dimension === 'week' || dimension === 'month'
            ? null
            : (key: Key) => key;
      const table = buildTable(current.rows, {
        hasVisits: current.hasVisits,
        hasCost: current.hasCost,
        sort,
        order,
        limit: q.limit,
        offset: q.offset,
        previous: prevPeriod ? current.previousRows : undefined,
        previousKey,
      });
      return {
        dimension,
        siteId: scope.siteId,
        timeZone: scope.timeZone,
        period,
        ...(prevPeriod ? { previousPeriod: prevPeriod } : {}),
        filters,
        sort,
        order,
        limit: q.limit,
        offset: q.offset,
        ...table,
      };
    },
  );
}
