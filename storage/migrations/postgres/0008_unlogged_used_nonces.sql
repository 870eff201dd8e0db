-- The used nonces are written on every ACME request, each write its own
-- commit; as a logged table each commit waited for the WAL to reach the disk,
-- about a sixth of PostgreSQL's CPU per issuance. Unlogged, a commit that wrote
-- only here does not wait. What that gives up: after a PostgreSQL crash (not a
-- clean restart) or a failover the set starts empty, so a nonce used just
-- before could be accepted once more until it expires, which needs a request
-- captured off the TLS connection and replayed in that window. Boulder keeps
-- its nonces in memory for the same trade.
ALTER TABLE acme_used_nonces SET UNLOGGED;
