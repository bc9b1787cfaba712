import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Queryable } from '../db/db.js';
import { endpointSchema, scheduleNode } from '../flows/model.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { parsePhone } from '../phone/phone.js';
import { findSite } from '../sites/store.js';
import { DEFAULT_LIMITS } from './rules.js';

// Callback settings of a site: `GET/PUT /api/v1/sites/{siteId}/callback`.

const limit = z.number().int().min(1).max(1000);

export const callbackSettingsSchema = z
  .object({
    enabled: z.boolean(),
    /** A Twilio (with its accountSid) or Asterisk integration of the account places the calls. */
    integrationId: z.uuid(),
    /** The employee group rung first; its available members in order, after `endpoints`. */
    groupId: z.uuid().optional(),
    endpoints: z.array(endpointSchema).max(10).default([]),
    /** The number the visitor sees: one of the site's numbers. */
    callerId: z.string().min(1).max(40),
    /** How long each employee's phone rings, and then the visitor's. */
    ringTimeoutSeconds: z.number().int().min(5).max(120).default(30),
    /** Said to the employee (Twilio <Say>) before the visitor is dialed. */
    message: z.string().min(1).max(500).optional(),
    language: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'must be a language tag such as ru-RU')
      .default('ru-RU'),
    /** Working hours with the flow `schedule` node's semantics; absent = always open. */
    hours: scheduleNode.pick({ timeZone: true, hours: true, holidays: true }).optional(),
    /** Countries (ISO) whose numbers are called back; default the site's country. */
    countries: z
      .array(z.string().regex(/^[A-Z]{2}$/, 'must be an ISO country code such as RU'))
      .min(1)
      .max(50)
      .optional(),
    limits: z
      .object({ visitPer10Minutes: limit, visitPerDay: limit, ipPerHour: limit, numberPerDay: limit })
      .partial()
      .strict()
      .default({}),
  })
  .strict()
  .refine((s) => s.groupId !== undefined || s.endpoints.length > 0, {
    message: 'needs a groupId or endpoints to ring first',
    path: ['endpoints'],
  });

export type CallbackSettings = Omit<z.output<typeof callbackSettingsSchema>, 'countries' | 'limits'> & {
  countries: string[];
  limits: typeof DEFAULT_LIMITS;
};

/** The site's settings with defaults filled in, or null when none are stored. */
export async function loadCallbackSettings(
  q: Queryable,
  accountId: string,
  siteId: string,
): Promise<CallbackSettings | null> {
  const [row] = await q.query<{ settings: z.output<typeof callbackSettingsSchema>; country: string }>(
    `SELECT c.settings, s.country FROM callback_settings c
       JOIN sites s ON s.account_id = c.account_id AND s.id = c.site_id
      WHERE c.account_id = $1 AND c.site_id = $2`,
    [accountId, siteId],
  );
  if (!row) return null;
  const s = row.settings;
  return { ...s, countries: s.countries ?? [row.country], limits: { ...DEFAULT_LIMITS, ...s.limits } };
}

const siteParams = z.object({ siteId: z.uuid() });
const bad = (field: string, message: string) =>
  new HttpError(400, 'invalid_request', `${field}: ${message}`, [{ field, message }]);

export function callbackSettingsRoutes(app: FastifyInstance, ctx: AppContext): void {
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
}
