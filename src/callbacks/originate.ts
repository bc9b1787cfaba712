import { loadDirectory, resolveFlow } from '../flows/directory.js';
import type { Endpoint, Flow } from '../flows/model.js';
import type { AppContext } from '../http/context.js';
import { enqueueJob, JobFailure, type JobKinds, type QueuedJob } from '../jobs/queue.js';
import { type ChannelTech, dialTarget } from '../telephony/asterisk.js';
import { recordCallEvent } from '../telephony/event-log.js';
import { AmiOriginateError, amiOriginate, ORIGINATE_REASONS } from './ami-originate.js';
import { callbackChannelId } from './asterisk-legs.js';
import { callbackCallId, ORIGINATE_ATTEMPTS, ORIGINATE_JOB, type OriginatePayload } from './request.js';
import { type CallbackSettings, loadCallbackSettings } from './settings.js';

/*
 * Placing a callback: the employees first, one endpoint at a time in ringing order (the explicit endpoints,
 * then the group's available members), each for the ring timeout; whoever answers is connected to the
 * visitor. Each endpoint is one run of the `callback.originate` job, so a provider request that fails is
 * retried and logged; an employee who does not answer passes the callback to the next endpoint's job.
 */

type Ctx = Omit<AppContext, 'geo'>;

/** Our public base URL, as Twilio calls (and signs) it. */
export const publicBase = (ctx: Pick<AppContext, 'config'>) =>
  (ctx.config.publicUrl ?? `http://localhost:${ctx.config.port}`).replace(/\/+$/, '');

interface Callback {
  accountId: string;
  leadId: string;
  phone: string;
  integrationId: string;
  settings: CallbackSettings;
  targets: Endpoint[];
}

/** The callback with its settings now and the endpoints to ring in order (availability as of now). */
export async function loadCallback(ctx: Ctx, accountId: string, leadId: string): Promise<Callback | null> {
  const [row] = await ctx.db.query<{ site_id: string; phone: string; integration_id: string }>(
    'SELECT site_id, phone, integration_id FROM callbacks WHERE account_id = $1 AND lead_id = $2',
    [accountId, leadId],
  );
  if (!row) return null;
  const settings = await loadCallbackSettings(ctx.db, accountId, row.site_id);
  if (!settings) return null;
  // The flow engine's ring group resolves employees exactly as an inbound call's would.
  const flow: Flow = {
    start: 'callback',
    language: settings.language,
    nodes: {
      callback: {
        kind: 'ringGroup',
        strategy: 'sequential',
        targets: settings.endpoints,
        groupId: settings.groupId,
        ringTimeoutSec: settings.ringTimeoutSeconds,
        record: false,
        whisper: false,
        next: 'callback',
      },
    },
  };
  const resolved = resolveFlow(flow, await loadDirectory(ctx.db, accountId, flow)).nodes.callback;
  return {
    accountId,
    leadId,
    phone: row.phone,
    integrationId: row.integration_id,
    settings,
    targets: resolved.kind === 'ringGroup' ? (resolved.targets as Endpoint[]) : [],
  };
}

const integrationRef = (cb: Pick<Callback, 'accountId' | 'integrationId'>) => ({
  accountId: cb.accountId,
  id: cb.integrationId,
});

/** The callback's call: started when the first employee is rung (from = the visitor, to = the caller id). */
async function recordStart(ctx: Ctx, cb: Callback): Promise<void> {
  const now = ctx.clock.now();
  await recordCallEvent(ctx as AppContext, integrationRef(cb), {
    key: `${callbackCallId(cb.leadId)}:started`,
    providerCallId: callbackCallId(cb.leadId),
    type: 'call.started',
    occurredAt: now,
    payload: {
      from: cb.phone,
      to: cb.settings.callerId,
      startedAt: now.toISOString(),
    },
  });
}

/**
 * Ends the callback's call without a conversation: `no-answer` (nobody took it: a missed callback) or
 * `failed` (the provider could not place it).
 */
export async function endCallback(
  ctx: Ctx,
  cb: Pick<Callback, 'accountId' | 'leadId' | 'integrationId'>,
  status: 'no-answer' | 'failed',
  reason: string,
): Promise<void> {
  const now = ctx.clock.now();
  await recordCallEvent(ctx as AppContext, integrationRef(cb), {
    key: `${callbackCallId(cb.leadId)}:ended`,
    providerCallId: callbackCallId(cb.leadId),
    type: 'call.ended',
    occurredAt: now,
    payload: { status, endedAt: now.toISOString(), reason },
  });
}

