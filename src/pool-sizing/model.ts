// Pool sizing from recorded demand (issue 3, item 5; DESIGN §5 "Pool size is a model, not a rule of
// thumb"). Pure: the routes read lease history and exhaustion events, this module turns them into the
// peak held numbers, the size needed for a target accuracy and a what-if table of pool size × freeze time.

import { type Interval, peakOverlap } from '../simulate/min-pool.js';
import { ACTIVE_WINDOW_MS } from '../tracking/number-choice.js';

/**
 * One visit's need for a pool number, independent of the freeze time: from `start` until the visitor's
 * last sign of life (`activeEnd`), then frozen. `cutAt`, when set, ends the need early whatever the
 * freeze: the number was handed over to the same visitor's next visit, or the visit got a lease of its
 * own at that instant (an unserved demand that was served later).
 */
export interface Demand {
  start: number;
  activeEnd: number;
  cutAt?: number | null;
}

/**
 * The freeze-free end of a lease or visit, as `holdUntil` derives it: the leave instant, or the last
 * heartbeat plus the active window (missed heartbeats tolerated before the freeze starts).
 */
export function activeEnd(lastSeen: number, leftAt: number | null): number {
  return leftAt ?? lastSeen + ACTIVE_WINDOW_MS;
}

/** The hold each demand would have with the given freeze time: [start, activeEnd + freeze), cut if cut. */
export function holdsAt(demands: readonly Demand[], freezeMinutes: number): Interval[] {
  const freeze = freezeMinutes * 60_000;
  return demands.map((d) => {
    const end = d.activeEnd + freeze;
    return { start: d.start, end: d.cutAt != null ? Math.min(end, d.cutAt) : end };
  });
}

export interface ClaimOutcome {
  demands: number;
  served: number;
  unserved: number;
  /** served ÷ demands; 1 with no demand. */
  servedShare: number;
}

/**
 * Replays the claims on a pool of `size` numbers: in start order, a hold takes a free number (one whose
 * previous hold ended at or before this start, half-open like the product's lease) or, when none is free,
 * is unserved and takes nothing (the default-number policy). Which free number the product picks (least
 * recently released first) does not change whether a claim succeeds, so the replay only tracks when each
 * busy number frees: a min-heap of end times. Ties at equal starts keep the input order.
 */
export function replayClaims(holds: readonly Interval[], size: number): ClaimOutcome {
  return replaySorted(byStart(holds), size);
}

/** `replayClaims` over holds already in claim order (sorted once, replayed at many sizes). */
function replaySorted(holds: readonly Interval[], size: number): ClaimOutcome {
  const heap = new Float64Array(Math.max(0, Math.min(size, holds.length)));
  let busy = 0;
  let served = 0;
  for (const { start, end } of holds) {
    if (!(end > start)) {
      served++; // an empty hold needs no number for any length of time
      continue;
    }
    while (busy > 0 && heap[0] <= start) busy = heapPop(heap, busy);
    if (busy < size) {
      busy = heapPush(heap, busy, end);
      served++;
    }
  }
  const demands = holds.length;
  return {
    demands,
    served,
    unserved: demands - served,
    servedShare: demands === 0 ? 1 : served / demands,
  };
}

/**
 * The smallest pool whose replay serves at least `target` of the demand. A pool of the peak overlap serves
 * everything (greedy claims in start order colour an interval graph with its clique number), and the
 * served count never falls when a number is added, so a binary search over [0, peak] finds it.
 */
export function neededPoolSize(holds: readonly Interval[], target: number): number {
  return neededSorted(byStart(holds), peakOverlap(holds).peak, target);
}

function neededSorted(holds: readonly Interval[], peak: number, target: number): number {
  let hi = peak;
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (replaySorted(holds, mid).servedShare >= target) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}

export interface WhatIfCell {
  size: number;
  freezeMinutes: number;
  servedShare: number;
  /** Visits that would have found no free number: the exhaustions this pool and freeze would record. */
  unserved: number;
}

export interface FreezeSummary {
  freezeMinutes: number;
  /** The exact minimum for exact attribution at this freeze time. */
  peakHeld: number;
  /** The smallest pool reaching the target at this freeze time. */
  recommended: number;
}

