-- Indexes for queries that run on every request or every worker turn and
-- scanned whole tables before (found with EXPLAIN QUERY PLAN under `bench compare`):
-- the worker's look for delayed revocations that are due read every certificate,
-- and the hourly ACME rate limits read every order of the account.
CREATE INDEX certificates_revoke_due ON certificates (revoke_after) WHERE revoked_at IS NULL AND revoke_after IS NOT NULL;
CREATE INDEX acme_orders_account_created ON acme_orders (account_id, created_at);
CREATE INDEX prevalidations_organisation ON prevalidations (organisation_id);
