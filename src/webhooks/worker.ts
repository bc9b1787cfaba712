import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db } from '../db/db.js';
import { type PeriodicWorker, runPeriodically } from '../jobs/periodic.js';
import { retryDelayMs, type WebhookSettings, webhookSettings } from './settings.js';
import { signWebhook } from './sign.js';

/*
 * Outgoing webhook delivery: a small worker over the outbox tables (webhook_events → webhook_deliveries),
 * not pg-boss. pg-boss 10 decides when a job (and each retry) is due with the database's `now()`
 * (`start_after < now()`, `now() + retry_delay`), so the injected clock cannot drive its backoff: a test
 * of a 24-hour retry schedule would have to wait 24 hours, and ManualClock-driven tests of every other
 * part of Ringtrace would disagree with it. Its work rows would also live apart from the outbox,
 * needing a second hand-off. Here the delivery row written in the change's own transaction *is* the job:
 * claimed with `FOR UPDATE SKIP LOCKED` plus a lease (`locked_until`, so a worker that dies mid-request
 * only delays the attempt), attempted, and rescheduled with exponential backoff computed from the
 * injected clock. The same SQL runs on PGlite and PostgreSQL; several processes can share the work.
 * Delivery is at least once: receivers de-duplicate on the event id (`X-Ringtrace-Delivery`).
 */

export interface Logger {
  info: (obj: object, msg?: string) => void;
  warn: (obj: object, msg?: string) => void;
  error: (obj: object, msg?: string) => void;
}

export interface WorkerDeps {
  db: Db;
  clock: Clock;
  settings?: WebhookSettings;
  log?: Logger;
}

interface DueDelivery {
  account_id: string;
  id: string;
  seq: string;
  webhook_id: string;
  event_id: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  url: string;
  secret: string;
  type: string;
  data: unknown;
  event_created_at: Date;
}

export interface AttemptResult {
  deliveryId: string;
  attempt: number;
  success: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  status: 'pending' | 'succeeded' | 'failed';
  nextAttemptAt: Date | null;
}

const detailsSql = `
  SELECT d.account_id, d.id, d.seq, d.webhook_id, d.event_id, d.status, d.attempts, w.url, w.secret, e.type, e.data,
         e.created_at AS event_created_at
    FROM webhook_deliveries d
    JOIN webhooks w ON w.account_id = d.account_id AND w.id = d.webhook_id
    JOIN webhook_events e ON e.account_id = d.account_id AND e.id = d.event_id`;

/**
 * One pass: claims the deliveries due at `now` (active subscriptions only), attempts them — in order
 * within a subscription, subscriptions in parallel — and records each attempt. Returns the attempts made.
 */
export async function deliverDue(deps: WorkerDeps, now: Date = deps.clock.now()): Promise<AttemptResult[]> {
  const settings = deps.settings ?? webhookSettings({});
  const lockUntil = new Date(now.getTime() + settings.timeoutMs + 60_000);
  const claimed = await deps.db.tx((q) =>
    q.query<{ account_id: string; id: string }>(
      `UPDATE webhook_deliveries SET locked_until = $2
        WHERE (account_id, id) IN (
          SELECT d.account_id, d.id FROM webhook_deliveries d
            JOIN webhooks w ON w.account_id = d.account_id AND w.id = d.webhook_id AND w.active
           WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.locked_until IS NULL OR d.locked_until <= $1)
           ORDER BY d.next_attempt_at, d.seq LIMIT $3
           FOR UPDATE OF d SKIP LOCKED)
        RETURNING account_id, id`,
      [now, lockUntil, settings.batchSize],
    ),
  );
  if (claimed.length === 0) return [];
  const rows = await deps.db.query<DueDelivery>(
    `${detailsSql} WHERE d.account_id = ANY($1::uuid[]) AND d.id = ANY($2::uuid[]) ORDER BY d.seq`,
    [[...new Set(claimed.map((c) => c.account_id))], claimed.map((c) => c.id)],
  );
  const byHook = new Map<string, DueDelivery[]>();
  for (const row of rows) byHook.set(row.webhook_id, [...(byHook.get(row.webhook_id) ?? []), row]);
  const results: AttemptResult[] = [];
  await Promise.all(
    [...byHook.values()].map(async (group) => {
      for (const d of group) results.push(await attempt(deps, settings, d, now, false));
    }),
  );
  return results;
}

/** Manual replay: one attempt now, whatever the delivery's status; a failure of a finished delivery keeps it failed. */
export async function replayDelivery(
  deps: WorkerDeps,
  accountId: string,
  deliveryId: string,
  now: Date = deps.clock.now(),
): Promise<AttemptResult | 'not_found' | 'busy'> {
  const settings = deps.settings ?? webhookSettings({});
  const lockUntil = new Date(now.getTime() + settings.timeoutMs + 60_000);
  const exists = await deps.db.query('SELECT 1 FROM webhook_deliveries WHERE account_id = $1 AND id = $2', [
    accountId,
    deliveryId,
  ]);
  if (exists.length === 0) return 'not_found';
  const locked = await deps.db.query(
    `UPDATE webhook_deliveries SET locked_until = $3
      WHERE account_id = $1 AND id = $2 AND (locked_until IS NULL OR locked_until <= $4) RETURNING id`,
    [accountId, deliveryId, lockUntil, now],
  );
  if (locked.length === 0) return 'busy';
  const [row] = await deps.db.query<DueDelivery>(`${detailsSql} WHERE d.account_id = $1 AND d.id = $2`, [
    accountId,
    deliveryId,
  ]);
  return attempt(deps, settings, row, now, true);
}

