import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCallEvents, setupSite, type TestEnv, testEnv } from './helpers.js';

/** Legs and transfers through the generic webhook, stored with the call and shown by GET /api/v1/calls/{id}. */
describe('call legs and transfers (generic webhook)', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env);
  });
  afterAll(() => env.close());

  const iso = (sec: number) => new Date(env.clock.now().getTime() + sec * 1000).toISOString();
  const ev = (
    callId: string,
    id: string,
    type: string,
    sec: number,
    extra: Record<string, unknown> = {},
  ) => ({
    id: `${callId}:${id}`,
    type,
    callId,
    occurredAt: iso(sec),
    ...extra,
  });

  it('a ring group, a blind transfer and the end: first answerer, who finished, talk split per leg', async () => {
    const c = 'L1';
    const events = [
      ev(c, 'start', 'call.started', 0, { from: '+79160000001', to: s.pool[0] }),
      ev(c, 'ivr', 'leg.answered', 0, { legId: 'ivr', legKind: 'ivr' }),
      ev(c, 'a-ring', 'leg.started', 10, { legId: 'a', employee: 'Анна', target: '+79161110001' }),
      ev(c, 'b-ring', 'leg.started', 10, { legId: 'b', employee: 'Борис', target: 'sip:boris@pbx.example' }),
      ev(c, 'b-answer', 'leg.answered', 15, { legId: 'b' }),
      ev(c, 'a-end', 'leg.ended', 15, { legId: 'a', status: 'canceled' }),
      ev(c, 'xfer', 'call.transferred', 45, { from: 'Борис', to: 'Вера', kind: 'blind' }),
      ev(c, 'end', 'call.ended', 105, { status: 'completed' }),
    ];
    // Delivered backwards and twice: the same call.
    for (const e of [...events].reverse()) await postCallEvents(env.app, s.integration, e);
    const res = await postCallEvents(env.app, s.integration, events);
    expect(res.statusCode).toBe(200);
    const id = res.json().calls[0];

    const call = (await env.api('GET', `/api/v1/calls/${id}`)).json();
    expect(call).toMatchObject({
      status: 'completed',
      answeredAt: iso(15),
      waitSeconds: 15,
      talkSeconds: 90,
      employee: 'Борис',
      finishedBy: 'Вера',
      transfers: [{ from: 'Борис', to: 'Вера', kind: 'blind', at: iso(45) }],
    });
    expect(
      call.legs.map((l: Record<string, unknown>) => [l.legId, l.kind, l.employee, l.status, l.talkSeconds]),
    ).toEqual([
      ['ivr', 'ivr', null, 'completed', 105],
      ['a', 'employee', 'Анна', 'canceled', 0],
      ['b', 'employee', 'Борис', 'completed', 30],
      ['transfer:1', 'employee', 'Вера', 'completed', 60],
    ]);
    expect(call.legs[2]).toEqual({
      legId: 'b',
      kind: 'employee',
      employee: 'Борис',
      target: 'sip:boris@pbx.example',
      status: 'completed',
      startedAt: iso(10),
      answeredAt: iso(15),
      endedAt: iso(45),
      talkSeconds: 30,
    });
  });

  it('only an IVR and voicemail answering leaves the call missed', async () => {
    const c = 'L2';
    const res = await postCallEvents(env.app, s.integration, [
      ev(c, 'start', 'call.started', 200, { from: '+79160000002', to: s.pool[0] }),
      ev(c, 'ivr', 'leg.answered', 200, { legId: 'ivr', legKind: 'ivr' }),
      ev(c, 'a-ring', 'leg.started', 210, { legId: 'a', employee: 'Анна' }),
      ev(c, 'a-end', 'leg.ended', 240, { legId: 'a', status: 'no-answer' }),
      ev(c, 'vm', 'leg.answered', 241, { legId: 'vm', legKind: 'voicemail' }),
      ev(c, 'end', 'call.ended', 270, { status: 'completed' }),
    ]);
    const call = (await env.api('GET', `/api/v1/calls/${res.json().calls[0]}`)).json();
    expect(call).toMatchObject({ status: 'missed', employee: null, finishedBy: null, answeredAt: null });
    expect(call.classes).toContain('missed');
    expect(call.legs.map((l: Record<string, unknown>) => l.status)).toEqual([
      'completed',
      'no-answer',
      'completed',
    ]);
  });

  it('a call without legs shows empty lists', async () => {
    const res = await postCallEvents(env.app, s.integration, [
      ev('L3', 'start', 'call.started', 300, { from: '+79160000003', to: s.pool[1] }),
    ]);
    const call = (await env.api('GET', `/api/v1/calls/${res.json().calls[0]}`)).json();
    expect(call).toMatchObject({ legs: [], transfers: [], finishedBy: null, status: 'ringing' });
  });

  it.each([
    ['a leg event without legId', { type: 'leg.started', employee: 'Анна' }, /body\.legId/],
    ['a bad leg kind', { type: 'leg.answered', legId: 'x', legKind: 'robot' }, /body\.legKind/],
    ['a phone field on a leg event', { type: 'leg.started', legId: 'x', from: '+79160000001' }, /body/],
    ['a transfer without its target', { type: 'call.transferred', from: 'Анна', kind: 'blind' }, /body\.to/],
    ['a transfer of an unknown kind', { type: 'call.transferred', to: 'Вера', kind: 'warm' }, /body\.kind/],
  ])('refuses %s and stores nothing', async (_name, extra, message) => {
    const res = await postCallEvents(env.app, s.integration, {
      id: 'bad',
      callId: 'L-bad',
      occurredAt: iso(0),
      ...extra,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(message);
    const stored = await env.db.query(`SELECT 1 FROM call_events WHERE provider_call_id = 'L-bad'`);
    expect(stored).toHaveLength(0);
  });
});
