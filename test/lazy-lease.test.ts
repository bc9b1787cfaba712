import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  callEvents,
  postCallEvents,
  postLease,
  postPing,
  postVisit,
  setupSite,
  type TestEnv,
  testEnv,
} from './helpers.js';

const PAID = 'https://a.example/?utm_source=yandex&utm_medium=cpc';
const DEFAULT = '+74951234567';

/** Site setting leaseOn: 'visible' — /t/visit records the visit without a lease, /t/lease leases. */
describe('lazy leasing (leaseOn: visible)', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  beforeEach(async () => {
    env = await testEnv();
    s = await setupSite(env, { poolSize: 3, site: { leaseOn: 'visible' } });
  });
  afterEach(() => env.close());

  const count = async (table: string) =>
    (await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0].n;
  const visitRow = async (id: string) =>
    (
      await env.db.query<{ number_id: string | null; number_method: string; pool_id: string | null }>(
        'SELECT number_id, number_method, pool_id FROM visits WHERE id = $1',
        [id],
      )
    )[0];

  it('is a validated site setting, load by default', async () => {
    const site = (await env.api('POST', '/api/v1/sites', { name: 'Defaults' })).json();
    expect(site.leaseOn).toBe('load');
    const bad = await env.api('PATCH', `/api/v1/sites/${site.id}`, { leaseOn: 'scroll' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/leaseOn/);
    const ok = await env.api('PATCH', `/api/v1/sites/${site.id}`, { leaseOn: 'visible' });
    expect(ok.json().leaseOn).toBe('visible');
    expect(s.site.leaseOn).toBe('visible');
  });

  it('a page load records the visit and its pool but leases nothing; /t/lease leases, idempotently', async () => {
    const v = (
      await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: 'visitor-lazy-1' })
    ).json();
    expect(v).toMatchObject({ number: null, deferred: true, visitor: 'visitor-lazy-1' });
    expect(await count('leases')).toBe(0);
    expect(await count('page_views')).toBe(1);
    const pool = (await env.api('GET', `/api/v1/sites/${s.site.id}/pools`)).json()[0];
    expect(await visitRow(v.visit)).toEqual({ number_id: null, number_method: 'pool', pool_id: pool.id });

    env.clock.advance(20_000); // the visitor scrolls to the phone 20 s later
    const first = await postLease(env.app, { site: s.site.siteKey, visitor: v.visitor, visit: v.visit });
    expect(first.statusCode).toBe(200);
    const leased = first.json().number;
    expect(s.pool).toContain(leased.e164);
    expect(first.json()).toEqual({
      visit: v.visit,
      number: { e164: leased.e164, display: expect.any(String), digits: expect.any(Array) },
    });
    const [lease] = await env.db.query<{ started_at: Date; held_until: Date; visitor_id: string }>(
      'SELECT started_at, held_until, visitor_id FROM leases WHERE visit_id = $1',
      [v.visit],
    );
    // The lease starts when the number is shown, with the usual lifetime (1 min grace + 15 min freeze).
    expect(lease.started_at).toEqual(env.clock.now());
    expect(lease.held_until.getTime() - env.clock.now().getTime()).toBe(16 * 60_000);
    expect(lease.visitor_id).toBe('visitor-lazy-1');
    expect((await visitRow(v.visit)).number_method).toBe('pool');

    env.clock.advance(5_000);
    const again = await postLease(env.app, { site: s.site.siteKey, visitor: v.visitor, visit: v.visit });
    expect(again.json().number.e164).toBe(leased.e164);
    expect(await count('leases')).toBe(1);

    // The next page of the visit shows its number at once.
    const next = (
      await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: v.visitor, visit: v.visit })
    ).json();
    expect(next).toMatchObject({ visit: v.visit, deferred: false, number: { e164: leased.e164 } });
    expect(await count('leases')).toBe(1);
  });

  it('simultaneous lease requests of one visit (two tabs) take one number', async () => {
    const v = (await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: 'visitor-tabs' })).json();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        postLease(env.app, { site: s.site.siteKey, visitor: v.visitor, visit: v.visit }),
      ),
    );
    const numbers = new Set(answers.map((a) => a.json().number.e164));
    expect(numbers.size).toBe(1);
    expect(await count('leases')).toBe(1);
  });

  it('a continuing visit whose lease ran out waits for the number to be shown again', async () => {
    const v = (await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: 'visitor-idle' })).json();
    const first = (
      await postLease(env.app, { site: s.site.siteKey, visitor: v.visitor, visit: v.visit })
    ).json();
    env.clock.advance(20 * 60_000); // no heartbeat for 20 min (a hidden tab): the lease ran out at 16 min
    const next = (
      await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: v.visitor, visit: v.visit })
    ).json();
    expect(next).toMatchObject({ visit: v.visit, number: null, deferred: true });
    expect(await count('leases')).toBe(1);
    const again = (
      await postLease(env.app, { site: s.site.siteKey, visitor: v.visitor, visit: v.visit })
    ).json();
    expect(again.number.e164).toBe(first.number.e164); // free again, and still this visitor's
    expect(await count('leases')).toBe(2);
  });

  it('a visit that never shows a number never takes one; the next page is still deferred', async () => {
    const v = (
      await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: 'visitor-lazy-2' })
    ).json();
    await postPing(env.app, { visit: v.visit });
    const next = (
      await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: v.visitor, visit: v.visit })
    ).json();
    expect(next).toMatchObject({ visit: v.visit, number: null, deferred: true });
    expect(await count('leases')).toBe(0);
    const free = await env.db.query('SELECT 1 FROM numbers WHERE held_until IS NOT NULL');
    expect(free).toHaveLength(0);
  });

  it('lease lifetime and attribution are unchanged: leave freezes, a call reaches the visit', async () => {
    const v = (
      await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: 'visitor-lazy-3' })
    ).json();
    env.clock.advance(10_000);
    const e164 = (
      await postLease(env.app, { site: s.site.siteKey, visitor: v.visitor, visit: v.visit })
    ).json().number.e164;
    env.clock.advance(60_000);
    await postPing(env.app, { visit: v.visit, leave: true });
    const [lease] = await env.db.query<{ held_until: Date }>(
      'SELECT held_until FROM leases WHERE visit_id = $1',
      [v.visit],
    );
    expect(lease.held_until.getTime()).toBe(env.clock.now().getTime() + 15 * 60_000);

    env.clock.advance(5 * 60_000); // in the freeze
    const { events } = callEvents({ from: '+79161234500', to: e164, at: env.clock.now() });
    const id = (await postCallEvents(env.app, s.integration, events)).json().calls[0];
    const call = (await env.api('GET', `/api/v1/calls/${id}`)).json();
    expect(call).toMatchObject({ visitId: v.visit, method: 'dynamic', source: 'yandex' });
  });

  it('visits that need no pool number get theirs at once; /t/lease returns it without leasing', async () => {
    const direct = (await postVisit(env.app, { site: s.site.siteKey, url: 'https://a.example/' })).json();
    expect(direct).toMatchObject({ deferred: false, number: { e164: DEFAULT } });
    const again = await postLease(env.app, {
      site: s.site.siteKey,
      visitor: direct.visitor,
      visit: direct.visit,
    });
    expect(again.json().number.e164).toBe(DEFAULT);
    expect(await count('leases')).toBe(0);
  });

  it('exhaustion on a lease request: the default number, one exhaustion event however often asked', async () => {
    const visits = [];
    for (let i = 0; i < 4; i++)
      visits.push(
        (await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: `visitor-crowd-${i}` })).json(),
      );
    expect(await count('pool_exhaustions')).toBe(0); // four loads, three numbers: no exhaustion until shown
    const shown = [];
    for (const v of visits)
      shown.push(
        (await postLease(env.app, { site: s.site.siteKey, visitor: v.visitor, visit: v.visit })).json().number
          .e164,
      );
    expect(new Set(shown.slice(0, 3)).size).toBe(3);
    expect(shown[3]).toBe(DEFAULT);
    const last = visits[3];
    await postLease(env.app, { site: s.site.siteKey, visitor: last.visitor, visit: last.visit });
    expect(await count('pool_exhaustions')).toBe(1);
    expect((await visitRow(last.visit)).number_method).toBe('default');
  });

  it('a returning visitor gets its earlier number back when it is free again', async () => {
    const first = (
      await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: 'visitor-back' })
    ).json();
    const mine = (
      await postLease(env.app, { site: s.site.siteKey, visitor: first.visitor, visit: first.visit })
    ).json().number.e164;
    await postPing(env.app, { visit: first.visit, leave: true });
    env.clock.advance(3 * 3_600_000);
    const back = (
      await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: 'visitor-back' })
    ).json();
    expect(back.visit).not.toBe(first.visit);
    expect(back.deferred).toBe(true);
    const again = (
      await postLease(env.app, { site: s.site.siteKey, visitor: back.visitor, visit: back.visit })
    ).json();
    // Least-recently-released alone would pick a never-used number.
    expect(again.number.e164).toBe(mine);
  });

  it('refuses a visit of another visitor or another site, and a bad site key; stores nothing', async () => {
    const v = (
      await postVisit(env.app, { site: s.site.siteKey, url: PAID, visitor: 'visitor-lazy-4' })
    ).json();
    const other = (await env.api('POST', '/api/v1/sites', { name: 'Other site' })).json();
    const cases = [
      [{ site: s.site.siteKey, visitor: 'someone-else', visit: v.visit }, 404, /not a visit of this visitor/],
      [{ site: other.siteKey, visitor: v.visitor, visit: v.visit }, 404, /not a visit of this visitor/],
      [{ site: 'no-such-site', visitor: v.visitor, visit: v.visit }, 404, /no-such-site/],
      [{ site: s.site.siteKey, visitor: v.visitor, visit: 'nope' }, 400, /body\.visit/],
      [{ site: s.site.siteKey, visit: v.visit }, 400, /body\.visitor/],
      [{ site: s.site.siteKey, visitor: v.visitor, visit: v.visit, extra: 1 }, 400, /extra/],
    ] as const;
    for (const [body, status, message] of cases) {
      const res = await postLease(env.app, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json().message).toMatch(message);
    }
    expect(await count('leases')).toBe(0);
    expect(await visitRow(v.visit)).toMatchObject({ number_id: null });
  });

  it('leaseOn: load keeps leasing at page load', async () => {
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { leaseOn: 'load' });
    const v = (await postVisit(env.app, { site: s.site.siteKey, url: PAID })).json();
    expect(v.deferred).toBe(false);
    expect(s.pool).toContain(v.number.e164);
    expect(await count('leases')).toBe(1);
  });
});
