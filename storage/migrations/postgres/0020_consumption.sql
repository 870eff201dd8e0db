-- Consumption per account, calendar month (UTC) and product (seed 9.2;
-- docs/portal.md): how many orders counted and their summed price, kept by
-- a trigger in the transaction that writes the order, so that the
-- consumption tab reads a few rows instead of every order of a year. An
-- order counts unless it is cancelled, refunded, discarded or failed; the
-- trigger moves its count and price in and out as its status or its price
-- change. Equivalent to ../sqlite/0020_consumption.sql.
CREATE TABLE consumption (
    account_id   BIGINT NOT NULL REFERENCES accounts(id),
    -- The month's first second, UTC Unix seconds.
    month        BIGINT NOT NULL,
    product_code TEXT NOT NULL,
    orders       BIGINT NOT NULL,
    amount       BIGINT NOT NULL,
    PRIMARY KEY (account_id, month, product_code)
);

INSERT INTO consumption (account_id, month, product_code, orders, amount)
SELECT account_id,
       CAST(EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(created_at) AT TIME ZONE 'UTC')) AS BIGINT),
       product_code, COUNT(*), SUM(price)
FROM orders
WHERE status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed')
GROUP BY 1, 2, 3;

CREATE FUNCTION orders_consumption() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counted_now BOOLEAN := NEW.status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed');
    counted_before BOOLEAN := FALSE;
    price_before BIGINT := 0;
    moved_orders BIGINT;
    moved_amount BIGINT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        counted_before := OLD.status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed');
        price_before := OLD.price;
    END IF;
    moved_orders := counted_now::int - counted_before::int;
    moved_amount := (CASE WHEN counted_now THEN NEW.price ELSE 0 END)
                  - (CASE WHEN counted_before THEN price_before ELSE 0 END);
    IF moved_orders <> 0 OR moved_amount <> 0 THEN
        INSERT INTO consumption (account_id, month, product_code, orders, amount)
        VALUES (NEW.account_id,
                CAST(EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(NEW.created_at) AT TIME ZONE 'UTC')) AS BIGINT),
                NEW.product_code, moved_orders, moved_amount)
        ON CONFLICT (account_id, month, product_code)
        DO UPDATE SET orders = consumption.orders + excluded.orders, amount = consumption.amount + excluded.amount;
    END IF;
    RETURN NULL;
END
$$;

-- Deferred to the commit: the account's row of the month is then locked
-- for the commit alone, not for the whole order's transaction, so parallel
-- orders of one account do not queue behind each other's signing. A row per
-- order: a transaction writes one order or a few, and one that changed
-- thousands of one month's orders would make PostgreSQL walk as many
-- versions of the month's row at each of them (bulk loads go in batches).
CREATE CONSTRAINT TRIGGER orders_consumption AFTER INSERT OR UPDATE OF status, price ON orders
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION orders_consumption();
