// Builds the SQL of one report: visits, calls and leads grouped by a dimension over one local-date period,
// or over a period and the comparison period before it. Pure: returns text and parameters; every user value
// is a parameter, every expression comes from dimensions.ts.
//
// Every half filters on (account_id, site_id, started_at), the leading columns of visits_site_time and
// calls_site_time, with the range's bounds computed once from the site's time zone. Where the scope has
// a daily rollup (rollup.ts) and the dimension and filters have rollup columns, the visits half reads
// visit_daily_key_totals or visit_daily_keys (a keyed dimension, unfiltered or by channel), visit_daily (or
// the smaller visit_daily_sources when the dimension and filters are traffic sources or calendar keys) or
// visit_daily_numbers for the days before `rolledTo` and raw visits from that day on. The calls and leads
// halves stay raw (calls are ~5% of visits, leads 0.5%) and read the visit fields copied onto each call and
// lead, never joining visits; call-level dimensions simply have no rollup expression.

import { type CallClass, CLASS_COLUMNS } from '../calls/classify.js';
import type { Db } from '../db/db.js';
import { type Dimension, dimensionSql, FILTERS, type Filter } from './dimensions.js';
import { RAW_FIELDS } from './metrics.js';
import { addDays, type Period } from './period.js';

export interface ReportScope {
  accountId: string;
  siteId: string;
  timeZone: string;
  /** First local day not in the site's visit rollup ("YYYY-MM-DD"); null or absent: raw visits only. */
  rolledTo?: string | null;
}

export type ReportFilters = Partial<Record<Filter, string>> & { class?: CallClass };

export interface BuiltQuery {
  sql: string;
  params: unknown[];
  /** Whether the rows carry a visits count (false: the dimension has no visits, e.g. employee). */
  hasVisits: boolean;
  /** Whether the rows carry ad costs (false: the dimension or a filter cannot be joined to costs). */
  hasCost: boolean;
}

/** Won deals per call or lead, in minor units. */
const wonDeals = (col: 'call_id' | 'lead_id') =>
  `(SELECT ${col}, sum(amount_minor) AS won FROM deals
     WHERE account_id = $1 AND site_id = $2 AND status = 'won' AND ${col} IS NOT NULL GROUP BY ${col})`;

/**
 * Ad-cost rows of the range as CTE `kc`, spelled like the visits they match: a cost row matches visits
 * of its period (CTE `vk`, both with `previous` as computed by `previousOf` over the row's date) with the same
 * source, medium and campaign compared case-insensitively, or whose utm_campaign is the cost row's campaign id;
 * it then takes the visits' channel and spelling, so both land in one report row. Unmatched cost rows keep
 * their own values and the channel their UTM values would give a visit. The match depends only on a row's
 * period, lowercased source, medium, campaign and its campaign id, so it is looked up once per distinct such
 * tuple (`km`, ~100 in a 90-day period), not per cost row (9,000), and joined back. Materialized: without
 * statistics (a new site) the planner would otherwise nest it in the join and rerun every lookup per cost row
 * (11 s for 9,000 rows on PGlite).
 */
const costRows = (
  previousOf: string,
) => `kp AS (SELECT date, impressions, clicks, cost_minor, keyword, channel, source,
                  medium, campaign, campaign_id, ${previousOf} AS previous, lower(source) AS ls, lower(medium) AS lm,
                  lower(campaign) AS lc FROM ad_costs
           WHERE account_id = $1 AND site_id = $2 AND date >= $4::date AND date <= $5::date),
         km AS MATERIALIZED (SELECT t.previous, t.ls, t.lm, t.lc, t.campaign_id, m.channel, m.source, m.medium, m.campaign
                  FROM (SELECT DISTINCT previous, ls, lm, lc, campaign_id FROM kp) t
                  JOIN LATERAL (
                    SELECT vk.channel, vk.source, vk.medium, vk.campaign FROM vk
                     WHERE vk.previous = t.previous AND vk.ls = t.ls AND vk.lm = t.lm
                       AND (vk.lc = t.lc OR vk.campaign = t.campaign_id)
                     ORDER BY (vk.lc = t.lc) DESC, vk.campaign LIMIT 1) m ON true),
         kc AS (SELECT k.previous, k.date, k.impressions, k.clicks, k.cost_minor, nullif(k.keyword, '') AS keyword,
                       coalesce(m.channel, k.channel) AS channel, coalesce(m.source, k.source) AS source,
                       coalesce(m.medium, k.medium) AS medium, coalesce(m.campaign, k.campaign) AS campaign
                  FROM kp k
                  LEFT JOIN km m ON m.previous = k.previous AND m.ls = k.ls AND m.lm = k.lm AND m.lc = k.lc
                   AND m.campaign_id IS NOT DISTINCT FROM k.campaign_id)`;

