import { GOOGLE_ADS_API_VERSION } from '../costs/google-ads.js';
import type { Queryable } from '../db/db.js';
import { refreshAccessToken, type TokenAnswer } from '../google/oauth.js';
import type { AppContext } from '../http/context.js';
import { JobFailure, type JobKinds, type QueuedJob } from '../jobs/queue.js';
import { CONVERSION_JOB, type MetrikaBatchPayload } from './enqueue.js';
import { conversionValue, ga4SessionFor, googleAdsDateTime } from './rules.js';
import { loadSettings, type OpenDestinations, type SiteConversionSettings } from './settings.js';

/*
 * The senders of conversions out, run by the job queue. Each reads the conversion, its call or lead and the
 * site's current credentials at send time (a fixed secret fixes the next retry), and classifies the
 * answer: 2xx done; 429 and 5xx and network errors retried; other 4xx failed at once (bad credentials or
 * data will not get better by waiting; the API's manual retry is there once they are fixed).
 */

type Ctx = Pick<AppContext, 'db' | 'config' | 'secrets'>;

const TIMEOUT_MS = 15_000;

/** A conversion with what the senders need of its call or lead, visit and site. */
interface ConversionData {
  id: string;
  siteId: string;
  name: string;
  callId: string | null;
  leadId: string | null;
  occurredAt: Date;
  timeZone: string;
  siteCurrency: string;
  caller: string | null;
  status: string | null;
  answered: boolean;
  talkSeconds: number | null;
  waitSeconds: number | null;
  isStatic: boolean;
  isUnique: boolean;
  classes: string[];
  pageUrl: string | null;
  leadType: string | null;
  gaClientId: string | null;
  gaSessions: string | null;
  ymUid: string | null;
  yclid: string | null;
  gclid: string | null;
  wonRevenueMinor: number;
}

const DATA_SQL = `
  SELECT cv.id, cv.site_id, cv.name, cv.call_id, cv.lead_id, coalesce(c.started_at, l.created_at) AS occurred_at,
         s.time_zone, s.currency, c.caller, c.status, c.answered_at IS NOT NULL AS answered, c.talk_seconds,
         c.wait_seconds, c.method = 'static' AS is_static, c.is_unique, c.is_targeted, c.is_unique_targeted,
         c.is_first_targeted, c.is_missed, coalesce(c.call_page_url, l.url, v.landing_url) AS page_url,
         l.type AS lead_type, v.ga_client_id, v.ga_sessions, v.ym_uid, v.yclid, v.gclid,
         (SELECT coalesce(sum(d.amount_minor), 0)::float8 FROM deals d
           WHERE d.account_id = cv.account_id AND d.status = 'won'
             AND (d.call_id = cv.call_id OR d.lead_id = cv.lead_id)) AS won_minor
    FROM conversions cv
    JOIN sites s ON s.account_id = cv.account_id AND s.id = cv.site_id
    LEFT JOIN calls c ON c.account_id = cv.account_id AND c.id = cv.call_id
    LEFT JOIN leads l ON l.account_id = cv.account_id AND l.id = cv.lead_id
    LEFT JOIN visits v ON v.account_id = cv.account_id AND v.id = coalesce(c.visit_id, l.visit_id)`;

async function conversionData(
  q: Queryable,
  accountId: string,
  by: { id: string } | { jobId: string },
): Promise<ConversionData[]> {
  const rows = await q.query<Record<string, unknown>>(
    `${DATA_SQL} WHERE cv.account_id = $1 AND ${'id' in by ? 'cv.id' : 'cv.job_id'} = $2
      ORDER BY occurred_at, cv.id`,
    [accountId, 'id' in by ? by.id : by.jobId],
  );
  return rows.map((r) => ({
    id: r.id as string,
    siteId: r.site_id as string,
    name: r.name as string,
    callId: r.call_id as string | null,
    leadId: r.lead_id as string | null,
    occurredAt: new Date(r.occurred_at as string),
    timeZone: r.time_zone as string,
    siteCurrency: r.currency as string,
    caller: r.caller as string | null,
    status: r.status as string | null,
    answered: r.answered === true,
    talkSeconds: r.talk_seconds as number | null,
    waitSeconds: r.wait_seconds as number | null,
    isStatic: r.is_static === true,
    isUnique: r.is_unique === true,
    classes: (['unique', 'targeted', 'unique_targeted', 'first_targeted', 'missed'] as const).filter(
      (c) => r[`is_${c}`] === true,
    ),
    pageUrl: r.page_url as string | null,
    leadType: r.lead_type as string | null,
    gaClientId: r.ga_client_id as string | null,
    gaSessions: r.ga_sessions as string | null,
    ymUid: r.ym_uid as string | null,
    yclid: r.yclid as string | null,
    gclid: r.gclid as string | null,
    wonRevenueMinor: Number(r.won_minor),
  }));
}

