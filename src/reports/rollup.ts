// The daily rollup of visits (migration 017): reports read visit counts of whole past days from
// visit_daily instead of scanning raw visits (issue 4: 1,000,000 visits within 300 ms).
//
// Exactness: a day is in the rollup only once it ended in the site's time zone ROLLUP_SETTLE_MS (an hour)
// ago, and a report reads the rollup for the days before the site's `rolled_to` and raw visits from that
// day on, so the two never overlap or miss a visit. Visits are only ever inserted and their rolled-up fields
// never change, except the number a lazy lease gives a visit later (visit_daily_numbers), so a past day
// stays exact unless a visit is written for it later (a clock in the past: the demo loader, tests) or
// leased its number later. That transaction then moves `rolled_to` back to the visit's day. A per-site
// advisory lock orders that against a rollup pass: the pass holds it exclusively while it reads visits and
// advances `rolled_to`; such a transaction takes it shared before checking `rolled_to`. So either the pass
// sees the committed visit, or the visit sees the advanced `rolled_to` and moves it back. A visit starting
// now needs neither: its single statement checks that its day is not rolled up, and no pass reaches that
// day until an hour after it ends (insertVisitSql in src/tracking/visits.ts).
//
// Time zone: days are local days of the zone noted per site. When a site's time zone changes the rollup
// no longer matches the site's days; reports ignore it (reading raw visits) until the next pass rebuilds it
// from the site's first visit in the new zone. Rebuilding is cheaper and simpler than keeping hourly UTC
// buckets, which would not fit zones with half-hour offsets and would hold 24 times the rows.

import type { Db, Queryable } from '../db/db.js';
import { type PeriodicWorker, runPeriodically } from '../jobs/periodic.js';
import { DIMENSIONS, dimensionSql } from './dimensions.js';
import { addDays } from './period.js';
import type { ReportScope } from './query.js';

/** Advisory lock class of the per-site rollup lock (the key is a hash of the site id). */
const LOCK_CLASS = 727275;
/**
 * How long after a day ends it is rolled up: a visit that starts now is then on a day no pass has reached,
 * so its insert needs no lock (src/tracking/visits.ts, insertVisitSql) unless a single statement runs
 * this long.
 */
export const ROLLUP_SETTLE_MS = 60 * 60_000;
/** Days rolled up per transaction: bounds how long a first build holds up the site's new visits. */
const CHUNK_DAYS = 7;

/** Visit fields copied into visit_daily as they are. */
const TRAFFIC_FIELDS = [
  'channel',
  'source',
  'medium',
  'campaign',
  'keyword',
  'content',
  'device_type',
] as const;
/** Dimensions whose report key visit_daily_keys holds per day and channel. */
const KEYED_DIMENSIONS = DIMENSIONS.filter((d) => dimensionSql[d].keyedRollup);
const ROLLUP_TABLES = [
  'visit_daily',
  'visit_daily_keys',
  'visit_daily_key_totals',
  'visit_daily_sources',
  'visit_daily_numbers',
] as const;

export interface SiteRef {
  accountId: string;
  siteId: string;
}

/**
 * A transaction that writes a visit of a rolled-up day moves the site's `rolled_to` back to it: a statement
 * before the write selects `visitRollupLock` (taking the per-site lock shared), and the statement writing
 * the visit carries `rolledToMovedBack`. They must be separate statements: one that waited for the lock
 * would still read `rolled_to` from the snapshot it began with.
 * `siteIdText`: the parameter holding the site id as text (hashed as the rollup pass hashes it).
 */
export function visitRollupLock(siteIdText: string): string {
  return `pg_advisory_xact_lock_shared(${LOCK_CLASS}, hashtext(${siteIdText}))`;
}

/** The CTE moving `rolled_to` back to the day of a visit started at `startedAt` (see visitRollupLock). */
export function rolledToMovedBack(accountId: string, siteId: string, startedAt: string): string {
  const day = `(${startedAt}::timestamptz AT TIME ZONE time_zone)::date`;
  return `rolled_to_moved_back AS (
       UPDATE visit_rollup_sites SET rolled_to = ${day}
        WHERE account_id = ${accountId} AND site_id = ${siteId} AND rolled_to > ${day})`;
}

