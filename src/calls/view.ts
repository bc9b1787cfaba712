import type { Queryable } from '../db/db.js';
import { camelize } from '../http/rows.js';
import { CALL_CHANNEL_SQL, CALLS_FROM } from './filters.js';

/** A call joined with its visit's source data; static numbers take their source from the rule. */
export const CALL_SELECT = `
  SELECT c.id, c.site_id, c.caller, c.tracking_number, c.status, c.started_at, c.answered_at, c.ended_at,
         c.wait_seconds, c.talk_seconds, c.employee, c.group_name, c.recording_url, c.visit_id, c.method,
         c.confidence, c.call_page_url, c.is_unique, c.is_targeted, c.is_unique_targeted, c.is_first_targeted,
         c.is_repeat, c.is_missed, c.closed_by, c.origin, c.lead_id,
         ${CALL_CHANNEL_SQL} AS channel,
         coalesce(v.source, sr.source) AS source, coalesce(v.medium, sr.medium) AS medium,
         coalesce(v.campaign, sr.campaign) AS campaign, v.content, v.keyword, v.landing_url, v.referrer,
         v.visitor_id, v.country, v.region, v.city, v.device_type, v.browser, v.os, v.page_views,
         v.gclid, v.yclid, v.ga_client_id, v.ym_uid
    ${CALLS_FROM}`;

export function callView(row: Record<string, unknown>): Record<string, unknown> & { classes: string[] } {
  const { isUnique, isTargeted, isUniqueTargeted, isFirstTargeted, isRepeat, isMissed, ...rest } =
    camelize<Record<string, unknown>>(row);
  const classes = Object.entries({
    unique: isUnique,
    targeted: isTargeted,
    unique_targeted: isUniqueTargeted,
    first_targeted: isFirstTargeted,
    repeat: isRepeat,
    missed: isMissed,
  })
    .filter(([, on]) => on)
    .map(([name]) => name);
  return { ...rest, classes };
}

/**
 * One call with everything the call card shows: the visit's source data, the attribution candidates, the legs
 * and transfers (who was rung, who answered, who finished), the
 * pages of the visit (the journey) and the caller's previous calls to the site. Null when not found.
 */
export async function callDetail(
  q: Queryable,
  accountId: string,
  callId: string,
): Promise<(Record<string, unknown> & { classes: string[] }) | null> {
  const rows = await q.query(`${CALL_SELECT} WHERE c.account_id = $1 AND c.id = $2`, [accountId, callId]);
  if (!rows[0]) return null;
  const call = callView(rows[0]);
  const [detail] = await q.query<{
    candidates: unknown;
    legs: unknown;
    transfers: unknown;
    finished_by: string | null;
  }>('SELECT candidates, legs, transfers, finished_by FROM calls WHERE account_id = $1 AND id = $2', [
    accountId,
    callId,
  ]);
  const pages = call.visitId
    ? await q.query(
        'SELECT url, title, at FROM page_views WHERE account_id = $1 AND visit_id = $2 ORDER BY at',
        [accountId, call.visitId],
      )
    : [];
  const previous = call.caller
    ? await q.query(
        `SELECT id, started_at, status, talk_seconds FROM calls
          WHERE account_id = $1 AND site_id = $2 AND caller = $3 AND started_at < $4 ORDER BY started_at DESC LIMIT 20`,
        [accountId, call.siteId, call.caller, call.startedAt],
      )
    : [];
  return {
    ...call,
    candidates: detail.candidates,
    legs: detail.legs,
    transfers: detail.transfers,
    finishedBy: detail.finished_by,
    pages: pages.map((p) => camelize(p)),
    previousCalls: previous.map((p) => camelize(p)),
  };
}
