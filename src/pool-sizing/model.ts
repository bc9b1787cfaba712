// Pool sizing from recorded demand (issue 3, item 5; DESIGN §5 "Pool size is a model, not a rule of
// thumb"). Pure: the routes read lease history, exhaustion events and call counts, this module turns them
// into the peak held numbers, the size needed for a target share of in-freeze calls attributed right under
// the site's exhaustion policy, and a what-if table of pool size × freeze time.

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

/** A demand's hold at one freeze time: [start, end); the visit is on the page (active) before `activeEnd`. */
export interface Hold extends Interval {
  activeEnd: number;
}

/** The hold each demand would have with the given freeze time: [start, activeEnd + freeze), cut if cut. */
export function holdsAt(demands: readonly Demand[], freezeMinutes: number): Hold[] {
  const freeze = freezeMinutes * 60_000;
  return demands.map((d) => {
    const end = d.activeEnd + freeze;
    return { start: d.start, end: d.cutAt != null ? Math.min(end, d.cutAt) : end, activeEnd: d.activeEnd };
  });
}

export interface ClaimOutcome {
  demands: number;
  served: number;
  unserved: number;
  /** served ÷ demands; 1 with no demand. */
  servedShare: number;
}

/** What the site does when a visit finds no free number (site `exhaustionPolicy`). */
export type ExhaustionPolicy = 'default' | 'share';

/** `PoolReplay.numberOf` of a visit shown the default number. */
const NO_NUMBER = -1;
/** `PoolReplay.numberOf` of an empty hold, which needs no number for any length of time. */
const NO_NEED = -2;

interface PoolReplay {
  /** Per hold (claim order): the index of the number it held, `NO_NUMBER` or `NO_NEED`. */
  numberOf: Int32Array;
  /** Holds that found a free number (empty holds included). */
  served: number;
}

/**
 * Replays the claims on a pool of `size` numbers, in start order, as the product claims (src/tracking/
 * leases.ts): a hold takes a free number (one whose holds all ended at or before this start, half-open like
 * the product's lease); when none is free it is shown the default number (`default`) or shares the number
 * that frees soonest, which then stays held until the later of the two ends (`share`). Which free number is
 * taken (least recently released or random) changes neither whether a claim succeeds nor who shares with
 * whom later, so free numbers are not ordered; busy ones sit in a min-heap by the time they free.
 */
function replayPool(holds: readonly Interval[], size: number, policy: ExhaustionPolicy): PoolReplay {
  const numbers = Math.max(0, Math.min(size, holds.length));
  const freesAt = new Float64Array(numbers);
  const heap = new BusyHeap(freesAt);
  const free: number[] = [];
  let opened = 0;
  let served = 0;
  const numberOf = new Int32Array(holds.length);
  holds.forEach(({ start, end }, i) => {
    if (!(end > start)) {
      numberOf[i] = NO_NEED;
      served++;
      return;
    }
    while (heap.size > 0 && freesAt[heap.top()] <= start) free.push(heap.pop());
    const number = free.pop() ?? (opened < numbers ? opened++ : undefined);
    if (number !== undefined) {
      freesAt[number] = end;
      heap.push(number);
      served++;
      numberOf[i] = number;
    } else if (policy === 'share' && heap.size > 0) {
      const soonest = heap.top();
      freesAt[soonest] = Math.max(freesAt[soonest], end);
      heap.siftDownTop();
      numberOf[i] = soonest;
    } else numberOf[i] = NO_NUMBER;
  });
  return { numberOf, served };
}

/**
 * Replays the claims on a pool of `size` numbers with the default-number policy: how many holds find a free
 * number, i.e. need no sharing.
 */
export function replayClaims(holds: readonly Interval[], size: number): ClaimOutcome {
  return replaySorted(byStart(holds), size);
}

/** `replayClaims` over holds already in claim order (sorted once, replayed at many sizes). */
function replaySorted(holds: readonly Interval[], size: number): ClaimOutcome {
  const { served } = replayPool(holds, size, 'default');
  const demands = holds.length;
  return {
    demands,
    served,
    unserved: demands - served,
    servedShare: demands === 0 ? 1 : served / demands,
  };
}

