import { describe, expect, it } from 'vitest';
import { DIMENSIONS } from './dimensions.js';
import { buildReportQuery } from './query.js';

const scope = { accountId: 'acc', siteId: 'site', timeZone: 'Europe/Moscow' };
const period = { from: '2026-11-09', to: '2026-11-10' };

describe('report SQL', () => {
  it('scopes both halves to the account, site and local-date bounds, and passes values as parameters', () => {
    const q = buildReportQuery(scope, 'source', period, {
      channel: 'paid_search',
      keyword: "x'; DROP TABLE calls",
    });
    expect(q.params).toEqual([
      'acc',
      'site',
      'Europe/Moscow',
      '2026-11-09',
      '2026-11-10',
      'paid_search',
      "x'; DROP TABLE calls",
    ]);
    expect(q.sql).not.toContain('DROP');
    expect(q.sql).toContain('v.account_id = $1 AND v.site_id = $2');
    expect(q.sql).toContain('c.account_id = $1 AND c.site_id = $2');
    expect(q.sql).toContain(
      'v.started_at >= ($4::date)::timestamp AT TIME ZONE $3 AND v.started_at < ($5::date + 1)::timestamp AT TIME ZONE $3',
    );
    expect(q.sql).toContain('NOT v.is_bot');
    expect(q.sql).toMatch(/= \$6/);
    expect(q.sql).toMatch(/= \$7/);
    expect(q.hasVisits).toBe(true);
  });

  it('filters calls only by class, and has no visits half for call-only dimensions', () => {
    const q = buildReportQuery(scope, 'employee', period, { class: 'targeted' });
    expect(q.sql).toContain('c.is_targeted');
    expect(q.sql).not.toContain('FROM visits v');
    expect(q.hasVisits).toBe(false);
  });

  it('builds every dimension', () => {
    for (const d of DIMENSIONS) expect(buildReportQuery(scope, d, period, {}).sql).toContain('GROUP BY 1');
  });

  it('reads leads without their visits, except for the keys of the number a visit was shown', () => {
    const allFilters = {
      channel: 'a',
      source: 'b',
      medium: 'c',
      campaign: 'd',
      keyword: 'e',
      region: 'f',
      device: 'g',
    };
    for (const d of DIMENSIONS) {
      const q = buildReportQuery(scope, d, period, allFilters);
      expect(q.sql, d).not.toContain('undefined');
      if (!q.hasVisits) continue;
      const joinsVisit = q.sql.includes('JOIN visits v ON v.account_id = l.account_id AND v.id = l.visit_id');
      expect(joinsVisit, d).toBe(d === 'tracking_number' || d === 'number_kind');
      expect(q.sql, d).toContain("l.visit_device_type, '(not set)') = $12");
    }
  });

  it('reads a comparison period in the same query, telling its rows apart by `previous`', () => {
    const previous = { from: '2026-11-07', to: '2026-11-08' };
    const q = buildReportQuery({ ...scope, rolledTo: '2026-11-10' }, 'keyword', period, {}, previous);
    // The range starts with the comparison period; $6 is the first day of the current one.
    expect(q.params).toEqual([
      'acc',
      'site',
      'Europe/Moscow',
      '2026-11-07',
      '2026-11-10',
      '2026-11-09',
      '2026-11-10',
    ]);
    expect(q.sql).toContain('(c.started_at < ($6::date)::timestamp AT TIME ZONE $3) AS previous');
    expect(q.sql).toContain('(l.created_at < ($6::date)::timestamp AT TIME ZONE $3) AS previous');
    expect(q.sql).toContain('(dk.day < $6::date) AS previous');
    expect(q.sql).toContain('(date < $6::date) AS previous');
    expect(q.sql).toContain('FULL JOIN cst USING (key, previous)');
    // Without a comparison every row is of the period.
    const single = buildReportQuery(scope, 'keyword', period, {});
    expect(single.sql).toContain('false AS previous');
    expect(single.sql).not.toContain('< ($6');
    expect(single.params).toHaveLength(5);
    expect(() =>
      buildReportQuery(scope, 'keyword', period, {}, { from: '2026-11-01', to: '2026-11-02' }),
    ).toThrow(/does not end before 2026-11-09/);
  });

  describe('with a daily rollup up to rolledTo', () => {
    const rolled = { ...scope, rolledTo: '2026-11-10' };
    const uses = (q: { sql: string }) => ({
      daily: q.sql.includes('FROM visit_daily vd'),
      keys: q.sql.includes('FROM visit_daily_keys dk'),
      totals: q.sql.includes('FROM visit_daily_key_totals dk'),
      numbers: q.sql.includes('FROM visit_daily_numbers v'),
    });

    it('reads visit_daily for traffic fields and calendar keys, raw visits from rolledTo on', () => {
      for (const d of ['channel', 'campaign', 'keyword', 'device', 'date', 'week', 'day_of_week'] as const) {
        const q = buildReportQuery(rolled, d, period, { source: 'yandex', device: 'mobile' });
        expect(uses(q), d).toEqual({ daily: true, keys: false, totals: false, numbers: false });
        expect(q.sql).toContain('vd.day < $8::date');
        expect(q.sql).toContain('greatest($4::date, $8::date)');
        expect(q.params.slice(5)).toEqual(['yandex', 'mobile', '2026-11-10']);
      }
    });

    it('reads visit_daily_key_totals for region, city, landing page, hour and keyword, visit_daily_keys by channel', () => {
      for (const d of ['region', 'city', 'landing_page', 'hour_of_day', 'keyword'] as const) {
        const none = { daily: false, keys: false, totals: false, numbers: false };
        expect(uses(buildReportQuery(rolled, d, period, {})), d).toEqual({ ...none, totals: true });
        const byChannel = buildReportQuery(rolled, d, period, { channel: 'direct' });
        expect(uses(byChannel), d).toEqual({ ...none, keys: true });
        expect(byChannel.sql).toContain('dk.channel = $6');
        // keyword by other filters reads visit_daily (the first test), the others raw visits.
        if (d !== 'keyword')
          expect(uses(buildReportQuery(rolled, d, period, { source: 'yandex' })), d).toEqual(none);
      }
    });

    it('reads visit_daily_numbers for tracking_number, unfiltered or by channel only', () => {
      const q = buildReportQuery(rolled, 'tracking_number', period, { channel: 'direct' });
      expect(uses(q)).toEqual({ daily: false, keys: false, totals: false, numbers: true });
      expect(q.sql).toContain('v.channel = $6');
    });

    it('reads raw visits where the rollup cannot answer, without an unused parameter', () => {
      for (const [d, filters] of [
        ['tracking_number', { source: 'yandex' }],
        ['campaign', { region: 'Москва' }],
      ] as const) {
        const q = buildReportQuery(rolled, d, period, filters);
        expect(uses(q), d).toEqual({ daily: false, keys: false, totals: false, numbers: false });
        expect(q.params).toHaveLength(5 + Object.keys(filters).length);
      }
      // A rollup ending before the period helps nothing.
      const before = buildReportQuery({ ...scope, rolledTo: '2026-11-09' }, 'channel', period, {});
      expect(uses(before)).toEqual({ daily: false, keys: false, totals: false, numbers: false });
      expect(before.params).toHaveLength(5);
    });
  });
});
