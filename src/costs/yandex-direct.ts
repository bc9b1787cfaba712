// Yandex.Direct Reports API v5 client: one CUSTOM_REPORT of daily costs per campaign, ad group and
// targeting criterion, returned as the TSV table the `yandex_direct` file layout reads.
//
// Request headers and offline-report polling: https://yandex.com/dev/direct/doc/en/headers and
// https://yandex.com/dev/direct/doc/en/mode; status codes and the error body:
// https://yandex.com/dev/direct/doc/en/codes; the ReportDefinition: https://yandex.com/dev/direct/doc/en/spec.

import { AdSyncError, type ClientDeps, type DateRange, request } from './ad-platform.js';
import type { Table } from './parse.js';

export interface DirectAccount {
  /** The advertiser's login, sent as Client-Login (needed when the token belongs to an agency). */
  login: string;
  /** OAuth token with access to the advertiser's account. */
  token: string;
}

export const DIRECT_FIELDS = [
  'Date',
  'CampaignId',
  'CampaignName',
  'AdGroupName',
  'Criterion',
  'Impressions',
  'Clicks',
  'Cost',
];

/** Polls of a queued (offline) report before the sync gives up, and the longest wait between two. */
const MAX_POLLS = 20;
const MAX_RETRY_IN_SECONDS = 60;
/** Retries after 500/502 (a server error or timeout on Direct's side). */
const MAX_SERVER_RETRIES = 2;
const SERVER_RETRY_MS = 10_000;

export function directReportRequest(baseUrl: string, account: DirectAccount, range: DateRange, name: string) {
  return {
    url: `${baseUrl.replace(/\/$/, '')}/json/v5/reports`,
    headers: {
      authorization: `Bearer ${account.token}`,
      'client-login': account.login,
      'accept-language': 'ru',
      'content-type': 'application/json; charset=utf-8',
      processingMode: 'auto',
      returnMoneyInMicros: 'false',
      skipReportHeader: 'true',
      skipReportSummary: 'true',
    },
    body: {
      params: {
        SelectionCriteria: { DateFrom: range.from, DateTo: range.to },
        FieldNames: DIRECT_FIELDS,
        // Direct identifies a queued report by its name: polls repeat the same name and parameters.
        ReportName: name,
        ReportType: 'CUSTOM_REPORT',
        DateRangeType: 'CUSTOM_DATE',
        Format: 'TSV',
        // What the advertiser pays, VAT included.
        IncludeVAT: 'YES',
      },
    },
  };
}

function directError(status: number, body: string): AdSyncError {
  let detail = body.slice(0, 300);
  try {
    const e = JSON.parse(body).error;
    if (e) detail = `error_code ${e.error_code} ${e.error_string ?? ''}: ${e.error_detail ?? ''}`.trim();
  } catch {
    // Not JSON (a proxy's page, say): the start of the body is the best detail there is.
  }
  return new AdSyncError(`Yandex.Direct answered ${status}: ${detail}`);
}

/** Direct's TSV quotes nothing (a campaign named «"Люкс" диваны» arrives as is), so it is split plainly. */
function tsvTable(text: string): Table {
  return {
    rows: text.split('\n').map((line, i) => ({ line: i + 1, cells: line.replace(/\r$/, '').split('\t') })),
  };
}

/** Fetches the report, waiting out offline generation (201/202 + retryIn) and brief server errors. */
export async function fetchDirectReport(
  deps: ClientDeps & { baseUrl: string },
  account: DirectAccount,
  range: DateRange,
  reportName: string,
): Promise<Table> {
  const req = directReportRequest(deps.baseUrl, account, range, reportName);
  let polls = 0;
  let serverRetries = 0;
  for (;;) {
    const res = await request('Yandex.Direct', req.url, {
      method: 'POST',
      headers: req.headers,
      body: JSON.stringify(req.body),
    });
    const text = await res.text();
    if (res.status === 200) return tsvTable(text);
    if (res.status === 201 || res.status === 202) {
      if (++polls > MAX_POLLS)
        throw new AdSyncError(`Yandex.Direct: the offline report was not ready after ${MAX_POLLS} polls`);
      const retryIn = Number(res.headers.get('retryIn'));
      const seconds = Number.isFinite(retryIn) && retryIn >= 0 ? Math.min(retryIn, MAX_RETRY_IN_SECONDS) : 10;
      await deps.wait(seconds * 1000);
      continue;
    }
    if ((res.status === 500 || res.status === 502) && serverRetries < MAX_SERVER_RETRIES) {
      serverRetries++;
      await deps.wait(SERVER_RETRY_MS * serverRetries);
      continue;
    }
    throw directError(res.status, text);
  }
}
