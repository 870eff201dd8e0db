-- When a worker started buying an order's certificate upstream. From then
-- on a cancel would refund a certificate the CA may still deliver, so it is
-- refused; the worker sets it only while the order is processing, and a
-- cancel succeeds only while it is unset, so the two cannot both win.
ALTER TABLE orders ADD COLUMN purchase_started_at BIGINT;

-- The CSR an order had before its latest reissue: a cancelled reissue gives
-- it back (and the reissue's is kept here, should its certificate still come).
ALTER TABLE orders ADD COLUMN previous_csr_pem TEXT;
