// Google Ads API client: refreshes an OAuth access token, then runs one GAQL query through
// GoogleAdsService.SearchStream (REST) for daily cost per campaign and ad group, returned as the table the
// `google_ads` file layout reads.
//
// REST call structure and headers: https://developers.google.com/google-ads/api/rest/common/search;
// response: https://developers.google.com/google-ads/api/reference/rpc/v26/SearchGoogleAdsStreamResponse;
// quota errors carry QuotaErrorDetails.retry_delay:
// https://developers.google.com/google-ads/api/reference/rpc/v26/QuotaErrorDetails.

import { refreshAccessToken, type TokenAnswer } from '../google/oauth.js';
import {
  AdSyncError,
  type ClientDeps,
  type DateRange,
  REQUEST_TIMEOUT_MS,
  request,
  requestFailed,
} from './ad-platform.js';
import type { Table } from './parse.js';

/** The latest API version at the time of writing; Google sunsets each version about a year after release. */
export const GOOGLE_ADS_API_VERSION = 'v26';

export interface GoogleAdsAccount {
  /** The advertiser's customer id, digits only. */
  customerId: string;
  /** The manager account the access goes through, digits only. */
  loginCustomerId: string | null;
  developerToken: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export interface GoogleEndpoints {
  adsUrl: string;
  oauthUrl: string;
}

/** 429 RESOURCE_EXHAUSTED and 500/503 are retried this many times. */
const MAX_RETRIES = 3;
const DEFAULT_RETRY_MS = 30_000;
const MAX_RETRY_MS = 300_000;

const between = (range: DateRange) => `segments.date BETWEEN '${range.from}' AND '${range.to}'`;

/**
 * Cost per day, campaign and ad group, then the campaigns that have no ad groups (Performance Max,
 * whose spend `FROM ad_group` leaves out) per day and campaign.
 */
export const costQueries = (range: DateRange) => [
  'SELECT segments.date, campaign.id, campaign.name, ad_group.name, metrics.impressions, metrics.clicks, ' +
    `metrics.cost_micros, customer.currency_code FROM ad_group WHERE ${between(range)}`,
  'SELECT segments.date, campaign.id, campaign.name, metrics.impressions, metrics.clicks, ' +
    `metrics.cost_micros, customer.currency_code FROM campaign WHERE ${between(range)} ` +
    "AND campaign.advertising_channel_type = 'PERFORMANCE_MAX'",
];

/** An access token for the account's stored refresh token. */
async function accessToken(oauthUrl: string, account: GoogleAdsAccount): Promise<string> {
  let answer: TokenAnswer;
  try {
    answer = await refreshAccessToken(oauthUrl, account, REQUEST_TIMEOUT_MS);
  } catch (err) {
    throw requestFailed('Google OAuth', err);
  }
  if (answer.status === 200 && answer.accessToken) return answer.accessToken;
  const body = (answer.json ?? {}) as Record<string, unknown>;
  const reason = [body.error, body.error_description].filter(Boolean).join(': ') || 'no access_token';
  throw new AdSyncError(`Google OAuth token refresh answered ${answer.status}: ${reason}`);
}

interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: {
    errors?: {
      errorCode?: Record<string, string>;
      message?: string;
      details?: { quotaErrorDetails?: { retryDelay?: string } };
    }[];
  }[];
}

/** The error of a failed call: SearchStream wraps it in an array, other methods send it bare. */
function errorOf(body: unknown): GoogleError {
  const first = Array.isArray(body) ? body[0] : body;
  return ((first as { error?: GoogleError } | undefined)?.error ?? {}) as GoogleError;
}

function googleError(httpStatus: number, error: GoogleError): AdSyncError {
  const failure = error.details?.flatMap((d) => d.errors ?? [])[0];
  const code = failure?.errorCode ? Object.values(failure.errorCode)[0] : undefined;
  const message = failure?.message ?? error.message ?? 'no error message';
  const head = [`Google Ads answered ${httpStatus}`, error.status, code && `(${code})`]
    .filter(Boolean)
    .join(' ');
  return new AdSyncError(`${head}: ${message}`);
}

