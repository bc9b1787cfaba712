-- Bulk export pages through a whole account in time order when no site is given.
CREATE INDEX calls_account_time ON calls (account_id, started_at, id);
CREATE INDEX visits_account_time ON visits (account_id, started_at, id);
CREATE INDEX leads_account_time ON leads (account_id, created_at, id);
