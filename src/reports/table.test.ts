import { describe, expect, it } from 'vitest';
import { emptyRaw, type RawCounts } from './metrics.js';
import { buildTable, type RawRow } from './table.js';

const r = (key: string | number, o: Partial<RawCounts>): RawRow => ({
  key,
  raw: { ...emptyRaw(true), ...o },
});

const rows = [
  r('b', { visits: 10, calls: 2, answered: 1, talk_sum: 50, talk_n: 1 }),
  r('a', { visits: 5, calls: 2, answered: 2, talk_sum: 80, talk_n: 2 }),
  r('c', { visits: 8, calls: 0 }),
  r('d', { visits: 0, calls: 3, answered: 3, talk_sum: 30, talk_n: 3 }),
];
const base = { hasVisits: true, sort: 'calls' as const, order: 'desc' as const, limit: 10, offset: 0 };

describe('report tables', () => {
  it('sorts by a metric, breaks ties by key, and keeps nulls last in both orders', () => {
    expect(buildTable(rows, base).rows.map((x) => x.key)).toEqual(['d', 'a', 'b', 'c']);
    expect(buildTable(rows, { ...base, order: 'asc' }).rows.map((x) => x.key)).toEqual(['c', 'a', 'b', 'd']);
    const talk = { ...base, sort: 'avg_talk_seconds' as const };
    expect(buildTable(rows, talk).rows.map((x) => x.key)).toEqual(['b', 'a', 'd', 'c']);
    expect(buildTable(rows, { ...talk, order: 'asc' }).rows.map((x) => x.key)).toEqual(['d', 'a', 'b', 'c']);
    expect(buildTable(rows, { ...base, sort: 'key', order: 'asc' }).rows.map((x) => x.key)).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  it('sorts numeric keys numerically', () => {
    const hours = [r(10, { calls: 1 }), r(9, { calls: 1 }), r(23, { calls: 1 })];
    expect(buildTable(hours, { ...base, sort: 'key', order: 'asc' }).rows.map((x) => x.key)).toEqual([
      9, 10, 23,
    ]);
  });

  it('pages after sorting and totals over all rows', () => {
    const t = buildTable(rows, { ...base, limit: 2, offset: 1 });
    expect(t.total).toBe(4);
    expect(t.rows.map((x) => x.key)).toEqual(['a', 'b']);
    expect(t.totals).toMatchObject({ visits: 23, calls: 7, answer_rate: 0.8571, avg_talk_seconds: 26.7 });
  });

  it('compares rows by key (or a mapped key) and totals with the previous period', () => {
    const previous = [r('a', { visits: 4, calls: 1 }), r('z', { visits: 1 })];
    const t = buildTable(rows, { ...base, previous, previousKey: (k) => k });
    expect(t.rows.find((x) => x.key === 'a')?.previous).toMatchObject({ visits: 4, calls: 1 });
    expect(t.rows.find((x) => x.key === 'b')?.previous).toMatchObject({ visits: 0, calls: 0 });
    expect(t.previousTotals).toMatchObject({ visits: 5, calls: 1 });
    const unmatched = buildTable(rows, { ...base, previous, previousKey: null });
    expect(unmatched.rows.every((x) => x.previous === null)).toBe(true);
    expect(buildTable(rows, base).rows[0]).not.toHaveProperty('previous');
  });
});
