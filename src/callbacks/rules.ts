import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { FlowNode } from '../flows/model.js';
import { scheduleBranch } from '../flows/step.js';

/*
 * The pure decisions of a callback request: which numbers we call back, the abuse limits and the working
 * hours. No I/O; the request handler (request.ts) feeds them from the database and the injected clock.
 */

/**
 * Number types a callback may dial. Premium-rate, shared-cost, UAN, personal, pager and voicemail numbers
 * cost the caller (us) more or reach no person, and toll-free numbers are other businesses' lines: all are
 * refused, as are numbers outside the site's callback countries (international revenue-share fraud).
 */
const CALLABLE_TYPES = new Set(['MOBILE', 'FIXED_LINE', 'FIXED_LINE_OR_MOBILE', 'VOIP']);

/** Null when the (E.164, already valid) number may be called back, else why not. */
export function callbackNumberProblem(e164: string, countries: readonly string[]): string | null {
  const n = parsePhoneNumberFromString(e164);
  if (!n?.isValid()) return `${e164} is not a valid phone number`;
  const type = n.getType();
  if (type === 'PREMIUM_RATE') return `${e164} is a premium-rate number`;
  if (!type || !CALLABLE_TYPES.has(type))
    return `${e164} is a ${type ? type.toLowerCase().replaceAll('_', '-') : 'non-geographic'} number; callbacks call mobile and landline numbers only`;
  if (!n.country || !countries.includes(n.country))
    return `${e164} is outside the callback countries (${countries.join(', ')})`;
  return null;
}

export interface CallbackLimits {
  /** Callbacks per visit in 10 minutes. */
  visitPer10Minutes: number;
  visitPerDay: number;
  ipPerHour: number;
  /** Callbacks to one number per day, whatever visit asked. */
  numberPerDay: number;
}

export const DEFAULT_LIMITS: CallbackLimits = {
  visitPer10Minutes: 1,
  visitPerDay: 3,
  ipPerHour: 5,
  numberPerDay: 3,
};

/** Earlier requests' times for each key the limits count. */
export interface RequestHistory {
  visit: readonly Date[];
  ip: readonly Date[];
  number: readonly Date[];
}

const MINUTE = 60_000;

/**
 * Null when a new request at `now` is within every limit, else the limit it breaks and the seconds until
 * it no longer would (the oldest request that counts has left the window), for `Retry-After`.
 */
export function limitExceeded(
  limits: CallbackLimits,
  history: RequestHistory,
  now: Date,
): { limit: keyof CallbackLimits; retryAfterSeconds: number } | null {
  const rules: Array<[keyof CallbackLimits, readonly Date[], number]> = [
    ['visitPer10Minutes', history.visit, 10 * MINUTE],
    ['visitPerDay', history.visit, 1440 * MINUTE],
    ['ipPerHour', history.ip, 60 * MINUTE],
    ['numberPerDay', history.number, 1440 * MINUTE],
  ];
  let worst: { limit: keyof CallbackLimits; retryAfterSeconds: number } | null = null;
  for (const [limit, times, windowMs] of rules) {
    const inWindow = times
      .map((t) => t.getTime())
      .filter((t) => t > now.getTime() - windowMs && t <= now.getTime())
      .sort((a, b) => a - b);
    const max = limits[limit];
    if (inWindow.length < max) continue;
    // After the (n - max + 1)-th oldest leaves the window, max - 1 remain: one more fits.
    const freedAt = inWindow[inWindow.length - max] + windowMs;
    const retryAfterSeconds = Math.max(1, Math.ceil((freedAt - now.getTime()) / 1000));
    if (!worst || retryAfterSeconds > worst.retryAfterSeconds) worst = { limit, retryAfterSeconds };
  }
  return worst;
}

export interface WorkingHours {
  timeZone?: string;
  hours: Array<{ days: number[]; from: string; to: string }>;
  holidays: string[];
}

/** Open by the flow `schedule` node's rules (weekday and from ≤ time < to, holidays closed). */
export function isOpen(hours: WorkingHours, at: Date, siteTimeZone: string): boolean {
  const node: Extract<FlowNode, { kind: 'schedule' }> = {
    kind: 'schedule',
    timeZone: hours.timeZone,
    hours: hours.hours,
    holidays: hours.holidays,
    open: 'open',
    closed: 'closed',
  };
  return scheduleBranch(node, { now: at, timeZone: siteTimeZone }) === 'open';
}

/** The first minute at or after `at` when the hours are open, within 8 days; null if never. */
export function nextOpening(hours: WorkingHours, at: Date, siteTimeZone: string): Date | null {
  if (isOpen(hours, at, siteTimeZone)) return at;
  // Opening times are whole minutes (time zone offsets are whole minutes). Stepping by the shortest window
  // cannot jump over one; then back up minute by minute to where it opened.
  const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
  const step = Math.max(1, Math.min(30, ...hours.hours.map((h) => minutes(h.to) - minutes(h.from)))) * MINUTE;
  const start = Math.ceil(at.getTime() / MINUTE) * MINUTE;
  for (let t = start; t < start + 8 * 1440 * MINUTE; t += step) {
    if (!isOpen(hours, new Date(t), siteTimeZone)) continue;
    while (t - MINUTE >= start && isOpen(hours, new Date(t - MINUTE), siteTimeZone)) t -= MINUTE;
    return new Date(t);
  }
  return null;
}
