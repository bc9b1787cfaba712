import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db, Queryable } from '../db/db.js';
import { type PeriodicWorker, runPeriodically } from './periodic.js';

/*
 * The job queue for outbound work to third parties (conversions, CRM pushes). The same design as the
 * webhook outbox (src/webhooks/worker.ts) and for the same reason: due times come from the injected clock,
 * so a 24-hour retry schedule is testable, and the SQL runs on PGlite and PostgreSQL alike. A job is
 * claimed with `FOR UPDATE SKIP LOCKED` plus a lease (`locked_until`), so several processes share the work
 * and a process that dies mid-attempt only delays the job. Every attempt is logged with the handler's
 * detail. Execution is at least once: handlers send idempotency keys where the receiving API has them.
 */

export interface QueuedJob<P = unknown> {
  accountId: string;
  id: string;
  kind: string;
  key: string;
  payload: P;
  /** 1-based number of the attempt being made. */
  attempt: number;
  createdAt: Date;
}

/** How one kind of job runs. `run` resolves with a detail for the attempt log, or throws to fail. */
export interface JobKind<P = unknown> {
  run(job: QueuedJob<P>): Promise<unknown>;
  /** Attempts in all, the first included. Default 12: retries after 1, 2, 4 … 1024 minutes (≈34 h). */
  maxAttempts?: number;
  /** First retry delay, doubling up to `retryMaxDelayMs`. */
  retryBaseMs?: number;
  retryMaxDelayMs?: number;
}

/** A failed attempt with a detail for the log; `retry: false` marks the job failed at once (e.g. a 400). */
export class JobFailure extends Error {
  constructor(
    message: string,
    readonly options: { retry?: boolean; retryAfterMs?: number; detail?: unknown } = {},
  ) {
    super(message);
  }
}

export type JobKinds = Record<string, JobKind<never>>;

const DEFAULT_MAX_ATTEMPTS = 12;
const DEFAULT_RETRY_BASE_MS = 60_000;
const DEFAULT_RETRY_MAX_MS = 24 * 3_600_000;
/** How long a claimed job stays locked to its worker. */
const LEASE_MS = 5 * 60_000;

export interface EnqueueInput {
  accountId: string;
  kind: string;
  key: string;
  payload: unknown;
  /** When it is first due; default now. */
  at?: Date;
  maxAttempts?: number;
}

/**
 * Adds a job unless one with the same (account, kind, key) exists; call it inside the transaction that
 * makes the change, so the work is recorded with it or not at all. Returns the job's id and whether it
 * was new.
 */
export async function enqueueJob(
  q: Queryable,
  clock: Clock,
  input: EnqueueInput,
): Promise<{ id: string; created: boolean }> {
  const now = clock.now();
  const inserted = await q.query<{ id: string }>(
    `INSERT INTO jobs (account_id, id, kind, key, payload, max_attempts, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, kind, key) DO NOTHING RETURNING id`,
    [
      input.accountId,
      randomUUID(),
      input.kind,
      input.key,
      JSON.stringify(input.payload),
      input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      input.at ?? now,
      now,
    ],
  );
  if (inserted.length > 0) return { id: inserted[0].id, created: true };
  const [existing] = await q.query<{ id: string }>(
    'SELECT id FROM jobs WHERE account_id = $1 AND kind = $2 AND key = $3',
    [input.accountId, input.kind, input.key],
  );
  return { id: existing.id, created: false };
}

export interface JobRunDeps {
  db: Db;
  clock: Clock;
  kinds: JobKinds;
  batchSize?: number;
  log?: { warn: (obj: object, msg?: string) => void; error: (obj: object, msg?: string) => void };
}

export interface JobAttemptResult {
  jobId: string;
  kind: string;
  attempt: number;
  success: boolean;
  error: string | null;
  status: JobStatus;
  nextAttemptAt: Date | null;
}

export const JOB_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

interface JobRow {
  account_id: string;
  id: string;
  kind: string;
  key: string;
  payload: unknown;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  created_at: Date;
}

