import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postVisit, setupSite, type TestEnv, testEnv } from '../../test/helpers.js';
import { failureStatus } from './kamailio.js';

/** The requests Kamailio's cfg (test/sip/kamailio.cfg) sends, replayed without SIP. */
describe('Kamailio adapter', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let id: string;
  let token: string;
  // Kamailio's $TV(Sn) of "now" on the test clock.
  const ts = (offsetMs = 0) => ((env.clock.now().getTime() + offsetMs) / 1000).toFixed(6);

  const post = (kind: 'route' | 'event', body: unknown, headerToken: string | null = token) =>
    env.app.inject({
      method: 'POST',
      url: `/hooks/kamailio/${id}/${kind}`,
      headers: {
        'content-type': 'application/json',
        ...(headerToken === null ? {} : { 'x-ringtrace-token': headerToken }),
      },
      payload: JSON.stringify(body),
    });
  const calls = async () =>
    (await env.api('GET', '/api/v1/calls?limit=100')).json().items as Array<Record<string, unknown>>;
  const eventCount = async () =>
    (await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM call_events'))[0].n;

  beforeAll(async () => {
    env = await testEnv('2026-11-02T07:00:00Z');
    s = await setupSite(env, { site: { targetedThresholdSeconds: 10 } });
    const res = await env.api('POST', '/api/v1/integrations/kamailio', { name: 'Kamailio' });
    expect(res.statusCode).toBe(201);
    ({ id, token } = res.json());
    expect(res.json()).toMatchObject({
      kind: 'kamailio',
      routeUrl: `http://localhost:8080/hooks/kamailio/${id}/route`,
      eventUrl: `http://localhost:8080/hooks/kamailio/${id}/event`,
    });
  });
  afterAll(() => env.close());

  it('refuses a wrong or missing token and unknown integrations, storing nothing', async () => {
    const body = { callId: 'c0', fromTag: 't0', caller: '+79161234567', callee: s.pool[0] };
    expect((await post('route', body, 'f'.repeat(48))).statusCode).toBe(401);
    expect((await post('route', body, null)).statusCode).toBe(401);
    expect((await post('event', { event: 'start', callId: 'c0', fromTag: 't0' }, 'nope')).statusCode).toBe(
      401,
    );
    const generic = await env.app.inject({
      method: 'POST',
      url: `/hooks/kamailio/${s.integration.id}/route`,
      headers: { 'content-type': 'application/json', 'x-ringtrace-token': s.integration.secret },
      payload: JSON.stringify(body),
    });
    expect(generic.statusCode).toBe(404);
    expect(await eventCount()).toBe(0);
  });

  it('answers 404 for a number that is not ours, and 480 while the site has no flow', async () => {
    const unknown = await post('route', {
      callId: 'c1',
      fromTag: 't1',
      caller: '+79161234567',
      callee: '+74950009999',
    });
    expect(unknown.statusCode).toBe(404);
    const noFlow = await post('route', {
      callId: 'c2',
      fromTag: 't2',
      caller: '+79160000009',
      callee: s.pool[1],
    });
    expect(noFlow.statusCode).toBe(200);
    expect(noFlow.json()).toMatchObject({ reject: 480 });
    // The call is still logged: someone dialed a tracking number.
    expect((await calls()).find((c) => c.trackingNumber === s.pool[1])).toMatchObject({ status: 'ringing' });
  });

  it('routes to the first dial of the default flow and builds the call from dialog events', async () => {
    const flow = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Офис',
      isDefault: true,
      flow: {
        start: 'welcome',
        nodes: {
          welcome: { kind: 'play', text: 'Здравствуйте', next: 'sales' },
          sales: {
            kind: 'ringGroup',
            name: 'Продажи',
            strategy: 'sequential',
            targets: [
              { kind: 'sip', uri: 'sip:101@pbx.example.com', name: 'Анна' },
              { kind: 'phone', number: '+79035550007' },
            ],
            ringTimeoutSec: 15,
            next: 'bye',
          },
          bye: { kind: 'hangup' },
        },
      },
    });
    expect(flow.statusCode, flow.body).toBe(201);
    const visit = (
      await postVisit(env.app, { site: s.site.siteKey, url: 'https://divany.example/?gclid=k1' })
    ).json();
    env.clock.advanceMinutes(1);
    const base = { callId: 'a84b4c76e66710@pc33', fromTag: '1928301774' };
    const route = await post('route', {
      ...base,
      caller: '+79161234567',
      callee: visit.number.e164,
      inviteTs: ts(),
    });
    expect(route.statusCode).toBe(200);
    expect(route.json()).toEqual({
      target: 'sip:101@pbx.example.com',
      targets: ['sip:101@pbx.example.com'],
      routing: 'serial',
      timeoutSec: 15,
      employee: 'Анна',
      group: 'Продажи',
    });
    expect((await calls())[0]).toMatchObject({ status: 'ringing', visitId: visit.visit, method: 'dynamic' });

    const answer = {
      ...base,
      answerTs: ts(4000),
      employee: 'Анна',
      group: 'Продажи',
      inviteTs: '',
      code: '',
    };
    expect((await post('event', { event: 'start', ...answer })).statusCode).toBe(200);
    // Kamailio retrying the POST changes nothing.
    expect((await post('event', { event: 'start', ...answer })).statusCode).toBe(200);
    const end = {
      event: 'end',
      ...base,
      answerTs: ts(4000),
      endTs: ts(4000 + 42_500),
      endedBy: 'BYE from +7916',
    };
    expect((await post('event', end)).statusCode).toBe(200);
    const call = (await calls()).find((c) => c.visitId === visit.visit && c.status === 'completed');
    expect(call).toMatchObject({
      status: 'completed',
      waitSeconds: 4,
      talkSeconds: 43,
      employee: 'Анна',
      groupName: 'Продажи',
      classes: expect.arrayContaining(['unique', 'targeted']),
    });
    const keys = await env.db.query<{ idempotency_key: string }>(
      `SELECT idempotency_key FROM call_events WHERE provider_call_id = $1 ORDER BY idempotency_key`,
      [`${base.callId}:${base.fromTag}`],
    );
    expect(keys.map((k) => k.idempotency_key)).toEqual([
      'a84b4c76e66710@pc33:1928301774:answered',
      'a84b4c76e66710@pc33:1928301774:ended',
      'a84b4c76e66710@pc33:1928301774:started',
    ]);
  });

  it('maps failed INVITEs: 486 busy, 408/480/487 missed, others failed', async () => {
    expect([486, 600, 408, 480, 487, 603, 503, 404, undefined].map(failureStatus)).toEqual([
      'busy',
      'busy',
      'no-answer',
      'no-answer',
      'no-answer',
      'no-answer',
      'failed',
      'failed',
      'no-answer',
    ]);
    const base = { callId: 'busy-1', fromTag: 'ft' };
    await post('route', { ...base, caller: '+79160000001', callee: s.pool[2], inviteTs: ts() });
    const failed = await post('event', { event: 'failed', ...base, code: '486', endTs: ts(3000) });
    expect(failed.statusCode).toBe(200);
    const call = (await calls()).find((c) => c.caller === '+79160000001');
    expect(call).toMatchObject({
      status: 'busy',
      talkSeconds: 0,
      waitSeconds: 3,
      classes: ['unique', 'missed'],
    });
  });

  it('rejects malformed bodies with the field named', async () => {
    const res = await post('event', { event: 'start', callId: 'x', fromTag: 'y', answerTs: 'yesterday' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('answerTs');
    expect((await post('route', { callId: 'x' })).statusCode).toBe(400);
  });
});
