-- Call flows (issue 5): the provider-neutral routing graph of a site, validated on save. At most one
-- default flow per site answers calls to the site's numbers.
CREATE TABLE call_flows (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  name text NOT NULL,
  definition jsonb NOT NULL,
  is_default boolean NOT NULL DEFAULT false,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id),
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE
);
CREATE INDEX call_flows_site ON call_flows (account_id, site_id, created_at);
CREATE UNIQUE INDEX call_flows_site_default ON call_flows (account_id, site_id) WHERE is_default;

-- Twilio-family integrations keep the provider's auth token in `secret` (it keys X-Twilio-Signature).
ALTER TABLE integrations DROP CONSTRAINT integrations_kind_check;
ALTER TABLE integrations ADD CONSTRAINT integrations_kind_check CHECK (kind IN ('generic', 'twilio'));
