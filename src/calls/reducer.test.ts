import { describe, expect, it } from 'vitest';
import { type CallEvent, type CallState, reduceCall } from './reducer.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (sec: number) => new Date(T0 + sec * 1000);

const CALLER = '+79160000001';
const NUMBER = '+74950000001';

function ev(type: CallEvent['type'], sec: number, seq: number, extra: Partial<CallEvent> = {}): CallEvent {
  return { type, occurredAt: at(sec), seq, ...extra };
}

const started = (sec = 0, seq = 0, extra: Partial<CallEvent> = {}) =>
  ev('call.started', sec, seq, { from: CALLER, to: NUMBER, ...extra });
const answered = (sec = 12, seq = 1, extra: Partial<CallEvent> = {}) =>
  ev('call.answered', sec, seq, { employee: 'Ольга', group: 'Продажи', ...extra });
const ended = (sec = 92, seq = 2, extra: Partial<CallEvent> = {}) => ev('call.ended', sec, seq, extra);

/** All orderings of a list (small lists only). */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  const out: T[][] = [];
  items.forEach((item, i) => {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) out.push([item, ...p]);
  });
  return out;
}

describe('reduceCall: a complete answered call', () => {
  const events = [
    started(),
    answered(),
    ended(92, 2, { status: 'completed', recordingUrl: 'https://rec.example/1.mp3' }),
  ];

  it('is completed with wait and talk computed from the timestamps', () => {
    expect(reduceCall(events)).toEqual<CallState>({
      caller: CALLER,
      trackingNumber: NUMBER,
      status: 'completed',
      startedAt: at(0),
      answeredAt: at(12),
      endedAt: at(92),
      waitSeconds: 12,
      talkSeconds: 80,
      employee: 'Ольга',
      group: 'Продажи',
      recordingUrl: 'https://rec.example/1.mp3',
      closedBy: null,
      legs: [],
      transfers: [],
      finishedBy: 'Ольга',
    });
  });

  it('rounds computed durations to whole seconds', () => {
    const s = reduceCall([
      { type: 'call.started', occurredAt: new Date(T0), seq: 0 },
      { type: 'call.answered', occurredAt: new Date(T0 + 4_600), seq: 1 },
      { type: 'call.ended', occurredAt: new Date(T0 + 65_200), seq: 2 },
    ]);
    expect(s.waitSeconds).toBe(5);
    expect(s.talkSeconds).toBe(61);
  });

  it('gives an identical result for every ordering of the events', () => {
    const expected = reduceCall(events);
    const all = permutations(events);
    expect(all).toHaveLength(6);
    for (const p of all) expect(reduceCall(p)).toEqual(expected);
  });

  it('gives an identical result when events are duplicated and shuffled', () => {
    const expected = reduceCall(events);
    const [s, a, e] = events;
    const withDuplicates = [s, a, e, a, e];
    for (const p of permutations(withDuplicates)) expect(reduceCall(p)).toEqual(expected);
    expect(reduceCall([e, e, e, a, s, s, a])).toEqual(expected);
  });

  it('does not depend on receipt order (seq) when provider times differ', () => {
    const expected = reduceCall(events);
    // Redelivery gets a new receipt seq; renumber every ordering by arrival as the service does.
    const withDuplicates = [...events, events[1], events[2]];
    for (const p of permutations(withDuplicates)) {
      const renumbered = p.map((e, seq) => ({ ...e, seq }));
      expect(reduceCall(renumbered)).toEqual(expected);
    }
  });

  it('does not mutate the input array', () => {
    const input = [events[2], events[0], events[1]];
    const copy = [...input];
    reduceCall(input);
    expect(input).toEqual(copy);
    expect(input[0]).toBe(events[2]);
  });
});

describe('reduceCall: unanswered calls', () => {
  it('ended without an answer is missed, with zero talk and the whole ring as wait', () => {
    const s = reduceCall([started(), ended(30, 1, { status: 'no-answer' })]);
    expect(s.status).toBe('missed');
    expect(s.answeredAt).toBeNull();
    expect(s.endedAt).toEqual(at(30));
    expect(s.talkSeconds).toBe(0);
    expect(s.waitSeconds).toBe(30);
  });

  it('ended without a status and without an answer is missed', () => {
    expect(reduceCall([started(), ended(30, 1)]).status).toBe('missed');
  });

  it("ended with status 'completed' but no answer and no talk is still missed", () => {
    expect(reduceCall([started(), ended(30, 1, { status: 'completed' })]).status).toBe('missed');
  });

  it.each(['busy', 'failed', 'canceled'] as const)(
    'ended with status %s and no answer keeps that status',
    (status) => {
      const s = reduceCall([started(), ended(5, 1, { status })]);
      expect(s.status).toBe(status);
      expect(s.answeredAt).toBeNull();
      expect(s.talkSeconds).toBe(0);
    },
  );

  it('an answered call is completed even if the end status says busy', () => {
    expect(reduceCall([started(), answered(), ended(92, 2, { status: 'busy' })]).status).toBe('completed');
  });

  it('a zero talk time in the summary does not count as answered', () => {
    const s = reduceCall([started(), ended(30, 1, { status: 'no-answer', talkSeconds: 0 })]);
    expect(s.status).toBe('missed');
    expect(s.answeredAt).toBeNull();
  });
});

