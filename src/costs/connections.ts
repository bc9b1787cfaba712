import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { isCalendarDate, periodDays } from '../reports/period.js';
import { findSite } from '../sites/store.js';
import { localToday } from '../time/zone.js';
import {
  type ConnectionRecord,
  type Credentials,
  connectionSql,
  recentDays,
  runColumns,
  type SyncRun,
  syncConnection,
} from './sync.js';

/*
 * REST for a site's ad-platform connections (Yandex.Direct, Google Ads): tokens go in once and are
 * stored sealed; responses show the connection without them, with its last sync. Manual syncs run in
 * the request; the daily ones in the background worker (sync.ts).
 */

const secret = z.string().min(1).max(4000);
const customerId = z
  .string()
  .regex(
    /^\d{3}-?\d{3}-?\d{4}$/,
    'must be a Google Ads customer id: 10 digits, as 123-456-7890 or 1234567890',
  );
const localDate = z.string().refine(isCalendarDate, 'must be a date as YYYY-MM-DD');

const createBody = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('yandex_direct'),
      login: z.string().min(1).max(200),
      token: secret,
      active: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      kind: z.literal('google_ads'),
      customerId,
      loginCustomerId: customerId.nullable().optional(),
      developerToken: secret,
      clientId: secret,
      clientSecret: secret,
      refreshToken: secret,
      active: z.boolean().default(true),
    })
    .strict(),
]);

const patchBody = z
  .object({
    login: z.string().min(1).max(200),
    token: secret,
    customerId,
    loginCustomerId: customerId.nullable(),
    developerToken: secret,
    clientId: secret,
    clientSecret: secret,
    refreshToken: secret,
    active: z.boolean(),
  })
  .partial()
  .strict();

/** Fields each kind takes; the secret ones are sealed together in `credentials`. */
const FIELDS = {
  yandex_direct: { plain: ['login'], secret: ['token'] },
  google_ads: {
    plain: ['customerId', 'loginCustomerId'],
    secret: ['developerToken', 'clientId', 'clientSecret', 'refreshToken'],
  },
} as const;

const syncBody = z
  .object({ from: localDate.optional(), to: localDate.optional() })
  .strict()
  .refine((b) => (b.from === undefined) === (b.to === undefined), {
    message: 'from and to go together (or both are left out for yesterday and the day before)',
  })
  .nullish();

const siteParams = z.object({ siteId: z.uuid() });
const connectionParams = siteParams.extend({ id: z.uuid() });
const digits = (id: string) => id.replaceAll('-', '');

const viewColumns =
  'id, site_id, kind, login, login_customer_id, active, next_sync_at, created_at, updated_at';

function connectionView(row: Record<string, unknown>, lastSync: SyncRun | null) {
  const c = camelize<Record<string, unknown>>(row);
  const account =
    c.kind === 'yandex_direct'
      ? { login: c.login }
      : { customerId: c.login, loginCustomerId: c.loginCustomerId };
  return {
    id: c.id,
    siteId: c.siteId,
    kind: c.kind,
    ...account,
    active: c.active,
    nextSyncAt: c.nextSyncAt,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    lastSync,
  };
}