/**
 * The scope with `rolledTo`: the first local day its reports must read from raw visits, or null when the
 * site has no usable rollup (none built yet, or built in another time zone than the site's current one).
 */
export async function withRollup(q: Queryable, scope: ReportScope): Promise<ReportScope> {
  const rows = await q.query<{ rolled_to: string }>(
    `SELECT to_char(rolled_to, 'YYYY-MM-DD') AS rolled_to FROM visit_rollup_sites
      WHERE account_id = $1 AND site_id = $2 AND time_zone = $3`,
    [scope.accountId, scope.siteId, scope.timeZone],
  );
  return { ...scope, rolledTo: rows[0]?.rolled_to ?? null };
}

/** Removes a site's rollup, so its reports read raw visits until the next pass rebuilds it. */
export async function dropVisitRollup(db: Db, site: SiteRef): Promise<void> {
  await db.tx(async (q) => {
    await q.query(`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext($1))`, [site.siteId]);
    await q.query('DELETE FROM visit_rollup_sites WHERE account_id = $1 AND site_id = $2', [
      site.accountId,
      site.siteId,
    ]);
    for (const table of ROLLUP_TABLES)
      await q.query(`DELETE FROM ${table} WHERE account_id = $1 AND site_id = $2`, [
        site.accountId,
        site.siteId,
      ]);
  });
}

/**
 * One pass over every site whose rollup lags behind its last ended day (or is in another time zone): rolls
 * up to CHUNK_DAYS days of each. Returns whether any site still lags, so the caller can run again soon.
 */
export async function refreshVisitRollups(db: Db, now: Date): Promise<boolean> {
  // A day is rolled up once it ended ROLLUP_SETTLE_MS ago (see insertVisitSql in src/tracking/visits.ts).
  const settled = new Date(now.getTime() - ROLLUP_SETTLE_MS);
  const lagging = await db.query<{ account_id: string; site_id: string }>(
    `SELECT s.account_id, s.id AS site_id FROM sites s
       LEFT JOIN visit_rollup_sites st ON st.account_id = s.account_id AND st.site_id = s.id
      WHERE st.site_id IS NULL OR st.time_zone <> s.time_zone
         OR st.rolled_to < ($1::timestamptz AT TIME ZONE s.time_zone)::date`,
    [settled],
  );
  let more = false;
  for (const row of lagging) {
    if (await rollSiteChunk(db, { accountId: row.account_id, siteId: row.site_id }, settled)) more = true;
  }
  return more;
}

