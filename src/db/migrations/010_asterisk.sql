-- Asterisk integrations (issue 5): `integrations.secret` is the token the dialplan's CURL() sends to
-- /hooks/asterisk/{id}/route; the AMI connection settings and the AMI password live here.
ALTER TABLE integrations DROP CONSTRAINT integrations_kind_check;
ALTER TABLE integrations ADD CONSTRAINT integrations_kind_check CHECK (kind IN ('generic', 'twilio', 'kamailio', 'asterisk'));

CREATE TABLE asterisk_integrations (
  account_id uuid NOT NULL,
  integration_id uuid NOT NULL,
  host text NOT NULL,
  port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
  username text NOT NULL,
  ami_secret text NOT NULL,
  channel_tech text NOT NULL DEFAULT 'PJSIP' CHECK (channel_tech IN ('PJSIP', 'SIP')),
  trunk text,
  enabled boolean NOT NULL DEFAULT true,
  PRIMARY KEY (account_id, integration_id),
  FOREIGN KEY (account_id, integration_id) REFERENCES integrations (account_id, id) ON DELETE CASCADE
);
