import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CallEvent } from '../calls/reducer.js';
import type { Endpoint } from '../flows/model.js';
import { type StepResult, step, targetLabel } from '../flows/step.js';
import { flowForCall, numberRoute } from '../flows/store.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { parseOrThrow } from '../http/validate.js';
import { parsePhone } from '../phone/phone.js';
import { recordCallEvent } from './event-log.js';

/**
 * The Kamailio adapter (reference/telephony.md §5, reference/siplab/): Kamailio asks
 * `POST /hooks/kamailio/{id}/route` where to send a new INVITE and reports its dialog events to
 * `POST /hooks/kamailio/{id}/event`. Both carry the integration's token in `X-Ringtrace-Token`
 * (Kamailio's http_client can add a fixed header but cannot compute an HMAC). The session is the
 * Call-ID plus the caller's from-tag; idempotency keys are `ci:ft:<event>` (telephony.md §6.4).
 */

export const TOKEN_HEADER = 'x-ringtrace-token';

/** Kamailio's `$TV(Sn)`: "seconds.microseconds". */
const kamailioTime = z.string().regex(/^\d{9,11}(\.\d{1,6})?$/, 'must be "seconds.microseconds" ($TV(Sn))');
const sipId = z.string().min(1).max(300);
const sipUser = z.string().max(200);

const routeRequest = z
  .object({
    callId: sipId,
    fromTag: sipId,
    /** The caller's user part ($fU). */
    caller: sipUser,
    /** The dialed tracking number ($rU, before the R-URI is rewritten). */
    callee: sipUser.min(1),
    inviteTs: kamailioTime.optional(),
  })
  .strict();

const dialogEvent = z
  .object({
    /** dialog:start (answered), dialog:end (hung up after answering), dialog:failed (never answered). */
    event: z.enum(['start', 'end', 'failed']),
    callId: sipId,
    fromTag: sipId,
    inviteTs: kamailioTime.optional(),
    answerTs: kamailioTime.optional(),
    endTs: kamailioTime.optional(),
    /** Final reply code of a failed INVITE (486, 480, 408, 487, …). */
    code: z.coerce.number().int().min(300).max(699).optional(),
    reason: z.string().max(300).optional(),
    target: z.string().max(300).optional(),
    employee: z.string().max(200).optional(),
    group: z.string().max(200).optional(),
    endedBy: z.string().max(300).optional(),
  })
  .strict();

export type DialogEvent = z.infer<typeof dialogEvent>;

/** How a failed INVITE ends the call: busy, nobody answered (or the caller gave up ringing), or failed. */
export function failureStatus(code: number | undefined): NonNullable<CallEvent['status']> {
  if (code === 486 || code === 600) return 'busy';
  // 487: the caller hung up while it rang (CANCEL) — a missed call, not a canceled outbound attempt (§6.3).
  if (code === undefined || code === 408 || code === 480 || code === 487 || code === 603) return 'no-answer';
  return 'failed';
}

function fromKamailioTime(ts: string | undefined): Date | null {
  if (!ts) return null;
  const ms = Math.round(Number(ts) * 1000);
  return Number.isFinite(ms) ? new Date(ms) : null;
}

/** The routing answer Kamailio's cfg applies: the first SIP target of the flow's first dial. */
export interface RouteAnswer {
  target?: string;
  /** Every SIP target of the dial, for a cfg that forks (rtjson / append_branch). */
  targets?: string[];
  routing?: 'parallel' | 'serial';
  timeoutSec?: number;
  employee?: string;
  group?: string;
  /** Set instead of a target: the SIP reply code Kamailio should answer the caller with. */
  reject?: number;
  reason?: string;
}

