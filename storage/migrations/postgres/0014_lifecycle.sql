-- The certificate lifecycle runs by itself (docs/lifecycle.md): a delivered
-- order may renew automatically, and an account sets the default for its new
-- orders; delivered orders past their expiry become `expired`, and orders
-- may wait unpaid for funds (`waiting_funds`). Both new statuses are plain
-- values of `orders.status`, which has no CHECK.
ALTER TABLE orders ADD COLUMN auto_renew BIGINT NOT NULL DEFAULT 0 CHECK (auto_renew IN (0, 1));
ALTER TABLE accounts ADD COLUMN auto_renew_default BIGINT NOT NULL DEFAULT 0 CHECK (auto_renew_default IN (0, 1));
-- The periodic sweep reads the delivered and waiting orders of every account.
CREATE INDEX orders_status ON orders (status, id);

-- Periodic work is a job too: `lifecycle` (the sweep, for no order) and
-- `renew` (an automatic renewal of one order). A job may carry a key that no
-- other job ever has, so that work scheduled by several instances at once
-- runs once.
ALTER TABLE jobs ADD COLUMN dedup_key TEXT UNIQUE;
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('issue', 'revoke', 'validate', 'lifecycle', 'renew'));
ALTER TABLE jobs DROP CONSTRAINT jobs_works_for_something;
ALTER TABLE jobs ADD CONSTRAINT jobs_works_for_something
    CHECK (kind = 'lifecycle' OR order_id IS NOT NULL OR acme_authz_id IS NOT NULL);
