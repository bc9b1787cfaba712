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

/**
 * Holds in claim order as columns of numbers: a replay reads them tens of times per sizing, and plain
 * arrays of floats are what the engine reads fastest and the collector never walks.
 */
interface ClaimOrder {
  starts: Float64Array;
  ends: Float64Array;
  activeEnds: Float64Array;
}

function claimOrder(holds: readonly (Interval & { activeEnd?: number })[]): ClaimOrder {
  return columns(byStart(holds));
}

/** Holds already in claim order as columns; an interval without a leave is on the page until it ends. */
function columns(sorted: readonly (Interval & { activeEnd?: number })[]): ClaimOrder {
  const starts = new Float64Array(sorted.length);
  const ends = new Float64Array(sorted.length);
  const activeEnds = new Float64Array(sorted.length);
  sorted.forEach((h, i) => {
    starts[i] = h.start;
    ends[i] = h.end;
    activeEnds[i] = h.activeEnd ?? h.end;
  });
  return { starts, ends, activeEnds };
}

interface PoolReplay {
  /** Per hold (claim order): the index of the number it held, `NO_NUMBER` or `NO_NEED`. */
  numberOf: Int32Array;
  /** Per hold: 1 when it shared its number (found none free), 0 when it took it free. */
  shared: Uint8Array;
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
function replayPool(
  holds: ClaimOrder,
  size: number,
  policy: ExhaustionPolicy,
  into?: Omit<PoolReplay, 'served'>,
): PoolReplay {
  const { starts, ends } = holds;
  const count = starts.length;
  const numbers = Math.max(0, Math.min(size, count));
  const freesAt = new Float64Array(numbers);
  const heap = new BusyHeap(freesAt);
  const free = new Int32Array(numbers);
  let freeCount = 0;
  let opened = 0;
  let served = 0;
  // Every entry is written below, so a caller replaying many sizes lends the same arrays each time.
  const numberOf = into?.numberOf ?? new Int32Array(count);
  const shared = into?.shared ?? new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const start = starts[i];
    const end = ends[i];
    shared[i] = 0;
    if (!(end > start)) {
      numberOf[i] = NO_NEED;
      served++;
      continue;
    }
    while (heap.size > 0 && freesAt[heap.top()] <= start) free[freeCount++] = heap.pop();
    const number = freeCount > 0 ? free[--freeCount] : opened < numbers ? opened++ : NO_NUMBER;
    if (number !== NO_NUMBER) {
      freesAt[number] = end;
      heap.push(number);
      served++;
      numberOf[i] = number;
    } else if (policy === 'share' && heap.size > 0) {
      const soonest = heap.top();
      freesAt[soonest] = Math.max(freesAt[soonest], end);
      heap.siftDownTop();
      numberOf[i] = soonest;
      shared[i] = 1;
    } else numberOf[i] = NO_NUMBER;
  }
  return { numberOf, shared, served };
}

/**
 * Replays the claims on a pool of `size` numbers with the default-number policy: how many holds find a free
 * number, i.e. need no sharing.
 */
export function replayClaims(holds: readonly Interval[], size: number): ClaimOutcome {
  return claimOutcome(holds.length, replayPool(claimOrder(holds), size, 'default').served);
}

function claimOutcome(demands: number, served: number): ClaimOutcome {
  return { demands, served, unserved: demands - served, servedShare: demands === 0 ? 1 : served / demands };
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
  const sorted = claimOrder(holds);
  // Without sharing every served visit holds its number alone: its calls are exact, the others' lost.
  if (policy === 'default')
    return claimOutcome(holds.length, replayPool(sorted, size, policy).served).servedShare;
  return sharedAccuracy(sorted, size, timing);
}

/** `callAccuracy` with overflow sharing, over holds in claim order. */
function sharedAccuracy(
  holds: ClaimOrder,
  size: number,
  timing: CallTiming,
  into?: Omit<PoolReplay, 'served'>,
): number {
  const count = holds.starts.length;
  const { numberOf, shared } = replayPool(holds, size, 'share', into);
  // A number's holds fall into runs that overlap: one that took it free (the head), then the visits
  // sharing it. Most runs are the head alone, exact; the others are ranked.
  const headOf = new Int32Array(Math.max(0, Math.min(size, count))).fill(-1);
  const sharers = new Map<number, number[]>();
  const settle = (head: number) => {
    const run = sharers.get(head);
    return run === undefined ? 1 : rankedRunShare(holds, run, timing);
  };
  let right = 0;
  for (let i = 0; i < count; i++) {
    const number = numberOf[i];
    if (number === NO_NEED) right++;
    else if (number === NO_NUMBER) continue;
    else if (shared[i]) {
      const head = headOf[number];
      const run = sharers.get(head);
      if (run) run.push(i);
      else sharers.set(head, [head, i]);
    } else {
      if (headOf[number] >= 0) right += settle(headOf[number]);
      headOf[number] = i;
    }
  }
  for (const head of headOf) if (head >= 0) right += settle(head);
  return count === 0 ? 1 : right / count;
}

