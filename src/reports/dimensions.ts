// Report dimensions and filters as SQL expressions over fixed table aliases. Pure data: no I/O.
//
// Aliases: visits `v` (with its number `vn`) or the daily rollup `vd` in the visits half of a report; calls `c` with
// their static rule `sr` in the calls half; leads `l`. `$3` is always the site's time zone.
// Calls take the dimensions of the visit they are attributed to, from the copies of its fields they carry
// (`c.visit_<field>`, migration 025; all null without a visit); leads likewise (`l.visit_<field>`, migration
// 030; a lead always has a visit); static-number calls take source,
// medium and campaign from their rule and the channel "static"; a call with neither has the channel
// "(none)" and "(not set)" for every other visit field.

export const DIMENSIONS = [
  'channel',
  'source',
  'medium',
  'campaign',
  'keyword',
  'content',
  'landing_page',
  'call_page',
  'region',
  'city',
  'device',
  'tracking_number',
  'employee',
  'group',
  'number_kind',
  'talk_bucket',
  'hour_of_day',
  'day_of_week',
  'date',
  'week',
  'month',
] as const;

export type Dimension = (typeof DIMENSIONS)[number];

export const NOT_SET = '(not set)';
export const NO_CHANNEL = '(none)';

export interface DimensionSql {
  /** Key expression over visits `v`; null when visits have no such dimension (the visits metric is then null). */
  visit: string | null;
  /**
   * The same key over the daily rollup visit_daily `vd` (rollup.ts). Without it (and without `keyedRollup`)
   * (or `numberRollup`) reports by or filtered by this dimension read raw visits.
   */
  rollup?: string;
  /**
   * `rollup` reads only the day, channel, source, medium and campaign, so the smaller visit_daily_sources
   * (same columns, alias `vd`) answers it too, when every filter has this flag as well.
   */
  sourcesRollup?: boolean;
  /**
   * The rollup visit_daily_keys holds this dimension's `visit` key (as text) per day and channel, and
   * visit_daily_key_totals per day; this is the key read back from either as `dk.key`, in the type of `visit`.
   */
  keyedRollup?: string;
  /** Key expression over calls `c` and `sr`. */
  call: string;
  /** Whether the visits half needs the visit's number joined as `vn` and its site as `vs`. */
  visitNumber?: boolean;
  /**
   * `visit` reads only the visit's channel, number_id and number_method, so the rollup visit_daily_numbers
   * (those columns per day, aliased `v`, with `vn` and `vs` joined) answers it, unfiltered or by channel.
   */
  numberRollup?: boolean;
  /** Calendar dimensions sort by key by default; per-row comparison shifts `date` keys by the period. */
  time?: boolean;
  /**
   * Key expression over a lead `l` alone. Absent: the leads half joins the lead's visit `v` (and `vn`, `vs`)
   * and uses `visit` (no leads when that is null). Every filter has one.
   */
  lead?: string;
  /** Key expression over ad-cost rows `kc` (see query.ts); absent: the dimension has no cost columns. */
  cost?: string;
}

const notSet = (expr: string) => `coalesce(${expr}, '${NOT_SET}')`;

/**
 * The path of a URL ("/sofas"), "/" when it has none, "(not set)" without a URL. Migration 030 spells it out
 * for the stored `visit_landing_path` of calls and leads: change both together.
 */
export const pathOf = (col: string) =>
  `CASE WHEN ${col} IS NULL THEN '${NOT_SET}' ELSE coalesce(nullif(substring(${col} from '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*([^?#]*)'), ''), '/') END`;

const local = (col: string) => `(${col} AT TIME ZONE $3)`;

const visitField = (field: string, rollup: 'column' | 'keyed' | 'both', cost?: string): DimensionSql => ({
  visit: notSet(`v.${field}`),
  ...(rollup === 'keyed' ? {} : { rollup: notSet(`vd.${field}`) }),
  ...(rollup === 'column' ? {} : { keyedRollup: 'dk.key' }),
  call: notSet(`c.visit_${field}`),
  lead: notSet(`l.visit_${field}`),
  ...(cost ? { cost: notSet(cost) } : {}),
});

/** Static-number calls have no visit: their rule supplies source, medium and campaign. */
const sourceField = (field: 'source' | 'medium' | 'campaign'): DimensionSql => ({
  visit: notSet(`v.${field}`),
  rollup: notSet(`vd.${field}`),
  sourcesRollup: true,
  call: notSet(`coalesce(c.visit_${field}, sr.${field})`),
  lead: notSet(`l.visit_${field}`),
  cost: notSet(`kc.${field}`),
});

/** `ofDay` is the key over the rollup's local day `vd.day`; absent for keys finer than a day. */
const timeKey = (fn: (col: string) => string, ofDay?: string, cost?: string): DimensionSql => ({
  visit: fn('v.started_at'),
  ...(ofDay ? { rollup: ofDay, sourcesRollup: true } : {}),
  call: fn('c.started_at'),
  lead: fn('l.created_at'),
  time: true,
  ...(cost ? { cost } : {}),
});

