// The call log export: the /api/v1/calls filters as SQL, read in keyset-paged batches so an export of
// any size holds one batch in memory at a time.

import { CLASS_COLUMNS } from '../calls/classify.js';
import type { Queryable } from '../db/db.js';
import { HttpError } from '../http/errors.js';
import { parsePhone } from '../phone/phone.js';

export interface CallFilters {
  siteId?: string;
  /** Instants (ISO 8601 with offset), as /api/v1/calls takes them. */
  from?: string;
  to?: string;
  /** Local dates in `timeZone`, both ends included (feeds with relative ranges). */
  fromDate?: string;
  toDate?: string;
  channel?: string;
  source?: string;
  medium?: string;
  campaign?: string;
  keyword?: string;
  class?: keyof typeof CLASS_COLUMNS;
  number?: string;
  caller?: string;
}

export const EXPORT_BATCH = 1000;

/** The same joins and source rules as the call log (src/calls/routes.ts). */
const FROM = `FROM calls c
    LEFT JOIN visits v ON v.account_id = c.account_id AND v.id = c.visit_id
    LEFT JOIN static_rules sr ON sr.account_id = c.account_id AND sr.id = c.static_rule_id`;

export function callsWhere(
  accountId: string,
  timeZone: string,
  f: CallFilters,
): { where: string[]; params: unknown[] } {
  const where = ['c.account_id = $1'];
  const params: unknown[] = [accountId, timeZone];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replaceAll('?', `$${params.length}`));
  };
  if (f.siteId) add('c.site_id = ?', f.siteId);
  if (f.from) add('c.started_at >= ?', new Date(f.from));
  if (f.to) add('c.started_at < ?', new Date(f.to));
  if (f.fromDate) add('c.started_at >= (?::date)::timestamp AT TIME ZONE $2', f.fromDate);
  if (f.toDate) add('c.started_at < (?::date + 1)::timestamp AT TIME ZONE $2', f.toDate);
  if (f.channel) add(`coalesce(v.channel, CASE WHEN sr.id IS NOT NULL THEN 'static' END) = ?`, f.channel);
  if (f.source) add('lower(coalesce(v.source, sr.source)) = lower(?)', f.source);
  if (f.medium) add('lower(coalesce(v.medium, sr.medium)) = lower(?)', f.medium);
  if (f.campaign) add('coalesce(v.campaign, sr.campaign) = ?', f.campaign);
  if (f.keyword) add('v.keyword = ?', f.keyword);
  if (f.class) where.push(`c.${CLASS_COLUMNS[f.class]}`);
  for (const field of ['number', 'caller'] as const) {
    const value = f[field];
    if (!value) continue;
    const e164 = parsePhone(value, 'RU');
    if (!e164)
      throw new HttpError(
        400,
        'invalid_request',
        `querystring.${field}: ${value} is not a valid phone number`,
      );
    add(field === 'number' ? 'c.tracking_number = ?' : 'c.caller = ?', e164);
  }
  return { where, params };
}

const SELECT = `SELECT c.id, c.started_at::text AS cursor_at,
         to_char(c.started_at AT TIME ZONE coalesce(s.time_zone, $2), 'YYYY-MM-DD HH24:MI:SS') AS started_local,
         c.caller, c.tracking_number, c.status, c.wait_seconds, c.talk_seconds, c.employee, c.group_name,
         c.recording_url, c.method, c.confidence, c.call_page_url, c.is_unique, c.is_targeted,
         c.is_unique_targeted, c.is_first_targeted, c.is_repeat, c.is_missed,
         coalesce(v.channel, CASE WHEN sr.id IS NOT NULL THEN 'static' END) AS channel,
         coalesce(v.source, sr.source) AS source, coalesce(v.medium, sr.medium) AS medium,
         coalesce(v.campaign, sr.campaign) AS campaign, v.content, v.keyword, v.landing_url, v.referrer,
         v.region, v.city, v.device_type`;

/**
 * Yields the matching calls newest first, `batchSize` rows per query, each query continuing after the
 * last row of the previous one by the keyset (started_at, id) — no OFFSET, no whole-result buffering.
 * The cursor travels as timestamptz text so microseconds survive the round trip.
 */
export function callBatches(
  db: Queryable,
  accountId: string,
  timeZone: string,
  filters: CallFilters,
  batchSize = EXPORT_BATCH,
): AsyncGenerator<Record<string, unknown>[]> {
  // Built eagerly: a bad filter is a 400 before any byte of the file is sent.
  const { where, params } = callsWhere(accountId, timeZone, filters);
  return pages(db, where, params, batchSize);
}

async function* pages(
  db: Queryable,
  where: string[],
  params: unknown[],
  batchSize: number,
): AsyncGenerator<Record<string, unknown>[]> {
  let cursor: { at: string; id: string } | null = null;
  for (;;) {
    const p = [...params];
    const w = [...where];
    if (cursor) {
      p.push(cursor.at, cursor.id);
      w.push(`(c.started_at, c.id) < ($${p.length - 1}::timestamptz, $${p.length}::uuid)`);
    }
    const rows: Record<string, unknown>[] = await db.query(
      `${SELECT} ${FROM}
        LEFT JOIN sites s ON s.account_id = c.account_id AND s.id = c.site_id
       WHERE ${w.join(' AND ')}
       ORDER BY c.started_at DESC, c.id DESC
       LIMIT ${batchSize}`,
      p,
    );
    if (rows.length > 0) yield rows;
    if (rows.length < batchSize) return;
    const last = rows[rows.length - 1];
    cursor = { at: String(last.cursor_at), id: String(last.id) };
  }
}
