// The lease touches of page hits and pings are single statements (src/tracking/leases.ts touchLeaseCtes):
// the number's hold must still be the latest end among all its leases, also when the touched one ends first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postPing, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

const landing = 'https://divany.example/?utm_source=yandex&utm_medium=cpc&utm_campaign=c1';
const MINUTE = 60_000;

describe('lease touches of a shared number', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env, { poolSize: 1, site: { exhaustionPolicy: 'share', freezeMinutes: 15 } });
  });
  afterAll(() => env.close());

  const heldUntil = async () =>
    (
      await env.db.query<{ held_until: Date }>(
        'SELECT held_until FROM numbers WHERE account_id = $1 AND kind = $2',
        [env.accountId, 'pool'],
      )
    )[0].held_until.getTime();
  const leaseEnd = async (visit: string) =>
    (
      await env.db.query<{ held_until: Date }>(
        'SELECT held_until FROM leases WHERE account_id = $1 AND visit_id = $2',
        [env.accountId, visit],
      )
    )[0].held_until.getTime();

  it('keeps the number held until the latest lease ends, through leave, page and heartbeat', async () => {
    const t0 = env.clock.now().getTime();
    const a = (
      await postVisit(env.app, { site: s.site.siteKey, url: landing, visitor: 'visitor-touch-a' })
    ).json();
    env.clock.advanceMinutes(1);
    // The pool's only number is held by a, so b shares it.
    const b = (
      await postVisit(env.app, { site: s.site.siteKey, url: landing, visitor: 'visitor-touch-b' })
    ).json();
    expect(b.number.e164).toBe(a.number.e164);
    expect(await heldUntil()).toBe(t0 + MINUTE + MINUTE + 15 * MINUTE);

    // a leaves half a minute later: its lease ends before b's, so the number stays held for b.
    env.clock.advanceMinutes(0.5);
    const left = (await postPing(env.app, { visit: a.visit, leave: true })).json();
    expect(left.alive).toBe(true);
    expect(await leaseEnd(a.visit)).toBe(t0 + 1.5 * MINUTE + 15 * MINUTE);
    expect(await heldUntil()).toBe(await leaseEnd(b.visit));
    expect(await heldUntil()).toBe(t0 + 17 * MINUTE);

    // b's next page extends b's lease and the number's hold, and counts the page.
    env.clock.advanceMinutes(1.5);
    const page = (
      await postVisit(env.app, {
        site: s.site.siteKey,
        url: 'https://divany.example/sofas',
        visitor: 'visitor-touch-b',
        visit: b.visit,
      })
    ).json();
    expect(page.visit).toBe(b.visit);
    expect(page.number.e164).toBe(a.number.e164);
    expect(await leaseEnd(b.visit)).toBe(t0 + 3 * MINUTE + MINUTE + 15 * MINUTE);
    expect(await heldUntil()).toBe(t0 + 19 * MINUTE);
    const [visit] = await env.db.query<{ page_views: number; views: number }>(
      `SELECT v.page_views, (SELECT count(*)::int FROM page_views p WHERE p.account_id = v.account_id
                                                                    AND p.visit_id = v.id) AS views
         FROM visits v WHERE v.account_id = $1 AND v.id = $2`,
      [env.accountId, b.visit],
    );
    expect(visit).toEqual({ page_views: 2, views: 2 });

    // A heartbeat of a, whose lease is still live, extends it without shortening the number's hold.
    env.clock.advanceMinutes(1);
    expect((await postPing(env.app, { visit: a.visit })).json().alive).toBe(true);
    expect(await leaseEnd(a.visit)).toBe(t0 + 4 * MINUTE + MINUTE + 15 * MINUTE);
    expect(await heldUntil()).toBe(t0 + 20 * MINUTE);
  });

  it('answers 404 for a heartbeat of an unknown visit and changes nothing', async () => {
    const before = await heldUntil();
    const res = await postPing(env.app, { visit: '00000000-0000-4000-8000-000000000000' });
    expect(res.statusCode).toBe(404);
    expect(await heldUntil()).toBe(before);
  });
});