/**
 * Talk-time buckets of answered calls, [from, to) in seconds. Keys are zero-padded mm:ss ranges so
 * they sort by key in duration order ("(not set)", unanswered calls, sorts first).
 */
export const TALK_BUCKETS = [
  { key: '00:00-00:30', from: 0, to: 30 },
  { key: '00:30-01:00', from: 30, to: 60 },
  { key: '01:00-03:00', from: 60, to: 180 },
  { key: '03:00-10:00', from: 180, to: 600 },
  { key: '10:00+', from: 600, to: null },
] as const;

const TALK_BUCKET_SQL = `CASE WHEN c.answered_at IS NULL OR c.talk_seconds IS NULL THEN '${NOT_SET}'
  ${TALK_BUCKETS.map((b) => (b.to === null ? `ELSE '${b.key}'` : `WHEN c.talk_seconds < ${b.to} THEN '${b.key}'`)).join(' ')} END`;

/**
 * Static numbers (offline ads, rules) vs dynamic pool numbers (shown after a site visit); default
 * numbers and unknown numbers are "(none)". Visits count by the number they were shown.
 */
const NUMBER_KIND_VISIT_SQL = `CASE v.number_method WHEN 'pool' THEN 'dynamic' WHEN 'static' THEN 'static' ELSE '${NO_CHANNEL}' END`;
const NUMBER_KIND_CALL_SQL = `coalesce(
  (SELECT CASE n.kind WHEN 'pool' THEN 'dynamic' WHEN 'static' THEN 'static' END
     FROM numbers n WHERE n.account_id = c.account_id AND n.id = c.number_id),
  CASE WHEN sr.id IS NOT NULL THEN 'static' END, '${NO_CHANNEL}')`;

export const CHANNEL_CALL_SQL = `CASE WHEN c.visit_channel IS NOT NULL THEN c.visit_channel WHEN sr.id IS NOT NULL THEN 'static' ELSE '${NO_CHANNEL}' END`;

export const dimensionSql: Record<Dimension, DimensionSql> = {
  channel: {
    visit: 'v.channel',
    rollup: 'vd.channel',
    sourcesRollup: true,
    call: CHANNEL_CALL_SQL,
    lead: 'l.visit_channel',
    cost: 'kc.channel',
  },
  source: sourceField('source'),
  medium: sourceField('medium'),
  campaign: sourceField('campaign'),
  // visit_daily_keys for reports unfiltered or by channel (5 times fewer rows), visit_daily for other filters.
  keyword: visitField('keyword', 'both', 'kc.keyword'),
  content: visitField('content', 'column'),
  landing_page: {
    visit: pathOf('v.landing_url'),
    keyedRollup: 'dk.key',
    // Calls and leads store the path of the copied URL (migration 030, the same expression).
    call: 'c.visit_landing_path',
    lead: 'l.visit_landing_path',
  },
  call_page: { visit: null, call: pathOf('c.call_page_url') },
  region: visitField('region', 'keyed'),
  city: visitField('city', 'keyed'),
  device: visitField('device_type', 'column'),
  // Visits shown the default number store no number_id: they count under the site's default number.
  tracking_number: {
    visit: notSet(`coalesce(vn.e164, CASE WHEN v.number_method = 'default' THEN vs.default_number END)`),
    call: notSet('c.tracking_number'),
    visitNumber: true,
    numberRollup: true,
  },
  employee: { visit: null, call: notSet('c.employee') },
  group: { visit: null, call: notSet('c.group_name') },
  number_kind: { visit: NUMBER_KIND_VISIT_SQL, call: NUMBER_KIND_CALL_SQL },
  talk_bucket: { visit: null, call: TALK_BUCKET_SQL },
  // A visit's start never changes and lies in one local day, so its local hour rolls up exactly per day.
  hour_of_day: { ...timeKey((col) => `extract(hour from ${local(col)})::int`), keyedRollup: 'dk.key::int' },
  day_of_week: timeKey(
    (col) => `extract(isodow from ${local(col)})::int`,
    'extract(isodow from vd.day)::int',
  ),
  // Cost rows and rollup rows carry a local date already.
  date: timeKey(
    (col) => `to_char(${local(col)}, 'YYYY-MM-DD')`,
    `to_char(vd.day, 'YYYY-MM-DD')`,
    `to_char(kc.date, 'YYYY-MM-DD')`,
  ),
  week: timeKey(
    (col) => `to_char(date_trunc('week', ${local(col)}), 'YYYY-MM-DD')`,
    `to_char(date_trunc('week', vd.day::timestamp), 'YYYY-MM-DD')`,
    `to_char(date_trunc('week', kc.date::timestamp), 'YYYY-MM-DD')`,
  ),
  month: timeKey(
    (col) => `to_char(${local(col)}, 'YYYY-MM')`,
    `to_char(vd.day, 'YYYY-MM')`,
    `to_char(kc.date, 'YYYY-MM')`,
  ),
};

/** Filters compare the same expressions a report row shows, so a row's key can be used as a filter value. */
export const FILTERS = ['channel', 'source', 'medium', 'campaign', 'keyword', 'region', 'device'] as const;
export type Filter = (typeof FILTERS)[number];
