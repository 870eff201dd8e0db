//! Crash recovery: an order paid for but not yet issued when its worker died
//! is issued after a restart, once, and charged once.

use std::time::Duration;

use certgate_tests::{Fixture, Key, TestDb, csr, order_core};
use orders::{Formula, Ledger, Settings, Worker};
use storage::{Db, jobs};

#[tokio::test]
async fn job_interrupted_between_debit_and_issuance_resumes_after_restart() {
    for tdb in TestDb::all().await {
        let settings = Settings { job_lease_secs: 1, ..Settings::default() };
        let f = Fixture::with_settings(&tdb, Formula::Bulk, settings.clone()).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let req = f.ssl1_order(csr(&["www.example.test"], Key::P256));
        let placed = f.orders.place(&f.op, &req).await.unwrap().order;
        let reference = placed.reference.unwrap();

        // A worker leases the job and dies before issuing: the debit is done,
        // the lease is held, no certificate exists.
        let leases = jobs::Leases { upstream_secs: 1, validation_secs: 1 };
        let dead = jobs::claim(&f.db, "dead-worker", f.orders.now(), leases, jobs::Lane::All)
            .await
            .unwrap()
            .expect("a queued job");
        assert_eq!(dead.attempts, 1);
        f.db.close().await;
        drop(f.orders);

        // Restart: a new process (pool, order core, worker) on the same database.
        let db = Db::connect(&tdb.url).await.unwrap();
        let orders = order_core(&db, settings.clone()).await;
        let worker = Worker::new(orders.clone(), "restarted");
        assert!(!worker.run_once().await.unwrap(), "the dead worker's lease still holds the job");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(worker.drain().await.unwrap(), 1, "the job is taken over once the lease expired");
        assert_eq!(worker.drain().await.unwrap(), 0);

        let o = orders.order(&f.op, &reference).await.unwrap();
        assert_eq!(o.status, "delivered", "{}", tdb.backend);
        assert_eq!(orders.certificates(&f.op, &reference).await.unwrap().len(), 1, "one certificate");
        let debits = storage::ledger::for_order(&mut db.acquire().await.unwrap(), o.id).await.unwrap();
        assert_eq!(debits.len(), 1, "one debit: {debits:?}");
        assert_eq!(debits[0].amount, -1);
        assert_eq!(orders.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 0);
        let job = &jobs::for_order(&mut db.acquire().await.unwrap(), o.id).await.unwrap()[0];
        assert_eq!((job.state.as_str(), job.attempts), ("done", 2));
        certgate_tests::assert_ledger_matches_orders(&db).await;
        db.close().await;
        tdb.cleanup().await;
    }
}

/// A worker whose stop sender is gone stops, instead of spinning on a
/// channel that is always ready (which starved every other task).
#[tokio::test]
async fn a_worker_stops_when_its_stop_sender_is_dropped() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(Worker::new(f.orders.clone(), "w").run(rx));
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(tx);
    tokio::time::timeout(Duration::from_secs(2), running).await.expect("the worker stopped").unwrap();
}
