import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCallEvents, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/** The generic webhook stores events raw under their idempotency key; redelivery and disorder are harmless. */
describe('call events', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let number: string;

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env);
    number = (await postVisit(env.app, { site: s.site.siteKey, url: 'https://a.example/?gclid=abc' })).json()
      .number.e164;
  });
  afterAll(() => env.close());

  const ev = (callId: string, type: string, sec: number, extra: Record<string, unknown> = {}) => ({
    id: `${callId}:${type}`,
    type,
    callId,
    occurredAt: new Date(env.clock.now().getTime() + sec * 1000).toISOString(),
    ...extra,
  });

  it('gives the same call whatever the order and however often events arrive', async () => {
    const started = ev('X1', 'call.started', 0, { from: '+79160000001', to: number });
    const answered = ev('X1', 'call.answered', 12, { employee: 'Ольга', group: 'Продажи' });
    const ended = ev('X1', 'call.ended', 92, {
      status: 'completed',
      recordingUrl: 'https://rec.example/x1.mp3',
    });
    for (const batch of [[ended], [answered, ended], [started], [started, answered]]) {
      expect((await postCallEvents(env.app, s.integration, batch)).statusCode).toBe(200);
    }
    const stored = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM call_events WHERE provider_call_id = 'X1'`,
    );
    expect(stored[0].n).toBe(3);
    const calls = (await env.api('GET', '/api/v1/calls')).json();
    expect(calls.total).toBe(1);
    expect(calls.items[0]).toMatchObject({
      status: 'completed',
      waitSeconds: 12,
      talkSeconds: 80,
      employee: 'Ольга',
      groupName: 'Продажи',
      recordingUrl: 'https://rec.example/x1.mp3',
      method: 'dynamic',
      channel: 'paid_search',
      source: 'google',
    });
  });

  it('keeps a ringing call open and closes it as missed when it ends unanswered', async () => {
    await postCallEvents(
      env.app,
      s.integration,
      ev('X2', 'call.started', 200, { from: '+79160000002', to: number }),
    );
    let call = (await env.api('GET', '/api/v1/calls?caller=%2B79160000002')).json().items[0];
    expect(call.status).toBe('ringing');
    expect(call.classes).toEqual(['unique']);
    await postCallEvents(env.app, s.integration, ev('X2', 'call.ended', 230, { status: 'no-answer' }));
    call = (await env.api('GET', '/api/v1/calls?caller=%2B79160000002')).json().items[0];
    expect(call.status).toBe('missed');
    expect(call.classes).toEqual(['unique', 'missed']);
    const missed = (await env.api('GET', '/api/v1/calls?class=missed')).json();
    expect(missed.items.map((c: { caller: string }) => c.caller)).toEqual(['+79160000002']);
  });

  it('reclassifies stored calls when the site settings change', async () => {
    // X1 talked 80 s: targeted at the default 30 s threshold, not at 120 s.
    const find = async () => (await env.api('GET', '/api/v1/calls?caller=%2B79160000001')).json().items[0];
    expect((await find()).classes).toContain('targeted');
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { targetedThresholdSeconds: 120 });
    expect((await find()).classes).not.toContain('targeted');
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, {
      targetedThresholdSeconds: 30,
      leadGroups: ['Сервис'],
    });
    expect((await find()).classes).not.toContain('targeted');
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { leadGroups: ['Продажи'] });
    expect((await find()).classes).toContain('targeted');
  });

  it('counts a repeat call as unique again with uniqueness off', async () => {
    await postCallEvents(env.app, s.integration, [
      ev('X3', 'call.started', 400, { from: '+79160000001', to: number }),
      ev('X3', 'call.ended', 420, { status: 'busy' }),
    ]);
    const byId = async () => (await env.api('GET', '/api/v1/calls?caller=%2B79160000001')).json().items[0];
    const latest = await byId();
    expect(latest.status).toBe('busy');
    expect(latest.classes).toEqual(['repeat', 'missed']);
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { countUniqueness: false });
    expect((await byId()).classes).toEqual(['unique', 'missed']);
  });
});
