import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { JobFailure, type JobKind, type JobKinds, type QueuedJob } from '../jobs/queue.js';
import { type DealInput, saveDeal } from '../revenue/routes.js';
import { AMO_LOST, AMO_WON, amoRequest, pushToAmo } from './amocrm.js';
import { getBitrixContactPhone, getBitrixDeal, pushToBitrix } from './bitrix24.js';
import { type CrmConnection, loadConnection } from './connections.js';
import { CRM_DEAL, CRM_PUSH, type PushPayload } from './enqueue.js';
import { acquireLink, findLinkedSubject, releaseLink } from './links.js';
import { loadSubject } from './subject.js';

type Ctx = Pick<AppContext, 'db' | 'clock' | 'secrets'>;

/** A deal from the CRM's webhook: a Bitrix24 deal to fetch, or an amoCRM lead's new status and price. */
export type DealPayload =
  | { connectionId: string; crm: 'bitrix24'; dealId: string }
  | { connectionId: string; crm: 'amocrm'; leadId: string; statusId: number; price: string | null };

async function activeConnection(ctx: Ctx, job: QueuedJob<{ connectionId: string }>) {
  const conn = await loadConnection(ctx.db, ctx.secrets, job.accountId, job.payload.connectionId);
  if (!conn) throw new JobFailure('the CRM connection was deleted', { retry: false });
  if (!conn.active) throw new JobFailure('the CRM connection is inactive', { retry: false });
  return conn;
}

export type DealStatus = DealInput['status'];

/**
 * Stores a deal from the CRM through the one deal writer: on the call or lead its CRM record was created
 * for, or else on the latest call from the contact's phone up to `date` on one of the connection's sites.
 * Re-delivery replaces the deal with the same external id.
 */
export async function landDeal(
  ctx: Ctx,
  conn: CrmConnection,
  target: { kind: 'call' | 'lead'; id: string; siteId: string } | { phone: string; date: Date },
  deal: { status: DealStatus; amount: string; currency?: string; externalId: string },
) {
  const common = {
    amount: deal.amount,
    currency: deal.currency,
    status: deal.status,
    externalId: deal.externalId,
  };
  const asJobFailure = (err: unknown): never => {
    if (err instanceof HttpError)
      throw new JobFailure(err.message, { retry: false, detail: { code: err.code } });
    throw err;
  };
  if ('kind' in target) {
    const input = {
      siteId: target.siteId,
      ...(target.kind === 'call' ? { callId: target.id } : { leadId: target.id }),
      ...common,
    };
    const saved = await saveDeal(ctx, conn.accountId, input).catch(asJobFailure);
    return { dealId: saved.id, created: saved.created, matchedBy: `${target.kind}Id` };
  }
  const sites =
    conn.siteIds ??
    (
      await ctx.db.query<{ id: string }>('SELECT id FROM sites WHERE account_id = $1 ORDER BY created_at', [
        conn.accountId,
      ])
    ).map((s) => s.id);
  for (const siteId of sites) {
    try {
      const saved = await saveDeal(ctx, conn.accountId, {
        siteId,
        phone: target.phone,
        date: target.date.toISOString(),
        ...common,
      });
      return { dealId: saved.id, created: saved.created, matchedBy: 'phone' };
    } catch (err) {
      // No call from this phone on this site (or not a phone of its country): try the next site.
      const noMatch =
        err instanceof HttpError && (err.code === 'call_not_found' || err.message.startsWith('body.phone:'));
      if (noMatch) continue;
      asJobFailure(err);
    }
  }
  return { dealId: null, matchedBy: null, reason: `no call from ${target.phone} before the deal` };
}

export function amoDealStatus(statusId: number): DealStatus {
  return statusId === AMO_WON ? 'won' : statusId === AMO_LOST ? 'lost' : 'open';
}

export function bitrixDealStatus(semantic: string | undefined): DealStatus {
  return semantic === 'S' ? 'won' : semantic === 'F' ? 'lost' : 'open';
}

