-- ACME protocol state, kept by the ACME front. Equivalent to ../postgres/0002_acme.sql.

-- A nonce is valid once, on any instance, until it expires.
CREATE TABLE acme_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX acme_nonces_expiry ON acme_nonces (expires_at);

CREATE TABLE acme_accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    acme_url_id INTEGER NOT NULL REFERENCES acme_urls(id),
    -- RFC 7638 thumbprint and canonical JSON of the account key.
    thumbprint  TEXT NOT NULL,
    jwk         TEXT NOT NULL,
    contact     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('valid', 'deactivated')),
    created_at  INTEGER NOT NULL,
    UNIQUE (acme_url_id, thumbprint)
);

CREATE TABLE acme_orders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES acme_accounts(id),
    identifiers TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
    -- The certgate order placed at finalize.
    order_id    INTEGER REFERENCES orders(id),
    -- The certificate this order replaces (RFC 9773 "replaces").
    replaces    INTEGER REFERENCES certificates(id),
    error       TEXT,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX acme_orders_account ON acme_orders (account_id, id);
CREATE INDEX acme_orders_order ON acme_orders (order_id);

CREATE TABLE acme_authzs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    acme_order_id INTEGER NOT NULL REFERENCES acme_orders(id),
    identifier    TEXT NOT NULL,
    wildcard      INTEGER NOT NULL DEFAULT 0 CHECK (wildcard IN (0, 1)),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'expired')),
    -- The token every challenge of this authorization shares.
    token         TEXT NOT NULL,
    -- The challenge the client answered, its state, and why it failed.
    challenge_type   TEXT,
    challenge_status TEXT NOT NULL DEFAULT 'pending',
    error            TEXT,
    validated_at  INTEGER,
    expires_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX acme_authzs_order ON acme_authzs (acme_order_id);

CREATE INDEX certificates_serial ON certificates (serial);
