import { randomUUID } from 'node:crypto';
import { CALL_SELECT, callView } from '../calls/view.js';
import { enqueueCrmPushes } from '../crm/enqueue.js';
import type { Queryable } from '../db/db.js';

export const EVENT_TYPES = [
  'call.started',
  'call.answered',
  'call.ended',
  'call.updated',
  'lead.created',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Writes one event to the outbox, with a pending delivery for every active subscription of the account
 * that wants this type. Call it inside the transaction that makes the change: the event is then stored
 * exactly when the change is, and the delivery worker picks it up later. Accounts without a matching
 * subscription store nothing. CRM connections that push this event get their jobs queued here too.
 */
export async function emitEvent(
  q: Queryable,
  accountId: string,
  type: EventType,
  data: Record<string, unknown>,
  at: Date,
): Promise<string | null> {
  await enqueueCrmPushes(q, accountId, type, data, at);
  const hooks = await q.query<{ id: string }>(
    'SELECT id FROM webhooks WHERE account_id = $1 AND active AND $2 = ANY(events) ORDER BY created_at',
    [accountId, type],
  );
  if (hooks.length === 0) return null;
  const id = randomUUID();
  await q.query(
    'INSERT INTO webhook_events (account_id, id, type, data, created_at) VALUES ($1,$2,$3,$4,$5)',
    [accountId, id, type, JSON.stringify(data), at],
  );
  for (const hook of hooks) {
    await q.query(
      `INSERT INTO webhook_deliveries (account_id, id, webhook_id, event_id, next_attempt_at, created_at)
       VALUES ($1,$2,$3,$4,$5,$5)`,
      [accountId, randomUUID(), hook.id, id, at],
    );
  }
  return id;
}

export type CallSnapshot = Record<string, unknown> & { id: string; status: string; answeredAt: unknown };

const TERMINAL = new Set(['completed', 'missed', 'busy', 'failed', 'canceled']);

/** What a call event carries: the call as the calls API shows it (classes, visit source data). */
function toSnapshot(row: Record<string, unknown>): CallSnapshot {
  return callView(row) as unknown as CallSnapshot;
}

/** Current event payloads of calls, selected by ids, by provider call or by a caller's calls to a site. */
export async function snapshotCalls(
  q: Queryable,
  accountId: string,
  by:
    | { ids: string[] }
    | { integrationId: string; providerCallId: string }
    | { siteId: string; caller?: string | null },
): Promise<Map<string, CallSnapshot>> {
  let rows: Record<string, unknown>[];
  if ('ids' in by) {
    rows = by.ids.length
      ? await q.query(`${CALL_SELECT} WHERE c.account_id = $1 AND c.id = ANY($2::uuid[])`, [
          accountId,
          by.ids,
        ])
      : [];
  } else if ('integrationId' in by) {
    rows = await q.query(
      `${CALL_SELECT} WHERE c.account_id = $1 AND c.integration_id = $2 AND c.provider_call_id = $3`,
      [accountId, by.integrationId, by.providerCallId],
    );
  } else if (by.caller !== undefined) {
    rows = by.caller
      ? await q.query(`${CALL_SELECT} WHERE c.account_id = $1 AND c.site_id = $2 AND c.caller = $3`, [
          accountId,
          by.siteId,
          by.caller,
        ])
      : [];
  } else {
    rows = await q.query(`${CALL_SELECT} WHERE c.account_id = $1 AND c.site_id = $2`, [accountId, by.siteId]);
  }
  return new Map(rows.map((r) => [String(r.id), toSnapshot(r)]));
}

const same = (a: CallSnapshot, b: CallSnapshot) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Emits the events of a call change, comparing payloads before and after it in the same transaction:
 * `call.started` when the call first appears, `call.answered` when it first has an answer time,
 * `call.ended` when it first reaches a final status, and `call.updated` for any other change (classes,
 * attribution, recording...). Every other call in `before` (e.g. the caller's earlier calls, reclassified)
 * gets `call.updated` when its payload changed.
 */
export async function emitCallChanges(
  q: Queryable,
  accountId: string,
  before: Map<string, CallSnapshot>,
  at: Date,
  mainCallId?: string,
): Promise<void> {
  const ids = [...new Set([...before.keys(), ...(mainCallId ? [mainCallId] : [])])];
  const after = await snapshotCalls(q, accountId, { ids });
  for (const id of ids) {
    const now = after.get(id);
    if (!now) continue;
    const prev = before.get(id);
    const data = { call: now };
    if (id === mainCallId) {
      let lifecycle = false;
      if (!prev) {
        await emitEvent(q, accountId, 'call.started', data, at);
        lifecycle = true;
      }
      if (now.answeredAt && !prev?.answeredAt) {
        await emitEvent(q, accountId, 'call.answered', data, at);
        lifecycle = true;
      }
      if (TERMINAL.has(now.status) && !(prev && TERMINAL.has(prev.status))) {
        await emitEvent(q, accountId, 'call.ended', data, at);
        lifecycle = true;
      }
      if (lifecycle) continue;
    }
    if (prev && !same(prev, now)) await emitEvent(q, accountId, 'call.updated', data, at);
  }
}

/** Adds the payloads of a caller's other calls to a site to `before`, ahead of their reclassification. */
export async function captureCallerCalls(
  q: Queryable,
  accountId: string,
  siteId: string,
  caller: string | null,
  exceptId: string,
  before: Map<string, CallSnapshot>,
): Promise<void> {
  if (!caller) return;
  for (const [id, s] of await snapshotCalls(q, accountId, { siteId, caller })) {
    if (id !== exceptId && !before.has(id)) before.set(id, s);
  }
}

export interface CallChangeTracker {
  /** Remember the caller's other calls to the site before they are reclassified. */
  captureCaller(siteId: string, caller: string | null, exceptId: string): Promise<void>;
  /** Emit the events of everything that changed since the tracker was made. */
  emit(at: Date, mainCallId?: string): Promise<void>;
}

const CALL_EVENT_TYPES = EVENT_TYPES.filter((t) => t.startsWith('call.'));
const noopTracker: CallChangeTracker = { captureCaller: async () => {}, emit: async () => {} };

/**
 * Snapshots calls before a change (one call by its provider id, or every call of a site) so `emit` can tell
 * what changed. Costs nothing for accounts without an active subscription to call events.
 */
export async function trackCallChanges(
  q: Queryable,
  accountId: string,
  by: { integrationId: string; providerCallId: string } | { siteId: string },
): Promise<CallChangeTracker> {
  // One round trip on the routing path: does any webhook subscription or CRM connection want call events?
  const [wanted] = await q.query<{ any: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM webhooks WHERE account_id = $1 AND active AND events && $2::text[])
         OR EXISTS (SELECT 1 FROM crm_connections WHERE account_id = $1 AND active AND events && $2::text[]) AS any`,
    [accountId, CALL_EVENT_TYPES],
  );
  if (!wanted.any) return noopTracker;
  const before = await snapshotCalls(q, accountId, by);
  return {
    captureCaller: (siteId, caller, exceptId) =>
      captureCallerCalls(q, accountId, siteId, caller, exceptId, before),
    emit: (at, mainCallId) => emitCallChanges(q, accountId, before, at, mainCallId),
  };
}