async function rollSiteChunk(db: Db, site: SiteRef, now: Date): Promise<boolean> {
  return db.tx(async (q) => {
    await q.query(`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext($1))`, [site.siteId]);
    const params = [site.accountId, site.siteId];
    const [current] = await q.query<{ time_zone: string; today: string }>(
      `SELECT time_zone, to_char(($3::timestamptz AT TIME ZONE time_zone)::date, 'YYYY-MM-DD') AS today
         FROM sites WHERE account_id = $1 AND id = $2`,
      [...params, now],
    );
    if (!current) return false; // deleted meanwhile
    const zone = current.time_zone;
    const [state] = await q.query<{ time_zone: string; rolled_to: string }>(
      `SELECT time_zone, to_char(rolled_to, 'YYYY-MM-DD') AS rolled_to FROM visit_rollup_sites
        WHERE account_id = $1 AND site_id = $2 FOR UPDATE`,
      params,
    );
    let from = state?.rolled_to;
    if (!state || state.time_zone !== zone) {
      // New, or built in a former time zone: start over from the site's first visit.
      for (const table of ROLLUP_TABLES)
        await q.query(`DELETE FROM ${table} WHERE account_id = $1 AND site_id = $2`, params);
      const [first] = await q.query<{ day: string | null }>(
        `SELECT to_char(min(started_at) AT TIME ZONE $3, 'YYYY-MM-DD') AS day FROM visits
          WHERE account_id = $1 AND site_id = $2`,
        [...params, zone],
      );
      from = first.day !== null && first.day < current.today ? first.day : current.today;
      await q.query(
        `INSERT INTO visit_rollup_sites (account_id, site_id, time_zone, rolled_to) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, site_id) DO UPDATE SET time_zone = $3, rolled_to = $4`,
        [...params, zone, from],
      );
    }
    if (from === undefined || from >= current.today) return false;
    const chunkEnd = addDays(from, CHUNK_DAYS);
    // biome-ignore lint/complexity/useMathMinMax: the operands are "YYYY-MM-DD" strings, not numbers
    const to = chunkEnd < current.today ? chunkEnd : current.today;
    // Rows from before a move back of rolled_to are replaced, not added to.
    for (const table of ROLLUP_TABLES)
      await q.query(
        `DELETE FROM ${table} WHERE account_id = $1 AND site_id = $2 AND day >= $3 AND day < $4`,
        [...params, from, to],
      );
    const chunk = `WHERE v.account_id = $1 AND v.site_id = $2 AND NOT v.is_bot
          AND v.started_at >= ($4::date)::timestamp AT TIME ZONE $3
          AND v.started_at < ($5::date)::timestamp AT TIME ZONE $3`;
    const chunkParams = [...params, zone, from, to];
    await q.query(
      `INSERT INTO visit_daily (account_id, site_id, day, ${TRAFFIC_FIELDS.join(', ')}, visits)
       SELECT v.account_id, v.site_id, (v.started_at AT TIME ZONE $3)::date,
              ${TRAFFIC_FIELDS.map((f) => `v.${f}`).join(', ')}, count(*)
         FROM visits v ${chunk}
        GROUP BY ${Array.from({ length: TRAFFIC_FIELDS.length + 3 }, (_, i) => i + 1).join(', ')}`,
      chunkParams,
    );
    // visit_daily without keyword, content and device: the chunk's rows just written, summed.
    await q.query(
      `INSERT INTO visit_daily_sources (account_id, site_id, day, channel, source, medium, campaign, visits)
       SELECT account_id, site_id, day, channel, source, medium, campaign, sum(visits) FROM visit_daily
        WHERE account_id = $1 AND site_id = $2 AND day >= $3 AND day < $4
        GROUP BY account_id, site_id, day, channel, source, medium, campaign`,
      [...params, from, to],
    );
    // The keys are the reports' own expressions, so a rolled-up key equals the raw one by construction.
    const keys = KEYED_DIMENSIONS.map((d) => `('${d}', (${dimensionSql[d].visit})::text)`).join(', ');
    await q.query(
      `INSERT INTO visit_daily_keys (account_id, site_id, dimension, day, channel, key, visits)
       SELECT v.account_id, v.site_id, k.dimension, (v.started_at AT TIME ZONE $3)::date, v.channel, k.key, count(*)
         FROM visits v CROSS JOIN LATERAL (VALUES ${keys}) k (dimension, key) ${chunk}
        GROUP BY 1, 2, 3, 4, 5, 6`,
      chunkParams,
    );
    // visit_daily_keys without channel: the chunk's rows just written, summed.
    await q.query(
      `INSERT INTO visit_daily_key_totals (account_id, site_id, dimension, day, key, visits)
       SELECT account_id, site_id, dimension, day, key, sum(visits) FROM visit_daily_keys
        WHERE account_id = $1 AND site_id = $2 AND day >= $3 AND day < $4
        GROUP BY account_id, site_id, dimension, day, key`,
      [...params, from, to],
    );
    await q.query(
      `INSERT INTO visit_daily_numbers (account_id, site_id, day, channel, number_id, number_method, visits)
       SELECT v.account_id, v.site_id, (v.started_at AT TIME ZONE $3)::date, v.channel, v.number_id, v.number_method,
              count(*)
         FROM visits v ${chunk}
        GROUP BY 1, 2, 3, 4, 5, 6`,
      chunkParams,
    );
    await q.query('UPDATE visit_rollup_sites SET rolled_to = $3 WHERE account_id = $1 AND site_id = $2', [
      ...params,
      to,
    ]);
    return to < current.today;
  });
}

/** Passes while a site lags (a first build), then one every `intervalSeconds`. */
export function startVisitRollup(
  db: Db,
  clock: { now(): Date },
  intervalSeconds: number,
  onError: (err: unknown) => void,
): PeriodicWorker {
  return runPeriodically(
    async () => ((await refreshVisitRollups(db, clock.now())) ? 0 : intervalSeconds * 1000),
    { errorDelayMs: intervalSeconds * 1000, onError },
  );
}
