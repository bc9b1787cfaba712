-- Kamailio integrations (issue 5): `secret` is the shared token Kamailio sends in X-Ringtrace-Token.
ALTER TABLE integrations DROP CONSTRAINT integrations_kind_check;
ALTER TABLE integrations ADD CONSTRAINT integrations_kind_check CHECK (kind IN ('generic', 'twilio', 'kamailio'));
