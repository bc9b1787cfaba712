import { z } from 'zod';
import { timeZoneName } from '../http/validate.js';
import { ALL_CHANNELS } from '../tracking/channel.js';
import { staticRuleConditionsSchema } from '../tracking/static-rules.js';

const hostname = z
  .string()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9-]+\.)*[a-z0-9-]+$/i, 'must be a host name such as example.com');

/** A phone number as written by a person; parsed to E.164 with the site's country by the route. */
const phoneInput = z.string().min(3).max(40);

export const siteFields = {
  name: z.string().min(1).max(200),
  domains: z.array(hostname).max(50),
  timeZone: timeZoneName,
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as RUB'),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 country code such as RU'),
  homeRegion: z.string().max(200).nullable(),
  defaultNumber: phoneInput.nullable(),
  replaceNumbers: z.array(phoneInput).max(20),
  freezeMinutes: z.number().int().min(5).max(30),
  lateGraceMinutes: z.number().int().min(0).max(1440),
  targetedThresholdSeconds: z.number().int().min(0).max(3600),
  countUniqueness: z.boolean(),
  uniquenessWindowDays: z.number().int().min(1).max(3650).nullable(),
  leadGroups: z.array(z.string().min(1).max(200)).max(100),
  dynamicChannels: z.array(z.enum(ALL_CHANNELS)).max(ALL_CHANNELS.length),
  exhaustionPolicy: z.enum(['default', 'share']),
  multiRegional: z.boolean(),
  /** Which free pool number a new visit gets: least recently released (`lru`) or any (`random`). */
  numberSelection: z.enum(['lru', 'random']),
  /** A returning visitor keeps or gets back its earlier pool number. */
  visitorStickiness: z.boolean(),
  /** When a pool number is leased: at page load, or once a number is on screen or touched (`visible`). */
  leaseOn: z.enum(['load', 'visible']),
};

export const createSiteBody = z
  .object({
    ...siteFields,
    domains: siteFields.domains.default([]),
    timeZone: siteFields.timeZone.default('Europe/Moscow'),
    currency: siteFields.currency.default('RUB'),
    country: siteFields.country.default('RU'),
    homeRegion: siteFields.homeRegion.default(null),
    defaultNumber: siteFields.defaultNumber.default(null),
    replaceNumbers: siteFields.replaceNumbers.default([]),
    freezeMinutes: siteFields.freezeMinutes.default(15),
    lateGraceMinutes: siteFields.lateGraceMinutes.default(120),
    targetedThresholdSeconds: siteFields.targetedThresholdSeconds.default(30),
    countUniqueness: siteFields.countUniqueness.default(true),
    uniquenessWindowDays: siteFields.uniquenessWindowDays.default(null),
    leadGroups: siteFields.leadGroups.default([]),
    dynamicChannels: siteFields.dynamicChannels.default(['paid_search', 'paid_social', 'display']),
    exhaustionPolicy: siteFields.exhaustionPolicy.default('default'),
    multiRegional: siteFields.multiRegional.default(false),
    numberSelection: siteFields.numberSelection.default('lru'),
    visitorStickiness: siteFields.visitorStickiness.default(true),
    leaseOn: siteFields.leaseOn.default('load'),
  })
  .strict();

export const updateSiteBody = z.object(siteFields).partial().strict();

export const createPoolBody = z
  .object({ name: z.string().min(1).max(200), region: z.string().min(1).max(200).nullable().default(null) })
  .strict();

export const createNumberBody = z
  .object({
    number: phoneInput,
    kind: z.enum(['pool', 'static', 'default']),
    poolId: z.uuid().optional(),
    region: z.string().max(200).nullable().default(null),
    ownership: z.enum(['own', 'platform']).default('own'),
  })
  .strict();

const staticRuleFields = {
  name: z.string().min(1).max(200),
  priority: z.number().int().min(-1000).max(1000),
  conditions: staticRuleConditionsSchema,
  numberId: z.uuid(),
  source: z.string().max(200).nullable(),
  medium: z.string().max(200).nullable(),
  campaign: z.string().max(500).nullable(),
};

export const createStaticRuleBody = z
  .object({
    ...staticRuleFields,
    priority: staticRuleFields.priority.default(0),
    source: staticRuleFields.source.default(null),
    medium: staticRuleFields.medium.default(null),
    campaign: staticRuleFields.campaign.default(null),
  })
  .strict();

export const updateStaticRuleBody = z.object(staticRuleFields).partial().strict();

export const siteParams = z.object({ siteId: z.uuid() });
export const siteItemParams = z.object({ siteId: z.uuid(), id: z.uuid() });
