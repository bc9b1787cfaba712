import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { pageQuery } from '../http/validate.js';
import { jobStatusFilter, retryDelivery } from '../jobs/delivery-routes.js';
import { jobViews } from '../jobs/queue.js';
import {
  type AmoSettings,
  type BitrixSettings,
  CONNECTION_COLUMNS,
  type ConnectionRow,
  CRM_EVENTS,
  connectionView,
  DEFAULT_CRM_EVENTS,
  SOURCE_FIELDS,
} from './connections.js';
import { CRM_DEAL, CRM_PUSH } from './enqueue.js';
import { crmJobKinds } from './jobs.js';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);
const crmId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const events = z.array(z.enum(CRM_EVENTS)).min(1).max(CRM_EVENTS.length);
const siteIds = z.array(z.uuid()).min(1).max(200).nullable();
const fieldMap = z
  .object(
    Object.fromEntries(SOURCE_FIELDS.map((f) => [f, crmId.optional()])) as Record<
      (typeof SOURCE_FIELDS)[number],
      z.ZodOptional<typeof crmId>
    >,
  )
  .strict();
const amoFields = {
  name: z.string().min(1).max(200).optional(),
  /** The account's subdomain at amocrm.ru, or baseUrl for another host (amocrm.com, a proxy). */
  subdomain: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'must be the subdomain of <subdomain>.amocrm.ru')
    .optional(),
  baseUrl: httpUrl.optional(),
  accessToken: z.string().min(20).max(5000),
  pipelineId: crmId.optional(),
  statusId: crmId.optional(),
  responsibleUserId: crmId.optional(),
  fieldMap: fieldMap.optional(),
  tags: z.array(z.string().min(1).max(100)).max(10).optional(),
};
const bitrixWebhookUrl = httpUrl.regex(
  /\/rest\/\d+\/[^/?#]+\/?$/,
  'must be an inbound webhook URL such as https://portal.bitrix24.ru/rest/1/abc123/',
);
const bitrixFields = {
  name: z.string().min(1).max(200).optional(),
  webhookUrl: bitrixWebhookUrl,
  mode: z.enum(['lead', 'deal']),
  assignedById: crmId.optional(),
  /** The outbound webhook's application_token, which authenticates Bitrix24's deal events to us. */
  applicationToken: z.string().min(8).max(200).optional(),
};
const common = {
  events: events.default(DEFAULT_CRM_EVENTS),
  siteIds: siteIds.optional(),
  active: z.boolean().default(true),
};

const createBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('amocrm'), ...amoFields, ...common }).strict(),
  z.object({ kind: z.literal('bitrix24'), ...bitrixFields, ...common }).strict(),
]);

const AMO_ONLY = [
  'subdomain',
  'baseUrl',
  'accessToken',
  'pipelineId',
  'statusId',
  'responsibleUserId',
  'fieldMap',
  'tags',
  'rotateHookToken',
] as const;
const BITRIX_ONLY = ['webhookUrl', 'mode', 'assignedById', 'applicationToken'] as const;

const patchBody = z
  .object({
    name: z.string().min(1).max(200).nullable().optional(),
    subdomain: amoFields.subdomain,
    baseUrl: amoFields.baseUrl,
    accessToken: amoFields.accessToken.optional(),
    pipelineId: crmId.nullable().optional(),
    statusId: crmId.nullable().optional(),
    responsibleUserId: crmId.nullable().optional(),
    fieldMap: fieldMap.optional(),
    tags: amoFields.tags,
    /** Issues a new secret for the amoCRM webhook URL; the old URL stops working. */
    rotateHookToken: z.literal(true).optional(),
    webhookUrl: bitrixWebhookUrl.optional(),
    mode: bitrixFields.mode.optional(),
    assignedById: crmId.nullable().optional(),
    applicationToken: bitrixFields.applicationToken,
    events: events.optional(),
    siteIds: siteIds.optional(),
    active: z.boolean().optional(),
  })
  .strict();

const idParams = z.object({ id: z.uuid() });
const bad = (field: string, message: string) =>
  new HttpError(400, 'invalid_request', `${field}: ${message}`, [{ field, message }]);
const stripUndefined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;

function amoBaseUrl(b: { subdomain?: string; baseUrl?: string }): string {
  if ((b.subdomain === undefined) === (b.baseUrl === undefined))
    throw bad('body.subdomain', 'give exactly one of subdomain or baseUrl');
  return (b.baseUrl ?? `https://${(b.subdomain as string).toLowerCase()}.amocrm.ru`).replace(/\/+$/, '');
}

