import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CALL_SELECT } from '../calls/view.js';
import type { Endpoint } from '../flows/model.js';
import { type StepResult, step } from '../flows/step.js';
import { flowForNumber } from '../flows/store.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { parseOrThrow, timeZoneName } from '../http/validate.js';
import { wallClockToUtc } from '../time/zone.js';
import { type ProviderEvent, recordCallEvent, storeCallEvents } from './event-log.js';
import { keepRawForm, parseForm, providerNumber } from './form.js';
import { hookBaseUrl, hookIntegration, insertIntegration } from './integrations.js';

/**
 * Zadarma PBX notifications (reference/telephony.md §4.2; the official SDK, github.com/zadarma/user-api-v1,
 * lib/Webhook/*.php and lib/Api.php `getWebhookEvent`). Zadarma posts form fields with an `event` name to
 * one URL, signs each event over its own field concatenation, and takes a JSON routing reply to NOTIFY_START.
 */

/** The fields each event's `Signature` covers, concatenated in this order (`getSignatureString()`). */
const SIGNED_FIELDS = {
  NOTIFY_START: ['caller_id', 'called_did', 'call_start'],
  NOTIFY_INTERNAL: ['caller_id', 'called_did', 'call_start'],
  NOTIFY_ANSWER: ['caller_id', 'destination', 'call_start'],
  NOTIFY_END: ['caller_id', 'called_did', 'call_start'],
  NOTIFY_OUT_START: ['internal', 'destination', 'call_start'],
  NOTIFY_OUT_END: ['internal', 'destination', 'call_start'],
  NOTIFY_RECORD: ['pbx_call_id', 'call_id_with_rec'],
} as const;

export type ZadarmaEventName = keyof typeof SIGNED_FIELDS;

export const isZadarmaEvent = (e: string): e is ZadarmaEventName => Object.hasOwn(SIGNED_FIELDS, e);

/** `Signature`: base64 of the hex HMAC-SHA1 of the event's signed fields, keyed with the API secret (PHP
 * `base64_encode(hash_hmac('sha1', $string, $secret))`, whose hash_hmac returns hex). */
export function zadarmaSignature(
  secret: string,
  event: ZadarmaEventName,
  fields: Record<string, string>,
): string {
  const data = SIGNED_FIELDS[event].map((f) => fields[f] ?? '').join('');
  return Buffer.from(createHmac('sha1', secret).update(data, 'utf8').digest('hex')).toString('base64');
}

function validZadarmaSignature(
  secret: string,
  event: ZadarmaEventName,
  fields: Record<string, string>,
  header: string | undefined,
): boolean {
  if (!header) return false;
  const expected = Buffer.from(zadarmaSignature(secret, event, fields));
  const given = Buffer.from(header.trim());
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const text = z.string().min(1).max(200);
const optional = z.string().max(200).optional();
const callStart = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, 'must be YYYY-MM-DD HH:MM:SS');
const seconds = z.string().regex(/^\d{1,6}$/, 'must be whole seconds');

/** Every call event names the call and when it started. */
const callFields = { call_start: callStart, pbx_call_id: text };
/** What NOTIFY_END and NOTIFY_OUT_END report about the finished call. */
const ending = {
  duration: seconds,
  disposition: text,
  status_code: optional,
  is_recorded: optional,
  call_id_with_rec: optional,
};

/** Fields each event must carry (the SDK's public properties); fields Zadarma adds later are kept. */
const EVENT_FIELDS = {
  NOTIFY_START: z.object({ ...callFields, caller_id: text, called_did: text }).loose(),
  NOTIFY_INTERNAL: z.object({ ...callFields, caller_id: text, called_did: text, internal: optional }).loose(),
  NOTIFY_ANSWER: z.object({ ...callFields, caller_id: text, destination: text, internal: optional }).loose(),
  NOTIFY_END: z
    .object({ ...callFields, caller_id: text, called_did: text, internal: optional, ...ending })
    .loose(),
  NOTIFY_OUT_START: z.object({ ...callFields, destination: text, internal: optional }).loose(),
  NOTIFY_OUT_END: z
    .object({ ...callFields, destination: text, internal: optional, caller_id: optional, ...ending })
    .loose(),
  NOTIFY_RECORD: z.object({ pbx_call_id: text, call_id_with_rec: text }).loose(),
} satisfies Record<ZadarmaEventName, z.ZodType>;

