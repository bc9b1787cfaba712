import { describe, expect, it } from 'vitest';
import { peakOverlap } from '../simulate/min-pool.js';
import { mulberry32 } from '../simulate/rng.js';
import {
  activeEnd,
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
const iv = (start: number, end: number) => ({ start: start * MIN, end: end * MIN });

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
    expect(holdsAt(FOUR, 15)).toEqual([iv(0, 25), iv(2, 20), iv(6, 45), iv(20, 37)]);
    expect(holdsAt([d(0, 10, 12), d(0, 10, 30)], 15)).toEqual([iv(0, 12), iv(0, 25)]);
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
    expect(replayClaims([iv(0, 5), iv(5, 10), iv(10, 11)], 1).served).toBe(3);
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

describe('sizePool', () => {
  it('reports the peak, the recommendation, the current share and the what-if table', () => {
    const s = sizePool({ demands: FOUR, poolSize: 2, freezeMinutes: 15, target: 0.99, freezes: [1] });
    expect(s).toMatchObject({
      demands: 4,
      poolSize: 2,
      freezeMinutes: 15,
      targetAccuracy: 0.99,
      peakHeld: 3,
      recommended: 3,
      servedShareAtCurrentSize: 0.75,
      unservedAtCurrentSize: 1,
      undersized: true,
    });
    expect(s.byFreeze).toEqual([
      { freezeMinutes: 1, peakHeld: 2, recommended: 2 },
      { freezeMinutes: 15, peakHeld: 3, recommended: 3 },
    ]);
    // Sizes: current 2, peak 3, recommended 3, and ceil(3 × 0.5, 0.75, 1, 1.1, 1.5) = 2, 3, 3, 4, 5.
    expect(s.whatIf).toEqual([
      { size: 2, freezeMinutes: 1, servedShare: 1, unserved: 0 },
      { size: 2, freezeMinutes: 15, servedShare: 0.75, unserved: 1 },
      { size: 3, freezeMinutes: 1, servedShare: 1, unserved: 0 },
      { size: 3, freezeMinutes: 15, servedShare: 1, unserved: 0 },
      { size: 4, freezeMinutes: 1, servedShare: 1, unserved: 0 },
      { size: 4, freezeMinutes: 15, servedShare: 1, unserved: 0 },
      { size: 5, freezeMinutes: 1, servedShare: 1, unserved: 0 },
      { size: 5, freezeMinutes: 15, servedShare: 1, unserved: 0 },
    ]);
  });

  it('uses the default freeze ladder plus the current freeze', () => {
    const s = sizePool({ demands: FOUR, poolSize: 3, freezeMinutes: 12, target: 0.99 });
    expect(s.byFreeze.map((f) => f.freezeMinutes)).toEqual([5, 10, 12, 15, 20, 30]);
    expect(s.undersized).toBe(false);
  });

  it('is not undersized without demand', () => {
    const s = sizePool({ demands: [], poolSize: 0, freezeMinutes: 15, target: 0.99 });
    expect(s).toMatchObject({ peakHeld: 0, recommended: 0, servedShareAtCurrentSize: 1, undersized: false });
    expect(s.whatIf).toEqual([]);
  });

  it('lists distinct positive what-if sizes in ascending order', () => {
    expect(whatIfSizes(10, 20, 18)).toEqual([10, 15, 18, 20, 22, 30]);
    expect(whatIfSizes(0, 0, 0)).toEqual([]);
  });
});
