// Revenue: deals attached to a call or a lead (issue 6 item 3), and profit per call and lead.
//
// Profit rule: a call's or lead's profit is its won revenue minus its share of ad cost. The share is
// the cost of its campaign-day — the ad-cost rows of the site on the call's (lead's) local date whose
// source and medium equal its source and medium and whose campaign equals its campaign
// (case-insensitive) or whose campaign id equals its utm_campaign — divided evenly over all calls
// and leads of that site and local date with the same source, medium and campaign, rounded to whole
// minor units. Calls and leads without a campaign carry no cost share.

import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toMinor } from '../costs/parse.js';
import type { Queryable } from '../db/db.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { pageQuery } from '../http/validate.js';
import { type CountryCode, parsePhone } from '../phone/phone.js';
import { findSite } from '../sites/store.js';

export const DEAL_STATUSES = ['won', 'lost', 'open'] as const;

const amountSchema = z.union([
  z.number().nonnegative().max(1e13),
  z.string().regex(/^[\d\s\u00a0.,]+$/, 'must be an amount such as 1234.56 or «1 234,56»'),
]);

const dealBody = z
  .object({
    siteId: z.uuid(),
    callId: z.uuid().optional(),
    leadId: z.uuid().optional(),
    phone: z.string().min(1).max(40).optional(),
    /** With phone: the deal date (YYYY-MM-DD, site-local) or instant; the latest call on or before it. */
    date: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).optional(),
    /** Major units (1234.56), or amountMinor in minor units. */
    amount: amountSchema.optional(),
    amountMinor: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code')
      .optional(),
    status: z.enum(DEAL_STATUSES),
    externalId: z.string().min(1).max(200).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const targets = [b.callId, b.leadId, b.phone].filter((x) => x !== undefined).length;
    if (targets !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['callId'],
        message: 'give exactly one of callId, leadId or phone',
      });
    if (b.phone !== undefined && b.date === undefined)
      ctx.addIssue({ code: 'custom', path: ['date'], message: 'is required with phone' });
    if ((b.amount === undefined) === (b.amountMinor === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['amount'],
        message: 'give exactly one of amount or amountMinor',
      });
  });

const listQuery = z
  .object({
    siteId: z.uuid().optional(),
    callId: z.uuid().optional(),
    leadId: z.uuid().optional(),
    status: z.enum(DEAL_STATUSES).optional(),
    externalId: z.string().max(200).optional(),
    ...pageQuery,
  })
  .strict();

const dealSelect = `SELECT id, site_id, call_id, lead_id, amount_minor::float8 AS amount_minor, currency, status,
  external_id, created_at, updated_at FROM deals`;

const bad = (field: string, message: string) =>
  new HttpError(400, 'invalid_request', `${field}: ${message}`, [{ field, message }]);

/** The source fields and local date of a call or a lead, for its campaign-day. */
const subjectSql = {
  call: `SELECT c.site_id, coalesce(v.source, sr.source) AS source, coalesce(v.medium, sr.medium) AS medium,
           coalesce(v.campaign, sr.campaign) AS campaign, to_char(c.started_at AT TIME ZONE s.time_zone, 'YYYY-MM-DD') AS day,
           s.time_zone
      FROM calls c JOIN sites s ON s.account_id = c.account_id AND s.id = c.site_id
      LEFT JOIN visits v ON v.account_id = c.account_id AND v.id = c.visit_id
      LEFT JOIN static_rules sr ON sr.account_id = c.account_id AND sr.id = c.static_rule_id
     WHERE c.account_id = $1 AND c.id = $2`,
  lead: `SELECT l.site_id, v.source, v.medium, v.campaign, to_char(l.created_at AT TIME ZONE s.time_zone, 'YYYY-MM-DD') AS day,
           s.time_zone
      FROM leads l JOIN sites s ON s.account_id = l.account_id AND s.id = l.site_id
      JOIN visits v ON v.account_id = l.account_id AND v.id = l.visit_id
     WHERE l.account_id = $1 AND l.id = $2`,
};

