import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { buildApp } from '../src/app.js';
import { ManualClock } from '../src/clock.js';
import { type Config, loadConfig } from '../src/config.js';
import type { Db } from '../src/db/db.js';
import { runInventoryDue, startInventoryWorker } from '../src/inventory/lifecycle.js';
import { MOSCOW_IP, PERM_IP, postPing, postVisit, testDb } from './helpers.js';

const TOKEN = 'operator-token-0123456789abcdef';
const DAY = 86_400_000;
const paid = 'https://divany.example/sofas?utm_source=google&utm_medium=cpc&utm_campaign=brand';

interface Env {
  db: Db;
  app: FastifyInstance;
  clock: ManualClock;
  config: Config;
  accounts: { id: string; key: string }[];
  close: () => Promise<void>;
}

async function inventoryEnv(operatorToken: string | null = TOKEN): Promise<Env> {
  const db = await testDb();
  const clock = new ManualClock('2026-11-02T09:00:00Z');
  const config = loadConfig({}, { logLevel: 'silent', operatorToken: operatorToken ?? undefined });
  const app = await buildApp({ config, db, clock });
  const accounts = [];
  for (const name of ['A', 'B']) {
    const id = await createAccount(db, clock, name);
    accounts.push({ id, key: (await createApiKey(db, clock, id, 'test')).key });
  }
  return {
    db,
    app,
    clock,
    config,
    accounts,
    close: async () => {
      await app.close();
      await db.close();
    },
  };
}

