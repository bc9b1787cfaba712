import { z } from 'zod';
import { type CallClass, CLASS_COLUMNS } from '../calls/classify.js';
import { ALL_CHANNELS } from '../tracking/channel.js';
import { DIMENSIONS, NO_CHANNEL } from './dimensions.js';
import { METRICS } from './metrics.js';
import { isCalendarDate, periodDays } from './period.js';

/** The longest period a report covers, in days (ten years). */
export const MAX_PERIOD_DAYS = 3660;

const localDate = z.string().refine(isCalendarDate, 'must be a date as YYYY-MM-DD');
const value = z.string().min(1).max(500);

const common = {
  siteId: z.uuid(),
  from: localDate,
  to: localDate,
  channel: z.enum([...ALL_CHANNELS, 'static', NO_CHANNEL]).optional(),
  source: value.optional(),
  medium: value.optional(),
  campaign: value.optional(),
  keyword: value.optional(),
  region: value.optional(),
  device: value.optional(),
  class: z.enum(Object.keys(CLASS_COLUMNS) as [CallClass, ...CallClass[]]).optional(),
};

function checkPeriod(q: { from: string; to: string }, ctx: z.RefinementCtx) {
  if (!isCalendarDate(q.from) || !isCalendarDate(q.to)) return;
  if (q.to < q.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
  else if (periodDays(q) > MAX_PERIOD_DAYS)
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: `the period must not exceed ${MAX_PERIOD_DAYS} days`,
    });
}

export const reportParams = z.object({ dimension: z.enum(DIMENSIONS) });

export const reportQuery = z
  .object({
    ...common,
    compare: z.enum(['previous']).optional(),
    sort: z.enum(['key', ...METRICS]).optional(),
    order: z.enum(['asc', 'desc']).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict()
  .superRefine(checkPeriod);

export const timeseriesQuery = z
  .object({
    ...common,
    interval: z.enum(['day', 'week', 'month']).default('day'),
    /** Comma-separated metric names; all metrics when omitted. */
    metrics: z
      .string()
      .regex(/^[a-z_]+(,[a-z_]+)*$/, 'must be comma-separated metric names')
      .optional(),
  })
  .strict()
  .superRefine(checkPeriod);
