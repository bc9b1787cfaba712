import type { Queryable } from '../db/db.js';
import { enqueueJob } from '../jobs/queue.js';
import { CRM_EVENTS, type CrmEvent } from './connections.js';

export const CRM_PUSH = 'crm.push';
export const CRM_DEAL = 'crm.deal';

/** A call or lead to push to one connection. */
export interface PushPayload {
  connectionId: string;
  event: string;
  subject: 'call' | 'lead';
  id: string;
}

const isCrmEvent = (type: string): type is CrmEvent => (CRM_EVENTS as readonly string[]).includes(type);

/**
 * Queues a push per active connection that wants this event for the call's or lead's site. Called by
 * emitEvent inside the change's transaction, so the push is stored exactly when the change is. One job per
 * (connection, event, call or lead): a re-sent event does not push twice.
 */
export async function enqueueCrmPushes(
  q: Queryable,
  accountId: string,
  type: string,
  data: Record<string, unknown>,
  at: Date,
): Promise<void> {
  if (!isCrmEvent(type)) return;
  const subject = type === 'lead.created' ? 'lead' : 'call';
  const item = data[subject] as { id?: string; siteId?: string } | undefined;
  if (!item?.id || !item.siteId) return;
  const connections = await q.query<{ id: string }>(
    `SELECT id FROM crm_connections
      WHERE account_id = $1 AND active AND $2 = ANY(events) AND (site_ids IS NULL OR $3::uuid = ANY(site_ids))
      ORDER BY created_at, id`,
    [accountId, type, item.siteId],
  );
  for (const conn of connections) {
    const payload: PushPayload = { connectionId: conn.id, event: type, subject, id: item.id };
    await enqueueJob(
      q,
      { now: () => at },
      {
        accountId,
        kind: CRM_PUSH,
        key: `${conn.id}:${type}:${item.id}`,
        payload,
      },
    );
  }
}
