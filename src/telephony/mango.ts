import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { parseOrThrow } from '../http/validate.js';
import { type ProviderEvent, recordCallEvent, storeCallEvents } from './event-log.js';
import { keepRawForm, parseForm, providerNumber } from './form.js';
import { hookBaseUrl, hookIntegration, insertIntegration } from './integrations.js';

/**
 * Mango Office VPBX API events (reference/telephony.md §4.1; "API Виртуальной АТС" v1.9): Mango posts
 * `vpbx_api_key`, `sign` and `json` as a form to `<external system URL>/events/call` (live leg states),
 * `/events/summary` (one per call after it ends, the authoritative result) and `/events/recording`.
 */

/** `sign = hex(sha256(vpbx_api_key + json + vpbx_api_salt))`, over the `json` field exactly as sent. */
export function mangoSign(apiKey: string, json: string, salt: string): string {
  return createHash('sha256')
    .update(apiKey + json + salt, 'utf8')
    .digest('hex');
}

const sameText = (a: string, b: string) => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
};

// Mango writes numbers both as JSON numbers and as digit strings ("seq": "1").
const int = z.union([z.number().int().min(0), z.string().regex(/^\d{1,15}$/)]).transform(Number);
const id = z.union([z.string().min(1).max(200), z.number()]).transform(String);
const party = z
  .object({
    extension: id.optional(),
    number: id.optional(),
    line_number: id.optional(),
    acd_group: id.optional(),
  })
  .loose();

const callEvent = z
  .object({
    entry_id: id,
    call_id: id,
    timestamp: int,
    seq: int,
    call_state: z.enum(['Appeared', 'Connected', 'OnHold', 'Disconnected']),
    location: z.string().max(50).optional(),
    from: party.optional(),
    to: party.optional(),
    disconnect_reason: id.optional(),
  })
  .loose();

const summaryEvent = z
  .object({
    entry_id: id,
    call_direction: int.optional(),
    from: party.optional(),
    to: party.optional(),
    line_number: id.optional(),
    create_time: int,
    forward_time: int.optional(),
    talk_time: int,
    end_time: int,
    entry_result: int,
    disconnect_reason: id.optional(),
  })
  .loose();

const recordingEvent = z
  .object({
    entry_id: id,
    call_id: id.optional(),
    recording_id: id,
    recording_state: z.string().max(50).optional(),
  })
  .loose();

export type MangoCallEvent = z.output<typeof callEvent>;
export type MangoSummary = z.output<typeof summaryEvent>;

const at = (unixSeconds: number) => new Date(unixSeconds * 1000);

/** A leg started by an employee's extension (an outgoing or internal call, or a transfer). */
const fromEmployee = (e: { from?: { extension?: string } }) => Boolean(e.from?.extension);

/**
 * One live leg state, keyed `entry_id:call_id:seq` (telephony.md §6.4); the call is the entry. Only a
 * Connected leg at an employee (`location: abonent`) is an answer: the voice menu connects too. A leg's
 * Disconnected does not end the call (the caller may go on to the next employee): the summary does.
 */
export function mangoCallEvent(e: MangoCallEvent): ProviderEvent {
  const occurredAt = at(e.timestamp);
  const base = { key: `call:${e.entry_id}:${e.call_id}:${e.seq}`, providerCallId: e.entry_id, occurredAt };
  const mango = { ...e };
  const inbound = !fromEmployee(e);
  if (e.call_state === 'Connected' && e.location === 'abonent' && inbound) {
    return {
      ...base,
      type: 'call.answered',
      payload: { answeredAt: occurredAt.toISOString(), employee: e.to?.extension ?? e.to?.number, mango },
    };
  }
  // The tracking line is `to.line_number`; an employee leg's `to.number` is the employee's phone.
  const line = e.to?.line_number ?? (e.location === 'abonent' ? undefined : e.to?.number);
  return {
    ...base,
    type: 'call.started',
    payload: {
      ...(e.call_state === 'Appeared' && inbound && e.from?.number
        ? { from: providerNumber(e.from.number) }
        : {}),
      ...(e.call_state === 'Appeared' && inbound && line ? { to: providerNumber(line) } : {}),
      mango,
    },
  };
}

/**
 * The end-of-call summary as the call's final event: its times outrank the live ones (`entry_result` 1 =
 * a conversation took place; `talk_time` is when it began, 0 when it did not).
 */
