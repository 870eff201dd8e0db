//! The queries that run on every ACME request or every worker turn use an
//! index: a full table scan there costs time in proportion to the history
//! (every certificate, every order of the account), which `bench compare`
//! showed as CPU per issuance growing over a run.

use certgate_tests::TestDb;

/// The statements, as `storage` runs them, with the index each must use.
const HOT: [(&str, &str); 4] = [
    (
        "SELECT * FROM certificates WHERE revoked_at IS NULL AND revoke_after IS NOT NULL AND revoke_after <= $1 ORDER BY id",
        "certificates_revoke_due",
    ),
    (
        "SELECT COUNT(*), MIN(created_at) FROM acme_orders WHERE account_id = $1 AND created_at >= $2",
        "acme_orders_account_created",
    ),
    (
        "SELECT p.*, o.name AS organisation_name,
                (SELECT COUNT(*) FROM prevalidations v WHERE v.organisation_id = o.id AND v.brand = p.brand
                    AND v.validation = p.validation AND v.state = 'active' AND v.expires_at > $4) AS prevalidations
         FROM products p JOIN organisations o ON o.id = $3 AND o.account_id = $2
         WHERE p.code = $1",
        "prevalidations_organisation",
    ),
    ("DELETE FROM acme_used_nonces WHERE expires_at <= $1", "acme_used_nonces_expiry"),
];

#[tokio::test]
async fn hot_queries_use_an_index_on_sqlite() {
    let tdb = TestDb::sqlite().await;
    let mut c = tdb.db.acquire().await.unwrap();
    for (sql, index) in HOT {
        let explain = format!("EXPLAIN QUERY PLAN {}", sql.replace('$', "?"));
        let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(explain));
        for _ in 0..sql.matches('$').count() {
            q = q.bind(1_i64);
        }
        let plan: Vec<String> = q.fetch_all(&mut *c).await.unwrap().into_iter().map(|r| r.3).collect();
        assert!(plan.iter().any(|step| step.contains(index)), "{sql}\n  should use {index}, plan: {plan:?}");
        assert!(!plan.iter().any(|step| step.starts_with("SCAN")), "{sql}\n  scans a table: {plan:?}");
    }
    drop(c);
    tdb.cleanup().await;
}
