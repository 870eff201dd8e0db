-- The certificate lifecycle runs by itself (docs/lifecycle.md): a delivered
-- order may renew automatically, and an account sets the default for its new
-- orders; delivered orders past their expiry become `expired`, and orders
-- may wait unpaid for funds (`waiting_funds`). Both new statuses are plain
-- values of `orders.status`, which has no CHECK.
ALTER TABLE orders ADD COLUMN auto_renew INTEGER NOT NULL DEFAULT 0 CHECK (auto_renew IN (0, 1));
ALTER TABLE accounts ADD COLUMN auto_renew_default INTEGER NOT NULL DEFAULT 0 CHECK (auto_renew_default IN (0, 1));
-- Whether a product's renewal may keep the certificate's key (the same CSR):
-- when not, an automatic renewal waits for a new CSR (`waiting_csr`).
ALTER TABLE products ADD COLUMN key_reuse INTEGER NOT NULL DEFAULT 1 CHECK (key_reuse IN (0, 1));
-- The periodic sweep and every credit look for the orders that wait; the
-- index holds those alone, so that placing and delivering an order (the
-- hot path) maintain no index more. The sweep's hourly reads of delivered
-- orders scan them instead.
CREATE INDEX orders_waiting ON orders (account_id, id) WHERE status IN ('waiting_funds', 'waiting_csr');

-- Notifications (docs/notifications.md). Contact points per account and
-- role, each with its language (seed 7.2.2); webhook endpoints, whose
-- signing secret is sealed; the outbox of events, written in the
-- transaction of the change that causes them, each delivered by a `notify`
-- job; one delivery per event and recipient, done once; and the prepaid
-- balance levels below which the account is warned (seed 7.2.3).
CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    role       TEXT NOT NULL CHECK (role IN ('generic', 'delivery', 'accounting', 'emergency')),
    email      TEXT NOT NULL,
    language   TEXT NOT NULL CHECK (language IN ('fr', 'en')),
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, role)
);
CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    url           TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    deleted_at    INTEGER
);
CREATE INDEX webhooks_account ON webhooks (account_id);
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL,
    order_id   INTEGER REFERENCES orders(id),
    payload    TEXT NOT NULL,
    dedup_key  TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_account ON events (account_id, id);
-- Only the events that must happen once have a key: the others cost no index entry.
CREATE UNIQUE INDEX events_dedup ON events (dedup_key) WHERE dedup_key IS NOT NULL;
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    INTEGER NOT NULL REFERENCES events(id),
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    target      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_status TEXT,
    last_error  TEXT,
    updated_at  INTEGER NOT NULL,
    UNIQUE (event_id, channel, target)
);
-- Whether an account has anyone to tell (a contact or a live webhook) and
-- any warning level: kept with them, so that placing an order reads neither
-- table for an account that has none.
ALTER TABLE accounts ADD COLUMN notified INTEGER NOT NULL DEFAULT 0 CHECK (notified IN (0, 1));
ALTER TABLE accounts ADD COLUMN warned INTEGER NOT NULL DEFAULT 0 CHECK (warned IN (0, 1));
CREATE TABLE warning_levels (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    asset      TEXT NOT NULL CHECK (asset IN ('token', 'deposit')),
    item       TEXT NOT NULL,
    level      INTEGER NOT NULL CHECK (level > 0),
    PRIMARY KEY (account_id, asset, item)
);

-- Periodic work is a job too: `lifecycle` (the sweep, for no order),
-- `renew` (an automatic renewal of one order) and `notify` (the delivery of
-- one event). A job may carry a key that no
-- other job ever has, so that work scheduled by several instances at once
-- runs once. SQLite cannot change a CHECK in place: the table is rebuilt.
CREATE TABLE jobs_rebuilt (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('issue', 'revoke', 'validate', 'lifecycle', 'renew', 'notify')),
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
INSERT INTO jobs_rebuilt (id, kind, order_id, certificate_id, state, attempts, run_after, lease_owner,
                          lease_until, last_error, upstream_ref, created_at, updated_at, acme_authz_id)
SELECT id, kind, order_id, certificate_id, state, attempts, run_after, lease_owner,
       lease_until, last_error, upstream_ref, created_at, updated_at, acme_authz_id FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_rebuilt RENAME TO jobs;
CREATE INDEX jobs_queued ON jobs (run_after, id) WHERE state = 'queued';
-- Only scheduled work has a key: an issuance's job costs no index entry.
CREATE UNIQUE INDEX jobs_dedup ON jobs (dedup_key) WHERE dedup_key IS NOT NULL;
