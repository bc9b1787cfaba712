-- Stored pool sizings (issue 3): GET /api/v1/sites/{id}/sizing replays a pool's lease history at every
-- candidate size, seconds for a busy site, so each result is kept per pool and request parameters (days,
-- target) and served again while it is young enough (RINGTRACE_SIZING_MAX_AGE_SECONDS). The number count,
-- freeze time and exhaustion policy the model ran with are part of the match, so changing any of them makes
-- the row unservable at once. The inventory pass writes the rows of the pools it sizes for auto-grow.
CREATE TABLE pool_sizing_results (
  account_id uuid NOT NULL,
  pool_id uuid NOT NULL,
  site_id uuid NOT NULL,
  days integer NOT NULL,
  target double precision NOT NULL,
  pool_size integer NOT NULL,
  freeze_minutes integer NOT NULL,
  exhaustion_policy text NOT NULL,
  -- The lease history read: [history_from, history_to); history_to is the watermark the result covers.
  history_from timestamptz NOT NULL,
  history_to timestamptz NOT NULL,
  computed_at timestamptz NOT NULL,
  -- The API's pool sizing without the pool's name and region (read fresh); json keeps the text as written.
  result json NOT NULL,
  PRIMARY KEY (account_id, pool_id, days, target),
  FOREIGN KEY (account_id, pool_id) REFERENCES pools (account_id, id) ON DELETE CASCADE
);
