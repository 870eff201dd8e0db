-- A certificate names the account of its order, so that the orders page's
-- expiry search (docs/portal.md) ranges one account's certificates by their
-- end of validity, not every account's. Set on insert from the order;
-- SQLite cannot make an added column NOT NULL, so the inserts always give
-- it. Equivalent to ../postgres/0022_certificates_account.sql.
ALTER TABLE certificates ADD COLUMN account_id INTEGER REFERENCES accounts(id);
UPDATE certificates SET account_id = (SELECT o.account_id FROM orders o WHERE o.id = certificates.order_id);
CREATE INDEX certificates_account_not_after ON certificates (account_id, not_after);
