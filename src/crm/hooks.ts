// Deals coming back from the CRMs. Both send application/x-www-form-urlencoded bodies with bracketed
// keys. amoCRM webhooks are not signed (https://www.amocrm.ru/developers/content/crm_platform/webhooks-format),
// so the URL we issue carries a secret token; Bitrix24 outbound webhooks carry auth[application_token]
// (https://apidocs.bitrix24.com/api-reference/events/index.html), checked against the connection's token.
// Both only queue a job here: the deal is stored by the worker, with an attempt log and retries.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { enqueueJob } from '../jobs/queue.js';
import { CONNECTION_COLUMNS, type ConnectionRow, type CrmKind, openConnection } from './connections.js';
import { CRM_DEAL } from './enqueue.js';
import type { DealPayload } from './jobs.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const sameToken = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

export interface AmoLeadChange {
  leadId: string;
  statusId: number;
  price: string | null;
  updatedAt: string | null;
}

/** Lead changes of an amoCRM webhook (`leads[status][0][id]`, `leads[update][0][price]` …), last one per lead. */
export function parseAmoLeadChanges(form: URLSearchParams): AmoLeadChange[] {
  const byLead = new Map<string, AmoLeadChange>();
  for (const action of ['add', 'update', 'status']) {
    for (let i = 0; form.has(`leads[${action}][${i}][id]`); i++) {
      const field = (name: string) => form.get(`leads[${action}][${i}][${name}]`);
      const key = `leads[${action}][${i}]`;
      const leadId = field('id') as string;
      if (!/^\d{1,19}$/.test(leadId))
        throw new HttpError(400, 'invalid_request', `${key}[id]: "${leadId}" is not an amoCRM lead id`);
      const statusId = field('status_id') ?? '';
      if (!/^\d{1,19}$/.test(statusId))
        throw new HttpError(400, 'invalid_request', `${key}[status_id]: "${statusId}" is not a status id`);
      const price = field('price');
      if (price !== null && price !== '' && !/^\d+(\.\d+)?$/.test(price))
        throw new HttpError(400, 'invalid_request', `${key}[price]: "${price}" is not an amount`);
      byLead.set(leadId, {
        leadId,
        statusId: Number(statusId),
        price: price || null,
        updatedAt: field('updated_at') ?? field('last_modified'),
      });
    }
  }
  return [...byLead.values()];
}

export function crmHookRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => done(null, new URLSearchParams(body as string)),
    );

    const connection = async (req: FastifyRequest<{ Params: { connectionId: string } }>, kind: CrmKind) => {
      const { connectionId } = req.params;
      const [row] = z.uuid().safeParse(connectionId).success
        ? await ctx.db.query<ConnectionRow>(
            `SELECT ${CONNECTION_COLUMNS} FROM crm_connections WHERE id = $1 AND kind = $2`,
            [connectionId, kind],
          )
        : [];
      if (!row)
        throw new HttpError(404, 'unknown_connection', `${kind} connection ${connectionId} not found`);
      if (!(req.body instanceof URLSearchParams))
        throw new HttpError(415, 'unsupported_media_type', 'expected application/x-www-form-urlencoded');
      return { conn: openConnection(row, ctx.secrets), form: req.body };
    };

    const authenticate = (given: string | null | undefined, expected: string | null, name: string) => {
      if (!expected)
        throw new HttpError(403, 'hook_token_not_set', 'the connection has no token for incoming webhooks');
      if (!given) throw new HttpError(401, 'unauthorized', `${name} is required`);
      if (!sameToken(given, expected)) throw new HttpError(403, 'invalid_token', `${name} does not match`);
    };

    scope.post<{ Params: { connectionId: string }; Querystring: { token?: string } }>(
      '/hooks/amocrm/:connectionId',
      { schema: { hide: true } },
      async (req) => {
        const { conn, form } = await connection(req, 'amocrm');
        authenticate(typeof req.query.token === 'string' ? req.query.token : null, conn.hookToken, 'token');
        const changes = parseAmoLeadChanges(form);
        if (changes.length === 0 && !form.has('account[subdomain]'))
          throw new HttpError(
            400,
            'invalid_request',
            'body: not an amoCRM webhook (no leads[…] nor account[subdomain])',
          );
        const now = ctx.clock.now();
        const jobs = await ctx.db.tx(async (q) => {
          const ids: string[] = [];
          for (const c of changes) {
            const payload: DealPayload = {
              connectionId: conn.id,
              crm: 'amocrm',
              leadId: c.leadId,
              statusId: c.statusId,
              price: c.price,
            };
            const version = c.updatedAt ?? String(now.getTime());
            const job = await enqueueJob(q, ctx.clock, {
              accountId: conn.accountId,
              kind: CRM_DEAL,
              key: `${conn.id}:lead:${c.leadId}:${c.statusId}:${c.price ?? ''}:${version}`,
              payload,
            });
            ids.push(job.id);
          }
          return ids;
        });
        return { accepted: jobs.length, jobIds: jobs };
      },
    );

    scope.post<{ Params: { connectionId: string } }>(
      '/hooks/bitrix24/:connectionId',
      { schema: { hide: true } },
      async (req) => {
        const { conn, form } = await connection(req, 'bitrix24');
        authenticate(form.get('auth[application_token]'), conn.hookToken, 'auth[application_token]');
        const event = (form.get('event') ?? '').toUpperCase();
        if (!event) throw new HttpError(400, 'invalid_request', 'event: is required');
        if (event !== 'ONCRMDEALUPDATE' && event !== 'ONCRMDEALADD') return { accepted: 0, ignored: event };
        const dealId = form.get('data[FIELDS][ID]') ?? '';
        if (!/^\d{1,19}$/.test(dealId))
          throw new HttpError(400, 'invalid_request', `data[FIELDS][ID]: "${dealId}" is not a deal id`);
        const payload: DealPayload = { connectionId: conn.id, crm: 'bitrix24', dealId };
        const job = await enqueueJob(ctx.db, ctx.clock, {
          accountId: conn.accountId,
          kind: CRM_DEAL,
          // ts is the event's time: a re-delivered event is one job, a later change of the deal another.
          key: `${conn.id}:deal:${dealId}:${form.get('ts') ?? ctx.clock.now().getTime()}`,
          payload,
        });
        return { accepted: 1, jobIds: [job.id] };
      },
    );
  });
}
