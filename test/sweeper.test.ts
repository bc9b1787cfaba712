import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SweeperDeps, sweepHangingCalls } from '../src/calls/sweeper.js';
import { postCallEvents, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/** The stale-call sweeper (telephony.md §6.3) closes calls whose end never arrived, through the event log. */
describe('call sweeper', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let number: string;
  let deps: SweeperDeps;

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env);
    number = (await postVisit(env.app, { site: s.site.siteKey, url: 'https://a.example/?gclid=abc' })).json()
      .number.e164;
    deps = { db: env.db, clock: env.clock };
  });
  afterAll(() => env.close());

  const ev = (id: string, callId: string, type: string, at: Date, extra: Record<string, unknown> = {}) => ({
    id,
    type,
    callId,
    occurredAt: at.toISOString(),
    ...extra,
  });
  const post = async (events: unknown[]) => {
    const res = await postCallEvents(env.app, s.integration, events);
    expect(res.statusCode).toBe(200);
    return res.json().calls[0] as string;
  };
  const call = async (id: string) => {
    const res = await env.api('GET', `/api/v1/calls/${id}`);
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const eventCount = async (callId: string) =>
    (
      await env.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM call_events WHERE provider_call_id = $1',
        [callId],
      )
    )[0].n;

  it('closes a ringing call as missed after 10 minutes without events, not at 9', async () => {
    const t0 = env.clock.now();
    const id = await post([ev('R1:start', 'R1', 'call.started', t0, { from: '+79160000101', to: number })]);
    env.clock.advanceMinutes(9);
    expect(await sweepHangingCalls(deps, env.clock.now())).toEqual([]);
    expect(await call(id)).toMatchObject({ status: 'ringing', closedBy: null });

    env.clock.advanceMinutes(1);
    const swept = await sweepHangingCalls(deps, env.clock.now());
    expect(swept).toMatchObject([{ callId: id, providerCallId: 'R1', was: 'ringing' }]);
    const c = await call(id);
    expect(c).toMatchObject({
      status: 'missed',
      closedBy: 'sweeper',
      endedAt: t0.toISOString(),
      talkSeconds: 0,
      answeredAt: null,
    });
    expect(c.classes).toContain('missed');

    // Idempotent: sweeping again (now or later) adds nothing.
    expect(await sweepHangingCalls(deps, env.clock.now())).toEqual([]);
    env.clock.advanceMinutes(30);
    expect(await sweepHangingCalls(deps, env.clock.now())).toEqual([]);
    expect(await eventCount('R1')).toBe(2);
  });

  it('closes an answered call after 4 hours, with talk time up to the last event', async () => {
    const t0 = env.clock.now();
    const sec = (n: number) => new Date(t0.getTime() + n * 1000);
    const id = await post([
      ev('A1:start', 'A1', 'call.started', t0, { from: '+79160000102', to: number }),
      ev('A1:answer', 'A1', 'call.answered', sec(12), { employee: 'Ольга', group: 'Продажи' }),
    ]);
    env.clock.advanceMinutes(5);
    // A transfer: another person answered; the last sign of life is at 300 s.
    await post([ev('A1:transfer', 'A1', 'call.answered', sec(300), { employee: 'Иван' })]);

    env.clock.advanceMinutes(239);
    expect(await sweepHangingCalls(deps, env.clock.now())).toEqual([]);
    expect(await call(id)).toMatchObject({ status: 'answered', closedBy: null });

    env.clock.advanceMinutes(1);
    expect(await sweepHangingCalls(deps, env.clock.now())).toMatchObject([{ callId: id, was: 'answered' }]);
    const c = await call(id);
    expect(c).toMatchObject({
      status: 'completed',
      closedBy: 'sweeper',
      answeredAt: sec(12).toISOString(),
      endedAt: sec(300).toISOString(),
      talkSeconds: 288,
      waitSeconds: 12,
      employee: 'Иван',
    });
    expect(c.classes).not.toContain('missed');
    expect(await sweepHangingCalls(deps, env.clock.now())).toEqual([]);
    expect(await eventCount('A1')).toBe(4);

    // The real end arrives late: it outranks the sweeper's, and the flag goes.
    env.clock.advanceMinutes(10);
    await post([ev('A1:end', 'A1', 'call.ended', sec(900), { status: 'completed' })]);
    expect(await call(id)).toMatchObject({
      status: 'completed',
      closedBy: null,
      endedAt: sec(900).toISOString(),
      talkSeconds: 888,
    });
    env.clock.advanceMinutes(300);
    expect(await sweepHangingCalls(deps, env.clock.now())).toEqual([]);
    expect(await eventCount('A1')).toBe(5);
  });

  it('reopens a swept call when a later real event arrives, and closes it again when it goes quiet', async () => {
    const t0 = env.clock.now();
    const sec = (n: number) => new Date(t0.getTime() + n * 1000);
    const id = await post([ev('L1:start', 'L1', 'call.started', t0, { from: '+79160000103', to: number })]);
    env.clock.advanceMinutes(10);
    expect(await sweepHangingCalls(deps, env.clock.now())).toHaveLength(1);
    expect(await call(id)).toMatchObject({ status: 'missed', closedBy: 'sweeper' });

    // A delayed answer at 20 s shows the call went on: answered again, no flag, classes back.
    await post([ev('L1:answer', 'L1', 'call.answered', sec(20), { employee: 'Ольга' })]);
    const reopened = await call(id);
    expect(reopened).toMatchObject({ status: 'answered', closedBy: null, endedAt: null });
    expect(reopened.classes).not.toContain('missed');

    env.clock.advanceMinutes(240);
    expect(await sweepHangingCalls(deps, env.clock.now())).toMatchObject([{ callId: id, was: 'answered' }]);
    expect(await call(id)).toMatchObject({
      status: 'completed',
      closedBy: 'sweeper',
      endedAt: sec(20).toISOString(),
      talkSeconds: 0,
    });
    expect(await eventCount('L1')).toBe(4);
  });

  it('takes its thresholds from settings', async () => {
    const t0 = env.clock.now();
    const id = await post([ev('S1:start', 'S1', 'call.started', t0, { from: '+79160000104', to: number })]);
    env.clock.advanceMinutes(2);
    const quick = { ...deps, settings: { ringingMinutes: 2 } };
    expect(await sweepHangingCalls({ ...deps, settings: { ringingMinutes: 3 } }, env.clock.now())).toEqual(
      [],
    );
    expect(await sweepHangingCalls(quick, env.clock.now())).toMatchObject([{ callId: id }]);
    expect(await call(id)).toMatchObject({ status: 'missed', closedBy: 'sweeper' });
  });
});
