// amoCRM API v4 mapping: contact found by normalized phone or created, a lead linked to it with the
// source fields, a note with the source summary and a call_in note with the recording link.
// Requests and responses follow https://www.amocrm.ru/developers/content/crm_platform/contacts-api,
// …/leads-api and …/events-and-notes (call notes: params uniq, duration, source, link, phone, call_status).

import type { Clock } from '../clock.js';
import type { Db } from '../db/db.js';
import { JobFailure } from '../jobs/queue.js';
import { parsePhone, phoneDigitVariants, phoneRegion } from '../phone/phone.js';
import { retryAfterMs, sendJson } from './client.js';
import type { AmoSettings, CrmConnection } from './connections.js';
import { type CrmLink, saveLink } from './links.js';
import { type CrmSubject, subjectSummary, subjectTitle } from './subject.js';

/** amoCRM call_status: 4 — the conversation took place, 6 — not reached. */
const CALL_STATUS_TALKED = 4;
const CALL_STATUS_NOT_REACHED = 6;
/** Fixed statuses of every amoCRM pipeline. */
export const AMO_WON = 142;
export const AMO_LOST = 143;

interface Deps {
  db: Db;
  clock: Clock;
}

/** One amoCRM request; maps the documented error statuses onto retry decisions. */
export async function amoRequest(
  conn: CrmConnection,
  clock: Clock,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const settings = conn.settings as AmoSettings;
  const label = `${method} ${path}`;
  const res = await sendJson(label, `${settings.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${conn.credential}` },
    body,
  });
  if (res.status >= 200 && res.status < 300) return res.body;
  const detail = { request: label, status: res.status, response: res.body };
  if (res.status === 401)
    throw new JobFailure(`amoCRM: 401 — the access token is invalid or expired`, { retry: false, detail });
  if (res.status === 429)
    throw new JobFailure('amoCRM: 429 — too many requests', {
      retryAfterMs: retryAfterMs(res.headers, clock.now()) ?? 1000,
      detail,
    });
  if (res.status >= 500) throw new JobFailure(`amoCRM: ${res.status}`, { detail });
  // 400 validation errors, 402 (account unpaid), 403, 404: retrying the same request cannot help.
  throw new JobFailure(`amoCRM: ${res.status} for ${label}`, { retry: false, detail });
}

type AmoContact = {
  id: number;
  custom_fields_values?: Array<{ field_code?: string; values?: Array<{ value?: unknown }> }> | null;
};

/**
 * The first contact with this phone. amoCRM's `query` search is fuzzy (substring over all fields), so the
 * candidates' PHONE values are normalized and compared with the caller's E.164 number.
 */
export async function findAmoContact(
  conn: CrmConnection,
  clock: Clock,
  phone: string,
): Promise<number | null> {
  // The national significant number is a substring of every way the number may be written.
  const [, , nsn] = phoneDigitVariants(phone);
  const found = (await amoRequest(conn, clock, 'GET', `/api/v4/contacts?query=${nsn}`)) as {
    _embedded?: { contacts?: AmoContact[] };
  } | null;
  const region = phoneRegion(phone) ?? undefined;
  for (const contact of found?._embedded?.contacts ?? []) {
    for (const field of contact.custom_fields_values ?? []) {
      if (field.field_code !== 'PHONE') continue;
      for (const v of field.values ?? []) {
        if (typeof v.value === 'string' && parsePhone(v.value, region) === phone) return contact.id;
      }
    }
  }
  return null;
}

function leadFields(settings: AmoSettings, s: CrmSubject) {
  const fields = [];
  for (const [name, fieldId] of Object.entries(settings.fieldMap ?? {})) {
    const value = s.source[name as keyof CrmSubject['source']];
    if (value && fieldId) fields.push({ field_id: fieldId, values: [{ value }] });
  }
  return fields;
}

const firstId = (body: unknown, key: string): number => {
  const id = (body as { _embedded?: Record<string, Array<{ id?: number }>> } | null)?._embedded?.[key]?.[0]
    ?.id;
  if (typeof id !== 'number') throw new JobFailure(`amoCRM answered without a ${key} id`, { detail: body });
  return id;
};