/**
 * How a call made during a hold is spread over it: `duringVisitShare` of the calls uniformly while the visit
 * is on the page, the rest uniformly over its freeze (all of them in whichever part a hold has, when it
 * lacks the other). Calls are per visit, not per minute: each hold weighs one, whatever its length.
 */
export interface CallTiming {
  duringVisitShare: number;
}

/** The call timing assumed before a site has calls of its own: half on the page, half in the freeze. */
export const PRIOR_DURING_VISIT_SHARE = 0.5;
/** The prior counts as this many calls, so a site's own calls outweigh it once it has a few dozen. */
export const PRIOR_CALLS = 10;

/**
 * The share of in-hold calls made while the visit was on the page, from the site's single-holder calls
 * (attributed while active vs frozen), shrunk towards the prior when there are few.
 */
export function callTimingOf(calls: { active: number; frozen: number }): CallTiming {
  const total = calls.active + calls.frozen;
  return {
    duringVisitShare: (calls.active + PRIOR_CALLS * PRIOR_DURING_VISIT_SHARE) / (total + PRIOR_CALLS),
  };
}

/**
 * The expected share of calls made during a hold (visit + freeze) that the product attributes to the
 * holding visit, when claims are replayed at `size` with the given policy. A visit shown the default number
 * gets none right. A number held by one visit at the call's instant is exact. A shared number is decided
 * by the product's ranking (src/calls/attribution.ts, `rankShared`) reduced to the signals a lease history
 * carries: a holder on the page (active) outranks every frozen one, and among frozen holders the one seen
 * last wins; holders on the page together are a tie, taken as 1/k each, as their heartbeats are equally
 * fresh. Caller history and caller region, which can only add to the true holder's score when they apply,
 * are left out: that makes the estimate conservative.
 */
export function callAccuracy(
  holds: readonly Hold[],
  size: number,
  policy: ExhaustionPolicy,
  timing: CallTiming,
): number {
  return accuracySorted(byStart(holds), size, policy, timing);
}

function accuracySorted(
  holds: readonly Hold[],
  size: number,
  policy: ExhaustionPolicy,
  timing: CallTiming,
): number {
  if (holds.length === 0) return 1;
  const { numberOf } = replayPool(holds, size, policy);
  const byNumber = new Map<number, number[]>();
  let right = 0;
  numberOf.forEach((number, i) => {
    if (number === NO_NEED) right++;
    else if (number !== NO_NUMBER) {
      const list = byNumber.get(number);
      if (list) list.push(i);
      else byNumber.set(number, [i]);
    }
  });
  for (const list of byNumber.values()) {
    // A number's holds in claim order fall into runs that overlap (one owner, then the visits sharing it);
    // a hold that starts after the run ends took the number free.
    let run: Hold[] = [];
    let runEnd = Number.NEGATIVE_INFINITY;
    const settle = () => {
      for (const hold of run) right += run.length === 1 ? 1 : winShare(hold, run, timing);
    };
    for (const i of list) {
      const hold = holds[i];
      if (hold.start >= runEnd) {
        settle();
        run = [];
      }
      run.push(hold);
      runEnd = Math.max(runEnd, hold.end);
    }
    settle();
  }
  return right / holds.length;
}

/** The expected share of `own`'s calls that the ranking gives to `own`, among the holds of its run. */
function winShare(own: Hold, run: readonly Hold[], timing: CallTiming): number {
  const activeEnd = Math.min(Math.max(own.activeEnd, own.start), own.end);
  const onPage = activeEnd - own.start;
  const frozen = own.end - activeEnd;
  // Call density per millisecond in each part of the hold.
  const pageDensity = onPage > 0 ? (frozen > 0 ? timing.duringVisitShare : 1) / onPage : 0;
  const frozenDensity = frozen > 0 ? (onPage > 0 ? 1 - timing.duringVisitShare : 1) / frozen : 0;
  const cuts = new Set([own.start, own.end, activeEnd]);
  for (const h of run)
    for (const t of [h.start, h.end, h.activeEnd]) if (t > own.start && t < own.end) cuts.add(t);
  const points = [...cuts].sort((a, b) => a - b);
  let share = 0;
  for (let k = 0; k + 1 < points.length; k++) {
    const from = points[k];
    const to = points[k + 1];
    const mid = (from + to) / 2;
    const density = mid < activeEnd ? pageDensity : frozenDensity;
    share += (to - from) * density * rankingWin(own, run, mid);
  }
  return share;
}

