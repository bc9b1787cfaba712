-- Call legs and transfers (issue 5, item 1; telephony.md §6.6). The legs are a projection the reducer rebuilds
-- from the event log on every event, so they live beside the call as jsonb and are rewritten whole. Reports keep
-- counting a call once, for `employee` (who answered first); `finished_by` is who was connected last.
ALTER TABLE calls ADD COLUMN legs jsonb NOT NULL DEFAULT '[]';
ALTER TABLE calls ADD COLUMN transfers jsonb NOT NULL DEFAULT '[]';
ALTER TABLE calls ADD COLUMN finished_by text;
