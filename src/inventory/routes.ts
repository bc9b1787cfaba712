import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sqlConditions } from '../db/conditions.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { parsePhone } from '../phone/phone.js';
import { addInventoryNumbers, autoGrowSql, runInventoryDue } from './lifecycle.js';

const page = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
};

const addBody = z
  .object({
    /** Country used to read numbers written without the international prefix. */
    country: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .default('RU'),
    numbers: z
      .array(
        z
          .object({
            number: z.string().min(3).max(40),
            /** Region of the number, matched to pool regions (case-insensitive); null = any pool's home pool. */
            region: z.string().min(1).max(200).nullable().default(null),
          })
          .strict(),
      )
      .min(1)
      .max(1000),
  })
  .strict();

const numbersQuery = z
  .object({
    state: z.enum(['available', 'assigned', 'quarantined']).optional(),
    region: z.string().max(200).optional(),
    accountId: z.uuid().optional(),
    ...page,
  })
  .strict();

const transitionsQuery = z
  .object({
    number: z.string().max(40).optional(),
    accountId: z.uuid().optional(),
    ...page,
  })
  .strict();

const accountParams = z.object({ accountId: z.uuid() });
const accountSettingsBody = z
  .object({ idleReleaseDays: z.number().int().min(1).max(3650).nullable() })
  .strict();

const poolParams = z.object({ siteId: z.uuid(), poolId: z.uuid() });
const poolSettingsBody = z
  .object({
    /** Grow the pool from the platform inventory as demand grows; null = the default (on when it holds platform numbers). */
    autoGrow: z.boolean().nullable().optional(),
    /** The most numbers the pool may grow to; null = RINGTRACE_POOL_MAX_SIZE. */
    maxSize: z.number().int().min(0).max(100_000).nullable().optional(),
  })
  .strict();

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * The platform operator's API over the shared number inventory, under /api/v1/operator. There is no
 * operator user role yet: the API is protected by one server-wide token (RINGTRACE_OPERATOR_TOKEN) sent in
 * X-Operator-Token, not by account API keys; without the setting the API is off.
 */
export async function operatorRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  await app.register(async (op) => {
    op.addHook('onRequest', async (req) => {
      const presented = req.headers['x-operator-token'];
      if (typeof presented !== 'string' || presented === '') {
        throw new HttpError(401, 'unauthorized', 'X-Operator-Token header is required');
      }
      const expected = ctx.config.operatorToken;
      if (!expected) {
        throw new HttpError(403, 'forbidden', 'The operator API is off: set RINGTRACE_OPERATOR_TOKEN');
      }
      if (!timingSafeEqual(digest(presented), digest(expected))) {
        throw new HttpError(403, 'forbidden', 'X-Operator-Token is wrong');
      }
    });
    const r = op.withTypeProvider<ZodTypeProvider>();
    const { db, clock } = ctx;
    const security = [{ operatorToken: [] }];

    r.post(
      '/api/v1/operator/inventory/numbers',
      { schema: { tags: ['operator'], security, body: addBody } },
      async (req, reply) => {
        const items = req.body.numbers.map((n, i) => {
          const e164 = parsePhone(n.number, req.body.country as never);
          if (!e164) {
            throw new HttpError(
              400,
              'invalid_request',
              `body.numbers.${i}.number: ${n.number} is not a valid phone number`,
            );
          }
          return { e164, region: n.region };
        });
        const result = await addInventoryNumbers(db, items, clock.now());
        reply.code(result.added.length > 0 ? 201 : 200);
        return result;
      },
    );

    r.get(
      '/api/v1/operator/inventory/numbers',
      { schema: { tags: ['operator'], security, querystring: numbersQuery } },
      async (req) => {
        const f = req.query;
        const { add, params, sql } = sqlConditions();
        if (f.state) add('state = ?', f.state);
        if (f.region) add('lower(region) = lower(?)', f.region);
        if (f.accountId) add('account_id = ?', f.accountId);
        const whereSql = sql();
        const total = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM inventory_numbers WHERE ${whereSql}`,
          params,
        );
        const counts = await db.query<{ state: string; n: number }>(
          'SELECT state, count(*)::int AS n FROM inventory_numbers GROUP BY state',
        );
        const rows = await db.query(
          `SELECT e164, region, state, account_id, site_id, pool_id, number_id, assigned_at, quarantined_until,
                  state_since, created_at
             FROM inventory_numbers WHERE ${whereSql}
            ORDER BY e164 LIMIT ${f.limit} OFFSET ${f.offset}`,
          params,
        );
        return {
          total: total[0].n,
          byState: Object.fromEntries(
            ['available', 'assigned', 'quarantined'].map((s) => [
              s,
              counts.find((c) => c.state === s)?.n ?? 0,
            ]),
          ),
          limit: f.limit,
          offset: f.offset,
          items: rows.map((row) => camelize(row)),
        };
      },
    );

    r.get(
      '/api/v1/operator/inventory/transitions',
      { schema: { tags: ['operator'], security, querystring: transitionsQuery } },
      async (req) => {
        const f = req.query;
        const { add, params, sql } = sqlConditions();
        if (f.number) add('e164 = ?', parsePhone(f.number, 'RU') ?? f.number);
        if (f.accountId) add('account_id = ?', f.accountId);
        const whereSql = sql();
        const total = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM inventory_transitions WHERE ${whereSql}`,
          params,
        );
        const rows = await db.query(
          `SELECT seq::text AS seq, e164, from_state, to_state, reason, details, at, account_id, site_id, pool_id
             FROM inventory_transitions WHERE ${whereSql}
            ORDER BY seq LIMIT ${f.limit} OFFSET ${f.offset}`,
          params,
        );
        return {
          total: total[0].n,
          limit: f.limit,
          offset: f.offset,
          items: rows.map((row) => camelize(row)),
        };
      },
    );

    r.put(
      '/api/v1/operator/accounts/:accountId/inventory-settings',
      { schema: { tags: ['operator'], security, params: accountParams, body: accountSettingsBody } },
      async (req) => {
        const account = await db.query('SELECT 1 FROM accounts WHERE id = $1', [req.params.accountId]);
        if (account.length === 0) {
          throw new HttpError(404, 'not_found', `Account ${req.params.accountId} not found`);
        }
        await db.query(
          `INSERT INTO account_inventory_settings (account_id, idle_release_days, updated_at) VALUES ($1,$2,$3)
           ON CONFLICT (account_id) DO UPDATE SET idle_release_days = excluded.idle_release_days,
             updated_at = excluded.updated_at`,
          [req.params.accountId, req.body.idleReleaseDays, clock.now()],
        );
        return {
          accountId: req.params.accountId,
          idleReleaseDays: req.body.idleReleaseDays,
          effectiveIdleReleaseDays: req.body.idleReleaseDays ?? ctx.config.idleReleaseDays,
        };
      },
    );

    r.post('/api/v1/operator/inventory/run', { schema: { tags: ['operator'], security } }, async () =>
      runInventoryDue({ db, clock, config: ctx.config }, clock.now()),
    );
  });
}

