-- The secret an order waiting for domain control validation asks the customer to publish.
ALTER TABLE orders ADD COLUMN dcv_token TEXT;
