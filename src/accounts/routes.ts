import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { createApiKey } from './keys.js';

export function accountRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/v1/account', { schema: { tags: ['account'] } }, async (req) => {
    const rows = await ctx.db.query('SELECT id, name, created_at FROM accounts WHERE id = $1', [
      req.accountId,
    ]);
    return rows[0];
  });

  r.get('/api/v1/api-keys', { schema: { tags: ['account'] } }, async (req) => {
    return ctx.db.query(
      `SELECT id, name, prefix, created_at, revoked_at FROM api_keys WHERE account_id = $1 ORDER BY created_at`,
      [req.accountId],
    );
  });

  r.post(
    '/api/v1/api-keys',
    { schema: { tags: ['account'], body: z.object({ name: z.string().min(1).max(100) }).strict() } },
    async (req, reply) => {
      const created = await createApiKey(ctx.db, ctx.clock, req.accountId, req.body.name);
      // The key itself is shown this once; only its hash is kept.
      reply.code(201);
      return { id: created.id, name: req.body.name, prefix: created.prefix, key: created.key };
    },
  );

  r.delete(
    '/api/v1/api-keys/:id',
    { schema: { tags: ['account'], params: z.object({ id: z.uuid() }) } },
    async (req, reply) => {
      const rows = await ctx.db.query(
        'UPDATE api_keys SET revoked_at = $3 WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING id',
        [req.accountId, req.params.id, ctx.clock.now()],
      );
      if (rows.length === 0) throw new HttpError(404, 'not_found', 'API key not found');
      reply.code(204);
    },
  );
}
