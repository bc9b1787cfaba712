-- CRM connections (issue 6 items 3 and 5): calls and leads pushed to amoCRM or Bitrix24 through the job
-- queue, and deals coming back from the CRM's webhooks.
CREATE TABLE crm_connections (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('amocrm', 'bitrix24')),
  name text,
  -- Settings that are not secret: amoCRM base URL, pipeline, status, responsible user, field map,
  -- Bitrix24 mode and assignee.
  settings jsonb NOT NULL,
  -- Sealed with the secret box: the amoCRM long-lived token or the Bitrix24 inbound webhook URL.
  credentials text NOT NULL,
  -- Sealed: the token the CRM's webhooks present (amoCRM: in the URL we issue, Bitrix24: application_token).
  hook_token text,
  events text[] NOT NULL,
  -- Sites whose calls and leads are pushed, NULL means every site of the account.
  site_ids uuid[],
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id)
);
-- Incoming CRM webhooks name only the connection.
CREATE UNIQUE INDEX crm_connections_id ON crm_connections (id);

-- What a push created in the CRM for one call or lead, so a retry or a later event updates instead of
-- duplicating, and a deal coming back finds its call or lead.
CREATE TABLE crm_links (
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  subject_kind text NOT NULL CHECK (subject_kind IN ('call', 'lead')),
  subject_id uuid NOT NULL,
  site_id uuid NOT NULL,
  contact_id text,
  -- amoCRM: 'lead', Bitrix24: 'lead' or 'deal'.
  entity_kind text,
  entity_id text,
  -- Notes or timeline comments already added, by purpose ('source', 'call').
  notes jsonb NOT NULL DEFAULT '{}',
  -- Lease of the push working on this link: two events of one call never create two CRM records.
  locked_until timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, connection_id, subject_kind, subject_id)
);
CREATE INDEX crm_links_entity ON crm_links (account_id, connection_id, entity_kind, entity_id);
