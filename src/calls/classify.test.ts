import { describe, expect, it } from 'vitest';
import {
  type CallClasses,
  type ClassifiableCall,
  type ClassSettings,
  classifyCallerCalls,
  isTargeted,
} from './classify.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-10T09:00:00Z');

const SETTINGS: ClassSettings = {
  targetedThresholdSeconds: 30,
  countUniqueness: true,
  uniquenessWindowDays: null,
  leadGroups: [],
};

const settings = (over: Partial<ClassSettings> = {}): ClassSettings => ({ ...SETTINGS, ...over });

/** An answered, completed call of `talk` seconds (targeted under the default threshold when talk ≥ 30). */
function call(id: string, offsetMs: number, over: Partial<ClassifiableCall> = {}): ClassifiableCall {
  const startedAt = new Date(T0 + offsetMs);
  return {
    id,
    startedAt,
    status: 'completed',
    answeredAt: new Date(startedAt.getTime() + 10_000),
    talkSeconds: 60,
    group: null,
    ...over,
  };
}

const missed = (id: string, offsetMs: number) =>
  call(id, offsetMs, { status: 'missed', answeredAt: null, talkSeconds: 0 });
const short = (id: string, offsetMs: number) => call(id, offsetMs, { talkSeconds: 5 });

const NONE: CallClasses = {
  unique: false,
  targeted: false,
  uniqueTargeted: false,
  firstTargeted: false,
  repeat: false,
  missed: false,
};
const cls = (over: Partial<CallClasses>): CallClasses => ({ ...NONE, ...over });

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  const out: T[][] = [];
  items.forEach((item, i) => {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) out.push([item, ...p]);
  });
  return out;
}

describe('isTargeted', () => {
  it('needs a person to have answered', () => {
    expect(isTargeted(call('a', 0), SETTINGS)).toBe(true);
    expect(isTargeted(call('a', 0, { answeredAt: null, status: 'missed' }), SETTINGS)).toBe(false);
  });

  it('counts a talk time exactly at the threshold, not one second below', () => {
    expect(isTargeted(call('a', 0, { talkSeconds: 30 }), SETTINGS)).toBe(true);
    expect(isTargeted(call('a', 0, { talkSeconds: 29 }), SETTINGS)).toBe(false);
    expect(isTargeted(call('a', 0, { talkSeconds: 45 }), settings({ targetedThresholdSeconds: 45 }))).toBe(
      true,
    );
    expect(isTargeted(call('a', 0, { talkSeconds: 44 }), settings({ targetedThresholdSeconds: 45 }))).toBe(
      false,
    );
  });

  it('treats an unknown talk time as zero', () => {
    expect(isTargeted(call('a', 0, { status: 'answered', talkSeconds: null }), SETTINGS)).toBe(false);
  });

  it('with lead groups, only calls routed to one of them count', () => {
    const s = settings({ leadGroups: ['Продажи', 'Опт'] });
    expect(isTargeted(call('a', 0, { group: 'Продажи' }), s)).toBe(true);
    expect(isTargeted(call('a', 0, { group: 'Опт' }), s)).toBe(true);
    expect(isTargeted(call('a', 0, { group: 'Поддержка' }), s)).toBe(false);
    expect(isTargeted(call('a', 0, { group: null }), s)).toBe(false);
  });

  it('with lead groups, a short call to a lead group is still not targeted', () => {
    const s = settings({ leadGroups: ['Продажи'] });
    expect(isTargeted(call('a', 0, { group: 'Продажи', talkSeconds: 10 }), s)).toBe(false);
  });

  it('without lead groups, any group counts', () => {
    expect(isTargeted(call('a', 0, { group: 'Поддержка' }), SETTINGS)).toBe(true);
  });
});

