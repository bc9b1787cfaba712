import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { reclassifySite } from '../calls/service.js';
import type { Queryable } from '../db/db.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { parsePhone } from '../phone/phone.js';
import {
  createNumberBody,
  createPoolBody,
  createSiteBody,
  createStaticRuleBody,
  siteItemParams,
  siteParams,
  updateSiteBody,
  updateStaticRuleBody,
} from './schemas.js';
import { findSite, type Site, siteColumns } from './store.js';

/** Settings whose change alters call classes, so stored classes are recomputed. */
const classificationSettings = [
  'targetedThresholdSeconds',
  'countUniqueness',
  'uniquenessWindowDays',
  'leadGroups',
] as const;

export function siteRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db, clock } = ctx;

  const siteView = (site: Site) => ({
    ...site,
    snippet: `<script async src="${publicUrl(ctx)}/rt.js" data-site="${site.siteKey}"></script>`,
  });

  async function requireSite(accountId: string, siteId: string): Promise<Site> {
    const site = await findSite(db, accountId, siteId);
    if (!site) throw new HttpError(404, 'not_found', `Site ${siteId} not found`);
    return site;
  }

  r.get('/api/v1/sites', { schema: { tags: ['sites'] } }, async (req) => {
    const rows = await db.query('SELECT * FROM sites WHERE account_id = $1 ORDER BY created_at', [
      req.accountId,
    ]);
    return rows.map((row) => siteView(camelize<Site>(row)));
  });

  r.get('/api/v1/sites/:siteId', { schema: { tags: ['sites'], params: siteParams } }, async (req) =>
    siteView(await requireSite(req.accountId, req.params.siteId)),
  );

  r.post('/api/v1/sites', { schema: { tags: ['sites'], body: createSiteBody } }, async (req, reply) => {
    const body = req.body;
    const phones = normalizeSitePhones(body, body.country);
    const id = randomUUID();
    await db.tx(async (q) => {
      await q.query(
        `INSERT INTO sites (account_id, id, name, site_key, domains, time_zone, currency, country, home_region,
           default_number, replace_numbers, freeze_minutes, late_grace_minutes, targeted_threshold_seconds,
           count_uniqueness, uniqueness_window_days, lead_groups, dynamic_channels, exhaustion_policy,
           multi_regional, number_selection, visitor_stickiness, lease_on, created_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24)`,
        [
          req.accountId,
          id,
          body.name,
          randomBytes(9).toString('base64url'),
          body.domains.map((d) => d.toLowerCase()),
          body.timeZone,
          body.currency,
          body.country,
          body.homeRegion,
          phones.defaultNumber,
          phones.replaceNumbers,
          body.freezeMinutes,
          body.lateGraceMinutes,
          body.targetedThresholdSeconds,
          body.countUniqueness,
          body.uniquenessWindowDays,
          body.leadGroups,
          body.dynamicChannels,
          body.exhaustionPolicy,
          body.multiRegional,
          body.numberSelection,
          body.visitorStickiness,
          body.leaseOn,
          clock.now(),
        ],
      );
      if (phones.defaultNumber) await ensureDefaultNumber(q, ctx, req.accountId, id, phones.defaultNumber);
    });
    reply.code(201);
    return siteView((await findSite(db, req.accountId, id))!);
  });

  r.patch(
    '/api/v1/sites/:siteId',
    { schema: { tags: ['sites'], params: siteParams, body: updateSiteBody } },
    async (req) => {
      const site = await requireSite(req.accountId, req.params.siteId);
      const body = { ...req.body };
      const country = body.country ?? site.country;
      const phones = normalizeSitePhones(body, country);
      if (body.defaultNumber !== undefined) body.defaultNumber = phones.defaultNumber;
      if (body.replaceNumbers !== undefined) body.replaceNumbers = phones.replaceNumbers;
      if (body.domains) body.domains = body.domains.map((d) => d.toLowerCase());
      const entries = Object.entries(body).filter(([, v]) => v !== undefined);
      if (entries.length === 0) throw new HttpError(400, 'invalid_request', 'body: no field to update');
      await db.tx(async (q) => {
        const sets = entries.map(([k], i) => `${siteColumns[k]} = $${i + 3}`);
        await q.query(`UPDATE sites SET ${sets.join(', ')} WHERE account_id = $1 AND id = $2`, [
          req.accountId,
          site.id,
          ...entries.map(([, v]) => v),
        ]);
        if (body.defaultNumber) await ensureDefaultNumber(q, ctx, req.accountId, site.id, body.defaultNumber);
      });
      if (classificationSettings.some((k) => body[k] !== undefined)) {
        await reclassifySite(ctx, req.accountId, site.id);
      }
      return siteView((await findSite(db, req.accountId, site.id))!);
    },
  );

  r.delete(
    '/api/v1/sites/:siteId',
    { schema: { tags: ['sites'], params: siteParams } },
    async (req, reply) => {
      const rows = await db.query('DELETE FROM sites WHERE account_id = $1 AND id = $2 RETURNING id', [
        req.accountId,
        req.params.siteId,
      ]);
      if (rows.length === 0) throw new HttpError(404, 'not_found', `Site ${req.params.siteId} not found`);
      reply.code(204);
    },
  );

  // Pools
  r.get('/api/v1/sites/:siteId/pools', { schema: { tags: ['numbers'], params: siteParams } }, async (req) => {
    await requireSite(req.accountId, req.params.siteId);
    const rows = await db.query(
      `SELECT p.id, p.name, p.region, p.created_at,
              (SELECT count(*)::int FROM numbers n WHERE n.account_id = p.account_id AND n.pool_id = p.id) AS size
         FROM pools p WHERE p.account_id = $1 AND p.site_id = $2 ORDER BY p.created_at`,
      [req.accountId, req.params.siteId],
    );
    return rows.map((row) => camelize(row));
  });

  r.post(
    '/api/v1/sites/:siteId/pools',
    { schema: { tags: ['numbers'], params: siteParams, body: createPoolBody } },
    async (req, reply) => {
      await requireSite(req.accountId, req.params.siteId);
      const region = req.body.region;
      const taken = await db.query(
        `SELECT 1 FROM pools WHERE account_id = $1 AND site_id = $2 AND coalesce(region, '') = coalesce($3, '')`,
        [req.accountId, req.params.siteId, region],
      );
      if (taken.length > 0) {
        throw new HttpError(
          409,
          'conflict',
          `region: the site already has a pool for ${region ?? 'the home region'}`,
        );
      }
      const rows = await db.query(
        `INSERT INTO pools (account_id, id, site_id, name, region, created_at) VALUES ($1,$2,$3,$4,$5,$6)
         RETURNING id, name, region, created_at`,
        [req.accountId, randomUUID(), req.params.siteId, req.body.name, region, clock.now()],
      );
      reply.code(201);
      return camelize(rows[0]);
    },
  );

  r.delete(
    '/api/v1/sites/:siteId/pools/:id',
    { schema: { tags: ['numbers'], params: siteItemParams } },
    async (req, reply) => {
      // A pool's numbers would be left in no pool and never handed out: they go first.
      const deleted = await db.query(
        `DELETE FROM pools p WHERE p.account_id = $1 AND p.site_id = $2 AND p.id = $3
            AND NOT EXISTS (SELECT 1 FROM numbers n WHERE n.account_id = p.account_id AND n.pool_id = p.id)
         RETURNING p.id`,
        [req.accountId, req.params.siteId, req.params.id],
      );
      if (deleted.length === 0) {
        const exists = await db.query(
          'SELECT 1 FROM pools WHERE account_id = $1 AND site_id = $2 AND id = $3',
          [req.accountId, req.params.siteId, req.params.id],
        );
        if (exists.length === 0) throw new HttpError(404, 'not_found', `Pool ${req.params.id} not found`);
        throw new HttpError(409, 'conflict', 'The pool still has numbers: remove them first');
      }
      reply.code(204);
    },
  );

  // Numbers
  r.get(
    '/api/v1/sites/:siteId/numbers',
    { schema: { tags: ['numbers'], params: siteParams } },
    async (req) => {
      await requireSite(req.accountId, req.params.siteId);
      const rows = await db.query(
        `SELECT id, e164, kind, pool_id, region, ownership, held_until, current_visit_id, created_at
         FROM numbers WHERE account_id = $1 AND site_id = $2 ORDER BY kind, e164`,
        [req.accountId, req.params.siteId],
      );
      return rows.map((row) => camelize(row));
    },
  );

  r.post(
    '/api/v1/sites/:siteId/numbers',
    { schema: { tags: ['numbers'], params: siteParams, body: createNumberBody } },
    async (req, reply) => {
      const site = await requireSite(req.accountId, req.params.siteId);
      const e164 = parsePhone(req.body.number, site.country as never);
      if (!e164)
        throw new HttpError(
          400,
          'invalid_request',
          `body.number: ${req.body.number} is not a valid phone number`,
        );
      let poolId: string | null = null;
      if (req.body.kind === 'pool') {
        poolId = req.body.poolId ?? (await ensureHomePool(db, ctx, req.accountId, site.id));
        const pool = await db.query(
          'SELECT 1 FROM pools WHERE account_id = $1 AND site_id = $2 AND id = $3',
          [req.accountId, site.id, poolId],
        );
        if (pool.length === 0)
          throw new HttpError(400, 'invalid_request', `body.poolId: pool ${poolId} not found`);
      } else if (req.body.poolId) {
        throw new HttpError(400, 'invalid_request', 'body.poolId: only pool numbers belong to a pool');
      }
      const existing = await db.query('SELECT 1 FROM numbers WHERE account_id = $1 AND e164 = $2', [
        req.accountId,
        e164,
      ]);
      if (existing.length > 0) throw new HttpError(409, 'conflict', `body.number: ${e164} is already in use`);
      const rows = await db.query(
        `INSERT INTO numbers (account_id, id, site_id, e164, kind, pool_id, region, ownership, created_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id, e164, kind, pool_id, region, ownership, created_at`,
        [
          req.accountId,
          randomUUID(),
          site.id,
          e164,
          req.body.kind,
          poolId,
          req.body.region,
          req.body.ownership,
          clock.now(),
        ],
      );
      reply.code(201);
      return camelize(rows[0]);
    },
  );

  r.delete(
    '/api/v1/sites/:siteId/numbers/:id',
    { schema: { tags: ['numbers'], params: siteItemParams } },
    async (req, reply) => {
      const rows = await db.query(
        'DELETE FROM numbers WHERE account_id = $1 AND site_id = $2 AND id = $3 RETURNING id',
        [req.accountId, req.params.siteId, req.params.id],
      );
      if (rows.length === 0) throw new HttpError(404, 'not_found', `Number ${req.params.id} not found`);
      reply.code(204);
    },
  );

  // Static channel rules
  async function requireStaticNumber(accountId: string, siteId: string, numberId: string): Promise<void> {
    const number = await db.query<{ kind: string }>(
      'SELECT kind FROM numbers WHERE account_id = $1 AND site_id = $2 AND id = $3',
      [accountId, siteId, numberId],
    );
    if (number.length === 0) {
      throw new HttpError(400, 'invalid_request', `body.numberId: number ${numberId} not found`);
    }
    if (number[0].kind !== 'static') {
      throw new HttpError(
        400,
        'invalid_request',
        'body.numberId: a static rule needs a number of kind static',
      );
    }
  }

  r.get(
    '/api/v1/sites/:siteId/static-rules',
    { schema: { tags: ['numbers'], params: siteParams } },
    async (req) => {
      await requireSite(req.accountId, req.params.siteId);
      const rows = await db.query(
        `SELECT r.id, r.name, r.priority, r.conditions, r.number_id, n.e164 AS number, r.source, r.medium, r.campaign,
              r.created_at
         FROM static_rules r JOIN numbers n ON n.account_id = r.account_id AND n.id = r.number_id
        WHERE r.account_id = $1 AND r.site_id = $2 ORDER BY r.priority DESC, r.created_at`,
        [req.accountId, req.params.siteId],
      );
      return rows.map((row) => camelize(row));
    },
  );

  r.post(
    '/api/v1/sites/:siteId/static-rules',
    { schema: { tags: ['numbers'], params: siteParams, body: createStaticRuleBody } },
    async (req, reply) => {
      const site = await requireSite(req.accountId, req.params.siteId);
      await requireStaticNumber(req.accountId, site.id, req.body.numberId);
      const b = req.body;
      const rows = await db.query(
        `INSERT INTO static_rules (account_id, id, site_id, name, priority, conditions, number_id, source, medium,
           campaign, created_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
         RETURNING id, name, priority, conditions, number_id, source, medium, campaign, created_at`,
        [
          req.accountId,
          randomUUID(),
          site.id,
          b.name,
          b.priority,
          JSON.stringify(b.conditions),
          b.numberId,
          b.source,
          b.medium,
          b.campaign,
          clock.now(),
        ],
      );
      reply.code(201);
      return camelize(rows[0]);
    },
  );

  r.patch(
    '/api/v1/sites/:siteId/static-rules/:id',
    { schema: { tags: ['numbers'], params: siteItemParams, body: updateStaticRuleBody } },
    async (req) => {
      const b = req.body;
      if (b.numberId !== undefined) await requireStaticNumber(req.accountId, req.params.siteId, b.numberId);
      const rows = await db.query(
        `UPDATE static_rules SET name = coalesce($4, name), priority = coalesce($5, priority),
                conditions = coalesce($6::jsonb, conditions), number_id = coalesce($7, number_id),
                source = CASE WHEN $8 THEN $9 ELSE source END, medium = CASE WHEN $10 THEN $11 ELSE medium END,
                campaign = CASE WHEN $12 THEN $13 ELSE campaign END
          WHERE account_id = $1 AND site_id = $2 AND id = $3
         RETURNING id, name, priority, conditions, number_id, source, medium, campaign, created_at`,
        [
          req.accountId,
          req.params.siteId,
          req.params.id,
          b.name ?? null,
          b.priority ?? null,
          b.conditions ? JSON.stringify(b.conditions) : null,
          b.numberId ?? null,
          b.source !== undefined,
          b.source ?? null,
          b.medium !== undefined,
          b.medium ?? null,
          b.campaign !== undefined,
          b.campaign ?? null,
        ],
      );
      if (rows.length === 0) throw new HttpError(404, 'not_found', `Static rule ${req.params.id} not found`);
      return camelize(rows[0]);
    },
  );

  r.delete(
    '/api/v1/sites/:siteId/static-rules/:id',
    { schema: { tags: ['numbers'], params: siteItemParams } },
    async (req, reply) => {
      const rows = await db.query(
        'DELETE FROM static_rules WHERE account_id = $1 AND site_id = $2 AND id = $3 RETURNING id',
        [req.accountId, req.params.siteId, req.params.id],
      );
      if (rows.length === 0) throw new HttpError(404, 'not_found', `Static rule ${req.params.id} not found`);
      reply.code(204);
    },
  );
}