/** One pass: claims the due jobs of the given kinds, runs them concurrently and records each attempt. */
export async function runDueJobs(
  deps: JobRunDeps,
  now: Date = deps.clock.now(),
): Promise<JobAttemptResult[]> {
  const kinds = Object.keys(deps.kinds);
  if (kinds.length === 0) return [];
  const claimed = await deps.db.tx((q) =>
    q.query<JobRow>(
      `UPDATE jobs SET locked_until = $2
        WHERE (account_id, id) IN (
          SELECT account_id, id FROM jobs
           WHERE status = 'pending' AND next_attempt_at <= $1 AND kind = ANY($3::text[])
             AND (locked_until IS NULL OR locked_until <= $1)
           ORDER BY next_attempt_at, seq LIMIT $4
           FOR UPDATE SKIP LOCKED)
        RETURNING account_id, id, kind, key, payload, status, attempts, max_attempts, created_at`,
      [now, new Date(now.getTime() + LEASE_MS), kinds, deps.batchSize ?? 20],
    ),
  );
  return Promise.all(claimed.map((row) => attempt(deps, row, now, false)));
}

/**
 * Manual retry from the API: one attempt now, whatever the job's status. A failed job gets one more
 * attempt in its budget; a succeeded one is run again (the handlers' idempotency keys keep that safe).
 */
export async function retryJobNow(
  deps: JobRunDeps,
  accountId: string,
  jobId: string,
  now: Date = deps.clock.now(),
): Promise<JobAttemptResult | 'not_found' | 'busy' | 'unknown_kind'> {
  const [row] = await deps.db.query<JobRow>(
    `UPDATE jobs SET locked_until = $3
      WHERE account_id = $1 AND id = $2 AND (locked_until IS NULL OR locked_until <= $4)
      RETURNING account_id, id, kind, key, payload, status, attempts, max_attempts, created_at`,
    [accountId, jobId, new Date(now.getTime() + LEASE_MS), now],
  );
  if (!row) {
    const exists = await deps.db.query('SELECT 1 FROM jobs WHERE account_id = $1 AND id = $2', [
      accountId,
      jobId,
    ]);
    return exists.length === 0 ? 'not_found' : 'busy';
  }
  if (!deps.kinds[row.kind]) {
    await deps.db.query('UPDATE jobs SET locked_until = NULL WHERE account_id = $1 AND id = $2', [
      accountId,
      jobId,
    ]);
    return 'unknown_kind';
  }
  return attempt(deps, row, now, true);
}

/** Delay before the next attempt after `failed` failed attempts (1-based). */
export function jobRetryDelayMs(
  kind: Pick<JobKind, 'retryBaseMs' | 'retryMaxDelayMs'>,
  failed: number,
): number {
  const base = kind.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
  return Math.min(base * 2 ** (failed - 1), kind.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_MS);
}