/** A single routing decision from one step of the flow: its first dial, SIP targets only. */
export function routeAnswer(
  flow: { nodes: Record<string, { kind: string; name?: string }> },
  result: StepResult,
) {
  const dial = result.instructions.find((i) => i.op === 'dial');
  if (dial?.op !== 'dial') {
    return { reject: 480, reason: 'the call flow does not dial anyone' } satisfies RouteAnswer;
  }
  const sip = dial.targets.filter((t): t is Extract<Endpoint, { kind: 'sip' }> => t.kind === 'sip');
  if (sip.length === 0) {
    return {
      reject: 480,
      reason: 'the dial has no SIP target (phone targets need a gateway)',
    } satisfies RouteAnswer;
  }
  const nodeId = result.cursor?.node;
  const node = nodeId ? flow.nodes[nodeId] : undefined;
  return {
    target: sip[0].uri,
    targets: sip.map((t) => t.uri),
    routing: result.cursor?.member !== undefined ? 'serial' : 'parallel',
    timeoutSec: dial.timeoutSec,
    employee: targetLabel(sip[0]),
    group: node?.kind === 'ringGroup' ? (node.name ?? nodeId) : undefined,
  } satisfies RouteAnswer;
}

interface Hook {
  id: string;
  accountId: string;
}

