import { describe, expect, it } from 'vitest';
import { callbackNumberProblem, DEFAULT_LIMITS, isOpen, limitExceeded, nextOpening } from './rules.js';

describe('callback numbers', () => {
  it('calls mobile and landline numbers of the allowed countries', () => {
    expect(callbackNumberProblem('+79161234567', ['RU'])).toBeNull();
    expect(callbackNumberProblem('+74951234567', ['RU'])).toBeNull();
  });
  it('refuses premium-rate, toll-free and foreign numbers, naming why', () => {
    expect(callbackNumberProblem('+78091234567', ['RU'])).toBe('+78091234567 is a premium-rate number');
    expect(callbackNumberProblem('+449012345678', ['GB'])).toBe('+449012345678 is a premium-rate number');
    expect(callbackNumberProblem('+78001234567', ['RU'])).toMatch(/toll-free number/);
    expect(callbackNumberProblem('+380501234567', ['RU'])).toBe(
      '+380501234567 is outside the callback countries (RU)',
    );
    expect(callbackNumberProblem('+380501234567', ['RU', 'UA'])).toBeNull();
  });
});

describe('callback limits', () => {
  const now = new Date('2026-11-02T12:00:00Z');
  const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
  const none = { visit: [], ip: [], number: [] };

  it('lets the first request through', () => {
    expect(limitExceeded(DEFAULT_LIMITS, none, now)).toBeNull();
  });
  it('allows one per visit in 10 minutes, retrying when the earlier one leaves the window', () => {
    expect(limitExceeded(DEFAULT_LIMITS, { ...none, visit: [ago(4)] }, now)).toEqual({
      limit: 'visitPer10Minutes',
      retryAfterSeconds: 360,
    });
    expect(limitExceeded(DEFAULT_LIMITS, { ...none, visit: [ago(10)] }, now)).toBeNull();
  });
  it('allows three per visit a day', () => {
    expect(limitExceeded(DEFAULT_LIMITS, { ...none, visit: [ago(30), ago(20), ago(600)] }, now)).toEqual({
      limit: 'visitPerDay',
      retryAfterSeconds: (1440 - 600) * 60,
    });
    expect(limitExceeded(DEFAULT_LIMITS, { ...none, visit: [ago(30), ago(1441)] }, now)).toBeNull();
  });
  it('allows five per IP an hour and three per number a day', () => {
    const five = [ago(50), ago(40), ago(30), ago(20), ago(15)];
    expect(limitExceeded(DEFAULT_LIMITS, { ...none, ip: five }, now)).toEqual({
      limit: 'ipPerHour',
      retryAfterSeconds: 600,
    });
    expect(limitExceeded(DEFAULT_LIMITS, { ...none, ip: five.slice(1) }, now)).toBeNull();
    expect(limitExceeded(DEFAULT_LIMITS, { ...none, number: [ago(100), ago(90), ago(80)] }, now)).toEqual({
      limit: 'numberPerDay',
      retryAfterSeconds: (1440 - 100) * 60,
    });
  });
  it('reports the limit that frees last', () => {
    const over = limitExceeded(
      DEFAULT_LIMITS,
      { visit: [ago(5)], ip: [], number: [ago(60), ago(50), ago(5)] },
      now,
    );
    expect(over?.limit).toBe('numberPerDay');
  });
});

describe('callback working hours', () => {
  // Weekdays 09:00-18:00 Moscow time; 2026-11-04 (Wednesday) is a holiday.
  const hours = { hours: [{ days: [1, 2, 3, 4, 5], from: '09:00', to: '18:00' }], holidays: ['2026-11-04'] };
  const tz = 'Europe/Moscow';

  it('is open within the hours in the site time zone', () => {
    expect(isOpen(hours, new Date('2026-11-02T06:00:00Z'), tz)).toBe(true); // Mon 09:00 MSK
    expect(isOpen(hours, new Date('2026-11-02T15:00:00Z'), tz)).toBe(false); // Mon 18:00 MSK
    expect(isOpen(hours, new Date('2026-11-04T08:00:00Z'), tz)).toBe(false); // holiday
  });
  it('finds the next opening: tomorrow morning, skipping holidays and weekends', () => {
    const at = new Date('2026-11-02T16:30:10Z'); // Mon 19:30 MSK
    expect(nextOpening(hours, at, tz)?.toISOString()).toBe('2026-11-03T06:00:00.000Z');
    // Tue 20:00 → Wednesday is a holiday → Thursday 09:00.
    expect(nextOpening(hours, new Date('2026-11-03T17:00:00Z'), tz)?.toISOString()).toBe(
      '2026-11-05T06:00:00.000Z',
    );
    // Fri 18:00 → Monday 09:00.
    expect(nextOpening(hours, new Date('2026-11-06T15:00:00Z'), tz)?.toISOString()).toBe(
      '2026-11-09T06:00:00.000Z',
    );
  });
  it('is now when open, and null when never open', () => {
    const at = new Date('2026-11-02T07:00:00Z');
    expect(nextOpening(hours, at, tz)).toBe(at);
    expect(nextOpening({ hours: [], holidays: [] }, at, tz)).toBeNull();
  });
});
