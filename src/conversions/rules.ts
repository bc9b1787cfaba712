// Pure decisions of conversions out: which calls and leads count, where they can go, with what value.
import { localTime, zoneOffsetMs } from '../time/zone.js';
import type { ConversionRules, Destination } from './settings.js';

const TERMINAL = new Set(['completed', 'missed', 'busy', 'failed', 'canceled']);

export interface CallFacts {
  status: string;
  answered: boolean;
  targeted: boolean;
  unique: boolean;
  uniqueTargeted: boolean;
  firstTargeted: boolean;
}

/**
 * Whether an ended call counts under the site's call rule. Only ended calls count: talk time, and so the
 * targeted classes, are final only then.
 */
export function callCounts(rules: ConversionRules, call: CallFacts): boolean {
  const rule = rules.calls;
  if (!rule || !TERMINAL.has(call.status)) return false;
  switch (rule.class) {
    case 'all':
      return true;
    case 'answered':
      return call.answered;
    case 'targeted':
      return call.targeted;
    case 'unique':
      return call.unique;
    case 'unique_targeted':
      return call.uniqueTargeted;
    case 'first_targeted':
      return call.firstTargeted;
  }
}

export function leadCounts(rules: ConversionRules, leadType: string): boolean {
  return rules.leads?.types.includes(leadType as never) ?? false;
}

/** The visitor and click ids of the visit behind a call or lead. */
export interface VisitIds {
  gaClientId: string | null;
  ymUid: string | null;
  yclid: string | null;
  gclid: string | null;
}

/**
 * The configured destinations a conversion can reach: GA4 needs the GA client id, Google Ads the gclid,
 * Metrika (offline calls, so calls only) the Metrika ClientID or the yclid. A conversion without the id
 * a destination matches on would be dropped there, so it is not sent at all.
 */
export function reachableDestinations(
  configured: readonly Destination[],
  subject: 'call' | 'lead',
  ids: VisitIds,
): Destination[] {
  return configured.filter((d) => {
    if (d === 'ga4') return ids.gaClientId !== null;
    if (d === 'google_ads') return ids.gclid !== null;
    return subject === 'call' && (ids.ymUid !== null || ids.yclid !== null);
  });
}

/**
 * The GA4 session id of one property from the widget's "<container>:<session id>,…" list: the cookie
 * _ga_<container> belongs to the property with measurement id G-<container>.
 */
export function ga4SessionFor(sessions: string | null, measurementId: string): string | null {
  const container = measurementId.replace(/^G-/, '');
  for (const pair of sessions?.split(',') ?? []) {
    const [name, id] = pair.split(':');
    if (name === container) return id;
  }
  return null;
}

/** Value in major units and currency: won deal revenue when the rule asks for it and there is some. */
export function conversionValue(
  rules: ConversionRules,
  subject: 'call' | 'lead',
  wonRevenueMinor: number,
  siteCurrency: string,
): { value: number; currency: string; fromRevenue: boolean } {
  const rule = subject === 'call' ? rules.calls : rules.leads;
  if (rule?.useRevenue && wonRevenueMinor > 0)
    // Deals are stored in the site's currency (src/revenue), in minor units.
    return { value: wonRevenueMinor / 100, currency: siteCurrency, fromRevenue: true };
  return { value: rule?.value ?? 0, currency: rules.currency ?? siteCurrency, fromRevenue: false };
}

/** Idempotency key of one conversion: sent once per destination, call or lead, and event name. */
export function conversionKey(destination: Destination, subject: 'call' | 'lead', id: string, name: string) {
  return `${destination}:${subject}:${id}:${name}`;
}

/** Metrika uploads gather the conversions due in one window of this length into one file. */
const METRIKA_BATCH_MS = 5 * 60_000;

/** The end of the batch window a conversion due at `due` is uploaded at. */
export function metrikaBatchDue(due: Date): Date {
  return new Date(Math.floor(due.getTime() / METRIKA_BATCH_MS) * METRIKA_BATCH_MS + METRIKA_BATCH_MS);
}

/**
 * Google Ads' conversionDateTime: "yyyy-mm-dd hh:mm:ss+|-hh:mm" in the given time zone
 * (https://developers.google.com/google-ads/api/docs/conversions/upload-clicks).
 */
export function googleAdsDateTime(at: Date, timeZone: string): string {
  const local = localTime(at, timeZone);
  const offsetMin = Math.round(zoneOffsetMs(at, timeZone) / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${local.date} ${local.hhmmss}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
