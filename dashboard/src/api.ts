import { type CallClass, CLASS_COLUMNS } from '../../src/calls/classify';
import { METRICS, type Metric } from '../../src/reports/metrics';
import { ALL_CHANNELS } from '../../src/tracking/channel';
import type { StaticRuleConditions } from '../../src/tracking/static-rules';
import { apiError } from './errors';
// The dashboard talks to the same REST API as integrators, authenticated by its session cookie.

export async function api<T>(path: string, init?: { method?: string; body?: unknown }): Promise<T> {
  const res = await fetch(path, {
    method: init?.method ?? 'GET',
    credentials: 'same-origin',
    headers: init?.body !== undefined ? { 'content-type': 'application/json' } : undefined,
    body: init?.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  if (res.status === 204) return undefined as T;
  const data = await res.json().catch(() => null);
  if (!res.ok) throw apiError(res.status, res.statusText, data);
  return data as T;
}

export const qs = (params: Record<string, string | number | undefined | null | false>): string => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '' && v !== false) p.set(k, String(v));
  return p.toString();
};

export type Locale = 'ru' | 'en';

export interface Me {
  id: string;
  accountId: string;
  email: string;
  name: string;
  locale: Locale;
}

export interface Site {
  id: string;
  name: string;
  siteKey: string;
  domains: string[];
  timeZone: string;
  currency: string;
  defaultNumber: string | null;
  replaceNumbers: string[];
  freezeMinutes: number;
  exhaustionPolicy: 'default' | 'share';
  /** The widget's script tag for this site. */
  snippet: string;
}

export interface Pool {
  id: string;
  name: string;
  region: string | null;
  size: number;
}

export interface PhoneNumber {
  id: string;
  e164: string;
  kind: 'pool' | 'static' | 'default';
  poolId: string | null;
  region: string | null;
}

export type { StaticRuleConditions };

export interface StaticRule {
  id: string;
  name: string;
  priority: number;
  conditions: StaticRuleConditions;
  numberId: string;
  number: string;
  source: string | null;
  medium: string | null;
  campaign: string | null;
}

/** As GET /api/v1/api-keys lists them (snake case, as that endpoint has always answered). */
export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}

// Metric, channel and class names come from the server's own definitions, so the two never drift.
export { METRICS, type Metric };
export type Metrics = Record<Metric, number | null>;

export interface ReportRow extends Metrics {
  key: string | number;
  previous?: Metrics | null;
}

export interface Report {
  rows: ReportRow[];
  totals: Metrics;
  previousTotals?: Metrics;
  total: number;
}

export interface Timeseries {
  points: ({ bucket: string } & Partial<Metrics>)[];
}

/** Channels of the call log filter: the traffic channels plus calls to static numbers. */
export const CHANNELS = [...ALL_CHANNELS, 'static'] as const;

export const CLASSES = Object.keys(CLASS_COLUMNS) as CallClass[];

export interface CallRow {
  id: string;
  siteId: string;
  caller: string | null;
  trackingNumber: string;
  status: string;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  waitSeconds: number | null;
  talkSeconds: number | null;
  employee: string | null;
  groupName: string | null;
  recordingUrl: string | null;
  visitId: string | null;
  method: string;
  confidence: number | null;
  callPageUrl: string | null;
  channel: string | null;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  content: string | null;
  keyword: string | null;
  landingUrl: string | null;
  referrer: string | null;
  country: string | null;
  region: string | null;
  city: string | null;
  deviceType: string | null;
  browser: string | null;
  os: string | null;
  pageViews: number | null;
  gclid: string | null;
  yclid: string | null;
  classes: string[];
}

export interface CallDetail extends CallRow {
  candidates: { visitId: string; score: number; reasons: string[] }[] | null;
  pages: { url: string; title: string | null; at: string }[];
  previousCalls: { id: string; startedAt: string; status: string; talkSeconds: number | null }[];
  legs: CallLeg[];
  transfers: { from: string | null; to: string; kind: 'blind' | 'attended'; at: string }[];
  finishedBy: string | null;
}

/** One attempt to reach an endpoint within a call (an employee's phone, an IVR, voicemail). */
export interface CallLeg {
  legId: string;
  kind: 'employee' | 'ivr' | 'voicemail';
  employee: string | null;
  target: string | null;
  status: 'ringing' | 'answered' | 'completed' | 'no-answer' | 'busy' | 'failed' | 'canceled';
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  talkSeconds: number | null;
}

export interface CallList {
  total: number;
  limit: number;
  offset: number;
  items: CallRow[];
}