/** A tenant's view and settings of one pool's lifecycle: auto-grow from the inventory and its cap. */
export function poolSettingsRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db, clock } = ctx;

  async function poolView(accountId: string, siteId: string, poolId: string) {
    const rows = await db.query(
      `SELECT p.id, p.name, p.region, p.created_at,
              (SELECT count(*)::int FROM numbers n WHERE n.account_id = p.account_id AND n.pool_id = p.id) AS size,
              (SELECT count(*)::int FROM numbers n WHERE n.account_id = p.account_id AND n.pool_id = p.id
                 AND n.ownership = 'platform') AS platform_numbers,
              s.auto_grow AS auto_grow_setting, ${autoGrowSql} AS auto_grow, s.max_size, s.checked_at
         FROM pools p LEFT JOIN pool_settings s ON s.account_id = p.account_id AND s.pool_id = p.id
        WHERE p.account_id = $1 AND p.site_id = $2 AND p.id = $3`,
      [accountId, siteId, poolId],
    );
    if (!rows[0]) throw new HttpError(404, 'not_found', `Pool ${poolId} not found`);
    const view = camelize<Record<string, unknown>>(rows[0]);
    return { ...view, effectiveMaxSize: view.maxSize ?? ctx.config.poolMaxSize };
  }

  r.get('/api/v1/sites/:siteId/pools/:poolId', { schema: { tags: ['numbers'], params: poolParams } }, (req) =>
    poolView(req.accountId, req.params.siteId, req.params.poolId),
  );

  r.patch(
    '/api/v1/sites/:siteId/pools/:poolId',
    { schema: { tags: ['numbers'], params: poolParams, body: poolSettingsBody } },
    async (req) => {
      await poolView(req.accountId, req.params.siteId, req.params.poolId);
      const b = req.body;
      if (b.autoGrow === undefined && b.maxSize === undefined) {
        throw new HttpError(400, 'invalid_request', 'body: no field to update');
      }
      await db.query(
        `INSERT INTO pool_settings (account_id, pool_id, auto_grow, max_size, updated_at) VALUES ($1,$2,$3,$4,$5)
         ON CONFLICT (account_id, pool_id) DO UPDATE SET
           auto_grow = CASE WHEN $6 THEN excluded.auto_grow ELSE pool_settings.auto_grow END,
           max_size = CASE WHEN $7 THEN excluded.max_size ELSE pool_settings.max_size END,
           updated_at = excluded.updated_at`,
        [
          req.accountId,
          req.params.poolId,
          b.autoGrow ?? null,
          b.maxSize ?? null,
          clock.now(),
          b.autoGrow !== undefined,
          b.maxSize !== undefined,
        ],
      );
      return poolView(req.accountId, req.params.siteId, req.params.poolId);
    },
  );
}