export function adConnectionRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['costs'];
  const base = '/api/v1/sites/:siteId/ad-connections';

  async function siteOf(accountId: string, siteId: string) {
    const site = await findSite(ctx.db, accountId, siteId);
    if (!site) throw new HttpError(404, 'not_found', `Site ${siteId} not found`);
    return site;
  }

  async function views(accountId: string, siteId: string, id?: string) {
    const rows = await ctx.db.query<Record<string, unknown>>(
      `SELECT ${viewColumns} FROM ad_connections WHERE account_id = $1 AND site_id = $2
          ${id ? 'AND id = $3' : ''} ORDER BY created_at, id`,
      id ? [accountId, siteId, id] : [accountId, siteId],
    );
    if (rows.length === 0) return [];
    const runs = await ctx.db.query<Record<string, unknown>>(
      `SELECT DISTINCT ON (connection_id) ${runColumns} FROM ad_sync_runs
        WHERE account_id = $1 AND connection_id = ANY($2::uuid[]) ORDER BY connection_id, started_at DESC, id`,
      [accountId, rows.map((row) => row.id)],
    );
    const last = new Map(runs.map((run) => [run.connection_id, camelize<SyncRun>(run)]));
    return rows.map((row) => connectionView(row, last.get(row.id) ?? null));
  }

  async function findOne(accountId: string, siteId: string, id: string) {
    await siteOf(accountId, siteId);
    const [view] = await views(accountId, siteId, id);
    if (!view) throw new HttpError(404, 'not_found', `Ad connection ${id} not found`);
    return view;
  }

  async function record(accountId: string, siteId: string, id: string): Promise<ConnectionRecord> {
    const [row] = await ctx.db.query<Record<string, unknown>>(
      `${connectionSql} WHERE c.account_id = $1 AND c.site_id = $2 AND c.id = $3`,
      [accountId, siteId, id],
    );
    if (!row) throw new HttpError(404, 'not_found', `Ad connection ${id} not found`);
    return camelize<ConnectionRecord>(row);
  }

  r.get(base, { schema: { tags, params: siteParams } }, async (req) => {
    await siteOf(req.accountId, req.params.siteId);
    return { items: await views(req.accountId, req.params.siteId) };
  });

  r.post(base, { schema: { tags, params: siteParams, body: createBody } }, async (req, reply) => {
    const site = await siteOf(req.accountId, req.params.siteId);
    const b = req.body;
    const id = randomUUID();
    const now = ctx.clock.now();
    const [login, loginCustomerId, credentials]: [string, string | null, Credentials] =
      b.kind === 'yandex_direct'
        ? [b.login, null, { token: b.token }]
        : [
            digits(b.customerId),
            b.loginCustomerId ? digits(b.loginCustomerId) : null,
            {
              developerToken: b.developerToken,
              clientId: b.clientId,
              clientSecret: b.clientSecret,
              refreshToken: b.refreshToken,
            },
          ];
    await ctx.db.query(
      `INSERT INTO ad_connections (account_id, id, site_id, kind, login, login_customer_id, credentials, active,
         created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9)`,
      [
        req.accountId,
        id,
        site.id,
        b.kind,
        login,
        loginCustomerId,
        ctx.secrets.seal(JSON.stringify(credentials)),
        b.active,
        now,
      ],
    );
    reply.code(201);
    return findOne(req.accountId, site.id, id);
  });

  r.get(`${base}/:id`, { schema: { tags, params: connectionParams } }, async (req) =>
    findOne(req.accountId, req.params.siteId, req.params.id),
  );

  r.patch(`${base}/:id`, { schema: { tags, params: connectionParams, body: patchBody } }, async (req) => {
    await siteOf(req.accountId, req.params.siteId);
    const conn = await record(req.accountId, req.params.siteId, req.params.id);
    const b = req.body;
    const fields = FIELDS[conn.kind];
    const allowed: readonly string[] = [...fields.plain, ...fields.secret, 'active'];
    const foreign = Object.keys(b).filter((k) => !allowed.includes(k));
    if (foreign.length > 0)
      throw new HttpError(
        400,
        'invalid_request',
        foreign.map((k) => `body.${k}: not a field of a ${conn.kind} connection`).join('; '),
      );
    const login = b.login ?? (b.customerId ? digits(b.customerId) : conn.login);
    const loginCustomerId =
      b.loginCustomerId === undefined ? conn.loginCustomerId : b.loginCustomerId && digits(b.loginCustomerId);
    const newSecrets = Object.fromEntries(
      fields.secret.filter((k) => b[k] !== undefined).map((k) => [k, b[k] as string]),
    );
    const credentials =
      Object.keys(newSecrets).length > 0
        ? ctx.secrets.seal(
            JSON.stringify({
              ...(JSON.parse(ctx.secrets.open(conn.credentials)) as Credentials),
              ...newSecrets,
            }),
          )
        : conn.credentials;
    await ctx.db.query(
      `UPDATE ad_connections SET login = $3, login_customer_id = $4, credentials = $5,
         active = coalesce($6, active), updated_at = $7 WHERE account_id = $1 AND id = $2`,
      [req.accountId, conn.id, login, loginCustomerId, credentials, b.active ?? null, ctx.clock.now()],
    );
    return findOne(req.accountId, req.params.siteId, conn.id);
  });

  r.delete(`${base}/:id`, { schema: { tags, params: connectionParams } }, async (req) => {
    await siteOf(req.accountId, req.params.siteId);
    const conn = await record(req.accountId, req.params.siteId, req.params.id);
    // Imported costs stay (they are the account's data); their imports can be deleted on their own.
    await ctx.db.tx(async (q) => {
      await q.query('DELETE FROM ad_sync_runs WHERE account_id = $1 AND connection_id = $2', [
        req.accountId,
        conn.id,
      ]);
      await q.query('DELETE FROM ad_connections WHERE account_id = $1 AND id = $2', [req.accountId, conn.id]);
    });
    return { id: conn.id, deleted: true };
  });

  r.post(
    `${base}/:id/sync`,
    { schema: { tags, params: connectionParams, body: syncBody } },
    async (req, reply) => {
      const site = await siteOf(req.accountId, req.params.siteId);
      const conn = await record(req.accountId, site.id, req.params.id);
      const now = ctx.clock.now();
      const range =
        req.body?.from && req.body.to
          ? { from: req.body.from, to: req.body.to }
          : recentDays(now, site.timeZone, 2);
      const today = localToday(now, site.timeZone);
      if (range.from > range.to)
        throw new HttpError(400, 'invalid_request', 'body.from: must not be after to');
      if (range.to > today)
        throw new HttpError(
          400,
          'invalid_request',
          `body.to: must not be after today (${today} in ${site.timeZone})`,
        );
      if (periodDays(range) > 366)
        throw new HttpError(400, 'invalid_request', 'body: a sync covers at most 366 days');
      const run = await syncConnection(
        { db: ctx.db, clock: ctx.clock, config: ctx.config, secrets: ctx.secrets, log: app.log },
        conn,
        range,
        'manual',
      );
      if (run.status === 'failed')
        throw new HttpError(502, 'ad_sync_failed', run.error ?? 'sync failed', run);
      reply.code(201);
      return run;
    },
  );

  r.get(
    `${base}/:id/syncs`,
    {
      schema: {
        tags,
        params: connectionParams,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict(),
      },
    },
    async (req) => {
      await siteOf(req.accountId, req.params.siteId);
      const conn = await record(req.accountId, req.params.siteId, req.params.id);
      const rows = await ctx.db.query<Record<string, unknown>>(
        `SELECT ${runColumns} FROM ad_sync_runs WHERE account_id = $1 AND connection_id = $2
          ORDER BY started_at DESC, id LIMIT ${req.query.limit}`,
        [req.accountId, conn.id],
      );
      return { items: rows.map((row) => camelize<SyncRun>(row)) };
    },
  );
}
