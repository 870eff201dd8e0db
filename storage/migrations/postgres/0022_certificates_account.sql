-- A certificate names the account of its order, so that the orders page's
-- expiry search (docs/portal.md) ranges one account's certificates by their
-- end of validity, not every account's. Set on insert from the order.
-- Equivalent to ../sqlite/0022_certificates_account.sql.
ALTER TABLE certificates ADD COLUMN account_id BIGINT REFERENCES accounts(id);
UPDATE certificates c SET account_id = o.account_id FROM orders o WHERE o.id = c.order_id;
ALTER TABLE certificates ALTER COLUMN account_id SET NOT NULL;
CREATE INDEX certificates_account_not_after ON certificates (account_id, not_after);
