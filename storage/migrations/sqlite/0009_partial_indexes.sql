-- Indexes that hold only the rows their queries look for, so that the rows
-- an ACME issuance writes touch fewer index pages (`strace` under `bench
-- compare` counted every index page of a commit written twice, to the WAL and
-- back): the worker looks only for queued jobs, and an order signed at once
-- records its job done; ACME orders carry no client reference; an ACME
-- order has no certgate order until it is finalized. Each query that uses
-- them names the indexed value (`state = 'queued'`, `client_ref = $n`,
-- `order_id = $n`), which implies the index's condition. The worker takes
-- the queued job due first, oldest first among those due the same second.
-- The indexes are built in the migration's transaction, not CONCURRENTLY:
-- on a large database, writes to these tables wait for the build.
DROP INDEX jobs_ready;
CREATE INDEX jobs_queued ON jobs (run_after, id) WHERE state = 'queued';
DROP INDEX orders_account_client_ref;
CREATE INDEX orders_account_client_ref ON orders (account_id, client_ref) WHERE client_ref IS NOT NULL;
DROP INDEX acme_orders_order;
CREATE INDEX acme_orders_order ON acme_orders (order_id) WHERE order_id IS NOT NULL;
