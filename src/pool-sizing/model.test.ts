import { describe, expect, it } from 'vitest';
import { peakOverlap } from '../simulate/min-pool.js';
import { mulberry32 } from '../simulate/rng.js';
import {
  activeEnd,
  callAccuracy,
  callTimingOf,
  type Demand,
  holdsAt,
  neededPoolSize,
  replayClaims,
  sizePool,
  whatIfSizes,
} from './model.js';

const MIN = 60_000;
/** A demand in minutes. */
const d = (start: number, end: number, cutAt?: number): Demand => ({
  start: start * MIN,
  activeEnd: end * MIN,
  cutAt: cutAt === undefined ? null : cutAt * MIN,
});
const iv = (start: number, end: number, active: number) => ({
  start: start * MIN,
  end: end * MIN,
  activeEnd: active * MIN,
});

/**
 * Four visits (minutes): A 0–10, B 2–5, C 6–30, D 20–22.
 * Freeze 15: holds A [0,25) B [2,20) C [6,45) D [20,37): three at once at 6, and again at 20 (B frees
 * exactly when D starts). Freeze 1: A [0,11) B [2,6) C [6,31) D [20,23): never more than two.
 */
const FOUR = [d(0, 10), d(2, 5), d(6, 30), d(20, 22)];

describe('activeEnd and holdsAt', () => {
  it('ends at the leave, or at the last heartbeat plus the active window', () => {
    expect(activeEnd(1_000, 5_000)).toBe(5_000);
    expect(activeEnd(1_000, null)).toBe(61_000);
  });

  it('adds the freeze and respects a cut', () => {
    expect(holdsAt(FOUR, 15)).toEqual([iv(0, 25, 10), iv(2, 20, 5), iv(6, 45, 30), iv(20, 37, 22)]);
    expect(holdsAt([d(0, 10, 12), d(0, 10, 30)], 15)).toEqual([iv(0, 12, 10), iv(0, 25, 10)]);
  });
});

describe('replayClaims', () => {
  it('serves in start order and leaves a visit unserved when every number is busy', () => {
    const holds = holdsAt(FOUR, 15);
    // Size 2: A and B take both numbers; C at 6 finds none; D at 20 gets B's number, freed at 20.
    expect(replayClaims(holds, 2)).toEqual({ demands: 4, served: 3, unserved: 1, servedShare: 0.75 });
    // Size 1: A holds the only number until 25, so B, C and D are unserved.
    expect(replayClaims(holds, 1)).toEqual({ demands: 4, served: 1, unserved: 3, servedShare: 0.25 });
    expect(replayClaims(holds, 3).unserved).toBe(0);
    expect(replayClaims(holds, 0)).toEqual({ demands: 4, served: 0, unserved: 4, servedShare: 0 });
  });

  it('frees a number at the instant its hold ends (half-open)', () => {
    expect(replayClaims([iv(0, 5, 1), iv(5, 10, 6), iv(10, 11, 10)], 1).served).toBe(3);
  });

  it('counts a shorter freeze', () => {
    // Freeze 1, size 1: A [0,11) holds it; B at 2 and C at 6 are unserved; D at 20 finds it free.
    expect(replayClaims(holdsAt(FOUR, 1), 1)).toEqual({
      demands: 4,
      served: 2,
      unserved: 2,
      servedShare: 0.5,
    });
    expect(replayClaims(holdsAt(FOUR, 1), 2).servedShare).toBe(1);
  });

  it('serves everything with no demand', () => {
    expect(replayClaims([], 0).servedShare).toBe(1);
  });
});

describe('neededPoolSize', () => {
  it('is the smallest size reaching the target', () => {
    const holds = holdsAt(FOUR, 15);
    expect(neededPoolSize(holds, 0.99)).toBe(3);
    expect(neededPoolSize(holds, 0.75)).toBe(2);
    expect(neededPoolSize(holds, 0.5)).toBe(2);
    expect(neededPoolSize(holds, 0.25)).toBe(1);
    expect(neededPoolSize([], 0.99)).toBe(0);
  });

  it('matches a linear scan and never exceeds the peak on random traces', () => {
    const rnd = mulberry32(42);
    for (let t = 0; t < 300; t++) {
      const n = 1 + Math.floor(rnd() * 30);
      const holds = Array.from({ length: n }, () => {
        const start = Math.floor(rnd() * 100);
        return { start, end: start + 1 + Math.floor(rnd() * 40) };
      });
      const peak = peakOverlap(holds).peak;
      let previous = -1;
      for (let size = 0; size <= peak; size++) {
        const served = replayClaims(holds, size).served;
        expect(served).toBeGreaterThanOrEqual(previous); // adding a number never hurts
        previous = served;
      }
      expect(previous).toBe(n); // the peak serves everything
      for (const target of [0.5, 0.9, 0.99]) {
        let linear = 0;
        while (replayClaims(holds, linear).servedShare < target) linear++;
        expect(neededPoolSize(holds, target)).toBe(linear);
      }
    }
  });
});

