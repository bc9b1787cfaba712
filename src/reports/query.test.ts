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
});
