import { describe, expect, it } from 'vitest';
import { fmtDate, fmtDateTime, fmtMoney, fmtNumber, parseDate } from '../dashboard/src/format.js';

// Intl separates groups and units with (narrow) no-break spaces; compare with plain spaces.
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('dashboard locale formatting', () => {
  it('writes numbers, money and dates the way each language does', () => {
    expect(plain(fmtNumber('ru', 1234.5, 1))).toBe('1 234,5');
    expect(fmtNumber('en', 1234.5, 1)).toBe('1,234.5');
    expect(plain(fmtMoney('ru', 123456, 'RUB'))).toBe('1 234,56 ₽');
    expect(plain(fmtMoney('en', 123456, 'RUB'))).toBe('RUB 1,234.56');
    expect(fmtDate('ru', '2026-11-24')).toBe('24.11.2026');
    expect(fmtDate('en', '2026-11-24')).toBe('24/11/2026');
    // 21:30 UTC is already the next day in Moscow.
    expect(fmtDateTime('ru', '2026-11-24T21:30:00Z', 'Europe/Moscow')).toBe('25.11.2026, 00:30');
    expect(fmtDateTime('en', '2026-11-24T21:30:00Z', 'UTC')).toBe('24/11/2026, 21:30');
  });

  it('reads dates typed day first or as ISO, and refuses days that do not exist', () => {
    expect(parseDate('24.11.2026')).toBe('2026-11-24');
    expect(parseDate(' 24/11/2026 ')).toBe('2026-11-24');
    expect(parseDate('1.2.26')).toBe('2026-02-01');
    expect(parseDate('2026-11-24')).toBe('2026-11-24');
    expect(parseDate('29.02.2028')).toBe('2028-02-29');
    for (const bad of ['31.02.2026', '29.02.2026', '24.13.2026', '00.11.2026', '11/24', 'вчера', ''])
      expect(parseDate(bad), bad).toBeNull();
  });
});