/** `call_start` is wall-clock time in the PBX's time zone (the cabinet setting), without an offset. */
export function callStartToUtc(local: string, timeZone: string): Date {
  const [y, mo, d, h, mi, s] = local.split(/[- :]/).map(Number);
  return wallClockToUtc(Date.UTC(y, mo - 1, d, h, mi, s), timeZone);
}

/** Zadarma `disposition` → our final status; "cancel" is the caller hanging up while it rang: missed. */
export function zadarmaStatus(disposition: string): 'completed' | 'busy' | 'no-answer' | 'failed' {
  if (disposition === 'answered') return 'completed';
  if (disposition === 'busy') return 'busy';
  if (disposition === 'no answer' || disposition === 'cancel') return 'no-answer';
  return 'failed';
}

/**
 * One notification as our event, keyed `event:pbx_call_id:internal:destination` (telephony.md §6.4):
 * redelivery is skipped, and the extensions of one call each keep their own event.
 */
export function zadarmaEvent(
  event: ZadarmaEventName,
  f: Record<string, string>,
  timeZone: string,
  receivedAt: Date,
): ProviderEvent {
  const key = `${event}:${f.pbx_call_id}:${f.internal ?? ''}:${f.destination ?? f.call_id_with_rec ?? ''}`;
  const base = { key, providerCallId: f.pbx_call_id };
  const startedAt = f.call_start ? callStartToUtc(f.call_start, timeZone) : null;
  const zadarma = { event, ...f };
  switch (event) {
    case 'NOTIFY_START':
    case 'NOTIFY_INTERNAL':
      return {
        ...base,
        type: 'call.started',
        occurredAt: event === 'NOTIFY_START' ? (startedAt as Date) : receivedAt,
        payload: {
          from: providerNumber(f.caller_id),
          to: providerNumber(f.called_did),
          startedAt: startedAt?.toISOString(),
          zadarma,
        },
      };
    case 'NOTIFY_ANSWER':
      // The notification carries the call's start, not the answer: the answer is when it arrives.
      return {
        ...base,
        type: 'call.answered',
        occurredAt: receivedAt,
        payload: {
          from: providerNumber(f.caller_id),
          answeredAt: receivedAt.toISOString(),
          employee: f.internal || f.destination,
          zadarma,
        },
      };
    case 'NOTIFY_END': {
      const status = zadarmaStatus(f.disposition);
      return {
        ...base,
        type: 'call.ended',
        occurredAt: receivedAt,
        payload: {
          from: providerNumber(f.caller_id),
          to: providerNumber(f.called_did),
          status,
          startedAt: startedAt?.toISOString(),
          endedAt: receivedAt.toISOString(),
          // `duration` is the talk time of an answered call (it outranks computed times).
          ...(status === 'completed' ? { talkSeconds: Number(f.duration), employee: f.internal } : {}),
          zadarma,
        },
      };
    }
    case 'NOTIFY_OUT_START':
      return { ...base, type: 'call.started', occurredAt: startedAt as Date, payload: { zadarma } };
    case 'NOTIFY_OUT_END':
      return { ...base, type: 'call.ended', occurredAt: receivedAt, payload: { zadarma } };
    case 'NOTIFY_RECORD':
      return { ...base, type: 'call.recording', occurredAt: receivedAt, payload: { zadarma } };
  }
}

const EXTENSION = /^\d{1,10}(-\d{1,5})?$/;

/**
 * Where Zadarma can send a flow's dial target: the PBX extension (or scenario id) of a SIP target's user part
 * (`sip:101@…`), or the extension the integration maps an employee's phone number to. Null when neither.
 */
export function zadarmaDestination(target: Endpoint, extensions: Record<string, string>): string | null {
  if (target.kind === 'sip') {
    const user = /^sips?:([^@]+)@/.exec(target.uri)?.[1];
    return user && EXTENSION.test(user) ? user : null;
  }
  return extensions[target.number] ?? null;
}

