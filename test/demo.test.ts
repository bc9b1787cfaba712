import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../src/accounts/keys.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import type { Db } from '../src/db/db.js';
import { loadDemo } from '../src/demo/demo.js';
import { testDb } from './helpers.js';

const size = { days: 2, visitsPerDay: 60, seed: 1 };

async function freshDemo() {
  const db = await testDb();
  const accountId = await createAccount(db, systemClock, 'Demo account');
  const summary = await loadDemo({ config: loadConfig({}), db, accountId, ...size });
  return { db, accountId, summary };
}

describe('the demo site', () => {
  let db: Db;
  let accountId: string;
  let summary: Awaited<ReturnType<typeof loadDemo>>;

  beforeAll(async () => {
    ({ db, accountId, summary } = await freshDemo());
  }, 60_000);
  afterAll(() => db?.close());

  const one = async <T>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params))[0];

  it('stores the visits and calls it reports, all inside the simulated period', async () => {
    expect(summary.siteName).toBe('Диваны на заказ');
    expect(summary.visits).toBeGreaterThan(100);
    expect(summary.calls).toBeGreaterThan(5);
    const counts = await one<{ visits: number; calls: number; first: Date; last: Date; views: number }>(
      `SELECT (SELECT count(*)::int FROM visits WHERE site_id = $1) AS visits,
              (SELECT count(*)::int FROM calls WHERE site_id = $1) AS calls,
              (SELECT min(started_at) FROM visits WHERE site_id = $1) AS first,
              (SELECT max(started_at) FROM calls WHERE site_id = $1) AS last,
              (SELECT count(*)::int FROM page_views) AS views`,
      [summary.siteId],
    );
    expect(counts.visits).toBe(summary.visits);
    expect(counts.calls).toBe(summary.calls);
    expect(counts.views).toBeGreaterThan(counts.visits);
    expect(counts.first.getTime()).toBeGreaterThanOrEqual(Date.now() - 2 * 86_400_000 - 60_000);
    expect(counts.last.getTime()).toBeLessThan(Date.now());
  });

  it('sets the site up through the API: pools, static rules, the default number', async () => {
    const site = await one<{ multi_regional: boolean; default_number: string; time_zone: string }>(
      'SELECT multi_regional, default_number, time_zone FROM sites WHERE id = $1',
      [summary.siteId],
    );
    expect(site).toEqual({
      multi_regional: true,
      default_number: '+74951234567',
      time_zone: 'Europe/Moscow',
    });
    const pools = await db.query<{ region: string | null; size: number }>(
      `SELECT p.region, count(n.id)::int AS size FROM pools p JOIN numbers n ON n.pool_id = p.id
        WHERE p.site_id = $1 GROUP BY p.region ORDER BY p.region NULLS FIRST`,
      [summary.siteId],
    );
    expect(pools).toEqual([
      { region: null, size: 12 },
      { region: 'St.-Petersburg', size: 5 },
    ]);
    const rules = await db.query<{ source: string }>(
      'SELECT source FROM static_rules WHERE site_id = $1 ORDER BY source',
      [summary.siteId],
    );
    expect(rules.map((r) => r.source)).toEqual(['avito', 'billboard']);
    // The loader's API key is revoked once the demo is in.
    const keys = await db.query<{ revoked_at: Date | null }>(
      'SELECT revoked_at FROM api_keys WHERE account_id = $1',
      [accountId],
    );
    expect(keys.every((k) => k.revoked_at !== null)).toBe(true);
  });

  it('has a realistic traffic mix: channels, regions, devices, bots, returning visitors', async () => {
    const channels = (
      await db.query<{ channel: string }>('SELECT DISTINCT channel FROM visits WHERE site_id = $1', [
        summary.siteId,
      ])
    ).map((r) => r.channel);
    expect(channels).toEqual(
      expect.arrayContaining(['paid_search', 'organic_search', 'direct', 'referral', 'display']),
    );
    const facts = await one<Record<string, number>>(
      `SELECT count(*) FILTER (WHERE region = 'Moscow')::int AS moscow,
              count(*) FILTER (WHERE region = 'St.-Petersburg')::int AS spb,
              count(*) FILTER (WHERE device_type = 'mobile')::int AS mobile,
              count(*) FILTER (WHERE is_bot)::int AS bots,
              count(*) FILTER (WHERE keyword IS NOT NULL)::int AS keywords,
              count(*) FILTER (WHERE gclid IS NOT NULL)::int AS gclids,
              count(*) FILTER (WHERE number_method = 'pool')::int AS pool,
              count(*) FILTER (WHERE number_method = 'static')::int AS static,
              count(*)::int - count(DISTINCT visitor_id)::int AS returns
         FROM visits WHERE site_id = $1`,
      [summary.siteId],
    );
    for (const [name, n] of Object.entries(facts)) expect(n, name).toBeGreaterThan(0);
    // A St Petersburg visitor from an ad gets a number of the St Petersburg pool.
    const spbLease = await one<{ n: number }>(
      `SELECT count(*)::int AS n FROM visits v JOIN numbers n ON n.id = v.number_id
        WHERE v.site_id = $1 AND v.region = 'St.-Petersburg' AND v.number_method = 'pool' AND n.e164 LIKE '+7812%'`,
      [summary.siteId],
    );
    expect(spbLease.n).toBeGreaterThan(0);
  });

  it('attributes calls to the visits that held the numbers and classifies them', async () => {
    const dynamic = await db.query<{ source: string; channel: string; keyword: string | null }>(
      `SELECT v.source, v.channel, v.keyword FROM calls c JOIN visits v ON v.id = c.visit_id
        WHERE c.site_id = $1 AND c.method = 'dynamic'`,
      [summary.siteId],
    );
    expect(dynamic.length).toBeGreaterThan(0);
    for (const visit of dynamic) {
      expect(['paid_search', 'paid_social', 'display']).toContain(visit.channel);
      expect(visit.source).toBeTruthy();
    }
    const classes = await one<Record<string, number>>(
      `SELECT count(*) FILTER (WHERE is_repeat)::int AS repeat,
              count(*) FILTER (WHERE is_missed)::int AS missed,
              count(*) FILTER (WHERE is_unique)::int AS uniq,
              count(*) FILTER (WHERE is_targeted)::int AS targeted,
              count(*) FILTER (WHERE recording_url IS NOT NULL)::int AS recorded,
              count(DISTINCT group_name)::int AS groups
         FROM calls WHERE site_id = $1`,
      [summary.siteId],
    );
    for (const [name, n] of Object.entries(classes)) expect(n, name).toBeGreaterThan(0);
  });

  it('gives static calls the source of their rule', async () => {
    const rows = await db.query<{ source: string; medium: string }>(
      `SELECT coalesce(v.source, sr.source) AS source, coalesce(v.medium, sr.medium) AS medium
         FROM calls c JOIN static_rules sr ON sr.id = c.static_rule_id LEFT JOIN visits v ON v.id = c.visit_id
        WHERE c.site_id = $1 AND c.method = 'static'`,
      [summary.siteId],
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(['avito', 'billboard']).toContain(row.source);
    expect(rows.some((r) => r.source === 'billboard' && r.medium === 'offline')).toBe(true);
  });

  it('does not load the demo twice into one account', async () => {
    const again = await loadDemo({ config: loadConfig({}), db, accountId, ...size });
    expect(again).toEqual(summary);
    const sites = await one<{ n: number }>('SELECT count(*)::int AS n FROM sites WHERE account_id = $1', [
      accountId,
    ]);
    expect(sites.n).toBe(1);
  });

  it('leaves nothing behind when loading fails, so it can be retried', async () => {
    const other = await createAccount(db, systemClock, 'Other account');
    // The account already uses the demo's Avito number, so setting up the demo fails halfway.
    await db.query(
      `INSERT INTO numbers (account_id, id, e164, kind, created_at)
       VALUES ($1, gen_random_uuid(), '+74951203344', 'static', now())`,
      [other],
    );
    const small = { config: loadConfig({}), db, accountId: other, days: 1, visitsPerDay: 10, seed: 1 };
    await expect(loadDemo(small)).rejects.toThrow(/409/);
    const left = await one<{ sites: number; keys: number }>(
      `SELECT (SELECT count(*)::int FROM sites WHERE account_id = $1) AS sites,
              (SELECT count(*)::int FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL) AS keys`,
      [other],
    );
    expect(left).toEqual({ sites: 0, keys: 0 });

    await db.query(`DELETE FROM numbers WHERE account_id = $1 AND e164 = '+74951203344'`, [other]);
    const loaded = await loadDemo(small);
    expect(loaded.visits).toBeGreaterThan(0);
  });

  it('is reproducible: the same seed gives the same traffic on a fresh database', async () => {
    const second = await freshDemo();
    try {
      expect(second.summary.visits).toBe(summary.visits);
      expect(second.summary.calls).toBe(summary.calls);
      const mix = (d: Db, siteId: string) =>
        d.query('SELECT channel, count(*)::int AS n FROM visits WHERE site_id = $1 GROUP BY 1 ORDER BY 1', [
          siteId,
        ]);
      expect(await mix(second.db, second.summary.siteId)).toEqual(await mix(db, summary.siteId));
    } finally {
      await second.db.close();
    }
  }, 60_000);
});
