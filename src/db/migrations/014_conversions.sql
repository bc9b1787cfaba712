-- Conversions out (issue 6 item 4): calls and leads sent to GA4, Yandex Metrika and Google Ads through the
-- job queue (013). One rule set per site; one conversion row per (destination, call or lead, name).

-- GA4 session ids per property from the _ga_<container> cookies, as the widget sends them:
-- "<container>:<session id>,…" (the MP session_id of the property whose measurement id is G-<container>).
ALTER TABLE visits ADD COLUMN ga_sessions text;

CREATE TABLE conversion_settings (
  account_id uuid NOT NULL,
  site_id uuid NOT NULL,
  -- Which calls and leads count, their value and event names (src/conversions/settings.ts).
  rules jsonb NOT NULL,
  -- Destinations; credential fields hold values sealed by the secret box and are never returned.
  destinations jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, site_id)
);

CREATE TABLE conversions (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  destination text NOT NULL CHECK (destination IN ('ga4', 'metrika', 'google_ads')),
  -- destination:call|lead:id:name — a call that qualifies again (re-processed events) is sent once.
  key text NOT NULL,
  call_id uuid,
  lead_id uuid,
  name text NOT NULL,
  -- The job that sends it; Metrika conversions of one counter share a batch upload job.
  job_id uuid NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id),
  UNIQUE (account_id, key),
  CHECK ((call_id IS NULL) <> (lead_id IS NULL))
);
CREATE INDEX conversions_site ON conversions (account_id, site_id, created_at);
CREATE INDEX conversions_job ON conversions (account_id, job_id);
