-- When a worker started buying an order's certificate upstream. From then
-- on a cancel would refund a certificate the CA may still deliver, so it is
-- refused; the worker sets it only while the order is processing, and a
-- cancel succeeds only while it is unset, so the two cannot both win.
ALTER TABLE orders ADD COLUMN purchase_started_at BIGINT;
