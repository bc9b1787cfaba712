import { buildActions, type Trace, type TraceCall, type TraceVisit } from '../src/simulate/traffic.js';

export const T0 = Date.parse('2026-11-02T10:00:00Z');
export const at = (minutes: number) => T0 + minutes * 60_000;

/**
 * A hand-made trace: one visitor per visit, paid human traffic, one page each, the number visible at load,
 * leave beacons delivered, unless `visitOverrides` says otherwise for a visit (by index).
 */
export function handTrace(
  visits: Array<[startMin: number, endMin: number]>,
  calls: Array<[visit: number, atMin: number]>,
  visitOverrides: Record<number, Partial<TraceVisit>> = {},
): Trace {
  const tv: TraceVisit[] = visits.map(([s, e], index) => ({
    index,
    visitor: index,
    channel: 'paid',
    bot: false,
    start: at(s),
    end: at(e),
    pages: [at(s)],
    leaveBeacon: true,
    visibleAt: at(s),
    ...visitOverrides[index],
  }));
  const tc: TraceCall[] = calls.map(([visit, m], index) => ({
    index,
    at: at(m),
    visit,
    caller: `+7916000000${visit}`,
    timing: m <= visits[visit][1] ? 'during' : 'soon',
    repeatOf: null,
    answered: true,
    talkSeconds: 60,
  }));
  return {
    start: at(0),
    end: at(60),
    visitors: tv.map((_, i) => ({ id: `hand-visitor-${i}`, phone: `+7916000000${i}` })),
    visits: tv,
    calls: tc,
    actions: buildActions(tv, tc),
  };
}
