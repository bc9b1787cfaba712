// The call log export: the /api/v1/calls filters as SQL, read in keyset-paged batches so an export of
// any size holds one batch in memory at a time.

import { CALLS_FROM, type CallFilters, callsWhere } from '../calls/filters.js';
import type { Queryable } from '../db/db.js';

export const EXPORT_BATCH = 1000;

export type { CallFilters };

const SELECT = `SELECT c.id, c.started_at::text AS cursor_at,
         to_char(c.started_at AT TIME ZONE coalesce(s.time_zone, $TZ), 'YYYY-MM-DD HH24:MI:SS') AS started_local,
         c.caller, c.tracking_number, c.status, c.wait_seconds, c.talk_seconds, c.employee, c.group_name,
         c.recording_url, c.method, c.confidence, c.call_page_url, c.is_unique, c.is_targeted,
         c.is_unique_targeted, c.is_first_targeted, c.is_repeat, c.is_missed, c.origin, c.lead_id,
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
  const { where, params } = callsWhere(accountId, filters, timeZone);
  // The fallback zone of rows without a site is one more parameter.
  params.push(timeZone);
  const select = SELECT.replace('$TZ', `$${params.length}::text`);
  return pages(db, select, where, params, batchSize);
}

async function* pages(
  db: Queryable,
  select: string,
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
      `${select} ${CALLS_FROM}
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
