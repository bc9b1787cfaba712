import { describe, expect, it } from 'vitest';
import { ACTIVE_WINDOW_MS } from '../tracking/number-choice.js';
import { type AttributionInput, attributeCall, type LeaseCandidate } from './attribution.js';

const MIN = 60_000;
const AT = new Date('2026-03-02T12:00:00Z');
const ago = (ms: number) => new Date(AT.getTime() - ms);
const later = (ms: number) => new Date(AT.getTime() + ms);

/** A lease holding the number at AT, active (seen 30 s ago, not left) unless overridden. */
function lease(visitId: string, over: Partial<LeaseCandidate> = {}): LeaseCandidate {
  return {
    visitId,
    visitorId: `visitor-${visitId}`,
    startedAt: ago(20 * MIN),
    lastSeenAt: ago(30_000),
    leftAt: null,
    heldUntil: later(15 * MIN),
    visitCountry: null,
    ...over,
  };
}

/** A lease that left `silentMs` before AT and is still frozen. */
const frozen = (visitId: string, silentMs: number, over: Partial<LeaseCandidate> = {}) =>
  lease(visitId, { lastSeenAt: ago(silentMs), leftAt: ago(silentMs), ...over });

/** A lease that ended (held until) `gapMs` before AT. */
const endedLease = (visitId: string, gapMs: number) =>
  lease(visitId, {
    lastSeenAt: ago(gapMs + 15 * MIN),
    leftAt: ago(gapMs + 15 * MIN),
    heldUntil: ago(gapMs),
  });

