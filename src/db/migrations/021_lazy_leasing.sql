-- Lazy leasing (issue 3): when a visit's pool number is leased, switchable per site so its effect is measured.
-- lease_on: 'load' = when the widget reports the page load (the original behaviour); 'visible' = only once one
-- of the site's numbers is on screen or touched (the widget then calls POST /t/lease).
ALTER TABLE sites ADD COLUMN lease_on text NOT NULL DEFAULT 'load' CHECK (lease_on IN ('load', 'visible'));

-- The pool chosen for the visit when it started, so a lease requested later draws from the same pool.
ALTER TABLE visits ADD COLUMN pool_id uuid;
