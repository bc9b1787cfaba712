// Exports: the call log and any report as CSV / XLSX downloads, and Google Sheets live feeds — secret
// token URLs serving CSV for =IMPORTDATA(url).

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callFilterFields } from '../calls/filters.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { DIMENSIONS, type Dimension } from '../reports/dimensions.js';
import { METRICS } from '../reports/metrics.js';
import { addDays, isCalendarDate } from '../reports/period.js';
import { reportQuery } from '../reports/schemas.js';
import { findSite } from '../sites/store.js';
import { localToday } from '../time/zone.js';
import { type CallFilters, callBatches } from './calls.js';
import { CALL_COLUMNS, type Lang, type ReportExportRow, reportColumns, TOTAL_LABEL } from './columns.js';
import { wholeReport } from './reports.js';
import { csvStream, type Format, sendFile, xlsxStream } from './write.js';

const exportOptions = {
  lang: z.enum(['ru', 'en']).default('ru'),
  /** `semicolon`: the list separator of Russian-locale Excel; otherwise a comma. */
  sep: z.enum(['semicolon', 'comma']).default('comma'),
};

/** The filters of GET /api/v1/calls (paging is accepted and ignored: an export has every row). */
const callsExportQuery = z
  .object({
    siteId: z.uuid().optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    ...callFilterFields,
    limit: z.string().optional(),
    offset: z.string().optional(),
    ...exportOptions,
  })
  .strict();

const formatParam = z.enum(['csv', 'xlsx']);

/** Ranges a feed resolves at request time in the site's time zone. */
export const RELATIVE_RANGES = [
  'today',
  'yesterday',
  'last_7_days',
  'last_30_days',
  'last_90_days',
  'this_month',
  'last_month',
  'this_year',
] as const;
type RelativeRange = (typeof RELATIVE_RANGES)[number];

export function resolveRange(range: RelativeRange, today: string): { from: string; to: string } {
  const month = today.slice(0, 8);
  switch (range) {
    case 'today':
      return { from: today, to: today };
    case 'yesterday':
      return { from: addDays(today, -1), to: addDays(today, -1) };
    case 'last_7_days':
      return { from: addDays(today, -6), to: today };
    case 'last_30_days':
      return { from: addDays(today, -29), to: today };
    case 'last_90_days':
      return { from: addDays(today, -89), to: today };
    case 'this_month':
      return { from: `${month}01`, to: today };
    case 'last_month': {
      const end = addDays(`${month}01`, -1);
      return { from: `${end.slice(0, 8)}01`, to: end };
    }
    case 'this_year':
      return { from: `${today.slice(0, 4)}-01-01`, to: today };
  }
}

const localDate = z.string().refine(isCalendarDate, 'must be a date as YYYY-MM-DD');

const feedBody = z
  .object({
    kind: z.enum(['calls', 'report']),
    siteId: z.uuid(),
    dimension: z.enum(DIMENSIONS).optional(),
    name: z.string().max(200).optional(),
    range: z.enum(RELATIVE_RANGES).optional(),
    from: localDate.optional(),
    to: localDate.optional(),
    lang: z.enum(['ru', 'en']).default('ru'),
    ...callFilterFields,
    region: z.string().min(1).max(500).optional(),
    device: z.string().min(1).max(500).optional(),
    sort: z.enum(['key', ...METRICS]).optional(),
    order: z.enum(['asc', 'desc']).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (!b.range && !(b.from && b.to))
      ctx.addIssue({ code: 'custom', path: ['range'], message: 'give a relative range or both from and to' });
    if (b.range && (b.from || b.to))
      ctx.addIssue({ code: 'custom', path: ['range'], message: 'give either range or from/to, not both' });
    if (b.kind === 'report' && !b.dimension)
      ctx.addIssue({ code: 'custom', path: ['dimension'], message: 'a report feed needs a dimension' });
    if (b.kind === 'calls' && (b.dimension || b.sort || b.order || b.region || b.device))
      ctx.addIssue({
        code: 'custom',
        path: ['kind'],
        message: 'dimension, sort, order, region and device apply to report feeds only',
      });
    if (b.kind === 'report' && (b.number || b.caller))
      ctx.addIssue({ code: 'custom', path: ['kind'], message: 'number and caller apply to call feeds only' });
  });
type FeedBody = z.infer<typeof feedBody>;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

