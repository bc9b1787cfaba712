// Report metrics: the raw additive sums SQL returns, and the metrics derived from them. Pure.
//
// Every metric is derived from additive sums, so a totals row, a comparison period or (later) a daily
// rollup is just the sum of raw rows. Money is in integer minor units of the site currency: `cost`
// (ad costs), `revenue` (won deals), `profit` = revenue − cost, `roi` = (revenue − cost) / cost,
// `cost_per_call`, `cost_per_targeted_call` and `cpl` = cost / (calls + leads), rounded to whole
// minor units. Cost metrics are null for dimensions ad costs cannot be joined to.

export const METRICS = [
  'visits',
  'calls',
  'unique',
  'targeted',
  'unique_targeted',
  'first_targeted',
  'repeat',
  'missed',
  'answer_rate',
  'avg_wait_seconds',
  'avg_talk_seconds',
  'visit_to_call_conversion',
  'leads',
  'impressions',
  'clicks',
  'cost',
  'revenue',
  'cost_per_call',
  'cost_per_targeted_call',
  'cpl',
  'profit',
  'roi',
] as const;

export type Metric = (typeof METRICS)[number];

export type Metrics = Record<Metric, number | null>;

/** Additive sums of one report row. `visits` is null where the dimension has no visits (e.g. employee). */
export interface RawCounts {
  visits: number | null;
  calls: number;
  unique: number;
  targeted: number;
  unique_targeted: number;
  first_targeted: number;
  repeat: number;
  missed: number;
  /** Calls a person answered. */
  answered: number;
  /** Wait (ring time until answer) summed over answered calls that report it, and their count. */
  wait_sum: number;
  wait_n: number;
  /** Talk time summed over answered calls that report it, and their count. */
  talk_sum: number;
  talk_n: number;
  /** Leads attributed to a visit; null where the dimension has no visits. */
  leads: number | null;
  /** Won deals of the row's calls and leads, in minor units of the site currency. */
  revenue: number;
  /** Ad costs (minor units), impressions and clicks; null where the dimension cannot be joined to costs. */
  cost: number | null;
  impressions: number | null;
  clicks: number | null;
}

/** Raw fields that are null where a dimension lacks visits (leads) or costs (the rest). */
const NULLABLE = ['visits', 'leads', 'cost', 'impressions', 'clicks'] as const;
type Nullable = (typeof NULLABLE)[number];
const isNullable = (f: keyof RawCounts): f is Nullable => (NULLABLE as readonly string[]).includes(f);

export const RAW_FIELDS = [
  'visits',
  'calls',
  'unique',
  'targeted',
  'unique_targeted',
  'first_targeted',
  'repeat',
  'missed',
  'answered',
  'wait_sum',
  'wait_n',
  'talk_sum',
  'talk_n',
  'leads',
  'revenue',
  'cost',
  'impressions',
  'clicks',
] as const satisfies readonly (keyof RawCounts)[];

export function emptyRaw(hasVisits: boolean, hasCost = false): RawCounts {
  const cost = hasCost ? 0 : null;
  return {
    visits: hasVisits ? 0 : null,
    calls: 0,
    unique: 0,
    targeted: 0,
    unique_targeted: 0,
    first_targeted: 0,
    repeat: 0,
    missed: 0,
    answered: 0,
    wait_sum: 0,
    wait_n: 0,
    talk_sum: 0,
    talk_n: 0,
    leads: hasVisits ? 0 : null,
    revenue: 0,
    cost,
    impressions: cost,
    clicks: cost,
  };
}

/** Reads a database row (numbers may arrive as strings from bigint/numeric columns). */
export function rawFromRow(row: Record<string, unknown>, hasVisits: boolean, hasCost = false): RawCounts {
  const raw = emptyRaw(hasVisits, hasCost);
  for (const field of RAW_FIELDS) {
    const value = row[field];
    if (raw[field] === null) continue;
    raw[field] = value === null || value === undefined ? 0 : Number(value);
  }
  return raw;
}

export function addRaw(a: RawCounts, b: RawCounts): RawCounts {
  const out = { ...a };
  for (const field of RAW_FIELDS) {
    if (isNullable(field)) {
      const x = a[field];
      const y = b[field];
      out[field] = x === null && y === null ? null : (x ?? 0) + (y ?? 0);
    } else {
      out[field] = a[field] + b[field];
    }
  }
  return out;
}

/** Rates are fractions rounded to 4 decimals; averages are seconds rounded to 1 decimal. */
const round = (value: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};
const ratio = (num: number, den: number | null, digits: number) =>
  den === null || den === 0 ? null : round(num / den, digits);

/** Cost per unit in whole minor units; null without costs or units. */
const perUnit = (cost: number | null, units: number) =>
  cost === null || units === 0 ? null : Math.round(cost / units);

export function deriveMetrics(raw: RawCounts): Metrics {
  return {
    visits: raw.visits,
    calls: raw.calls,
    unique: raw.unique,
    targeted: raw.targeted,
    unique_targeted: raw.unique_targeted,
    first_targeted: raw.first_targeted,
    repeat: raw.repeat,
    missed: raw.missed,
    answer_rate: ratio(raw.answered, raw.calls, 4),
    avg_wait_seconds: ratio(raw.wait_sum, raw.wait_n, 1),
    avg_talk_seconds: ratio(raw.talk_sum, raw.talk_n, 1),
    visit_to_call_conversion: ratio(raw.calls, raw.visits, 4),
    leads: raw.leads,
    impressions: raw.impressions,
    clicks: raw.clicks,
    cost: raw.cost,
    revenue: raw.revenue,
    cost_per_call: perUnit(raw.cost, raw.calls),
    cost_per_targeted_call: perUnit(raw.cost, raw.targeted),
    cpl: perUnit(raw.cost, raw.calls + (raw.leads ?? 0)),
    profit: raw.cost === null ? null : raw.revenue - raw.cost,
    roi: raw.cost === null || raw.cost === 0 ? null : round((raw.revenue - raw.cost) / raw.cost, 4),
  };
}

/** Keeps only the requested metrics, in the requested order. */
export function pickMetrics(metrics: Metrics, names: readonly Metric[]): Partial<Metrics> {
  const out: Partial<Metrics> = {};
  for (const name of names) out[name] = metrics[name];
  return out;
}