/** "30s" / "1.5s" (protobuf Duration in JSON) → milliseconds. */
function retryDelayMs(error: GoogleError): number {
  for (const d of error.details ?? [])
    for (const e of d.errors ?? []) {
      const m = /^(\d+(?:\.\d+)?)s$/.exec(e.details?.quotaErrorDetails?.retryDelay ?? '');
      if (m) return Math.min(Number(m[1]) * 1000, MAX_RETRY_MS);
    }
  return DEFAULT_RETRY_MS;
}

interface AdsRow {
  segments?: { date?: string };
  campaign?: { id?: string; name?: string };
  adGroup?: { name?: string };
  metrics?: { impressions?: string; clicks?: string; costMicros?: string };
  customer?: { currencyCode?: string };
}

/** Micros (int64 as a JSON string) → a decimal amount string; minor units are rounded by the layout. */
function microsToAmount(micros: string | undefined): string {
  const n = BigInt(micros ?? '0');
  const whole = n / 1_000_000n;
  const frac = (n % 1_000_000n).toString().padStart(6, '0');
  return `${whole}.${frac}`;
}

/** Runs one query through SearchStream, retrying quota exhaustion and brief server errors. */
async function searchStream(
  deps: ClientDeps,
  url: string,
  headers: Record<string, string>,
  query: string,
): Promise<AdsRow[]> {
  for (let attempt = 0; ; attempt++) {
    const res = await request('Google Ads', url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query }),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AdSyncError(`Google Ads answered ${res.status} with a body that is not JSON`);
    }
    if (res.status === 200 && Array.isArray(body)) {
      const batches = body as { results?: AdsRow[]; error?: GoogleError }[];
      // A stream can fail after some batches: then nothing of it is imported.
      const failed = batches.find((b) => b.error);
      if (failed?.error) throw googleError(failed.error.code ?? 200, failed.error);
      return batches.flatMap((b) => b.results ?? []);
    }
    const error = errorOf(body);
    if ([429, 500, 503].includes(res.status) && attempt < MAX_RETRIES) {
      await deps.wait(res.status === 429 ? retryDelayMs(error) : DEFAULT_RETRY_MS);
      continue;
    }
    throw googleError(res.status, error);
  }
}

export async function fetchGoogleAdsReport(
  deps: ClientDeps & GoogleEndpoints,
  account: GoogleAdsAccount,
  range: DateRange,
): Promise<Table> {
  const token = await accessToken(deps.oauthUrl, account);
  const url = `${deps.adsUrl.replace(/\/$/, '')}/${GOOGLE_ADS_API_VERSION}/customers/${account.customerId}/googleAds:searchStream`;
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    'developer-token': account.developerToken,
    'content-type': 'application/json',
  };
  if (account.loginCustomerId) headers['login-customer-id'] = account.loginCustomerId;
  const rows: AdsRow[] = [];
  for (const query of costQueries(range)) rows.push(...(await searchStream(deps, url, headers, query)));
  return {
    rows: [
      {
        line: 1,
        cells: [
          'Day',
          'Campaign ID',
          'Campaign',
          'Ad group',
          'Impressions',
          'Clicks',
          'Cost',
          'Currency code',
        ],
      },
      ...rows.map((r, i) => ({
        line: i + 2,
        cells: [
          r.segments?.date ?? null,
          r.campaign?.id ?? null,
          r.campaign?.name ?? null,
          r.adGroup?.name ?? null,
          r.metrics?.impressions ?? '0',
          r.metrics?.clicks ?? '0',
          microsToAmount(r.metrics?.costMicros),
          r.customer?.currencyCode ?? null,
        ],
      })),
    ],
  };
}
