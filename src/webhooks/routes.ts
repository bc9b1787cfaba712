import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { pageQuery } from '../http/validate.js';
import { EVENT_TYPES } from './events.js';
import { replayDelivery } from './worker.js';

const hookUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);
const eventList = z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length);

const createBody = z
  .object({
    url: hookUrl,
    events: eventList,
    description: z.string().max(500).optional(),
    active: z.boolean().default(true),
  })
  .strict();

const patchBody = z
  .object({
    url: hookUrl.optional(),
    events: eventList.optional(),
    description: z.string().max(500).nullable().optional(),
    active: z.boolean().optional(),
  })
  .strict();

const idParams = z.object({ id: z.uuid() });

const hookColumns =
  'id, url, events, description, active, enabled_at, disabled_at, notice, created_at, updated_at';

/** REST for outgoing webhook subscriptions, their delivery log and manual replay. */
export function webhookRoutes(app: FastifyInstance, ctx: AppContext): void {
  const settings = ctx.config.webhooks;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['webhooks'];

  const find = async (accountId: string, id: string) => {
    const rows = await ctx.db.query(`SELECT ${hookColumns} FROM webhooks WHERE account_id = $1 AND id = $2`, [
      accountId,
      id,
    ]);
    if (!rows[0]) throw new HttpError(404, 'not_found', `Webhook ${id} not found`);
    return camelize(rows[0]);
  };

  r.get('/api/v1/webhooks', { schema: { tags } }, async (req) => {
    const rows = await ctx.db.query(
      `SELECT ${hookColumns} FROM webhooks WHERE account_id = $1 ORDER BY created_at, id`,
      [req.accountId],
    );
    return { items: rows.map((row) => camelize(row)) };
  });

  r.post('/api/v1/webhooks', { schema: { tags, body: createBody } }, async (req, reply) => {
    const id = randomUUID();
    const secret = `whsec_${randomBytes(24).toString('hex')}`;
    const now = ctx.clock.now();
    await ctx.db.query(
      `INSERT INTO webhooks (account_id, id, url, events, secret, description, active, enabled_at, created_at, updated_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8,$8)`,
      [
        req.accountId,
        id,
        req.body.url,
        [...new Set(req.body.events)],
        secret,
        req.body.description ?? null,
        req.body.active,
        now,
      ],
    );
    reply.code(201);
    // The signing secret is shown once, at creation.
    return { ...(await find(req.accountId, id)), secret };
  });

  r.get('/api/v1/webhooks/:id', { schema: { tags, params: idParams } }, async (req) =>
    find(req.accountId, req.params.id),
  );

  r.patch('/api/v1/webhooks/:id', { schema: { tags, params: idParams, body: patchBody } }, async (req) => {
    const current = await find(req.accountId, req.params.id);
    const b = req.body;
    const now = ctx.clock.now();
    const reenable = b.active === true && current.active !== true;
    await ctx.db.query(
      `UPDATE webhooks SET url = coalesce($3, url), events = coalesce($4, events),
         description = CASE WHEN $5 THEN $6 ELSE description END, active = coalesce($7, active),
         enabled_at = CASE WHEN $8 THEN $9 ELSE enabled_at END,
         disabled_at = CASE WHEN $8 THEN NULL ELSE disabled_at END,
         notice = CASE WHEN $8 THEN NULL ELSE notice END, updated_at = $9
        WHERE account_id = $1 AND id = $2`,
      [
        req.accountId,
        req.params.id,
        b.url ?? null,
        b.events ? [...new Set(b.events)] : null,
        b.description !== undefined,
        b.description ?? null,
        b.active ?? null,
        reenable,
        now,
      ],
    );
    return find(req.accountId, req.params.id);
  });

  r.delete('/api/v1/webhooks/:id', { schema: { tags, params: idParams } }, async (req, reply) => {
    await find(req.accountId, req.params.id);
    await ctx.db.tx(async (q) => {
      const args = [req.accountId, req.params.id];
      await q.query('DELETE FROM webhook_attempts WHERE account_id = $1 AND webhook_id = $2', args);
      await q.query('DELETE FROM webhook_deliveries WHERE account_id = $1 AND webhook_id = $2', args);
      await q.query('DELETE FROM webhooks WHERE account_id = $1 AND id = $2', args);
    });
    reply.code(204);
  });

  r.get(
    '/api/v1/webhooks/:id/deliveries',
    {
      schema: {
        tags,
        params: idParams,
        querystring: z
          .object({
            status: z.enum(['pending', 'succeeded', 'failed']).optional(),
            type: z.enum(EVENT_TYPES).optional(),
            ...pageQuery,
          })
          .strict(),
      },
    },
    async (req) => {
      await find(req.accountId, req.params.id);
      const f = req.query;
      const where = ['d.account_id = $1', 'd.webhook_id = $2'];
      const params: unknown[] = [req.accountId, req.params.id];
      if (f.status) {
        params.push(f.status);
        where.push(`d.status = $${params.length}`);
      }
      if (f.type) {
        params.push(f.type);
        where.push(`e.type = $${params.length}`);
      }
      const from = `FROM webhook_deliveries d JOIN webhook_events e ON e.account_id = d.account_id AND e.id = d.event_id
        WHERE ${where.join(' AND ')}`;
      const total = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n ${from}`, params);
      const rows = await ctx.db.query<{ id: string }>(
        `SELECT d.id, d.event_id, e.type AS event_type, e.created_at AS event_created_at, d.status, d.attempts,
                CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at,
                d.last_status_code, d.last_error, d.created_at, d.finished_at
           ${from} ORDER BY d.seq DESC LIMIT ${f.limit} OFFSET ${f.offset}`,
        params,
      );
      const attempts = rows.length
        ? await ctx.db.query<{ delivery_id: string }>(
            `SELECT delivery_id, attempt, at, status_code, error, duration_ms, success, manual FROM webhook_attempts
              WHERE account_id = $1 AND delivery_id = ANY($2::uuid[]) ORDER BY attempt`,
            [req.accountId, rows.map((r) => r.id)],
          )
        : [];
      return {
        total: total[0].n,
        limit: f.limit,
        offset: f.offset,
        items: rows.map((row) => ({
          ...camelize(row),
          attemptLog: attempts
            .filter((a) => a.delivery_id === row.id)
            .map(({ delivery_id: _, ...a }) => camelize(a)),
        })),
      };
    },
  );

  r.post('/api/v1/webhooks/deliveries/:id/replay', { schema: { tags, params: idParams } }, async (req) => {
    const result = await replayDelivery(
      { db: ctx.db, clock: ctx.clock, settings },
      req.accountId,
      req.params.id,
    );
    if (result === 'not_found') throw new HttpError(404, 'not_found', `Delivery ${req.params.id} not found`);
    if (result === 'busy')
      throw new HttpError(
        409,
        'delivery_in_progress',
        `Delivery ${req.params.id} is being attempted right now`,
      );
    return result;
  });
}
