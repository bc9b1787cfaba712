import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postPing, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

const PAID = 'https://a.example/?utm_source=yandex&utm_medium=cpc';
const DEFAULT = '+74951234567';

// Each test gets its own account: setupSite's numbers are unique per account.
describe('site lease policy: number selection', () => {
  let env: TestEnv;
  beforeEach(async () => {
    env = await testEnv(undefined, 60);
  });
  afterEach(() => env.close());

  it('is validated and shown with the site; lru and stickiness by default', async () => {
    const site = (await env.api('POST', '/api/v1/sites', { name: 'Defaults' })).json();
    expect(site).toMatchObject({ numberSelection: 'lru', visitorStickiness: true });
    const bad = await env.api('PATCH', `/api/v1/sites/${site.id}`, { numberSelection: 'fifo' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/numberSelection/);
    expect((await env.api('PATCH', `/api/v1/sites/${site.id}`, { visitorStickiness: 'no' })).statusCode).toBe(
      400,
    );
    const ok = await env.api('PATCH', `/api/v1/sites/${site.id}`, {
      numberSelection: 'random',
      visitorStickiness: false,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ numberSelection: 'random', visitorStickiness: false });
  });

  it('random: 60 simultaneous visits still take 40 distinct numbers, no lease overlaps', async () => {
    const s = await setupSite(env, { poolSize: 40, site: { numberSelection: 'random' } });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: `random-visitor-${i}` }),
      ),
    );
    const numbers = results.map((r) => {
      expect(r.statusCode).toBe(200);
      return r.json().number.e164 as string;
    });
    const pooled = numbers.filter((n) => n !== DEFAULT);
    expect(pooled).toHaveLength(40);
    expect(new Set(pooled).size).toBe(40);
    const [overlaps] = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM leases a JOIN leases b ON a.number_id = b.number_id AND a.id < b.id
        WHERE a.site_id = $1 AND a.started_at < b.held_until AND b.started_at < a.held_until`,
      [s.site.id],
    );
    expect(overlaps.n).toBe(0);
    const [ex] = await env.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pool_exhaustions WHERE site_id = $1',
      [s.site.id],
    );
    expect(ex.n).toBe(20);
  });

  it('random does not hand out numbers in least-recently-released order', async () => {
    const s = await setupSite(env, { poolSize: 40, site: { numberSelection: 'random' } });
    const taken: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await postVisit(env.app, {
        site: s.site.siteKey,
        url: PAID,
        visitor: `order-visitor-${i}`,
      });
      taken.push(res.json().number.e164);
    }
    // All numbers are never-held, so lru takes them in id order.
    const lru = await env.db.query<{ e164: string }>(
      `SELECT e164 FROM numbers WHERE site_id = $1 AND kind = 'pool' ORDER BY id LIMIT 10`,
      [s.site.id],
    );
    expect(taken).not.toEqual(lru.map((r) => r.e164));
  });
});

describe('site lease policy: returning-visitor stickiness', () => {
  let env: TestEnv;
  beforeEach(async () => {
    env = await testEnv();
  });
  afterEach(() => env.close());

  /** A visitor takes a number, leaves, another visitor holds a number meanwhile, the first comes back later. */
  async function returningVisitor(stickiness: boolean) {
    const s = await setupSite(env, {
      poolSize: 2,
      site: { visitorStickiness: stickiness, freezeMinutes: 5 },
    });
    const visitor = `sticky-${stickiness}-visitor`;
    const first = (await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor })).json();
    await postPing(env.app, { visit: first.visit, leave: true });
    env.clock.advanceMinutes(40);
    const second = (await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor })).json();
    expect(second.visit).not.toBe(first.visit);
    return { first: first.number.e164 as string, second: second.number.e164 as string, pool: s.pool };
  }

  it('on (default): the returning visitor gets its number back', async () => {
    const r = await returningVisitor(true);
    expect(r.second).toBe(r.first);
  });

  it('off: the returning visitor gets a fresh number (the never-held one comes first)', async () => {
    const r = await returningVisitor(false);
    expect(r.pool).toContain(r.second);
    expect(r.second).not.toBe(r.first);
  });
});
