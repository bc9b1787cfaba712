// The daily visit rollup (src/reports/rollup.ts) must not change a single number: every report is fetched
// through the API with the rollup in place and again on raw rows only, over a seeded random dataset, and
// the two responses must be identical — with the rollup covering part of the period, all of it, after a
// visit written for an already rolled-up day, and across a change of the site's time zone.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAYS, FIRST_DAY, generateReportData } from '../bench/report-data.js';
import { VISIT_REPORT_FIELDS } from '../src/calls/service.js';
import { DIMENSIONS, pathOf } from '../src/reports/dimensions.js';
import { addDays } from '../src/reports/period.js';
import { dropVisitRollup, refreshVisitRollups, withRollup } from '../src/reports/rollup.js';
import { postLease, postVisit, type TestEnv, testEnv } from './helpers.js';

const LAST_DAY = addDays(FIRST_DAY, DAYS - 1);

describe('reports on the daily rollup equal reports on raw visits', () => {
  let env: TestEnv;
  let site: { accountId: string; siteId: string };
  let siteKey: string;

  beforeAll(async () => {
    env = await testEnv(`${LAST_DAY}T12:00:00Z`);
    site = await generateReportData(env.db, env.app, env.key, { visits: 4000, calls: 400 });
    siteKey = (await env.api('GET', `/api/v1/sites/${site.siteId}`)).json().siteKey;
  }, 600_000);
  afterAll(() => env.close());

  /** A report set covering every dimension, the rollup's filters and the ones it lacks, and comparisons. */
  function urls(): string[] {
    const q = (params: Record<string, string>) =>
      new URLSearchParams({ siteId: site.siteId, ...params }).toString();
    const all = { from: FIRST_DAY, to: LAST_DAY };
    const middle = { from: '2026-09-10', to: '2026-09-20' };
    const list: string[] = [];
    for (const d of DIMENSIONS) {
      list.push(`${d}?${q({ ...all, limit: '1000' })}`);
      list.push(`${d}?${q({ ...middle, compare: 'previous', limit: '1000' })}`);
    }
    const filterSets: Record<string, string>[] = [
      { channel: 'paid_search' },
      { source: 'yandex', device: 'mobile' },
      { region: 'Москва' },
      { channel: 'referral', class: 'targeted' },
      { campaign: 'yandex_divany', keyword: 'диван купить' },
    ];
    for (const d of ['keyword', 'region', 'landing_page'])
      for (const filters of filterSets) list.push(`${d}?${q({ ...all, ...filters, limit: '1000' })}`);
    for (const interval of ['day', 'week', 'month']) list.push(`timeseries?${q({ ...all, interval })}`);
    return list;
  }

  async function fetchAll(): Promise<unknown[]> {
    const bodies: unknown[] = [];
    for (const url of urls()) {
      const res = await env.api('GET', `/api/v1/reports/${url}`);
      expect(res.statusCode, url).toBe(200);
      bodies.push({ url, body: res.json() });
    }
    return bodies;
  }

  async function rollUp(now: string) {
    while (await refreshVisitRollups(env.db, new Date(now))) {}
  }

  /** Reports with the rollup as it stands, then with it removed: they must be identical. */
  async function expectSameAsRaw() {
    const rolled = await fetchAll();
    await dropVisitRollup(env.db, site);
    expect(rolled).toEqual(await fetchAll());
  }

  const rolledTo = async () => (await withRollup(env.db, { ...site, timeZone: 'Europe/Moscow' })).rolledTo;

  it('with the rollup covering the first half of the period, then all of it', async () => {
    await rollUp('2026-09-15T12:00:00Z');
    expect(await rolledTo()).toBe('2026-09-15');
    await expectSameAsRaw();
    await rollUp(`${LAST_DAY}T23:00:00Z`); // 02:00 the next day in Moscow
    expect(await rolledTo()).toBe(addDays(LAST_DAY, 1));
    const [rows] = await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM visit_daily');
    expect(rows.n).toBeGreaterThan(0);
    await expectSameAsRaw();
  }, 600_000);

  it('a comparison, read in one query with its period, equals both periods reported on their own', async () => {
    await rollUp('2026-09-15T12:00:00Z'); // the comparison period on the rollup, the period partly raw
    const q = (params: Record<string, string>) =>
      new URLSearchParams({ siteId: site.siteId, limit: '1000', ...params }).toString();
    const get = async (url: string) => (await env.api('GET', `/api/v1/reports/${url}`)).json();
    for (const d of DIMENSIONS) {
      const both = await get(`${d}?${q({ from: '2026-09-10', to: '2026-09-20', compare: 'previous' })}`);
      const current = await get(`${d}?${q({ from: '2026-09-10', to: '2026-09-20' })}`);
      const previous = await get(`${d}?${q({ from: '2026-08-30', to: '2026-09-09' })}`);
      expect(both.previousPeriod, d).toEqual(previous.period);
      expect(both.totals, d).toEqual(current.totals);
      expect(both.previousTotals, d).toEqual(previous.totals);
      type Row = { key: string; previous?: unknown };
      expect(
        both.rows.map(({ previous: _, ...row }: Row) => row),
        d,
      ).toEqual(current.rows);
      if (['date', 'week', 'month'].includes(d)) continue; // keys differ between the periods
      const previousByKey = new Map(previous.rows.map(({ key, ...m }: Row) => [key, m]));
      for (const row of both.rows as Row[])
        if (previousByKey.has(row.key))
          expect(row.previous, `${d} ${row.key}`).toEqual(previousByKey.get(row.key));
    }
    await dropVisitRollup(env.db, site);
  }, 600_000);

  it('reads the rollup where it covers the period (a changed rollup row changes the report)', async () => {
    const q = `siteId=${site.siteId}&from=${FIRST_DAY}&to=${LAST_DAY}`;
    // channel reads visit_daily_sources, device visit_daily, hour_of_day and keyword visit_daily_key_totals
    // (by channel visit_daily_keys), tracking_number visit_daily_numbers.
    const visits = async (dimension: string, filter = '') =>
      (await env.api('GET', `/api/v1/reports/${dimension}?${q}${filter}`)).json().totals.visits;
    const raw = await visits('channel');
    expect(await visits('device')).toBe(raw);
    const paid = await visits('keyword', '&channel=paid_search');
    await rollUp(`${LAST_DAY}T23:00:00Z`);
    const bump = (table: string, where = 'true') =>
      env.db.query(
        `UPDATE ${table} SET visits = visits + 1000
          WHERE ctid = (SELECT ctid FROM ${table} WHERE site_id = $1 AND ${where} LIMIT 1)`,
        [site.siteId],
      );
    await bump('visit_daily_sources');
    expect(await visits('channel')).toBe(raw + 1000);
    expect(await visits('device')).toBe(raw);
    await bump('visit_daily');
    expect(await visits('device')).toBe(raw + 1000);
    expect(await visits('keyword')).toBe(raw);
    expect(await visits('tracking_number')).toBe(raw);
    await bump('visit_daily_numbers');
    expect(await visits('tracking_number')).toBe(raw + 1000);
    // The keys are the reports' keys as text (hours read back as numbers).
    await bump('visit_daily_key_totals', "dimension = 'hour_of_day'");
    expect(await visits('hour_of_day')).toBe(raw + 1000);
    expect(await visits('keyword')).toBe(raw);
    await bump('visit_daily_key_totals', "dimension = 'keyword'");
    expect(await visits('keyword')).toBe(raw + 1000);
    expect(await visits('keyword', '&channel=paid_search')).toBe(paid);
    await bump('visit_daily_keys', "dimension = 'keyword' AND channel = 'paid_search'");
    expect(await visits('keyword', '&channel=paid_search')).toBe(paid + 1000);
    expect(await visits('keyword')).toBe(raw + 1000);
    await dropVisitRollup(env.db, site);
    expect(await visits('channel')).toBe(raw);
    expect(await visits('device')).toBe(raw);
    expect(await visits('hour_of_day')).toBe(raw);
    expect(await visits('keyword')).toBe(raw);
    expect(await visits('keyword', '&channel=paid_search')).toBe(paid);
    expect(await visits('tracking_number')).toBe(raw);
  }, 600_000);

  it('migration 029 adds the hours and numbers of days rolled up before it, as the rollup pass writes them', async () => {
    await rollUp(`${LAST_DAY}T23:00:00Z`);
    const rows = async () => [
      await env.db.query(
        `SELECT day::text, channel, key, visits FROM visit_daily_keys
          WHERE site_id = $1 AND dimension = 'hour_of_day' ORDER BY 1, 2, 3`,
        [site.siteId],
      ),
      await env.db.query(
        `SELECT day::text, channel, number_id, number_method, visits FROM visit_daily_numbers
          WHERE site_id = $1 ORDER BY 1, 2, 3, 4`,
        [site.siteId],
      ),
    ];
    const written = await rows();
    expect(written[0].length).toBeGreaterThan(DAYS);
    expect(written[1].length).toBeGreaterThan(DAYS);
    await env.db.query(`DELETE FROM visit_daily_keys WHERE dimension = 'hour_of_day'`);
    await env.db.query('DROP TABLE visit_daily_numbers');
    await env.db.exec(
      readFileSync(new URL('../src/db/migrations/029_hour_and_number_rollups.sql', import.meta.url), 'utf8'),
    );
    expect(await rows()).toEqual(written);
  }, 600_000);

  it("migration 030 adds keyword keys, key totals, the leads' visit fields and landing paths as written", async () => {
    await rollUp(`${LAST_DAY}T23:00:00Z`);
    const copies = VISIT_REPORT_FIELDS.map((f) => `visit_${f}`);
    const rows = async () => [
      await env.db.query(
        `SELECT day::text, channel, key, visits FROM visit_daily_keys
          WHERE site_id = $1 AND dimension = 'keyword' ORDER BY 1, 2, 3`,
        [site.siteId],
      ),
      await env.db.query(
        `SELECT dimension, day::text, key, visits FROM visit_daily_key_totals WHERE site_id = $1 ORDER BY 1, 2, 3`,
        [site.siteId],
      ),
      await env.db.query(
        `SELECT id, ${copies.join(', ')}, visit_landing_path FROM leads WHERE site_id = $1 ORDER BY id`,
        [site.siteId],
      ),
      await env.db.query('SELECT id, visit_landing_path FROM calls WHERE site_id = $1 ORDER BY id', [
        site.siteId,
      ]),
    ];
    const written = await rows();
    expect(written[0].length).toBeGreaterThan(DAYS);
    expect(new Set(written[1].map((r) => (r as { dimension: string }).dimension))).toEqual(
      new Set(['city', 'hour_of_day', 'keyword', 'landing_page', 'region']),
    );
    expect(written[2].length).toBeGreaterThan(0);
    expect(written[2].every((r) => (r as { visit_channel: string | null }).visit_channel !== null)).toBe(
      true,
    );
    // The stored landing paths are the reports' own expression over the copied URL.
    for (const table of ['calls', 'leads']) {
      const [differ] = await env.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE visit_landing_path IS DISTINCT FROM ${pathOf('visit_landing_url')}`,
      );
      expect(differ.n, table).toBe(0);
    }
    await env.db.query(`DELETE FROM visit_daily_keys WHERE dimension = 'keyword'`);
    await env.db.query('DROP TABLE visit_daily_key_totals');
    await env.db.query('ALTER TABLE calls DROP COLUMN visit_landing_path');
    await env.db.query(
      `ALTER TABLE leads ${['visit_landing_path', ...copies].map((c) => `DROP COLUMN ${c}`).join(', ')}`,
    );
    await env.db.exec(
      readFileSync(
        new URL('../src/db/migrations/030_lead_visit_fields_key_totals.sql', import.meta.url),
        'utf8',
      ),
    );
    expect(await rows()).toEqual(written);
  }, 600_000);

  it('rolls a day up only an hour after it ended in the site time zone', async () => {
    await dropVisitRollup(env.db, site);
    // The last day ends at 21:00 UTC in Moscow.
    await rollUp(`${LAST_DAY}T21:59:00Z`);
    expect(await rolledTo()).toBe(LAST_DAY);
    await rollUp(`${LAST_DAY}T22:00:00Z`);
    expect(await rolledTo()).toBe(addDays(LAST_DAY, 1));
  }, 600_000);

  it('a visit written for a rolled-up day moves rolled_to back to that day', async () => {
    await rollUp(`${LAST_DAY}T23:00:00Z`);
    env.clock.set('2026-09-01T10:00:00Z');
    const res = await postVisit(env.app, { site: siteKey, url: 'https://divany.example/?utm_source=late' });
    expect(res.statusCode).toBe(200);
    expect(await rolledTo()).toBe('2026-09-01');
    await expectSameAsRaw();
  }, 600_000);

  it('a lazy lease for a visit of a rolled-up day moves rolled_to back (its number is a report key)', async () => {
    const leaseOn = await env.api('PATCH', `/api/v1/sites/${site.siteId}`, { leaseOn: 'visible' });
    expect(leaseOn.statusCode).toBe(200);
    env.clock.set('2026-09-03T10:00:00Z');
    const visit = (
      await postVisit(env.app, {
        site: siteKey,
        url: 'https://divany.example/?utm_source=yandex&utm_medium=cpc',
      })
    ).json();
    expect(visit.deferred).toBe(true);
    await rollUp(`${LAST_DAY}T23:00:00Z`);
    expect(await rolledTo()).toBe(addDays(LAST_DAY, 1));
    const leased = await postLease(env.app, { site: siteKey, visitor: visit.visitor, visit: visit.visit });
    expect(leased.statusCode).toBe(200);
    expect(leased.json().number).not.toBeNull();
    expect(await rolledTo()).toBe('2026-09-03');
    await expectSameAsRaw();
  }, 600_000);

  it('after a change of the site time zone: ignored at once, rebuilt in the new zone by the next pass', async () => {
    await rollUp(`${LAST_DAY}T23:00:00Z`);
    const patch = await env.api('PATCH', `/api/v1/sites/${site.siteId}`, { timeZone: 'Asia/Yekaterinburg' });
    expect(patch.statusCode).toBe(200);
    const stale = await withRollup(env.db, { ...site, timeZone: 'Asia/Yekaterinburg' });
    expect(stale.rolledTo).toBeNull();
    await rollUp(`${LAST_DAY}T23:00:00Z`);
    const rebuilt = await withRollup(env.db, { ...site, timeZone: 'Asia/Yekaterinburg' });
    expect(rebuilt.rolledTo).toBe(addDays(LAST_DAY, 1)); // 04:00 the next day in Yekaterinburg
    await expectSameAsRaw();
  }, 600_000);
});