describe('number lifecycle over the shared inventory', () => {
  let env: Env;
  afterEach(() => env?.close());

  const api = (account: number, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
    env.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${env.accounts[account].key}` },
      payload: body as object,
    });
  const op = (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, token: string | null = TOKEN) =>
    env.app.inject({
      method,
      url,
      headers: token === null ? {} : { 'x-operator-token': token },
      payload: body as object,
    });
  const run = () => runInventoryDue({ db: env.db, clock: env.clock, config: env.config }, env.clock.now());

  async function site(account: number, extra: Record<string, unknown> = {}) {
    const res = await api(account, 'POST', '/api/v1/sites', {
      name: `site ${account}`,
      defaultNumber: account === 0 ? '+74951234567' : '+74951234568',
      ...extra,
    });
    expect(res.statusCode).toBe(201);
    return res.json();
  }
  async function pool(account: number, siteId: string, region: string | null, settings?: object) {
    const res = await api(account, 'POST', `/api/v1/sites/${siteId}/pools`, {
      name: region ?? 'Home',
      region,
    });
    expect(res.statusCode).toBe(201);
    const p = res.json();
    if (settings) {
      const patched = await api(account, 'PATCH', `/api/v1/sites/${siteId}/pools/${p.id}`, settings);
      expect(patched.statusCode).toBe(200);
    }
    return p.id as string;
  }
  const visit = async (siteKey: string, ip = MOSCOW_IP) =>
    (await postVisit(env.app, { site: siteKey, url: paid }, ip)).json();
  const inventory = async (query = '') =>
    (await op('GET', `/api/v1/operator/inventory/numbers${query}`)).json();
  const stateOf = async (e164: string) =>
    (await inventory()).items.find((i: { e164: string }) => i.e164 === e164).state;

  it('grows a pool after exhaustion by the recommended amount, region-matched and capped', async () => {
    env = await inventoryEnv();
    const added = await op('POST', '/api/v1/operator/inventory/numbers', {
      numbers: [
        { number: '+7 342 200-00-01', region: 'Perm Krai' },
        { number: '+7 342 200-00-02', region: 'perm krai' },
        { number: '+7 342 200-00-03', region: 'Perm Krai' },
        { number: '+7 495 700-00-01', region: 'Moscow' },
        { number: '+7 495 700-00-02', region: 'Moscow' },
      ],
    });
    expect(added.statusCode).toBe(201);
    expect(added.json().added).toHaveLength(5);
    const again = await op('POST', '/api/v1/operator/inventory/numbers', {
      numbers: [{ number: '+73422000001' }],
    });
    expect(again.json()).toEqual({ added: [], existing: ['+73422000001'] });

    const s = await site(0, { multiRegional: true, homeRegion: 'Moscow' });
    const perm = await pool(0, s.id, 'Perm Krai', { autoGrow: true, maxSize: 2 });
    const home = await pool(0, s.id, null);

    // Three overlapping Perm visitors find the empty Perm pool exhausted: demand peak 3.
    for (let i = 0; i < 3; i++) {
      const v = await visit(s.siteKey, PERM_IP);
      expect(v.number.e164).toBe('+74951234567');
      env.clock.advanceMinutes(1);
    }
    // A Moscow visitor exhausts the home pool, whose auto-grow is off by default (no platform numbers).
    await visit(s.siteKey, MOSCOW_IP);
    env.clock.advanceMinutes(30);

    let pass = await run();
    expect(pass.assigned.map((a) => [a.e164, a.poolId, a.reason])).toEqual([
      ['+73422000001', perm, 'pool_exhausted'],
      ['+73422000002', perm, 'pool_exhausted'],
    ]);
    const permView = (await api(0, 'GET', `/api/v1/sites/${s.id}/pools/${perm}`)).json();
    expect(permView).toMatchObject({ size: 2, platformNumbers: 2, autoGrow: true, maxSize: 2 });
    const homeView = (await api(0, 'GET', `/api/v1/sites/${s.id}/pools/${home}`)).json();
    expect(homeView).toMatchObject({ size: 0, autoGrow: false, autoGrowSetting: null });
    const numbers = (await api(0, 'GET', `/api/v1/sites/${s.id}/numbers`)).json();
    expect(numbers.filter((n: { ownership: string }) => n.ownership === 'platform')).toEqual([
      expect.objectContaining({ e164: '+73422000001', kind: 'pool', poolId: perm, region: 'Perm Krai' }),
      expect.objectContaining({ e164: '+73422000002', kind: 'pool', poolId: perm, region: 'perm krai' }),
    ]);
    const [t] = (await op('GET', '/api/v1/operator/inventory/transitions?number=%2B73422000001'))
      .json()
      .items.slice(-1);
    expect(t).toMatchObject({
      fromState: 'available',
      toState: 'assigned',
      reason: 'pool_exhausted',
      accountId: env.accounts[0].id,
      siteId: s.id,
      poolId: perm,
      details: { exhaustionsSinceLastPass: 3, poolSizeBefore: 0, recommended: 3, maxSize: 2, targetSize: 2 },
    });

    // Capped: nothing more until the cap is raised; then the sizing model (still under-sized) adds one.
    expect((await run()).assigned).toEqual([]);
    await api(0, 'PATCH', `/api/v1/sites/${s.id}/pools/${perm}`, { maxSize: 10 });
    pass = await run();
    expect(pass.assigned.map((a) => [a.e164, a.reason])).toEqual([['+73422000003', 'pool_undersized']]);

    // The home pool, opted in, takes any region: the Moscow numbers (the site's home region first).
    await api(0, 'PATCH', `/api/v1/sites/${s.id}/pools/${home}`, { autoGrow: true });
    pass = await run();
    expect(pass.assigned.map((a) => [a.e164, a.poolId])).toEqual([['+74957000001', home]]);
    const listed = await inventory('?state=available');
    expect(listed.items.map((i: { e164: string }) => i.e164)).toEqual(['+74957000002']);
    expect(listed.byState).toEqual({ available: 1, assigned: 4, quarantined: 0 });

    // A new Perm visitor now gets a platform number from the grown pool.
    const v = await visit(s.siteKey, PERM_IP);
    expect(v.number.e164).toMatch(/^\+73422/);
  });

  it('quarantines an idle number after 14 days, rests it 30 days, then hands it to another site', async () => {
    env = await inventoryEnv();
    await op('POST', '/api/v1/operator/inventory/numbers', {
      numbers: [{ number: '+74957000001', region: 'Moscow' }],
    });
    const x = '+74957000001';
    const a = await site(0);
    const aPool = await pool(0, a.id, null, { autoGrow: true });
    await visit(a.siteKey); // exhausted: the pool is empty
    env.clock.advanceMinutes(10);
    expect((await run()).assigned.map((r) => r.e164)).toEqual([x]);

    // The number is shown to a visitor who leaves after a minute: held until 09:26 (freeze 15).
    const v = await visit(a.siteKey);
    expect(v.number.e164).toBe(x);
    env.clock.advanceMinutes(1);
    await postPing(env.app, { visit: v.visit, leave: true });
    const lastHeld = new Date('2026-11-02T09:26:00Z').getTime();
    const [row] = await env.db.query<{ id: string }>(
      'SELECT id FROM numbers WHERE account_id = $1 AND e164 = $2',
      [env.accounts[0].id, x],
    );

    env.clock.set(new Date(lastHeld + 14 * DAY - 60_000));
    expect((await run()).quarantined).toEqual([]);
    expect(await stateOf(x)).toBe('assigned');

    env.clock.set(new Date(lastHeld + 14 * DAY));
    const released = env.clock.now();
    expect((await run()).quarantined).toEqual([
      { e164: x, accountId: env.accounts[0].id, reason: 'idle', kept: 'retired' },
    ]);
    // Retired, not deleted: out of the pool, lease history intact.
    const [retired] = await env.db.query<{ id: string; pool_id: string | null; retired_at: Date | null }>(
      'SELECT id, pool_id, retired_at FROM numbers WHERE account_id = $1 AND e164 = $2',
      [env.accounts[0].id, x],
    );
    expect(retired).toMatchObject({ id: row.id, pool_id: null });
    expect(new Date(retired.retired_at!).getTime()).toBe(released.getTime());
    const leases = await env.db.query('SELECT 1 FROM leases WHERE account_id = $1 AND number_id = $2', [
      env.accounts[0].id,
      row.id,
    ]);
    expect(leases).toHaveLength(1);
    expect((await api(0, 'GET', `/api/v1/sites/${a.id}/pools/${aPool}`)).json().size).toBe(0);

    // Another account's site wants a number 29 days later: the quarantined one is not handed out.
    env.clock.set(new Date(released.getTime() + 29 * DAY));
    const b = await site(1);
    const bPool = await pool(1, b.id, null, { autoGrow: true });
    await visit(b.siteKey);
    env.clock.advanceMinutes(5);
    expect(await run()).toEqual({ assigned: [], quarantined: [], available: [] });
    expect(await stateOf(x)).toBe('quarantined');
    const listed = (await inventory('?state=quarantined')).items[0];
    expect(listed.quarantinedUntil).toBe(new Date(released.getTime() + 30 * DAY).toISOString());

    // 30 days: available again, and the under-sized pool of the other site gets it in the same pass.
    env.clock.set(new Date(released.getTime() + 30 * DAY));
    const pass = await run();
    expect(pass.available).toEqual([x]);
    expect(pass.assigned).toEqual([
      { e164: x, accountId: env.accounts[1].id, poolId: bPool, reason: 'pool_undersized' },
    ]);
    expect((await api(1, 'GET', `/api/v1/sites/${b.id}/pools/${bPool}`)).json().size).toBe(1);

    const transitions = (
      await op('GET', `/api/v1/operator/inventory/transitions?number=${encodeURIComponent(x)}`)
    ).json();
    expect(
      transitions.items.map((t: Record<string, unknown>) => [t.fromState, t.toState, t.reason, t.accountId]),
    ).toEqual([
      [null, 'available', 'added', null],
      ['available', 'assigned', 'pool_exhausted', env.accounts[0].id],
      ['assigned', 'quarantined', 'idle', env.accounts[0].id],
      ['quarantined', 'available', 'quarantine_ended', null],
      ['available', 'assigned', 'pool_undersized', env.accounts[1].id],
    ]);
    expect(transitions.items[2].details).toMatchObject({ idleDays: 14, numberRow: 'retired' });
    expect(transitions.items.map((t: { at: string }) => t.at)).toEqual(
      [...transitions.items.map((t: { at: string }) => t.at)].sort(),
    );
  });

  it('quarantines numbers the account removes, and honours a per-account idle period', async () => {
    env = await inventoryEnv();
    await op('POST', '/api/v1/operator/inventory/numbers', {
      numbers: [{ number: '+74957000001' }, { number: '+74957000002' }],
    });
    const a = await site(0);
    await pool(0, a.id, null, { autoGrow: true });
    await visit(a.siteKey);
    await visit(a.siteKey);
    env.clock.advanceMinutes(30);
    expect((await run()).assigned).toHaveLength(2);

    const numbers = (await api(0, 'GET', `/api/v1/sites/${a.id}/numbers`)).json();
    const first = numbers.find((n: { e164: string }) => n.e164 === '+74957000001');
    expect((await api(0, 'DELETE', `/api/v1/sites/${a.id}/numbers/${first.id}`)).statusCode).toBe(204);
    const settings = await op('PUT', `/api/v1/operator/accounts/${env.accounts[0].id}/inventory-settings`, {
      idleReleaseDays: 3,
    });
    expect(settings.json()).toEqual({
      accountId: env.accounts[0].id,
      idleReleaseDays: 3,
      effectiveIdleReleaseDays: 3,
    });
    let pass = await run();
    expect(pass.quarantined).toEqual([
      { e164: '+74957000001', accountId: env.accounts[0].id, reason: 'removed_from_pool', kept: 'gone' },
    ]);
    env.clock.advance(3 * DAY);
    pass = await run();
    // Never shown to anyone: the numbers row is deleted.
    expect(pass.quarantined).toEqual([
      { e164: '+74957000002', accountId: env.accounts[0].id, reason: 'idle', kept: 'deleted' },
    ]);
    expect(
      await env.db.query('SELECT 1 FROM numbers WHERE account_id = $1 AND ownership = $2', [
        env.accounts[0].id,
        'platform',
      ]),
    ).toEqual([]);
  });

  it('brings a retired number back to the same account with its id and lease history', async () => {
    env = await inventoryEnv();
    const x = '+74957000001';
    await op('POST', '/api/v1/operator/inventory/numbers', { numbers: [{ number: x }] });
    const a = await site(0);
    const aPool = await pool(0, a.id, null, { autoGrow: true });
    await visit(a.siteKey);
    env.clock.advanceMinutes(30);
    await run();
    const v = await visit(a.siteKey);
    expect(v.number.e164).toBe(x);
    const [before] = await env.db.query<{ id: string }>('SELECT id FROM numbers WHERE e164 = $1', [x]);
    env.clock.advance(15 * DAY);
    expect((await run()).quarantined.map((q) => q.kept)).toEqual(['retired']);
    env.clock.advance(30 * DAY);
    await visit(a.siteKey); // exhausted again: the pool is empty
    env.clock.advanceMinutes(5);
    const pass = await run();
    expect(pass.available).toEqual([x]);
    expect(pass.assigned).toEqual([
      { e164: x, accountId: env.accounts[0].id, poolId: aPool, reason: 'pool_exhausted' },
    ]);
    const rows = await env.db.query<{ id: string; pool_id: string; retired_at: Date | null }>(
      'SELECT id, pool_id, retired_at FROM numbers WHERE e164 = $1',
      [x],
    );
    expect(rows).toEqual([{ id: before.id, pool_id: aPool, retired_at: null }]);
    expect(await env.db.query('SELECT 1 FROM leases WHERE number_id = $1', [before.id])).toHaveLength(1);
  });

  it('runs passes in the background worker until stopped', async () => {
    env = await inventoryEnv();
    await op('POST', '/api/v1/operator/inventory/numbers', { numbers: [{ number: '+74957000001' }] });
    const a = await site(0);
    await pool(0, a.id, null, { autoGrow: true });
    await visit(a.siteKey);
    env.clock.advanceMinutes(1);
    const worker = startInventoryWorker({ db: env.db, clock: env.clock, config: env.config }, 10);
    for (let i = 0; i < 200 && (await stateOf('+74957000001')) !== 'assigned'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await worker.stop();
    expect(await stateOf('+74957000001')).toBe('assigned');
  });

  it('requires the operator token', async () => {
    env = await inventoryEnv();
    const url = '/api/v1/operator/inventory/numbers';
    expect((await op('GET', url, undefined, null)).statusCode).toBe(401);
    expect((await op('GET', url, undefined, 'wrong-token-0123456789')).statusCode).toBe(403);
    // An account API key is not an operator token.
    const withKey = await env.app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${env.accounts[0].key}` },
    });
    expect(withKey.statusCode).toBe(401);
    expect((await op('POST', url, { numbers: [{ number: '+74957000001' }] }, null)).statusCode).toBe(401);
    expect((await op('GET', '/api/v1/operator/inventory/transitions', undefined, 'x')).statusCode).toBe(403);
    expect((await op('GET', url)).statusCode).toBe(200);
    expect((await op('POST', url, { numbers: [{ number: 'not a phone' }] })).statusCode).toBe(400);
    await env.close();

    // Without RINGTRACE_OPERATOR_TOKEN the operator API is off.
    env = await inventoryEnv(null);
    const off = await op('GET', url);
    expect(off.statusCode).toBe(403);
    expect(off.json().message).toContain('RINGTRACE_OPERATOR_TOKEN');
  });

  it("keeps pool settings tenant-scoped: another account's pool is not found", async () => {
    env = await inventoryEnv();
    const a = await site(0);
    const aPool = await pool(0, a.id, null);
    const b = await site(1);
    await pool(1, b.id, null);
    expect((await api(1, 'GET', `/api/v1/sites/${a.id}/pools/${aPool}`)).statusCode).toBe(404);
    expect(
      (await api(1, 'PATCH', `/api/v1/sites/${a.id}/pools/${aPool}`, { autoGrow: true })).statusCode,
    ).toBe(404);
    expect(
      (await api(1, 'PATCH', `/api/v1/sites/${b.id}/pools/${aPool}`, { autoGrow: true })).statusCode,
    ).toBe(404);
    expect((await api(0, 'GET', `/api/v1/sites/${a.id}/pools/${aPool}`)).json().autoGrowSetting).toBeNull();
    expect((await api(0, 'PATCH', `/api/v1/sites/${a.id}/pools/${aPool}`, {})).statusCode).toBe(400);
    expect((await api(0, 'PATCH', `/api/v1/sites/${a.id}/pools/${aPool}`, { maxSize: -1 })).statusCode).toBe(
      400,
    );
  });
});