async function attempt(deps: JobRunDeps, row: JobRow, now: Date, manual: boolean): Promise<JobAttemptResult> {
  const kind = deps.kinds[row.kind] as JobKind<unknown>;
  const attemptNo = row.attempts + 1;
  const started = performance.now();
  let error: string | null = null;
  let detail: unknown = null;
  let retry = true;
  let retryAfterMs: number | undefined;
  try {
    detail =
      (await kind.run({
        accountId: row.account_id,
        id: row.id,
        kind: row.kind,
        key: row.key,
        payload: row.payload,
        attempt: attemptNo,
        createdAt: new Date(row.created_at),
      })) ?? null;
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    if (err instanceof JobFailure) {
      detail = err.options.detail ?? null;
      retry = err.options.retry ?? true;
      retryAfterMs = err.options.retryAfterMs;
    }
  }
  const durationMs = Math.round(performance.now() - started);
  const success = error === null;
  // A manual retry of a finished job never turns a success into a failure, nor a failure back into pending.
  const maxAttempts = manual ? Math.max(row.max_attempts, attemptNo) : row.max_attempts;
  let status: JobStatus;
  let nextAttemptAt: Date | null = null;
  if (success) status = 'succeeded';
  else if (row.status === 'succeeded') status = 'succeeded';
  else if (!retry || attemptNo >= maxAttempts || (manual && row.status === 'failed')) status = 'failed';
  else {
    status = 'pending';
    nextAttemptAt = new Date(now.getTime() + Math.max(retryAfterMs ?? 0, jobRetryDelayMs(kind, attemptNo)));
  }
  await deps.db.tx(async (q) => {
    await q.query(
      `INSERT INTO job_attempts (account_id, id, job_id, attempt, at, success, error, duration_ms, detail, manual)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        row.account_id,
        randomUUID(),
        row.id,
        attemptNo,
        now,
        success,
        error,
        durationMs,
        JSON.stringify(detail),
        manual,
      ],
    );
    await q.query(
      `UPDATE jobs SET status = $3, attempts = $4, max_attempts = $5, next_attempt_at = coalesce($6, next_attempt_at),
         locked_until = NULL, last_error = $7, result = CASE WHEN $8::boolean THEN $9::jsonb ELSE result END,
         finished_at = CASE WHEN $3 = 'pending' THEN NULL WHEN status = $3 THEN finished_at ELSE $10 END
        WHERE account_id = $1 AND id = $2`,
      [
        row.account_id,
        row.id,
        status,
        attemptNo,
        maxAttempts,
        nextAttemptAt,
        error,
        success,
        JSON.stringify(detail),
        now,
      ],
    );
  });
  if (!success)
    deps.log?.warn({ job: row.id, kind: row.kind, attempt: attemptNo, error }, 'job attempt failed');
  return { jobId: row.id, kind: row.kind, attempt: attemptNo, success, error, status, nextAttemptAt };
}

export interface JobView {
  id: string;
  kind: string;
  key: string;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  result: unknown;
  createdAt: string;
  finishedAt: string | null;
  attemptLog: Array<{
    attempt: number;
    at: string;
    success: boolean;
    error: string | null;
    durationMs: number;
    detail: unknown;
    manual: boolean;
  }>;
}

/** Jobs with their attempt logs, for the delivery-log endpoints of the features that enqueue them. */
export async function jobViews(db: Queryable, accountId: string, jobIds: string[]): Promise<JobView[]> {
  if (jobIds.length === 0) return [];
  const jobs = await db.query<{
    id: string;
    kind: string;
    key: string;
    status: JobStatus;
    attempts: number;
    max_attempts: number;
    next_attempt_at: Date;
    last_error: string | null;
    result: unknown;
    created_at: Date;
    finished_at: Date | null;
  }>(
    `SELECT id, kind, key, status, attempts, max_attempts, next_attempt_at, last_error, result, created_at, finished_at
       FROM jobs WHERE account_id = $1 AND id = ANY($2::uuid[]) ORDER BY seq`,
    [accountId, jobIds],
  );
  const attempts = await db.query<{
    job_id: string;
    attempt: number;
    at: Date;
    success: boolean;
    error: string | null;
    duration_ms: number;
    detail: unknown;
    manual: boolean;
  }>(
    `SELECT job_id, attempt, at, success, error, duration_ms, detail, manual FROM job_attempts
      WHERE account_id = $1 AND job_id = ANY($2::uuid[]) ORDER BY at, attempt`,
    [accountId, jobIds],
  );
  return jobs.map((j) => ({
    id: j.id,
    kind: j.kind,
    key: j.key,
    status: j.status,
    attempts: j.attempts,
    maxAttempts: j.max_attempts,
    nextAttemptAt: j.status === 'pending' ? new Date(j.next_attempt_at).toISOString() : null,
    lastError: j.last_error,
    result: j.result,
    createdAt: new Date(j.created_at).toISOString(),
    finishedAt: j.finished_at ? new Date(j.finished_at).toISOString() : null,
    attemptLog: attempts
      .filter((a) => a.job_id === j.id)
      .map((a) => ({
        attempt: a.attempt,
        at: new Date(a.at).toISOString(),
        success: a.success,
        error: a.error,
        durationMs: a.duration_ms,
        detail: a.detail,
        manual: a.manual,
      })),
  }));
}

/** The background loop of `ringtrace start`; a full batch means more are due, so it goes again at once. */
export function startJobWorker(deps: JobRunDeps & { pollMs?: number }): PeriodicWorker {
  const pollMs = deps.pollMs ?? 1000;
  const batchSize = deps.batchSize ?? 20;
  return runPeriodically(
    async () => ((await runDueJobs({ ...deps, batchSize })).length >= batchSize ? 0 : pollMs),
    {
      errorDelayMs: pollMs,
      onError: (err) => deps.log?.error({ err }, 'job queue pass failed'),
    },
  );
}
