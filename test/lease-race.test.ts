import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/** The claim is one atomic statement: concurrent visits never hold the same number (DESIGN §3). */
describe('concurrent number claims', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  beforeAll(async () => {
    // 60 connections on PostgreSQL, so all 60 claims run as truly concurrent transactions.
    env = await testEnv(undefined, 60);
    s = await setupSite(env, { poolSize: 40 });
  });
  afterAll(() => env.close());

  it('60 simultaneous paid visits take 40 distinct numbers and 20 get the default number', async () => {
    const url = 'https://a.example/?utm_source=yandex&utm_medium=cpc';
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        postVisit(env.app, { site: s.site.siteKey, url, visitor: `race-visitor-${i}` }),
      ),
    );
    const numbers = results.map((r) => {
      expect(r.statusCode).toBe(200);
      return r.json().number.e164 as string;
    });
    const pooled = numbers.filter((n) => n !== '+74951234567');
    expect(pooled).toHaveLength(40);
    expect(new Set(pooled).size).toBe(40);
    const overlaps = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM leases a JOIN leases b ON a.number_id = b.number_id AND a.id < b.id
        WHERE a.started_at < b.held_until AND b.started_at < a.held_until`,
    );
    expect(overlaps[0].n).toBe(0);
    const exhaustions = await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM pool_exhaustions');
    expect(exhaustions[0].n).toBe(20);
  });

  it('pages of one visit loading at once in several tabs, after its lease ran out, lease one number', async () => {
    const url = 'https://a.example/?utm_source=yandex&utm_medium=cpc';
    env.clock.advance(20 * 60_000); // every lease of the test above has ended
    // Without stickiness the renewal takes another number, so a tab that read the visit early would show a stale one.
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { visitorStickiness: false });
    const v = (await postVisit(env.app, { site: s.site.siteKey, url, visitor: 'tabs-visitor' })).json();
    env.clock.advance(20 * 60_000); // a hidden tab sent no heartbeat: the lease ran out, the visit goes on
    const pages = await Promise.all(
      Array.from({ length: 5 }, () =>
        postVisit(env.app, { site: s.site.siteKey, url, visitor: v.visitor, visit: v.visit }),
      ),
    );
    expect(new Set(pages.map((p) => p.json().visit))).toEqual(new Set([v.visit]));
    const leases = await env.db.query<{ e164: string }>(
      `SELECT n.e164 FROM leases l JOIN numbers n ON n.id = l.number_id WHERE l.visit_id = $1 ORDER BY l.started_at`,
      [v.visit],
    );
    expect(leases).toHaveLength(2); // the first page's and one renewal
    expect(pages.map((p) => p.json().number.e164)).toEqual(Array(5).fill(leases[1].e164));
  });
});