describe('classifyCallerCalls: uniqueness', () => {
  it('returns classes for every call, keyed by id', () => {
    const out = classifyCallerCalls([call('a', 0), call('b', DAY), missed('c', 2 * DAY)], SETTINGS);
    expect([...out.keys()].sort()).toEqual(['a', 'b', 'c']);
  });

  it('returns an empty map for no calls', () => {
    expect(classifyCallerCalls([], SETTINGS).size).toBe(0);
  });

  it('first call is unique, later ones are repeat', () => {
    const out = classifyCallerCalls([call('a', 0), call('b', DAY), call('c', 400 * DAY)], SETTINGS);
    expect(out.get('a')).toMatchObject({ unique: true, repeat: false });
    expect(out.get('b')).toMatchObject({ unique: false, repeat: true });
    // All history by default: a year later is still a repeat.
    expect(out.get('c')).toMatchObject({ unique: false, repeat: true });
  });

  it('a missed first call still makes the next call a repeat', () => {
    const out = classifyCallerCalls([missed('a', 0), call('b', 60_000)], SETTINGS);
    expect(out.get('a')).toMatchObject({ unique: true, missed: true });
    expect(out.get('b')).toMatchObject({ unique: false, repeat: true });
  });

  it('with a window in days, a call after the window is unique again', () => {
    const s = settings({ uniquenessWindowDays: 30 });
    const out = classifyCallerCalls([call('a', 0), call('b', 31 * DAY)], s);
    expect(out.get('a')?.unique).toBe(true);
    expect(out.get('b')).toMatchObject({ unique: true, repeat: false });
  });

  it('with a window in days, a call within the window is a repeat', () => {
    const s = settings({ uniquenessWindowDays: 30 });
    const out = classifyCallerCalls([call('a', 0), call('b', 29 * DAY)], s);
    expect(out.get('b')).toMatchObject({ unique: false, repeat: true });
  });

  it('a call exactly at the window length after the last one is still within the window', () => {
    const s = settings({ uniquenessWindowDays: 30 });
    const out = classifyCallerCalls([call('a', 0), call('b', 30 * DAY)], s);
    expect(out.get('b')).toMatchObject({ unique: false, repeat: true });
    const later = classifyCallerCalls([call('a', 0), call('b', 30 * DAY + 1)], s);
    expect(later.get('b')).toMatchObject({ unique: true, repeat: false });
  });

  it('the window counts back from each call to the caller’s latest earlier call', () => {
    // 0 → 20 days → 40 days: the third call is within 30 days of the second.
    const s = settings({ uniquenessWindowDays: 30 });
    const out = classifyCallerCalls(
      [call('a', 0), call('b', 20 * DAY), call('c', 40 * DAY), call('d', 71 * DAY)],
      s,
    );
    expect(out.get('a')?.unique).toBe(true);
    expect(out.get('b')?.unique).toBe(false);
    expect(out.get('c')?.unique).toBe(false);
    expect(out.get('d')?.unique).toBe(true);
  });

  it('with uniqueness counting off, every call is unique and none is a repeat', () => {
    const s = settings({ countUniqueness: false });
    const out = classifyCallerCalls(
      [call('a', 0), call('b', 60_000), missed('c', DAY), short('d', 2 * DAY)],
      s,
    );
    for (const id of ['a', 'b', 'c', 'd']) expect(out.get(id)).toMatchObject({ unique: true, repeat: false });
    expect(out.get('b')?.uniqueTargeted).toBe(true);
  });

  it('unique and repeat are always opposite', () => {
    for (const countUniqueness of [true, false]) {
      const out = classifyCallerCalls(
        [call('a', 0), call('b', DAY), missed('c', 40 * DAY)],
        settings({ countUniqueness, uniquenessWindowDays: 30 }),
      );
      for (const c of out.values()) expect(c.repeat).toBe(!c.unique);
    }
  });
});

