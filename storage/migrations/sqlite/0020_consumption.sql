-- Consumption per account, calendar month (UTC) and product (seed 9.2;
-- docs/portal.md): how many orders counted and their summed price, kept by
-- triggers in the transaction that writes the order, so that the
-- consumption tab reads a few rows instead of every order of a year. An
-- order counts unless it is cancelled, refunded, discarded or failed; the
-- triggers move its count and price in and out as its status or its price
-- change. Equivalent to ../postgres/0020_consumption.sql. A rebuild of
-- `orders` (as 0018 does) drops these triggers and must create them again.
CREATE TABLE consumption (
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    -- The month's first second, UTC Unix seconds.
    month        INTEGER NOT NULL,
    product_code TEXT NOT NULL,
    orders       INTEGER NOT NULL,
    amount       INTEGER NOT NULL,
    PRIMARY KEY (account_id, month, product_code)
) WITHOUT ROWID;

INSERT INTO consumption (account_id, month, product_code, orders, amount)
SELECT account_id, CAST(strftime('%s', created_at, 'unixepoch', 'start of month') AS INTEGER), product_code,
       COUNT(*), SUM(price)
FROM orders
WHERE status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed')
GROUP BY 1, 2, 3;

CREATE TRIGGER orders_consumption_insert AFTER INSERT ON orders
WHEN NEW.status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed')
BEGIN
    INSERT INTO consumption (account_id, month, product_code, orders, amount)
    VALUES (NEW.account_id, CAST(strftime('%s', NEW.created_at, 'unixepoch', 'start of month') AS INTEGER),
            NEW.product_code, 1, NEW.price)
    ON CONFLICT (account_id, month, product_code)
    DO UPDATE SET orders = orders + excluded.orders, amount = amount + excluded.amount;
END;

-- A change of status or price takes the order's old share out and puts its
-- new one in (SQLite's comparisons are 0 or 1).
CREATE TRIGGER orders_consumption_update AFTER UPDATE OF status, price ON orders
WHEN (OLD.status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed'))
         <> (NEW.status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed'))
     OR (OLD.price <> NEW.price AND NEW.status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed'))
BEGIN
    INSERT INTO consumption (account_id, month, product_code, orders, amount)
    VALUES (NEW.account_id, CAST(strftime('%s', NEW.created_at, 'unixepoch', 'start of month') AS INTEGER),
            NEW.product_code,
            (NEW.status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed'))
              - (OLD.status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed')),
            (NEW.status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed')) * NEW.price
              - (OLD.status NOT IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed')) * OLD.price)
    ON CONFLICT (account_id, month, product_code)
    DO UPDATE SET orders = orders + excluded.orders, amount = amount + excluded.amount;
END;
