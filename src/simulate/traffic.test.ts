import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAFFIC, generateTrace, trafficParams } from './traffic.js';

const MINUTE = 60_000;

describe('traffic generator', () => {
  it('is deterministic: same seed, same trace; another seed, another trace', () => {
    const a = generateTrace({ seed: 42, visitorsPerDay: 800 });
    const b = generateTrace({ seed: 42, visitorsPerDay: 800 });
    expect(b).toEqual(a);
    const c = generateTrace({ seed: 43, visitorsPerDay: 800 });
    expect(c.visits.map((v) => v.start)).not.toEqual(a.visits.map((v) => v.start));
  });

  it('visibility draws do not change the rest of the trace', () => {
    const a = generateTrace({ seed: 42, visitorsPerDay: 800 });
    const b = generateTrace({
      seed: 42,
      visitorsPerDay: 800,
      numberVisibility: { load: 1, scroll: 0, never: 0 },
    });
    const withoutView = (t: typeof a) => t.visits.map(({ visibleAt: _, ...v }) => v);
    expect(withoutView(b)).toEqual(withoutView(a));
    expect(b.calls).toEqual(a.calls);
    expect(b.visits.every((v) => v.visibleAt === v.start)).toBe(true);
  });

  it('rejects impossible parameters', () => {
    expect(() => trafficParams({ callShare: 1.5 })).toThrow(/callShare/);
    expect(() => trafficParams({ hourly: [1, 2] })).toThrow(/hourly/);
    expect(() => trafficParams({ days: 0 })).toThrow(/days/);
  });

  describe('a large trace follows its parameters', () => {
    const trace = generateTrace({ seed: 7, days: 2, visitorsPerDay: 25_000 });
    const humans = trace.visits.filter((v) => !v.bot);
    const first = trace.calls.filter((c) => c.repeatOf === null);

    it('has the requested volume, bots and channel mix, all within the period', () => {
      expect(trace.visits).toHaveLength(50_000);
      expect(1 - humans.length / trace.visits.length).toBeCloseTo(DEFAULT_TRAFFIC.botShare, 2);
      const paid = humans.filter((v) => v.channel === 'paid').length / humans.length;
      expect(paid).toBeCloseTo(DEFAULT_TRAFFIC.channelMix.paid, 1);
      for (const v of trace.visits) {
        expect(v.start).toBeGreaterThanOrEqual(trace.start);
        expect(v.start).toBeLessThan(trace.end);
        expect(v.pages[0]).toBe(v.start);
        expect(v.end).toBeGreaterThanOrEqual(v.pages[v.pages.length - 1]);
      }
    });

    it('follows the daily profile: the busy afternoon has far more visits than the night', () => {
      const localHour = (t: number) => new Date(t + DEFAULT_TRAFFIC.utcOffsetMinutes * MINUTE).getUTCHours();
      const at = (h: number) => trace.visits.filter((v) => localHour(v.start) === h).length;
      expect(at(13) / at(3)).toBeGreaterThan(15);
    });

    it('has heavy-tailed durations with the configured median and ~3 pages per visit', () => {
      const durations = humans.map((v) => v.end - v.start).sort((a, b) => a - b);
      const median = durations[Math.floor(durations.length / 2)] / 1000;
      expect(median).toBeGreaterThan(50);
      expect(median).toBeLessThan(70);
      const mean = durations.reduce((s, d) => s + d, 0) / durations.length / 1000;
      expect(mean).toBeGreaterThan(2 * median);
      const pages = humans.reduce((s, v) => s + v.pages.length, 0) / humans.length;
      expect(pages).toBeGreaterThan(2.8);
      expect(pages).toBeLessThan(3.2);
    });

    it('has returning visitors, each return at least the visit timeout after the previous visit', () => {
      const seen = new Map<number, number>();
      let returning = 0;
      for (const v of humans) {
        const before = seen.get(v.visitor);
        if (before !== undefined) {
          returning++;
          expect(v.start - before).toBeGreaterThanOrEqual(DEFAULT_TRAFFIC.visitTimeoutMinutes * MINUTE);
        }
        seen.set(v.visitor, Math.max(before ?? 0, v.end));
      }
      expect(returning / humans.length).toBeGreaterThan(0.15);
      expect(returning / humans.length).toBeLessThan(0.21);
    });

    it('makes the configured share of visits call, with the configured timing', () => {
      expect(first.length / humans.length).toBeCloseTo(DEFAULT_TRAFFIC.callShare, 2);
      for (const c of trace.calls) expect(trace.visits[c.visit].bot).toBe(false);
      const share = (kind: string) => first.filter((c) => c.timing === kind).length / first.length;
      for (const [kind, weight] of Object.entries(DEFAULT_TRAFFIC.callTiming)) {
        expect(Math.abs(share(kind) - weight)).toBeLessThan(0.03);
      }
      const delay = (c: (typeof first)[number]) => c.at - trace.visits[c.visit].end;
      for (const c of first) {
        const v = trace.visits[c.visit];
        if (c.timing === 'during') {
          expect(c.at).toBeGreaterThanOrEqual(v.start);
          expect(c.at).toBeLessThanOrEqual(v.end);
        } else if (c.timing === 'quarter') {
          expect(delay(c)).toBeGreaterThanOrEqual(15 * MINUTE);
          expect(delay(c)).toBeLessThanOrEqual(20 * MINUTE);
        } else if (c.timing === 'hours') {
          expect(delay(c)).toBeGreaterThanOrEqual(30 * MINUTE);
          expect(delay(c)).toBeLessThanOrEqual(24 * 60 * MINUTE);
        } else if (c.timing === 'days') {
          expect(delay(c)).toBeGreaterThanOrEqual(24 * 60 * MINUTE);
        }
      }
      const soon = first.filter((c) => c.timing === 'soon').map(delay);
      const soonMean = soon.reduce((s, d) => s + d, 0) / soon.length / MINUTE;
      expect(soonMean).toBeGreaterThan(1.6);
      expect(soonMean).toBeLessThan(2.4);
    });

    it('numbers come into view at load, after scrolling or never; every caller saw it by the call', () => {
      const callers = new Set(first.map((c) => c.visit));
      const quiet = trace.visits.filter((v) => !callers.has(v.index));
      const atLoad = quiet.filter((v) => v.visibleAt === v.start).length / quiet.length;
      const never = quiet.filter((v) => v.visibleAt === null).length / quiet.length;
      expect(atLoad).toBeCloseTo(DEFAULT_TRAFFIC.numberVisibility.load, 1);
      // Never drawn, plus scrolls that would come after leaving.
      expect(never).toBeGreaterThan(DEFAULT_TRAFFIC.numberVisibility.never);
      expect(never).toBeLessThan(
        DEFAULT_TRAFFIC.numberVisibility.never + DEFAULT_TRAFFIC.numberVisibility.scroll,
      );
      for (const v of trace.visits) {
        if (v.visibleAt === null) continue;
        expect(v.visibleAt).toBeGreaterThanOrEqual(v.start);
        expect(v.visibleAt).toBeLessThanOrEqual(v.end);
      }
      for (const c of first) {
        const v = trace.visits[c.visit];
        expect(v.visibleAt).not.toBeNull();
        expect(v.visibleAt).toBeLessThanOrEqual(Math.min(c.at, v.end));
      }
    });

    it('repeat calls come from the same caller about the same visit, after the first call', () => {
      const repeats = trace.calls.filter((c) => c.repeatOf !== null);
      expect(repeats.length / first.length).toBeCloseTo(DEFAULT_TRAFFIC.repeatCallShare, 1);
      for (const r of repeats) {
        const f = trace.calls[r.repeatOf!];
        expect(r.caller).toBe(f.caller);
        expect(r.visit).toBe(f.visit);
        expect(r.at).toBeGreaterThan(f.at);
      }
    });

    it('emits actions in time order, with pings only to keep long visits alive and before calls', () => {
      for (let i = 1; i < trace.actions.length; i++)
        expect(trace.actions[i].at).toBeGreaterThanOrEqual(trace.actions[i - 1].at);
      const pages = trace.visits.reduce((s, v) => s + v.pages.length, 0);
      const pings = trace.actions.filter((a) => a.kind === 'ping').length;
      const leaves = trace.actions.filter((a) => a.kind === 'leave').length;
      expect(leaves / trace.visits.length).toBeCloseTo(DEFAULT_TRAFFIC.leaveBeaconShare, 1);
      // Heartbeats every 30 s would be ~6 per visit; the trace needs well under one.
      expect(pings / trace.visits.length).toBeLessThan(0.7);
      const leases = trace.actions.filter((a) => a.kind === 'lease').length;
      expect(leases).toBe(trace.visits.filter((v) => v.visibleAt !== null).length);
      expect(trace.actions).toHaveLength(pages + leases + pings + leaves + trace.calls.length);
      // No visit is ever silent longer than the keep-alive interval before it ends.
      const lastSign = new Map<number, number>();
      for (const a of trace.actions) {
        if (a.kind === 'call') continue;
        const prev = lastSign.get(a.visit);
        if (prev !== undefined)
          expect(a.at - prev).toBeLessThanOrEqual(DEFAULT_TRAFFIC.keepAliveMinutes * MINUTE);
        lastSign.set(a.visit, a.at);
      }
    });
  });
});