describe('classifyCallerCalls: targeted classes', () => {
  it('a first long answered call is unique, targeted, unique-targeted and first-targeted', () => {
    const out = classifyCallerCalls([call('a', 0)], SETTINGS);
    expect(out.get('a')).toEqual(
      cls({ unique: true, targeted: true, uniqueTargeted: true, firstTargeted: true }),
    );
  });

  it('a second targeted call is targeted and repeat, but not first-targeted or unique-targeted', () => {
    const out = classifyCallerCalls([call('a', 0), call('b', DAY)], SETTINGS);
    expect(out.get('b')).toEqual(cls({ targeted: true, repeat: true }));
  });

  it('first-targeted is the first targeted call even after earlier non-targeted calls', () => {
    const out = classifyCallerCalls(
      [missed('a', 0), short('b', DAY), call('c', 2 * DAY), call('d', 3 * DAY)],
      SETTINGS,
    );
    expect(out.get('a')).toEqual(cls({ unique: true, missed: true }));
    expect(out.get('b')).toEqual(cls({ repeat: true }));
    expect(out.get('c')).toEqual(cls({ targeted: true, firstTargeted: true, repeat: true }));
    expect(out.get('d')).toEqual(cls({ targeted: true, repeat: true }));
  });

  it('unique-targeted needs both: a unique short call is not, a targeted repeat is not', () => {
    const out = classifyCallerCalls([short('a', 0), call('b', DAY)], SETTINGS);
    expect(out.get('a')).toMatchObject({ unique: true, targeted: false, uniqueTargeted: false });
    expect(out.get('b')).toMatchObject({ unique: false, targeted: true, uniqueTargeted: false });
  });

  it('with a window, the first targeted call after the window is first-targeted again', () => {
    const s = settings({ uniquenessWindowDays: 30 });
    // a: targeted; b (10 days later): short; c (35 days after a, 25 after b): a is outside the window.
    const out = classifyCallerCalls([call('a', 0), short('b', 10 * DAY), call('c', 35 * DAY)], s);
    expect(out.get('a')).toMatchObject({ firstTargeted: true });
    expect(out.get('c')).toEqual(cls({ unique: false, repeat: true, targeted: true, firstTargeted: true }));
    // Within the window of a, a second targeted call is not first-targeted.
    const within = classifyCallerCalls([call('a', 0), short('b', 10 * DAY), call('c', 29 * DAY)], s);
    expect(within.get('c')).toEqual(cls({ repeat: true, targeted: true }));
  });

  it('lead groups restrict targeted and the classes derived from it', () => {
    const s = settings({ leadGroups: ['Продажи'] });
    const out = classifyCallerCalls(
      [call('a', 0, { group: 'Поддержка' }), call('b', DAY, { group: 'Продажи' })],
      s,
    );
    expect(out.get('a')).toEqual(cls({ unique: true }));
    expect(out.get('b')).toEqual(cls({ repeat: true, targeted: true, firstTargeted: true }));
  });

  it('the threshold boundary applies in the batch too', () => {
    const out = classifyCallerCalls([call('a', 0, { talkSeconds: 30 })], SETTINGS);
    expect(out.get('a')?.targeted).toBe(true);
    const below = classifyCallerCalls([call('a', 0, { talkSeconds: 29 })], SETTINGS);
    expect(below.get('a')).toEqual(cls({ unique: true }));
  });
});

describe('classifyCallerCalls: missed', () => {
  it.each(['missed', 'busy', 'failed', 'canceled'] as const)(
    'a terminal %s call with no answer is missed',
    (status) => {
      const out = classifyCallerCalls([call('a', 0, { status, answeredAt: null, talkSeconds: 0 })], SETTINGS);
      expect(out.get('a')).toEqual(cls({ unique: true, missed: true }));
    },
  );

  it('a ringing call is not (yet) missed', () => {
    const out = classifyCallerCalls(
      [call('a', 0, { status: 'ringing', answeredAt: null, talkSeconds: null })],
      SETTINGS,
    );
    expect(out.get('a')?.missed).toBe(false);
  });

  it('an answered call in progress is not missed', () => {
    const out = classifyCallerCalls([call('a', 0, { status: 'answered', talkSeconds: null })], SETTINGS);
    expect(out.get('a')?.missed).toBe(false);
  });

  it('a completed (answered) call is not missed, however short', () => {
    const out = classifyCallerCalls([short('a', 0)], SETTINGS);
    expect(out.get('a')?.missed).toBe(false);
  });
});

describe('classifyCallerCalls: order of input', () => {
  it('gives the same classes for every ordering of the calls', () => {
    const calls = [
      missed('a', 0),
      short('b', DAY),
      call('c', 2 * DAY),
      call('d', 40 * DAY),
      call('e', 41 * DAY),
    ];
    for (const s of [
      SETTINGS,
      settings({ uniquenessWindowDays: 30 }),
      settings({ countUniqueness: false }),
    ]) {
      const expected = classifyCallerCalls(calls, s);
      for (const p of permutations(calls)) expect(classifyCallerCalls(p, s)).toEqual(expected);
    }
  });

  it('classifies by start time, not by position: a later-listed earlier call is the unique one', () => {
    const out = classifyCallerCalls([call('late', DAY), call('early', 0)], SETTINGS);
    expect(out.get('early')).toMatchObject({ unique: true, firstTargeted: true });
    expect(out.get('late')).toMatchObject({ unique: false, repeat: true, firstTargeted: false });
  });

  it('breaks a tie on start time by id, whatever the input order', () => {
    for (const input of [
      [call('x2', 0), call('x1', 0)],
      [call('x1', 0), call('x2', 0)],
    ]) {
      const out = classifyCallerCalls(input, SETTINGS);
      expect(out.get('x1')).toMatchObject({ unique: true, firstTargeted: true });
      expect(out.get('x2')).toMatchObject({ unique: false, firstTargeted: false });
    }
  });
});
