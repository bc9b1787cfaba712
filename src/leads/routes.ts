import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CallbackLimitError, planCallback, scheduleCallback } from '../callbacks/request.js';
import { VISIT_REPORT_FIELDS } from '../calls/service.js';
import { enqueueLeadConversions } from '../conversions/enqueue.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { pageQuery } from '../http/validate.js';
import { type CountryCode, parsePhone } from '../phone/phone.js';
import { findSiteOfVisit, type Site } from '../sites/store.js';
import { ALL_CHANNELS } from '../tracking/channel.js';
import { emitEvent } from '../webhooks/events.js';
import { isSensitiveFieldName, looksLikeCardNumber } from './sensitive.js';

export const LEAD_TYPES = ['form', 'callback', 'chat', 'other'] as const;
const MAX_FIELDS = 20;

const leadBody = z
  .object({
    visit: z.uuid(),
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits, _ . : or -')
      .optional(),
    type: z.enum(LEAD_TYPES),
    phone: z.string().min(1).max(40).optional(),
    email: z.email({ error: 'must be an email address' }).max(254).optional(),
    name: z.string().trim().min(1).max(200).optional(),
    fields: z
      .record(z.string().min(1).max(100), z.string().max(1000))
      .refine((f) => Object.keys(f).length <= MAX_FIELDS, `must have at most ${MAX_FIELDS} keys`)
      .optional(),
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(4096)
      .optional(),
  })
  .strict();

const listQuery = z
  .object({
    siteId: z.uuid().optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    type: z.enum(LEAD_TYPES).optional(),
    channel: z.enum(ALL_CHANNELS).optional(),
    ...pageQuery,
  })
  .strict();

/** A lead with its visit's source data (leads API and bulk export). */
export const LEAD_SELECT = `
  SELECT l.id, l.site_id, l.visit_id, l.client_id, l.type, l.phone, l.email, l.name, l.fields, l.url, l.created_at,
         v.channel, v.source, v.medium, v.campaign, v.content, v.keyword, v.landing_url, v.referrer, v.visitor_id,
         v.country, v.region, v.city, v.device_type, v.browser, v.os, v.gclid, v.yclid, v.fbclid, v.ga_client_id,
         v.ym_uid, v.started_at AS visit_started_at
    FROM leads l JOIN visits v ON v.account_id = l.account_id AND v.id = l.visit_id`;

const bad = (field: string, message: string) =>
  new HttpError(400, 'invalid_request', `${field}: ${message}`, [{ field, message }]);

