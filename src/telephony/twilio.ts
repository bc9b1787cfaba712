import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { twilioCallbackHookRoutes } from '../callbacks/twilio-hooks.js';
import { CALL_CHANNEL_SQL, CALLS_FROM } from '../calls/filters.js';
import type { CallEvent } from '../calls/reducer.js';
import type { Flow } from '../flows/model.js';
import { type Cursor, StepError, type StepInput, type StepResult, step, targetLabel } from '../flows/step.js';
import { flowForNumber, flowWithTimeZone } from '../flows/store.js';
import { type WhisperSource, whisperText } from '../flows/whisper.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { parsePhone } from '../phone/phone.js';
import { recordCallEvent } from './event-log.js';
import { type Form, keepRawForm, parseForm } from './form.js';
import {
  hookBaseUrl,
  hookIntegration,
  type IntegrationRow,
  insertIntegration,
  publicBaseUrl,
} from './integrations.js';
import { el, renderTwiml, renderXml } from './twiml.js';

/**
 * The TwiML-family adapter (Twilio; SignalWire and Telnyx TeXML speak the same verbs): the incoming voice
 * webhook answers with TwiML rendered from the site's default call flow, and the dial-action, gather,
 * voicemail, status and recording callbacks feed the normalized event log (reference/telephony.md §1, §6.4).
 */

type Params = Record<string, string[]>;

/** X-Twilio-Signature: base64 HMAC-SHA1, keyed with the auth token, of the full URL then each POST
 * parameter's name and value, sorted by name (reference/telephony.md §1.5). */
export function twilioSignature(authToken: string, url: string, params: Params): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    for (const value of params[name]) data += name + value;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** The URL as Twilio may have signed it: with and without the scheme's standard port. */
function urlVariants(url: string): string[] {
  const u = new URL(url);
  const standard = u.protocol === 'https:' ? '443' : u.protocol === 'http:' ? '80' : '';
  if (!standard) return [url];
  const [scheme, rest] = [`${u.protocol}//`, url.slice(u.protocol.length + 2)];
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const tail = slash === -1 ? '' : rest.slice(slash);
  const host = authority.endsWith(`:${standard}`) ? authority.slice(0, -standard.length - 1) : authority;
  return [url, `${scheme}${host}${tail}`, `${scheme}${host}:${standard}${tail}`].filter(
    (v, i, all) => all.indexOf(v) === i,
  );
}

export function validTwilioSignature(
  authToken: string,
  header: string | undefined,
  url: string,
  params: Params,
): boolean {
  if (!header) return false;
  const given = Buffer.from(header.trim());
  return urlVariants(url).some((candidate) => {
    const expected = Buffer.from(twilioSignature(authToken, candidate, params));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}

/** A position in a flow for one call, as it travels through action URLs. */
interface CursorToken extends Cursor {
  flowId: string;
  callSid: string;
}

const cursorMac = (secret: string, payload: string) =>
  createHmac('sha256', secret).update(`ringtrace-cursor:${payload}`).digest('base64url');

/** `base64url(json).mac`, so a caller cannot move itself to another node, flow or call. */
export function signCursor(secret: string, c: CursorToken): string {
  const payload = Buffer.from(
    JSON.stringify({ f: c.flowId, s: c.callSid, n: c.node, a: c.attempt, m: c.member }),
  ).toString('base64url');
  return `${payload}.${cursorMac(secret, payload)}`;
}

export function readCursor(secret: string, token: string): CursorToken | null {
  const [payload, mac, extra] = token.split('.');
  if (!payload || !mac || extra !== undefined) return null;
  const expected = Buffer.from(cursorMac(secret, payload));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const j = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof j.f !== 'string' || typeof j.s !== 'string' || typeof j.n !== 'string') return null;
    return {
      flowId: j.f,
      callSid: j.s,
      node: j.n,
      ...(typeof j.a === 'number' ? { attempt: j.a } : {}),
      ...(typeof j.m === 'number' ? { member: j.m } : {}),
    };
  } catch {
    return null;
  }
}

