-- Ad costs (issue 6 item 2): daily rows imported from CSV/XLSX report files. A re-import of the same
-- (site, date, source, campaign, ad group, keyword) replaces the row; '' stands for "no ad group/keyword".
CREATE TABLE ad_cost_imports (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  format text NOT NULL,
  rows integer NOT NULL,
  cost_minor bigint NOT NULL,
  currency text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id)
);
CREATE INDEX ad_cost_imports_site ON ad_cost_imports (account_id, site_id, created_at);

CREATE TABLE ad_costs (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  date date NOT NULL,
  channel text NOT NULL,
  source text NOT NULL,
  medium text NOT NULL,
  campaign text NOT NULL,
  ad_group text NOT NULL DEFAULT '',
  keyword text NOT NULL DEFAULT '',
  campaign_id text,
  impressions bigint NOT NULL DEFAULT 0,
  clicks bigint NOT NULL DEFAULT 0,
  cost_minor bigint NOT NULL,
  currency text NOT NULL,
  import_id uuid NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id),
  UNIQUE (account_id, site_id, date, source, campaign, ad_group, keyword)
);
CREATE INDEX ad_costs_import ON ad_costs (account_id, import_id);

-- Revenue (issue 6 item 3): deals attached to a call or a lead, idempotent on the client's external id.
CREATE TABLE deals (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  call_id uuid,
  lead_id uuid,
  amount_minor bigint NOT NULL,
  currency text NOT NULL,
  status text NOT NULL CHECK (status IN ('won', 'lost', 'open')),
  external_id text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id),
  UNIQUE (account_id, external_id),
  CHECK ((call_id IS NULL) <> (lead_id IS NULL))
);
CREATE INDEX deals_call ON deals (account_id, call_id) WHERE call_id IS NOT NULL;
CREATE INDEX deals_lead ON deals (account_id, lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX deals_site ON deals (account_id, site_id, created_at);
