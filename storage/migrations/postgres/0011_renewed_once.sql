-- An order is renewed once: two live renewals of one order would buy the
-- same certificate twice. A renewal that was cancelled, rejected or failed
-- leaves the index, and the order may be renewed again.
CREATE UNIQUE INDEX orders_renewed_once ON orders (renewal_of)
    WHERE renewal_of IS NOT NULL AND status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed');