describe('reduceCall: end summaries', () => {
  it('talk time in the summary without an answered event means completed, answered at end − talk', () => {
    const s = reduceCall([started(), ended(100, 1, { status: 'completed', talkSeconds: 70 })]);
    expect(s.status).toBe('completed');
    expect(s.endedAt).toEqual(at(100));
    expect(s.answeredAt).toEqual(at(30));
    expect(s.talkSeconds).toBe(70);
    expect(s.waitSeconds).toBe(30);
  });

  it('never reports a negative wait when the summary talk is longer than the call', () => {
    const s = reduceCall([started(), ended(50, 1, { talkSeconds: 60 })]);
    expect(s.answeredAt).toEqual(at(-10));
    expect(s.waitSeconds).toBe(0);
    expect(s.talkSeconds).toBe(60);
  });

  it('uses the endedAt reported by the summary over the event time', () => {
    const s = reduceCall([started(), ended(105, 1, { endedAt: at(100), talkSeconds: 70 })]);
    expect(s.endedAt).toEqual(at(100));
    expect(s.answeredAt).toEqual(at(30));
  });

  it('summary talk and wait seconds outrank the timestamps', () => {
    const s = reduceCall([started(), answered(12), ended(92, 2, { talkSeconds: 75, waitSeconds: 14 })]);
    expect(s.status).toBe('completed');
    expect(s.answeredAt).toEqual(at(12));
    expect(s.talkSeconds).toBe(75);
    expect(s.waitSeconds).toBe(14);
  });

  it('summary startedAt/answeredAt timestamps override the event times', () => {
    const s = reduceCall([
      started(2),
      answered(15),
      ended(92, 2, { startedAt: at(0), answeredAt: at(12), endedAt: at(90) }),
    ]);
    expect(s.startedAt).toEqual(at(0));
    expect(s.answeredAt).toEqual(at(12));
    expect(s.waitSeconds).toBe(12);
    expect(s.talkSeconds).toBe(78);
  });

  it('the latest event carrying a field wins (caller, number, group, recording)', () => {
    const s = reduceCall([
      started(0, 0, { group: 'IVR' }),
      answered(12, 1, { group: 'Продажи' }),
      ended(92, 2, { recordingUrl: 'https://rec.example/2.mp3' }),
    ]);
    expect(s.caller).toBe(CALLER);
    expect(s.trackingNumber).toBe(NUMBER);
    expect(s.group).toBe('Продажи');
    expect(s.recordingUrl).toBe('https://rec.example/2.mp3');
  });
});

describe('reduceCall: calls still in progress', () => {
  it('only started is ringing, without durations', () => {
    const s = reduceCall([started()]);
    expect(s).toMatchObject({
      status: 'ringing',
      startedAt: at(0),
      answeredAt: null,
      endedAt: null,
      waitSeconds: null,
      talkSeconds: null,
      employee: null,
      caller: CALLER,
      trackingNumber: NUMBER,
    });
  });

  it('answered but not ended is answered, with wait known and talk unknown', () => {
    const s = reduceCall([started(), answered()]);
    expect(s.status).toBe('answered');
    expect(s.answeredAt).toEqual(at(12));
    expect(s.endedAt).toBeNull();
    expect(s.waitSeconds).toBe(12);
    expect(s.talkSeconds).toBeNull();
    expect(s.employee).toBe('Ольга');
  });
});

describe('reduceCall: disorder', () => {
  it('an answered event received before call.started still gives startedAt from call.started', () => {
    const s = reduceCall([answered(12, 0), ended(92, 1), started(0, 2)]);
    expect(s.startedAt).toEqual(at(0));
    expect(s.waitSeconds).toBe(12);
    expect(s.talkSeconds).toBe(80);
    expect(s.status).toBe('completed');
  });

  it('without call.started, startedAt is the earliest event time', () => {
    const s = reduceCall([ended(92, 0, { status: 'completed' }), answered(12, 1)]);
    expect(s.startedAt).toEqual(at(12));
    expect(s.answeredAt).toEqual(at(12));
    expect(s.waitSeconds).toBe(0);
    expect(s.talkSeconds).toBe(80);
  });

  it('an answered event stamped earlier than call.started makes startedAt that earliest time', () => {
    const s = reduceCall([started(5, 0), answered(3, 1), ended(60, 2)]);
    expect(s.startedAt).toEqual(at(3));
    expect(s.answeredAt).toEqual(at(3));
  });

  it('an end event alone is a finished call starting and ending at its time', () => {
    const s = reduceCall([ended(40, 0, { status: 'no-answer' })]);
    expect(s.status).toBe('missed');
    expect(s.startedAt).toEqual(at(40));
    expect(s.endedAt).toEqual(at(40));
  });

  it('events at the same provider time are ordered by receipt seq', () => {
    // Same second: the later-received event's value wins, whatever order the list is in.
    const s = reduceCall([answered(0, 1, { group: 'Продажи' }), started(0, 0, { group: 'IVR' })]);
    expect(s.group).toBe('Продажи');
    const t = reduceCall([answered(0, 0, { group: 'Продажи' }), started(0, 1, { group: 'IVR' })]);
    expect(t.group).toBe('IVR');
  });

  it('with two answered events (a transfer) the first answer ends the wait', () => {
    const s = reduceCall([started(), answered(40, 2, { employee: 'Иван' }), answered(12, 1), ended(92, 3)]);
    expect(s.answeredAt).toEqual(at(12));
    expect(s.waitSeconds).toBe(12);
    expect(s.talkSeconds).toBe(80);
    expect(s.employee).toBe('Иван');
  });

  it('with two end events the latest end decides', () => {
    const s = reduceCall([
      started(),
      ended(30, 1, { status: 'no-answer' }),
      ended(31, 2, { status: 'busy' }),
    ]);
    expect(s.status).toBe('busy');
    expect(s.endedAt).toEqual(at(31));
  });
});

