import { CALL_SELECT, callView } from '../calls/view.js';
import type { Queryable } from '../db/db.js';
import { camelize } from '../http/rows.js';
import { LEAD_SELECT } from '../leads/routes.js';
import type { SourceField } from './connections.js';

/** A call or a lead as the CRM mappings see it: who, from which source, and the call's outcome. */
export interface CrmSubject {
  kind: 'call' | 'lead';
  id: string;
  siteId: string;
  /** E.164, or null (a lead with an email only, an anonymous caller). */
  phone: string | null;
  name: string | null;
  email: string | null;
  at: Date;
  source: Record<SourceField, string | null>;
  call?: {
    status: string;
    /** Past ringing and talking: its outcome is known. */
    ended: boolean;
    answered: boolean;
    talkSeconds: number;
    recordingUrl: string | null;
  };
  leadType?: string;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The subject's current state (not the event's snapshot: a retry pushes what is true now). */
export async function loadSubject(
  q: Queryable,
  accountId: string,
  kind: 'call' | 'lead',
  id: string,
): Promise<CrmSubject | null> {
  if (kind === 'call') {
    const [row] = await q.query(`${CALL_SELECT} WHERE c.account_id = $1 AND c.id = $2`, [accountId, id]);
    if (!row) return null;
    const c = callView(row);
    return {
      kind,
      id,
      siteId: String(c.siteId),
      phone: str(c.caller),
      name: null,
      email: null,
      at: new Date(c.startedAt as string),
      source: {
        utm_source: str(c.source),
        utm_medium: str(c.medium),
        utm_campaign: str(c.campaign),
        utm_term: str(c.keyword),
        utm_content: str(c.content),
        channel: str(c.channel),
        landing_page: str(c.landingUrl) ?? str(c.callPageUrl),
        tracking_number: str(c.trackingNumber),
      },
      call: {
        status: String(c.status),
        ended: c.status !== 'ringing' && c.status !== 'answered',
        answered: c.answeredAt !== null && c.answeredAt !== undefined,
        talkSeconds: Number(c.talkSeconds ?? 0),
        recordingUrl: str(c.recordingUrl),
      },
    };
  }
  const [row] = await q.query(`${LEAD_SELECT} WHERE l.account_id = $1 AND l.id = $2`, [accountId, id]);
  if (!row) return null;
  const l = camelize<Record<string, unknown>>(row);
  return {
    kind,
    id,
    siteId: String(l.siteId),
    phone: str(l.phone),
    name: str(l.name),
    email: str(l.email),
    at: new Date(l.createdAt as string),
    source: {
      utm_source: str(l.source),
      utm_medium: str(l.medium),
      utm_campaign: str(l.campaign),
      utm_term: str(l.keyword),
      utm_content: str(l.content),
      channel: str(l.channel),
      landing_page: str(l.landingUrl) ?? str(l.url),
      tracking_number: null,
    },
    leadType: String(l.type),
  };
}

/** Title of the CRM lead or deal. */
export function subjectTitle(s: CrmSubject): string {
  if (s.kind === 'call') return `Call from ${s.phone ?? 'a hidden number'}`;
  return `Website ${s.leadType ?? 'lead'} from ${s.name ?? s.phone ?? s.email ?? 'a visitor'}`;
}

/**
 * Plain-text lines for a CRM note or timeline comment: every known source field and, unless the CRM shows
 * the call in a call note of its own, the call's outcome and recording.
 */
export function subjectSummary(s: CrmSubject, opts: { withCall: boolean }): string {
  const lines = [`Ringtrace ${s.kind} ${s.id}`];
  if (s.call && opts.withCall) {
    lines.push(`status: ${s.call.status}`, `talk: ${s.call.talkSeconds} s`);
    if (s.call.recordingUrl) lines.push(`recording: ${s.call.recordingUrl}`);
  }
  if (s.phone) lines.push(`phone: ${s.phone}`);
  if (s.email) lines.push(`email: ${s.email}`);
  for (const [field, value] of Object.entries(s.source)) if (value) lines.push(`${field}: ${value}`);
  return lines.join('\n');
}
