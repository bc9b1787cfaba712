-- Ad-platform cost connectors (issue 6 item 2): a site's Yandex.Direct or Google Ads account, synced
-- daily into ad_costs. `credentials` holds the tokens sealed by the secret box (src/secrets), never plain.
CREATE TABLE ad_connections (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('yandex_direct', 'google_ads')),
  -- Direct: the advertiser login (Client-Login); Google Ads: the customer id, digits only.
  login text NOT NULL,
  -- Google Ads: the manager account the access goes through (login-customer-id).
  login_customer_id text,
  credentials text NOT NULL,
  active boolean NOT NULL DEFAULT true,
  -- When the background worker syncs the connection next; NULL = as soon as it runs.
  next_sync_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id)
);
CREATE INDEX ad_connections_site ON ad_connections (account_id, site_id);
CREATE INDEX ad_connections_due ON ad_connections (next_sync_at) WHERE active;

-- The sync log: one row per sync of a connection, manual or scheduled.
CREATE TABLE ad_sync_runs (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  connection_id uuid NOT NULL,
  trigger text NOT NULL CHECK (trigger IN ('manual', 'scheduled')),
  date_from date NOT NULL,
  date_to date NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  rows integer,
  cost_minor bigint,
  import_id uuid,
  error text,
  PRIMARY KEY (account_id, id)
);
CREATE INDEX ad_sync_runs_connection ON ad_sync_runs (account_id, connection_id, started_at);

-- Cost imports made by a sync name their connection (NULL: a file import).
ALTER TABLE ad_cost_imports ADD COLUMN connection_id uuid;
CREATE INDEX ad_cost_imports_connection ON ad_cost_imports (account_id, connection_id) WHERE connection_id IS NOT NULL;