describe('reduceCall: employee', () => {
  it('is not set on an unanswered call even if an event names one', () => {
    const s = reduceCall([started(0, 0, { employee: 'Ольга' }), ended(30, 1, { status: 'no-answer' })]);
    expect(s.employee).toBeNull();
    expect(s.status).toBe('missed');
  });

  it('is not set on a ringing call', () => {
    expect(reduceCall([started(0, 0, { employee: 'Ольга' })]).employee).toBeNull();
  });

  it('is set on a call answered according to the summary only', () => {
    const s = reduceCall([started(), ended(100, 1, { talkSeconds: 40, employee: 'Иван' })]);
    expect(s.status).toBe('completed');
    expect(s.employee).toBe('Иван');
  });

  it('is the one reported by the latest event that names one', () => {
    const s = reduceCall([
      started(0, 0, { employee: 'Ольга' }),
      answered(12, 1, { employee: 'Иван' }),
      ended(),
    ]);
    expect(s.employee).toBe('Иван');
  });
});

describe('reduceCall: input validation', () => {
  it('throws on an empty list', () => {
    expect(() => reduceCall([])).toThrow(/at least one event/);
  });
});

describe("reduceCall: the sweeper's synthetic end", () => {
  const sweptRinging = (sec: number, seq: number) =>
    ended(sec, seq, { synthetic: true, status: 'no-answer', endedAt: at(sec) });
  const sweptAnswered = (sec: number, seq: number) =>
    ended(sec, seq, { synthetic: true, status: 'completed', endedAt: at(sec) });

  it('closes a ringing call as missed and flags it', () => {
    const s = reduceCall([started(0, 0), sweptRinging(0, 1)]);
    expect(s).toMatchObject({ status: 'missed', endedAt: at(0), talkSeconds: 0, closedBy: 'sweeper' });
  });

  it('closes an answered call as completed at the last event', () => {
    const s = reduceCall([started(0, 0), answered(12, 1), sweptAnswered(12, 2)]);
    expect(s).toMatchObject({ status: 'completed', endedAt: at(12), talkSeconds: 0, closedBy: 'sweeper' });
  });

  it('gives way to a real call.ended in any order, whatever its time', () => {
    const real = ended(92, 3, { status: 'completed' });
    for (const order of permutations([started(0, 0), answered(12, 1), sweptAnswered(12, 2), real])) {
      expect(reduceCall(order)).toMatchObject({
        status: 'completed',
        endedAt: at(92),
        talkSeconds: 80,
        closedBy: null,
      });
    }
    // A real end earlier than the sweeper's close time still wins.
    const early = reduceCall([started(0, 0), sweptRinging(0, 1), ended(30, 2, { status: 'busy' })]);
    expect(early).toMatchObject({ status: 'busy', endedAt: at(30), closedBy: null });
  });

  it('gives way to a real event after its close time: the call is open again', () => {
    const s = reduceCall([started(0, 0), sweptRinging(0, 1), answered(700, 2)]);
    expect(s).toMatchObject({ status: 'answered', endedAt: null, talkSeconds: null, closedBy: null });
  });

  it('stands against a late recording, and the latest synthetic end counts', () => {
    const rec = ev('call.recording', 5000, 3, { recordingUrl: 'https://rec.example/late.mp3' });
    const s = reduceCall([started(0, 0), answered(12, 1), sweptAnswered(60, 2), rec]);
    expect(s).toMatchObject({ status: 'completed', talkSeconds: 48, closedBy: 'sweeper' });
    expect(s.recordingUrl).toBe('https://rec.example/late.mp3');
    const twice = reduceCall([started(0, 0), sweptRinging(0, 1), answered(12, 2), sweptAnswered(12, 3)]);
    expect(twice).toMatchObject({ status: 'completed', endedAt: at(12), closedBy: 'sweeper' });
  });
});
