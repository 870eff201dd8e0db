-- Certificate monitoring (docs/monitoring.md; seed 12). Per account: whether
-- new certificates are monitored, how often by default, and who receives the
-- results (an address and a language, since users have none), as plain text
-- or HTML.
CREATE TABLE monitor_settings (
    account_id        INTEGER PRIMARY KEY REFERENCES accounts(id),
    default_on        INTEGER NOT NULL DEFAULT 0 CHECK (default_on IN (0, 1)),
    default_frequency INTEGER NOT NULL DEFAULT 30 CHECK (default_frequency IN (0, 7, 30, 90)),
    manager_email     TEXT,
    manager_language  TEXT NOT NULL DEFAULT 'en' CHECK (manager_language IN ('en', 'fr')),
    plain_text        INTEGER NOT NULL DEFAULT 0 CHECK (plain_text IN (0, 1))
);
-- One monitor per order: what to scan (host names one a line, a port, a
-- StartTLS), how often (0: never), and when next. The last scan's summary
-- tells a changed result from the same one.
CREATE TABLE monitors (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    order_id     INTEGER NOT NULL UNIQUE REFERENCES orders(id),
    enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    frequency    INTEGER NOT NULL CHECK (frequency IN (0, 7, 30, 90)),
    hosts        TEXT NOT NULL,
    port         INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    starttls     TEXT NOT NULL
        CHECK (starttls IN ('none', 'smtp', 'imap', 'pop3', 'ftp', 'xmpp', 'postgres')),
    next_scan_at INTEGER,
    last_scan_at INTEGER,
    last_summary TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX monitors_account ON monitors (account_id, id);
-- The sweep looks for the monitors due; only those scheduled are indexed.
CREATE INDEX monitors_due ON monitors (next_scan_at) WHERE next_scan_at IS NOT NULL;
-- One row per host and scan: the history. A scan's rows share `scanned_at`.
CREATE TABLE monitor_results (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id   INTEGER NOT NULL REFERENCES monitors(id),
    scanned_at   INTEGER NOT NULL,
    host         TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('ok', 'problem', 'error')),
    error_class  TEXT,
    served       TEXT CHECK (served IN ('current', 'renewal', 'previous', 'other')),
    serial       TEXT,
    chain_valid  INTEGER CHECK (chain_valid IN (0, 1)),
    name_matches INTEGER CHECK (name_matches IN (0, 1)),
    days_left    INTEGER,
    tls_versions TEXT,
    problems     TEXT NOT NULL,
    detail       TEXT
);
CREATE INDEX monitor_results_monitor ON monitor_results (monitor_id, id);

-- A scan is a `monitor` job, for the monitored order. SQLite cannot change
-- a CHECK in place: the table is rebuilt, as in 0014.
CREATE TABLE jobs_rebuilt (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('issue', 'revoke', 'validate', 'lifecycle', 'renew', 'notify', 'monitor')),
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
    dedup_key    TEXT,
    event_id     INTEGER REFERENCES events(id),
    CHECK (kind = 'lifecycle' OR order_id IS NOT NULL OR acme_authz_id IS NOT NULL OR event_id IS NOT NULL)
);
INSERT INTO jobs_rebuilt SELECT id, kind, order_id, certificate_id, state, attempts, run_after, lease_owner,
       lease_until, last_error, upstream_ref, created_at, updated_at, acme_authz_id, dedup_key, event_id FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_rebuilt RENAME TO jobs;
CREATE INDEX jobs_queued ON jobs (run_after, id) WHERE state = 'queued';
CREATE UNIQUE INDEX jobs_dedup ON jobs (dedup_key) WHERE dedup_key IS NOT NULL;
