import { randomUUID } from 'node:crypto';
import type { CallEvent } from '../calls/reducer.js';
import { processCall } from '../calls/service.js';
import type { Queryable } from '../db/db.js';
import type { AppContext } from '../http/context.js';

/** One normalized provider event, keyed for idempotency (telephony.md §6.4). */
export interface ProviderEvent {
  key: string;
  providerCallId: string;
  type: CallEvent['type'];
  occurredAt: Date | string;
  payload: unknown;
}

export interface IntegrationRef {
  accountId: string;
  id: string;
}

/**
 * Stores provider events durably, each under its idempotency key, before anything else happens; a
 * redelivered event hits the unique key and is skipped. Every adapter writes the event log through this.
 */
export async function storeCallEvents(
  q: Queryable,
  integration: IntegrationRef,
  events: readonly ProviderEvent[],
  receivedAt: Date,
): Promise<void> {
  for (const e of events) {
    await q.query(
      `INSERT INTO call_events (account_id, id, integration_id, idempotency_key, provider_call_id, type,
         occurred_at, received_at, payload)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
       ON CONFLICT (account_id, integration_id, idempotency_key) DO NOTHING`,
      [
        integration.accountId,
        randomUUID(),
        integration.id,
        e.key,
        e.providerCallId,
        e.type,
        e.occurredAt,
        receivedAt,
        JSON.stringify(e.payload),
      ],
    );
  }
}

/** Stores one event and rebuilds its call; returns the call id. */
export async function recordCallEvent(ctx: AppContext, integration: IntegrationRef, event: ProviderEvent) {
  await storeCallEvents(ctx.db, integration, [event], ctx.clock.now());
  return processCall(ctx, integration.accountId, integration.id, event.providerCallId);
}
