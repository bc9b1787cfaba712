import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { camelize } from '../http/rows.js';
import { type PeriodicWorker, runPeriodically } from '../jobs/periodic.js';
import { addDays } from '../reports/period.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { localToday } from '../time/zone.js';
import type { Logger } from '../webhooks/worker.js';
import { AdSyncError, type DateRange, realWait } from './ad-platform.js';
import { fetchGoogleAdsReport, type GoogleAdsAccount } from './google-ads.js';
import { CostParseError, tableToRows } from './parse.js';
import { type CostImportResult, storeCostRows } from './store.js';
import { type DirectAccount, fetchDirectReport } from './yandex-direct.js';

/*
 * Ad-platform syncs: fetch a connection's daily costs for a range of days and store them through the same
 * writer as file imports (store.ts), replacing what earlier syncs of the connection stored for those days.
 * Every sync is logged in ad_sync_runs (started, finished, rows, cost, error). A failed sync stores nothing:
 * the report is fetched and converted completely before the one write transaction.
 */

export const AD_PLATFORMS = ['yandex_direct', 'google_ads'] as const;
export type AdPlatform = (typeof AD_PLATFORMS)[number];

export interface SyncDeps {
  db: Db;
  clock: Clock;
  config: Config;
  secrets: SecretBox;
  /** Waits between report polls and retries (tests pass a recorder). */
  wait?: (ms: number) => Promise<void>;
  log?: Logger;
}

/** A connection as stored, with what a sync needs of its site. */
export interface ConnectionRecord {
  accountId: string;
  id: string;
  siteId: string;
  kind: AdPlatform;
  login: string;
  loginCustomerId: string | null;
  credentials: string;
  siteCurrency: string;
  siteTimeZone: string;
}

/** Direct: {token}; Google Ads: {developerToken, clientId, clientSecret, refreshToken}. */
export type Credentials = Record<string, string>;

export interface SyncRun {
  id: string;
  connectionId: string;
  trigger: 'manual' | 'scheduled';
  dateFrom: string;
  dateTo: string;
  status: 'running' | 'succeeded' | 'failed';
  startedAt: Date;
  finishedAt: Date | null;
  rows: number | null;
  costMinor: number | null;
  importId: string | null;
  error: string | null;
}

export const runColumns = `id, connection_id, trigger, to_char(date_from, 'YYYY-MM-DD') AS date_from,
  to_char(date_to, 'YYYY-MM-DD') AS date_to, status, started_at, finished_at, rows,
  cost_minor::float8 AS cost_minor, import_id, error`;

export const connectionSql = `SELECT c.account_id, c.id, c.site_id, c.kind, c.login, c.login_customer_id,
    c.credentials, s.currency AS site_currency, s.time_zone AS site_time_zone
  FROM ad_connections c JOIN sites s ON s.account_id = c.account_id AND s.id = c.site_id`;

/** The last `days` whole days before today in the site's time zone. */
export function recentDays(now: Date, timeZone: string, days: number): DateRange {
  const today = localToday(now, timeZone);
  return { from: addDays(today, -days), to: addDays(today, -1) };
}

