// Bulk export API (issue 6 item 6): calls, visits and leads of any time range, page by page, oldest first,
// with keyset cursors — no one-day windows, no row caps beyond the page size.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callFilterFields, callsWhere } from '../calls/filters.js';
import { CALL_SELECT, callView } from '../calls/view.js';
import type { AppContext } from '../http/context.js';
import { camelize } from '../http/rows.js';
import { LEAD_SELECT, LEAD_TYPES } from '../leads/routes.js';
import { ALL_CHANNELS } from '../tracking/channel.js';
import { queryTag } from './cursor.js';
import { keysetPage } from './page.js';

export const BULK_MAX_LIMIT = 5000;
export const BULK_DEFAULT_LIMIT = 1000;

const instant = () => z.iso.datetime({ offset: true }).optional();

const common = {
  siteId: z.uuid().optional(),
  /** On the sort key: started_at (calls, visits) or created_at (leads); `to` excluded. */
  from: instant(),
  to: instant(),
  /** Rows changed at or after this instant (calls: updated_at, visits: last_seen_at, leads: created_at). */
  updatedSince: instant(),
  limit: z.coerce.number().int().min(1).max(BULK_MAX_LIMIT).default(BULK_DEFAULT_LIMIT),
  cursor: z.string().min(1).max(400).optional(),
};

const callsQuery = z
  .object({
    ...common,
    ...callFilterFields,
  })
  .strict();

const visitsQuery = z.object({ ...common, channel: z.enum(ALL_CHANNELS).optional() }).strict();

const leadsQuery = z
  .object({ ...common, type: z.enum(LEAD_TYPES).optional(), channel: z.enum(ALL_CHANNELS).optional() })
  .strict();

/** The source and client fields of a visit (alias `v`), shared by the visits and the leads export. */
const VISIT_SOURCE = `v.channel, v.source, v.medium, v.campaign, v.content, v.keyword, v.landing_url, v.referrer,
  v.visitor_id, v.country, v.region, v.city, v.device_type, v.browser, v.os,
  v.gclid, v.yclid, v.fbclid, v.ga_client_id, v.ym_uid`;

const VISIT_SELECT = `SELECT v.id, v.site_id, v.started_at, v.last_seen_at, v.left_at, ${VISIT_SOURCE},
  v.page_views, v.is_bot, v.number_method, n.e164 AS tracking_number
  FROM visits v LEFT JOIN numbers n ON n.account_id = v.account_id AND n.id = v.number_id`;

/** Appends `sql` (one `?`) with its value to where/params. */
function adder(where: string[], params: unknown[]) {
  return (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
}

const tags = ['bulk'];

export function bulkRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/v1/bulk/calls', { schema: { tags, querystring: callsQuery } }, async (req) => {
    const { updatedSince, limit, cursor, ...filters } = req.query;
    // The calls API's own filters; another account's siteId simply matches nothing, as in /api/v1/calls.
    const { where, params } = callsWhere(req.accountId, filters);
    if (updatedSince) adder(where, params)('c.updated_at >= ?', new Date(updatedSince));
    const page = await keysetPage(ctx.db, {
      select: CALL_SELECT,
      where,
      params,
      timeColumn: 'c.started_at',
      idColumn: 'c.id',
      timeName: 'started_at',
      tag: queryTag('calls', { ...filters, updatedSince }),
      cursor,
      limit,
    });
    return { items: page.rows.map(callView), nextCursor: page.nextCursor };
  });

  r.get('/api/v1/bulk/visits', { schema: { tags, querystring: visitsQuery } }, async (req) => {
    const { limit, cursor, ...f } = req.query;
    const where = ['v.account_id = $1'];
    const params: unknown[] = [req.accountId];
    const add = adder(where, params);
    if (f.siteId) add('v.site_id = ?', f.siteId);
    if (f.from) add('v.started_at >= ?', new Date(f.from));
    if (f.to) add('v.started_at < ?', new Date(f.to));
    if (f.updatedSince) add('v.last_seen_at >= ?', new Date(f.updatedSince));
    if (f.channel) add('v.channel = ?', f.channel);
    const page = await keysetPage(ctx.db, {
      select: VISIT_SELECT,
      where,
      params,
      timeColumn: 'v.started_at',
      idColumn: 'v.id',
      timeName: 'started_at',
      tag: queryTag('visits', f),
      cursor,
      limit,
    });
    return { items: page.rows.map((row) => camelize(row)), nextCursor: page.nextCursor };
  });

  r.get('/api/v1/bulk/leads', { schema: { tags, querystring: leadsQuery } }, async (req) => {
    const { limit, cursor, ...f } = req.query;
    const where = ['l.account_id = $1'];
    const params: unknown[] = [req.accountId];
    const add = adder(where, params);
    if (f.siteId) add('l.site_id = ?', f.siteId);
    if (f.from) add('l.created_at >= ?', new Date(f.from));
    if (f.to) add('l.created_at < ?', new Date(f.to));
    // Leads are never updated: changed since means created since.
    if (f.updatedSince) add('l.created_at >= ?', new Date(f.updatedSince));
    if (f.type) add('l.type = ?', f.type);
    if (f.channel) add('v.channel = ?', f.channel);
    const page = await keysetPage(ctx.db, {
      select: LEAD_SELECT,
      where,
      params,
      timeColumn: 'l.created_at',
      idColumn: 'l.id',
      timeName: 'created_at',
      tag: queryTag('leads', f),
      cursor,
      limit,
    });
    return { items: page.rows.map((row) => camelize(row)), nextCursor: page.nextCursor };
  });
}
