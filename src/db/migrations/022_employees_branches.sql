-- Routing (issue 5 item 3): employees with their endpoints and availability, groups of employees that
-- flows ring, and branches: a site's flow may serve visitors from given regions (филиалы).
CREATE TABLE employees (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  name text NOT NULL,
  -- [{kind: "phone", number} | {kind: "sip", uri}], all rung when the employee is.
  endpoints jsonb NOT NULL,
  available boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id)
);
CREATE TABLE employee_groups (
  account_id uuid NOT NULL,
  id uuid NOT NULL,
  name text NOT NULL,
  -- Employee ids in ringing order (sequential groups ring them one by one).
  members uuid[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, id)
);
-- Regions (as geo-IP names them, or countries) whose calls this flow answers instead of the default one.
ALTER TABLE call_flows ADD COLUMN regions text[] NOT NULL DEFAULT '{}';