/**
 * The sum over a run of holds sharing one number (indices in claim order) of each hold's expected share of
 * its calls that the ranking gives it. A sweep over the run's instants (starts, ends, leaves): between two
 * instants the holds alive, those on the page and so the winner stay the same, and each winner is credited
 * the calls it makes there (its call density × the length ÷ the winners). Holders are visited in claim
 * order everywhere, so the sums add up in one fixed order.
 */
function rankedRunShare(holds: ClaimOrder, run: readonly number[], timing: CallTiming): number {
  const n = run.length;
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  const activeEnds = new Float64Array(n);
  const pageEnds = new Float64Array(n);
  const pageDensity = new Float64Array(n);
  const frozenDensity = new Float64Array(n);
  const instants = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const start = holds.starts[run[i]];
    const end = holds.ends[run[i]];
    const active = holds.activeEnds[run[i]];
    const pageEnd = Math.min(Math.max(active, start), end);
    const onPage = pageEnd - start;
    const frozen = end - pageEnd;
    starts[i] = start;
    ends[i] = end;
    activeEnds[i] = active;
    pageEnds[i] = pageEnd;
    // Call density per millisecond in each part of the hold.
    pageDensity[i] = onPage > 0 ? (frozen > 0 ? timing.duringVisitShare : 1) / onPage : 0;
    frozenDensity[i] = frozen > 0 ? (onPage > 0 ? 1 - timing.duringVisitShare : 1) / frozen : 0;
    instants[3 * i] = start;
    instants[3 * i + 1] = end;
    instants[3 * i + 2] = pageEnd;
  }
  instants.sort();
  // The holds alive over the current span, in claim order; the run is in start order.
  const alive = new Int32Array(n);
  let aliveCount = 0;
  let started = 0;
  let share = 0;
  for (let k = 0; k + 1 < instants.length; k++) {
    const from = instants[k];
    if (instants[k + 1] === from) continue; // a repeated instant: the span starts at its last copy
    const length = instants[k + 1] - from;
    let kept = 0;
    for (let a = 0; a < aliveCount; a++) if (ends[alive[a]] > from) alive[kept++] = alive[a];
    aliveCount = kept;
    for (; started < n && starts[started] <= from; started++)
      if (ends[started] > from) alive[aliveCount++] = started;
    if (aliveCount === 0) continue;
    // A holder on the page outranks every frozen one; holders on the page together tie.
    let onPage = 0;
    for (let a = 0; a < aliveCount; a++) if (from < pageEnds[alive[a]]) onPage++;
    if (onPage > 0) {
      for (let a = 0; a < aliveCount; a++) {
        const i = alive[a];
        if (from < pageEnds[i]) share += (length * pageDensity[i]) / onPage;
      }
      continue;
    }
    // All frozen: the one seen last wins; equal last sightings tie.
    let lastSeen = Number.NEGATIVE_INFINITY;
    let ties = 0;
    for (let a = 0; a < aliveCount; a++) {
      const seen = activeEnds[alive[a]];
      if (seen > lastSeen) {
        lastSeen = seen;
        ties = 1;
      } else if (seen === lastSeen) ties++;
    }
    for (let a = 0; a < aliveCount; a++) {
      const i = alive[a];
      if (activeEnds[i] === lastSeen) share += (length * frozenDensity[i]) / ties;
    }
  }
  return share;
}

/**
 * The smallest pool whose replay serves at least `target` of the demand. A pool of the peak overlap serves
 * everything (greedy claims in start order colour an interval graph with its clique number), and the
 * served count never falls when a number is added, so a search over [0, peak] finds it.
 */
export function neededPoolSize(holds: readonly Interval[], target: number): number {
  const sorted = claimOrder(holds);
  return smallestReaching(
    peakOverlap(holds).peak,
    (size) => claimOutcome(holds.length, replayPool(sorted, size, 'default').served).servedShare >= target,
  );
}

/**
 * The smallest size in [0, peak] that `reaches`: the peak always reaches (every claim finds a free number,
 * so every call is exact), and more numbers are taken not to hurt. That holds for the served share; with
 * sharing it held on every random trace of the tests (model.test.ts). The search gallops from `guess`
 * (1, 2, 4… numbers away) and then halves the bracket, so a good guess costs a few replays, all near the
 * answer, where few visits share and a replay is cheapest; without a guess it halves [0, peak].
 */
function smallestReaching(peak: number, reaches: (size: number) => boolean, guess?: number): number {
  let lo = 0;
  let hi = peak;
  if (guess !== undefined) {
    const first = Math.min(Math.max(Math.round(guess), 0), peak);
    if (reaches(first)) {
      hi = first;
      for (let step = 1; lo < hi; step *= 2) {
        const probe = Math.max(lo, first - step);
        if (!reaches(probe)) {
          lo = probe + 1;
          break;
        }
        hi = probe;
      }
    } else {
      lo = first + 1;
      for (let step = 1; first + step < hi; step *= 2) {
        if (reaches(first + step)) {
          hi = first + step;
          break;
        }
        lo = first + step + 1;
      }
    }
  }
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (reaches(mid)) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}