/** Revenue, cost share and profit of one call or lead (minor units); null when it does not exist. */
export async function profitOf(q: Queryable, accountId: string, kind: 'call' | 'lead', id: string) {
  const [subject] = await q.query<Record<string, string | null>>(subjectSql[kind], [accountId, id]);
  if (!subject) return null;
  const [rev] = await q.query<{ revenue: number }>(
    `SELECT coalesce(sum(amount_minor), 0)::float8 AS revenue FROM deals
      WHERE account_id = $1 AND ${kind}_id = $2 AND status = 'won'`,
    [accountId, id],
  );
  let campaignCost = 0;
  let sharedBy = 0;
  if (subject.source && subject.medium && subject.campaign) {
    const p = [
      accountId,
      subject.site_id,
      subject.day,
      subject.source,
      subject.medium,
      subject.campaign,
      subject.time_zone,
    ];
    const [cost] = await q.query<{ cost: number }>(
      `SELECT coalesce(sum(cost_minor), 0)::float8 AS cost FROM ad_costs
        WHERE account_id = $1 AND site_id = $2 AND date = $3::date AND lower(source) = lower($4)
          AND lower(medium) = lower($5) AND (lower(campaign) = lower($6) OR campaign_id = $6)`,
      p.slice(0, 6),
    );
    campaignCost = cost.cost;
    const inDay = (col: string) =>
      `${col} >= ($3::date)::timestamp AT TIME ZONE $7 AND ${col} < ($3::date + 1)::timestamp AT TIME ZONE $7`;
    const [n] = await q.query<{ n: number }>(
      `SELECT
         (SELECT count(*) FROM calls c
            LEFT JOIN visits v ON v.account_id = c.account_id AND v.id = c.visit_id
            LEFT JOIN static_rules sr ON sr.account_id = c.account_id AND sr.id = c.static_rule_id
           WHERE c.account_id = $1 AND c.site_id = $2 AND ${inDay('c.started_at')}
             AND lower(coalesce(v.source, sr.source)) = lower($4) AND lower(coalesce(v.medium, sr.medium)) = lower($5)
             AND lower(coalesce(v.campaign, sr.campaign)) = lower($6))
       + (SELECT count(*) FROM leads l JOIN visits v ON v.account_id = l.account_id AND v.id = l.visit_id
           WHERE l.account_id = $1 AND l.site_id = $2 AND ${inDay('l.created_at')}
             AND lower(v.source) = lower($4) AND lower(v.medium) = lower($5) AND lower(v.campaign) = lower($6))
         AS n`,
      p,
    );
    sharedBy = Number(n.n);
  }
  const costShare = sharedBy > 0 ? Math.round(campaignCost / sharedBy) : 0;
  return {
    [`${kind}Id`]: id,
    revenueMinor: rev.revenue,
    campaignDayCostMinor: campaignCost,
    sharedBy,
    costShareMinor: costShare,
    profitMinor: rev.revenue - costShare,
  };
}

export type DealInput = z.infer<typeof dealBody>;

/**
 * Stores a deal on the call or lead it names (by call id, lead id, or the caller's latest call on or
 * before a date), replacing the deal with the same externalId. The one deal writer: the REST API and
 * the CRM webhooks (src/crm) both land here. Throws HttpError for an unknown site, call or lead.
 */
export async function saveDeal(
  ctx: Pick<AppContext, 'db' | 'clock'>,
  accountId: string,
  b: DealInput,
): Promise<{ id: string; created: boolean }> {
  const site = await findSite(ctx.db, accountId, b.siteId);
  if (!site) throw new HttpError(404, 'not_found', `Site ${b.siteId} not found`);
  const currency = (b.currency ?? site.currency).toUpperCase();
  if (currency !== site.currency)
    throw bad('body.currency', `${currency} is not the site's currency ${site.currency}`);
  const amountMinor =
    b.amountMinor ?? (typeof b.amount === 'number' ? toMinor(b.amount) : toMinor(b.amount ?? ''));
  if (amountMinor === null) throw bad('body.amount', `${b.amount} is not an amount`);

  let callId: string | null = null;
  let leadId: string | null = null;
  if (b.callId) {
    const rows = await ctx.db.query(
      'SELECT id FROM calls WHERE account_id = $1 AND site_id = $2 AND id = $3',
      [accountId, site.id, b.callId],
    );
    if (!rows[0])
      throw new HttpError(404, 'not_found', `body.callId: call ${b.callId} not found on this site`);
    callId = b.callId;
  } else if (b.leadId) {
    const rows = await ctx.db.query(
      'SELECT id FROM leads WHERE account_id = $1 AND site_id = $2 AND id = $3',
      [accountId, site.id, b.leadId],
    );
    if (!rows[0])
      throw new HttpError(404, 'not_found', `body.leadId: lead ${b.leadId} not found on this site`);
    leadId = b.leadId;
  } else {
    const phone = parsePhone(b.phone as string, site.country as CountryCode);
    if (!phone) throw bad('body.phone', `${b.phone} is not a valid phone number`);
    const date = b.date as string;
    // A date means the end of that site-local day; an instant means itself.
    const until =
      date.length === 10
        ? { sql: '(($4::date + 1)::timestamp AT TIME ZONE $5)', params: [date, site.timeZone] }
        : { sql: "$4::timestamptz + interval '1 millisecond'", params: [new Date(date)] };
    const rows = await ctx.db.query<{ id: string }>(
      `SELECT id FROM calls WHERE account_id = $1 AND site_id = $2 AND caller = $3 AND started_at < ${until.sql}
        ORDER BY started_at DESC, id LIMIT 1`,
      [accountId, site.id, phone, ...until.params],
    );
    if (!rows[0])
      throw new HttpError(404, 'call_not_found', `body.phone: no call from ${phone} on or before ${date}`);
    callId = rows[0].id;
  }

  const now = ctx.clock.now();
  const result = await ctx.db.tx(async (q) => {
    if (b.externalId !== undefined) {
      const updated = await q.query<{ id: string }>(
        `UPDATE deals SET site_id = $3, call_id = $4, lead_id = $5, amount_minor = $6, currency = $7, status = $8,
                updated_at = $9
          WHERE account_id = $1 AND external_id = $2 RETURNING id`,
        [accountId, b.externalId, site.id, callId, leadId, amountMinor, currency, b.status, now],
      );
      if (updated[0]) return { id: updated[0].id, created: false };
    }
    const id = randomUUID();
    await q.query(
      `INSERT INTO deals (account_id, id, site_id, call_id, lead_id, amount_minor, currency, status, external_id,
                          created_at, updated_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10)`,
      [accountId, id, site.id, callId, leadId, amountMinor, currency, b.status, b.externalId ?? null, now],
    );
    return { id, created: true };
  });
  return result;
}