interface Integration {
  id: string;
  accountId: string;
  /** Keys the HMAC of the flow cursors in action URLs. */
  cursorKey: string;
}

interface Hook {
  integration: Integration;
  params: Record<string, string>;
}

/** What differs between Twilio, SignalWire and Telnyx TeXML: the kind, the signature check, the cursor key. */
export interface TexmlDialect {
  kind: 'twilio' | 'signalwire' | 'telnyx';
  /** The signature header(s), for the 403 message. */
  signatureName: string;
  /** Whether the request is signed by the provider; `url` is the public URL it was sent to. */
  verify(row: IntegrationRow, req: FastifyRequest, url: string, raw: string, form: Form): boolean;
  cursorKey(row: IntegrationRow): string;
}

const header = (req: FastifyRequest, name: string) => {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
};

const twilioDialect: TexmlDialect = {
  kind: 'twilio',
  signatureName: 'X-Twilio-Signature',
  verify: (row, req, url, _raw, form) =>
    validTwilioSignature(row.secret, header(req, 'x-twilio-signature'), url, form.all),
  cursorKey: (row) => row.secret,
};

const FINAL_STATUSES = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);

export function twilioHookRoutes(app: FastifyInstance, ctx: AppContext): void {
  texmlHookRoutes(app, ctx, twilioDialect);
}

/**
 * The voice, dial-action, gather, voicemail, status and recording hooks of one TwiML-family provider under
 * `/hooks/<kind>/{integrationId}/…`.
 */