/**
 * One freeze time's holds in claim order and the replays run on them so far: the searches, the current
 * size and the what-if table ask for many of the same sizes. At the peak or above every claim finds a free
 * number (see `neededPoolSize`), so those sizes need no replay: everything is served and exact.
 */
class FreezeReplays {
  private readonly holds: ClaimOrder;
  private readonly served = new Map<number, number>();
  private readonly accuracies = new Map<number, number>();
  /** Lent to every replay: tens of them per sizing would otherwise each allocate their own. */
  private readonly replay: Omit<PoolReplay, 'served'>;
  readonly peak: number;

  constructor(
    holds: readonly Hold[],
    private readonly policy: ExhaustionPolicy,
    private readonly timing: CallTiming,
  ) {
    this.holds = columns(holds);
    this.peak = peakOverlap(holds).peak;
    this.replay = { numberOf: new Int32Array(holds.length), shared: new Uint8Array(holds.length) };
  }

  outcome(size: number): ClaimOutcome {
    const count = this.holds.starts.length;
    let served = size >= this.peak ? count : this.served.get(size);
    if (served === undefined) {
      served = replayPool(this.holds, size, 'default', this.replay).served;
      this.served.set(size, served);
    }
    return claimOutcome(count, served);
  }

  /** `callAccuracy` at `size`. */
  accuracy(size: number): number {
    if (this.policy === 'default') return this.outcome(size).servedShare;
    if (size >= this.peak) return 1;
    let accuracy = this.accuracies.get(size);
    if (accuracy === undefined) {
      accuracy = sharedAccuracy(this.holds, size, this.timing, this.replay);
      this.accuracies.set(size, accuracy);
    }
    return accuracy;
  }
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
  // Starts do not depend on the freeze, so the demand is put in claim order once.
  const demands = byStart(input.demands);
  // Each freeze's searches start from a guess made from the previous freeze's answers (a wrong guess costs
  // replays, never a different answer): the spare numbers above the served size grow about with the square
  // root of the peak, as a loss system's do with the load, and the accuracy size keeps its ratio to the
  // served size.
  let previous: { peakHeld: number; recommended: number; recommendedServed: number } | undefined;
  const byFreeze = freezes.map((f) => {
    const replays = new FreezeReplays(holdsAt(demands, f), policy, timing);
    const { peak } = replays;
    const recommendedServed = smallestReaching(
      peak,
      (size) => replays.outcome(size).servedShare >= input.target,
      previous && previous.peakHeld > 0
        ? peak - (previous.peakHeld - previous.recommendedServed) * Math.sqrt(peak / previous.peakHeld)
        : undefined,
    );
    // Without sharing the call accuracy is the served share: one search gives both.
    const recommended =
      policy === 'default'
        ? recommendedServed
        : smallestReaching(
            peak,
            (size) => replays.accuracy(size) >= input.target,
            previous && previous.recommendedServed > 0
              ? (recommendedServed * previous.recommended) / previous.recommendedServed
              : recommendedServed,
          );
    previous = { peakHeld: peak, recommended, recommendedServed };
    return { freezeMinutes: f, ...previous, replays };
  });
  const current = byFreeze.find((f) => f.freezeMinutes === input.freezeMinutes)!;
  const { peakHeld, recommended, recommendedServed } = current;
  const servedAtCurrent = current.replays.outcome(input.poolSize);
  const accuracyAtCurrent = current.replays.accuracy(input.poolSize);
  const whatIf: WhatIfCell[] = [];
  for (const size of whatIfSizes(input.poolSize, peakHeld, recommended, recommendedServed)) {
    for (const { freezeMinutes: f, replays } of byFreeze) {
      const r = replays.outcome(size);
      whatIf.push({
        size,
        freezeMinutes: f,
        callAccuracy: replays.accuracy(size),
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
  private readonly items: Int32Array;
  size = 0;
  constructor(private readonly freesAt: Float64Array) {
    this.items = new Int32Array(freesAt.length);
  }

  top(): number {
    return this.items[0];
  }

  push(number: number): void {
    const { items, freesAt } = this;
    let i = this.size++;
    items[i] = number;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (freesAt[items[parent]] <= freesAt[number]) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = number;
  }

  pop(): number {
    const { items } = this;
    const top = items[0];
    this.size--;
    if (this.size > 0) {
      items[0] = items[this.size];
      this.siftDownTop();
    }
    return top;
  }

  /** Restores the order after the top's key grew. */
  siftDownTop(): void {
    const { items, freesAt, size } = this;
    const moving = items[0];
    const key = freesAt[moving];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const child = r < size && freesAt[items[r]] < freesAt[items[l]] ? r : l;
      if (freesAt[items[child]] >= key) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = moving;
  }
}