export function mangoSummaryEvent(e: MangoSummary): ProviderEvent {
  const answered = e.entry_result === 1 && e.talk_time > 0;
  const endedAt = at(e.end_time);
  const line = e.line_number ?? e.to?.line_number ?? e.to?.number;
  return {
    key: `summary:${e.entry_id}`,
    providerCallId: e.entry_id,
    type: 'call.ended',
    occurredAt: endedAt,
    payload: {
      ...(e.from?.number ? { from: providerNumber(e.from.number) } : {}),
      ...(line ? { to: providerNumber(line) } : {}),
      status: answered ? 'completed' : 'no-answer',
      startedAt: at(e.create_time).toISOString(),
      endedAt: endedAt.toISOString(),
      waitSeconds: Math.max(0, (answered ? e.talk_time : e.end_time) - e.create_time),
      talkSeconds: answered ? Math.max(0, e.end_time - e.talk_time) : 0,
      ...(answered ? { answeredAt: at(e.talk_time).toISOString(), employee: e.to?.extension } : {}),
      mango: { ...e },
    },
  };
}

/** Mango's call_direction: 1 is an incoming call; 0 (internal) and 2 (outgoing) are not tracked. */
const INBOUND = 1;

export function mangoHookRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.register(async (scope) => {
    keepRawForm(scope);

    /** Checks `vpbx_api_key` and `sign`, then parses `json`; nothing is stored before this passes. */
    async function verify(integrationId: string, body: unknown) {
      const row = await hookIntegration(ctx, 'mango', integrationId);
      const form = parseForm(body).first;
      const apiKey = String(row.settings.apiKey);
      const json = form.json ?? '';
      if (
        !sameText(form.vpbx_api_key ?? '', apiKey) ||
        !sameText(form.sign ?? '', mangoSign(apiKey, json, ctx.secrets.open(row.secret)))
      ) {
        throw new HttpError(403, 'bad_signature', 'vpbx_api_key or sign does not match this integration');
      }
      let data: unknown;
      try {
        data = JSON.parse(json);
      } catch {
        throw new HttpError(400, 'malformed_json', 'body.json is not valid JSON');
      }
      return { integration: { accountId: row.account_id, id: integrationId }, data };
    }

    type Req = { Params: { integrationId: string } };
    const opts = { schema: { hide: true }, bodyLimit: 64 * 1024 };

    scope.post<Req>('/hooks/mango/:integrationId/events/call', opts, async (req, reply) => {
      const { integration, data } = await verify(req.params.integrationId, req.body);
      const e = parseOrThrow(callEvent, data, 'body.json');
      if (fromEmployee(e)) {
        // Ringtrace tracks incoming calls: a leg an employee starts is kept in the event log only.
        await storeCallEvents(ctx.db, integration, [mangoCallEvent(e)], ctx.clock.now());
      } else {
        await recordCallEvent(ctx, integration, mangoCallEvent(e));
      }
      return reply.code(200).send({});
    });

    scope.post<Req>('/hooks/mango/:integrationId/events/summary', opts, async (req, reply) => {
      const { integration, data } = await verify(req.params.integrationId, req.body);
      const e = parseOrThrow(summaryEvent, data, 'body.json');
      if (e.call_direction !== undefined && e.call_direction !== INBOUND) {
        await storeCallEvents(ctx.db, integration, [mangoSummaryEvent(e)], ctx.clock.now());
      } else {
        await recordCallEvent(ctx, integration, mangoSummaryEvent(e));
      }
      return reply.code(200).send({});
    });

    // A recording started or finished; the file itself is fetched from Mango's API by its recording_id.
    scope.post<Req>('/hooks/mango/:integrationId/events/recording', opts, async (req, reply) => {
      const { integration, data } = await verify(req.params.integrationId, req.body);
      const e = parseOrThrow(recordingEvent, data, 'body.json');
      await storeCallEvents(
        ctx.db,
        integration,
        [
          {
            key: `recording:${e.entry_id}:${e.recording_id}:${e.recording_state ?? ''}`,
            providerCallId: e.entry_id,
            type: 'call.recording',
            occurredAt: ctx.clock.now(),
            payload: { mango: { ...e } },
          },
        ],
        ctx.clock.now(),
      );
      return reply.code(200).send({});
    });
  });
}

/** `POST /api/v1/integrations/mango`: connects a Mango Office VPBX by its API key and salt (stored sealed). */
export function mangoIntegrationRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/integrations/mango',
    {
      schema: {
        tags: ['telephony'],
        body: z
          .object({
            name: z.string().min(1).max(200),
            apiKey: z.string().min(8).max(200),
            apiSalt: z.string().min(8).max(200),
          })
          .strict(),
      },
    },
    async (req, reply) => {
      const { name, apiKey, apiSalt } = req.body;
      const id = await insertIntegration(ctx, req.accountId, {
        kind: 'mango',
        name,
        secret: ctx.secrets.seal(apiSalt),
        settings: { apiKey },
      });
      reply.code(201);
      // The salt is never shown back; Mango appends /events/call, /events/summary… to the external URL.
      return { id, kind: 'mango' as const, name, apiKey, externalSystemUrl: hookBaseUrl(ctx, 'mango', id) };
    },
  );
}