export interface ZadarmaRedirect {
  redirect: string;
  return_timeout: number;
  caller_name?: string;
}

export type ZadarmaReply = ZadarmaRedirect | { hangup: 1 } | Record<string, never>;

const isRedirect = (r: ZadarmaReply): r is ZadarmaRedirect => 'redirect' in r;

/**
 * The NOTIFY_START reply for the flow's first step: redirect to the first dial target Zadarma can reach
 * (`return_timeout` = the ring time, after which Zadarma's own scenario goes on), hang up when the flow hangs
 * up, and `{}` (Zadarma's scenario decides) for menus and voicemail, which need Zadarma's own voice files.
 */
export function zadarmaReply(result: StepResult, extensions: Record<string, string>): ZadarmaReply {
  const blocking = result.instructions.find((i) => i.op !== 'say');
  if (!blocking || blocking.op === 'hangup') return { hangup: 1 };
  if (blocking.op !== 'dial') return {};
  for (const target of blocking.targets) {
    const redirect = zadarmaDestination(target, extensions);
    if (redirect) return { redirect, return_timeout: blocking.timeoutSec };
  }
  return {};
}

interface ZadarmaSettings {
  timeZone: string;
  extensions: Record<string, string>;
}

export function zadarmaHookRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.register(async (scope) => {
    keepRawForm(scope);

    // Zadarma checks the notification URL once by asking it to echo `zd_echo`.
    scope.get<{ Params: { integrationId: string }; Querystring: { zd_echo?: string } }>(
      '/hooks/zadarma/:integrationId',
      { schema: { hide: true } },
      async (req, reply) => {
        await hookIntegration(ctx, 'zadarma', req.params.integrationId);
        const echo = req.query.zd_echo;
        if (typeof echo !== 'string' || echo.length === 0 || echo.length > 200) {
          throw new HttpError(400, 'invalid_request', 'query.zd_echo: required (1-200 characters)');
        }
        return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send(echo);
      },
    );

    scope.post<{ Params: { integrationId: string } }>(
      '/hooks/zadarma/:integrationId',
      { schema: { hide: true }, bodyLimit: 64 * 1024 },
      async (req, reply) => {
        const { integrationId } = req.params;
        const row = await hookIntegration(ctx, 'zadarma', integrationId);
        const form = parseForm(req.body).first;
        const event = form.event ?? '';
        if (!isZadarmaEvent(event)) {
          throw new HttpError(400, 'unsupported_event', `body.event: ${event || '(missing)'} is not handled`);
        }
        const signature = req.headers.signature;
        if (
          !validZadarmaSignature(
            ctx.secrets.open(row.secret),
            event,
            form,
            typeof signature === 'string' ? signature : undefined,
          )
        ) {
          throw new HttpError(403, 'bad_signature', `Signature does not match the ${event} fields`);
        }
        const fields = parseOrThrow(EVENT_FIELDS[event], form, 'body') as Record<string, string>;
        const settings = row.settings as unknown as ZadarmaSettings;
        const integration = { accountId: row.account_id, id: integrationId };
        const now = ctx.clock.now();
        const e = zadarmaEvent(event, fields, settings.timeZone, now);
        if (event === 'NOTIFY_OUT_START' || event === 'NOTIFY_OUT_END') {
          // Ringtrace tracks incoming calls: an employee's outgoing call is kept in the event log only.
          await storeCallEvents(ctx.db, integration, [e], now);
          return reply.code(200).send({});
        }
        const callId = await recordCallEvent(ctx, integration, e);
        if (event !== 'NOTIFY_START') return reply.code(200).send({});
        return reply.code(200).send(await route(row.account_id, fields, settings, callId, req.log));
      },
    );

    /** The routing reply: the site's default flow of the called number, stepped to its first instruction. */
    async function route(
      accountId: string,
      fields: Record<string, string>,
      settings: ZadarmaSettings,
      callId: string,
      log: FastifyInstance['log'],
    ): Promise<ZadarmaReply> {
      const to = providerNumber(fields.called_did);
      const found = await flowForNumber(ctx.db, accountId, to, callId);
      if (!found.flow) {
        log.info(
          { to, siteId: found.siteId },
          'zadarma: no default call flow for the number; Zadarma routes',
        );
        return {};
      }
      const result = step(
        found.flow.definition,
        null,
        { kind: 'start' },
        {
          now: ctx.clock.now(),
          timeZone: found.timeZone ?? 'UTC',
        },
      );
      const reply = zadarmaReply(result, settings.extensions);
      if (!isRedirect(reply)) return reply;
      // The employee's phone shows where the caller came from.
      const call = (
        await ctx.db.query<{ source: string | null; medium: string | null; channel: string | null }>(
          `${CALL_SELECT} WHERE c.account_id = $1 AND c.id = $2`,
          [accountId, callId],
        )
      )[0];
      const label = [call?.source, call?.medium].filter(Boolean).join(' / ') || call?.channel;
      return label ? { ...reply, caller_name: label.slice(0, 60) } : reply;
    }
  });
}

