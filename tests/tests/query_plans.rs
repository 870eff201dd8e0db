//! The queries that run on every ACME request or every worker turn use an
//! index: a full table scan there costs time in proportion to the history
//! (every certificate, every order of the account), which `bench compare`
//! showed as CPU per issuance growing over a run.

use certgate_tests::TestDb;

/// The statements `storage` runs, with the index each must use.
const HOT: [(&str, &str); 4] = [
    (storage::certificates::DUE_REVOCATIONS, "certificates_revoke_due"),
    (storage::acme_orders::CREATED_SINCE, "acme_orders_account_created"),
    (storage::products::ORDERABLE, "prevalidations_organisation"),
    (storage::acme_nonces::PURGE, "acme_used_nonces_expiry"),
];

#[tokio::test]
async fn hot_queries_use_an_index_on_sqlite() {
    let tdb = TestDb::sqlite().await;
    // EXPLAIN of a writing statement counts as a write to SQLite.
    let mut c = tdb.db.acquire_writer().await.unwrap();
    for (sql, index) in HOT {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut q = storage::sql::query_built(explain).read_as::<(i64, i64, i64, String)>();
        // Placeholders are `$1` to `$n`, some used twice.
        let n = (1..=32).take_while(|i| sql.contains(&format!("${i}"))).count();
        for _ in 0..n {
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
            .find(|t| !subqueries.contains(t) && *t != "CONSTANT ROW");
        assert!(table_scan.is_none(), "{sql}\n  scans a table: {plan:?}");
    }
    drop(c);
    tdb.cleanup().await;
}
