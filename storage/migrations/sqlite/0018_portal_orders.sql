-- no-transaction
-- Orders placed in the customer area (docs/portal.md) say so: `portal`
-- joins the sources an order may come from. SQLite cannot change a CHECK in
-- place and ten tables refer to `orders`, so the table is rebuilt the way
-- SQLite documents it: foreign keys off while the table is copied with
-- every id kept. The same migration adds the indexes of the orders page's
-- searches (by common name, by order date, by certificate expiry) and of
-- statements read a page at a time.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE orders_rebuilt (
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
    source          TEXT NOT NULL CHECK (source IN ('acme', 'xmlrpc', 'cli', 'portal')),
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
    dcv_token       TEXT,
    purchase_started_at INTEGER,
    previous_csr_pem TEXT,
    auto_renew      INTEGER NOT NULL DEFAULT 0 CHECK (auto_renew IN (0, 1)),
    UNIQUE (account_id, idempotency_key)
);
INSERT INTO orders_rebuilt (id, reference, account_id, organisation_id, product_code, kind, renewal_of, cn, sans,
       csr_pem, source, client_ref, idempotency_key, created_by, payment, price, currency, status, upstream,
       upstream_ref, failure, created_at, updated_at, dcv_token, purchase_started_at, previous_csr_pem, auto_renew)
SELECT id, reference, account_id, organisation_id, product_code, kind, renewal_of, cn, sans,
       csr_pem, source, client_ref, idempotency_key, created_by, payment, price, currency, status, upstream,
       upstream_ref, failure, created_at, updated_at, dcv_token, purchase_started_at, previous_csr_pem, auto_renew
FROM orders;
DROP TABLE orders;
ALTER TABLE orders_rebuilt RENAME TO orders;
CREATE INDEX orders_account_updated ON orders (account_id, updated_at);
CREATE INDEX orders_account_status ON orders (account_id, status, id);
CREATE INDEX orders_account_id ON orders (account_id, id);
CREATE INDEX orders_account_client_ref ON orders (account_id, client_ref) WHERE client_ref IS NOT NULL;
CREATE UNIQUE INDEX orders_renewed_once ON orders (renewal_of)
    WHERE renewal_of IS NOT NULL AND status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed');
CREATE INDEX orders_waiting ON orders (account_id, id) WHERE status IN ('waiting_funds', 'waiting_csr');
CREATE INDEX orders_account_cn ON orders (account_id, cn);
CREATE INDEX orders_account_created ON orders (account_id, created_at);
CREATE INDEX certificates_not_after ON certificates (not_after);
-- A statement's page starts at its period's first movement, however long the history.
CREATE INDEX ledger_account_time ON ledger (account_id, asset, created_at, id);
COMMIT;
PRAGMA foreign_keys = ON;