function invalid(where: string, error: z.ZodError): HttpError {
  const issues = error.issues.map((i) => ({
    field: [where, ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  return new HttpError(
    400,
    'invalid_request',
    issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    issues,
  );
}

export function exportRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  async function siteOf(accountId: string, siteId: string) {
    const site = await findSite(ctx.db, accountId, siteId);
    if (!site) throw new HttpError(404, 'not_found', `Site ${siteId} not found`);
    return site;
  }

  const today = () => ctx.clock.now().toISOString().slice(0, 10);

  r.get(
    '/api/v1/calls/export.:format',
    {
      schema: {
        tags: ['exports'],
        description:
          'The call log with the filters of GET /api/v1/calls, every row, streamed as CSV or XLSX.',
        params: z.object({ format: formatParam }),
        querystring: callsExportQuery,
      },
    },
    async (req, reply) => {
      const { lang, sep, limit: _l, offset: _o, ...filters } = req.query;
      const timeZone = filters.siteId ? (await siteOf(req.accountId, filters.siteId)).timeZone : 'UTC';
      const batches = callBatches(ctx.db, req.accountId, timeZone, filters as CallFilters);
      const format = req.params.format;
      const name = `${lang === 'ru' ? 'звонки' : 'calls'}-${today()}.${format}`;
      const body =
        format === 'csv'
          ? csvStream(CALL_COLUMNS, lang, batches, { sep: sep === 'semicolon' ? ';' : ',', bom: true })
          : xlsxStream(CALL_COLUMNS, lang, lang === 'ru' ? 'Звонки' : 'Calls', batches);
      return sendFile(reply, format, name, body);
    },
  );

  async function sendReport(
    reply: FastifyReply,
    accountId: string,
    dimension: Dimension,
    q: z.infer<typeof reportQuery>,
    lang: Lang,
    format: Format,
    csv: { sep: ',' | ';'; bom: boolean },
  ) {
    const site = await siteOf(accountId, q.siteId);
    const table = await wholeReport(
      ctx.db,
      { accountId, siteId: site.id, timeZone: site.timeZone },
      dimension,
      q,
    );
    const columns = reportColumns(dimension);
    const totals = columns.map((c, i) =>
      i === 0 ? TOTAL_LABEL[lang] : c.value({ key: '', ...table.totals } as ReportExportRow),
    );
    async function* rows() {
      yield table.rows as unknown as ReportExportRow[];
    }
    const name = `report-${dimension}-${q.from}_${q.to}.${format}`;
    const body =
      format === 'csv'
        ? csvStream(columns, lang, rows(), csv, [totals])
        : xlsxStream(columns, lang, dimension, rows(), [totals]);
    return sendFile(reply, format, name, body);
  }

  r.get(
    '/api/v1/reports/:dimension/export.:format',
    {
      schema: {
        tags: ['exports'],
        description:
          'A report with the query of GET /api/v1/reports/{dimension}, every row plus totals, as CSV or XLSX.',
        params: z.object({ dimension: z.enum(DIMENSIONS), format: formatParam }),
      },
    },
    async (req, reply) => {
      const { lang, sep, ...rest } = req.query as Record<string, unknown>;
      const opts = z.object(exportOptions).safeParse({ lang, sep });
      if (!opts.success) throw invalid('querystring', opts.error);
      const q = reportQuery.safeParse(rest);
      if (!q.success) throw invalid('querystring', q.error);
      return sendReport(
        reply,
        req.accountId,
        req.params.dimension,
        q.data,
        opts.data.lang,
        req.params.format,
        {
          sep: opts.data.sep === 'semicolon' ? ';' : ',',
          bom: true,
        },
      );
    },
  );

  // Feeds.
  const feedView = (row: Record<string, unknown>) => ({
    id: row.id as string,
    kind: row.kind as string,
    siteId: row.site_id as string,
    dimension: (row.dimension as string | null) ?? null,
    name: (row.name as string | null) ?? null,
    params: row.params as Record<string, unknown>,
    tokenPrefix: row.token_prefix as string,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at ?? null,
  });

  const baseUrl = (req: FastifyRequest) =>
    (ctx.config.publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/$/, '');

  r.post('/api/v1/exports/feeds', { schema: { tags: ['exports'], body: feedBody } }, async (req, reply) => {
    const b = req.body;
    const site = await siteOf(req.accountId, b.siteId);
    const { kind, siteId: _s, dimension, name, ...params } = b;
    // Validate the stored query once now, with the range resolved, as the feed will run it.
    checkFeedQuery(kind, { ...params }, localToday(ctx.clock.now(), site.timeZone));
    const token = `rtf_${randomBytes(24).toString('base64url')}`;
    const id = randomUUID();
    const [row] = await ctx.db.query(
      `INSERT INTO export_feeds (account_id, id, site_id, kind, dimension, params, name, token_hash, token_prefix, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [
        req.accountId,
        id,
        site.id,
        kind,
        dimension ?? null,
        JSON.stringify(params),
        name ?? null,
        hashToken(token),
        token.slice(0, 8),
        ctx.clock.now(),
      ],
    );
    const url = `${baseUrl(req)}/feeds/${token}.csv`;
    return reply.code(201).send({ ...feedView(row), token, url, formula: `=IMPORTDATA("${url}")` });
  });

  r.get(
    '/api/v1/exports/feeds',
    { schema: { tags: ['exports'], querystring: z.object({ siteId: z.uuid().optional() }).strict() } },
    async (req) => {
      const rows = await ctx.db.query(
        `SELECT * FROM export_feeds WHERE account_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR site_id = $2)
          ORDER BY created_at DESC, id`,
        [req.accountId, req.query.siteId ?? null],
      );
      return { items: rows.map(feedView) };
    },
  );

  r.delete(
    '/api/v1/exports/feeds/:id',
    { schema: { tags: ['exports'], params: z.object({ id: z.uuid() }) } },
    async (req, reply) => {
      const rows = await ctx.db.query(
        'UPDATE export_feeds SET revoked_at = $3 WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING id',
        [req.accountId, req.params.id, ctx.clock.now()],
      );
      if (rows.length === 0) throw new HttpError(404, 'not_found', `Feed ${req.params.id} not found`);
      return reply.code(204).send();
    },
  );
}

type FeedParams = Omit<FeedBody, 'kind' | 'siteId' | 'dimension' | 'name'>;

/** The concrete query of a feed on a given local day: relative ranges become from/to dates. */
function feedQuery(params: FeedParams, today: string) {
  const { range, from, to, lang, ...filters } = params;
  const period = range ? resolveRange(range, today) : { from: from as string, to: to as string };
  return { period, lang: lang ?? 'ru', filters };
}

function checkFeedQuery(kind: 'calls' | 'report', params: FeedParams, today: string) {
  if (kind !== 'report') return;
  const { period, filters } = feedQuery(params, today);
  const q = reportQuery.safeParse({ siteId: '00000000-0000-4000-8000-000000000000', ...period, ...filters });
  if (!q.success) throw invalid('body', q.error);
}

/** GET /feeds/{token}.csv: no auth header, the token is the secret. Registered outside /api/v1's auth. */
export function feedRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/feeds/:file', { schema: { hide: true } }, async (req, reply) => {
    const file = (req.params as { file: string }).file;
    const match = /^(rtf_[A-Za-z0-9_-]{20,64})\.csv$/.exec(file);
    const notFound = () => reply.code(404).send({ error: 'not_found', message: 'Feed not found' });
    if (!match) return notFound();
    const [feed] = await ctx.db.query<Record<string, unknown>>(
      `SELECT f.*, s.time_zone FROM export_feeds f
         JOIN sites s ON s.account_id = f.account_id AND s.id = f.site_id
        WHERE f.token_hash = $1 AND f.revoked_at IS NULL`,
      [hashToken(match[1])],
    );
    if (!feed) return notFound();
    const now = ctx.clock.now();
    await ctx.db.query('UPDATE export_feeds SET last_used_at = $3 WHERE account_id = $1 AND id = $2', [
      feed.account_id,
      feed.id,
      now,
    ]);
    const timeZone = feed.time_zone as string;
    const { period, lang, filters } = feedQuery(feed.params as FeedParams, localToday(now, timeZone));
    const accountId = feed.account_id as string;
    const siteId = feed.site_id as string;
    // IMPORTDATA wants plain comma-separated UTF-8 without a byte-order mark.
    const csv = { sep: ',' as const, bom: false };
    let body: ReturnType<typeof csvStream>;
    if (feed.kind === 'calls') {
      const batches = callBatches(ctx.db, accountId, timeZone, {
        ...(filters as CallFilters),
        siteId,
        fromDate: period.from,
        toDate: period.to,
      });
      body = csvStream(CALL_COLUMNS, lang, batches, csv);
    } else {
      const dimension = feed.dimension as Dimension;
      const q = reportQuery.parse({ siteId, ...period, ...filters });
      const table = await wholeReport(ctx.db, { accountId, siteId, timeZone }, dimension, q);
      const columns = reportColumns(dimension);
      const totals = columns.map((c, i) =>
        i === 0 ? TOTAL_LABEL[lang] : c.value({ key: '', ...table.totals } as ReportExportRow),
      );
      async function* rows() {
        yield table.rows as unknown as ReportExportRow[];
      }
      body = csvStream(columns, lang, rows(), csv, [totals]);
    }
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-robots-tag', 'noindex')
      .send(body);
  });
}