export function kamailioHookRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.register(async (scope) => {
    // Kamailio posts JSON built with jansson; the body is parsed here so a wrong token is refused first.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
      done(null, body),
    );

    async function verify(req: FastifyRequest<{ Params: { integrationId: string } }>): Promise<Hook> {
      const { integrationId } = req.params;
      const row = z.uuid().safeParse(integrationId).success
        ? (
            await ctx.db.query<{ account_id: string; secret: string }>(
              `SELECT account_id, secret FROM integrations WHERE id = $1 AND kind = 'kamailio'`,
              [integrationId],
            )
          )[0]
        : undefined;
      if (!row) throw new HttpError(404, 'unknown_integration', `integration ${integrationId} not found`);
      const header = req.headers[TOKEN_HEADER];
      const given = Buffer.from(typeof header === 'string' ? header.trim() : '');
      const expected = Buffer.from(row.secret);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new HttpError(401, 'bad_token', 'X-Ringtrace-Token does not match the integration token');
      }
      return { id: integrationId, accountId: row.account_id };
    }

    /** The JSON body; jansson_set() writes unset $dlg_var()s as "", which here means absent. */
    function body(req: FastifyRequest): unknown {
      let json: unknown;
      try {
        json = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        throw new HttpError(400, 'malformed_json', 'Request body is not valid JSON');
      }
      if (json === null || typeof json !== 'object' || Array.isArray(json)) return json;
      return Object.fromEntries(Object.entries(json).filter(([, v]) => v !== ''));
    }

    async function store(
      hook: Hook,
      providerCallId: string,
      e: { key: string; type: CallEvent['type']; occurredAt: Date; payload: Record<string, unknown> },
    ): Promise<string> {
      return recordCallEvent(ctx, hook, { ...e, providerCallId });
    }

    type Req = FastifyRequest<{ Params: { integrationId: string } }>;
    const opts = { schema: { hide: true }, bodyLimit: 16 * 1024 };

    // A new INVITE: log and attribute the call, then answer with the flow's first dial.
    scope.post('/hooks/kamailio/:integrationId/route', opts, async (req: Req, reply) => {
      const hook = await verify(req);
      const r = parseOrThrow(routeRequest, body(req), 'body');
      const now = ctx.clock.now();
      const startedAt = fromKamailioTime(r.inviteTs) ?? now;
      const from = r.caller ? (parsePhone(r.caller) ?? r.caller) : null;
      const to = parsePhone(r.callee) ?? r.callee;
      const route = await numberRoute(ctx.db, hook.accountId, to);
      if (!route?.siteId) {
        // Not one of ours: Kamailio answers 404 and no call is recorded.
        return reply.code(404).send({ error: 'unknown_number', message: `${to} is not a tracking number` });
      }
      const callId = await store(hook, `${r.callId}:${r.fromTag}`, {
        key: `${r.callId}:${r.fromTag}:started`,
        type: 'call.started',
        occurredAt: startedAt,
        payload: {
          from,
          to,
          startedAt: startedAt.toISOString(),
          sip: { callId: r.callId, fromTag: r.fromTag },
        },
      });
      // Now that the call is attributed, a branch may serve its region.
      const flow = await flowForCall(ctx.db, hook.accountId, route, callId);
      let answer: RouteAnswer;
      if (!flow) {
        answer = { reject: 480, reason: 'the site has no default call flow' };
      } else {
        const definition = flow.definition;
        answer = routeAnswer(
          definition,
          step(definition, null, { kind: 'start' }, { now, timeZone: route.timeZone ?? 'UTC' }),
        );
      }
      if (answer.reject) {
        req.log.warn({ integrationId: hook.id, to, reason: answer.reason }, 'kamailio: call not routed');
      }
      return reply.code(200).send(answer);
    });

    // Dialog events: start = answered by the employee, end = hung up after talking, failed = never answered.
    scope.post('/hooks/kamailio/:integrationId/event', opts, async (req: Req, reply) => {
      const hook = await verify(req);
      const e = parseOrThrow(dialogEvent, body(req), 'body');
      const now = ctx.clock.now();
      const providerCallId = `${e.callId}:${e.fromTag}`;
      const answeredAt = fromKamailioTime(e.answerTs);
      let call: string;
      if (e.event === 'start') {
        const at = answeredAt ?? now;
        call = await store(hook, providerCallId, {
          key: `${providerCallId}:answered`,
          type: 'call.answered',
          occurredAt: at,
          payload: {
            answeredAt: at.toISOString(),
            employee: e.employee || undefined,
            group: e.group || undefined,
            target: e.target,
          },
        });
      } else if (e.event === 'end') {
        const at = fromKamailioTime(e.endTs) ?? now;
        call = await store(hook, providerCallId, {
          key: `${providerCallId}:ended`,
          type: 'call.ended',
          occurredAt: at,
          payload: {
            status: 'completed',
            endedAt: at.toISOString(),
            // Carried again so a lost dialog:start still yields the talk time.
            ...(answeredAt ? { answeredAt: answeredAt.toISOString() } : {}),
            employee: e.employee || undefined,
            group: e.group || undefined,
            endedBy: e.endedBy,
          },
        });
      } else {
        const at = fromKamailioTime(e.endTs) ?? now;
        call = await store(hook, providerCallId, {
          key: `${providerCallId}:failed`,
          type: 'call.ended',
          occurredAt: at,
          payload: {
            status: failureStatus(e.code),
            endedAt: at.toISOString(),
            sipCode: e.code ?? null,
            reason: e.reason,
            ...(e.code === 487 ? { hangupBy: 'caller' } : {}),
          },
        });
      }
      return reply.code(200).send({ ok: true, call });
    });
  });
}

/** `POST /api/v1/integrations/kamailio`: a Kamailio proxy; the token it must send is shown once. */
export function kamailioIntegrationRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/v1/integrations/kamailio',
    {
      schema: {
        tags: ['telephony'],
        body: z.object({ name: z.string().min(1).max(200) }).strict(),
      },
    },
    async (req, reply) => {
      const id = randomUUID();
      const token = randomBytes(24).toString('hex');
      await ctx.db.query(
        'INSERT INTO integrations (account_id, id, kind, name, secret, created_at) VALUES ($1,$2,$3,$4,$5,$6)',
        [req.accountId, id, 'kamailio', req.body.name, token, ctx.clock.now()],
      );
      const hooks = `${(ctx.config.publicUrl ?? `http://localhost:${ctx.config.port}`).replace(/\/+$/, '')}/hooks/kamailio/${id}`;
      reply.code(201);
      return {
        id,
        kind: 'kamailio' as const,
        name: req.body.name,
        token,
        routeUrl: `${hooks}/route`,
        eventUrl: `${hooks}/event`,
      };
    },
  );
}
