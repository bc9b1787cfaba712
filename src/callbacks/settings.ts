import { z } from 'zod';
import type { Queryable } from '../db/db.js';
import { endpointSchema, scheduleNode } from '../flows/model.js';
import { DEFAULT_LIMITS } from './rules.js';

// Callback settings of a site (routes.ts serves them at `/api/v1/sites/{siteId}/callback`).

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
