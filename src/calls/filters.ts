import { z } from 'zod';
import type { Queryable } from '../db/db.js';
import { HttpError } from '../http/errors.js';
import { parsePhone } from '../phone/phone.js';
import { ALL_CHANNELS } from '../tracking/channel.js';
import { CLASS_COLUMNS } from './classify.js';

/** Filters of the call log, shared by the calls API and its exports. */
export interface CallFilters {
  siteId?: string;
  /** Instants (ISO 8601 with offset). */
  from?: string;
  to?: string;
  /** Local dates in the given time zone, both ends included (feeds with relative ranges). */
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

/** The call-log filters as query-string fields (calls API, exports, bulk export). */
export const callFilterFields = {
  channel: z.enum([...ALL_CHANNELS, 'static']).optional(),
  source: z.string().max(200).optional(),
  medium: z.string().max(200).optional(),
  campaign: z.string().max(500).optional(),
  keyword: z.string().max(500).optional(),
  class: z.enum(Object.keys(CLASS_COLUMNS) as [keyof typeof CLASS_COLUMNS]).optional(),
  number: z.string().max(40).optional(),
  caller: z.string().max(40).optional(),
};

/** Orders of the call log: newest first (default), or the longest conversations first. */
export const CALL_SORTS = {
  '-startedAt': 'c.started_at DESC, c.id',
  '-talkSeconds': 'c.talk_seconds DESC NULLS LAST, c.started_at DESC, c.id',
} as const;

/** Calls joined with their visit and static rule: static numbers take their source from the rule. */
export const CALLS_FROM = `FROM calls c
    LEFT JOIN visits v ON v.account_id = c.account_id AND v.id = c.visit_id
    LEFT JOIN static_rules sr ON sr.account_id = c.account_id AND sr.id = c.static_rule_id`;

/** The channel of a call: its visit's, or `static` for a static-rule number. */
export const CALL_CHANNEL_SQL = `coalesce(v.channel, CASE WHEN sr.id IS NOT NULL THEN 'static' END)`;

/** SQL conditions (over CALLS_FROM) and their parameters; $1 is the account. */
export function callsWhere(
  accountId: string,
  f: CallFilters,
  timeZone = 'UTC',
): { where: string[]; params: unknown[] } {
  const where = ['c.account_id = $1'];
  const params: unknown[] = [accountId];
  const add = (sql: string, ...values: unknown[]) => {
    const first = params.length + 1;
    params.push(...values);
    let i = 0;
    where.push(sql.replace(/\?/g, () => `$${first + i++}`));
  };
  if (f.siteId) add('c.site_id = ?', f.siteId);
  if (f.from) add('c.started_at >= ?', new Date(f.from));
  if (f.to) add('c.started_at < ?', new Date(f.to));
  if (f.fromDate) add('c.started_at >= (?::date)::timestamp AT TIME ZONE ?::text', f.fromDate, timeZone);
  if (f.toDate) add('c.started_at < (?::date + 1)::timestamp AT TIME ZONE ?::text', f.toDate, timeZone);
  if (f.channel) add(`${CALL_CHANNEL_SQL} = ?`, f.channel);
  if (f.source) add('lower(coalesce(v.source, sr.source)) = lower(?)', f.source);
  if (f.medium) add('lower(coalesce(v.medium, sr.medium)) = lower(?)', f.medium);
  if (f.campaign) add('coalesce(v.campaign, sr.campaign) = ?', f.campaign);
  if (f.keyword) add('v.keyword = ?', f.keyword);
  if (f.class) where.push(`c.${CLASS_COLUMNS[f.class]}`);
  for (const field of ['number', 'caller'] as const) {
    const value = f[field];
    if (!value) continue;
    const e164 = parsePhone(value, 'RU');
    if (!e164) {
      throw new HttpError(
        400,
        'invalid_request',
        `querystring.${field}: ${value} is not a valid phone number`,
      );
    }
    add(field === 'number' ? 'c.tracking_number = ?' : 'c.caller = ?', e164);
  }
  return { where, params };
}

export async function countCalls(db: Queryable, accountId: string, f: CallFilters): Promise<number> {
  const { where, params } = callsWhere(accountId, f);
  const rows = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n ${CALLS_FROM} WHERE ${where.join(' AND ')}`,
    params,
  );
  return rows[0].n;
}