/** The exact request body of an event; the same bytes on every attempt. */
export function eventBody(d: Pick<DueDelivery, 'event_id' | 'type' | 'event_created_at' | 'data'>): string {
  return JSON.stringify({
    id: d.event_id,
    type: d.type,
    createdAt: new Date(d.event_created_at).toISOString(),
    data: d.data,
  });
}

async function attempt(
  deps: WorkerDeps,
  settings: WebhookSettings,
  d: DueDelivery,
  now: Date,
  manual: boolean,
): Promise<AttemptResult> {
  const body = eventBody(d);
  const timestamp = Math.floor(now.getTime() / 1000);
  const started = performance.now();
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    const res = await fetch(d.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(settings.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Ringtrace-Webhooks/1',
        'x-ringtrace-event': d.type,
        'x-ringtrace-delivery': d.event_id,
        'x-ringtrace-timestamp': String(timestamp),
        'x-ringtrace-signature': signWebhook(d.secret, timestamp, body),
      },
      body,
    });
    statusCode = res.status;
    await res.body?.cancel().catch(() => {});
    if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    error =
      e.name === 'TimeoutError'
        ? `timed out after ${settings.timeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(err));
  }
  const durationMs = Math.round(performance.now() - started);
  const success = error === null;
  const attemptNo = d.attempts + 1;
  let status: AttemptResult['status'];
  let nextAttemptAt: Date | null = null;
  if (success) status = 'succeeded';
  else if (d.status !== 'pending') status = d.status === 'succeeded' ? 'succeeded' : 'failed';
  else if (attemptNo >= settings.maxAttempts) status = 'failed';
  else {
    status = 'pending';
    nextAttemptAt = new Date(now.getTime() + retryDelayMs(settings, attemptNo));
  }
  await deps.db.tx(async (q) => {
    await q.query(
      `INSERT INTO webhook_attempts (account_id, id, delivery_id, webhook_id, attempt, at, status_code, error,
         duration_ms, success, manual) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
      [
        d.account_id,
        randomUUID(),
        d.id,
        d.webhook_id,
        attemptNo,
        now,
        statusCode,
        error,
        durationMs,
        success,
        manual,
      ],
    );
    await q.query(
      `UPDATE webhook_deliveries SET status = $3, attempts = $4, next_attempt_at = coalesce($5, next_attempt_at),
         locked_until = NULL, last_status_code = $6, last_error = $7,
         finished_at = CASE WHEN $3 = 'pending' THEN NULL WHEN status = $3 THEN finished_at ELSE $8 END
        WHERE account_id = $1 AND id = $2`,
      [d.account_id, d.id, status, attemptNo, nextAttemptAt, statusCode, error, now],
    );
    if (status === 'failed' && d.status === 'pending') await maybeDisable(deps, settings, q, d, now, error);
  });
  const result = {
    deliveryId: d.id,
    attempt: attemptNo,
    success,
    statusCode,
    error,
    durationMs,
    status,
    nextAttemptAt,
  };
  if (!success) deps.log?.warn({ webhook: d.webhook_id, ...result }, 'webhook delivery attempt failed');
  return result;
}

/**
 * A subscription is disabled only after sustained failure: its last N finished deliveries (since it was
 * last enabled) all failed every attempt, and no attempt succeeded within the window. The notice says why.
 */
async function maybeDisable(
  deps: WorkerDeps,
  settings: WebhookSettings,
  q: { query: Db['query'] },
  d: DueDelivery,
  now: Date,
  lastError: string | null,
): Promise<void> {
  const n = settings.disableAfterFailedEvents;
  if (n <= 0) return;
  const recent = await q.query<{ status: string }>(
    `SELECT dl.status FROM webhook_deliveries dl
       JOIN webhooks w ON w.account_id = dl.account_id AND w.id = dl.webhook_id
      WHERE dl.account_id = $1 AND dl.webhook_id = $2 AND dl.status <> 'pending' AND dl.created_at >= w.enabled_at
      ORDER BY dl.finished_at DESC, dl.seq DESC LIMIT $3`,
    [d.account_id, d.webhook_id, n],
  );
  if (recent.length < n || recent.some((r) => r.status !== 'failed')) return;
  const since = new Date(now.getTime() - settings.disableAfterMs);
  const ok = await q.query(
    'SELECT 1 FROM webhook_attempts WHERE account_id = $1 AND webhook_id = $2 AND success AND at > $3 LIMIT 1',
    [d.account_id, d.webhook_id, since],
  );
  if (ok.length > 0) return;
  const notice =
    `Disabled at ${now.toISOString()}: the last ${n} events failed all delivery attempts and nothing ` +
    `succeeded since ${since.toISOString()} (last error: ${lastError ?? 'unknown'}). ` +
    'Fix the receiver, replay the failed deliveries, then set active to true.';
  const updated = await q.query(
    `UPDATE webhooks SET active = false, disabled_at = $3, notice = $4, updated_at = $3
      WHERE account_id = $1 AND id = $2 AND active RETURNING id`,
    [d.account_id, d.webhook_id, now, notice],
  );
  if (updated.length > 0) deps.log?.warn({ webhook: d.webhook_id, notice }, 'webhook subscription disabled');
}

export type Workers = PeriodicWorker;

/** Starts the background delivery loop (called by `ringtrace start`); `stop()` waits for the pass in flight. */
export function startWorkers(deps: WorkerDeps): Workers {
  const settings = deps.settings ?? webhookSettings({});
  const full = { ...deps, settings };
  // A full batch means more are due: go again at once.
  return runPeriodically(
    async () => ((await deliverDue(full)).length >= settings.batchSize ? 0 : settings.pollMs),
    {
      errorDelayMs: settings.pollMs,
      onError: (err) => deps.log?.error({ err }, 'webhook delivery pass failed'),
    },
  );
}
