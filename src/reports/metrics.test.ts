import { describe, expect, it } from 'vitest';
import { addRaw, deriveMetrics, emptyRaw, pickMetrics, type RawCounts, rawFromRow } from './metrics.js';

const raw = (o: Partial<RawCounts>): RawCounts => ({ ...emptyRaw(true), ...o });

describe('report metrics', () => {
  it('derives rates and averages from additive sums, rounding rates to 4 and seconds to 1 decimal', () => {
    const m = deriveMetrics(
      raw({ visits: 7, calls: 6, answered: 5, wait_sum: 31, wait_n: 5, talk_sum: 425, talk_n: 5, unique: 4 }),
    );
    expect(m).toMatchObject({
      visits: 7,
      calls: 6,
      unique: 4,
      answer_rate: 0.8333,
      avg_wait_seconds: 6.2,
      avg_talk_seconds: 85,
      visit_to_call_conversion: 0.8571,
    });
  });

  it('leaves undefined ratios null: no calls, no answered calls, no visits dimension', () => {
    expect(deriveMetrics(raw({ visits: 3 }))).toMatchObject({
      answer_rate: null,
      avg_wait_seconds: null,
      avg_talk_seconds: null,
      visit_to_call_conversion: 0,
    });
    expect(deriveMetrics(raw({ visits: 0, calls: 1 })).visit_to_call_conversion).toBeNull();
    expect(deriveMetrics({ ...emptyRaw(false), calls: 2 })).toMatchObject({
      visits: null,
      visit_to_call_conversion: null,
      answer_rate: 0,
    });
  });

  it('adds raw rows (null visits stay null only when both are null) and reads database rows', () => {
    expect(addRaw(raw({ visits: 2, calls: 1 }), raw({ visits: 3, talk_sum: 9 }))).toMatchObject({
      visits: 5,
      calls: 1,
      talk_sum: 9,
    });
    expect(addRaw(emptyRaw(false), emptyRaw(false)).visits).toBeNull();
    expect(rawFromRow({ visits: '4', calls: 2, wait_sum: null }, true)).toMatchObject({
      visits: 4,
      calls: 2,
      wait_sum: 0,
    });
    expect(rawFromRow({ visits: null, calls: 2 }, false).visits).toBeNull();
  });

  it('picks metrics in the requested order', () => {
    const m = deriveMetrics(raw({ visits: 1, calls: 1 }));
    expect(Object.keys(pickMetrics(m, ['calls', 'visits']))).toEqual(['calls', 'visits']);
  });
});
