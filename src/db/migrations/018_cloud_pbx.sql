-- Cloud telephony adapters (issue 5): Mango Office VPBX, Zadarma, SignalWire cXML and Telnyx TeXML.
-- `integrations.secret` keeps what keys the provider's signature: sealed with the server's secret box for
-- Mango (the API salt), Zadarma (the API secret) and SignalWire (the signing key); for Telnyx, whose
-- signature is checked with a public key, it is a random key for our signed flow cursors. Settings that are
-- not secret (Mango's API key, Telnyx's public key, Zadarma's time zone and extension map) live in
-- `settings`.
ALTER TABLE integrations DROP CONSTRAINT integrations_kind_check;
ALTER TABLE integrations ADD CONSTRAINT integrations_kind_check
  CHECK (kind IN ('generic', 'twilio', 'kamailio', 'asterisk', 'mango', 'zadarma', 'signalwire', 'telnyx'));
ALTER TABLE integrations ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';