function valueFor(settings: SiteConversionSettings, c: ConversionData) {
  return conversionValue(settings.rules, c.callId ? 'call' : 'lead', c.wonRevenueMinor, c.siteCurrency);
}

/**
 * The GA4 Measurement Protocol body of one conversion
 * (https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events). `session_id`
 * ties the event to the visitor's session; `engagement_time_msec` makes it count as engaged activity.
 */
function ga4Body(settings: SiteConversionSettings, c: ConversionData) {
  const { value, currency } = valueFor(settings, c);
  const params: Record<string, string | number> = {};
  const sessionId = ga4SessionFor(c.gaSessions, settings.destinations.ga4?.measurementId ?? '');
  if (sessionId) params.session_id = sessionId;
  params.engagement_time_msec = 1;
  params.value = value;
  params.currency = currency;
  if (c.callId) {
    params.call_id = c.callId;
    params.call_duration = c.talkSeconds ?? 0;
    params.call_class = c.classes.join(' ') || 'none';
  } else {
    params.lead_id = c.leadId as string;
    params.lead_type = c.leadType as string;
  }
  return {
    client_id: c.gaClientId,
    timestamp_micros: c.occurredAt.getTime() * 1000,
    events: [{ name: c.name, params }],
  };
}

const METRIKA_COLUMNS = [
  'DateTime',
  'PhoneNumber',
  'TalkDuration',
  'HoldDuration',
  'CallMissed',
  'FirstTimeCaller',
  'Tag',
  'URL',
  'Price',
  'Currency',
  'StaticCall',
] as const;

/**
 * The offline calls CSV (https://yandex.ru/dev/metrika/en/management/calls): ClientId or Yclid first,
 * DateTime in Unix seconds (UTC), durations in seconds, 0/1 flags, Price with a dot. Not src/exports/csv:
 * its spreadsheet formula guard would turn "+7…" phone numbers into "'+7…".
 */