/** Runs one sync and records it; never throws for a provider or data error (the run says `failed`). */
export async function syncConnection(
  deps: SyncDeps,
  conn: ConnectionRecord,
  range: DateRange,
  trigger: SyncRun['trigger'],
): Promise<SyncRun> {
  const runId = randomUUID();
  await deps.db.query(
    `INSERT INTO ad_sync_runs (account_id, id, connection_id, trigger, date_from, date_to, status, started_at)
     VALUES ($1, $2, $3, $4, $5::date, $6::date, 'running', $7)`,
    [conn.accountId, runId, conn.id, trigger, range.from, range.to, deps.clock.now()],
  );
  let stored: CostImportResult | null = null;
  let error: string | null = null;
  try {
    const creds = JSON.parse(deps.secrets.open(conn.credentials)) as Credentials;
    const client = { wait: deps.wait ?? realWait };
    const table =
      conn.kind === 'yandex_direct'
        ? await fetchDirectReport(
            { ...client, baseUrl: deps.config.yandexDirectUrl },
            { login: conn.login, token: creds.token } satisfies DirectAccount,
            range,
            `ringtrace ${runId}`,
          )
        : await fetchGoogleAdsReport(
            { ...client, adsUrl: deps.config.googleAdsUrl, oauthUrl: deps.config.googleOauthUrl },
            {
              customerId: conn.login,
              loginCustomerId: conn.loginCustomerId,
              developerToken: creds.developerToken,
              clientId: creds.clientId,
              clientSecret: creds.clientSecret,
              refreshToken: creds.refreshToken,
            } satisfies GoogleAdsAccount,
            range,
          );
    const rows = tableToRows(table, conn.kind, conn.siteCurrency);
    const outside = rows.find((r) => r.date < range.from || r.date > range.to);
    if (outside)
      throw new AdSyncError(`the report has a row for ${outside.date}, outside ${range.from}…${range.to}`);
    stored = await storeCostRows(deps.db, {
      accountId: conn.accountId,
      site: { id: conn.siteId, currency: conn.siteCurrency },
      format: conn.kind,
      rows,
      now: deps.clock.now(),
      connection: { id: conn.id, ...range },
    });
  } catch (err) {
    if (!(err instanceof AdSyncError) && !(err instanceof CostParseError)) {
      deps.log?.error({ err, connectionId: conn.id }, 'ad cost sync crashed');
    }
    const prefix = err instanceof CostParseError ? 'report: ' : '';
    error = `${prefix}${(err as Error).message}`.slice(0, 2000);
  }
  const [row] = await deps.db.query<Record<string, unknown>>(
    `UPDATE ad_sync_runs SET status = $3, finished_at = $4, rows = $5, cost_minor = $6, import_id = $7, error = $8
      WHERE account_id = $1 AND id = $2 RETURNING ${runColumns}`,
    [
      conn.accountId,
      runId,
      stored ? 'succeeded' : 'failed',
      deps.clock.now(),
      stored?.rows ?? null,
      stored?.costMinor ?? null,
      stored?.importId ?? null,
      error,
    ],
  );
  if (error) deps.log?.warn({ connectionId: conn.id, error }, 'ad cost sync failed');
  return camelize<SyncRun>(row);
}

const HOUR_MS = 3_600_000;
/** A connection is synced once a day; after a failure it is tried again an hour later. */
const SYNC_EVERY_MS = 24 * HOUR_MS;
const RETRY_FAILED_MS = HOUR_MS;
/** Longer than any sync's polls and retries take: a run still `running` after this was cut off by a stop. */
const INTERRUPTED_AFTER_MS = 2 * HOUR_MS;

/**
 * One pass of the daily sync: runs left `running` by a server that stopped are marked failed; every active
 * connection that is due is claimed (its next_sync_at moved forward first, so several servers never sync it
 * twice) and synced for the last `adSyncDays` days.
 */
export async function syncDueConnections(deps: SyncDeps): Promise<SyncRun[]> {
  const now = deps.clock.now();
  await deps.db.query(
    `UPDATE ad_sync_runs SET status = 'failed', finished_at = $1, error = 'interrupted: the server stopped during the sync'
      WHERE status = 'running' AND started_at < $2`,
    [now, new Date(now.getTime() - INTERRUPTED_AFTER_MS)],
  );
  const due = await deps.db.query<Record<string, unknown>>(
    `${connectionSql} WHERE c.active AND (c.next_sync_at IS NULL OR c.next_sync_at <= $1)
      ORDER BY c.next_sync_at NULLS FIRST, c.id LIMIT 100`,
    [now],
  );
  const runs: SyncRun[] = [];
  for (const record of due.map((row) => camelize<ConnectionRecord>(row))) {
    const claimed = await deps.db.query(
      `UPDATE ad_connections SET next_sync_at = $3
        WHERE account_id = $1 AND id = $2 AND active AND (next_sync_at IS NULL OR next_sync_at <= $4) RETURNING id`,
      [record.accountId, record.id, new Date(now.getTime() + RETRY_FAILED_MS), now],
    );
    if (claimed.length === 0) continue;
    const run = await syncConnection(
      deps,
      record,
      recentDays(now, record.siteTimeZone, deps.config.adSyncDays),
      'scheduled',
    );
    if (run.status === 'succeeded')
      await deps.db.query('UPDATE ad_connections SET next_sync_at = $3 WHERE account_id = $1 AND id = $2', [
        record.accountId,
        record.id,
        new Date(now.getTime() + SYNC_EVERY_MS),
      ]);
    runs.push(run);
  }
  return runs;
}

/** The background loop `ringtrace start` runs: a pass every `intervalMs`. */
export function startAdSyncWorker(deps: SyncDeps, intervalMs = 10 * 60_000): PeriodicWorker {
  return runPeriodically(
    async () => {
      await syncDueConnections(deps);
      return intervalMs;
    },
    { errorDelayMs: intervalMs, onError: (err) => deps.log?.error({ err }, 'ad cost sync pass failed') },
  );
}