/** `POST /t/lead` from the widget (CORS-open, text/plain JSON) and the leads REST API. */
export function leadCollectRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  // CORS for /t/* (and the preflight) is handled by the tracking routes' hook.
  r.post('/t/lead', { bodyLimit: 16 * 1024, schema: { hide: true, body: leadBody } }, async (req, reply) => {
    const b = req.body;
    const fields = b.fields ?? {};
    for (const [key, value] of Object.entries(fields)) {
      if (isSensitiveFieldName(key))
        throw bad(`body.fields.${key}`, 'password and payment card fields are never accepted');
      if (looksLikeCardNumber(value)) throw bad(`body.fields.${key}`, 'looks like a payment card number');
    }
    for (const key of ['name', 'email'] as const) {
      const value = b[key];
      if (value && looksLikeCardNumber(value)) throw bad(`body.${key}`, 'looks like a payment card number');
    }
    const site = await findSiteOfVisit(ctx.db, b.visit);
    if (!site) throw new HttpError(404, 'unknown_visit', `body.visit: ${b.visit} is not a known visit`);
    checkOrigin(site, req.headers.origin);
    let phone: string | null = null;
    if (b.phone !== undefined) {
      phone = parsePhone(b.phone, site.country as CountryCode);
      if (!phone) throw bad('body.phone', `${b.phone} is not a valid phone number`);
    }
    const plan = b.type === 'callback' ? await planCallback(ctx, site, phone) : null;
    const now = ctx.clock.now();
    const result = await ctx.db.tx(async (q) => {
      const [visit] = await q.query<{ site_id: string }>(
        'SELECT site_id FROM visits WHERE account_id = $1 AND id = $2',
        [site.accountId, b.visit],
      );
      // The visit's report fields are copied from the visit row itself (migration 030).
      const inserted = await q.query<{ id: string }>(
        `INSERT INTO leads (account_id, id, site_id, visit_id, client_id, type, phone, email, name, fields, url, created_at,
           ${VISIT_REPORT_FIELDS.map((f) => `visit_${f}`).join(', ')})
         SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12, ${VISIT_REPORT_FIELDS.map((f) => `v.${f}`).join(', ')}
           FROM visits v WHERE v.account_id = $1 AND v.id = $4
         ON CONFLICT (account_id, visit_id, client_id) DO NOTHING RETURNING id`,
        [
          site.accountId,
          randomUUID(),
          visit.site_id,
          b.visit,
          b.id ?? null,
          b.type,
          phone,
          b.email?.toLowerCase() ?? null,
          b.name ?? null,
          JSON.stringify(fields),
          b.url ?? null,
          now,
        ],
      );
      if (inserted.length === 0) {
        const [existing] = await q.query<{ id: string }>(
          'SELECT id FROM leads WHERE account_id = $1 AND visit_id = $2 AND client_id = $3',
          [site.accountId, b.visit, b.id],
        );
        return { id: existing.id, duplicate: true };
      }
      const id = inserted[0].id;
      const [row] = await q.query(`${LEAD_SELECT} WHERE l.account_id = $1 AND l.id = $2`, [
        site.accountId,
        id,
      ]);
      await emitEvent(q, site.accountId, 'lead.created', { lead: camelize(row) }, now);
      await enqueueLeadConversions(q, ctx.clock, site.accountId, visit.site_id, id);
      if (!plan) return { id, duplicate: false };
      const lead = { id, visitId: b.visit, phone: phone as string, ip: req.ip };
      await scheduleCallback(q, ctx, site, plan, lead).catch((err: unknown) => {
        if (err instanceof CallbackLimitError) reply.header('retry-after', String(err.retryAfterSeconds));
        throw err;
      });
      return { id, duplicate: false, callback: plan.state, callbackAt: plan.at?.toISOString() ?? null };
    });
    reply.code(result.duplicate ? 200 : 201);
    return result;
  });
}

function checkOrigin(site: Site, origin: string | undefined): void {
  if (site.domains.length === 0 || !origin) return;
  let host: string | null = null;
  try {
    host = new URL(origin).hostname.toLowerCase();
  } catch {}
  if (!host || !site.domains.some((d) => host === d || host.endsWith(`.${d}`))) {
    throw new HttpError(403, 'domain_not_allowed', `${host ?? origin} is not one of the site's domains`);
  }
}

export function leadRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/api/v1/leads', { schema: { tags: ['leads'], querystring: listQuery } }, async (req) => {
    const f = req.query;
    const where = ['l.account_id = $1'];
    const params: unknown[] = [req.accountId];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.siteId) add('l.site_id = ?', f.siteId);
    if (f.from) add('l.created_at >= ?', new Date(f.from));
    if (f.to) add('l.created_at < ?', new Date(f.to));
    if (f.type) add('l.type = ?', f.type);
    if (f.channel) add('v.channel = ?', f.channel);
    const whereSql = where.join(' AND ');
    const total = await ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM leads l JOIN visits v ON v.account_id = l.account_id AND v.id = l.visit_id
        WHERE ${whereSql}`,
      params,
    );
    const rows = await ctx.db.query(
      `${LEAD_SELECT} WHERE ${whereSql} ORDER BY l.created_at DESC, l.id LIMIT ${f.limit} OFFSET ${f.offset}`,
      params,
    );
    return { total: total[0].n, limit: f.limit, offset: f.offset, items: rows.map((row) => camelize(row)) };
  });

  r.get(
    '/api/v1/leads/:id',
    { schema: { tags: ['leads'], params: z.object({ id: z.uuid() }) } },
    async (req) => {
      const rows = await ctx.db.query(`${LEAD_SELECT} WHERE l.account_id = $1 AND l.id = $2`, [
        req.accountId,
        req.params.id,
      ]);
      if (!rows[0]) throw new HttpError(404, 'not_found', `Lead ${req.params.id} not found`);
      const lead = camelize<Record<string, unknown>>(rows[0]);
      const pages = await ctx.db.query(
        'SELECT url, title, at FROM page_views WHERE account_id = $1 AND visit_id = $2 ORDER BY at',
        [req.accountId, lead.visitId],
      );
      return { ...lead, pages: pages.map((p) => camelize(p)) };
    },
  );
}