/** REST for CRM connections, their delivery log and manual retry. */
export function crmConnectionRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['crm'];
  const publicBase = () =>
    (ctx.config.publicUrl ?? `http://localhost:${ctx.config.port}`).replace(/\/+$/, '');
  const amoHookUrl = (id: string, token: string) => `${publicBase()}/hooks/amocrm/${id}?token=${token}`;
  const newHookToken = () => randomBytes(24).toString('hex');

  const findRow = async (accountId: string, id: string) => {
    const [row] = await ctx.db.query<ConnectionRow>(
      `SELECT ${CONNECTION_COLUMNS} FROM crm_connections WHERE account_id = $1 AND id = $2`,
      [accountId, id],
    );
    if (!row) throw new HttpError(404, 'not_found', `CRM connection ${id} not found`);
    return row;
  };

  const checkSites = async (accountId: string, ids: string[] | null | undefined) => {
    if (!ids) return;
    const found = await ctx.db.query<{ id: string }>(
      'SELECT id FROM sites WHERE account_id = $1 AND id = ANY($2::uuid[])',
      [accountId, ids],
    );
    const missing = ids.find((id) => !found.some((s) => s.id === id));
    if (missing) throw bad('body.siteIds', `site ${missing} not found`);
  };

  r.get('/api/v1/crm-connections', { schema: { tags } }, async (req) => {
    const rows = await ctx.db.query<ConnectionRow>(
      `SELECT ${CONNECTION_COLUMNS} FROM crm_connections WHERE account_id = $1 ORDER BY created_at, id`,
      [req.accountId],
    );
    return { items: rows.map((row) => connectionView(row, publicBase())) };
  });

  r.post('/api/v1/crm-connections', { schema: { tags, body: createBody } }, async (req, reply) => {
    const b = req.body;
    await checkSites(req.accountId, b.siteIds);
    const id = randomUUID();
    let settings: AmoSettings | BitrixSettings;
    let credential: string;
    let hookToken: string | null;
    if (b.kind === 'amocrm') {
      settings = stripUndefined({
        baseUrl: amoBaseUrl(b),
        pipelineId: b.pipelineId,
        statusId: b.statusId,
        responsibleUserId: b.responsibleUserId,
        fieldMap: b.fieldMap,
        tags: b.tags,
      });
      credential = b.accessToken;
      hookToken = newHookToken();
    } else {
      settings = stripUndefined({
        mode: b.mode,
        assignedById: b.assignedById,
        portal: new URL(b.webhookUrl).host,
      });
      credential = b.webhookUrl;
      hookToken = b.applicationToken ?? null;
    }
    const now = ctx.clock.now();
    await ctx.db.query(
      `INSERT INTO crm_connections (account_id, id, kind, name, settings, credentials, hook_token, events, site_ids,
                                    active, created_at, updated_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`,
      [
        req.accountId,
        id,
        b.kind,
        b.name ?? null,
        JSON.stringify(settings),
        ctx.secrets.seal(credential),
        hookToken ? ctx.secrets.seal(hookToken) : null,
        [...new Set(b.events)],
        b.siteIds ?? null,
        b.active,
        now,
      ],
    );
    reply.code(201);
    const view = connectionView(await findRow(req.accountId, id), publicBase());
    // The amoCRM webhook URL carries its secret, so it is shown now and after a rotation only.
    return b.kind === 'amocrm' ? { ...view, hookUrl: amoHookUrl(id, hookToken as string) } : view;
  });

  r.get('/api/v1/crm-connections/:id', { schema: { tags, params: idParams } }, async (req) =>
    connectionView(await findRow(req.accountId, req.params.id), publicBase()),
  );

  r.patch(
    '/api/v1/crm-connections/:id',
    { schema: { tags, params: idParams, body: patchBody } },
    async (req) => {
      const row = await findRow(req.accountId, req.params.id);
      const b = req.body;
      const foreign = (row.kind === 'amocrm' ? BITRIX_ONLY : AMO_ONLY).find((f) => b[f] !== undefined);
      if (foreign) throw bad(`body.${foreign}`, `is not a setting of ${row.kind} connections`);
      await checkSites(req.accountId, b.siteIds);
      let settings: AmoSettings | BitrixSettings;
      let credential: string | undefined;
      let hookToken: string | undefined;
      if (row.kind === 'amocrm') {
        const s = row.settings as AmoSettings;
        const pick = <K extends keyof AmoSettings>(k: K, v: AmoSettings[K] | null | undefined) =>
          v === undefined ? s[k] : (v ?? undefined);
        settings = stripUndefined({
          baseUrl: b.subdomain !== undefined || b.baseUrl !== undefined ? amoBaseUrl(b) : s.baseUrl,
          pipelineId: pick('pipelineId', b.pipelineId),
          statusId: pick('statusId', b.statusId),
          responsibleUserId: pick('responsibleUserId', b.responsibleUserId),
          fieldMap: pick('fieldMap', b.fieldMap),
          tags: pick('tags', b.tags),
        });
        credential = b.accessToken;
        if (b.rotateHookToken) hookToken = newHookToken();
      } else {
        const s = row.settings as BitrixSettings;
        settings = stripUndefined({
          mode: b.mode ?? s.mode,
          assignedById: b.assignedById === undefined ? s.assignedById : (b.assignedById ?? undefined),
          portal: b.webhookUrl ? new URL(b.webhookUrl).host : s.portal,
        });
        credential = b.webhookUrl;
        hookToken = b.applicationToken;
      }
      await ctx.db.query(
        `UPDATE crm_connections SET name = CASE WHEN $3 THEN $4 ELSE name END, settings = $5,
           credentials = coalesce($6, credentials), hook_token = coalesce($7, hook_token),
           events = coalesce($8, events), site_ids = CASE WHEN $9 THEN $10::uuid[] ELSE site_ids END,
           active = coalesce($11, active), updated_at = $12
          WHERE account_id = $1 AND id = $2`,
        [
          req.accountId,
          req.params.id,
          b.name !== undefined,
          b.name ?? null,
          JSON.stringify(settings),
          credential ? ctx.secrets.seal(credential) : null,
          hookToken ? ctx.secrets.seal(hookToken) : null,
          b.events ? [...new Set(b.events)] : null,
          b.siteIds !== undefined,
          b.siteIds ?? null,
          b.active ?? null,
          ctx.clock.now(),
        ],
      );
      const view = connectionView(await findRow(req.accountId, req.params.id), publicBase());
      return row.kind === 'amocrm' && hookToken ? { ...view, hookUrl: amoHookUrl(row.id, hookToken) } : view;
    },
  );

  r.delete('/api/v1/crm-connections/:id', { schema: { tags, params: idParams } }, async (req, reply) => {
    await findRow(req.accountId, req.params.id);
    await ctx.db.tx(async (q) => {
      const args = [req.accountId, req.params.id];
      const jobs = `SELECT id FROM jobs WHERE account_id = $1 AND kind IN ('${CRM_PUSH}', '${CRM_DEAL}')
                      AND key LIKE $2 || ':%'`;
      await q.query(`DELETE FROM job_attempts WHERE account_id = $1 AND job_id IN (${jobs})`, args);
      await q.query(`DELETE FROM jobs WHERE account_id = $1 AND id IN (${jobs})`, args);
      await q.query('DELETE FROM crm_links WHERE account_id = $1 AND connection_id = $2', args);
      await q.query('DELETE FROM crm_connections WHERE account_id = $1 AND id = $2', args);
    });
    reply.code(204);
  });

  r.get(
    '/api/v1/crm-connections/:id/deliveries',
    {
      schema: {
        tags,
        params: idParams,
        querystring: z
          .object({
            status: jobStatusFilter,
            ...pageQuery,
          })
          .strict(),
      },
    },
    async (req) => {
      await findRow(req.accountId, req.params.id);
      const f = req.query;
      const params: unknown[] = [req.accountId, req.params.id];
      let where = `account_id = $1 AND kind IN ('${CRM_PUSH}', '${CRM_DEAL}') AND key LIKE $2 || ':%'`;
      if (f.status) {
        params.push(f.status);
        where += ` AND status = $${params.length}`;
      }
      const [total] = await ctx.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM jobs WHERE ${where}`,
        params,
      );
      const ids = await ctx.db.query<{ id: string }>(
        `SELECT id FROM jobs WHERE ${where} ORDER BY seq DESC LIMIT ${f.limit} OFFSET ${f.offset}`,
        params,
      );
      const views = await jobViews(
        ctx.db,
        req.accountId,
        ids.map((j) => j.id),
      );
      return { total: total.n, limit: f.limit, offset: f.offset, items: views.reverse() };
    },
  );

  r.post(
    '/api/v1/crm-connections/:id/deliveries/:jobId/retry',
    { schema: { tags, params: z.object({ id: z.uuid(), jobId: z.uuid() }) } },
    async (req) => {
      await findRow(req.accountId, req.params.id);
      const [job] = await ctx.db.query(
        `SELECT 1 FROM jobs WHERE account_id = $1 AND id = $2 AND kind IN ('${CRM_PUSH}', '${CRM_DEAL}')
            AND key LIKE $3 || ':%'`,
        [req.accountId, req.params.jobId, req.params.id],
      );
      if (!job) throw new HttpError(404, 'not_found', `Delivery ${req.params.jobId} not found`);
      return retryDelivery(
        { db: ctx.db, clock: ctx.clock, kinds: crmJobKinds(ctx) },
        req.accountId,
        req.params.jobId,
      );
    },
  );
}
