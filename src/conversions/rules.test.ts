import { describe, expect, it } from 'vitest';
import {
  callCounts,
  conversionValue,
  ga4SessionFor,
  googleAdsDateTime,
  metrikaBatchDue,
  reachableDestinations,
} from './rules.js';
import type { ConversionRules } from './settings.js';

const rules = (cls: NonNullable<ConversionRules['calls']>['class']): ConversionRules => ({
  currency: null,
  delayMinutes: 0,
  calls: { class: cls, eventName: 'ringtrace_call', value: 10, useRevenue: true },
  leads: null,
});
const call = {
  status: 'completed',
  answered: true,
  targeted: true,
  unique: false,
  uniqueTargeted: false,
  firstTargeted: false,
};

describe('conversion rules', () => {
  it('counts only ended calls of the rule class', () => {
    expect(callCounts(rules('targeted'), call)).toBe(true);
    expect(callCounts(rules('targeted'), { ...call, status: 'answered' })).toBe(false);
    expect(callCounts(rules('unique_targeted'), call)).toBe(false);
    expect(callCounts(rules('answered'), { ...call, answered: false, status: 'missed' })).toBe(false);
    expect(callCounts(rules('all'), { ...call, answered: false, status: 'missed' })).toBe(true);
    expect(callCounts({ ...rules('all'), calls: null }, call)).toBe(false);
  });

  it('sends only where the visit has the id the destination matches on', () => {
    const none = { gaClientId: null, ymUid: null, yclid: null, gclid: null };
    const all = ['ga4', 'metrika', 'google_ads'] as const;
    expect(reachableDestinations(all, 'call', none)).toEqual([]);
    expect(reachableDestinations(all, 'call', { ...none, yclid: '1' })).toEqual(['metrika']);
    expect(reachableDestinations(all, 'lead', { ...none, yclid: '1', gclid: 'g' })).toEqual(['google_ads']);
    expect(reachableDestinations(['ga4'], 'call', { ...none, gaClientId: '1.2', gclid: 'g' })).toEqual([
      'ga4',
    ]);
  });

  it('picks the GA4 session of the configured property', () => {
    const sessions = 'SM37QL5J42:1747132561,TEST12345:1673933110';
    expect(ga4SessionFor(sessions, 'G-TEST12345')).toBe('1673933110');
    expect(ga4SessionFor(sessions, 'G-NOPE')).toBeNull();
    expect(ga4SessionFor(null, 'G-TEST12345')).toBeNull();
  });

  it('uses won revenue when asked and present, else the fixed value', () => {
    expect(conversionValue(rules('all'), 'call', 2_500_050, 'RUB')).toEqual({
      value: 25000.5,
      currency: 'RUB',
      fromRevenue: true,
    });
    expect(conversionValue({ ...rules('all'), currency: 'USD' }, 'call', 0, 'RUB')).toEqual({
      value: 10,
      currency: 'USD',
      fromRevenue: false,
    });
    expect(conversionValue(rules('all'), 'lead', 100, 'RUB').value).toBe(0);
  });

  it('formats Google Ads date-times with the zone offset', () => {
    const at = new Date('2026-11-02T09:00:07.900Z');
    expect(googleAdsDateTime(at, 'Europe/Moscow')).toBe('2026-11-02 12:00:07+03:00');
    expect(googleAdsDateTime(at, 'America/New_York')).toBe('2026-11-02 04:00:07-05:00');
    expect(googleAdsDateTime(at, 'Asia/Kolkata')).toBe('2026-11-02 14:30:07+05:30');
    expect(googleAdsDateTime(new Date('2026-01-01T00:30:00Z'), 'UTC')).toBe('2026-01-01 00:30:00+00:00');
  });

  it('puts conversions of one five-minute window in one Metrika batch', () => {
    expect(metrikaBatchDue(new Date('2026-11-02T09:00:00Z')).toISOString()).toBe('2026-11-02T09:05:00.000Z');
    expect(metrikaBatchDue(new Date('2026-11-02T09:04:59Z')).toISOString()).toBe('2026-11-02T09:05:00.000Z');
    expect(metrikaBatchDue(new Date('2026-11-02T09:05:00Z')).toISOString()).toBe('2026-11-02T09:10:00.000Z');
  });
});