const HALF = { duringVisitShare: 0.5 };

describe('callAccuracy', () => {
  it('shows the default number on exhaustion: the share of visits served', () => {
    const holds = holdsAt(FOUR, 15);
    // Size 2: A, B served, C unserved, D takes B's number at 20.
    expect(callAccuracy(holds, 2, 'default', HALF)).toBe(0.75);
    expect(callAccuracy(holds, 3, 'default', HALF)).toBe(1);
    expect(callAccuracy([], 0, 'share', HALF)).toBe(1);
  });

  it('shares the number that frees soonest and ranks the holder on the page, then the one seen last', () => {
    // Size 2, freeze 15. A [0,25) on the page until 10 takes n1, B [2,20) on the page until 5 takes n2.
    // C at 6 finds none free and shares n2 (frees at 20, before n1 at 25); D at 20 shares n1 (25 < 45).
    // B: alone on the page 2–5 and frozen 5–6; C on the page from 6 wins the rest of B's freeze:
    //    ½ × 1 + ½ × 1/15.
    // C: on the page while B is frozen, then alone: 1.
    // A: alone until 20; D on the page 20–22 wins; 22–25 both frozen, D seen last (22 > 10) wins:
    //    ½ × 1 + ½ × 10/15.
    // D: 1.
    const expected = (0.5 + 0.5 / 15 + 1 + 0.5 + (0.5 * 10) / 15 + 1) / 4;
    expect(callAccuracy(holdsAt(FOUR, 15), 2, 'share', HALF)).toBeCloseTo(expected, 12);
    // Sharing beats the default number here, and a pool of the peak needs no ranking.
    expect(expected).toBeGreaterThan(0.75);
    expect(callAccuracy(holdsAt(FOUR, 15), 3, 'share', HALF)).toBe(1);
  });

  it('ranks four visits on one number', () => {
    // A: page 0–2 alone, 2–5 tied with B, 5–6 alone, 6–10 tied with C: 6.5/10; its freeze is C's (on the
    //    page until 30). B: page tied with A (½), freeze lost to A and C. C: page 6–10 tied with A, 20–22
    //    with D, alone otherwise: 21/24; freeze 30–45 alone or seen after D: 1. D: page tied with C (½);
    //    freeze lost to C, on the page until 30, then seen after D.
    const expected = (0.5 * 0.65 + 0.25 + 0.5 * (21 / 24) + 0.5 + 0.25) / 4;
    expect(callAccuracy(holdsAt(FOUR, 15), 1, 'share', HALF)).toBeCloseTo(expected, 12);
  });

  it('splits a tie between holders on the page, and between holders last seen together', () => {
    // One number. X on the page 0–10, Y on the page 2–10, both leave at 10, freeze 15.
    const holds = holdsAt([d(0, 10), d(2, 10)], 15);
    // X: page 0–2 alone, 2–10 tied (½): 0.6 of its page calls; freeze tied: ½. Y: ½ throughout.
    expect(callAccuracy(holds, 1, 'share', HALF)).toBeCloseTo((0.5 * 0.6 + 0.5 * 0.5 + 0.5) / 2, 12);
  });

  it('weighs the page and the freeze by the call timing', () => {
    // B above loses only in its freeze: the more calls on the page, the better it does.
    const holds = holdsAt([d(2, 5), d(6, 30)], 15);
    const onPage = (share: number) => callAccuracy(holds, 1, 'share', { duringVisitShare: share });
    expect(onPage(1)).toBe(1);
    expect(onPage(0)).toBeCloseTo((1 / 15 + 1) / 2, 12);
    expect(onPage(0.5)).toBeCloseTo((0.5 + 0.5 / 15 + 1) / 2, 12);
  });

  it('matches the served share without sharing, rises with the pool, and is exact at the peak (random traces)', () => {
    const rnd = mulberry32(7);
    for (let t = 0; t < 200; t++) {
      const n = 1 + Math.floor(rnd() * 25);
      const demands = Array.from({ length: n }, () => {
        const start = Math.floor(rnd() * 120);
        return d(start, start + 1 + Math.floor(rnd() * 20));
      });
      const holds = holdsAt(demands, 1 + Math.floor(rnd() * 30));
      const timing = { duringVisitShare: rnd() };
      const peak = peakOverlap(holds).peak;
      let previous = -1;
      for (let size = 0; size <= peak; size++) {
        expect(callAccuracy(holds, size, 'default', timing)).toBeCloseTo(
          replayClaims(holds, size).servedShare,
          12,
        );
        const shared = callAccuracy(holds, size, 'share', timing);
        expect(shared).toBeGreaterThanOrEqual(previous - 1e-12);
        previous = shared;
      }
      expect(previous).toBe(1);
    }
  });
});

