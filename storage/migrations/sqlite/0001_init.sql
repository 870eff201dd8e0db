-- certgate schema, SQLite flavour. Keep it equivalent to ../postgres/0001_init.sql:
-- integers are 64-bit, flags are 0/1 integers, timestamps are UTC Unix seconds,
-- money is integer minor units.

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    formula       TEXT NOT NULL CHECK (formula IN ('bulk', 'rebate', 'deposit', 'monthly')),
    currency      TEXT NOT NULL,
    approval_mode INTEGER NOT NULL DEFAULT 0 CHECK (approval_mode IN (0, 1)),
    overdraft     INTEGER NOT NULL DEFAULT 0 CHECK (overdraft >= 0),
    created_at    INTEGER NOT NULL
);

CREATE TABLE organisations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    ident      TEXT NOT NULL DEFAULT '',
    country    TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL DEFAULT '',
    vat        TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE products (
    code              TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    validity_days     INTEGER NOT NULL CHECK (validity_days > 0),
    validation        TEXT NOT NULL CHECK (validation IN ('DV', 'OV', 'EV')),
    brand             TEXT NOT NULL,
    upstream          TEXT NOT NULL,
    wildcard          INTEGER NOT NULL DEFAULT 0 CHECK (wildcard IN (0, 1)),
    max_sans          INTEGER NOT NULL DEFAULT 0 CHECK (max_sans >= 0),
    san_code          TEXT,
    wildcard_san_code TEXT,
    renewal_code      TEXT,
    needs_prevalidation INTEGER NOT NULL DEFAULT 1 CHECK (needs_prevalidation IN (0, 1))
);

-- account_id 0 is the retail price list; others are negotiated prices.
CREATE TABLE prices (
    item       TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    currency   TEXT NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (item, account_id, currency)
);

CREATE TABLE prevalidations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    brand           TEXT NOT NULL,
    validation      TEXT NOT NULL CHECK (validation IN ('DV', 'OV', 'EV')),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'active', 'revoked')),
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE prevalidated_domains (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    domain          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (organisation_id, domain)
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    login           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    rights          TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked          INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    created_at      INTEGER NOT NULL
);

CREATE TABLE acme_urls (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    name            TEXT NOT NULL,
    product_code    TEXT NOT NULL REFERENCES products(code),
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    path            TEXT NOT NULL UNIQUE,
    kid             TEXT NOT NULL UNIQUE,
    hmac_sealed     TEXT NOT NULL,
    hmac_tail       TEXT NOT NULL,
    revoked_at      INTEGER,
    created_at      INTEGER NOT NULL
);

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    reference       TEXT UNIQUE,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    product_code    TEXT NOT NULL REFERENCES products(code),
    kind            TEXT NOT NULL CHECK (kind IN ('new', 'renewal')),
    renewal_of      INTEGER REFERENCES orders(id),
    cn              TEXT NOT NULL,
    sans            TEXT NOT NULL,
    csr_pem         TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('acme', 'xmlrpc', 'cli')),
    client_ref      TEXT,
    idempotency_key TEXT,
    created_by      TEXT NOT NULL,
    payment         TEXT NOT NULL CHECK (payment IN ('tokens', 'deposit', 'invoice')),
    price           INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,
    upstream        TEXT NOT NULL,
    upstream_ref    TEXT,
    failure         TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX orders_account_updated ON orders (account_id, updated_at);

CREATE TABLE certificates (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id          INTEGER NOT NULL REFERENCES orders(id),
    job_id            INTEGER NOT NULL UNIQUE,
    serial            TEXT NOT NULL,
    cn                TEXT NOT NULL,
    leaf_pem          TEXT NOT NULL,
    chain_pem         TEXT NOT NULL,
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    revoked_at        INTEGER,
    revocation_reason INTEGER,
    revoke_after      INTEGER,
    created_at        INTEGER NOT NULL
);
CREATE INDEX certificates_order ON certificates (order_id);

-- Append-only. A retried debit or refund hits the unique key and changes nothing.
CREATE TABLE ledger (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    order_id   INTEGER REFERENCES orders(id),
    reason     TEXT NOT NULL CHECK (reason IN ('order', 'refund', 'topup', 'adjustment')),
    asset      TEXT NOT NULL CHECK (asset IN ('token', 'deposit', 'invoice')),
    item       TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    balance    INTEGER NOT NULL,
    author     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (order_id, reason, item)
);
CREATE INDEX ledger_account ON ledger (account_id, asset, id);

-- The current balance per (account, asset, item): the sum of its ledger rows,
-- kept beside them so that a debit is one conditional UPDATE.
CREATE TABLE balances (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    asset      TEXT NOT NULL,
    item       TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, asset, item)
);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('issue', 'revoke')),
    order_id     INTEGER NOT NULL REFERENCES orders(id),
    certificate_id INTEGER,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_after    INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER,
    last_error   TEXT,
    upstream_ref TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_after);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    account_id INTEGER,
    actor      TEXT NOT NULL,
    ip         TEXT NOT NULL,
    source     TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL
);

-- Key material of the embedded CA, sealed with the configured secret key.
CREATE TABLE ca_keys (
    name       TEXT PRIMARY KEY,
    cert_pem   TEXT NOT NULL,
    key_sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
