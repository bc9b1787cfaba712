-- Leads besides calls (issue 6 item 1): forms, callbacks, chats posted by the widget to /t/lead,
-- attributed to their visit. A client-supplied id makes a resend idempotent per visit.
CREATE TABLE leads (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  site_id uuid NOT NULL,
  visit_id uuid NOT NULL,
  client_id text,
  type text NOT NULL CHECK (type IN ('form', 'callback', 'chat', 'other')),
  phone text,
  email text,
  name text,
  fields jsonb NOT NULL DEFAULT '{}',
  url text,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id),
  UNIQUE (account_id, visit_id, client_id)
);
CREATE INDEX leads_site_time ON leads (account_id, site_id, created_at);

-- Outgoing webhooks (issue 6 item 5): subscriptions, the event outbox, one delivery per
-- (event, subscription) and a log row per attempt.
CREATE TABLE webhooks (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  url text NOT NULL,
  events text[] NOT NULL,
  secret text NOT NULL,
  description text,
  active boolean NOT NULL DEFAULT true,
  -- Creation or the last re-activation: failures before it no longer count towards disabling.
  enabled_at timestamptz NOT NULL,
  disabled_at timestamptz,
  notice text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id)
);

CREATE TABLE webhook_events (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id)
);

CREATE TABLE webhook_deliveries (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  webhook_id uuid NOT NULL,
  event_id uuid NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  locked_until timestamptz,
  last_status_code integer,
  last_error text,
  created_at timestamptz NOT NULL,
  finished_at timestamptz,
  PRIMARY KEY (account_id, id),
  UNIQUE (account_id, webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (account_id, webhook_id, created_at);

CREATE TABLE webhook_attempts (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  delivery_id uuid NOT NULL,
  webhook_id uuid NOT NULL,
  attempt integer NOT NULL,
  at timestamptz NOT NULL,
  status_code integer,
  error text,
  duration_ms integer NOT NULL,
  success boolean NOT NULL,
  manual boolean NOT NULL DEFAULT false,
  PRIMARY KEY (account_id, id)
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (account_id, delivery_id, at);
CREATE INDEX webhook_attempts_hook ON webhook_attempts (account_id, webhook_id, at);
