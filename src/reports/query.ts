// Builds the SQL of one report: visits and calls grouped by a dimension over one local-date period.
// Pure: returns text and parameters; every user value is a parameter, every expression comes from
// dimensions.ts.
//
// Both halves filter on (account_id, site_id, started_at), the leading columns of visits_site_time and
// calls_site_time, with the period's bounds computed once from the site's time zone. At the scale of
// issue 4's speed target the visits half should read a daily rollup keyed by
// (account_id, site_id, local_date, hour, channel, source, medium, campaign, keyword, content,
// landing_path, region, city, device, number) instead of raw visits; the calls half stays raw
// (calls are ~5% of visits) or reads a matching rollup.

import { type CallClass, CLASS_COLUMNS } from '../calls/classify.js';
import { type Dimension, dimensionSql, FILTERS, type Filter } from './dimensions.js';
import { RAW_FIELDS } from './metrics.js';
import type { Period } from './period.js';

export interface ReportScope {
  accountId: string;
  siteId: string;
  timeZone: string;
}

export type ReportFilters = Partial<Record<Filter, string>> & { class?: CallClass };

export interface BuiltQuery {
  sql: string;
  params: unknown[];
  /** Whether the rows carry a visits count (false: the dimension has no visits, e.g. employee). */
  hasVisits: boolean;
}

const inPeriod = (col: string) =>
  `${col} >= ($4::date)::timestamp AT TIME ZONE $3 AND ${col} < ($5::date + 1)::timestamp AT TIME ZONE $3`;

const callSums = `count(*)::int AS "calls",
    count(*) FILTER (WHERE c.is_unique)::int AS "unique",
    count(*) FILTER (WHERE c.is_targeted)::int AS "targeted",
    count(*) FILTER (WHERE c.is_unique_targeted)::int AS "unique_targeted",
    count(*) FILTER (WHERE c.is_first_targeted)::int AS "first_targeted",
    count(*) FILTER (WHERE c.is_repeat)::int AS "repeat",
    count(*) FILTER (WHERE c.is_missed)::int AS "missed",
    count(c.answered_at)::int AS "answered",
    coalesce(sum(c.wait_seconds) FILTER (WHERE c.answered_at IS NOT NULL), 0)::float8 AS "wait_sum",
    count(c.wait_seconds) FILTER (WHERE c.answered_at IS NOT NULL)::int AS "wait_n",
    coalesce(sum(c.talk_seconds) FILTER (WHERE c.answered_at IS NOT NULL), 0)::float8 AS "talk_sum",
    count(c.talk_seconds) FILTER (WHERE c.answered_at IS NOT NULL)::int AS "talk_n"`;

const callColumns = RAW_FIELDS.filter((f) => f !== 'visits')
  .map((c) => `coalesce(cal."${c}", 0) AS "${c}"`)
  .join(', ');

/** One row per dimension key: `key`, `visits` (or null), and the call sums of metrics.ts's RawCounts. */
export function buildReportQuery(
  scope: ReportScope,
  dimension: Dimension,
  period: Period,
  filters: ReportFilters,
): BuiltQuery {
  const dim = dimensionSql[dimension];
  const params: unknown[] = [scope.accountId, scope.siteId, scope.timeZone, period.from, period.to];
  const visitWhere = ['v.account_id = $1', 'v.site_id = $2', inPeriod('v.started_at'), 'NOT v.is_bot'];
  const callWhere = ['c.account_id = $1', 'c.site_id = $2', inPeriod('c.started_at')];
  for (const name of FILTERS) {
    const value = filters[name];
    if (value === undefined) continue;
    params.push(value);
    const expr = dimensionSql[name];
    visitWhere.push(`${expr.visit} = $${params.length}`);
    callWhere.push(`${expr.call} = $${params.length}`);
  }
  if (filters.class) callWhere.push(`c.${CLASS_COLUMNS[filters.class]}`);

  const calls = `SELECT ${dim.call} AS key, ${callSums}
    FROM calls c
    LEFT JOIN visits cv ON cv.account_id = c.account_id AND cv.id = c.visit_id
    LEFT JOIN static_rules sr ON sr.account_id = c.account_id AND sr.id = c.static_rule_id
   WHERE ${callWhere.join(' AND ')}
   GROUP BY 1`;

  if (dim.visit === null) {
    return {
      sql: `WITH cal AS (${calls}) SELECT key, NULL::int AS visits, ${callColumns} FROM cal`,
      params,
      hasVisits: false,
    };
  }
  const numberJoin = dim.visitNumber
    ? `LEFT JOIN numbers vn ON vn.account_id = v.account_id AND vn.id = v.number_id
       JOIN sites vs ON vs.account_id = v.account_id AND vs.id = v.site_id`
    : '';
  const visits = `SELECT ${dim.visit} AS key, count(*)::int AS visits
    FROM visits v ${numberJoin}
   WHERE ${visitWhere.join(' AND ')}
   GROUP BY 1`;
  return {
    sql: `WITH vis AS (${visits}), cal AS (${calls})
      SELECT key, coalesce(vis.visits, 0) AS visits, ${callColumns}
        FROM vis FULL JOIN cal USING (key)`,
    params,
    hasVisits: true,
  };
}
