import type { Clock } from '../clock.js';
import type { Queryable } from '../db/db.js';
import { JobFailure } from '../jobs/queue.js';
import type { CrmConnection } from './connections.js';
import type { CrmSubject } from './subject.js';

/** What one connection created in its CRM for one call or lead. */
export interface CrmLink {
  contactId: string | null;
  entityKind: string | null;
  entityId: string | null;
  notes: Record<string, string>;
}

/** How long a push may hold a link before another push of the same call may take it over. */
const LEASE_MS = 2 * 60_000;
/** When another push of the same call holds the link, try again after this. */
export const LINK_BUSY_RETRY_MS = 30_000;

/**
 * Takes the link of (connection, subject), creating it empty, under a lease: the pushes of `call.started`
 * and `call.ended` may run at once, and only one may create the CRM records.
 */
export async function acquireLink(
  q: Queryable,
  clock: Clock,
  conn: CrmConnection,
  s: CrmSubject,
): Promise<CrmLink> {
  const now = clock.now();
  await q.query(
    `INSERT INTO crm_links (account_id, connection_id, subject_kind, subject_id, site_id, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$6) ON CONFLICT DO NOTHING`,
    [conn.accountId, conn.id, s.kind, s.id, s.siteId, now],
  );
  const [row] = await q.query<{
    contact_id: string | null;
    entity_kind: string | null;
    entity_id: string | null;
    notes: Record<string, string>;
  }>(
    `UPDATE crm_links SET locked_until = $5
      WHERE account_id = $1 AND connection_id = $2 AND subject_kind = $3 AND subject_id = $4
        AND (locked_until IS NULL OR locked_until <= $6)
      RETURNING contact_id, entity_kind, entity_id, notes`,
    [conn.accountId, conn.id, s.kind, s.id, new Date(now.getTime() + LEASE_MS), now],
  );
  if (!row)
    throw new JobFailure(`another push of ${s.kind} ${s.id} is in progress`, {
      retryAfterMs: LINK_BUSY_RETRY_MS,
    });
  return {
    contactId: row.contact_id,
    entityKind: row.entity_kind,
    entityId: row.entity_id,
    notes: row.notes,
  };
}

/** Records what was just created, at once, so a failure later in the push does not create it again. */
export async function saveLink(
  q: Queryable,
  clock: Clock,
  conn: CrmConnection,
  s: CrmSubject,
  link: CrmLink,
): Promise<void> {
  await q.query(
    `UPDATE crm_links SET contact_id = $5, entity_kind = $6, entity_id = $7, notes = $8, updated_at = $9
      WHERE account_id = $1 AND connection_id = $2 AND subject_kind = $3 AND subject_id = $4`,
    [
      conn.accountId,
      conn.id,
      s.kind,
      s.id,
      link.contactId,
      link.entityKind,
      link.entityId,
      JSON.stringify(link.notes),
      clock.now(),
    ],
  );
}

export async function releaseLink(q: Queryable, conn: CrmConnection, s: CrmSubject): Promise<void> {
  await q.query(
    `UPDATE crm_links SET locked_until = NULL
      WHERE account_id = $1 AND connection_id = $2 AND subject_kind = $3 AND subject_id = $4`,
    [conn.accountId, conn.id, s.kind, s.id],
  );
}

/** The call or lead a CRM record was created for (the earliest, when several share it). */
export async function findLinkedSubject(
  q: Queryable,
  conn: Pick<CrmConnection, 'accountId' | 'id'>,
  entityKind: string,
  entityId: string,
): Promise<{ kind: 'call' | 'lead'; id: string; siteId: string } | null> {
  const [row] = await q.query<{ subject_kind: 'call' | 'lead'; subject_id: string; site_id: string }>(
    `SELECT subject_kind, subject_id, site_id FROM crm_links
      WHERE account_id = $1 AND connection_id = $2 AND entity_kind = $3 AND entity_id = $4
      ORDER BY created_at, subject_id LIMIT 1`,
    [conn.accountId, conn.id, entityKind, entityId],
  );
  return row ? { kind: row.subject_kind, id: row.subject_id, siteId: row.site_id } : null;
}
