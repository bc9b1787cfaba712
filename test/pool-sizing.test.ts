import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import {
  callEvents,
  postCallEvents,
  postPing,
  postVisit,
  setupSite,
  type TestEnv,
  testEnv,
} from './helpers.js';

const paid = 'https://divany.example/sofas?utm_source=google&utm_medium=cpc&utm_campaign=brand';

/** Pool sizing from real visits driven through the widget endpoints with a manual clock (freeze 15 min). */
describe('pool sizing API', () => {
  let env: TestEnv;

  beforeEach(async () => {
    env = await testEnv('2026-11-02T09:00:00Z');
  });
  afterEach(() => env.close());

  async function homePool(siteId: string): Promise<string> {
    const pools = (await env.api('GET', `/api/v1/sites/${siteId}/pools`)).json();
    return pools[0].id;
  }

  const visit = async (siteKey: string, extra: Record<string, unknown> = {}) =>
    (await postVisit(env.app, { site: siteKey, url: paid, ...extra })).json();

  /**
   * Pool of 2. 09:00 A takes n1, 09:01 B takes n2, 09:02 C finds the pool exhausted (default number).
   * A leaves at 09:05, C at 09:04, B at 09:06; D arrives at 09:30 (all free again) and stays silent.
   * Holds at freeze 15: A [0,20) B [1,21) C [2,19) (unserved) D [30, 30+1+15=46).
   * Peak 3 (at 09:02). Replay at 2 numbers: A, B served, C unserved, D served: 3/4.
   */
  async function threeOverlapping() {
    const s = await setupSite(env, { poolSize: 2 });
    const a = await visit(s.site.siteKey);
    env.clock.advanceMinutes(1);
    const b = await visit(s.site.siteKey);
    env.clock.advanceMinutes(1);
    const c = await visit(s.site.siteKey);
    expect([a.number.e164, b.number.e164].sort()).toEqual([...s.pool].sort());
    expect(s.pool).not.toContain(c.number.e164);
    env.clock.advanceMinutes(1);
    await postPing(env.app, { visit: b.visit });
    env.clock.advanceMinutes(1);
    await postPing(env.app, { visit: c.visit, leave: true });
    env.clock.advanceMinutes(1);
    await postPing(env.app, { visit: a.visit, leave: true });
    env.clock.advanceMinutes(1);
    await postPing(env.app, { visit: b.visit, leave: true });
    env.clock.set('2026-11-02T09:30:00Z');
    const d = await visit(s.site.siteKey);
    expect(s.pool).toContain(d.number.e164);
    env.clock.set('2026-11-02T10:00:00Z');
    return { ...s, poolId: await homePool(s.site.id), c };
  }

  it('measures peak, recommendation, exhaustions and the what-if table exactly', async () => {
    const s = await threeOverlapping();
    const res = await env.api('GET', `/api/v1/sites/${s.site.id}/pools/${s.poolId}/sizing`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      poolId: s.poolId,
      poolName: 'Home',
      days: 7,
      visits: 4,
      poolSize: 2,
      freezeMinutes: 15,
      exhaustionPolicy: 'default',
      callsDuringVisit: 0,
      callsInFreezeAfterVisit: 0,
      duringVisitShare: 0.5,
      targetAccuracy: 0.99,
      peakHeld: 3,
      recommended: 3,
      recommendedServed: 3,
      // Without sharing, a visit shown the default number loses its calls; the others are exact.
      callAccuracyAtCurrentSize: 0.75,
      servedShareAtCurrentSize: 0.75,
      unservedAtCurrentSize: 1,
      exhaustions: 1,
      undersized: true,
    });
    // Freeze 5: A [0,10) B [1,11) C [2,9) D [30,36): still three at 09:02.
    expect(body.byFreeze.find((f: { freezeMinutes: number }) => f.freezeMinutes === 5)).toEqual({
      freezeMinutes: 5,
      peakHeld: 3,
      recommended: 3,
      recommendedServed: 3,
    });
    const cell = (size: number, freeze: number) =>
      body.whatIf.find(
        (w: { size: number; freezeMinutes: number }) => w.size === size && w.freezeMinutes === freeze,
      );
    expect(cell(2, 15)).toEqual({
      size: 2,
      freezeMinutes: 15,
      callAccuracy: 0.75,
      servedShare: 0.75,
      unserved: 1,
    });
    expect(cell(3, 20)).toEqual({ size: 3, freezeMinutes: 20, callAccuracy: 1, servedShare: 1, unserved: 0 });
    // Freeze 30: A [0,35) B [1,36) C [2,34) are all still frozen when D arrives at 09:30 (D [30,61)).
    expect(cell(3, 30)).toEqual({
      size: 3,
      freezeMinutes: 30,
      callAccuracy: 0.75,
      servedShare: 0.75,
      unserved: 1,
    });
    expect(cell(4, 30)).toEqual({ size: 4, freezeMinutes: 30, callAccuracy: 1, servedShare: 1, unserved: 0 });
    expect(body.byFreeze.find((f: { freezeMinutes: number }) => f.freezeMinutes === 30)).toEqual({
      freezeMinutes: 30,
      peakHeld: 4,
      recommended: 4,
      recommendedServed: 4,
    });
    // Sizes: current 2, peak 3, ceil(3 × 0.5, 0.75, 1.1, 1.5) = 2, 3, 4, 5; freezes 5, 10, 15, 20, 30.
    expect([...new Set(body.whatIf.map((w: { size: number }) => w.size))]).toEqual([2, 3, 4, 5]);
    expect(body.whatIf).toHaveLength(4 * 5);

    // A lower target is met by the current pool.
    const lax = (
      await env.api('GET', `/api/v1/sites/${s.site.id}/pools/${s.poolId}/sizing?target=0.7&days=1`)
    ).json();
    expect(lax).toMatchObject({ recommended: 2, undersized: false, targetAccuracy: 0.7, days: 1 });

    const all = (await env.api('GET', `/api/v1/sites/${s.site.id}/sizing`)).json();
    expect(all.undersized).toBe(true);
    expect(all.pools).toHaveLength(1);
    // The pool's sizing computed above, stored and served again.
    expect(all.pools[0]).toEqual({ ...body, cached: true });
  });

  it('lists exhaustion events with the pool name, filtered and paged', async () => {
    const s = await threeOverlapping();
    const res = await env.api('GET', `/api/v1/sites/${s.site.id}/pool-events`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ total: 1, limit: 50, offset: 0 });
    expect(res.json().items).toEqual([
      {
        id: expect.any(String),
        type: 'pool_exhausted',
        at: '2026-11-02T09:02:00.000Z',
        poolId: s.poolId,
        poolName: 'Home',
        visitId: s.c.visit,
        action: 'default',
      },
    ]);
    const later = (
      await env.api('GET', `/api/v1/sites/${s.site.id}/pool-events?from=2026-11-02T09:02:00.001Z`)
    ).json();
    expect(later.total).toBe(0);
    const window = (
      await env.api(
        'GET',
        `/api/v1/sites/${s.site.id}/pool-events?from=2026-11-02T09:00:00Z&to=2026-11-02T09:03:00Z&limit=1&offset=0`,
      )
    ).json();
    expect(window.items).toHaveLength(1);
    const paged = (await env.api('GET', `/api/v1/sites/${s.site.id}/pool-events?limit=1&offset=1`)).json();
    expect(paged).toMatchObject({ total: 1, items: [] });
  });

  it('counts a shared visit once, as unserved demand', async () => {
    const s = await setupSite(env, { poolSize: 1, site: { exhaustionPolicy: 'share' } });
    const a = await visit(s.site.siteKey);
    env.clock.advanceMinutes(1);
    const b = await visit(s.site.siteKey);
    expect(b.number.e164).toBe(a.number.e164); // shared
    env.clock.set('2026-11-02T10:00:00Z');
    const poolId = await homePool(s.site.id);
    const body = (await env.api('GET', `/api/v1/sites/${s.site.id}/pools/${poolId}/sizing`)).json();
    // A [0,16) served, B [1,17) unserved (it only got a share): peak 2, one of two served.
    expect(body).toMatchObject({
      visits: 2,
      poolSize: 1,
      peakHeld: 2,
      recommended: 2,
      servedShareAtCurrentSize: 0.5,
      exhaustions: 1,
      undersized: true,
    });
  });

  it('sizes a sharing pool for its calls, with the call timing of its own calls', async () => {
    const s = await setupSite(env, { poolSize: 1, site: { exhaustionPolicy: 'share' } });
    const a = await visit(s.site.siteKey);
    // Two calls while A alone holds the number and is on the page: exact, attributed as active.
    for (const second of [20, 40]) {
      env.clock.set(`2026-11-02T09:00:${second}Z`);
      const { events } = callEvents({ from: '+79161234567', to: a.number.e164, at: env.clock.now() });
      expect((await postCallEvents(env.app, s.integration, events)).statusCode).toBe(200);
    }
    env.clock.set('2026-11-02T09:01:00Z');
    const b = await visit(s.site.siteKey);
    expect(b.number.e164).toBe(a.number.e164); // shared
    env.clock.set('2026-11-02T09:02:00Z');
    await postPing(env.app, { visit: a.visit, leave: true });
    env.clock.set('2026-11-02T09:04:00Z');
    await postPing(env.app, { visit: b.visit, leave: true });
    env.clock.set('2026-11-02T10:00:00Z');
    const poolId = await homePool(s.site.id);
    const body = (
      await env.api('GET', `/api/v1/sites/${s.site.id}/pools/${poolId}/sizing?target=0.6`)
    ).json();
    // Holds (minutes): A [0,17) on the page until 2; B [1,19) on the page until 4. Call timing: 2 of 2 calls
    // on the page, shrunk towards ½ by 10 prior calls: (2 + 5) / 12 = 7/12 on the page.
    // One number, shared: A wins 0–1, ties with B 1–2 (½), then B is on the page or seen last: A gets 0.75
    // of its page calls and none of its freeze calls; B ties 1–2, then wins: 5/6 of page calls, all freeze.
    const d = 7 / 12;
    const accuracy = (d * 0.75 + d * (5 / 6) + (1 - d)) / 2;
    expect(body).toMatchObject({
      visits: 2,
      poolSize: 1,
      exhaustionPolicy: 'share',
      callsDuringVisit: 2,
      callsInFreezeAfterVisit: 0,
      peakHeld: 2,
      // 0.67 of calls right with one number meets 0.6; only two numbers serve 60% of visits a free one.
      recommended: 1,
      recommendedServed: 2,
      servedShareAtCurrentSize: 0.5,
      undersized: false,
    });
    expect(body.duringVisitShare).toBeCloseTo(d, 6);
    expect(body.callAccuracyAtCurrentSize).toBeCloseTo(accuracy, 6);
    const strict = (await env.api('GET', `/api/v1/sites/${s.site.id}/pools/${poolId}/sizing`)).json();
    expect(strict).toMatchObject({ recommended: 2, undersized: true });
  });

  it('ends a lease handed over to the same visitor at the handover', async () => {
    const s = await setupSite(env, { poolSize: 1 });
    const first = await visit(s.site.siteKey, { visitor: 'returning' });
    env.clock.advanceMinutes(2);
    await postPing(env.app, { visit: first.visit, leave: true });
    env.clock.advanceMinutes(3);
    // A new visit of the same visitor at 09:05 takes the number over while it is still frozen (until 09:17).
    const second = await visit(s.site.siteKey, { visitor: 'returning' });
    expect(second.visit).not.toBe(first.visit);
    expect(second.number.e164).toBe(first.number.e164);
    env.clock.set('2026-11-02T10:00:00Z');
    const poolId = await homePool(s.site.id);
    const body = (await env.api('GET', `/api/v1/sites/${s.site.id}/pools/${poolId}/sizing`)).json();
    // First [0,5) cut at the handover, second [5,21): one number suffices.
    expect(body).toMatchObject({
      visits: 2,
      peakHeld: 1,
      recommended: 1,
      servedShareAtCurrentSize: 1,
      exhaustions: 0,
      undersized: false,
    });
  });

  it('is empty but well-formed for a pool without traffic', async () => {
    const s = await setupSite(env, { poolSize: 2 });
    const poolId = await homePool(s.site.id);
    const body = (await env.api('GET', `/api/v1/sites/${s.site.id}/pools/${poolId}/sizing`)).json();
    expect(body).toMatchObject({ visits: 0, poolSize: 2, peakHeld: 0, recommended: 0, undersized: false });
    expect(body.whatIf.map((w: { size: number }) => w.size)).toEqual([2, 2, 2, 2, 2]);
  });

  it('rejects bad input naming the field', async () => {
    const s = await setupSite(env, { poolSize: 1 });
    const poolId = await homePool(s.site.id);
    const base = `/api/v1/sites/${s.site.id}`;
    const cases: Array<[string, string]> = [
      [`${base}/pools/${poolId}/sizing?days=0`, 'querystring.days'],
      [`${base}/pools/${poolId}/sizing?days=91`, 'querystring.days'],
      [`${base}/pools/${poolId}/sizing?days=abc`, 'querystring.days'],
      [`${base}/pools/${poolId}/sizing?target=1`, 'querystring.target'],
      [`${base}/pools/${poolId}/sizing?target=0.4`, 'querystring.target'],
      [`${base}/sizing?target=0.99999`, 'querystring.target'],
      [`${base}/pools/not-a-uuid/sizing`, 'params.poolId'],
      [`${base}/pool-events?from=yesterday`, 'querystring.from'],
      [`${base}/pool-events?limit=0`, 'querystring.limit'],
    ];
    for (const [url, field] of cases) {
      const res = await env.api('GET', url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().message, url).toContain(field);
    }
    const unknownPool = await env.api('GET', `${base}/pools/00000000-0000-4000-8000-000000000000/sizing`);
    expect(unknownPool.statusCode).toBe(404);
  });

  it("hides another account's pools and events", async () => {
    const s = await threeOverlapping();
    const other = await createAccount(env.db, env.clock, 'Other account');
    const { key } = await createApiKey(env.db, env.clock, other, 'other');
    const get = (url: string) =>
      env.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    for (const url of [
      `/api/v1/sites/${s.site.id}/pools/${s.poolId}/sizing`,
      `/api/v1/sites/${s.site.id}/sizing`,
      `/api/v1/sites/${s.site.id}/pool-events`,
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
    }
    // A pool of another site of the same account is not found under this site either.
    const mine = (await env.api('POST', '/api/v1/sites', { name: 'Второй сайт' })).json();
    const res = await env.api('GET', `/api/v1/sites/${mine.id}/pools/${s.poolId}/sizing`);
    expect(res.statusCode).toBe(404);
  });
});