/** Pushes one call or lead; every created id is saved as soon as amoCRM returns it. */
export async function pushToAmo(deps: Deps, conn: CrmConnection, s: CrmSubject, link: CrmLink) {
  const settings = conn.settings as AmoSettings;
  const done: string[] = [];
  const save = () => saveLink(deps.db, deps.clock, conn, s, link);

  if (!link.contactId && s.phone) {
    const existing = await findAmoContact(conn, deps.clock, s.phone);
    if (existing !== null) {
      link.contactId = String(existing);
      done.push('contact_found');
    } else {
      const created = await amoRequest(conn, deps.clock, 'POST', '/api/v4/contacts', [
        {
          name: s.name ?? s.phone,
          ...(settings.responsibleUserId ? { responsible_user_id: settings.responsibleUserId } : {}),
          custom_fields_values: [
            { field_code: 'PHONE', values: [{ value: s.phone, enum_code: 'WORK' }] },
            ...(s.email ? [{ field_code: 'EMAIL', values: [{ value: s.email, enum_code: 'WORK' }] }] : []),
          ],
        },
      ]);
      link.contactId = String(firstId(created, 'contacts'));
      done.push('contact_created');
    }
    await save();
  }

  const fields = leadFields(settings, s);
  if (!link.entityId) {
    const tags = ['Ringtrace', ...(settings.tags ?? []), ...(s.source.channel ? [s.source.channel] : [])];
    const created = await amoRequest(conn, deps.clock, 'POST', '/api/v4/leads', [
      {
        name: subjectTitle(s),
        ...(settings.pipelineId ? { pipeline_id: settings.pipelineId } : {}),
        ...(settings.statusId ? { status_id: settings.statusId } : {}),
        ...(settings.responsibleUserId ? { responsible_user_id: settings.responsibleUserId } : {}),
        ...(fields.length ? { custom_fields_values: fields } : {}),
        _embedded: {
          tags: tags.map((name) => ({ name })),
          ...(link.contactId ? { contacts: [{ id: Number(link.contactId) }] } : {}),
        },
      },
    ]);
    link.entityKind = 'lead';
    link.entityId = String(firstId(created, 'leads'));
    done.push('lead_created');
    await save();
  } else if (fields.length) {
    // A later event of the same call: the attribution may have changed since the lead was created.
    await amoRequest(conn, deps.clock, 'PATCH', `/api/v4/leads/${link.entityId}`, {
      custom_fields_values: fields,
    });
    done.push('lead_updated');
  }

  const notes: Array<{ purpose: string; note: unknown }> = [];
  // The source note goes with the lead (a screen pop on call.started included), the call note once it ended.
  if (!link.notes.source)
    notes.push({
      purpose: 'source',
      note: { note_type: 'common', params: { text: subjectSummary(s, { withCall: false }) } },
    });
  if (s.call && s.phone && s.call.ended && !link.notes.call) {
    notes.push({
      purpose: 'call',
      note: {
        note_type: 'call_in',
        params: {
          uniq: s.id,
          duration: s.call.talkSeconds,
          source: 'Ringtrace',
          ...(s.call.recordingUrl ? { link: s.call.recordingUrl } : {}),
          phone: s.phone,
          call_status: s.call.answered ? CALL_STATUS_TALKED : CALL_STATUS_NOT_REACHED,
        },
      },
    });
  }
  if (notes.length) {
    const created = (await amoRequest(
      conn,
      deps.clock,
      'POST',
      `/api/v4/leads/${link.entityId}/notes`,
      notes.map((n) => n.note),
    )) as { _embedded?: { notes?: Array<{ id?: number }> } } | null;
    const ids = created?._embedded?.notes ?? [];
    notes.forEach((n, i) => {
      link.notes[n.purpose] = String(ids[i]?.id ?? '');
      done.push(`${n.purpose}_note`);
    });
    await save();
  }
  return { contactId: link.contactId, leadId: link.entityId, done };
}
