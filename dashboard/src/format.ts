// Locale-aware formatting: every number, date and duration the dashboard shows goes through Intl.
import { wallClockToUtc } from '../../src/time/zone.js';

export const intlLocale = (lang: string) => (lang === 'en' ? 'en-GB' : 'ru-RU');

export function fmtNumber(lang: string, n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined) return '—';
  return new Intl.NumberFormat(intlLocale(lang), { maximumFractionDigits: digits }).format(n);
}

export function fmtPercent(lang: string, fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined) return '—';
  return new Intl.NumberFormat(intlLocale(lang), {
    style: 'percent',
    maximumFractionDigits: digits,
  }).format(fraction);
}

export function fmtMoney(lang: string, minor: number, currency: string): string {
  return new Intl.NumberFormat(intlLocale(lang), { style: 'currency', currency }).format(minor / 100);
}

const unit = (lang: string, value: number, u: 'minute' | 'second' | 'hour') =>
  new Intl.NumberFormat(intlLocale(lang), { style: 'unit', unit: u, unitDisplay: 'short' }).format(value);

/** 75 → "1 мин 15 с" / "1 min 15 sec". */
export function fmtDuration(lang: string, seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${unit(lang, h, 'hour')} ${unit(lang, m, 'minute')}`;
  if (m > 0) return s > 0 ? `${unit(lang, m, 'minute')} ${unit(lang, s, 'second')}` : unit(lang, m, 'minute');
  return unit(lang, s, 'second');
}

/** "24.11.2026, 10:05" / "24/11/2026, 10:05". */
export function fmtDateTime(lang: string, iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(intlLocale(lang), {
    timeZone,
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  }).format(new Date(iso));
}

export function fmtTime(lang: string, iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(intlLocale(lang), {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(new Date(iso));
}

/** A YYYY-MM-DD calendar date (no time zone involved). */
export function fmtDay(lang: string, date: string, withYear = false): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Intl.DateTimeFormat(intlLocale(lang), {
    timeZone: 'UTC',
    day: 'numeric',
    month: 'short',
    ...(withYear ? { year: 'numeric' } : {}),
  }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** A YYYY-MM-DD calendar date as the locale writes it in digits: "24.11.2026" / "24/11/2026". */
export function fmtDate(lang: string, date: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Intl.DateTimeFormat(intlLocale(lang), {
    timeZone: 'UTC',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
  }).format(new Date(Date.UTC(y, m - 1, d)));
}

/**
 * A date typed in the locale's day-month-year order ("24.11.2026", "24/11/2026", "1.2.26") or as
 * YYYY-MM-DD, to YYYY-MM-DD; null when it is no real date.
 */
export function parseDate(text: string): string | null {
  const t = text.trim();
  let y: number;
  let m: number;
  let d: number;
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(t);
  const dmy = /^(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})$/.exec(t);
  if (iso) [y, m, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  else if (dmy) [d, m, y] = [Number(dmy[1]), Number(dmy[2]), Number(dmy[3])];
  else return null;
  if (y < 100) y += 2000;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return date.toISOString().slice(0, 10);
}

// --- calendar dates in the site's time zone -------------------------------------------------------

/** The UTC instant of local midnight starting `date` in `timeZone`, as an ISO string. */
export function startOfDayUtc(date: string, timeZone: string): string {
  return wallClockToUtc(Date.parse(`${date}T00:00:00Z`), timeZone).toISOString();
}

/** Only http(s) URLs become links; anything else a visitor sent stays plain text. */
export const safeHref = (url: string | null | undefined): string | undefined =>
  url && /^https?:\/\//i.test(url) ? url : undefined;
