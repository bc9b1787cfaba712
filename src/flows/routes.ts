import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Queryable } from '../db/db.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { findSite } from '../sites/store.js';
import { requireFlowReferences } from './employees.js';
import { type Flow, flowSchema } from './model.js';
import { findFlow, flowColumns, type StoredFlow, toStoredFlow } from './store.js';
import { validateFlow } from './validate.js';

const siteParams = z.object({ siteId: z.uuid() });
const flowParams = z.object({ siteId: z.uuid(), flowId: z.uuid() });
/** Branch regions (филиалы): calls from visitors in these regions or countries take this flow. */
const regions = z.array(z.string().trim().min(1).max(100)).max(100);
const createBody = z
  .object({
    name: z.string().min(1).max(200),
    isDefault: z.boolean().default(false),
    regions: regions.default([]),
    flow: flowSchema,
  })
  .strict();
const updateBody = z
  .object({ name: z.string().min(1).max(200), isDefault: z.boolean(), regions, flow: flowSchema })
  .partial()
  .strict();

/** Rejects a flow that parses but cannot run, naming the node and field at fault. */
function requireValid(flow: Flow): void {
  const issues = validateFlow(flow);
  if (issues.length === 0) return;
  throw new HttpError(
    400,
    'invalid_flow',
    issues.map((i) => `body.flow.${i.field}: ${i.message}`).join('; '),
    issues.map((i) => ({ ...i, field: `body.flow.${i.field}` })),
  );
}

const view = (f: StoredFlow) => ({
  id: f.id,
  siteId: f.siteId,
  name: f.name,
  isDefault: f.isDefault,
  regions: f.regions,
  version: f.version,
  flow: f.definition,
  createdAt: f.createdAt,
  updatedAt: f.updatedAt,
});

/** CRUD of a site's call flows under /api/v1/sites/:siteId/flows; validated on save. */
export function flowRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db, clock } = ctx;

  async function requireSite(accountId: string, siteId: string) {
    if (!(await findSite(db, accountId, siteId)))
      throw new HttpError(404, 'not_found', `Site ${siteId} not found`);
  }
  async function requireFlow(q: Queryable, accountId: string, siteId: string, flowId: string) {
    const flow = await findFlow(q, accountId, flowId);
    if (!flow || flow.siteId !== siteId) throw new HttpError(404, 'not_found', `Flow ${flowId} not found`);
    return flow;
  }
  /** One region is served by one flow of a site. */
  async function requireFreeRegions(
    q: Queryable,
    accountId: string,
    siteId: string,
    flowId: string,
    wanted: string[],
  ) {
    if (wanted.length === 0) return;
    const taken = await q.query<{ name: string; region: string }>(
      `SELECT f.name, r AS region FROM call_flows f, unnest(f.regions) r
        WHERE f.account_id = $1 AND f.site_id = $2 AND f.id <> $3 AND lower(r) = ANY($4::text[])`,
      [accountId, siteId, flowId, wanted.map((w) => w.toLowerCase())],
    );
    if (taken.length > 0) {
      const list = taken.map((t) => `"${t.region}" (flow "${t.name}")`).join(', ');
      throw new HttpError(409, 'region_taken', `body.regions: already served by another flow: ${list}`);
    }
  }
  const clearDefault = (q: Queryable, accountId: string, siteId: string) =>
    q.query(
      'UPDATE call_flows SET is_default = false WHERE account_id = $1 AND site_id = $2 AND is_default',
      [accountId, siteId],
    );

  r.get('/api/v1/sites/:siteId/flows', { schema: { tags: ['flows'], params: siteParams } }, async (req) => {
    await requireSite(req.accountId, req.params.siteId);
    const rows = await db.query(
      `SELECT ${flowColumns} FROM call_flows WHERE account_id = $1 AND site_id = $2 ORDER BY created_at, id`,
      [req.accountId, req.params.siteId],
    );
    return rows.map((row) => view(toStoredFlow(row as never)));
  });

  r.get(
    '/api/v1/sites/:siteId/flows/:flowId',
    { schema: { tags: ['flows'], params: flowParams } },
    async (req) => view(await requireFlow(db, req.accountId, req.params.siteId, req.params.flowId)),
  );

  r.post(
    '/api/v1/sites/:siteId/flows',
    { schema: { tags: ['flows'], params: siteParams, body: createBody } },
    async (req, reply) => {
      await requireSite(req.accountId, req.params.siteId);
      requireValid(req.body.flow);
      await requireFlowReferences(db, req.accountId, req.body.flow);
      const id = randomUUID();
      const now = clock.now();
      await db.tx(async (q) => {
        await requireFreeRegions(q, req.accountId, req.params.siteId, id, req.body.regions);
        if (req.body.isDefault) await clearDefault(q, req.accountId, req.params.siteId);
        await q.query(
          `INSERT INTO call_flows (account_id, id, site_id, name, definition, is_default, regions, version, created_at,
             updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,1,$8,$8)`,
          [
            req.accountId,
            id,
            req.params.siteId,
            req.body.name,
            JSON.stringify(req.body.flow),
            req.body.isDefault,
            req.body.regions,
            now,
          ],
        );
      });
      reply.code(201);
      return view((await findFlow(db, req.accountId, id)) as StoredFlow);
    },
  );

  r.patch(
    '/api/v1/sites/:siteId/flows/:flowId',
    { schema: { tags: ['flows'], params: flowParams, body: updateBody } },
    async (req) => {
      const { siteId, flowId } = req.params;
      if (req.body.flow) {
        requireValid(req.body.flow);
        await requireFlowReferences(db, req.accountId, req.body.flow);
      }
      await db.tx(async (q) => {
        const current = await requireFlow(q, req.accountId, siteId, flowId);
        if (req.body.regions) await requireFreeRegions(q, req.accountId, siteId, flowId, req.body.regions);
        if (req.body.isDefault) await clearDefault(q, req.accountId, siteId);
        await q.query(
          `UPDATE call_flows SET name = $3, definition = $4, is_default = $5, regions = $6, version = version + 1,
             updated_at = $7
            WHERE account_id = $1 AND id = $2`,
          [
            req.accountId,
            flowId,
            req.body.name ?? current.name,
            JSON.stringify(req.body.flow ?? current.definition),
            req.body.isDefault ?? current.isDefault,
            req.body.regions ?? current.regions,
            clock.now(),
          ],
        );
      });
      return view(await requireFlow(db, req.accountId, siteId, flowId));
    },
  );

  r.delete(
    '/api/v1/sites/:siteId/flows/:flowId',
    { schema: { tags: ['flows'], params: flowParams } },
    async (req, reply) => {
      await requireFlow(db, req.accountId, req.params.siteId, req.params.flowId);
      await db.query('DELETE FROM call_flows WHERE account_id = $1 AND id = $2', [
        req.accountId,
        req.params.flowId,
      ]);
      reply.code(204);
    },
  );
}
