import { z } from 'zod';
import { LEAD_TYPES } from '../leads/routes.js';
import { CALL_RULE_CLASSES } from './settings.js';

// GA4 event names: a letter, then letters, digits or underscores, 40 at most, no reserved prefix
// (https://support.google.com/analytics/answer/13316687).
const eventName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, 'must be a letter then up to 39 letters, digits or _')
  .refine(
    (n) => !/^(firebase_|ga_|google_|gtag\.)/i.test(n),
    'must not start with firebase_, ga_ or google_',
  );

const valueFields = {
  /** Conversion value in major units (1500.50) when no won deal revenue is used. */
  value: z.number().nonnegative().max(1e9).default(0),
  /** Send the won deal revenue of the call or lead instead, when it has one by the time it is sent. */
  useRevenue: z.boolean().default(false),
};

const secret = z.string().trim().min(1).max(2000);

export const settingsBody = z
  .object({
    /** ISO 4217; default the site's currency. */
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code in capitals such as RUB')
      .optional(),
    /** Minutes to wait after a call ends or a lead arrives before sending, so a quick deal's revenue counts. */
    delayMinutes: z.number().int().min(0).max(4320).default(0),
    calls: z
      .object({
        class: z.enum(CALL_RULE_CLASSES),
        eventName: eventName.default('ringtrace_call'),
        ...valueFields,
      })
      .strict()
      .nullable()
      .default(null),
    leads: z
      .object({
        types: z
          .array(z.enum(LEAD_TYPES))
          .min(1)
          .default([...LEAD_TYPES]),
        eventName: eventName.default('ringtrace_lead'),
        ...valueFields,
      })
      .strict()
      .nullable()
      .default(null),
    destinations: z
      .object({
        ga4: z
          .object({
            measurementId: z
              .string()
              .regex(/^G-[A-Z0-9]{4,20}$/, 'must be a GA4 measurement id such as G-ABC123XYZ'),
            apiSecret: secret.optional(),
          })
          .strict()
          .optional(),
        metrika: z
          .object({
            counterId: z.string().regex(/^\d{1,12}$/, 'must be the numeric counter id'),
            oauthToken: secret.optional(),
          })
          .strict()
          .optional(),
        googleAds: z
          .object({
            customerId: z
              .string()
              .regex(/^\d{3}-?\d{3}-?\d{4}$/, 'must be a customer id such as 123-456-7890'),
            conversionActionId: z.string().regex(/^\d{1,20}$/, 'must be the numeric conversion action id'),
            loginCustomerId: z
              .string()
              .regex(/^\d{3}-?\d{3}-?\d{4}$/, 'must be a manager customer id such as 123-456-7890')
              .optional(),
            clientId: z.string().trim().min(1).max(300),
            developerToken: secret.optional(),
            clientSecret: secret.optional(),
            refreshToken: secret.optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type SettingsBody = z.output<typeof settingsBody>;