export interface SizingInput {
  demands: readonly Demand[];
  /** Numbers in the pool now. */
  poolSize: number;
  /** The site's freeze time now. */
  freezeMinutes: number;
  /** Share of visits that must find a free number, 0 < target ≤ 1. */
  target: number;
  /** Freeze times of the what-if table; the current one is added. */
  freezes?: readonly number[];
}

export interface Sizing {
  demands: number;
  poolSize: number;
  freezeMinutes: number;
  targetAccuracy: number;
  peakHeld: number;
  recommended: number;
  servedShareAtCurrentSize: number;
  unservedAtCurrentSize: number;
  /** The replay at the current size and freeze misses the target. */
  undersized: boolean;
  byFreeze: FreezeSummary[];
  whatIf: WhatIfCell[];
}

export const WHAT_IF_FREEZES = [5, 10, 15, 20, 30] as const;
/** What-if pool sizes as multiples of the peak (the same ladder the simulator reports). */
export const WHAT_IF_PEAK_FACTORS = [0.5, 0.75, 1, 1.1, 1.5] as const;

/** The what-if sizes: the current pool, the peak, the recommendation and the peak ladder; distinct, ascending. */
export function whatIfSizes(poolSize: number, peakHeld: number, recommended: number): number[] {
  const sizes = new Set<number>([poolSize, peakHeld, recommended]);
  for (const f of WHAT_IF_PEAK_FACTORS) sizes.add(Math.ceil(peakHeld * f));
  return [...sizes].filter((s) => s > 0).sort((a, b) => a - b);
}

export function sizePool(input: SizingInput): Sizing {
  const freezes = [...new Set([...(input.freezes ?? WHAT_IF_FREEZES), input.freezeMinutes])].sort(
    (a, b) => a - b,
  );
  // Starts do not depend on the freeze, so the demand is put in claim order once.
  const demands = byStart(input.demands);
  const byFreeze = freezes.map((f) => {
    const holds = holdsAt(demands, f);
    const peak = peakOverlap(holds).peak;
    return { freezeMinutes: f, peakHeld: peak, recommended: neededSorted(holds, peak, input.target), holds };
  });
  const current = byFreeze.find((f) => f.freezeMinutes === input.freezeMinutes)!;
  const { peakHeld, recommended } = current;
  const atCurrent = replaySorted(current.holds, input.poolSize);
  const whatIf: WhatIfCell[] = [];
  for (const size of whatIfSizes(input.poolSize, peakHeld, recommended)) {
    for (const { freezeMinutes: f, holds } of byFreeze) {
      const r = replaySorted(holds, size);
      whatIf.push({ size, freezeMinutes: f, servedShare: r.servedShare, unserved: r.unserved });
    }
  }
  return {
    demands: input.demands.length,
    poolSize: input.poolSize,
    freezeMinutes: input.freezeMinutes,
    targetAccuracy: input.target,
    peakHeld,
    recommended,
    servedShareAtCurrentSize: atCurrent.servedShare,
    unservedAtCurrentSize: atCurrent.unserved,
    undersized: atCurrent.servedShare < input.target,
    byFreeze: byFreeze.map(({ freezeMinutes, peakHeld, recommended }) => ({
      freezeMinutes,
      peakHeld,
      recommended,
    })),
    whatIf,
  };
}

/** In claim order: by start, equal starts keeping the input (arrival) order. */
function byStart<T extends { start: number }>(items: readonly T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => a.item.start - b.item.start || a.i - b.i)
    .map((x) => x.item);
}

function heapPush(heap: Float64Array, n: number, value: number): number {
  let i = n;
  heap[i] = value;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent] <= heap[i]) break;
    [heap[parent], heap[i]] = [heap[i], heap[parent]];
    i = parent;
  }
  return n + 1;
}

function heapPop(heap: Float64Array, n: number): number {
  const last = n - 1;
  heap[0] = heap[last];
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < last && heap[l] < heap[m]) m = l;
    if (r < last && heap[r] < heap[m]) m = r;
    if (m === i) break;
    [heap[m], heap[i]] = [heap[i], heap[m]];
    i = m;
  }
  return last;
}
