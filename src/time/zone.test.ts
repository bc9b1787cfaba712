import { describe, expect, it } from 'vitest';
import { localTime, wallClockToUtc, zoneOffsetMs } from './zone.js';

describe('time zone wall clock', () => {
  it('reads the local date, weekday and time of an instant', () => {
    // 2026-11-01 is a Sunday in UTC; 21:30 UTC is already Monday 00:30 in Moscow.
    expect(localTime(new Date('2026-11-01T21:30:05Z'), 'Europe/Moscow')).toEqual({
      date: '2026-11-02',
      weekday: 1,
      hhmm: '00:30',
      hhmmss: '00:30:05',
    });
    expect(localTime(new Date('2026-11-01T21:30:05Z'), 'UTC').weekday).toBe(7);
  });
  it('measures the offset on both sides of a DST switch, ignoring milliseconds', () => {
    expect(zoneOffsetMs(new Date('2026-07-01T12:00:00.999Z'), 'Europe/Berlin')).toBe(2 * 3_600_000);
    expect(zoneOffsetMs(new Date('2026-01-01T12:00:00Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(zoneOffsetMs(new Date('2026-01-01T12:00:00Z'), 'America/New_York')).toBe(-5 * 3_600_000);
  });
  it('turns local midnight into the UTC instant', () => {
    expect(wallClockToUtc(Date.parse('2026-11-03T00:00:00Z'), 'Europe/Moscow').toISOString()).toBe(
      '2026-11-02T21:00:00.000Z',
    );
    // The day after New York leaves DST (2026-11-01) starts at 05:00 UTC.
    expect(wallClockToUtc(Date.parse('2026-11-02T00:00:00Z'), 'America/New_York').toISOString()).toBe(
      '2026-11-02T05:00:00.000Z',
    );
  });
});
