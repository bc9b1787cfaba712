import { describe, expect, it } from 'vitest';
import { baselineHold, mergeIntervals, peakHeldNumbers, peakOverlap } from './min-pool.js';

describe('peakOverlap (sweep line)', () => {
  it('is 0 without intervals', () => {
    expect(peakOverlap([]).peak).toBe(0);
  });

  it('counts nested and overlapping intervals', () => {
    const r = peakOverlap([
      { start: 0, end: 10 },
      { start: 2, end: 4 },
      { start: 3, end: 12 },
      { start: 11, end: 20 },
    ]);
    expect(r).toEqual({ peak: 3, at: 3 });
  });

  it('treats intervals as half-open: one ending when another starts needs one number', () => {
    expect(
      peakOverlap([
        { start: 0, end: 5 },
        { start: 5, end: 9 },
        { start: 9, end: 12 },
      ]).peak,
    ).toBe(1);
  });

  it('ignores empty intervals and does not depend on input order', () => {
    const list = [
      { start: 7, end: 7 },
      { start: 5, end: 8 },
      { start: 1, end: 6 },
      { start: 4, end: 5 },
    ];
    // [1,6) and [4,5) overlap, then [5,8) starts as [4,5) ends: never three at once.
    expect(peakOverlap(list).peak).toBe(2);
    expect(peakOverlap([...list].reverse()).peak).toBe(2);
  });

  it('agrees with a brute-force count on random intervals', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const list = Array.from({ length: 300 }, () => {
      const start = Math.floor(rnd() * 1000);
      return { start, end: start + 1 + Math.floor(rnd() * 60) };
    });
    let brute = 0;
    for (let t = 0; t < 1100; t++)
      brute = Math.max(brute, list.filter((i) => i.start <= t && t < i.end).length);
    expect(peakOverlap(list).peak).toBe(brute);
  });
});

describe('baseline hold and held numbers', () => {
  it('holds from the first page load until leaving plus the freeze', () => {
    expect(baselineHold({ start: 1000, end: 61_000 }, 15)).toEqual({
      start: 1000,
      end: 61_000 + 15 * 60_000,
    });
  });

  it('merges the leases of one number before counting', () => {
    expect(
      mergeIntervals([
        { start: 5, end: 9 },
        { start: 0, end: 5 },
        { start: 20, end: 25 },
      ]),
    ).toEqual([
      { start: 0, end: 9 },
      { start: 20, end: 25 },
    ]);
    // A shared number (two overlapping leases) is one number held.
    const peak = peakHeldNumbers([
      { numberId: 'a', start: 0, end: 10 },
      { numberId: 'a', start: 3, end: 12 },
      { numberId: 'b', start: 4, end: 6 },
    ]);
    expect(peak.peak).toBe(2);
  });
});
