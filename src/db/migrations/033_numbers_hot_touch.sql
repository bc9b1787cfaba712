-- Every page view and heartbeat of a visit holding a pool number moves the number's held_until. With
-- held_until in the claim index no such update could be HOT: each wrote a new entry in all three indexes of
-- numbers, and the dead entries gathered at the free end of the claim index that every claim walks first.
-- Indexed by pool only, the updates are HOT (heap-only tuples, no index writes), and a claim reads the
-- pool's numbers (hundreds, a few pages) and picks the least recently released of the free ones.
DROP INDEX numbers_pool_free;
CREATE INDEX numbers_pool ON numbers (account_id, pool_id);
-- Room on each page for the new row versions of HOT updates.
ALTER TABLE numbers SET (fillfactor = 50);
