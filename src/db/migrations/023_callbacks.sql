-- Callbacks (issue 5 item 5, обратный звонок): per-site settings, one row per callback request (the
-- lead it came with, the visitor's number and IP for the abuse limits), the resulting call's origin and
-- lead, and the Twilio AccountSid that the REST API (originating calls) needs besides the auth token.
CREATE TABLE callback_settings (
  account_id uuid NOT NULL,
  site_id uuid NOT NULL,
  -- Validated by src/callbacks/settings.ts: integration, group or endpoints, caller id, hours, limits.
  settings jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, site_id),
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE
);

CREATE TABLE callbacks (
  account_id uuid NOT NULL,
  lead_id uuid NOT NULL,
  site_id uuid NOT NULL,
  visit_id uuid NOT NULL,
  phone text NOT NULL,
  ip text,
  integration_id uuid NOT NULL,
  -- The call's id in the event log: one call per callback, whichever employee legs it took.
  provider_call_id text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, lead_id),
  UNIQUE (account_id, integration_id, provider_call_id)
);
CREATE INDEX callbacks_visit ON callbacks (account_id, visit_id, created_at);
CREATE INDEX callbacks_ip ON callbacks (account_id, ip, created_at);
CREATE INDEX callbacks_phone ON callbacks (account_id, phone, created_at);

ALTER TABLE calls ADD COLUMN origin text NOT NULL DEFAULT 'inbound' CHECK (origin IN ('inbound', 'callback'));
ALTER TABLE calls ADD COLUMN lead_id uuid;

ALTER TABLE integrations ADD COLUMN account_sid text;
