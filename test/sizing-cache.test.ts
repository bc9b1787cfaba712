import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { loadConfig } from '../src/config.js';
import { runInventoryDue } from '../src/inventory/lifecycle.js';
import { postPing, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

const paid = 'https://divany.example/sofas?utm_source=google&utm_medium=cpc&utm_campaign=brand';

/** Stored pool sizings (RINGTRACE_SIZING_MAX_AGE_SECONDS, default 15 min), driven by a manual clock. */
describe('stored pool sizing', () => {
  let env: TestEnv;

  beforeEach(async () => {
    env = await testEnv('2026-11-02T09:00:00Z');
  });
  afterEach(() => env.close());

  const visit = async (siteKey: string) => (await postVisit(env.app, { site: siteKey, url: paid })).json();

  /** Pool of 2, freeze 15: three overlapping visits from 09:00 (the third finds it exhausted); then 10:00. */
  async function busySite() {
    const s = await setupSite(env, { poolSize: 2 });
    for (let i = 0; i < 3; i++) {
      const v = await visit(s.site.siteKey);
      env.clock.advanceMinutes(1);
      await postPing(env.app, { visit: v.visit, leave: true });
    }
    env.clock.set('2026-11-02T10:00:00Z');
    const pools = (await env.api('GET', `/api/v1/sites/${s.site.id}/pools`)).json();
    return { ...s, poolId: pools[0].id as string, sizing: `/api/v1/sites/${s.site.id}/sizing` };
  }

  const get = async (url: string) => {
    const res = await env.api('GET', url);
    expect(res.statusCode, url).toBe(200);
    return res.json();
  };

  it('serves a stored result while it is younger than the max age, then recomputes', async () => {
    const s = await busySite();
    const first = await get(s.sizing);
    expect(first).toMatchObject({ cached: false, computedAt: '2026-11-02T10:00:00.000Z' });
    expect(first.pools[0]).toMatchObject({
      cached: false,
      computedAt: '2026-11-02T10:00:00.000Z',
      to: '2026-11-02T10:00:00.000Z',
      visits: 3,
      peakHeld: 3,
      exhaustions: 1,
    });

    // A fourth visit is recorded, but a result 14:59 old is still served as it was computed.
    await visit(s.site.siteKey);
    env.clock.set('2026-11-02T10:14:59Z');
    const hit = await get(s.sizing);
    expect(hit).toEqual({ ...first, cached: true, pools: [{ ...first.pools[0], cached: true }] });
    // The pool's own endpoint reads the same stored result.
    const one = await get(`/api/v1/sites/${s.site.id}/pools/${s.poolId}/sizing`);
    expect(one).toEqual({ ...first.pools[0], cached: true });

    env.clock.set('2026-11-02T10:15:00Z');
    const stale = await get(s.sizing);
    expect(stale).toMatchObject({ cached: false, computedAt: '2026-11-02T10:15:00.000Z' });
    expect(stale.pools[0]).toMatchObject({ cached: false, to: '2026-11-02T10:15:00.000Z', visits: 4 });
  });

  it('matches the request parameters', async () => {
    const s = await busySite();
    expect((await get(s.sizing)).cached).toBe(false);
    const lax = await get(`${s.sizing}?target=0.6`);
    expect(lax).toMatchObject({ cached: false, targetAccuracy: 0.6 });
    expect(lax.pools[0]).toMatchObject({ recommended: 2, undersized: false });
    expect(await get(`${s.sizing}?target=0.6&days=1`)).toMatchObject({ cached: false, days: 1 });
    // Each parameter set keeps its own result.
    expect(await get(`${s.sizing}?target=0.6`)).toEqual({
      ...lax,
      cached: true,
      pools: [{ ...lax.pools[0], cached: true }],
    });
    const strict = await get(`${s.sizing}?target=0.99&days=7`);
    expect(strict.cached).toBe(true);
    expect(strict.pools[0]).toMatchObject({ recommended: 3, undersized: true });
  });

  it('recomputes when the pool size, freeze time or exhaustion policy changed', async () => {
    const s = await busySite();
    const pool = () => get(`/api/v1/sites/${s.site.id}/pools/${s.poolId}/sizing`);
    expect(await pool()).toMatchObject({ cached: false, poolSize: 2 });

    const added = await env.api('POST', `/api/v1/sites/${s.site.id}/numbers`, {
      number: '+74997778899',
      kind: 'pool',
    });
    expect(added.statusCode).toBe(201);
    expect(await pool()).toMatchObject({ cached: false, poolSize: 3, undersized: false });
    expect(await pool()).toMatchObject({ cached: true, poolSize: 3 });

    const patch = async (body: object) =>
      expect((await env.api('PATCH', `/api/v1/sites/${s.site.id}`, body)).statusCode).toBe(200);
    await patch({ freezeMinutes: 20 });
    expect(await pool()).toMatchObject({ cached: false, freezeMinutes: 20 });
    await patch({ exhaustionPolicy: 'share' });
    expect(await pool()).toMatchObject({ cached: false, exhaustionPolicy: 'share' });
    expect(await pool()).toMatchObject({ cached: true, exhaustionPolicy: 'share' });
    // Back to the first settings: their result was replaced, not kept aside.
    await patch({ freezeMinutes: 15, exhaustionPolicy: 'default' });
    expect(await pool()).toMatchObject({ cached: false, freezeMinutes: 15, exhaustionPolicy: 'default' });
  });

  it('recomputes and stores on fresh=true', async () => {
    const s = await busySite();
    await get(s.sizing);
    await visit(s.site.siteKey);
    env.clock.set('2026-11-02T10:05:00Z');
    const fresh = await get(`${s.sizing}?fresh=true`);
    expect(fresh).toMatchObject({ cached: false, computedAt: '2026-11-02T10:05:00.000Z' });
    expect(fresh.pools[0].visits).toBe(4);
    env.clock.set('2026-11-02T10:06:00Z');
    expect(await get(`${s.sizing}?fresh=false`)).toEqual({
      ...fresh,
      cached: true,
      pools: [{ ...fresh.pools[0], cached: true }],
    });
    expect((await env.api('GET', `${s.sizing}?fresh=yes`)).json().message).toContain('querystring.fresh');
  });

  it('never serves a result to another account, even for a site and pool of the same ids', async () => {
    const s = await busySite();
    const mine = await get(s.sizing);
    expect(mine.pools[0].visits).toBe(3);

    // Account B holds a site and a pool with the same ids and the same size, freeze and policy, no traffic.
    const other = await createAccount(env.db, env.clock, 'Other account');
    const { key } = await createApiKey(env.db, env.clock, other, 'other');
    const now = env.clock.now();
    await env.db.query(
      'INSERT INTO sites (account_id, id, name, site_key, freeze_minutes, created_at) VALUES ($1,$2,$3,$4,15,$5)',
      [other, s.site.id, 'B', 'other-site-key', now],
    );
    await env.db.query(
      'INSERT INTO pools (account_id, id, site_id, name, created_at) VALUES ($1,$2,$3,$4,$5)',
      [other, s.poolId, s.site.id, 'Home', now],
    );
    for (const e164 of ['+74990000001', '+74990000002']) {
      await env.db.query(
        `INSERT INTO numbers (account_id, id, site_id, e164, kind, pool_id, created_at)
         VALUES ($1,$2,$3,$4,'pool',$5,$6)`,
        [other, randomUUID(), s.site.id, e164, s.poolId, now],
      );
    }
    const res = await env.app.inject({
      method: 'GET',
      url: s.sizing,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ cached: false });
    expect(res.json().pools[0]).toMatchObject({ poolId: s.poolId, poolSize: 2, visits: 0, exhaustions: 0 });

    // Each account keeps and gets its own.
    expect(await get(s.sizing)).toEqual({
      ...mine,
      cached: true,
      pools: [{ ...mine.pools[0], cached: true }],
    });
    const rows = await env.db.query<{ account_id: string }>(
      'SELECT account_id FROM pool_sizing_results ORDER BY account_id',
    );
    expect(rows.map((r) => r.account_id).sort()).toEqual([env.accountId, other].sort());
  });

  it("serves the inventory pass's sizing of an auto-grow pool", async () => {
    const s = await busySite();
    // Auto-grow capped at the current size: the pass sizes the pool (an exhaustion in the window) but it
    // does not grow, so the stored result matches the pool.
    const patched = await env.api('PATCH', `/api/v1/sites/${s.site.id}/pools/${s.poolId}`, {
      autoGrow: true,
      maxSize: 2,
    });
    expect(patched.statusCode).toBe(200);
    const config = loadConfig({}, { logLevel: 'silent' });
    const pass = await runInventoryDue({ db: env.db, clock: env.clock, config }, env.clock.now());
    expect(pass.assigned).toEqual([]);

    env.clock.set('2026-11-02T10:10:00Z');
    const served = await get(s.sizing);
    expect(served).toMatchObject({ cached: true, computedAt: '2026-11-02T10:00:00.000Z' });
    expect(served.pools[0]).toMatchObject({ to: '2026-11-02T10:00:00.000Z', visits: 3, recommended: 3 });
    // It is exactly what the endpoint computes over the same history.
    env.clock.set('2026-11-02T10:00:00Z');
    const computed = await get(`${s.sizing}?fresh=true`);
    expect(computed).toEqual({ ...served, cached: false, pools: [{ ...served.pools[0], cached: false }] });
  });

  it('documents fresh in the OpenAPI schema', async () => {
    const doc = (await env.app.inject({ method: 'GET', url: '/api/docs/json' })).json();
    for (const path of ['/api/v1/sites/{siteId}/sizing', '/api/v1/sites/{siteId}/pools/{poolId}/sizing']) {
      const names = doc.paths[path].get.parameters.map((p: { name: string }) => p.name);
      expect(names, path).toEqual(expect.arrayContaining(['days', 'target', 'fresh']));
    }
  });
});
