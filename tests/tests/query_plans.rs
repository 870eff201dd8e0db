//! The queries that run on every ACME request or every worker turn use an
//! index: a full table scan there costs time in proportion to the history
//! (every certificate, every order of the account), which `bench compare`
//! showed as CPU per issuance growing over a run.

use certgate_tests::TestDb;

/// The statements `storage` runs, with the index each must use.
const HOT: [(&str, &str); 13] = [
    (storage::jobs::NEXT, "jobs_queued"),
    (storage::jobs::NEXT_ORDERS, "jobs_queued"),
    (storage::jobs::NEXT_NOTIFICATIONS, "jobs_queued"),
    (storage::jobs::NEXT_SCANS, "jobs_queued"),
    (storage::acme_orders::BY_ORDER, "acme_orders_order"),
    (storage::certificates::DUE_REVOCATIONS, "certificates_revoke_due"),
    (storage::acme_orders::CREATED_SINCE, "acme_orders_account_created"),
    (storage::products::ORDERABLE, "prevalidations_organisation"),
    (storage::acme_nonces::PURGE, "acme_used_nonces_expiry"),
    (storage::certificates::OF_ACCOUNT, "INTEGER PRIMARY KEY"),
    (storage::acme_orders::AUTHZ_OF_ACCOUNT, "INTEGER PRIMARY KEY"),
    (storage::acme_requests::AUTHZ[0], "INTEGER PRIMARY KEY"),
    (storage::acme_requests::ORDER[0], "acme_authzs_order"),
];

#[tokio::test]
async fn hot_queries_use_an_index_on_sqlite() {
    let tdb = TestDb::sqlite().await;
    // EXPLAIN of a writing statement counts as a write to SQLite.
    let mut c = tdb.db.acquire_writer().await.unwrap();
    for (sql, index) in HOT {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut q = storage::sql::query_built(explain).read_as::<(i64, i64, i64, String)>();
        for _ in 0..placeholders(sql) {
            q = q.bind(1_i64);
        }
        let plan: Vec<String> = q.fetch_all(&mut c).await.unwrap().into_iter().map(|r| r.3).collect();
        assert!(plan.iter().any(|step| step.contains(index)), "{sql}\n  should use {index}, plan: {plan:?}");
        // Scanning a subquery's own result, or the one row of a SELECT without
        // FROM, is fine; scanning a table is not.
        let subqueries: Vec<&str> = plan
            .iter()
            .filter_map(|step| step.strip_prefix("CO-ROUTINE ").or_else(|| step.strip_prefix("MATERIALIZE ")))
            .collect();
        let table_scan = plan
            .iter()
            .filter_map(|step| step.strip_prefix("SCAN "))
            // A scan's first word is what it scans ("r LEFT-JOIN" scans r).
            .find(|t| *t != "CONSTANT ROW" && !t.split(' ').next().is_some_and(|t| subqueries.contains(&t)));
        assert!(table_scan.is_none(), "{sql}\n  scans a table: {plan:?}");
    }
    drop(c);
    tdb.cleanup().await;
}

/// The statements that check who owns a row by its order, with the keys
/// each must go through (primary keys, and an order's authorizations by the
/// order's key).
const OWNER_CHECKS: [(&str, &str, &str); 6] = [
    (storage::certificates::OF_ACCOUNT, "certificates_pkey", "orders_pkey"),
    (storage::acme_orders::AUTHZ_OF_ACCOUNT, "acme_authzs_pkey", "acme_orders_pkey"),
    (storage::acme_requests::AUTHZ[0], "acme_authzs_pkey", "acme_orders_pkey"),
    (storage::acme_requests::AUTHZ[1], "acme_authzs_pkey", "acme_orders_pkey"),
    (storage::acme_requests::ORDER[0], "acme_orders_pkey", "acme_authzs_order"),
    (storage::acme_requests::ORDER[1], "acme_orders_pkey", "acme_authzs_order"),
];

/// PostgreSQL caches a generic plan per connection after a few runs, planned
/// with the statistics of that moment: a join on the owning order, planned
/// while an account had few orders, could go through the account's index
/// and cost more with every order. An owner check goes by the rows' keys,
/// never through an account's index.
#[tokio::test]
async fn owner_checks_go_by_row_keys_not_accounts_on_postgres() {
    let Some(tdb) = TestDb::postgres_or_skip().await else {
        return;
    };
    let mut c = tdb.db.acquire().await.unwrap();
    storage::sql::query("SET plan_cache_mode = force_generic_plan").execute(&mut c).await.unwrap();
    for (i, (sql, row_key, owner_key)) in OWNER_CHECKS.into_iter().enumerate() {
        let plan = postgres_plan(&mut c, &format!("owner_{i}"), sql).await;
        assert!(plan.contains(row_key) && plan.contains(owner_key), "{sql}\n  plan:\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{sql}\n  plan:\n{plan}");
        let by_account = ["acme_orders_account", "orders_account_"];
        assert!(!by_account.iter().any(|i| plan.contains(i)), "{sql}\n  goes through an account:\n{plan}");
    }
    drop(c);
    tdb.cleanup().await;
}

/// On PostgreSQL, the hot statements that name an index of their own can use
/// it, partial ones included (PostgreSQL must prove the statement implies the
/// index's condition). Sequential scans are turned off so that the few rows of
/// a test database do not make a scan the cheaper plan.
#[tokio::test]
async fn hot_queries_can_use_their_index_on_postgres() {
    let Some(tdb) = TestDb::postgres_or_skip().await else {
        return;
    };
    let mut c = tdb.db.acquire().await.unwrap();
    for setting in ["SET plan_cache_mode = force_generic_plan", "SET enable_seqscan = off"] {
        storage::sql::query(setting).execute(&mut c).await.unwrap();
    }
    let named = HOT.into_iter().filter(|(_, index)| *index != "INTEGER PRIMARY KEY");
    for (i, (sql, index)) in named.enumerate() {
        let plan = postgres_plan(&mut c, &format!("hot_{i}"), sql).await;
        assert!(plan.contains(index), "{sql}\n  should use {index}, plan:\n{plan}");
    }
    drop(c);
    tdb.cleanup().await;
}

/// How many parameters `sql` takes: its placeholders are `$1` to `$n`, some
/// used twice.
fn placeholders(sql: &str) -> usize {
    (1..=32).take_while(|i| sql.contains(&format!("${i}"))).count()
}

/// PostgreSQL's plan for `sql` prepared as `name` and run with `'1'` for
/// every parameter, as the connection's settings make it (a generic plan
/// where `plan_cache_mode` forces one).
async fn postgres_plan(c: &mut storage::Conn, name: &str, sql: &str) -> String {
    storage::sql::query_built(format!("PREPARE {name} AS {sql}")).execute(&mut *c).await.unwrap();
    let args = vec!["'1'"; placeholders(sql)].join(", ");
    let explain = format!("EXPLAIN EXECUTE {name}({args})");
    let plan: Vec<String> = storage::sql::query_built(explain).read_scalar().fetch_all(c).await.unwrap();
    plan.join("\n")
}
