import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { recordCallEvent } from '../telephony/event-log.js';
import { el, renderXml } from '../telephony/twiml.js';
import { loadCallback, passToNextEmployee, publicBase } from './originate.js';
import { callbackCallId } from './request.js';

/*
 * Twilio's requests about a callback's employee leg (the call our originate job placed), under
 * /hooks/twilio/{integrationId}/callback/…?lead=…&n=… (signed by X-Twilio-Signature, which covers the query):
 * `answer` (the employee picked up: TwiML that says the message and dials the visitor), `dial` (the <Dial>
 * of the visitor ended) and `status` (the employee leg's progress). Events go to the callback's call.
 */

const callbackQuery = z.object({ lead: z.uuid(), n: z.coerce.number().int().min(0).max(100) });
const FINAL = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);

type Req = FastifyRequest<{ Params: { integrationId: string }; Querystring: Record<string, unknown> }>;

/** A Twilio request whose X-Twilio-Signature checked out, with its form parameters. */
interface TwilioHook {
  integration: { id: string; accountId: string };
  params: Record<string, string>;
}

/** Registered by twilioHookRoutes inside its scope, which keeps form bodies raw for the signature check. */
export function twilioCallbackHookRoutes(
  scope: FastifyInstance,
  ctx: AppContext,
  verifyTwilio: (req: FastifyRequest<{ Params: { integrationId: string } }>) => Promise<TwilioHook>,
): void {
  const opts = { schema: { hide: true }, bodyLimit: 64 * 1024 };

  /** The signed request, and the callback it names, which must be this integration's. */
  async function verify(req: Req) {
    const hook = await verifyTwilio(req);
    const q = callbackQuery.safeParse(req.query);
    if (!q.success) throw new HttpError(400, 'invalid_request', 'querystring: lead and n are required');
    const cb = await loadCallback(ctx, hook.integration.accountId, q.data.lead);
    if (!cb || cb.integrationId !== hook.integration.id)
      throw new HttpError(404, 'unknown_callback', `callback ${q.data.lead} not found`);
    return { hook, cb, index: q.data.n };
  }
  const record = (
    hook: TwilioHook,
    leadId: string,
    e: { key: string; type: 'call.answered' | 'call.ended'; payload: object },
  ) => {
    const now = ctx.clock.now();
    return recordCallEvent(ctx, hook.integration, {
      key: `${callbackCallId(leadId)}:${e.key}`,
      providerCallId: callbackCallId(leadId),
      type: e.type,
      occurredAt: now,
      payload: { ...e.payload, twilio: hook.params },
    });
  };
  const sendXml = (reply: FastifyReply, xml: string) =>
    reply.code(200).header('content-type', 'text/xml; charset=utf-8').send(xml);

  scope.post('/hooks/twilio/:integrationId/callback/answer', opts, async (req: Req, reply) => {
    const { cb, index } = await verify(req);
    const s = cb.settings;
    const query = new URLSearchParams({ lead: cb.leadId, n: String(index) }).toString();
    const dial = el(
      'Dial',
      {
        callerId: s.callerId,
        timeout: String(s.ringTimeoutSeconds),
        action: `${publicBase(ctx)}/hooks/twilio/${cb.integrationId}/callback/dial?${query}`,
      },
      el('Number', {}, cb.phone),
    );
    return sendXml(
      reply,
      renderXml(
        el('Response', {}, ...(s.message ? [el('Say', { language: s.language }, s.message)] : []), dial),
      ),
    );
  });

  // The visitor's leg ended: answered (DialCallStatus completed) makes the callback a conversation.
  scope.post('/hooks/twilio/:integrationId/callback/dial', opts, async (req: Req, reply) => {
    const { hook, cb, index } = await verify(req);
    const p = hook.params;
    if (p.DialCallStatus === 'completed' || p.DialCallStatus === 'answered') {
      const talk = Number.parseInt(p.DialCallDuration ?? '', 10);
      const talkSeconds = Number.isFinite(talk) && talk >= 0 ? talk : null;
      const answeredAt = new Date(ctx.clock.now().getTime() - (talkSeconds ?? 0) * 1000);
      await record(hook, cb.leadId, {
        key: `answered:${p.CallSid}`,
        type: 'call.answered',
        payload: {
          answeredAt: answeredAt.toISOString(),
          talkSeconds,
          employee: cb.targets[index]?.name ?? null,
        },
      });
    }
    return sendXml(reply, renderXml(el('Response', {}, el('Hangup'))));
  });

  // The employee leg's progress: unanswered → the next employee (or a missed callback); completed → the end.
  scope.post('/hooks/twilio/:integrationId/callback/status', opts, async (req: Req, reply) => {
    const { hook, cb, index } = await verify(req);
    const status = hook.params.CallStatus;
    if (!FINAL.has(status)) return reply.code(204).send();
    if (status === 'completed') {
      await record(hook, cb.leadId, {
        key: `ended:${hook.params.CallSid}`,
        type: 'call.ended',
        // The leg is over: completed if the dial action logged the visitor answering, else a missed callback.
        payload: { status: 'no-answer', endedAt: ctx.clock.now().toISOString() },
      });
    } else {
      await passToNextEmployee(ctx, cb, index, `employee leg ${status}`);
    }
    return reply.code(204).send();
  });
}
