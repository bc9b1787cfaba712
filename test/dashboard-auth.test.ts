import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { createUser } from '../src/users/store.js';
import { callEvents, postCallEvents, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/** Dashboard users: login, logout, me, and the session cookie as an alternative to the API key. */
describe('dashboard users and sessions', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let otherSiteId: string;

  const login = (email: string, password: string, headers: Record<string, string> = {}) =>
    env.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, headers });
  const cookieOf = (res: { cookies: { name: string; value: string }[] }) => {
    const c = res.cookies.find((x) => x.name === 'rt_session');
    if (!c) throw new Error('no session cookie');
    return `rt_session=${c.value}`;
  };
  const get = (url: string, cookie: string) => env.app.inject({ method: 'GET', url, headers: { cookie } });

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env, { poolSize: 2 });
    await createUser(env.db, env.clock, {
      accountId: env.accountId,
      email: 'Anna@Example.com',
      password: 'correct horse',
    });
    const visit = (
      await postVisit(env.app, {
        site: s.site.siteKey,
        url: 'https://shop.ru/?utm_source=yandex&utm_medium=cpc',
      })
    ).json();
    env.clock.advance(30_000);
    const { events } = callEvents({ from: '+79161234567', to: visit.number.e164, at: env.clock.now() });
    expect((await postCallEvents(env.app, s.integration, events)).statusCode).toBeLessThan(300);

    // Account B: its own user, site and call.
    const other = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, other, 'b');
    await createUser(env.db, env.clock, {
      accountId: other,
      email: 'boris@example.com',
      password: 'other secret',
    });
    const site = await env.app.inject({
      method: 'POST',
      url: '/api/v1/sites',
      headers: { authorization: `Bearer ${key}` },
      payload: { name: 'B site', defaultNumber: '+74957654321' },
    });
    otherSiteId = site.json().id;
  });
  afterAll(() => env?.close());

  it('logs in with email (any case) and password, sets an httpOnly SameSite=Lax cookie, and answers me', async () => {
    const res = await login('anna@example.com', 'correct horse');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ email: 'Anna@Example.com', accountId: env.accountId, locale: 'ru' });
    expect(res.json()).not.toHaveProperty('passwordHash');
    const cookie = res.cookies.find((c) => c.name === 'rt_session')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Lax');
    expect(cookie.path).toBe('/');
    const me = await get('/api/v1/auth/me', cookieOf(res));
    expect(me.statusCode).toBe(200);
    expect(me.json().email).toBe('Anna@Example.com');
  });

  it('refuses a wrong password and an unknown email with 401 and no cookie', async () => {
    for (const res of [await login('anna@example.com', 'wrong'), await login('nobody@example.com', 'x')]) {
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('invalid_credentials');
      expect(res.cookies.find((c) => c.name === 'rt_session')).toBeUndefined();
    }
    expect((await env.app.inject({ method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(401);
    expect((await get('/api/v1/calls', 'rt_session=forged')).statusCode).toBe(401);
  });

  it('lets the session cookie authenticate the API like a key', async () => {
    const cookie = cookieOf(await login('anna@example.com', 'correct horse'));
    const calls = await get(`/api/v1/calls?siteId=${s.site.id}`, cookie);
    expect(calls.statusCode).toBe(200);
    expect(calls.json().total).toBe(1);
    expect(calls.json().items[0].source).toBe('yandex');
    const report = await get(
      `/api/v1/reports/channel?siteId=${s.site.id}&from=2026-11-01&to=2026-11-30`,
      cookie,
    );
    expect(report.json().totals.calls).toBe(1);
  });

  it('never shows account A’s session the data of account B, nor B’s session A’s', async () => {
    const a = cookieOf(await login('anna@example.com', 'correct horse'));
    const b = cookieOf(await login('boris@example.com', 'other secret'));
    expect((await get('/api/v1/sites', a)).json().map((x: { id: string }) => x.id)).toEqual([s.site.id]);
    expect((await get('/api/v1/sites', b)).json().map((x: { id: string }) => x.id)).toEqual([otherSiteId]);
    expect((await get('/api/v1/calls', b)).json().total).toBe(0);
    const callId = (await get('/api/v1/calls', a)).json().items[0].id;
    expect((await get(`/api/v1/calls/${callId}`, b)).statusCode).toBe(404);
    expect(
      (await get(`/api/v1/reports/channel?siteId=${s.site.id}&from=2026-11-01&to=2026-11-30`, b)).statusCode,
    ).toBe(404);
  });

  it('refuses a cross-origin state change made with the cookie', async () => {
    const cookie = cookieOf(await login('anna@example.com', 'correct horse'));
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: { cookie, origin: 'https://evil.example', host: 'localhost' },
      payload: { name: 'stolen' },
    });
    expect(res.statusCode).toBe(403);
  });

  it('logs out: the session stops working and the cookie is cleared', async () => {
    const cookie = cookieOf(await login('anna@example.com', 'correct horse'));
    const out = await env.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie } });
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === 'rt_session')?.value).toBe('');
    expect((await get('/api/v1/auth/me', cookie)).statusCode).toBe(401);
    expect((await get('/api/v1/calls', cookie)).statusCode).toBe(401);
  });

  it('expires sessions after 30 days', async () => {
    const cookie = cookieOf(await login('anna@example.com', 'correct horse'));
    env.clock.advanceMinutes(31 * 24 * 60);
    expect((await get('/api/v1/auth/me', cookie)).statusCode).toBe(401);
  });

  it('serves the dashboard at / and its paths, but keeps API 404s as JSON', async () => {
    const unknownApi = await env.app.inject({
      method: 'GET',
      url: '/api/v1/nope',
      headers: { authorization: `Bearer ${env.key}` },
    });
    expect(unknownApi.statusCode).toBe(404);
    expect(unknownApi.headers['content-type']).toMatch(/json/);
    const page = await env.app.inject({ method: 'GET', url: '/calls/123' });
    expect([200, 503]).toContain(page.statusCode);
    if (page.statusCode === 200) expect(page.body).toContain('<div id="root">');
  });
});
