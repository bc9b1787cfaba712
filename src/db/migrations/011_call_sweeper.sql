-- Stale-call sweeper (issue 5, item 1; telephony.md §6.3): a call closed by the sweeper's synthetic
-- call.ended is flagged, and the sweeper finds open calls through a small partial index.
ALTER TABLE calls ADD COLUMN closed_by text;
CREATE INDEX calls_open ON calls (account_id, integration_id, provider_call_id) WHERE status IN ('ringing', 'answered');
