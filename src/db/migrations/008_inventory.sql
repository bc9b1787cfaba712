-- Number lifecycle with a shared inventory (issue 3, item 6; DESIGN §1 "platform operator", §4 отстойник).
-- The platform operator's numbers live outside every account: `numbers` rows are account-scoped (their
-- keys include account_id), so a number the platform owns but no account uses yet has no place there.
-- An inventory number is in one state at a time: available (may be given to a pool), assigned (an
-- account's `numbers` row of kind pool, ownership platform, exists for it) or quarantined (rests until
-- quarantined_until; nobody gets it before). Every state change is a row of inventory_transitions.

CREATE TABLE inventory_numbers (
  e164 text PRIMARY KEY,
  region text,
  state text NOT NULL CHECK (state IN ('available', 'assigned', 'quarantined')),
  -- Where an assigned number is (the account's numbers row); NULL otherwise.
  account_id uuid,
  site_id uuid,
  pool_id uuid,
  number_id uuid,
  assigned_at timestamptz,
  quarantined_until timestamptz,
  -- When the number entered its current state: available numbers are handed out longest-rested first.
  state_since timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  CHECK ((state = 'assigned') = (account_id IS NOT NULL AND number_id IS NOT NULL)),
  CHECK ((state = 'quarantined') = (quarantined_until IS NOT NULL))
);
CREATE INDEX inventory_numbers_state ON inventory_numbers (state, state_since, e164);
CREATE INDEX inventory_numbers_account ON inventory_numbers (account_id, number_id);

CREATE TABLE inventory_transitions (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  e164 text NOT NULL REFERENCES inventory_numbers (e164),
  from_state text,
  to_state text NOT NULL,
  reason text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}',
  at timestamptz NOT NULL,
  account_id uuid,
  site_id uuid,
  pool_id uuid
);
CREATE INDEX inventory_transitions_number ON inventory_transitions (e164, seq);
CREATE INDEX inventory_transitions_account ON inventory_transitions (account_id, seq);

-- Per-pool lifecycle settings. auto_grow NULL = the default: on when the pool holds platform numbers.
-- checked_at: the lifecycle worker's last look at the pool (exhaustions after it trigger growth).
CREATE TABLE pool_settings (
  account_id uuid NOT NULL,
  pool_id uuid NOT NULL,
  auto_grow boolean,
  max_size integer CHECK (max_size >= 0),
  checked_at timestamptz,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, pool_id),
  FOREIGN KEY (account_id, pool_id) REFERENCES pools (account_id, id) ON DELETE CASCADE
);

-- Per-account override of the idle period after which an unused platform number is released.
CREATE TABLE account_inventory_settings (
  account_id uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  idle_release_days integer CHECK (idle_release_days >= 1),
  updated_at timestamptz NOT NULL
);

-- A released platform number whose leases or calls are history is retired, not deleted: deleting it
-- would cascade to its leases, which attribution reads forever. A retired row keeps its id and site (so
-- a late call still finds the lease it belongs to) but leaves its pool, so no visit gets it again.
ALTER TABLE numbers ADD COLUMN retired_at timestamptz;
