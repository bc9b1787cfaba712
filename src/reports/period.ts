// Calendar arithmetic on local dates ("YYYY-MM-DD" in the site's time zone). Pure: the dates are
// calendar days, so the computation uses UTC internally and never depends on the server's zone.

export type Interval = 'day' | 'week' | 'month';

export interface Period {
  from: string;
  to: string;
}

const DAY_MS = 86_400_000;

function toUtc(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return Date.UTC(y, m - 1, d);
}

function fromUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Whether a "YYYY-MM-DD" string names a real calendar day (rejects 2026-02-30). */
export function isCalendarDate(date: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) && fromUtc(toUtc(date)) === date;
}

export function addDays(date: string, days: number): string {
  return fromUtc(toUtc(date) + days * DAY_MS);
}

/** Number of days in a period, both ends included. */
export function periodDays(p: Period): number {
  return Math.round((toUtc(p.to) - toUtc(p.from)) / DAY_MS) + 1;
}

/** The period of equal length that ends the day before `p` starts. */
export function previousPeriod(p: Period): Period {
  const n = periodDays(p);
  return { from: addDays(p.from, -n), to: addDays(p.from, -1) };
}

/** The key of the bucket a local date falls in: the date, the Monday of its ISO week, or "YYYY-MM". */
export function bucketOf(date: string, interval: Interval): string {
  if (interval === 'day') return date;
  if (interval === 'month') return date.slice(0, 7);
  const dow = (new Date(toUtc(date)).getUTCDay() + 6) % 7; // Monday = 0
  return addDays(date, -dow);
}

/** Every bucket key that overlaps the period, in order (the first week may start before `from`). */
export function bucketKeys(p: Period, interval: Interval): string[] {
  const keys: string[] = [];
  if (interval === 'month') {
    let [y, m] = p.from.split('-').map(Number);
    const last = p.to.slice(0, 7);
    for (;;) {
      const key = `${y}-${String(m).padStart(2, '0')}`;
      keys.push(key);
      if (key >= last) break;
      m += 1;
      if (m > 12) {
        m = 1;
        y += 1;
      }
    }
    return keys;
  }
  const step = interval === 'day' ? 1 : 7;
  for (let d = bucketOf(p.from, interval); d <= p.to; d = addDays(d, step)) keys.push(d);
  return keys;
}