function input(over: Partial<AttributionInput> = {}): AttributionInput {
  return {
    at: AT,
    numberKind: 'pool',
    leasesAt: [],
    lastLeaseBefore: null,
    lateGraceMinutes: 30,
    callerVisitorIds: [],
    historyVisitId: null,
    callerCountry: null,
    recentHolders: 1,
    ...over,
  };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('attributeCall: static and default numbers', () => {
  it('a static number is attributed by its channel rule: method static, full confidence, no visit', () => {
    expect(attributeCall(input({ numberKind: 'static' }))).toEqual({
      method: 'static',
      confidence: 1,
      visitId: null,
      candidates: [],
    });
  });

  it('a static number stays static even with leases and caller history around', () => {
    const a = attributeCall(
      input({ numberKind: 'static', leasesAt: [lease('v1')], historyVisitId: 'h1', callerVisitorIds: ['x'] }),
    );
    expect(a.method).toBe('static');
    expect(a.visitId).toBeNull();
  });

  it('the default number without caller history is method default with zero confidence', () => {
    expect(attributeCall(input({ numberKind: 'default' }))).toEqual({
      method: 'default',
      confidence: 0,
      visitId: null,
      candidates: [],
    });
  });

  it('the default number with caller history is attributed to the history visit', () => {
    const a = attributeCall(input({ numberKind: 'default', historyVisitId: 'h1', callerVisitorIds: ['x'] }));
    expect(a).toEqual({
      method: 'history',
      confidence: 0.55,
      visitId: 'h1',
      candidates: [{ visitId: 'h1', score: 0.55, reasons: ['caller_history'] }],
    });
  });

  it('the default number ignores leases (it is never leased)', () => {
    const a = attributeCall(input({ numberKind: 'default', leasesAt: [lease('v1')] }));
    expect(a.method).toBe('default');
    expect(a.visitId).toBeNull();
  });

  it('an unknown number (no kind) without history is unattributed', () => {
    expect(attributeCall(input({ numberKind: null, leasesAt: [lease('v1')] }))).toEqual({
      method: 'none',
      confidence: 0,
      visitId: null,
      candidates: [],
    });
  });
});

describe('attributeCall: one lease holds the number', () => {
  it('an active lease nobody else held recently is dynamic with confidence 180/181', () => {
    expect(attributeCall(input({ leasesAt: [lease('v1')] }))).toEqual({
      method: 'dynamic',
      confidence: 0.994,
      visitId: 'v1',
      candidates: [{ visitId: 'v1', score: 0.994, reasons: ['active'] }],
    });
  });

  it('a frozen lease (visitor left 5 min ago) is dynamic with a lower confidence', () => {
    expect(attributeCall(input({ leasesAt: [frozen('v1', 5 * MIN)] }))).toEqual({
      method: 'dynamic',
      confidence: 0.813,
      visitId: 'v1',
      candidates: [{ visitId: 'v1', score: 0.813, reasons: ['frozen'] }],
    });
  });

  it('a lease that left just now is frozen, not active', () => {
    const a = attributeCall(input({ leasesAt: [frozen('v1', 1_000)] }));
    expect(a.candidates[0].reasons).toEqual(['frozen']);
    expect(a.confidence).toBe(0.988);
  });

  it('a lease not left but silent for longer than the active window counts as frozen', () => {
    const a = attributeCall(
      input({ leasesAt: [lease('v1', { lastSeenAt: ago(ACTIVE_WINDOW_MS + 1_000) })] }),
    );
    expect(a.confidence).toBe(0.979);
    const b = attributeCall(input({ leasesAt: [lease('v1', { lastSeenAt: ago(ACTIVE_WINDOW_MS) })] }));
    expect(b.confidence).toBe(0.994);
  });

  it('the lease wins over caller history pointing at another visit', () => {
    const a = attributeCall(
      input({ leasesAt: [lease('v1')], historyVisitId: 'h1', callerVisitorIds: ['x'] }),
    );
    expect(a.method).toBe('dynamic');
    expect(a.visitId).toBe('v1');
  });
});

describe('attributeCall: several leases share the number', () => {
  it('keeps every holder as a candidate, scores summing to about 1, best first and chosen', () => {
    const leases = [frozen('v1', 8 * MIN), lease('v2'), frozen('v3', 3 * MIN)];
    const a = attributeCall(input({ leasesAt: leases }));
    expect(a.method).toBe('dynamic');
    expect(a.candidates.map((c) => c.visitId).sort()).toEqual(['v1', 'v2', 'v3']);
    expect(sum(a.candidates.map((c) => c.score))).toBeCloseTo(1, 2);
    const scores = a.candidates.map((c) => c.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(a.visitId).toBe(a.candidates[0].visitId);
    // The active holder's rate (180) against the two frozen ones' (8 and 3 min silent) and one unseen other.
    expect(a.confidence).toBe(0.929);
    // The active holder is the freshest and the only active one.
    expect(a.visitId).toBe('v2');
    for (const c of a.candidates) {
      expect(c.score).toBeGreaterThan(0);
      expect(c.score).toBeLessThan(1);
    }
  });

  it('two otherwise identical holders split evenly', () => {
    const a = attributeCall(input({ leasesAt: [frozen('v1', 5 * MIN), frozen('v2', 5 * MIN)] }));
    expect(a.candidates.map((c) => c.score)).toEqual([0.5, 0.5]);
    // Each has half of the two holders' rate; recent holders beyond the two (none here) count one.
    expect(a.confidence).toBe(0.449);
    const crowded = attributeCall(
      input({ leasesAt: [frozen('v1', 5 * MIN), frozen('v2', 5 * MIN)], recentHolders: 6 }),
    );
    expect(crowded.confidence).toBe(0.343);
  });

  it('caller history with a visitor raises that holder (weight ×8)', () => {
    const a = attributeCall(
      input({
        leasesAt: [frozen('v1', 5 * MIN), frozen('v2', 5 * MIN)],
        callerVisitorIds: ['visitor-v2'],
      }),
    );
    expect(a.visitId).toBe('v2');
    expect(a.candidates).toEqual([
      { visitId: 'v2', score: 0.889, reasons: ['caller_history'] },
      { visitId: 'v1', score: 0.111, reasons: [] },
    ]);
  });

  it('caller history outweighs a fresher holder', () => {
    const a = attributeCall(
      input({
        leasesAt: [lease('fresh'), frozen('known', 10 * MIN)],
        callerVisitorIds: ['visitor-known'],
      }),
    );
    expect(a.visitId).toBe('known');
  });

  it('the same country as the caller raises a holder, another country lowers it', () => {
    const a = attributeCall(
      input({
        leasesAt: [
          frozen('kz', 5 * MIN, { visitCountry: 'KZ' }),
          frozen('ru', 5 * MIN, { visitCountry: 'RU' }),
        ],
        callerCountry: 'RU',
      }),
    );
    expect(a.visitId).toBe('ru');
    // 1.5 vs 0.5.
    expect(a.candidates).toEqual([
      { visitId: 'ru', score: 0.75, reasons: ['same_country'] },
      { visitId: 'kz', score: 0.25, reasons: ['other_country'] },
    ]);
  });

  it('same country beats an unknown country', () => {
    const a = attributeCall(
      input({
        leasesAt: [frozen('unknown', 5 * MIN), frozen('ru', 5 * MIN, { visitCountry: 'RU' })],
        callerCountry: 'RU',
      }),
    );
    expect(a.visitId).toBe('ru');
    expect(a.candidates.find((c) => c.visitId === 'unknown')?.reasons).toEqual([]);
  });

  it('without a caller country, visit countries do not matter', () => {
    const a = attributeCall(
      input({
        leasesAt: [
          frozen('kz', 5 * MIN, { visitCountry: 'KZ' }),
          frozen('ru', 5 * MIN, { visitCountry: 'RU' }),
        ],
      }),
    );
    expect(a.candidates.map((c) => c.score)).toEqual([0.5, 0.5]);
  });

  it('more recent activity raises a holder', () => {
    const a = attributeCall(input({ leasesAt: [frozen('old', 20 * MIN), frozen('recent', 1 * MIN)] }));
    expect(a.visitId).toBe('recent');
    // Weight halves every 10 silent minutes: 0.5^0.1 vs 0.5^2.
    const recent = 0.5 ** 0.1;
    const old = 0.5 ** 2;
    expect(a.candidates[0].score).toBeCloseTo(recent / (recent + old), 3);
  });

  it('an active holder outranks an equally fresh one that left', () => {
    const a = attributeCall(input({ leasesAt: [frozen('left', 30_000), lease('active')] }));
    expect(a.visitId).toBe('active');
    expect(a.candidates[0].reasons).toContain('active');
    expect(a.candidates[0].score).toBeCloseTo(2 / 3, 2);
  });

  it('the ranking does not depend on the order of the leases', () => {
    const leases = [
      frozen('a', 4 * MIN, { visitCountry: 'RU' }),
      lease('b', { visitCountry: 'KZ' }),
      frozen('c', 12 * MIN),
    ];
    const one = attributeCall(
      input({ leasesAt: leases, callerCountry: 'RU', callerVisitorIds: ['visitor-c'] }),
    );
    const two = attributeCall(
      input({ leasesAt: [...leases].reverse(), callerCountry: 'RU', callerVisitorIds: ['visitor-c'] }),
    );
    expect(two.visitId).toBe(one.visitId);
    expect(new Map(two.candidates.map((c) => [c.visitId, c.score]))).toEqual(
      new Map(one.candidates.map((c) => [c.visitId, c.score])),
    );
  });
});

describe('attributeCall: no lease holds the number', () => {
  it('the last holder within the grace window is a late attribution, likely right after the freeze', () => {
    expect(attributeCall(input({ lastLeaseBefore: endedLease('v1', 0) }))).toEqual({
      method: 'late',
      confidence: 0.981,
      visitId: 'v1',
      candidates: [{ visitId: 'v1', score: 0.981, reasons: ['last_holder'] }],
    });
  });

  it('late confidence stays high for a few minutes after the freeze, then falls fast', () => {
    const confidences = [0, 2, 5, 10, 30].map((m) => {
      const a = attributeCall(
        input({ lastLeaseBefore: endedLease('v1', m * MIN), lateGraceMinutes: 30, recentHolders: 5 }),
      );
      expect(a.method).toBe('late');
      expect(a.visitId).toBe('v1');
      return a.confidence;
    });
    expect(confidences).toEqual([0.926, 0.922, 0.788, 0.279, 0.073]);
  });

  it('late wins over caller history within the grace window', () => {
    const a = attributeCall(input({ lastLeaseBefore: endedLease('v1', 5 * MIN), historyVisitId: 'h1' }));
    expect(a.method).toBe('late');
    expect(a.visitId).toBe('v1');
  });

  it('beyond the grace window with caller history it is a history attribution', () => {
    const a = attributeCall(
      input({ lastLeaseBefore: endedLease('v1', 31 * MIN), historyVisitId: 'h1', callerVisitorIds: ['x'] }),
    );
    expect(a).toEqual({
      method: 'history',
      confidence: 0.55,
      visitId: 'h1',
      candidates: [{ visitId: 'h1', score: 0.55, reasons: ['caller_history'] }],
    });
  });

  it('beyond the grace window without caller history it is unattributed', () => {
    expect(attributeCall(input({ lastLeaseBefore: endedLease('v1', 31 * MIN) }))).toEqual({
      method: 'none',
      confidence: 0,
      visitId: null,
      candidates: [],
    });
  });

  it('with a zero grace window there is no late attribution', () => {
    const a = attributeCall(input({ lastLeaseBefore: endedLease('v1', 0), lateGraceMinutes: 0 }));
    expect(a.method).toBe('none');
    expect(a.visitId).toBeNull();
  });

  it('with no lease ever, history if known, else none', () => {
    expect(attributeCall(input({ historyVisitId: 'h1' })).method).toBe('history');
    expect(attributeCall(input()).method).toBe('none');
  });
});

describe('attributeCall: confidence weighs the evidence at call time', () => {
  it('more recent holders of the number lower the confidence of an active holder', () => {
    const confidences = [1, 5, 11].map(
      (recentHolders) => attributeCall(input({ leasesAt: [lease('v1')], recentHolders })).confidence,
    );
    expect(confidences).toEqual([0.994, 0.978, 0.947]);
  });

  it('more recent holders lower a late attribution too', () => {
    const one = attributeCall(input({ lastLeaseBefore: endedLease('v1', 5 * MIN) }));
    const five = attributeCall(input({ lastLeaseBefore: endedLease('v1', 5 * MIN), recentHolders: 5 }));
    expect([one.confidence, five.confidence]).toEqual([0.937, 0.788]);
  });

  it('a frozen holder is less likely the caller the longer it has been silent', () => {
    const confidences = [0.5, 2, 5, 10].map(
      (m) => attributeCall(input({ leasesAt: [frozen('v1', m * 60_000)], recentHolders: 9 })).confidence,
    );
    expect(confidences).toEqual([0.895, 0.726, 0.353, 0.124]);
  });

  it("caller history with the holder's visitor raises confidence, history with another visitor lowers it", () => {
    const at = (callerVisitorIds: string[]) =>
      attributeCall(input({ leasesAt: [frozen('v1', 5 * MIN)], recentHolders: 9, callerVisitorIds }))
        .confidence;
    expect(at([])).toBe(0.353);
    expect(at(['visitor-v1'])).toBe(0.813);
    expect(at(['someone-else'])).toBe(0.064);
    // Linked to the holder and to someone else: the holder's history counts.
    expect(at(['someone-else', 'visitor-v1'])).toBe(0.813);
  });

  it("on a shared number the chosen holder's confidence weighs the other holders' own rates", () => {
    const a = attributeCall(
      input({
        leasesAt: [lease('fresh'), frozen('known', 10 * MIN)],
        callerVisitorIds: ['visitor-known'],
        recentHolders: 2,
      }),
    );
    expect(a.visitId).toBe('known');
    expect(a.confidence).toBe(0.279);
  });

  it('confidence never leaves [0, 1] and the chosen visit does not depend on the evidence', () => {
    for (const recentHolders of [0, 1, 50]) {
      const a = attributeCall(input({ leasesAt: [lease('v1')], recentHolders }));
      expect(a.visitId).toBe('v1');
      expect(a.confidence).toBeGreaterThan(0);
      expect(a.confidence).toBeLessThanOrEqual(1);
    }
  });
});
