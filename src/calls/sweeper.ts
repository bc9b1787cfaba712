import type { Clock } from '../clock.js';
import type { Db } from '../db/db.js';
import { type PeriodicWorker, runPeriodically } from '../jobs/periodic.js';
import { storeCallEvents } from '../telephony/event-log.js';
import type { Logger } from '../webhooks/worker.js';
import { processCall } from './service.js';

/*
 * Stale-call sweeper (issue 5, item 1; telephony.md §6.3). A provider may never send the end of a call
 * (a lost callback, a PBX restart). A periodic pass closes calls left open:
 * - `ringing` with no event received for `ringingMinutes` (default 10) → missed (a call.ended no-answer);
 * - `answered` with no event received for `answeredMinutes` (default 240) → completed at the last event.
 * It closes a call by writing a synthetic call.ended (`synthetic: true`) into the event log and rebuilding
 * the call, so the call stays a pure function of its events: the reducer lets a real call.ended, or any real
 * event after the close time, outrank it. The call is flagged `closed_by = 'sweeper'` while the synthetic
 * end stands. The key names the close time, so a pass over the same state adds nothing, and a call reopened
 * by a late real event can be closed again later.
 */

export interface SweeperSettings {
  /** Minutes without any event after which a ringing call is closed as missed. */
  ringingMinutes: number;
  /** Minutes without any event after which an answered call is closed as completed. */
  answeredMinutes: number;
  /** Calls closed per pass at most; the next pass takes the rest. */
  batchSize: number;
}

export const defaultSweeperSettings: SweeperSettings = {
  ringingMinutes: 10,
  answeredMinutes: 240,
  batchSize: 500,
};

export interface SweeperDeps {
  db: Db;
  clock: Clock;
  settings?: Partial<SweeperSettings>;
  log?: Logger;
}

export interface SweptCall {
  callId: string;
  accountId: string;
  integrationId: string;
  providerCallId: string;
  /** The status the sweeper found; the call is now missed (was ringing) or completed (was answered). */
  was: 'ringing' | 'answered';
  closedAt: Date;
}

export const SWEEPER_KEY_PREFIX = 'sweeper:ended:';

interface OpenCall {
  account_id: string;
  integration_id: string;
  provider_call_id: string;
  status: 'ringing' | 'answered';
  last_live: Date | null;
  first_at: Date;
}

/** One pass: closes every call that has been open without events past its threshold at `now`. */
export async function sweepHangingCalls(
  deps: SweeperDeps,
  now: Date = deps.clock.now(),
): Promise<SweptCall[]> {
  const settings = { ...defaultSweeperSettings, ...deps.settings };
  const ringingBefore = new Date(now.getTime() - settings.ringingMinutes * 60_000);
  const answeredBefore = new Date(now.getTime() - settings.answeredMinutes * 60_000);
  // Staleness is judged on our receipt time (our clock); the close time is the provider time of the last
  // real event, so talk time runs up to the last sign of life.
  const open = await deps.db.query<OpenCall>(
    `SELECT c.account_id, c.integration_id, c.provider_call_id, c.status,
            max(e.occurred_at) FILTER (WHERE e.type <> 'call.recording'
              AND coalesce(e.payload->>'synthetic', 'false') <> 'true') AS last_live,
            min(e.occurred_at) AS first_at
       FROM calls c
       JOIN call_events e ON e.account_id = c.account_id AND e.integration_id = c.integration_id
        AND e.provider_call_id = c.provider_call_id
      WHERE c.status IN ('ringing', 'answered')
      GROUP BY c.account_id, c.integration_id, c.provider_call_id, c.status
     HAVING (c.status = 'ringing' AND max(e.received_at) <= $1)
         OR (c.status = 'answered' AND max(e.received_at) <= $2)
      ORDER BY max(e.received_at)
      LIMIT ${Math.max(1, Math.floor(settings.batchSize))}`,
    [ringingBefore, answeredBefore],
  );
  const swept: SweptCall[] = [];
  for (const c of open) {
    const closedAt = new Date(c.last_live ?? c.first_at);
    const integration = { accountId: c.account_id, id: c.integration_id };
    await storeCallEvents(
      deps.db,
      integration,
      [
        {
          key: `${SWEEPER_KEY_PREFIX}${c.provider_call_id}:${closedAt.toISOString()}`,
          providerCallId: c.provider_call_id,
          type: 'call.ended',
          occurredAt: closedAt,
          payload: {
            synthetic: true,
            closedBy: 'sweeper',
            reason: c.status === 'ringing' ? 'stale-ringing' : 'stale-answered',
            status: c.status === 'ringing' ? 'no-answer' : 'completed',
            endedAt: closedAt.toISOString(),
          },
        },
      ],
      now,
    );
    const callId = await processCall(deps, c.account_id, c.integration_id, c.provider_call_id);
    swept.push({
      callId,
      accountId: c.account_id,
      integrationId: c.integration_id,
      providerCallId: c.provider_call_id,
      was: c.status,
      closedAt,
    });
  }
  return swept;
}

export type SweeperWorker = PeriodicWorker;

/** Runs `sweepHangingCalls` every `intervalMs` until stopped (the running pass finishes first). */
export function startCallSweeper(deps: SweeperDeps, intervalMs = 60_000): SweeperWorker {
  return runPeriodically(
    async () => {
      const swept = await sweepHangingCalls(deps);
      if (swept.length > 0) deps.log?.info({ swept: swept.length }, 'closed hanging calls');
      return intervalMs;
    },
    { errorDelayMs: intervalMs, onError: (err) => deps.log?.error({ err }, 'call sweeper pass failed') },
  );
}
