import { describe, expect, it } from 'vitest';
import { addDays, bucketKeys, bucketOf, isCalendarDate, periodDays, previousPeriod } from './period.js';

describe('local-date periods', () => {
  it('accepts only real calendar days', () => {
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(isCalendarDate('2026-13-01')).toBe(false);
    expect(isCalendarDate('2026-1-01')).toBe(false);
    expect(isCalendarDate('01.11.2026')).toBe(false);
  });

  it('counts days with both ends included and steps over month and year ends', () => {
    expect(periodDays({ from: '2026-11-09', to: '2026-11-09' })).toBe(1);
    expect(periodDays({ from: '2026-02-01', to: '2026-03-01' })).toBe(29);
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });

  it('takes the previous period of equal length ending the day before', () => {
    expect(previousPeriod({ from: '2026-11-09', to: '2026-11-10' })).toEqual({
      from: '2026-11-07',
      to: '2026-11-08',
    });
    expect(previousPeriod({ from: '2026-03-01', to: '2026-03-31' })).toEqual({
      from: '2026-01-29',
      to: '2026-02-28',
    });
  });

  it('buckets by day, ISO week (Monday) and month, including partial edge buckets', () => {
    expect(bucketOf('2026-11-15', 'week')).toBe('2026-11-09'); // a Sunday
    expect(bucketOf('2026-11-09', 'week')).toBe('2026-11-09'); // a Monday
    expect(bucketOf('2026-11-15', 'month')).toBe('2026-11');
    expect(bucketKeys({ from: '2026-12-30', to: '2027-01-02' }, 'day')).toEqual([
      '2026-12-30',
      '2026-12-31',
      '2027-01-01',
      '2027-01-02',
    ]);
    expect(bucketKeys({ from: '2026-11-01', to: '2026-11-16' }, 'week')).toEqual([
      '2026-10-26',
      '2026-11-02',
      '2026-11-09',
      '2026-11-16',
    ]);
    expect(bucketKeys({ from: '2026-11-20', to: '2027-02-01' }, 'month')).toEqual([
      '2026-11',
      '2026-12',
      '2027-01',
      '2027-02',
    ]);
  });
});
