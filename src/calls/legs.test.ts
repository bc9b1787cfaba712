import { describe, expect, it } from 'vitest';
import type { CallLeg } from './legs.js';
import { type CallEvent, reduceCall } from './reducer.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (sec: number) => new Date(T0 + sec * 1000);

function ev(type: CallEvent['type'], sec: number, seq: number, extra: Partial<CallEvent> = {}): CallEvent {
  return { type, occurredAt: at(sec), seq, ...extra };
}

const started = () => ev('call.started', 0, 0, { from: '+79160000001', to: '+74950000001' });
const leg = (type: 'leg.started' | 'leg.answered' | 'leg.ended', sec: number, legId: string, extra = {}) =>
  ev(type, sec, sec * 10 + 1, { legId, ...extra });

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [item, ...p]),
  );
}

describe('legs: a simultaneous ring group', () => {
  // Anna and Boris ring at once; Boris answers at 8 s, Anna's phone stops ringing; the call ends at 68 s.
  const events = [
    started(),
    leg('leg.started', 1, 'a', { employee: 'Анна', target: '+79161110001' }),
    leg('leg.started', 1, 'b', { employee: 'Борис', target: 'sip:boris@pbx' }),
    leg('leg.answered', 8, 'b'),
    leg('leg.ended', 8, 'a', { status: 'canceled' }),
    leg('leg.ended', 68, 'b', { status: 'completed' }),
    ev('call.ended', 68, 700, { status: 'completed' }),
  ];

  it('answers the call with the first person leg and lists every attempt', () => {
    const s = reduceCall(events);
    expect(s).toMatchObject({
      status: 'completed',
      answeredAt: at(8),
      waitSeconds: 8,
      talkSeconds: 60,
      employee: 'Борис',
      finishedBy: 'Борис',
    });
    expect(s.legs).toEqual<CallLeg[]>([
      {
        legId: 'a',
        kind: 'employee',
        employee: 'Анна',
        target: '+79161110001',
        status: 'canceled',
        startedAt: at(1),
        answeredAt: null,
        endedAt: at(8),
        talkSeconds: 0,
      },
      {
        legId: 'b',
        kind: 'employee',
        employee: 'Борис',
        target: 'sip:boris@pbx',
        status: 'completed',
        startedAt: at(1),
        answeredAt: at(8),
        endedAt: at(68),
        talkSeconds: 60,
      },
    ]);
  });

  it('is the same for every order of the leg events and with duplicates', () => {
    const expected = reduceCall(events);
    const legEvents = events.slice(1, 6);
    for (const p of permutations(legEvents)) {
      expect(reduceCall([events[0], ...p, events[6]])).toEqual(expected);
    }
    expect(reduceCall([...events, ...events.slice(1, 6).reverse()])).toEqual(expected);
  });
});

