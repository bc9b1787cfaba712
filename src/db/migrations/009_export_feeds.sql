-- Google Sheets live feeds (issue 4 item 3): a secret-token URL serving a call log or report as CSV for
-- =IMPORTDATA(url). Only the token's SHA-256 is stored; revoking sets revoked_at and the URL answers 404.
CREATE TABLE export_feeds (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('calls', 'report')),
  dimension text,
  params jsonb NOT NULL DEFAULT '{}',
  name text,
  token_hash text NOT NULL UNIQUE,
  token_prefix text NOT NULL,
  created_at timestamptz NOT NULL,
  last_used_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (account_id, id)
);
CREATE INDEX export_feeds_site ON export_feeds (account_id, site_id);
