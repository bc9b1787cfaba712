// Bitrix24 mapping through an inbound webhook (https://<portal>/rest/<user>/<code>/<method>.json):
// the caller deduplicated with crm.duplicate.findbycomm, then a lead (mode "lead") or a contact and a deal
// (mode "deal") with the UTM and source fields, and a timeline comment with the call and its recording.
// Methods: https://apidocs.bitrix24.com/api-reference/crm/ (crm.duplicate.findbycomm, crm.lead.add,
// crm.contact.add, crm.deal.add, crm.timeline.comment.add, crm.deal.get); errors come as
// {error, error_description}: https://apidocs.bitrix24.com/error-codes.html

import type { Clock } from '../clock.js';
import type { Db } from '../db/db.js';
import { JobFailure } from '../jobs/queue.js';
import { phoneDigitVariants } from '../phone/phone.js';
import { retryAfterMs, sendJson } from './client.js';
import type { BitrixSettings, CrmConnection } from './connections.js';
import { type CrmLink, saveLink } from './links.js';
import { type CrmSubject, subjectSummary, subjectTitle } from './subject.js';

interface Deps {
  db: Db;
  clock: Clock;
}

/** Errors that mean the webhook itself is wrong or revoked: retrying cannot help. */
const AUTH_ERRORS = new Set(['NO_AUTH_FOUND', 'INVALID_CREDENTIALS', 'expired_token', 'invalid_token']);

/** Calls one REST method; the webhook URL (which holds the secret) never reaches the log. */
export async function bitrixCall(
  conn: CrmConnection,
  clock: Clock,
  method: string,
  params: Record<string, unknown>,
): Promise<unknown> {
  const base = conn.credential.endsWith('/') ? conn.credential : `${conn.credential}/`;
  const res = await sendJson(method, `${base}${method}.json`, { method: 'POST', body: params });
  const body = res.body as { result?: unknown; error?: string; error_description?: string } | null;
  if (res.status >= 200 && res.status < 300 && body && !body.error) return body.result;
  const error = body?.error ?? `HTTP ${res.status}`;
  const message = `Bitrix24 ${method}: ${error}${body?.error_description ? ` — ${body.error_description}` : ''}`;
  const detail = { request: method, status: res.status, response: body };
  if (error === 'QUERY_LIMIT_EXCEEDED' || res.status === 429)
    throw new JobFailure(message, { retryAfterMs: retryAfterMs(res.headers, clock.now()) ?? 1000, detail });
  if (res.status === 401 || AUTH_ERRORS.has(error)) throw new JobFailure(message, { retry: false, detail });
  if (res.status >= 500) throw new JobFailure(message, { detail });
  throw new JobFailure(message, { retry: false, detail });
}

const asId = (result: unknown, method: string): string => {
  if (typeof result === 'number' || (typeof result === 'string' && /^\d+$/.test(result)))
    return String(result);
  throw new JobFailure(`Bitrix24 ${method} answered without an id`, { detail: { result } });
};

/**
 * Ids of contacts or leads with this phone. Bitrix24 matches the values as written, so every usual
 * spelling of the number is sent (+79161234567, 79161234567, 89161234567, 9161234567).
 */
async function findByPhone(
  conn: CrmConnection,
  clock: Clock,
  entityType: 'CONTACT' | 'LEAD',
  phone: string,
): Promise<string | null> {
  const values = [...new Set([phone, ...phoneDigitVariants(phone)])];
  const result = (await bitrixCall(conn, clock, 'crm.duplicate.findbycomm', {
    entity_type: entityType,
    type: 'PHONE',
    values,
  })) as Record<string, unknown[]> | unknown[] | null;
  // An empty result is an empty array; a hit is {CONTACT: [ids]}. The oldest contact is the person's card,
  // the newest lead the one that may still be open.
  const ids = result && !Array.isArray(result) ? (result[entityType] ?? []) : [];
  const sorted = ids
    .map(Number)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (!sorted.length) return null;
  return String(entityType === 'CONTACT' ? sorted[0] : sorted[sorted.length - 1]);
}

/** The caller's latest lead if it is still in progress (STATUS_SEMANTIC_ID P), to add the call to it. */
async function openLeadByPhone(conn: CrmConnection, clock: Clock, phone: string): Promise<string | null> {
  const id = await findByPhone(conn, clock, 'LEAD', phone);
  if (!id) return null;
  const lead = (await bitrixCall(conn, clock, 'crm.lead.get', { id })) as {
    STATUS_SEMANTIC_ID?: string;
  } | null;
  return lead?.STATUS_SEMANTIC_ID === 'P' ? id : null;
}

function sourceFields(settings: BitrixSettings, s: CrmSubject): Record<string, unknown> {
  const description = [
    'Ringtrace',
    s.source.channel,
    s.source.tracking_number && `tracking number ${s.source.tracking_number}`,
    s.source.landing_page,
  ]
    .filter(Boolean)
    .join(', ');
  const fields: Record<string, unknown> = {
    SOURCE_ID: s.kind === 'call' ? 'CALL' : 'WEB',
    SOURCE_DESCRIPTION: description,
  };
  const utm = {
    UTM_SOURCE: s.source.utm_source,
    UTM_MEDIUM: s.source.utm_medium,
    UTM_CAMPAIGN: s.source.utm_campaign,
    UTM_CONTENT: s.source.utm_content,
    UTM_TERM: s.source.utm_term,
  };
  for (const [key, value] of Object.entries(utm)) if (value) fields[key] = value;
  if (settings.assignedById) fields.ASSIGNED_BY_ID = settings.assignedById;
  return fields;
}

