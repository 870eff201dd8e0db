-- Orders placed in the customer area (docs/portal.md) say so: `portal`
-- joins the sources an order may come from. With the indexes of the orders
-- page's searches (by common name, by order date, by certificate expiry).
ALTER TABLE orders DROP CONSTRAINT orders_source_check;
ALTER TABLE orders ADD CONSTRAINT orders_source_check CHECK (source IN ('acme', 'xmlrpc', 'cli', 'portal'));
-- Names are searched by prefix, bytewise, whatever the database's collation.
CREATE INDEX orders_account_cn ON orders (account_id, cn COLLATE "C");
CREATE INDEX orders_account_created ON orders (account_id, created_at);
CREATE INDEX certificates_not_after ON certificates (not_after);
