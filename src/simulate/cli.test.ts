import { describe, expect, it } from 'vitest';
import { parseSimulateArgs, resolvePool, SimulateUsageError, traceSizes, trafficStats } from './cli.js';
import { buildActions, type Trace, type TraceVisit } from './traffic.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const HOUR = 3_600_000;

/** Visits (start hour offsets) of the given channel; no calls. */
function trace(visits: Array<{ hour: number; channel: TraceVisit['channel']; bot?: boolean }>): Trace {
  const tv: TraceVisit[] = visits.map((v, index) => ({
    index,
    visitor: index,
    channel: v.channel,
    bot: v.bot ?? false,
    start: T0 + v.hour * HOUR,
    end: T0 + v.hour * HOUR + 60_000,
    pages: [T0 + v.hour * HOUR],
    leaveBeacon: true,
    visibleAt: T0 + v.hour * HOUR,
  }));
  return {
    start: T0,
    end: T0 + 48 * HOUR,
    visitors: tv.map((_, i) => ({ id: `v${i}`, phone: `+7916000000${i}` })),
    visits: tv,
    calls: [],
    actions: buildActions(tv, []),
  };
}

describe('simulate arguments', () => {
  it('techniques: a list, all or none; unknown names are refused by name', () => {
    expect(parseSimulateArgs(['--techniques', 'lru,activity']).techniques).toEqual(['lru', 'activity']);
    expect(parseSimulateArgs(['--techniques', 'all']).techniques).toHaveLength(6);
    expect(parseSimulateArgs(['--techniques', 'none']).techniques).toEqual([]);
    expect(parseSimulateArgs([]).techniques).toBeNull();
    expect(() => parseSimulateArgs(['--techniques', 'lru,cooldown'])).toThrow(SimulateUsageError);
    expect(() => parseSimulateArgs(['--techniques', 'lru,cooldown'])).toThrow(/cooldown is not one of/);
  });

  it('concurrency and window have defaults and bounds', () => {
    expect(parseSimulateArgs([])).toMatchObject({ concurrency: 8, windowMs: 5000, matrix: false });
    expect(parseSimulateArgs(['--concurrency', '1', '--window-ms', '0', '--matrix'])).toMatchObject({
      concurrency: 1,
      windowMs: 0,
      matrix: true,
    });
    expect(() => parseSimulateArgs(['--concurrency', '0'])).toThrow(/--concurrency/);
    expect(parseSimulateArgs(['--keep-alive-min', '0.5']).keepAliveMinutes).toBe(0.5);
    expect(() => parseSimulateArgs(['--keep-alive-min', '6'])).toThrow(/--keep-alive-min/);
    expect(() => parseSimulateArgs(['--pool', 'half'])).toThrow(/callmatrix/);
    expect(parseSimulateArgs([]).callShare).toBe(0.04);
    expect(parseSimulateArgs(['--call-share', '0.25']).callShare).toBe(0.25);
    expect(() => parseSimulateArgs(['--call-share', '1.5'])).toThrow(/--call-share/);
  });
});

describe('rules of thumb', () => {
  // Two days. Day 1: 6 paid visits in hour 10, 2 in hour 11, one organic, one paid bot. Day 2: 4 paid.
  const t = trace([
    ...Array.from({ length: 6 }, () => ({ hour: 10, channel: 'paid' as const })),
    { hour: 11, channel: 'paid' },
    { hour: 11, channel: 'paid' },
    { hour: 12, channel: 'organic' },
    { hour: 13, channel: 'paid', bot: true },
    ...Array.from({ length: 4 }, () => ({ hour: 30, channel: 'paid' as const })),
  ]);

  it('counts paid human visits per day, in the busiest hour and on the busiest day', () => {
    expect(trafficStats(t, 2)).toEqual({
      visits: 7,
      paidVisits: 6,
      peakHourPaidVisits: 6,
      peakDayPaidVisits: 8,
    });
  });

  it('resolves every pool spec', () => {
    const stats = trafficStats(t, 2);
    expect(resolvePool('17', 40, stats)).toBe(17);
    expect(resolvePool('min', 40, stats)).toBe(40);
    expect(resolvePool('0.5min', 41, stats)).toBe(21);
    expect(resolvePool('ctm', 40, stats)).toBe(1); // 6 / 20, rounded up
    expect(resolvePool('utmstat', 40, stats)).toBe(2); // 7 / 100 rounded up, + 1
    expect(resolvePool('callmatrix', 40, stats)).toBe(2); // 6 / 4, rounded up
    expect(resolvePool('seed10', 40, stats)).toBe(1); // 8 / 10, rounded up
  });

  it('sizes a trace without replaying it: the model needs the minimum for 99% of few visits', () => {
    // The six paid visits of hour 10 overlap (1 min + 15 min freeze each); so do the four of day 2.
    expect(traceSizes(t, 2, 15)).toMatchObject({
      visits: 14,
      paidVisits: 12,
      minPool: 6,
      modelNeeded99: 6,
      // Sharing one of six numbers that free together would leave two visits a tie: 11/12 of calls right.
      modelCalls99Share: 6,
      modelCalls99Default: 6,
      duringVisitShare: 0.5,
      ctm: 1,
      utmstat: 2,
      callmatrix: 2,
      seed10: 1,
    });
  });
});