export function publicUrl(ctx: AppContext): string {
  return ctx.config.publicUrl ?? `http://localhost:${ctx.config.port}`;
}

function normalizeSitePhones(
  body: Partial<z.infer<typeof createSiteBody>>,
  country: string,
): { defaultNumber: string | null; replaceNumbers: string[] } {
  const parse = (field: string, value: string) => {
    const e164 = parsePhone(value, country as never);
    if (!e164)
      throw new HttpError(400, 'invalid_request', `body.${field}: ${value} is not a valid phone number`);
    return e164;
  };
  return {
    defaultNumber: body.defaultNumber ? parse('defaultNumber', body.defaultNumber) : null,
    replaceNumbers: (body.replaceNumbers ?? []).map((n, i) => parse(`replaceNumbers.${i}`, n)),
  };
}

async function ensureDefaultNumber(
  q: Queryable,
  ctx: AppContext,
  accountId: string,
  siteId: string,
  e164: string,
) {
  const existing = await q.query<{ site_id: string | null; kind: string }>(
    'SELECT site_id, kind FROM numbers WHERE account_id = $1 AND e164 = $2',
    [accountId, e164],
  );
  if (existing.length === 0) {
    await q.query(
      `INSERT INTO numbers (account_id, id, site_id, e164, kind, created_at) VALUES ($1,$2,$3,$4,'default',$5)`,
      [accountId, randomUUID(), siteId, e164, ctx.clock.now()],
    );
  } else if (existing[0].site_id !== siteId || existing[0].kind !== 'default') {
    throw new HttpError(409, 'conflict', `body.defaultNumber: ${e164} is already used as another number`);
  }
}

export async function ensureHomePool(db: Queryable, ctx: AppContext, accountId: string, siteId: string) {
  const rows = await db.query<{ id: string }>(
    'SELECT id FROM pools WHERE account_id = $1 AND site_id = $2 AND region IS NULL',
    [accountId, siteId],
  );
  if (rows[0]) return rows[0].id;
  const id = randomUUID();
  await db.query(
    `INSERT INTO pools (account_id, id, site_id, name, region, created_at) VALUES ($1,$2,$3,'Home',NULL,$4)`,
    [accountId, id, siteId, ctx.clock.now()],
  );
  return id;
}
