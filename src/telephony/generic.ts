import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { processCall } from '../calls/service.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { parseOrThrow } from '../http/validate.js';
import { parsePhone } from '../phone/phone.js';
import { storeCallEvents } from './event-log.js';

const isoTime = z.iso.datetime({ offset: true });
const phone = z.string().min(3).max(40);

const eventBase = {
  id: z.string().min(1).max(200),
  callId: z.string().min(1).max(200),
  occurredAt: isoTime,
};
const employee = z.string().min(1).max(200);
const endStatus = z.enum(['completed', 'no-answer', 'busy', 'failed', 'canceled']);
const seconds = z.number().int().min(0).max(86_400);

/** One event of the generic signed JSON webhook (DESIGN §7): a call event, a leg event or a transfer. */
const genericEvent = z.discriminatedUnion('type', [
  z
    .object({
      ...eventBase,
      type: z.enum(['call.started', 'call.answered', 'call.ended']),
      from: phone.optional(),
      to: phone.optional(),
      employee: z.string().max(200).optional(),
      group: z.string().max(200).optional(),
      status: endStatus.optional(),
      startedAt: isoTime.optional(),
      answeredAt: isoTime.optional(),
      endedAt: isoTime.optional(),
      talkSeconds: seconds.optional(),
      waitSeconds: seconds.optional(),
      recordingUrl: z
        .url({ protocol: /^https?$/ })
        .max(2000)
        .optional(),
    })
    .strict(),
  // One attempt to reach an endpoint (telephony.md §6.2 CallLeg); legKind ivr/voicemail never answers the call.
  z
    .object({
      ...eventBase,
      type: z.enum(['leg.started', 'leg.answered', 'leg.ended']),
      legId: z.string().min(1).max(200),
      employee: employee.optional(),
      target: z.string().min(1).max(200).optional(),
      legKind: z.enum(['employee', 'ivr', 'voicemail']).optional(),
      status: endStatus.optional(),
      answeredAt: isoTime.optional(),
      endedAt: isoTime.optional(),
      talkSeconds: seconds.optional(),
    })
    .strict(),
  // The call moved from one employee to another; `from` and `to` name employees, not phone numbers.
  z
    .object({
      ...eventBase,
      type: z.literal('call.transferred'),
      from: employee.optional(),
      to: employee,
      kind: z.enum(['blind', 'attended']),
    })
    .strict(),
]);

const eventBatch = z.array(genericEvent).min(1).max(100);

export function signBody(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

function signatureMatches(secret: string, rawBody: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, rawBody));
  const given = Buffer.from(header.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `POST /hooks/generic/{integrationId}`: verify, store raw under the idempotency key, then rebuild calls. */
export function genericHookRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.register(async (scope) => {
    // The signature covers the exact bytes sent, so the body is kept raw until it is verified.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
      done(null, body),
    );

    scope.post<{ Params: { integrationId: string }; Body: string }>(
      '/hooks/generic/:integrationId',
      { schema: { hide: true }, bodyLimit: 256 * 1024 },
      async (req, reply) => {
        const { integrationId } = req.params;
        const integration = z.uuid().safeParse(integrationId).success
          ? (
              await ctx.db.query<{ account_id: string; secret: string }>(
                `SELECT account_id, secret FROM integrations WHERE id = $1 AND kind = 'generic'`,
                [integrationId],
              )
            )[0]
          : undefined;
        if (!integration)
          throw new HttpError(404, 'unknown_integration', `integration ${integrationId} not found`);
        const raw = typeof req.body === 'string' ? req.body : '';
        if (
          !signatureMatches(
            integration.secret,
            raw,
            req.headers['x-ringtrace-signature'] as string | undefined,
          )
        ) {
          throw new HttpError(
            401,
            'bad_signature',
            'X-Ringtrace-Signature does not match HMAC-SHA256 of the body',
          );
        }
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch {
          throw new HttpError(400, 'malformed_json', 'Request body is not valid JSON');
        }
        // One event or a batch; each shape validated on its own so errors name the exact field.
        const parsed = Array.isArray(json)
          ? parseOrThrow(eventBatch, json, 'body')
          : parseOrThrow(genericEvent, json, 'body');
        const events = Array.isArray(parsed) ? parsed : [parsed];
        const normalized = events.map((e, i) => {
          // A transfer's from/to are employees: stored apart from the call's phone numbers.
          if (e.type === 'call.transferred') {
            const { from, to, kind, ...rest } = e;
            return { ...rest, transfer: { from: from ?? null, to, kind } };
          }
          if (e.type !== 'call.started' && e.type !== 'call.answered' && e.type !== 'call.ended') return e;
          const where = Array.isArray(parsed) ? `body.${i}` : 'body';
          const number = (field: 'from' | 'to') => {
            const value = e[field];
            if (value === undefined) return undefined;
            const e164 = parsePhone(value);
            if (!e164)
              throw new HttpError(
                400,
                'invalid_request',
                `${where}.${field}: ${value} is not a valid phone number`,
              );
            return e164;
          };
          return { ...e, from: number('from'), to: number('to') };
        });

        const now = ctx.clock.now();
        const accountId = integration.account_id;
        await ctx.db.tx((q) =>
          storeCallEvents(
            q,
            { accountId, id: integrationId },
            normalized.map((e) => ({
              key: e.id,
              providerCallId: e.callId,
              type: e.type,
              occurredAt: e.occurredAt,
              payload: e,
            })),
            now,
          ),
        );
        const callIds: string[] = [];
        for (const providerCallId of new Set(normalized.map((e) => e.callId))) {
          callIds.push(await processCall(ctx, accountId, integrationId, providerCallId));
        }
        reply.code(200);
        return { accepted: normalized.length, calls: callIds };
      },
    );
  });
}

export function integrationRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/api/v1/integrations', { schema: { tags: ['telephony'] } }, async (req) => {
    const rows = await ctx.db.query(
      'SELECT id, kind, name, created_at FROM integrations WHERE account_id = $1 ORDER BY created_at',
      [req.accountId],
    );
    // Each adapter family has its own hook path: /hooks/generic/{id}, /hooks/twilio/{id}/voice, …
    return rows.map((row) => ({ ...camelize(row), webhookPath: `/hooks/${row.kind}/${row.id}` }));
  });
  r.post(
    '/api/v1/integrations',
    {
      schema: {
        tags: ['telephony'],
        body: z.object({ kind: z.literal('generic'), name: z.string().min(1).max(200) }).strict(),
      },
    },
    async (req, reply) => {
      const id = randomUUID();
      const secret = randomBytes(32).toString('hex');
      await ctx.db.query(
        'INSERT INTO integrations (account_id, id, kind, name, secret, created_at) VALUES ($1,$2,$3,$4,$5,$6)',
        [req.accountId, id, req.body.kind, req.body.name, secret, ctx.clock.now()],
      );
      reply.code(201);
      // The signing secret is shown once, at creation.
      return { id, kind: req.body.kind, name: req.body.name, secret, webhookPath: `/hooks/generic/${id}` };
    },
  );
}
