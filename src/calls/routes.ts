import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { parsePhone } from '../phone/phone.js';
import { ALL_CHANNELS } from '../tracking/channel.js';
import { CLASS_COLUMNS } from './classify.js';

const listQuery = z
  .object({
    siteId: z.uuid().optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    channel: z.enum([...ALL_CHANNELS, 'static']).optional(),
    source: z.string().max(200).optional(),
    medium: z.string().max(200).optional(),
    campaign: z.string().max(500).optional(),
    keyword: z.string().max(500).optional(),
    class: z.enum(Object.keys(CLASS_COLUMNS) as [keyof typeof CLASS_COLUMNS]).optional(),
    number: z.string().max(40).optional(),
    caller: z.string().max(40).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

/** A call joined with its visit's source data; static numbers take their source from the rule. */
const callSelect = `
  SELECT c.id, c.site_id, c.caller, c.tracking_number, c.status, c.started_at, c.answered_at, c.ended_at,
         c.wait_seconds, c.talk_seconds, c.employee, c.group_name, c.recording_url, c.visit_id, c.method,
         c.confidence, c.call_page_url, c.is_unique, c.is_targeted, c.is_unique_targeted, c.is_first_targeted,
         c.is_repeat, c.is_missed,
         coalesce(v.channel, CASE WHEN sr.id IS NOT NULL THEN 'static' END) AS channel,
         coalesce(v.source, sr.source) AS source, coalesce(v.medium, sr.medium) AS medium,
         coalesce(v.campaign, sr.campaign) AS campaign, v.content, v.keyword, v.landing_url, v.referrer,
         v.visitor_id, v.country, v.region, v.city, v.device_type, v.browser, v.os, v.page_views,
         v.gclid, v.yclid, v.ga_client_id, v.ym_uid
    FROM calls c
    LEFT JOIN visits v ON v.account_id = c.account_id AND v.id = c.visit_id
    LEFT JOIN static_rules sr ON sr.account_id = c.account_id AND sr.id = c.static_rule_id`;

function callView(row: Record<string, unknown>): Record<string, unknown> & { classes: string[] } {
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

export function callRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/v1/calls', { schema: { tags: ['calls'], querystring: listQuery } }, async (req) => {
    const f = req.query;
    const where = ['c.account_id = $1'];
    const params: unknown[] = [req.accountId];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.siteId) add('c.site_id = ?', f.siteId);
    if (f.from) add('c.started_at >= ?', new Date(f.from));
    if (f.to) add('c.started_at < ?', new Date(f.to));
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
    const whereSql = where.join(' AND ');
    const total = await ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM calls c
         LEFT JOIN visits v ON v.account_id = c.account_id AND v.id = c.visit_id
         LEFT JOIN static_rules sr ON sr.account_id = c.account_id AND sr.id = c.static_rule_id
        WHERE ${whereSql}`,
      params,
    );
    const rows = await ctx.db.query(
      `${callSelect} WHERE ${whereSql} ORDER BY c.started_at DESC, c.id LIMIT ${f.limit} OFFSET ${f.offset}`,
      params,
    );
    return { total: total[0].n, limit: f.limit, offset: f.offset, items: rows.map(callView) };
  });

  r.get(
    '/api/v1/calls/:id',
    { schema: { tags: ['calls'], params: z.object({ id: z.uuid() }) } },
    async (req) => {
      const rows = await ctx.db.query(`${callSelect} WHERE c.account_id = $1 AND c.id = $2`, [
        req.accountId,
        req.params.id,
      ]);
      if (!rows[0]) throw new HttpError(404, 'not_found', `Call ${req.params.id} not found`);
      const call = callView(rows[0]);
      const [detail] = await ctx.db.query<{ candidates: unknown }>(
        'SELECT candidates FROM calls WHERE account_id = $1 AND id = $2',
        [req.accountId, req.params.id],
      );
      const pages = call.visitId
        ? await ctx.db.query(
            'SELECT url, title, at FROM page_views WHERE account_id = $1 AND visit_id = $2 ORDER BY at',
            [req.accountId, call.visitId],
          )
        : [];
      const previous = call.caller
        ? await ctx.db.query(
            `SELECT id, started_at, status, talk_seconds FROM calls
            WHERE account_id = $1 AND site_id = $2 AND caller = $3 AND started_at < $4 ORDER BY started_at DESC LIMIT 20`,
            [req.accountId, call.siteId, call.caller, call.startedAt],
          )
        : [];
      return {
        ...call,
        candidates: detail.candidates,
        pages: pages.map((p) => camelize(p)),
        previousCalls: previous.map((p) => camelize(p)),
      };
    },
  );
}