describe('callTimingOf', () => {
  it("starts from half on the page and moves to the site's own share as calls come in", () => {
    expect(callTimingOf({ active: 0, frozen: 0 }).duringVisitShare).toBe(0.5);
    expect(callTimingOf({ active: 70, frozen: 30 }).duringVisitShare).toBeCloseTo(75 / 110, 12);
    expect(callTimingOf({ active: 7000, frozen: 3000 }).duringVisitShare).toBeCloseTo(0.7, 3);
  });
});

describe('sizePool', () => {
  it('reports the peak, the recommendation, the current share and the what-if table', () => {
    const s = sizePool({
      demands: FOUR,
      poolSize: 2,
      freezeMinutes: 15,
      exhaustionPolicy: 'default',
      target: 0.99,
      freezes: [1],
    });
    expect(s).toMatchObject({
      demands: 4,
      poolSize: 2,
      freezeMinutes: 15,
      exhaustionPolicy: 'default',
      duringVisitShare: 0.5,
      targetAccuracy: 0.99,
      peakHeld: 3,
      recommended: 3,
      recommendedServed: 3,
      callAccuracyAtCurrentSize: 0.75,
      servedShareAtCurrentSize: 0.75,
      unservedAtCurrentSize: 1,
      undersized: true,
    });
    expect(s.byFreeze).toEqual([
      { freezeMinutes: 1, peakHeld: 2, recommended: 2, recommendedServed: 2 },
      { freezeMinutes: 15, peakHeld: 3, recommended: 3, recommendedServed: 3 },
    ]);
    // Sizes: current 2, peak 3, recommended 3, and ceil(3 × 0.5, 0.75, 1, 1.1, 1.5) = 2, 3, 3, 4, 5.
    // Without sharing a call is right exactly when its visit was served.
    const cell = (size: number, freezeMinutes: number, share: number, unserved: number) => ({
      size,
      freezeMinutes,
      callAccuracy: share,
      servedShare: share,
      unserved,
    });
    expect(s.whatIf).toEqual([
      cell(2, 1, 1, 0),
      cell(2, 15, 0.75, 1),
      cell(3, 1, 1, 0),
      cell(3, 15, 1, 0),
      cell(4, 1, 1, 0),
      cell(4, 15, 1, 0),
      cell(5, 1, 1, 0),
      cell(5, 15, 1, 0),
    ]);
  });

  it("sizes for the site's exhaustion policy and call timing", () => {
    const sized = (exhaustionPolicy: 'default' | 'share', duringVisitShare = 0.5) =>
      sizePool({
        demands: FOUR,
        poolSize: 2,
        freezeMinutes: 15,
        exhaustionPolicy,
        callTiming: { duringVisitShare },
        target: 0.8,
        freezes: [],
      });
    // Sharing: 0.84 of calls right at 2 numbers (callAccuracy above), 0.44 at 1; without: 0.75 at 2.
    expect(sized('share')).toMatchObject({
      recommended: 2,
      recommendedServed: 3,
      servedShareAtCurrentSize: 0.75,
      undersized: false,
    });
    expect(sized('share').callAccuracyAtCurrentSize).toBeCloseTo(0.8417, 4);
    expect(sized('default')).toMatchObject({ recommended: 3, recommendedServed: 3, undersized: true });
    // If every call came in the freeze, B would lose 14/15 of its calls and A 1/3: 0.68 at 2 numbers.
    expect(sized('share', 0)).toMatchObject({ recommended: 3, undersized: true, duringVisitShare: 0 });
  });

  it('uses the default freeze ladder plus the current freeze', () => {
    const s = sizePool({
      demands: FOUR,
      poolSize: 3,
      freezeMinutes: 12,
      exhaustionPolicy: 'share',
      target: 0.99,
    });
    expect(s.byFreeze.map((f) => f.freezeMinutes)).toEqual([5, 10, 12, 15, 20, 30]);
    expect(s.undersized).toBe(false);
  });

  it('is not undersized without demand', () => {
    const s = sizePool({
      demands: [],
      poolSize: 0,
      freezeMinutes: 15,
      exhaustionPolicy: 'share',
      target: 0.99,
    });
    expect(s).toMatchObject({
      peakHeld: 0,
      recommended: 0,
      recommendedServed: 0,
      callAccuracyAtCurrentSize: 1,
      servedShareAtCurrentSize: 1,
      undersized: false,
    });
    expect(s.whatIf).toEqual([]);
  });

  it('lists distinct positive what-if sizes in ascending order', () => {
    expect(whatIfSizes(10, 20, 18)).toEqual([10, 15, 18, 20, 22, 30]);
    expect(whatIfSizes(10, 20, 12, 18)).toEqual([10, 12, 15, 18, 20, 22, 30]);
    expect(whatIfSizes(0, 0, 0)).toEqual([]);
  });
});
