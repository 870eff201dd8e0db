//! `/readyz`'s verdict: the database answers and the schema is this build's;
//! a product whose upstream is not configured is reported, not fatal.

use certgate_tests::{Fixture, TestDb};
use orders::Formula;

#[tokio::test]
async fn ready_with_a_current_schema_and_not_with_a_missing_migration() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let r = f.orders.readiness().await;
        assert!(r.database && r.migrations_current && r.ready(), "{}: {r:?}", tdb.backend);
        assert_eq!(r.upstreams, vec!["embedded".to_string()]);
        // TEST_PRICES' ghost1 names the upstream "nowhere".
        assert_eq!(r.unconfigured, vec![("ghost1".to_string(), "nowhere".to_string())]);

        // A database one migration behind this build is not ready.
        let mut c = f.orders.db().acquire().await.unwrap();
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
            .execute(&mut *c)
            .await
            .unwrap();
        drop(c);
        let r = f.orders.readiness().await;
        assert!(r.database && !r.migrations_current && !r.ready(), "{}: {r:?}", tdb.backend);
        tdb.cleanup().await;
    }
}
