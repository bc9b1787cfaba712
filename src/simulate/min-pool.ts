// The theoretical minimum pool (issue 3, item 3): under the baseline lease policy a visit holds a number from
// its first page load until it leaves plus the freeze time. Exact attribution of every call within the
// freeze window needs one number per interval alive at once, so the minimum is the peak overlap.

/** A half-open interval [start, end) in epoch milliseconds: held at t when start <= t < end. */
export interface Interval {
  start: number;
  end: number;
}

export interface Peak {
  /** Most intervals alive at one instant. */
  peak: number;
  /** The first instant the peak is reached (NaN when there is no interval). */
  at: number;
}

/**
 * Sweep line over interval ends and starts. Intervals are half-open, like the product's lease (a number
 * whose hold ends at t is free for a claim at t), so at equal times ends are processed before starts.
 */
export function peakOverlap(intervals: readonly Interval[]): Peak {
  const n = intervals.length;
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  let m = 0;
  for (const iv of intervals) {
    if (!(iv.end > iv.start)) continue;
    starts[m] = iv.start;
    ends[m] = iv.end;
    m++;
  }
  const s = starts.subarray(0, m).sort();
  const e = ends.subarray(0, m).sort();
  let alive = 0;
  let peak = 0;
  let at = Number.NaN;
  let j = 0;
  for (let i = 0; i < m; i++) {
    while (j < m && e[j] <= s[i]) {
      alive--;
      j++;
    }
    alive++;
    if (alive > peak) {
      peak = alive;
      at = s[i];
    }
  }
  return { peak, at };
}

/** The baseline hold of one visit: from its first page load until it leaves plus the freeze time. */
export function baselineHold(visit: { start: number; end: number }, freezeMinutes: number): Interval {
  return { start: visit.start, end: visit.end + freezeMinutes * 60_000 };
}

/**
 * Peak numbers held at once, from lease rows: a number's leases are merged first (shared numbers and a
 * returning visitor's handed-over lease hold one number, not two), then the merged holds are swept.
 */
export function peakHeldNumbers(leases: ReadonlyArray<{ numberId: string } & Interval>): Peak {
  const byNumber = new Map<string, Interval[]>();
  for (const l of leases) {
    const list = byNumber.get(l.numberId);
    if (list) list.push(l);
    else byNumber.set(l.numberId, [{ start: l.start, end: l.end }]);
  }
  const merged: Interval[] = [];
  for (const list of byNumber.values()) merged.push(...mergeIntervals(list));
  return peakOverlap(merged);
}

/** Unites overlapping or touching intervals. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((iv) => iv.end > iv.start).sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && iv.start <= last.end) last.end = Math.max(last.end, iv.end);
    else out.push({ start: iv.start, end: iv.end });
  }
  return out;
}
