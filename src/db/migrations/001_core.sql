-- Core loop schema. Every tenant-scoped table carries account_id and its keys include it, so the
-- schema can be distributed by account later.

CREATE TABLE accounts (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  account_id uuid NOT NULL REFERENCES accounts (id),
  id uuid NOT NULL,
  name text NOT NULL,
  prefix text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL,
  revoked_at timestamptz,
  PRIMARY KEY (account_id, id)
);

CREATE TABLE sites (
  account_id uuid NOT NULL REFERENCES accounts (id),
  id uuid NOT NULL,
  name text NOT NULL,
  site_key text NOT NULL UNIQUE,
  domains text[] NOT NULL DEFAULT '{}',
  time_zone text NOT NULL DEFAULT 'Europe/Moscow',
  currency text NOT NULL DEFAULT 'RUB',
  country text NOT NULL DEFAULT 'RU',
  home_region text,
  default_number text,
  replace_numbers text[] NOT NULL DEFAULT '{}',
  freeze_minutes integer NOT NULL DEFAULT 15,
  late_grace_minutes integer NOT NULL DEFAULT 120,
  targeted_threshold_seconds integer NOT NULL DEFAULT 30,
  count_uniqueness boolean NOT NULL DEFAULT true,
  uniqueness_window_days integer,
  lead_groups text[] NOT NULL DEFAULT '{}',
  dynamic_channels text[] NOT NULL DEFAULT '{paid_search,paid_social,display}',
  exhaustion_policy text NOT NULL DEFAULT 'default',
  multi_regional boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id)
);

CREATE TABLE pools (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  name text NOT NULL,
  -- NULL: the home pool; otherwise visitors from this region (matched to the visit's region or country).
  region text,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id),
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX pools_site_region ON pools (account_id, site_id, coalesce(region, ''));

CREATE TABLE numbers (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid,
  e164 text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('pool', 'static', 'default')),
  pool_id uuid,
  region text,
  ownership text NOT NULL DEFAULT 'own' CHECK (ownership IN ('own', 'platform')),
  -- Lease state of pool numbers: held while held_until is in the future.
  held_until timestamptz,
  -- Free numbers are handed out least-recently-released first: the oldest held_until (never held first).
  current_visit_id uuid,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id),
  UNIQUE (account_id, e164),
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE,
  FOREIGN KEY (account_id, pool_id) REFERENCES pools (account_id, id) ON DELETE SET NULL (pool_id)
);
-- Matches the claim's ORDER BY, so finding the least-recently-released free number reads one index entry.
CREATE INDEX numbers_pool_free ON numbers (account_id, pool_id, held_until NULLS FIRST, id);

CREATE TABLE static_rules (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  name text NOT NULL,
  priority integer NOT NULL DEFAULT 0,
  conditions jsonb NOT NULL,
  number_id uuid NOT NULL,
  source text,
  medium text,
  campaign text,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id),
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE,
  FOREIGN KEY (account_id, number_id) REFERENCES numbers (account_id, id) ON DELETE CASCADE
);

CREATE TABLE visits (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  visitor_id text NOT NULL,
  started_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  left_at timestamptz,
  channel text NOT NULL,
  source text,
  medium text,
  campaign text,
  content text,
  keyword text,
  gclid text,
  yclid text,
  fbclid text,
  ga_client_id text,
  ym_uid text,
  referrer text,
  landing_url text NOT NULL,
  ip text,
  country text,
  region text,
  city text,
  device_type text,
  browser text,
  os text,
  is_bot boolean NOT NULL DEFAULT false,
  number_id uuid,
  number_method text NOT NULL,
  static_rule_id uuid,
  page_views integer NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, id),
  FOREIGN KEY (account_id, site_id) REFERENCES sites (account_id, id) ON DELETE CASCADE
);
CREATE INDEX visits_site_time ON visits (account_id, site_id, started_at);
CREATE INDEX visits_visitor ON visits (account_id, site_id, visitor_id, started_at);

CREATE TABLE page_views (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  visit_id uuid NOT NULL,
  url text NOT NULL,
  title text,
  at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id),
  FOREIGN KEY (account_id, visit_id) REFERENCES visits (account_id, id) ON DELETE CASCADE
);
CREATE INDEX page_views_visit ON page_views (account_id, visit_id, at);

-- Lease history is never overwritten by reuse: attribution reads it.
CREATE TABLE leases (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  number_id uuid NOT NULL,
  visit_id uuid NOT NULL,
  visitor_id text NOT NULL,
  started_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  left_at timestamptz,
  held_until timestamptz NOT NULL,
  shared boolean NOT NULL DEFAULT false,
  PRIMARY KEY (account_id, id),
  FOREIGN KEY (account_id, number_id) REFERENCES numbers (account_id, id) ON DELETE CASCADE,
  FOREIGN KEY (account_id, visit_id) REFERENCES visits (account_id, id) ON DELETE CASCADE
);
CREATE INDEX leases_number_time ON leases (account_id, number_id, started_at);
CREATE INDEX leases_number_until ON leases (account_id, number_id, held_until);
CREATE INDEX leases_visit ON leases (account_id, visit_id);
CREATE INDEX leases_visitor ON leases (account_id, site_id, visitor_id, started_at);

CREATE TABLE pool_exhaustions (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  pool_id uuid NOT NULL,
  visit_id uuid NOT NULL,
  at timestamptz NOT NULL,
  action text NOT NULL CHECK (action IN ('default', 'share')),
  PRIMARY KEY (account_id, id)
);
CREATE INDEX pool_exhaustions_site ON pool_exhaustions (account_id, site_id, at);

CREATE TABLE integrations (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('generic')),
  name text NOT NULL,
  secret text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX integrations_id ON integrations (id);

-- Raw telephony events, stored before processing; the idempotency key makes redelivery harmless.
CREATE TABLE call_events (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  integration_id uuid NOT NULL,
  idempotency_key text NOT NULL,
  provider_call_id text NOT NULL,
  type text NOT NULL,
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  payload jsonb NOT NULL,
  PRIMARY KEY (account_id, id),
  UNIQUE (account_id, integration_id, idempotency_key)
);
CREATE INDEX call_events_call ON call_events (account_id, integration_id, provider_call_id);

CREATE TABLE calls (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  integration_id uuid NOT NULL,
  provider_call_id text NOT NULL,
  site_id uuid,
  number_id uuid,
  caller text,
  tracking_number text,
  status text NOT NULL,
  started_at timestamptz NOT NULL,
  answered_at timestamptz,
  ended_at timestamptz,
  wait_seconds integer,
  talk_seconds integer,
  employee text,
  group_name text,
  recording_url text,
  visit_id uuid,
  method text NOT NULL DEFAULT 'none',
  confidence real NOT NULL DEFAULT 0,
  candidates jsonb NOT NULL DEFAULT '[]',
  static_rule_id uuid,
  call_page_url text,
  is_unique boolean NOT NULL DEFAULT false,
  is_targeted boolean NOT NULL DEFAULT false,
  is_unique_targeted boolean NOT NULL DEFAULT false,
  is_first_targeted boolean NOT NULL DEFAULT false,
  is_repeat boolean NOT NULL DEFAULT false,
  is_missed boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id),
  UNIQUE (account_id, integration_id, provider_call_id)
);
CREATE INDEX calls_site_time ON calls (account_id, site_id, started_at);
CREATE INDEX calls_caller ON calls (account_id, site_id, caller, started_at);
