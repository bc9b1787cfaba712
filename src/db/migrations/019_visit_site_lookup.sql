-- The widget's page hit and heartbeat find a visit by (account, site, id). Without column statistics (a
-- young table, or autovacuum behind under load) the planner matched that to visits_visitor's
-- (account_id, site_id) prefix and filtered every visit of the site: per-request cost grew with the
-- number of visits (5 ms at 3,000, measured by the simulator). An index on all three columns is the plan
-- with or without statistics; the ping updates no indexed column, so its updates stay HOT.
CREATE INDEX visits_site_id ON visits (account_id, site_id, id);
