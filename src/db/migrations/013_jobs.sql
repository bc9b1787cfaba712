-- The job queue (src/jobs/queue.ts): outbound work to third parties — conversions to analytics and ad
-- platforms, CRM pushes — with idempotency keys, retries with backoff on the injected clock, and a log of
-- every attempt that the API shows per job.
CREATE TABLE jobs (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  kind text NOT NULL,
  -- One job per (account, kind, key): enqueueing the same work twice is a no-op.
  key text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  locked_until timestamptz,
  last_error text,
  result jsonb,
  created_at timestamptz NOT NULL,
  finished_at timestamptz,
  PRIMARY KEY (account_id, id),
  UNIQUE (account_id, kind, key)
);
CREATE INDEX jobs_due ON jobs (next_attempt_at, seq) WHERE status = 'pending';

CREATE TABLE job_attempts (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  job_id uuid NOT NULL,
  attempt integer NOT NULL,
  at timestamptz NOT NULL,
  success boolean NOT NULL,
  error text,
  duration_ms integer NOT NULL,
  -- What the handler reports: the request's target, the response status and body summary.
  detail jsonb,
  manual boolean NOT NULL DEFAULT false,
  PRIMARY KEY (account_id, id)
);
CREATE INDEX job_attempts_job ON job_attempts (account_id, job_id, attempt);
