-- Nonces are no longer stored when issued: each is sealed with an HMAC under a
-- key derived from the secret key, so any instance can check it without the
-- database. What is stored is the nonces already used, until they expire, so
-- that each is accepted once across every instance. Nonces issued before this
-- migration carry no seal and are refused with badNonce (clients retry).
DROP TABLE acme_nonces;
CREATE TABLE acme_used_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX acme_used_nonces_expiry ON acme_used_nonces (expires_at);
