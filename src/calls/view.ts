import { camelize } from '../http/rows.js';
import { CALL_CHANNEL_SQL, CALLS_FROM } from './filters.js';

/** A call joined with its visit's source data; static numbers take their source from the rule. */
export const CALL_SELECT = `
  SELECT c.id, c.site_id, c.caller, c.tracking_number, c.status, c.started_at, c.answered_at, c.ended_at,
         c.wait_seconds, c.talk_seconds, c.employee, c.group_name, c.recording_url, c.visit_id, c.method,
         c.confidence, c.call_page_url, c.is_unique, c.is_targeted, c.is_unique_targeted, c.is_first_targeted,
         c.is_repeat, c.is_missed, c.closed_by,
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