describe('legs: who answered', () => {
  it('an IVR or voicemail leg answering is not a person answering: the call is missed', () => {
    const s = reduceCall([
      started(),
      leg('leg.answered', 1, 'ivr', { legKind: 'ivr' }),
      leg('leg.started', 10, 'a', { employee: 'Анна' }),
      leg('leg.ended', 30, 'a', { status: 'no-answer' }),
      leg('leg.answered', 31, 'vm', { legKind: 'voicemail' }),
      ev('call.ended', 60, 900, { status: 'completed' }),
    ]);
    expect(s).toMatchObject({ status: 'missed', answeredAt: null, employee: null, talkSeconds: 0 });
    expect(s.legs.map((l) => [l.legId, l.kind, l.status])).toEqual([
      ['ivr', 'ivr', 'completed'],
      ['a', 'employee', 'no-answer'],
      ['vm', 'voicemail', 'completed'],
    ]);
  });

  it('a leg summary with talk time answers the leg (and the call) without an answer event', () => {
    const s = reduceCall([started(), leg('leg.ended', 50, 'a', { employee: 'Анна', talkSeconds: 30 })]);
    expect(s.status).toBe('answered');
    expect(s.answeredAt).toEqual(at(20));
    expect(s.employee).toBe('Анна');
    expect(s.legs[0]).toMatchObject({ status: 'completed', answeredAt: at(20), talkSeconds: 30 });
  });

  it('the leg summary outranks the leg timestamps, the call summary the call timestamps', () => {
    const s = reduceCall([
      started(),
      leg('leg.answered', 5, 'a', { employee: 'Анна' }),
      leg('leg.ended', 65, 'a', { talkSeconds: 58 }),
      leg('leg.ended', 66, 'a'),
      ev('call.ended', 66, 900, { talkSeconds: 57 }),
    ]);
    expect(s.legs[0]).toMatchObject({ endedAt: at(65), talkSeconds: 58 });
    expect(s.talkSeconds).toBe(57);
  });

  it('an earlier call.answered (e.g. a queue pickup) keeps its employee over a later leg', () => {
    const s = reduceCall([
      started(),
      ev('call.answered', 4, 1, { employee: 'Ольга' }),
      leg('leg.answered', 9, 'b', { employee: 'Борис' }),
    ]);
    expect(s).toMatchObject({ answeredAt: at(4), employee: 'Ольга' });
  });

  it('a ringing leg left open when the call ends unanswered is no-answer', () => {
    const s = reduceCall([
      started(),
      leg('leg.started', 1, 'a', { employee: 'Анна' }),
      ev('call.ended', 40, 9, { status: 'no-answer' }),
    ]);
    expect(s.legs[0]).toMatchObject({ status: 'no-answer', endedAt: at(40), talkSeconds: 0 });
  });
});

describe('legs: transfers', () => {
  it('a blind transfer without leg reports: Anna talks until the transfer, Boris until the end', () => {
    const events = [
      started(),
      leg('leg.answered', 10, 'a', { employee: 'Анна' }),
      ev('call.transferred', 40, 5, { transfer: { from: 'Анна', to: 'Борис', kind: 'blind' } }),
      ev('call.ended', 100, 9, { status: 'completed' }),
    ];
    const s = reduceCall(events);
    expect(s).toMatchObject({ employee: 'Анна', finishedBy: 'Борис', talkSeconds: 90 });
    expect(s.transfers).toEqual([{ from: 'Анна', to: 'Борис', kind: 'blind', at: at(40) }]);
    expect(s.legs.map((l) => [l.employee, l.answeredAt, l.endedAt, l.talkSeconds])).toEqual([
      ['Анна', at(10), at(40), 30],
      ['Борис', at(40), at(100), 60],
    ]);
    for (const p of permutations(events)) expect(reduceCall(p)).toEqual(s);
    expect(reduceCall([...events, events[2]])).toEqual(s);
  });

  it('a blind transfer followed by reported legs uses them: the new leg rings and is answered', () => {
    const s = reduceCall([
      started(),
      leg('leg.answered', 10, 'a', { employee: 'PJSIP/101' }),
      ev('call.transferred', 40, 5, { transfer: { from: 'PJSIP/101', to: '102', kind: 'blind' } }),
      leg('leg.ended', 40, 'a'),
      leg('leg.started', 41, 'b', { employee: 'PJSIP/102' }),
      leg('leg.answered', 47, 'b'),
      ev('call.ended', 107, 9),
    ]);
    expect(s.legs.map((l) => [l.legId, l.employee, l.talkSeconds])).toEqual([
      ['a', 'PJSIP/101', 30],
      ['b', 'PJSIP/102', 60],
    ]);
    expect(s).toMatchObject({ employee: 'PJSIP/101', finishedBy: 'PJSIP/102' });
  });

  it('an attended transfer keeps the target’s own leg (the consultation) and ends the transferer’s', () => {
    const s = reduceCall([
      started(),
      leg('leg.answered', 10, 'a', { employee: 'Анна' }),
      leg('leg.answered', 30, 'b', { employee: 'Борис' }),
      ev('call.transferred', 50, 5, { transfer: { from: 'Анна', to: 'Борис', kind: 'attended' } }),
      ev('call.ended', 110, 9, { status: 'completed' }),
    ]);
    expect(s.legs.map((l) => [l.legId, l.endedAt, l.talkSeconds])).toEqual([
      ['a', at(50), 40],
      ['b', at(110), 80],
    ]);
    expect(s.finishedBy).toBe('Борис');
  });
});