export function dealRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/api/v1/deals', { schema: { tags: ['deals'], body: dealBody } }, async (req, reply) => {
    const result = await saveDeal(ctx, req.accountId, req.body);
    const [row] = await ctx.db.query(`${dealSelect} WHERE account_id = $1 AND id = $2`, [
      req.accountId,
      result.id,
    ]);
    reply.code(result.created ? 201 : 200);
    return camelize(row);
  });

  r.get('/api/v1/deals', { schema: { tags: ['deals'], querystring: listQuery } }, async (req) => {
    const f = req.query;
    const where = ['account_id = $1'];
    const params: unknown[] = [req.accountId];
    const add = (col: string, value: unknown) => {
      params.push(value);
      where.push(`${col} = $${params.length}`);
    };
    if (f.siteId) add('site_id', f.siteId);
    if (f.callId) add('call_id', f.callId);
    if (f.leadId) add('lead_id', f.leadId);
    if (f.status) add('status', f.status);
    if (f.externalId) add('external_id', f.externalId);
    const w = where.join(' AND ');
    const [total] = await ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deals WHERE ${w}`,
      params,
    );
    const rows = await ctx.db.query(
      `${dealSelect} WHERE ${w} ORDER BY created_at DESC, id LIMIT ${f.limit} OFFSET ${f.offset}`,
      params,
    );
    return { total: total.n, limit: f.limit, offset: f.offset, items: rows.map((row) => camelize(row)) };
  });

  r.get(
    '/api/v1/deals/profit',
    {
      schema: {
        tags: ['deals'],
        querystring: z
          .object({ callId: z.uuid().optional(), leadId: z.uuid().optional() })
          .strict()
          .refine((x) => (x.callId === undefined) !== (x.leadId === undefined), {
            message: 'give exactly one of callId or leadId',
            path: ['callId'],
          }),
      },
    },
    async (req) => {
      const kind = req.query.callId ? 'call' : 'lead';
      const id = (req.query.callId ?? req.query.leadId) as string;
      const profit = await profitOf(ctx.db, req.accountId, kind, id);
      if (!profit)
        throw new HttpError(404, 'not_found', `${kind === 'call' ? 'Call' : 'Lead'} ${id} not found`);
      return profit;
    },
  );

  const idParams = z.object({ id: z.uuid() });
  r.get('/api/v1/deals/:id', { schema: { tags: ['deals'], params: idParams } }, async (req) => {
    const [row] = await ctx.db.query(`${dealSelect} WHERE account_id = $1 AND id = $2`, [
      req.accountId,
      req.params.id,
    ]);
    if (!row) throw new HttpError(404, 'not_found', `Deal ${req.params.id} not found`);
    return camelize(row);
  });

  r.delete('/api/v1/deals/:id', { schema: { tags: ['deals'], params: idParams } }, async (req, reply) => {
    const rows = await ctx.db.query('DELETE FROM deals WHERE account_id = $1 AND id = $2 RETURNING id', [
      req.accountId,
      req.params.id,
    ]);
    if (!rows[0]) throw new HttpError(404, 'not_found', `Deal ${req.params.id} not found`);
    reply.code(204);
  });
}
