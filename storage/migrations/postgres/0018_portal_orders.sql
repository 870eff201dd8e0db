-- Orders placed in the customer area (docs/portal.md) say so: `portal`
-- joins the sources an order may come from. With the indexes of the orders
-- page's searches (by common name, by order date, by certificate expiry)
-- and of statements read a page at a time.
ALTER TABLE orders DROP CONSTRAINT orders_source_check;
ALTER TABLE orders ADD CONSTRAINT orders_source_check CHECK (source IN ('acme', 'xmlrpc', 'cli', 'portal'));
-- Names are searched by prefix, bytewise, whatever the database's collation.
CREATE INDEX orders_account_cn ON orders (account_id, cn COLLATE "C");
CREATE INDEX orders_account_created ON orders (account_id, created_at);
CREATE INDEX certificates_not_after ON certificates (not_after);
-- A statement's page starts at its period's first movement, however long the history.
CREATE INDEX ledger_account_time ON ledger (account_id, asset, created_at, id);
