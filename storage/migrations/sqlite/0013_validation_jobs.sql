-- Challenge validation runs as a job, so that an instance that dies while a
-- challenge is being checked leaves a lease that another instance takes
-- over, rather than a challenge that stays `processing` forever. Such a job
-- works for an ACME authorization, not for an order: `order_id` may be
-- empty, and one of the two is always set. SQLite cannot relax a NOT NULL or
-- a CHECK in place, so the table is rebuilt (nothing refers to it).
CREATE TABLE jobs_rebuilt (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('issue', 'revoke', 'validate')),
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
    CHECK (order_id IS NOT NULL OR acme_authz_id IS NOT NULL)
);
INSERT INTO jobs_rebuilt (id, kind, order_id, certificate_id, state, attempts, run_after, lease_owner,
                          lease_until, last_error, upstream_ref, created_at, updated_at)
SELECT id, kind, order_id, certificate_id, state, attempts, run_after, lease_owner,
       lease_until, last_error, upstream_ref, created_at, updated_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_rebuilt RENAME TO jobs;
CREATE INDEX jobs_queued ON jobs (run_after, id) WHERE state = 'queued';
