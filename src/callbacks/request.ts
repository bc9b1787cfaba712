import type { Queryable } from '../db/db.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { enqueueJob } from '../jobs/queue.js';
import type { Site } from '../sites/store.js';
import { callbackNumberProblem, limitExceeded, nextOpening } from './rules.js';
import { type CallbackSettings, loadCallbackSettings } from './settings.js';

export const ORIGINATE_JOB = 'callback.originate';
/** A callback an hour late is no callback: a few quick retries, then it is logged as failed. */
export const ORIGINATE_ATTEMPTS = 4;

/** The job's payload: which callback, and which of the employee endpoints (in ringing order) to ring. */
export interface OriginatePayload {
  leadId: string;
  index: number;
}

export interface PlannedCallback {
  settings: CallbackSettings;
  /** When the first call is placed: now, or the next opening. */
  at: Date | null;
  state: 'scheduled' | 'outside_hours';
}

/** Over a callback limit: 429, with the seconds for `Retry-After`. */
export class CallbackLimitError extends HttpError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, 'callback_limit', message);
  }
}

/**
 * Checks a callback request before anything is stored: null when the site takes no callbacks (the lead
 * is stored as before); 400 for a number we will not call. Otherwise when the first call is due.
 */
export async function planCallback(
  ctx: AppContext,
  site: Site,
  phone: string | null,
): Promise<PlannedCallback | null> {
  const settings = await loadCallbackSettings(ctx.db, site.accountId, site.id);
  if (!settings?.enabled) return null;
  const field = (message: string) =>
    new HttpError(400, 'invalid_request', `body.phone: ${message}`, [{ field: 'body.phone', message }]);
  if (!phone) throw field('a callback needs the visitor’s phone number');
  const problem = callbackNumberProblem(phone, settings.countries);
  if (problem) throw field(problem);
  const now = ctx.clock.now();
  const at = settings.hours ? nextOpening(settings.hours, now, site.timeZone) : now;
  return { settings, at, state: at && at.getTime() === now.getTime() ? 'scheduled' : 'outside_hours' };
}

/** Throws CallbackLimitError when one more callback for this visit, IP or number breaks a limit. */
async function checkLimits(
  q: Queryable,
  ctx: AppContext,
  site: Site,
  plan: PlannedCallback,
  lead: { visitId: string; phone: string; ip: string },
): Promise<void> {
  // Concurrent requests of an account take turns, so a burst cannot slip past the counts together
  // (PGlite runs one transaction at a time anyway).
  if (ctx.db.kind === 'postgres')
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`callbacks:${site.accountId}`]);
  const now = ctx.clock.now();
  const since = new Date(now.getTime() - 86_400_000);
  const times = async (column: 'visit_id' | 'ip' | 'phone', value: string) =>
    (
      await q.query<{ created_at: Date }>(
        `SELECT created_at FROM callbacks WHERE account_id = $1 AND ${column} = $2 AND created_at > $3`,
        [site.accountId, value, since],
      )
    ).map((r) => new Date(r.created_at));
  const limits = plan.settings.limits;
  const over = limitExceeded(
    limits,
    {
      visit: await times('visit_id', lead.visitId),
      ip: await times('ip', lead.ip),
      number: await times('phone', lead.phone),
    },
    now,
  );
  if (over) {
    throw new CallbackLimitError(
      `callback limit ${over.limit} (${limits[over.limit]}) reached; retry in ${over.retryAfterSeconds} s`,
      over.retryAfterSeconds,
    );
  }
}

/**
 * Inside the lead's transaction: checks the limits (throwing CallbackLimitError, which rolls the lead back
 * too), records the callback and enqueues its first call.
 */
export async function scheduleCallback(
  q: Queryable,
  ctx: AppContext,
  site: Site,
  plan: PlannedCallback,
  lead: { id: string; visitId: string; phone: string; ip: string },
): Promise<void> {
  await checkLimits(q, ctx, site, plan, lead);
  await q.query(
    `INSERT INTO callbacks (account_id, lead_id, site_id, visit_id, phone, ip, integration_id, provider_call_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      site.accountId,
      lead.id,
      site.id,
      lead.visitId,
      lead.phone,
      lead.ip,
      plan.settings.integrationId,
      callbackCallId(lead.id),
      ctx.clock.now(),
    ],
  );
  // Closed all week (no hours at all): the lead is kept, nobody is called.
  if (!plan.at) return;
  const payload: OriginatePayload = { leadId: lead.id, index: 0 };
  await enqueueJob(q, ctx.clock, {
    accountId: site.accountId,
    kind: ORIGINATE_JOB,
    key: `${lead.id}:0`,
    payload,
    at: plan.at,
    maxAttempts: ORIGINATE_ATTEMPTS,
  });
}

/** The callback's call id in the event log, shared by all the legs it takes. */
export const callbackCallId = (leadId: string) => `callback:${leadId}`;