/** The chance that the ranking picks `own` for a call at `t` among the holds of the run alive then. */
function rankingWin(own: Hold, run: readonly Hold[], t: number): number {
  const alive = run.filter((h) => h.start <= t && t < h.end);
  const onPage = alive.filter((h) => t < h.activeEnd);
  if (onPage.length > 0) return onPage.includes(own) ? 1 / onPage.length : 0;
  const lastSeen = Math.max(...alive.map((h) => h.activeEnd));
  return own.activeEnd === lastSeen ? 1 / alive.filter((h) => h.activeEnd === lastSeen).length : 0;
}

/**
 * The smallest pool whose replay serves at least `target` of the demand. A pool of the peak overlap serves
 * everything (greedy claims in start order colour an interval graph with its clique number), and the
 * served count never falls when a number is added, so a binary search over [0, peak] finds it.
 */
export function neededPoolSize(holds: readonly Interval[], target: number): number {
  const sorted = byStart(holds);
  return smallestReaching(
    peakOverlap(holds).peak,
    (size) => replaySorted(sorted, size).servedShare >= target,
  );
}

/**
 * The smallest size in [0, peak] that `reaches`, by binary search: the peak always reaches (every claim
 * finds a free number, so every call is exact), and more numbers are taken not to hurt. That holds for the
 * served share; with sharing it held on every random trace of the tests (model.test.ts).
 */
function smallestReaching(peak: number, reaches: (size: number) => boolean): number {
  let hi = peak;
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (reaches(mid)) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}

export interface WhatIfCell {
  size: number;
  freezeMinutes: number;
  /** Expected share of in-freeze calls attributed to the right visit (`callAccuracy`). */
  callAccuracy: number;
  servedShare: number;
  /** Visits that would have found no free number: the exhaustions this pool and freeze would record. */
  unserved: number;
}

export interface FreezeSummary {
  freezeMinutes: number;
  /** The exact minimum for exact attribution at this freeze time. */
  peakHeld: number;
  /** The smallest pool whose in-freeze calls reach the target accuracy at this freeze time. */
  recommended: number;
  /** The smallest pool in which the target share of visits finds a free number (no sharing needed). */
  recommendedServed: number;
}

export interface SizingInput {
  demands: readonly Demand[];
  /** Numbers in the pool now. */
  poolSize: number;
  /** The site's freeze time now. */
  freezeMinutes: number;
  /** What the site does on exhaustion: the replay follows it. */
  exhaustionPolicy: ExhaustionPolicy;
  /** How calls fall in a hold; default: the prior (`callTimingOf` with no calls). */
  callTiming?: CallTiming;
  /** Share of in-freeze calls to attribute right, and of visits to serve for `recommendedServed`; 0 < target ≤ 1. */
  target: number;
  /** Freeze times of the what-if table; the current one is added. */
  freezes?: readonly number[];
}

export interface Sizing {
  demands: number;
  poolSize: number;
  freezeMinutes: number;
  exhaustionPolicy: ExhaustionPolicy;
  duringVisitShare: number;
  targetAccuracy: number;
  peakHeld: number;
  recommended: number;
  recommendedServed: number;
  callAccuracyAtCurrentSize: number;
  servedShareAtCurrentSize: number;
  unservedAtCurrentSize: number;
  /** The replay at the current size and freeze misses the target call accuracy. */
  undersized: boolean;
  byFreeze: FreezeSummary[];
  whatIf: WhatIfCell[];
}

export const WHAT_IF_FREEZES = [5, 10, 15, 20, 30] as const;
/** What-if pool sizes as multiples of the peak (the same ladder the simulator reports). */
export const WHAT_IF_PEAK_FACTORS = [0.5, 0.75, 1, 1.1, 1.5] as const;

