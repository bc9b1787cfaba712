import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callEvents,
  MOSCOW_IP,
  PERM_IP,
  postCallEvents,
  postPing,
  postVisit,
  setupSite,
  type TestEnv,
  testEnv,
} from './helpers.js';

const landing =
  'https://divany.example/?utm_source=yandex&utm_medium=cpc&utm_campaign=c1&utm_term=%D0%BA%D1%83%D0%BF%D0%B8%D1%82%D1%8C+%D0%B4%D0%B8%D0%B2%D0%B0%D0%BD';

describe('the core loop through the HTTP API', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env, { poolSize: 2 });
    await env.api('POST', `/api/v1/sites/${s.site.id}/static-rules`, {
      name: 'Avito',
      conditions: { utmSource: 'avito' },
      numberId: s.staticNumber.id,
      source: 'avito',
      medium: 'classified',
    });
  });
  afterAll(() => env.close());

  it('gives a paid visit a pool number, a direct visit the default number, a static rule its number', async () => {
    const paid = (await postVisit(env.app, { site: s.site.siteKey, url: landing })).json();
    expect(s.pool).toContain(paid.number.e164);
    expect(paid.number.digits).toHaveLength(3);
    expect(paid.replace[0].e164).toBe('+74951234567');
    expect(paid.replace[0].digits).toEqual(['74951234567', '84951234567', '4951234567']);

    const direct = (
      await postVisit(env.app, { site: s.site.siteKey, url: 'https://divany.example/' })
    ).json();
    expect(direct.number.e164).toBe('+74951234567');

    const avito = (
      await postVisit(env.app, { site: s.site.siteKey, url: 'https://divany.example/?utm_source=avito' })
    ).json();
    expect(avito.number.e164).toBe('+74951110000');
  });

  it('attributes a call to the visit that held the number and classifies a second call as repeat', async () => {
    env.clock.advanceMinutes(60);
    const visit = (
      await postVisit(env.app, { site: s.site.siteKey, url: landing, visitor: 'visitor-aaaa-1' })
    ).json();
    env.clock.advanceMinutes(2);
    await postPing(env.app, { visit: visit.visit }); // still on the page, heartbeating
    const first = callEvents({
      from: '+79161234567',
      to: visit.number.e164,
      at: env.clock.now(),
      talkSeconds: 95,
    });
    const res = await postCallEvents(env.app, s.integration, first.events);
    expect(res.statusCode).toBe(200);
    const callId = res.json().calls[0];
    const call = (await env.api('GET', `/api/v1/calls/${callId}`)).json();
    expect(call).toMatchObject({
      visitId: visit.visit,
      method: 'dynamic',
      // On the page, and nobody else held the number: 180/181 (src/calls/attribution.ts).
      confidence: 0.994,
      channel: 'paid_search',
      source: 'yandex',
      medium: 'cpc',
      campaign: 'c1',
      keyword: 'купить диван',
      status: 'completed',
      talkSeconds: 95,
      region: 'Moscow',
      callPageUrl: landing,
    });
    expect(call.classes).toEqual(['unique', 'targeted', 'unique_targeted', 'first_targeted']);

    env.clock.advanceMinutes(30);
    const second = callEvents({
      from: '+79161234567',
      to: visit.number.e164,
      at: env.clock.now(),
      talkSeconds: 10,
    });
    const secondId = (await postCallEvents(env.app, s.integration, second.events)).json().calls[0];
    const again = (await env.api('GET', `/api/v1/calls/${secondId}`)).json();
    expect(again.classes).toEqual(['repeat']);
    expect(again.previousCalls.map((c: { id: string }) => c.id)).toEqual([callId]);
  });

  it('keeps the number with a visit while it pings and frees it after the freeze', async () => {
    env.clock.advanceMinutes(600);
    const a = (await postVisit(env.app, { site: s.site.siteKey, url: landing })).json();
    const b = (await postVisit(env.app, { site: s.site.siteKey, url: landing })).json();
    expect(a.number.e164).not.toBe(b.number.e164);
    // Pool of two is exhausted: the third paid visit gets the default number (policy "default").
    const c = (await postVisit(env.app, { site: s.site.siteKey, url: landing })).json();
    expect(c.number.e164).toBe('+74951234567');
    for (let i = 0; i < 40; i++) {
      env.clock.advance(30_000);
      expect((await postPing(env.app, { visit: a.visit })).json().alive).toBe(true);
    }
    // b never pinged: 20 minutes later its number is free; a's is still held.
    const d = (await postVisit(env.app, { site: s.site.siteKey, url: landing })).json();
    expect(d.number.e164).toBe(b.number.e164);
    const exhaustions = await env.db.query('SELECT action FROM pool_exhaustions WHERE site_id = $1', [
      s.site.id,
    ]);
    expect(exhaustions.map((r) => r.action)).toEqual(['default']);
  });

  it('gives multi-regional visitors their region pool, others the home pool, and bots the default number', async () => {
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { multiRegional: true });
    const perm = (
      await env.api('POST', `/api/v1/sites/${s.site.id}/pools`, { name: 'Пермь', region: 'Perm Krai' })
    ).json();
    const permNumber = (
      await env.api('POST', `/api/v1/sites/${s.site.id}/numbers`, {
        number: '8 (342) 200-00-01',
        kind: 'pool',
        poolId: perm.id,
      })
    ).json();
    expect(permNumber.e164).toBe('+73422000001');
    env.clock.advanceMinutes(600);
    const fromPerm = (await postVisit(env.app, { site: s.site.siteKey, url: landing }, PERM_IP)).json();
    expect(fromPerm.number.e164).toBe('+73422000001');
    const fromMoscow = (await postVisit(env.app, { site: s.site.siteKey, url: landing }, MOSCOW_IP)).json();
    expect(s.pool).toContain(fromMoscow.number.e164);
    const bot = await postVisit(
      env.app,
      { site: s.site.siteKey, url: landing },
      MOSCOW_IP,
      'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
    );
    expect(bot.json().number.e164).toBe('+74951234567');
    const visits = await env.db.query(
      'SELECT region, city, device_type, is_bot FROM visits WHERE id = ANY($1::uuid[]) ORDER BY started_at, region',
      [[fromPerm.visit, bot.json().visit]],
    );
    expect(visits).toEqual(
      expect.arrayContaining([
        { region: 'Perm Krai', city: 'Perm', device_type: 'desktop', is_bot: false },
        expect.objectContaining({ region: 'Moscow', is_bot: true }),
      ]),
    );
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { multiRegional: false });
  });
});
