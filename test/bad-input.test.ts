import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../src/telephony/generic.js';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/** Every public endpoint answers bad input with a 4xx that names the problem, and stores nothing. */
describe('bad input', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  const tables = [
    'visits',
    'page_views',
    'leases',
    'call_events',
    'calls',
    'sites',
    'numbers',
    'static_rules',
  ];
  let before: Record<string, number>;

  const counts = async () => {
    const out: Record<string, number> = {};
    for (const t of tables)
      out[t] = (await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`))[0].n;
    return out;
  };

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env);
    before = await counts();
  });
  afterAll(async () => {
    expect(await counts()).toEqual(before);
    await env.close();
  });

  const raw = (url: string, payload: string, headers: Record<string, string> = {}) =>
    env.app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'text/plain', ...headers } });

  it.each([
    ['malformed JSON', '{"site": "x", ', 400, 'malformed_json', /not valid JSON/],
    ['wrong type', '{"site": 42, "url": "https://a.example/"}', 400, 'invalid_request', /body\.site/],
    ['missing url', '{"site": "abc"}', 400, 'invalid_request', /body\.url/],
    ['not an http url', '{"site": "abc", "url": "javascript:alert(1)"}', 400, 'invalid_request', /body\.url/],
    [
      'unknown field',
      '{"site": "abc", "url": "https://a.example/", "evil": 1}',
      400,
      'invalid_request',
      /evil/,
    ],
    [
      'bad visitor id',
      '{"site": "abc", "url": "https://a.example/", "visitor": "<x>"}',
      400,
      'invalid_request',
      /body\.visitor/,
    ],
    [
      'unknown site key',
      '{"site": "no-such-site", "url": "https://a.example/"}',
      404,
      'unknown_site',
      /no-such-site/,
    ],
  ])('/t/visit: %s', async (_name, body, status, code, message) => {
    const res = await raw('/t/visit', body);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toBe(code);
    expect(res.json().message).toMatch(message);
  });

  it('/t/visit: oversized body', async () => {
    const res = await raw(
      '/t/visit',
      JSON.stringify({ site: s.site.siteKey, url: 'https://a.example/', title: 'x'.repeat(20_000) }),
    );
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('body_too_large');
  });

  it('/t/visit: a title longer than allowed', async () => {
    const res = await raw(
      '/t/visit',
      JSON.stringify({ site: s.site.siteKey, url: 'https://a.example/', title: 'x'.repeat(1001) }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/body\.title/);
  });

  it('/t/visit: a domain the site does not list', async () => {
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { domains: ['divany.example'] });
    const res = await postVisit(env.app, { site: s.site.siteKey, url: 'https://evil.example/' });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/evil\.example/);
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { domains: [] });
  });

  it.each([
    ['malformed JSON', 'nope', 400, /not valid JSON/],
    ['visit not a uuid', '{"visit": "123"}', 400, /body\.visit/],
    ['unknown visit', '{"visit": "6c7f1d1e-7a44-4f3b-9a55-3d0a3c1b2a11"}', 404, /not a known visit/],
  ])('/t/ping: %s', async (_name, body, status, message) => {
    const res = await raw('/t/ping', body);
    expect(res.statusCode).toBe(status);
    expect(res.json().message).toMatch(message);
  });

  it.each([
    ['malformed JSON', '{"site": ', 400, 'malformed_json', /not valid JSON/],
    [
      'visit not a uuid',
      '{"site": "abc", "visitor": "visitor-1", "visit": "1"}',
      400,
      'invalid_request',
      /body\.visit/,
    ],
    [
      'unknown site key',
      '{"site": "no-such-site", "visitor": "visitor-1", "visit": "6c7f1d1e-7a44-4f3b-9a55-3d0a3c1b2a11"}',
      404,
      'unknown_site',
      /no-such-site/,
    ],
  ])('/t/lease: %s', async (_name, body, status, code, message) => {
    const res = await raw('/t/lease', body);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toBe(code);
    expect(res.json().message).toMatch(message);
  });

  it('/t/lease: an unknown visit of a real site', async () => {
    const res = await raw(
      '/t/lease',
      JSON.stringify({
        site: s.site.siteKey,
        visitor: 'visitor-1',
        visit: '6c7f1d1e-7a44-4f3b-9a55-3d0a3c1b2a11',
      }),
    );
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toBe('unknown_visit');
  });

  describe('generic telephony webhook', () => {
    const event = (over: Record<string, unknown> = {}) => ({
      id: 'e1',
      type: 'call.started',
      callId: 'c1',
      occurredAt: '2026-11-02T09:00:00Z',
      from: '+79161234567',
      to: '+74997778800',
      ...over,
    });
    const hook = (body: string, signature?: string, id = s.integration.id) =>
      env.app.inject({
        method: 'POST',
        url: `/hooks/generic/${id}`,
        payload: body,
        headers: {
          'content-type': 'application/json',
          'x-ringtrace-signature': signature ?? signBody(s.integration.secret, body),
        },
      });

    it('refuses a bad signature', async () => {
      const body = JSON.stringify(event());
      const res = await hook(body, signBody('wrong-secret', body));
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('bad_signature');
    });
    it('refuses a missing signature', async () => {
      const res = await env.app.inject({
        method: 'POST',
        url: `/hooks/generic/${s.integration.id}`,
        payload: JSON.stringify(event()),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode).toBe(401);
    });
    it('refuses an unknown integration', async () => {
      const res = await hook(JSON.stringify(event()), undefined, '00000000-0000-4000-8000-000000000000');
      expect(res.statusCode).toBe(404);
    });
    it.each([
      ['malformed JSON', '{"id":', /not valid JSON/],
      ['wrong type', JSON.stringify(event({ talkSeconds: 'long' })), /body\.talkSeconds/],
      ['unknown event type', JSON.stringify(event({ type: 'call.exploded' })), /body\.type/],
      ['bad time', JSON.stringify(event({ occurredAt: 'yesterday' })), /body\.occurredAt/],
      [
        'invalid phone number',
        JSON.stringify(event({ from: '+7123' })),
        /body\.from.*not a valid phone number/,
      ],
      ['one bad event in a batch', JSON.stringify([event(), event({ id: 'e2', to: 'abc' })]), /body\.1\.to/],
    ])('refuses %s', async (_name, body, message) => {
      const res = await hook(body);
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(message);
    });
    it('refuses an oversized body', async () => {
      const res = await hook(JSON.stringify({ ...event(), pad: 'x'.repeat(300_000) }));
      expect(res.statusCode).toBe(413);
    });
  });

  describe('REST API', () => {
    it('needs a valid key', async () => {
      const none = await env.app.inject({ method: 'GET', url: '/api/v1/sites' });
      expect(none.statusCode).toBe(401);
      const wrong = await env.app.inject({
        method: 'GET',
        url: '/api/v1/sites',
        headers: { authorization: 'Bearer rt_nope' },
      });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().message).toMatch(/unknown or revoked/);
    });
    it.each([
      ['freeze time out of range', { name: 'x', freezeMinutes: 60 }, /body\.freezeMinutes/],
      ['invalid default number', { name: 'x', defaultNumber: '12345' }, /body\.defaultNumber/],
      [
        'invalid printed number',
        { name: 'x', replaceNumbers: ['+7 (495) 123-45-67', 'call us'] },
        /body\.replaceNumbers/,
      ],
      ['bad time zone', { name: 'x', timeZone: 'Mars/Olympus' }, /body\.timeZone/],
      ['unknown channel', { name: 'x', dynamicChannels: ['tv'] }, /body\.dynamicChannels/],
      ['missing name', {}, /body\.name/],
    ])('POST /sites: %s', async (_name, body, message) => {
      const res = await env.api('POST', '/api/v1/sites', body);
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(message);
    });
    it('POST /numbers: an invalid phone number', async () => {
      const res = await env.api('POST', `/api/v1/sites/${s.site.id}/numbers`, {
        number: '+7 999',
        kind: 'pool',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/body\.number/);
    });
    it('POST /numbers: a duplicate number', async () => {
      const res = await env.api('POST', `/api/v1/sites/${s.site.id}/numbers`, {
        number: s.pool[0],
        kind: 'pool',
      });
      expect(res.statusCode).toBe(409);
    });
    it('POST /static-rules: a pool number is refused', async () => {
      const pool = (await env.api('GET', `/api/v1/sites/${s.site.id}/numbers`))
        .json()
        .find((n: { kind: string }) => n.kind === 'pool');
      const res = await env.api('POST', `/api/v1/sites/${s.site.id}/static-rules`, {
        name: 'x',
        conditions: { utmSource: 'avito' },
        numberId: pool.id,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/body\.numberId/);
    });
    it('GET /calls: a bad filter', async () => {
      const res = await env.api('GET', '/api/v1/calls?from=yesterday');
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/from/);
    });
  });
});