/** The what-if sizes: the current pool, the peak, the recommendations and the peak ladder; distinct, ascending. */
export function whatIfSizes(poolSize: number, peakHeld: number, ...recommended: number[]): number[] {
  const sizes = new Set<number>([poolSize, peakHeld, ...recommended]);
  for (const f of WHAT_IF_PEAK_FACTORS) sizes.add(Math.ceil(peakHeld * f));
  return [...sizes].filter((s) => s > 0).sort((a, b) => a - b);
}

export function sizePool(input: SizingInput): Sizing {
  const freezes = [...new Set([...(input.freezes ?? WHAT_IF_FREEZES), input.freezeMinutes])].sort(
    (a, b) => a - b,
  );
  const policy = input.exhaustionPolicy;
  const timing = input.callTiming ?? callTimingOf({ active: 0, frozen: 0 });
  const accuracy = (holds: readonly Hold[], size: number) => accuracySorted(holds, size, policy, timing);
  // Starts do not depend on the freeze, so the demand is put in claim order once.
  const demands = byStart(input.demands);
  const byFreeze = freezes.map((f) => {
    const holds = holdsAt(demands, f);
    const peak = peakOverlap(holds).peak;
    return {
      freezeMinutes: f,
      peakHeld: peak,
      recommended: smallestReaching(peak, (size) => accuracy(holds, size) >= input.target),
      recommendedServed: smallestReaching(
        peak,
        (size) => replaySorted(holds, size).servedShare >= input.target,
      ),
      holds,
    };
  });
  const current = byFreeze.find((f) => f.freezeMinutes === input.freezeMinutes)!;
  const { peakHeld, recommended, recommendedServed } = current;
  const servedAtCurrent = replaySorted(current.holds, input.poolSize);
  const accuracyAtCurrent = accuracy(current.holds, input.poolSize);
  const whatIf: WhatIfCell[] = [];
  for (const size of whatIfSizes(input.poolSize, peakHeld, recommended, recommendedServed)) {
    for (const { freezeMinutes: f, holds } of byFreeze) {
      const r = replaySorted(holds, size);
      whatIf.push({
        size,
        freezeMinutes: f,
        callAccuracy: accuracy(holds, size),
        servedShare: r.servedShare,
        unserved: r.unserved,
      });
    }
  }
  return {
    demands: input.demands.length,
    poolSize: input.poolSize,
    freezeMinutes: input.freezeMinutes,
    exhaustionPolicy: policy,
    duringVisitShare: timing.duringVisitShare,
    targetAccuracy: input.target,
    peakHeld,
    recommended,
    recommendedServed,
    callAccuracyAtCurrentSize: accuracyAtCurrent,
    servedShareAtCurrentSize: servedAtCurrent.servedShare,
    unservedAtCurrentSize: servedAtCurrent.unserved,
    undersized: accuracyAtCurrent < input.target,
    byFreeze: byFreeze.map(({ freezeMinutes, peakHeld, recommended, recommendedServed }) => ({
      freezeMinutes,
      peakHeld,
      recommended,
      recommendedServed,
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

/** A min-heap of number indices keyed by the time each number frees. */
class BusyHeap {
  private readonly items: number[] = [];
  constructor(private readonly freesAt: Float64Array) {}

  get size(): number {
    return this.items.length;
  }

  top(): number {
    return this.items[0];
  }

  push(number: number): void {
    const { items, freesAt } = this;
    let i = items.push(number) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (freesAt[items[parent]] <= freesAt[items[i]]) break;
      [items[parent], items[i]] = [items[i], items[parent]];
      i = parent;
    }
  }

  pop(): number {
    const { items } = this;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      this.siftDownTop();
    }
    return top;
  }

  /** Restores the order after the top's key grew. */
  siftDownTop(): void {
    const { items, freesAt } = this;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && freesAt[items[l]] < freesAt[items[m]]) m = l;
      if (r < items.length && freesAt[items[r]] < freesAt[items[m]]) m = r;
      if (m === i) break;
      [items[m], items[i]] = [items[i], items[m]];
      i = m;
    }
  }
}
