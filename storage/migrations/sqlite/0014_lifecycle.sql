-- The certificate lifecycle runs by itself (docs/lifecycle.md): a delivered
-- order may renew automatically, and an account sets the default for its new
-- orders; delivered orders past their expiry become `expired`, and orders
-- may wait unpaid for funds (`waiting_funds`). Both new statuses are plain
-- values of `orders.status`, which has no CHECK.
ALTER TABLE orders ADD COLUMN auto_renew INTEGER NOT NULL DEFAULT 0 CHECK (auto_renew IN (0, 1));
ALTER TABLE accounts ADD COLUMN auto_renew_default INTEGER NOT NULL DEFAULT 0 CHECK (auto_renew_default IN (0, 1));
-- The periodic sweep reads the delivered and waiting orders of every account.
CREATE INDEX orders_status ON orders (status, id);

-- Periodic work is a job too: `lifecycle` (the sweep, for no order) and
-- `renew` (an automatic renewal of one order). A job may carry a key that no
-- other job ever has, so that work scheduled by several instances at once
-- runs once. SQLite cannot change a CHECK in place: the table is rebuilt.
CREATE TABLE jobs_rebuilt (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('issue', 'revoke', 'validate', 'lifecycle', 'renew')),
    order_id     INTEGER REFERENCES orders(id),
    certificate_id INTEGER,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_after    INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER,
    last_error   TEXT,
    upstream_ref TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    acme_authz_id INTEGER REFERENCES acme_authzs(id),
    dedup_key    TEXT UNIQUE,
    CHECK (kind = 'lifecycle' OR order_id IS NOT NULL OR acme_authz_id IS NOT NULL)
);
INSERT INTO jobs_rebuilt (id, kind, order_id, certificate_id, state, attempts, run_after, lease_owner,
                          lease_until, last_error, upstream_ref, created_at, updated_at, acme_authz_id)
SELECT id, kind, order_id, certificate_id, state, attempts, run_after, lease_owner,
       lease_until, last_error, upstream_ref, created_at, updated_at, acme_authz_id FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_rebuilt RENAME TO jobs;
CREATE INDEX jobs_queued ON jobs (run_after, id) WHERE state = 'queued';
