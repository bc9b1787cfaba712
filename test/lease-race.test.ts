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
});