export function texmlHookRoutes(app: FastifyInstance, ctx: AppContext, dialect: TexmlDialect): void {
  const { kind } = dialect;

  app.register(async (scope) => {
    keepRawForm(scope);

    /** Finds the integration, checks the provider's signature over the public URL and the form body. */
    async function verify(req: FastifyRequest<{ Params: { integrationId: string } }>): Promise<Hook> {
      const { integrationId } = req.params;
      const row = await hookIntegration(ctx, kind, integrationId);
      const raw = typeof req.body === 'string' ? req.body : '';
      const form = parseForm(raw);
      if (!dialect.verify(row, req, publicBaseUrl(ctx) + req.url, raw, form)) {
        throw new HttpError(
          403,
          'bad_signature',
          `${dialect.signatureName} does not match the URL and parameters`,
        );
      }
      const params = form.first;
      if (!params.CallSid) throw new HttpError(400, 'invalid_request', 'body.CallSid: required');
      return {
        integration: { id: integrationId, accountId: row.account_id, cursorKey: dialect.cursorKey(row) },
        params,
      };
    }

    async function store(
      hook: Hook,
      e: { key: string; type: CallEvent['type']; occurredAt: Date; payload: Record<string, unknown> },
    ): Promise<string> {
      const { integration, params } = hook;
      return recordCallEvent(ctx, integration, {
        ...e,
        // A <Dial> child leg belongs to the caller's call.
        providerCallId: params.ParentCallSid || params.CallSid,
        payload: { ...e.payload, [kind]: params },
      });
    }

    /** TwiML for one step result; action URLs carry the signed cursor. */
    function twiml(hook: Hook, flow: { id: string; definition: Flow }, result: StepResult): string {
      const flowId = flow.id;
      const { integration, params } = hook;
      const url = (path: string) => (c: Cursor) =>
        `${hookBaseUrl(ctx, kind, integration.id)}/${path}?cursor=${signCursor(integration.cursorKey, {
          ...c,
          flowId,
          callSid: params.CallSid,
        })}`;
      return renderTwiml(result.instructions, result.cursor, {
        gather: url('gather'),
        dial: url('dial-action'),
        voicemail: url('voicemail'),
        recording: `${hookBaseUrl(ctx, kind, integration.id)}/recording`,
        whisper: `${hookBaseUrl(ctx, kind, integration.id)}/whisper?${new URLSearchParams({
          call: params.CallSid,
          lang: flow.definition.language,
        })}`,
        // The employee's name rides in the signed URL: the leg's callbacks only know the dialed number.
        legStatus: (t) =>
          `${hookBaseUrl(ctx, kind, integration.id)}/status?${new URLSearchParams({ employee: targetLabel(t) })}`,
      });
    }

    const sendXml = (reply: FastifyReply, xml: string) =>
      reply.code(200).header('content-type', 'text/xml; charset=utf-8').send(xml);

    const sayAndHangUp = (text: string) =>
      renderXml(el('Response', {}, el('Say', { language: 'en-US' }, text), el('Hangup')));

    /** Steps the call's flow from a signed cursor; a flow that cannot go on hangs up with a log line. */
    async function advance(
      hook: Hook,
      token: string | undefined,
      input: (flow: Flow) => StepInput,
      log: FastifyBaseLogger,
    ): Promise<{ xml: string; result: StepResult | null; token: string }> {
      const cursor = token ? readCursor(hook.integration.cursorKey, token) : null;
      if (!cursor || cursor.callSid !== hook.params.CallSid) {
        throw new HttpError(403, 'bad_cursor', 'cursor is missing, forged or belongs to another call');
      }
      const found = await flowWithTimeZone(ctx.db, hook.integration.accountId, cursor.flowId);
      if (!found) {
        log.warn({ flowId: cursor.flowId }, `${kind}: the call flow was deleted during the call; hanging up`);
        return { xml: renderXml(el('Response', {}, el('Hangup'))), result: null, token: token as string };
      }
      try {
        const result = step(found.flow.definition, cursor, input(found.flow.definition), {
          now: ctx.clock.now(),
          timeZone: found.timeZone,
        });
        return { xml: twiml(hook, found.flow, result), result, token: token as string };
      } catch (err) {
        if (!(err instanceof StepError)) throw err;
        log.warn(
          { flowId: cursor.flowId, err: err.message },
          `${kind}: cannot step the call flow; hanging up`,
        );
        return { xml: renderXml(el('Response', {}, el('Hangup'))), result: null, token: token as string };
      }
    }

    type Req = FastifyRequest<{ Params: { integrationId: string }; Querystring: { cursor?: string } }>;
    const opts = { schema: { hide: true }, bodyLimit: 64 * 1024 };

    // Incoming call: log it, attribute it, answer with the first step of the site's default flow.
    scope.post(`/hooks/${kind}/:integrationId/voice`, opts, async (req: Req, reply) => {
      const hook = await verify(req);
      const { params } = hook;
      const now = ctx.clock.now();
      const from = params.From ? (parsePhone(params.From) ?? params.From) : null;
      const to = params.To ? (parsePhone(params.To) ?? params.To) : null;
      const callId = await store(hook, {
        key: `${params.CallSid}:voice`,
        type: 'call.started',
        occurredAt: now,
        payload: { from, to, startedAt: now.toISOString() },
      });
      const route = to ? await flowForNumber(ctx.db, hook.integration.accountId, to, callId) : null;
      if (!route?.flow) {
        req.log.warn(
          { integrationId: hook.integration.id, callSid: params.CallSid, to, siteId: route?.siteId ?? null },
          route?.siteId
            ? `${kind}: the site of the called number has no default call flow; hanging up`
            : `${kind}: the called number belongs to no site; hanging up`,
        );
        return sendXml(reply, sayAndHangUp('This number is not configured to take calls yet. Goodbye.'));
      }
      const result = step(
        route.flow.definition,
        null,
        { kind: 'start' },
        {
          now,
          timeZone: route.timeZone ?? 'UTC',
        },
      );
      return sendXml(reply, twiml(hook, route.flow, result));
    });

    // A <Dial> ended: answered → the call is the employee's; otherwise the flow goes on.
    scope.post(`/hooks/${kind}/:integrationId/dial-action`, opts, async (req: Req, reply) => {
      const hook = await verify(req);
      const { params } = hook;
      const s = params.DialCallStatus;
      const status =
        s === 'completed' || s === 'answered'
          ? 'answered'
          : s === 'busy' || s === 'failed' || s === 'canceled'
            ? s
            : 'no-answer';
      const out = await advance(hook, req.query.cursor, () => ({ kind: 'dial', status }), req.log);
      if (out.result?.connected) {
        const talk = Number.parseInt(params.DialCallDuration ?? '', 10);
        const talkSeconds = Number.isFinite(talk) && talk >= 0 ? talk : null;
        const now = ctx.clock.now();
        const answeredAt = new Date(now.getTime() - (talkSeconds ?? 0) * 1000);
        await store(hook, {
          key: `${params.CallSid}:dial-action:${out.token}`,
          type: 'call.answered',
          occurredAt: answeredAt,
          payload: {
            answeredAt: answeredAt.toISOString(),
            talkSeconds,
            employee: out.result.connected.employee,
            group: out.result.connected.group,
            recordingUrl: params.RecordingUrl || undefined,
          },
        });
      }
      return sendXml(reply, out.xml);
    });

    // The answering employee's leg, before it is bridged: say where the call came from (whisper). The
    // caller's CallSid rides in the URL, which X-Twilio-Signature covers.
    scope.post(
      `/hooks/${kind}/:integrationId/whisper`,
      opts,
      async (
        req: FastifyRequest<{
          Params: { integrationId: string };
          Querystring: { call?: string; lang?: string };
        }>,
        reply,
      ) => {
        const hook = await verify(req);
        const [call] = req.query.call
          ? await ctx.db.query<WhisperSource>(
              `SELECT ${CALL_CHANNEL_SQL} AS channel, coalesce(v.source, sr.source) AS source,
                      coalesce(v.campaign, sr.campaign) AS campaign, v.keyword
                 ${CALLS_FROM} WHERE c.account_id = $1 AND c.integration_id = $2 AND c.provider_call_id = $3`,
              [hook.integration.accountId, hook.integration.id, req.query.call],
            )
          : [];
        const language = req.query.lang ?? 'ru-RU';
        return sendXml(
          reply,
          renderXml(el('Response', {}, el('Say', { language }, whisperText(call ?? null, language)))),
        );
      },
    );

    // A menu got a key, or (through <Redirect>) no key at all.
    scope.post(`/hooks/${kind}/:integrationId/gather`, opts, async (req: Req, reply) => {
      const hook = await verify(req);
      const digits = hook.params.Digits ?? '';
      const out = await advance(
        hook,
        req.query.cursor,
        () => (digits ? { kind: 'digits', digits } : { kind: 'timeout' }),
        req.log,
      );
      return sendXml(reply, out.xml);
    });

    // A voicemail was recorded (or the caller hung up while recording).
    scope.post(`/hooks/${kind}/:integrationId/voicemail`, opts, async (req: Req, reply) => {
      const hook = await verify(req);
      const out = await advance(hook, req.query.cursor, () => ({ kind: 'recorded' }), req.log);
      if (hook.params.RecordingUrl) {
        await store(hook, {
          key: `${hook.params.CallSid}:voicemail:${out.token}`,
          type: 'call.recording',
          occurredAt: ctx.clock.now(),
          payload: { recordingUrl: hook.params.RecordingUrl },
        });
      }
      return sendXml(reply, out.xml);
    });

    // Call progress: of the inbound leg (a final status ends the call), or of a <Dial> child leg (one
    // employee's endpoint ringing, answering, ending).
    scope.post(
      `/hooks/${kind}/:integrationId/status`,
      opts,
      async (
        req: FastifyRequest<{ Params: { integrationId: string }; Querystring: { employee?: string } }>,
        reply,
      ) => {
        const hook = await verify(req);
        const { params } = hook;
        const stamp = params.Timestamp ? new Date(params.Timestamp) : null;
        const occurredAt = stamp && !Number.isNaN(stamp.getTime()) ? stamp : ctx.clock.now();
        const duration = Number.parseInt(params.CallDuration ?? '', 10);
        if (params.ParentCallSid) {
          const type = FINAL_STATUSES.has(params.CallStatus)
            ? 'leg.ended'
            : params.CallStatus === 'in-progress' || params.CallStatus === 'answered'
              ? 'leg.answered'
              : 'leg.started';
          await store(hook, {
            key: `${params.CallSid}:${params.CallStatus}:${params.SequenceNumber ?? ''}`,
            type,
            occurredAt,
            payload: {
              legId: params.CallSid,
              employee: req.query.employee ?? null,
              target: params.To || null,
              ...(type === 'leg.ended'
                ? { status: params.CallStatus, endedAt: occurredAt.toISOString() }
                : {}),
              // A completed child leg's duration is its connected time: the leg's summary.
              ...(params.CallStatus === 'completed' && Number.isFinite(duration)
                ? { talkSeconds: duration }
                : {}),
            },
          });
          return reply.code(204).send();
        }
        if (FINAL_STATUSES.has(params.CallStatus)) {
          const endedAt = occurredAt;
          await store(hook, {
            key: `${params.CallSid}:${params.CallStatus}:${params.SequenceNumber ?? ''}`,
            type: 'call.ended',
            occurredAt: endedAt,
            payload: {
              status: params.CallStatus,
              endedAt: endedAt.toISOString(),
              // The whole inbound leg (menu and ringing included), not the talk time.
              callDurationSeconds: Number.isFinite(duration) ? duration : null,
            },
          });
        }
        return reply.code(204).send();
      },
    );

    // A callback's employee leg (src/callbacks), under the same signature check; callbacks place calls
    // through Twilio's REST API only.
    if (kind === 'twilio') twilioCallbackHookRoutes(scope, ctx, verify);

    // A recording (voicemail or a recorded <Dial>) is ready.
    scope.post(`/hooks/${kind}/:integrationId/recording`, opts, async (req: Req, reply) => {
      const hook = await verify(req);
      const { params } = hook;
      if (params.RecordingStatus === 'completed' && params.RecordingUrl) {
        await store(hook, {
          key: `${params.RecordingSid ?? params.RecordingUrl}:${params.RecordingStatus}`,
          type: 'call.recording',
          occurredAt: ctx.clock.now(),
          payload: { recordingUrl: params.RecordingUrl },
        });
      }
      return reply.code(204).send();
    });
  });
}

/** `POST /api/v1/integrations/twilio`: connects a Twilio account by its auth token. */
export function twilioIntegrationRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/v1/integrations/twilio',
    {
      schema: {
        tags: ['telephony'],
        body: z
          .object({
            name: z.string().min(1).max(200),
            authToken: z.string().min(16).max(200),
            /** The account's SID (AC…), needed to place calls through the REST API (callbacks). */
            accountSid: z
              .string()
              .regex(/^AC[0-9a-f]{32}$/, 'must be a Twilio Account SID: AC and 32 hex digits')
              .optional(),
          })
          .strict(),
      },
    },
    async (req, reply) => {
      const id = await insertIntegration(ctx, req.accountId, {
        kind: 'twilio',
        name: req.body.name,
        secret: req.body.authToken,
        accountSid: req.body.accountSid,
      });
      const hooks = hookBaseUrl(ctx, 'twilio', id);
      reply.code(201);
      // The auth token is never shown back.
      return {
        id,
        kind: 'twilio' as const,
        name: req.body.name,
        accountSid: req.body.accountSid,
        voiceUrl: `${hooks}/voice`,
        statusCallbackUrl: `${hooks}/status`,
      };
    },
  );
}
