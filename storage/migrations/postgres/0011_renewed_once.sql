-- An order is renewed once: two live renewals of one order would buy the
-- same certificate twice. A renewal that was cancelled, rejected or failed
-- leaves the index, and the order may be renewed again. Renewals made twice
-- before this rule (parallel renewals could) stay orders of their own, but
-- only the first of each keeps its link to the order it renewed, so the
-- index can be built.
UPDATE orders SET renewal_of = NULL
WHERE renewal_of IS NOT NULL
  AND status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed')
  AND id NOT IN (
      SELECT MIN(id) FROM orders
      WHERE renewal_of IS NOT NULL AND status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed')
      GROUP BY renewal_of);
CREATE UNIQUE INDEX orders_renewed_once ON orders (renewal_of)
    WHERE renewal_of IS NOT NULL AND status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed');
