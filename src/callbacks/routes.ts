import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { jobViews } from '../jobs/queue.js';
import { parsePhone } from '../phone/phone.js';
import { findSite } from '../sites/store.js';
import { ORIGINATE_JOB } from './request.js';
import { callbackSettingsSchema, loadCallbackSettings } from './settings.js';

// `GET/PUT /api/v1/sites/{siteId}/callback` (settings) and `GET /api/v1/leads/{id}/callback` (what happened).

const siteParams = z.object({ siteId: z.uuid() });
const bad = (field: string, message: string) =>
  new HttpError(400, 'invalid_request', `${field}: ${message}`, [{ field, message }]);

export function callbackRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const siteOr404 = async (accountId: string, siteId: string) => {
    const site = await findSite(ctx.db, accountId, siteId);
    if (!site) throw new HttpError(404, 'not_found', `Site ${siteId} not found`);
    return site;
  };

  r.get(
    '/api/v1/sites/:siteId/callback',
    { schema: { tags: ['leads'], params: siteParams } },
    async (req) => {
      await siteOr404(req.accountId, req.params.siteId);
      const settings = await loadCallbackSettings(ctx.db, req.accountId, req.params.siteId);
      if (!settings)
        throw new HttpError(404, 'not_found', `Site ${req.params.siteId} has no callback settings`);
      return settings;
    },
  );

  r.put(
    '/api/v1/sites/:siteId/callback',
    { schema: { tags: ['leads'], params: siteParams, body: callbackSettingsSchema } },
    async (req) => {
      const { accountId } = req;
      const site = await siteOr404(accountId, req.params.siteId);
      const b = req.body;
      const [integration] = await ctx.db.query<{ kind: string; account_sid: string | null }>(
        'SELECT kind, account_sid FROM integrations WHERE account_id = $1 AND id = $2',
        [accountId, b.integrationId],
      );
      if (!integration) throw bad('body.integrationId', `integration ${b.integrationId} not found`);
      if (integration.kind !== 'twilio' && integration.kind !== 'asterisk')
        throw bad('body.integrationId', `a ${integration.kind} integration cannot place calls`);
      if (integration.kind === 'twilio' && !integration.account_sid)
        throw bad(
          'body.integrationId',
          'the Twilio integration has no accountSid (set it on the integration)',
        );
      if (b.groupId) {
        const group = await ctx.db.query('SELECT 1 FROM employee_groups WHERE account_id = $1 AND id = $2', [
          accountId,
          b.groupId,
        ]);
        if (group.length === 0) throw bad('body.groupId', `employee group ${b.groupId} not found`);
      }
      const callerId = parsePhone(b.callerId, site.country as never);
      const own = callerId
        ? await ctx.db.query('SELECT 1 FROM numbers WHERE account_id = $1 AND site_id = $2 AND e164 = $3', [
            accountId,
            site.id,
            callerId,
          ])
        : [];
      if (own.length === 0 && callerId !== site.defaultNumber)
        throw bad('body.callerId', `${b.callerId} is not one of the site's numbers`);
      const settings = { ...b, callerId };
      await ctx.db.query(
        `INSERT INTO callback_settings (account_id, site_id, settings, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, site_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = EXCLUDED.updated_at`,
        [accountId, site.id, JSON.stringify(settings), ctx.clock.now()],
      );
      return loadCallbackSettings(ctx.db, accountId, site.id);
    },
  );

  r.get(
    '/api/v1/leads/:id/callback',
    { schema: { tags: ['leads'], params: z.object({ id: z.uuid() }) } },
    async (req) => {
      const [cb] = await ctx.db.query<{ phone: string; created_at: Date }>(
        'SELECT phone, created_at FROM callbacks WHERE account_id = $1 AND lead_id = $2',
        [req.accountId, req.params.id],
      );
      if (!cb) throw new HttpError(404, 'not_found', `Lead ${req.params.id} has no callback`);
      const [call] = await ctx.db.query<{ id: string; status: string }>(
        'SELECT id, status FROM calls WHERE account_id = $1 AND lead_id = $2',
        [req.accountId, req.params.id],
      );
      const jobs = await ctx.db.query<{ id: string }>(
        'SELECT id FROM jobs WHERE account_id = $1 AND kind = $2 AND key LIKE $3',
        [req.accountId, ORIGINATE_JOB, `${req.params.id}:%`],
      );
      return {
        leadId: req.params.id,
        phone: cb.phone,
        createdAt: cb.created_at,
        call: call ?? null,
        // One job per employee endpoint rung, each with its attempt log.
        attempts: await jobViews(
          ctx.db,
          req.accountId,
          jobs.map((j) => j.id),
        ),
      };
    },
  );
}
