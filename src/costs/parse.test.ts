import { describe, expect, it } from 'vitest';
import { parseDate, parseDelimited, tableToRows, toCount, toMinor } from './parse.js';

describe('cost file values', () => {
  it('reads amounts with spaces, commas or points as separators into kopecks', () => {
    const cases: [string | number, number | null][] = [
      ['1 234,56', 123456],
      ['1\u00a0234,5', 123450],
      ['1,234.56', 123456],
      ['1.234,56', 123456],
      ['1,234', 123400],
      ['0,125', 13],
      ['12', 1200],
      ['1 234 567,89', 123456789],
      [1234.56, 123456],
      ['12,34,5', null],
      ['abc', null],
      ['--', null],
    ];
    for (const [input, minor] of cases) expect(toMinor(input), String(input)).toBe(minor);
    expect(toCount('15 300')).toBe(15300);
    expect(toCount('1,204')).toBe(1204);
    expect(toCount('1.5')).toBeNull();
  });

  it('reads ISO, Russian and Google dates and rejects impossible ones', () => {
    expect(parseDate('2026-11-09')).toBe('2026-11-09');
    expect(parseDate('09.11.2026')).toBe('2026-11-09');
    expect(parseDate('Nov 9, 2026')).toBe('2026-11-09');
    expect(parseDate(new Date(Date.UTC(2026, 10, 9)))).toBe('2026-11-09');
    expect(parseDate('31.11.2026')).toBeNull();
    expect(parseDate('вчера')).toBeNull();
  });

  it('parses quoted CSV fields with delimiters and line breaks, keeping line numbers', () => {
    const t = parseDelimited('a,b\n"x, ""y""","1\n2"\nlast,3');
    expect(t.rows).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['x, "y"', '1\n2'] },
      { line: 4, cells: ['last', '3'] },
    ]);
  });

  it('takes the currency from a Direct cost header and sums nothing itself', () => {
    const t = parseDelimited('Дата\tКампания\tРасход (тенге)\n2026-11-09\tА\t10');
    expect(tableToRows(t, 'yandex_direct', 'RUB')).toEqual([
      expect.objectContaining({
        source: 'yandex',
        medium: 'cpc',
        campaign: 'А',
        costMinor: 1000,
        currency: 'KZT',
      }),
    ]);
  });
});