/** `from` defaults to the range's first day; the rollup split starts raw rows at a later day. */
const inPeriod = (col: string, from = '$4::date') =>
  `${col} >= (${from})::timestamp AT TIME ZONE $3 AND ${col} < ($5::date + 1)::timestamp AT TIME ZONE $3`;

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

const CALL_FIELDS = RAW_FIELDS.filter(
  (f) => !['visits', 'leads', 'revenue', 'cost', 'impressions', 'clicks'].includes(f),
);
const callColumns = CALL_FIELDS.map((c) => `coalesce(cal."${c}", 0) AS "${c}"`).join(', ');

/**
 * One row per dimension key and period: `key`, `previous` (whether the row is of the comparison period),
 * `visits` (or null) and the call sums of metrics.ts's RawCounts. `previous` must end the day before `period`
 * begins (period.ts's previousPeriod): both periods are read as one range and told apart per row, so every
 * table is scanned once for both (calls and the rollups are read by sequential scans whatever the period).
 */
export function buildReportQuery(
  scope: ReportScope,
  dimension: Dimension,
  period: Period,
  filters: ReportFilters,
  previous?: Period,
): BuiltQuery {
  if (previous && addDays(previous.to, 1) !== period.from)
    throw new Error(`comparison period ${previous.from}..${previous.to} does not end before ${period.from}`);
  const dim = dimensionSql[dimension];
  const rangeFrom = previous?.from ?? period.from;
  const params: unknown[] = [scope.accountId, scope.siteId, scope.timeZone, rangeFrom, period.to];
  const visitWhere = ['v.account_id = $1', 'v.site_id = $2', 'NOT v.is_bot'];
  const callWhere = ['c.account_id = $1', 'c.site_id = $2', inPeriod('c.started_at')];
  const visitFilters: string[] = [];
  const leadFilters: string[] = [];
  // Filters on a field visit_daily lacks send the visits half to raw rows (or visit_daily_keys).
  let rollupFilters: string[] | null = [];
  const filterParams: Partial<Record<Filter, number>> = {};
  // Filters on a field cost rows lack (region, device) leave the report without costs.
  let costFilters: string[] | null = [];
  for (const name of FILTERS) {
    const value = filters[name];
    if (value === undefined) continue;
    params.push(value);
    filterParams[name] = params.length;
    const expr = dimensionSql[name];
    visitFilters.push(`${expr.visit} = $${params.length}`);
    leadFilters.push(`${expr.lead} = $${params.length}`);
    callWhere.push(`${expr.call} = $${params.length}`);
    if (expr.rollup === undefined) rollupFilters = null;
    else rollupFilters?.push(`${expr.rollup} = $${params.length}`);
    if (expr.cost === undefined) costFilters = null;
    else costFilters?.push(`${expr.cost} = $${params.length}`);
  }
  visitWhere.push(...visitFilters);
  if (filters.class) callWhere.push(`c.${CLASS_COLUMNS[filters.class]}`);
  // Whether a row of a timestamp (local day) column is of the comparison period.
  const current = previous ? `$${params.push(period.from)}::date` : null;
  const before = (col: string) => (current ? `(${col} < (${current})::timestamp AT TIME ZONE $3)` : 'false');
  const dayBefore = (col: string) => (current ? `(${col} < ${current})` : 'false');

  // Calls carry their visit's report fields (dimensions.ts), so only the static rule is joined.
  // Revenue is summed in its own subquery over the won deals' raw rows, not over deals aggregated per call:
  // with a filter the planner expects one matching call, and an aggregate on the inner side of its nested
  // loop was recomputed for every call (34 s, then 15 s at 1 M visits, BENCHMARKS.md); raw rows are probed
  // through the deals_call index instead. Reading the calls once into a materialized CTE for both was slower
  // over 90 days (BENCHMARKS.md, session 4).
  const callJoins = 'LEFT JOIN static_rules sr ON sr.account_id = c.account_id AND sr.id = c.static_rule_id';
  const callKeys = `${dim.call} AS key, ${before('c.started_at')} AS previous`;
  const calls = `SELECT cs.*, coalesce(cr.revenue, 0)::float8 AS revenue FROM (
      SELECT ${callKeys}, ${callSums} FROM calls c ${callJoins}
       WHERE ${callWhere.join(' AND ')} GROUP BY 1, 2) cs
    LEFT JOIN (
      SELECT ${callKeys}, sum(d.amount_minor) AS revenue FROM calls c
        JOIN deals d ON d.account_id = c.account_id AND d.call_id = c.id AND d.site_id = $2 AND d.status = 'won'
        ${callJoins}
       WHERE ${callWhere.join(' AND ')} GROUP BY 1, 2) cr USING (key, previous)`;

  if (dim.visit === null) {
    return {
      sql: `WITH cal AS (${calls})
        SELECT key, previous, NULL::int AS visits, ${callColumns}, NULL::int AS leads,
               coalesce(cal.revenue, 0) AS revenue, NULL::float8 AS cost, NULL::float8 AS impressions,
               NULL::float8 AS clicks
          FROM cal`,
      params,
      hasVisits: false,
      hasCost: false,
    };
  }
  const numberJoin = dim.visitNumber
    ? `LEFT JOIN numbers vn ON vn.account_id = v.account_id AND vn.id = v.number_id
       JOIN sites vs ON vs.account_id = v.account_id AND vs.id = v.site_id`
    : '';
  // Days before `rolledTo` come from a rollup, the rest from raw visits: the split is a local midnight.
  const rolledTo = scope.rolledTo && scope.rolledTo > rangeFrom ? scope.rolledTo : null;
  let splitParam = 0;
  const split = () => {
    if (!splitParam) splitParam = params.push(rolledTo);
    return `$${splitParam}::date`;
  };
  const rolledDays = (a: string) =>
    `${a}.account_id = $1 AND ${a}.site_id = $2 AND ${a}.day >= $4::date AND ${a}.day <= $5::date AND ${a}.day < ${split()}`;
  const rawFrom = () => (rolledTo ? `greatest($4::date, ${split()})` : '$4::date');
  const onlyChannel = Object.keys(filterParams).every((f) => f === 'channel');
  let rolledVisits: string | null = null;
  if (rolledTo && dim.keyedRollup && onlyChannel) {
    // Unfiltered reports read the keys summed over channel.
    const channel = filterParams.channel ? ` AND dk.channel = $${filterParams.channel}` : '';
    rolledVisits = `SELECT ${dim.keyedRollup} AS key, ${dayBefore('dk.day')} AS previous, sum(dk.visits)::int AS visits
      FROM ${channel ? 'visit_daily_keys' : 'visit_daily_key_totals'} dk
      WHERE ${rolledDays('dk')} AND dk.dimension = '${dimension}'${channel} GROUP BY 1, 2`;
  } else if (rolledTo && dim.rollup !== undefined && rollupFilters !== null) {
    const sourcesOnly =
      dim.sourcesRollup && Object.keys(filterParams).every((f) => dimensionSql[f as Filter].sourcesRollup);
    rolledVisits = `SELECT ${dim.rollup} AS key, ${dayBefore('vd.day')} AS previous, sum(vd.visits)::int AS visits
      FROM ${sourcesOnly ? 'visit_daily_sources' : 'visit_daily'} vd
      WHERE ${[rolledDays('vd'), ...rollupFilters].join(' AND ')} GROUP BY 1, 2`;
  } else if (rolledTo && dim.numberRollup && onlyChannel) {
    const channel = filterParams.channel ? ` AND v.channel = $${filterParams.channel}` : '';
    rolledVisits = `SELECT ${dim.visit} AS key, ${dayBefore('v.day')} AS previous, sum(v.visits)::int AS visits
      FROM visit_daily_numbers v ${numberJoin}
      WHERE ${rolledDays('v')}${channel} GROUP BY 1, 2`;
  }
  const rawVisits = (from: string) => `SELECT ${dim.visit} AS key, ${before('v.started_at')} AS previous,
         count(*)::int AS visits
    FROM visits v ${numberJoin}
   WHERE ${[...visitWhere, inPeriod('v.started_at', from)].join(' AND ')}
   GROUP BY 1, 2`;
  const visits = rolledVisits
    ? `SELECT key, previous, sum(visits)::int AS visits
         FROM (${rolledVisits} UNION ALL ${rawVisits(rawFrom())}) u GROUP BY key, previous`
    : rawVisits('$4::date');
  // Leads count in the period of their creation, under their visit's dimensions: the copies of its fields
  // they carry (dimensions.ts); only keys of the visit's number join the visit.
  const leadWhere = ['l.account_id = $1', 'l.site_id = $2', inPeriod('l.created_at'), ...leadFilters];
  const leads = `SELECT ${dim.lead ?? dim.visit} AS key, ${before('l.created_at')} AS previous,
         count(*)::int AS leads, coalesce(sum(dl.won), 0)::float8 AS revenue
    FROM leads l
    ${dim.lead ? '' : `JOIN visits v ON v.account_id = l.account_id AND v.id = l.visit_id ${numberJoin}`}
    LEFT JOIN ${wonDeals('lead_id')} dl ON dl.lead_id = l.id
   WHERE ${leadWhere.join(' AND ')}
   GROUP BY 1, 2`;
  const hasCost = dim.cost !== undefined && costFilters !== null;
  const costs = hasCost
    ? // Materialized: inlined into costRows' LATERAL, it would rescan the range's visits per cost row.
      `, vk AS MATERIALIZED (SELECT DISTINCT previous, channel, source, medium, campaign,
                lower(source) AS ls, lower(medium) AS lm, lower(campaign) AS lc FROM (${
                  rolledTo
                    ? `SELECT ${dayBefore('vd.day')} AS previous, vd.channel, vd.source, vd.medium, vd.campaign
                 FROM visit_daily_sources vd WHERE ${rolledDays('vd')}
             UNION ALL `
                    : ''
                }SELECT ${before('v.started_at')} AS previous, v.channel, v.source, v.medium, v.campaign FROM visits v
                 WHERE v.account_id = $1 AND v.site_id = $2 AND ${inPeriod('v.started_at', rawFrom())} AND NOT v.is_bot) u
                WHERE source IS NOT NULL AND medium IS NOT NULL AND campaign IS NOT NULL),
         ${costRows(dayBefore('date'))},
         cst AS (SELECT ${dim.cost} AS key, kc.previous, sum(kc.cost_minor)::float8 AS cost,
                        sum(kc.impressions)::float8 AS impressions, sum(kc.clicks)::float8 AS clicks
                   FROM kc
                  ${costFilters?.length ? `WHERE ${costFilters.join(' AND ')}` : ''}
                  GROUP BY 1, 2)`
    : '';
  return {
    sql: `WITH vis AS (${visits}), cal AS (${calls}), led AS (${leads})${costs}
      SELECT key, previous, coalesce(vis.visits, 0) AS visits, ${callColumns}, coalesce(led.leads, 0) AS leads,
             coalesce(cal.revenue, 0) + coalesce(led.revenue, 0) AS revenue,
             ${hasCost ? 'coalesce(cst.cost, 0) AS cost, coalesce(cst.impressions, 0) AS impressions, coalesce(cst.clicks, 0) AS clicks' : 'NULL::float8 AS cost, NULL::float8 AS impressions, NULL::float8 AS clicks'}
        FROM vis FULL JOIN cal USING (key, previous) FULL JOIN led USING (key, previous)${hasCost ? ' FULL JOIN cst USING (key, previous)' : ''}`,
    params,
    hasVisits: true,
    hasCost,
  };
}

/**
 * Runs a report query with PostgreSQL's JIT compilation off. The cost-row LATERAL makes the planner's
 * estimate pass jit_above_cost, and compiling the query then took 1–15 s where running it takes well under
 * a second (BENCHMARKS.md, "Reports at 1 M visits"). Statements run prepared (src/db/db.ts), and a report's
 * best plan depends on its period and filters, so it is planned for its values every time rather than
 * given a generic plan. Both are local to the transaction; PGlite has no JIT and accepts the setting.
 */
export function runReportQuery(db: Db, q: BuiltQuery): Promise<Record<string, unknown>[]> {
  return db.tx(async (t) => {
    await t.query(
      "SELECT set_config('jit', 'off', true), set_config('plan_cache_mode', 'force_custom_plan', true)",
    );
    return t.query<Record<string, unknown>>(q.sql, q.params);
  });
}
