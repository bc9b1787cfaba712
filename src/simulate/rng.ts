// Seeded randomness shared by the demo and the traffic simulator: same seed, same traffic.

/** mulberry32: a tiny, good-enough 32-bit PRNG, so simulated traffic is reproducible from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives an independent stream seed from (seed, index). */
export function mixSeed(seed: number, index: number): number {
  let h =
    Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ Math.imul((index + 0x632be5ab) >>> 0, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let x = this.next() * total;
    for (const [item, w] of items) {
      x -= w;
      if (x < 0) return item;
    }
    return items[items.length - 1][0];
  }
  /** Exponentially distributed, for waiting times. */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** Lognormal with the given median and shape sigma (heavy right tail). */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
  digits(n: number): string {
    let s = String(this.int(1, 9));
    while (s.length < n) s += String(this.int(0, 9));
    return s;
  }
}

const MINUTE_MS = 60_000;

/**
 * Turns a uniform draw into a time in [from, from + minutes) whose density follows `weight(minuteStart)`
 * (daily and weekly traffic profiles), by inverting the cumulative weight per minute.
 */
export function weightedTimeSampler(
  from: number,
  minutes: number,
  weight: (minuteStart: number) => number,
): (u: number) => number {
  const cumulative = new Float64Array(minutes);
  let total = 0;
  for (let i = 0; i < minutes; i++) {
    total += weight(from + i * MINUTE_MS);
    cumulative[i] = total;
  }
  return (u) => {
    const x = u * total;
    let lo = 0;
    let hi = minutes - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    const before = lo === 0 ? 0 : cumulative[lo - 1];
    const within = (x - before) / (cumulative[lo] - before || 1);
    return from + lo * MINUTE_MS + Math.floor(within * MINUTE_MS);
  };
}