/** An employee endpoint did not take the callback: ring the next one, or end it as missed. */
export async function passToNextEmployee(
  ctx: Ctx,
  cb: Pick<Callback, 'accountId' | 'leadId' | 'integrationId'>,
  index: number,
  reason: string,
): Promise<'next' | 'missed'> {
  const full = await loadCallback(ctx, cb.accountId, cb.leadId);
  if (full && index + 1 < full.targets.length) {
    const payload: OriginatePayload = { leadId: cb.leadId, index: index + 1 };
    await enqueueJob(ctx.db, ctx.clock, {
      accountId: cb.accountId,
      kind: ORIGINATE_JOB,
      key: `${cb.leadId}:${index + 1}`,
      payload,
      maxAttempts: ORIGINATE_ATTEMPTS,
    });
    return 'next';
  }
  await endCallback(ctx, cb, 'no-answer', `no employee answered (last: ${reason})`);
  return 'missed';
}

/** The job kinds of callbacks, for src/jobs/kinds.ts. */
export function callbackJobKinds(ctx: Ctx): JobKinds {
  return {
    [ORIGINATE_JOB]: {
      run: (job: QueuedJob<OriginatePayload>) => originate(ctx, job),
      retryBaseMs: 30_000,
      retryMaxDelayMs: 120_000,
    },
  };
}

async function originate(ctx: Ctx, job: QueuedJob<OriginatePayload>): Promise<unknown> {
  const { leadId, index } = job.payload;
  const cb = await loadCallback(ctx, job.accountId, leadId);
  if (!cb) throw new JobFailure('the callback or its site’s settings are gone', { retry: false });
  if (!cb.settings.enabled) {
    // Turning callbacks off stops the ones still waiting (e.g. for the office to open).
    if (index > 0) await endCallback(ctx, cb, 'failed', 'callbacks were disabled for the site');
    throw new JobFailure('callbacks are disabled for the site', { retry: false });
  }
  await recordStart(ctx, cb);
  const target = cb.targets[index];
  if (!target) {
    await endCallback(ctx, cb, 'no-answer', 'no available employee to ring');
    return { outcome: 'missed', reason: 'no available employee to ring' };
  }
  const [integration] = await ctx.db.query<{
    kind: string;
    secret: string;
    account_sid: string | null;
    host: string | null;
    port: number | null;
    username: string | null;
    ami_secret: string | null;
    channel_tech: ChannelTech | null;
    trunk: string | null;
  }>(
    `SELECT i.kind, i.secret, i.account_sid, a.host, a.port, a.username, a.ami_secret, a.channel_tech, a.trunk
       FROM integrations i
       LEFT JOIN asterisk_integrations a ON a.account_id = i.account_id AND a.integration_id = i.id
      WHERE i.account_id = $1 AND i.id = $2`,
    [cb.accountId, cb.integrationId],
  );
  const fail = async (message: string, retry: boolean, detail?: unknown): Promise<never> => {
    // The last attempt's failure is the callback's: its call is logged as failed.
    if (!retry || job.attempt >= ORIGINATE_ATTEMPTS) await endCallback(ctx, cb, 'failed', message);
    throw new JobFailure(message, { retry, detail });
  };
  if (!integration) return fail('the integration that places callbacks was deleted', false);
  if (integration.kind === 'twilio') return originateTwilio(ctx, cb, index, target, integration, fail);
  if (integration.kind === 'asterisk' && integration.host)
    return originateAsterisk(ctx, cb, index, target, integration as AsteriskRow, fail);
  return fail(`a ${integration.kind} integration cannot place calls`, false);
}

type Fail = (message: string, retry: boolean, detail?: unknown) => Promise<never>;

/** Twilio's error body (twilio.com/docs/usage/twilios-response#response-formats-exceptions). */
interface TwilioError {
  code?: number;
  message?: string;
  more_info?: string;
  status?: number;
}

/**
 * `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` (twilio.com/docs/voice/api/call-resource#create-a-call-resource):
 * the employee's endpoint is `To`; once they answer, Twilio fetches `Url` for the TwiML that dials the visitor.
 */