const communications = (s: CrmSubject) => ({
  ...(s.phone ? { PHONE: [{ VALUE: s.phone, VALUE_TYPE: 'WORK' }] } : {}),
  ...(s.email ? { EMAIL: [{ VALUE: s.email, VALUE_TYPE: 'WORK' }] } : {}),
});

/** Pushes one call or lead; every created id is saved as soon as Bitrix24 returns it. */
export async function pushToBitrix(deps: Deps, conn: CrmConnection, s: CrmSubject, link: CrmLink) {
  const settings = conn.settings as BitrixSettings;
  const done: string[] = [];
  const save = () => saveLink(deps.db, deps.clock, conn, s, link);
  const call = (method: string, params: Record<string, unknown>) =>
    bitrixCall(conn, deps.clock, method, params);
  const source = sourceFields(settings, s);
  const owner = settings.assignedById ? { ASSIGNED_BY_ID: settings.assignedById } : {};

  if (!link.contactId && s.phone) {
    const contact = await findByPhone(conn, deps.clock, 'CONTACT', s.phone);
    if (contact) {
      link.contactId = contact;
      done.push('contact_found');
      await save();
    } else if (settings.mode === 'deal') {
      const id = await call('crm.contact.add', {
        fields: { NAME: s.name ?? s.phone, SOURCE_ID: source.SOURCE_ID, ...owner, ...communications(s) },
        params: { REGISTER_SONET_EVENT: 'Y' },
      });
      link.contactId = asId(id, 'crm.contact.add');
      done.push('contact_created');
      await save();
    }
  }

  if (!link.entityId) {
    if (settings.mode === 'deal') {
      const id = await call('crm.deal.add', {
        fields: {
          TITLE: subjectTitle(s),
          ...(link.contactId ? { CONTACT_ID: Number(link.contactId) } : {}),
          ...source,
        },
        params: { REGISTER_SONET_EVENT: 'Y' },
      });
      link.entityKind = 'deal';
      link.entityId = asId(id, 'crm.deal.add');
      done.push('deal_created');
    } else {
      // A known contact gets a repeat lead; an unknown caller's open lead is reused, not duplicated.
      const existingLead =
        !link.contactId && s.phone ? await openLeadByPhone(conn, deps.clock, s.phone) : null;
      if (existingLead) {
        link.entityId = existingLead;
        done.push('lead_found');
      } else {
        const id = await call('crm.lead.add', {
          fields: {
            TITLE: subjectTitle(s),
            ...(link.contactId
              ? { CONTACT_ID: Number(link.contactId) }
              : { NAME: s.name ?? s.phone ?? s.email ?? undefined, ...communications(s) }),
            ...source,
          },
          params: { REGISTER_SONET_EVENT: 'Y' },
        });
        link.entityId = asId(id, 'crm.lead.add');
        done.push('lead_created');
      }
      link.entityKind = 'lead';
    }
    await save();
  }

  // The comment waits for the call's end, when its outcome and recording are known.
  if (!link.notes.summary && (!s.call || s.call.ended)) {
    const id = await call('crm.timeline.comment.add', {
      fields: {
        ENTITY_ID: Number(link.entityId),
        ENTITY_TYPE: link.entityKind,
        COMMENT: subjectSummary(s, { withCall: true }),
      },
    });
    link.notes.summary = asId(id, 'crm.timeline.comment.add');
    done.push('comment_added');
    await save();
  }
  return { contactId: link.contactId, [`${link.entityKind}Id`]: link.entityId, done };
}

export interface BitrixDeal {
  ID: string;
  STAGE_SEMANTIC_ID?: string;
  OPPORTUNITY?: string | number;
  CURRENCY_ID?: string;
  LEAD_ID?: string | null;
  CONTACT_ID?: string | null;
  CLOSEDATE?: string;
  DATE_MODIFY?: string;
}

export async function getBitrixDeal(conn: CrmConnection, clock: Clock, id: string): Promise<BitrixDeal> {
  const deal = (await bitrixCall(conn, clock, 'crm.deal.get', { id })) as BitrixDeal | null;
  if (!deal?.ID) throw new JobFailure(`Bitrix24 crm.deal.get ${id}: no deal`, { retry: false });
  return deal;
}

/** First phone of a Bitrix24 contact, for deals on contacts we did not create. */
export async function getBitrixContactPhone(
  conn: CrmConnection,
  clock: Clock,
  id: string,
): Promise<string | null> {
  const contact = (await bitrixCall(conn, clock, 'crm.contact.get', { id })) as {
    PHONE?: Array<{ VALUE?: string }>;
  } | null;
  return contact?.PHONE?.find((p) => p.VALUE)?.VALUE ?? null;
}