function metrikaCsv(
  settings: SiteConversionSettings,
  idType: MetrikaBatchPayload['idType'],
  rows: ConversionData[],
) {
  const field = (v: string | number) => {
    const text = String(v);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = [[idType === 'CLIENT_ID' ? 'ClientId' : 'Yclid', ...METRIKA_COLUMNS].join(',')];
  for (const c of rows) {
    const { value, currency } = valueFor(settings, c);
    lines.push(
      [
        (idType === 'CLIENT_ID' ? c.ymUid : c.yclid) ?? '',
        Math.floor(c.occurredAt.getTime() / 1000),
        c.caller ?? '',
        c.talkSeconds ?? 0,
        c.waitSeconds ?? 0,
        c.answered ? 0 : 1,
        c.isUnique ? 1 : 0,
        c.classes.join(' '),
        c.pageUrl ?? '',
        value.toFixed(2),
        currency,
        c.isStatic ? 1 : 0,
      ]
        .map(field)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The uploadClickConversions body of one conversion
 * (https://developers.google.com/google-ads/api/rest/reference/rest/v26/customers/uploadClickConversions).
 * orderId is our conversion id, so Google drops a repeated upload of the same conversion.
 */
function googleAdsBody(
  settings: SiteConversionSettings,
  ads: NonNullable<OpenDestinations['googleAds']>,
  c: ConversionData,
) {
  const { value, currency } = valueFor(settings, c);
  return {
    conversions: [
      {
        gclid: c.gclid,
        conversionAction: `customers/${ads.customerId}/conversionActions/${ads.conversionActionId}`,
        conversionDateTime: googleAdsDateTime(c.occurredAt, c.timeZone),
        conversionValue: value,
        currencyCode: currency,
        orderId: c.id,
      },
    ],
    partialFailure: true,
  };
}

interface Answer {
  status: number;
  text: string;
  json: unknown;
  retryAfter: string | null;
}

/** One HTTP request to a third party; a network error or timeout is a retryable failure. */
/** A request that got no answer (refused, reset, timed out): retried. */
function noAnswer(label: string, err: unknown, shownUrl: string): JobFailure {
  return new JobFailure(`${label}: ${err instanceof Error ? err.message : String(err)}`, {
    detail: { url: shownUrl },
  });
}

async function call(label: string, url: string, init: RequestInit, shownUrl = url): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw noAnswer(label, err, shownUrl);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, text, json, retryAfter: res.headers.get('retry-after') };
}

/** Throws the failure a non-2xx answer means: 429/5xx retried (honouring Retry-After), other codes final. */
function failOn(label: string, a: Answer, detail: Record<string, unknown>) {
  if (a.status >= 200 && a.status < 300) return;
  const retry = a.status === 429 || a.status >= 500;
  const seconds = a.retryAfter ? Number(a.retryAfter) : Number.NaN;
  throw new JobFailure(`${label}: HTTP ${a.status}${a.text ? `: ${a.text.slice(0, 300)}` : ''}`, {
    retry,
    retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined,
    detail: { ...detail, status: a.status, response: a.json ?? a.text.slice(0, 1000) },
  });
}

async function settingsFor(ctx: Ctx, accountId: string, siteId: string, destination: keyof OpenDestinations) {
  const settings = await loadSettings(ctx.db, ctx.secrets, accountId, siteId);
  if (!settings?.destinations[destination])
    throw new JobFailure(`${destination} is no longer configured for the site`, { retry: false });
  return settings;
}

/**
 * The conversion of a one-conversion job. Its call may have been re-attributed since it was recorded; without
 * the id the destination matches on it cannot be sent.
 */
async function oneConversion(
  ctx: Ctx,
  job: QueuedJob<{ conversionId: string }>,
  needs: 'gaClientId' | 'gclid',
) {
  const [c] = await conversionData(ctx.db, job.accountId, { id: job.payload.conversionId });
  if (!c) throw new JobFailure('the conversion no longer exists', { retry: false });
  if (!c[needs])
    throw new JobFailure(`the visit of the conversion no longer has a ${needs}`, { retry: false });
  return c;
}

async function sendGa4(ctx: Ctx, job: QueuedJob<{ conversionId: string }>) {
  const c = await oneConversion(ctx, job, 'gaClientId');
  const settings = await settingsFor(ctx, job.accountId, c.siteId, 'ga4');
  const ga4 = settings.destinations.ga4 as NonNullable<OpenDestinations['ga4']>;
  const body = ga4Body(settings, c);
  const query = `measurement_id=${encodeURIComponent(ga4.measurementId)}`;
  const url = `${ctx.config.ga4Url}/mp/collect?${query}&api_secret=${encodeURIComponent(ga4.apiSecret)}`;
  const shownUrl = `${ctx.config.ga4Url}/mp/collect?${query}&api_secret=…`;
  const a = await call(
    'GA4',
    url,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    shownUrl,
  );
  const detail = { url: shownUrl, request: body };
  failOn('GA4', a, detail);
  // GA4 answers 2xx even to malformed events (only the /debug validation server reports them).
  return { ...detail, status: a.status };
}

async function sendGoogleAds(ctx: Ctx, job: QueuedJob<{ conversionId: string }>) {
  const c = await oneConversion(ctx, job, 'gclid');
  const settings = await settingsFor(ctx, job.accountId, c.siteId, 'googleAds');
  const ads = settings.destinations.googleAds as NonNullable<OpenDestinations['googleAds']>;
  const tokenUrl = ctx.config.googleOauthUrl;
  let token: TokenAnswer;
  try {
    token = await refreshAccessToken(tokenUrl, ads, TIMEOUT_MS);
  } catch (err) {
    throw noAnswer('Google OAuth', err, tokenUrl);
  }
  failOn('Google OAuth', token, { url: tokenUrl });
  const accessToken = token.accessToken;
  if (!accessToken)
    throw new JobFailure('Google OAuth: no access_token in the token response', {
      detail: { url: tokenUrl },
    });

  const body = googleAdsBody(settings, ads, c);
  const url = `${ctx.config.googleAdsUrl}/${GOOGLE_ADS_API_VERSION}/customers/${ads.customerId}:uploadClickConversions`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    authorization: `Bearer ${accessToken}`,
    'developer-token': ads.developerToken,
  };
  if (ads.loginCustomerId) headers['login-customer-id'] = ads.loginCustomerId;
  const a = await call('Google Ads', url, { method: 'POST', headers, body: JSON.stringify(body) });
  const detail = { url, request: body };
  failOn('Google Ads', a, detail);
  // With partialFailure the call answers 200 and reports a rejected conversion in partialFailureError;
  // one conversion per request, so that error is this conversion's, and resending will not change it.
  const partial = (a.json as { partialFailureError?: { message?: string } } | null)?.partialFailureError;
  if (partial)
    throw new JobFailure(`Google Ads rejected the conversion: ${partial.message ?? 'partialFailureError'}`, {
      retry: false,
      detail: { ...detail, status: a.status, response: a.json },
    });
  return { ...detail, status: a.status, response: a.json };
}

async function sendMetrikaBatch(ctx: Ctx, job: QueuedJob<MetrikaBatchPayload>) {
  const all = await conversionData(ctx.db, job.accountId, { jobId: job.id });
  // A call re-attributed since it was recorded may have lost the id this upload matches on.
  const rows = all.filter((c) => (job.payload.idType === 'CLIENT_ID' ? c.ymUid : c.yclid));
  const withoutId = all.filter((c) => !rows.includes(c)).map((c) => c.id);
  if (rows.length === 0) return { skipped: 'no conversions with an id in this batch', withoutId };
  const settings = await settingsFor(ctx, job.accountId, job.payload.siteId, 'metrika');
  const metrika = settings.destinations.metrika as NonNullable<OpenDestinations['metrika']>;
  const csv = metrikaCsv(settings, job.payload.idType, rows);
  const url = `${ctx.config.metrikaUrl}/management/v1/counter/${metrika.counterId}/offline_conversions/upload_calls?client_id_type=${job.payload.idType}`;
  const form = new FormData();
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'calls.csv');
  const a = await call('Metrika', url, {
    method: 'POST',
    headers: { authorization: `OAuth ${metrika.oauthToken}` },
    body: form,
  });
  const detail = { url, conversions: rows.map((r) => r.id), withoutId, csv };
  // Errors come as {errors: [{error_type, message}], code, message}; 400 (bad file) and 403 (no access)
  // are final.
  failOn('Metrika', a, detail);
  const uploading = (a.json as { uploading?: { id?: unknown; status?: unknown } } | null)?.uploading;
  return {
    ...detail,
    status: a.status,
    uploadingId: uploading?.id ?? null,
    uploadStatus: uploading?.status ?? null,
  };
}

/** The job kinds of conversions out, registered in src/jobs/kinds.ts. */
export function conversionJobKinds(ctx: Ctx): JobKinds {
  return {
    [CONVERSION_JOB.ga4]: { run: (job: QueuedJob<{ conversionId: string }>) => sendGa4(ctx, job) },
    [CONVERSION_JOB.google_ads]: {
      run: (job: QueuedJob<{ conversionId: string }>) => sendGoogleAds(ctx, job),
    },
    [CONVERSION_JOB.metrika]: { run: (job: QueuedJob<MetrikaBatchPayload>) => sendMetrikaBatch(ctx, job) },
  };
}