async function originateTwilio(
  ctx: Ctx,
  cb: Callback,
  index: number,
  target: Endpoint,
  integration: { secret: string; account_sid: string | null },
  fail: Fail,
): Promise<unknown> {
  if (!integration.account_sid) return fail('the Twilio integration has no accountSid', false);
  const hooks = `${publicBase(ctx)}/hooks/twilio/${cb.integrationId}/callback`;
  const query = new URLSearchParams({ lead: cb.leadId, n: String(index) }).toString();
  const form = new URLSearchParams({
    To: target.kind === 'phone' ? target.number : target.uri,
    From: cb.settings.callerId,
    Url: `${hooks}/answer?${query}`,
    Method: 'POST',
    Timeout: String(cb.settings.ringTimeoutSeconds),
    StatusCallback: `${hooks}/status?${query}`,
    StatusCallbackMethod: 'POST',
  });
  // Several events are sent as repeated parameters, as Twilio's own helper libraries do.
  for (const event of ['initiated', 'ringing', 'answered', 'completed'])
    form.append('StatusCallbackEvent', event);
  const url = `${ctx.config.twilioApiUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${integration.account_sid}/Calls.json`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${integration.account_sid}:${integration.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form.toString(),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    return fail(`Twilio request failed: ${(err as Error).message}`, true);
  }
  const text = await res.text();
  let body: { sid?: string; status?: string } & TwilioError = {};
  try {
    body = JSON.parse(text);
  } catch {}
  if (res.status === 201 || res.status === 200) {
    return { provider: 'twilio', employee: target.name ?? null, to: form.get('To'), sid: body.sid ?? null };
  }
  const message = `Twilio ${res.status}${body.code ? ` (code ${body.code})` : ''}: ${body.message ?? text.slice(0, 200)}`;
  const detail = { status: res.status, code: body.code ?? null, moreInfo: body.more_info ?? null };
  // 4xx (bad parameters, bad credentials) repeat the same way; 429 and 5xx may pass later.
  const retry = res.status === 429 || res.status >= 500;
  return fail(message, retry, detail);
}

interface AsteriskRow {
  secret: string;
  host: string;
  port: number;
  username: string;
  ami_secret: string;
  channel_tech: ChannelTech;
  trunk: string | null;
}

/**
 * AMI `Originate` with `Async: true`: the employee's channel is called; when it answers, `Dial` calls the
 * visitor through the trunk. The OriginateResponse tells whether the employee answered.
 */
async function originateAsterisk(
  ctx: Ctx,
  cb: Callback,
  index: number,
  target: Endpoint,
  a: AsteriskRow,
  fail: Fail,
): Promise<unknown> {
  const channel = dialTarget(target, a.channel_tech, a.trunk);
  const visitor = dialTarget({ kind: 'phone', number: cb.phone }, a.channel_tech, a.trunk);
  if (!visitor) return fail('the Asterisk integration has no trunk to dial the visitor through', false);
  if (!channel) {
    const outcome = await passToNextEmployee(ctx, cb, index, 'endpoint Asterisk cannot dial');
    return { outcome, reason: 'endpoint Asterisk cannot dial' };
  }
  const timeout = cb.settings.ringTimeoutSeconds;
  const action = {
    Action: 'Originate',
    ActionID: `ringtrace-callback-${cb.leadId}-${index}`,
    Channel: channel,
    // The leg's Uniqueid, so the AMI connection knows its events are this callback's (asterisk-legs.ts).
    ChannelId: callbackChannelId(cb.leadId, index),
    Application: 'Dial',
    Data: `${visitor},${timeout}`,
    CallerID: `<${cb.settings.callerId}>`,
    Timeout: String(timeout * 1000),
    Async: 'true',
    Variable: `RINGTRACE_CALLBACK=${cb.leadId}`,
  };
  let result: Record<string, string>;
  try {
    result = await amiOriginate(
      { host: a.host, port: a.port, username: a.username, secret: a.ami_secret },
      action,
      (timeout + 15) * 1000,
    );
  } catch (err) {
    const retry = err instanceof AmiOriginateError ? err.retry : true;
    return fail((err as Error).message, retry);
  }
  const reason = ORIGINATE_REASONS[result.Reason ?? ''] ?? `reason ${result.Reason ?? 'unknown'}`;
  if (result.Response === 'Success') {
    return {
      provider: 'asterisk',
      employee: target.name ?? channel,
      channel,
      uniqueid: result.Uniqueid ?? null,
    };
  }
  const outcome = await passToNextEmployee(ctx, cb, index, reason);
  return { provider: 'asterisk', outcome, channel, reason };
}