async function runDeal(ctx: Ctx, job: QueuedJob<DealPayload>) {
  const conn = await activeConnection(ctx, job);
  const p = job.payload;
  if (p.crm === 'bitrix24') {
    const deal = await getBitrixDeal(conn, ctx.clock, p.dealId);
    const status = bitrixDealStatus(deal.STAGE_SEMANTIC_ID);
    const linked =
      (await findLinkedSubject(ctx.db, conn, 'deal', deal.ID)) ??
      (deal.LEAD_ID ? await findLinkedSubject(ctx.db, conn, 'lead', String(deal.LEAD_ID)) : null);
    const money = {
      status,
      amount: String(deal.OPPORTUNITY ?? '0'),
      currency: deal.CURRENCY_ID || undefined,
      externalId: `bitrix24:${conn.id}:deal:${deal.ID}`,
    };
    if (linked) return { dealStatus: status, ...(await landDeal(ctx, conn, linked, money)) };
    // A deal we did not create counts once it is decided, on the caller's call before it.
    if (status === 'open' || !deal.CONTACT_ID) return { dealStatus: status, dealId: null, matchedBy: null };
    const phone = await getBitrixContactPhone(conn, ctx.clock, String(deal.CONTACT_ID));
    if (!phone) return { dealStatus: status, dealId: null, matchedBy: null, reason: 'contact has no phone' };
    const date = new Date(deal.DATE_MODIFY ?? ctx.clock.now());
    return { dealStatus: status, ...(await landDeal(ctx, conn, { phone, date }, money)) };
  }
  const status = amoDealStatus(p.statusId);
  const money = { status, amount: p.price ?? '0', externalId: `amocrm:${conn.id}:lead:${p.leadId}` };
  const linked = await findLinkedSubject(ctx.db, conn, 'lead', p.leadId);
  if (linked) return { dealStatus: status, ...(await landDeal(ctx, conn, linked, money)) };
  if (status === 'open') return { dealStatus: status, dealId: null, matchedBy: null };
  const lead = (await amoRequest(conn, ctx.clock, 'GET', `/api/v4/leads/${p.leadId}?with=contacts`)) as {
    created_at?: number;
    _embedded?: { contacts?: Array<{ id: number; is_main?: boolean }> };
  } | null;
  const contacts = lead?._embedded?.contacts ?? [];
  const contact = contacts.find((c) => c.is_main) ?? contacts[0];
  if (!contact) return { dealStatus: status, dealId: null, matchedBy: null, reason: 'lead has no contact' };
  const found = (await amoRequest(conn, ctx.clock, 'GET', `/api/v4/contacts/${contact.id}`)) as {
    custom_fields_values?: Array<{ field_code?: string; values?: Array<{ value?: string }> }> | null;
  } | null;
  const phone = found?.custom_fields_values
    ?.find((f) => f.field_code === 'PHONE')
    ?.values?.find((v) => v.value)?.value;
  if (!phone) return { dealStatus: status, dealId: null, matchedBy: null, reason: 'contact has no phone' };
  const date = lead?.created_at ? new Date(lead.created_at * 1000) : ctx.clock.now();
  return { dealStatus: status, ...(await landDeal(ctx, conn, { phone, date }, money)) };
}

async function runPush(ctx: Ctx, job: QueuedJob<PushPayload>) {
  const conn = await activeConnection(ctx, job);
  const subject = await loadSubject(ctx.db, job.accountId, job.payload.subject, job.payload.id);
  if (!subject)
    throw new JobFailure(`${job.payload.subject} ${job.payload.id} no longer exists`, { retry: false });
  const link = await acquireLink(ctx.db, ctx.clock, conn, subject);
  try {
    const deps = { db: ctx.db, clock: ctx.clock };
    return conn.kind === 'amocrm'
      ? await pushToAmo(deps, conn, subject, link)
      : await pushToBitrix(deps, conn, subject, link);
  } finally {
    await releaseLink(ctx.db, conn, subject);
  }
}

/** The CRM job kinds, for the worker of `ringtrace start` and the delivery log's manual retry. */
export function crmJobKinds(ctx: Ctx): JobKinds {
  const push: JobKind<PushPayload> = { run: (job) => runPush(ctx, job) };
  const deal: JobKind<DealPayload> = { run: (job) => runDeal(ctx, job) };
  return { [CRM_PUSH]: push, [CRM_DEAL]: deal } as JobKinds;
}
