//! `/readyz`'s verdict: the database answers and the schema is this build's;
//! a product whose upstream is not configured is reported, not fatal. And
//! the gauges `/metrics` reads from the database.

use certgate_tests::{Fixture, TestDb};
use orders::{Formula, Worker};

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
        let latest = "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)";
        certgate_tests::execute(&f.db, latest).await;
        let r = f.orders.readiness().await;
        assert!(r.database && !r.migrations_current && !r.ready(), "{}: {r:?}", tdb.backend);
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn gauges_count_every_status_and_the_job_queue() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let req = f.ssl1_order(certgate_tests::csr(&["www.example.test"], certgate_tests::Key::P256));
        f.orders.place(&f.op, &req).await.unwrap();
        let count = |g: &orders::Gauges, s: &str| g.orders_by_status.iter().find(|(n, _)| n == s).map(|(_, n)| *n);
        let g = f.orders.gauges().await.unwrap();
        assert_eq!((count(&g, "processing"), count(&g, "delivered"), g.jobs_queued), (Some(1), Some(0), 1));
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let g = f.orders.gauges().await.unwrap();
        // A status that emptied reads 0 rather than disappearing.
        assert_eq!((count(&g, "processing"), count(&g, "delivered"), g.jobs_queued), (Some(0), Some(1), 0));
        assert_eq!(g.orders_by_status.len(), orders::Status::ALL.len(), "{}", tdb.backend);
        tdb.cleanup().await;
    }
}
