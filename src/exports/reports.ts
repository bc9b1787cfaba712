// A whole report (every row, no paging) computed exactly as GET /api/v1/reports/{dimension} computes it.
// A report has one row per dimension key, so it is small enough to build in memory.

import type { Db } from '../db/db.js';
import { type Dimension, dimensionSql, FILTERS } from '../reports/dimensions.js';
import { type RawCounts, rawFromRow } from '../reports/metrics.js';
import { buildReportQuery, type ReportFilters, type ReportScope, runReportQuery } from '../reports/query.js';
import { withRollup } from '../reports/rollup.js';
import { buildTable, type SortField, type Table } from '../reports/table.js';

export interface ReportExportQuery {
  from: string;
  to: string;
  sort?: SortField;
  order?: 'asc' | 'desc';
  [filter: string]: unknown;
}

export function reportFilters(q: Record<string, unknown>): ReportFilters {
  const f: ReportFilters = {};
  for (const name of FILTERS) if (typeof q[name] === 'string') f[name] = q[name] as string;
  if (q.class) f.class = q.class as ReportFilters['class'];
  return f;
}

export async function wholeReport(
  db: Db,
  scope: ReportScope,
  dimension: Dimension,
  q: ReportExportQuery,
): Promise<Table> {
  const built = buildReportQuery(
    await withRollup(db, scope),
    dimension,
    { from: q.from, to: q.to },
    reportFilters(q),
  );
  const rows = await runReportQuery(db, built);
  const sort = q.sort ?? (dimensionSql[dimension].time ? 'key' : 'calls');
  // Flags past hasVisits (hasCost, as reports/ grows cost columns) pass through as the reports route passes them.
  const hasCost = Boolean((built as { hasCost?: boolean }).hasCost);
  const fromRow = rawFromRow as (row: Record<string, unknown>, ...flags: boolean[]) => RawCounts;
  return buildTable(
    rows.map((row) => ({ key: row.key as string | number, raw: fromRow(row, built.hasVisits, hasCost) })),
    {
      hasVisits: built.hasVisits,
      ...({ hasCost } as object),
      sort,
      order: q.order ?? (sort === 'key' ? 'asc' : 'desc'),
      limit: Number.MAX_SAFE_INTEGER,
      offset: 0,
    },
  );
}