const zadarmaTimeZone = timeZoneName.describe(
  'The time zone of the Zadarma cabinet, in which `call_start` is written',
);
const zadarmaExtensions = z
  .record(
    z.string().regex(/^\+[1-9]\d{6,14}$/, 'keys must be E.164 numbers such as +79035550007'),
    z.string().regex(EXTENSION, 'must be a Zadarma extension such as 100 or a scenario id such as 0-1'),
  )
  .describe('Employee phone number (E.164) → the Zadarma extension that rings it');

/**
 * `POST /api/v1/integrations/zadarma` connects a Zadarma PBX by its API secret (stored sealed);
 * `PATCH /api/v1/integrations/zadarma/{id}` changes its name, secret, time zone or extension map.
 */
export function zadarmaIntegrationRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  // The API secret is never shown back.
  const view = (id: string, name: string, settings: ZadarmaSettings) => ({
    id,
    kind: 'zadarma' as const,
    name,
    timeZone: settings.timeZone,
    extensions: settings.extensions,
    notifyUrl: hookBaseUrl(ctx, 'zadarma', id),
  });

  r.post(
    '/api/v1/integrations/zadarma',
    {
      schema: {
        tags: ['telephony'],
        body: z
          .object({
            name: z.string().min(1).max(200),
            apiSecret: z.string().min(8).max(200),
            timeZone: zadarmaTimeZone.default('Europe/Moscow'),
            extensions: zadarmaExtensions.default({}),
          })
          .strict(),
      },
    },
    async (req, reply) => {
      const { name, apiSecret, timeZone, extensions } = req.body;
      const id = await insertIntegration(ctx, req.accountId, {
        kind: 'zadarma',
        name,
        secret: ctx.secrets.seal(apiSecret),
        settings: { timeZone, extensions },
      });
      reply.code(201);
      return view(id, name, { timeZone, extensions });
    },
  );

  r.patch(
    '/api/v1/integrations/zadarma/:id',
    {
      schema: {
        tags: ['telephony'],
        params: z.object({ id: z.uuid() }),
        body: z
          .object({
            name: z.string().min(1).max(200).optional(),
            apiSecret: z.string().min(8).max(200).optional(),
            timeZone: zadarmaTimeZone.optional(),
            extensions: zadarmaExtensions.optional(),
          })
          .strict(),
      },
    },
    async (req) => {
      const { name, apiSecret, timeZone, extensions } = req.body;
      const rows = await ctx.db.query<{ name: string; settings: ZadarmaSettings }>(
        `UPDATE integrations
            SET name = coalesce($3, name),
                secret = coalesce($4, secret),
                settings = settings || $5::jsonb
          WHERE account_id = $1 AND id = $2 AND kind = 'zadarma'
          RETURNING name, settings`,
        [
          req.accountId,
          req.params.id,
          name ?? null,
          apiSecret ? ctx.secrets.seal(apiSecret) : null,
          JSON.stringify({ ...(timeZone ? { timeZone } : {}), ...(extensions ? { extensions } : {}) }),
        ],
      );
      if (!rows[0]) throw new HttpError(404, 'not_found', `zadarma integration ${req.params.id} not found`);
      return view(req.params.id, rows[0].name, rows[0].settings);
    },
  );
}
