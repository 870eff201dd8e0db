//! How many database statements the ACME requests of an issuance cost, from
//! the storage layer's own statement counter. A POST-as-GET of an
//! authorization or an order reads the resource with its signer (and, on
//! PostgreSQL, marks the nonce used) in one statement; a finalize signed at
//! once records the order with its certificate in one. This binary holds one
//! test: the counter is process-wide.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use certgate_acme::{Acme, Settings};
use certgate_tests::{Connections, Fixture, TestDb, acme_account, serve_router};
use instant_acme::{Identifier, NewOrder, OrderStatus};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use orders::Formula;

/// Counts `storage::STATEMENTS` and ignores every other metric.
struct Statements(Arc<AtomicU64>);

impl Recorder for Statements {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if key.name() == storage::STATEMENTS { Counter::from_arc(self.0.clone()) } else { Counter::noop() }
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_of_an_issuance_costs_the_statements_counted_here() {
    let count = Arc::new(AtomicU64::new(0));
    metrics::set_global_recorder(Statements(count.clone())).expect("the only recorder of this binary");
    let statements = || count.load(Ordering::SeqCst);
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "sanssl1", 1, "").await.unwrap();
        let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
        // No job worker: its polling would count too, and the embedded CA
        // signs inside finalize.
        let base = serve_router(Acme::new(f.orders.clone(), Settings::default()).router()).await;
        let directory = format!("{base}/acme/{}/directory", creds.path);
        let account = acme_account(&directory, &creds.kid, &creds.hmac_key, Connections::Reused).await.unwrap();
        let names = [Identifier::Dns("www.example.test".into()), Identifier::Dns("api.example.test".into())];
        let mut order = account.new_order(&NewOrder::new(&names)).await.unwrap();

        let before = statements();
        let mut authzs = order.authorizations();
        let mut read = 0;
        while let Some(authz) = authzs.next().await {
            authz.unwrap();
            read += 1;
        }
        assert_eq!(read, 2);
        assert_eq!(statements() - before, 2, "{b}: one statement per authorization");

        let before = statements();
        assert_eq!(order.refresh().await.unwrap().status, OrderStatus::Ready);
        assert_eq!(statements() - before, 1, "{b}: one statement for the order with its authorizations");

        let before = statements();
        order.finalize().await.unwrap();
        assert_eq!(order.state().status, OrderStatus::Valid, "{b}");
        // instant-acme reads the two authorizations again first (one
        // statement each). Finalize itself: the signer, the order's context,
        // BEGIN with the order id drawn (two), the SAN token's price, the
        // order signed at once with its job, certificate and audit entries
        // (one statement on PostgreSQL; four on SQLite), the ACME order's
        // link, a debit of each of the two token kinds (one statement each on
        // PostgreSQL; the balance, then the ledger row, on SQLite), COMMIT.
        let finalize = if b == "postgres" { 1 + 1 + 2 + 1 + 1 + 1 + 2 + 1 } else { 1 + 1 + 2 + 1 + 4 + 1 + 4 + 1 };
        assert_eq!(statements() - before, 2 + finalize, "{b}: finalize");
        let before = statements();
        assert_eq!(order.refresh().await.unwrap().status, OrderStatus::Valid);
        // The order core then reads the certgate order and its certificate.
        assert_eq!(statements() - before, 3, "{b}: a valid order, then its certgate order and certificate");
        let before = statements();
        assert!(order.certificate().await.unwrap().is_some());
        assert_eq!(statements() - before, 2, "{b}: the download reads its signer, then the certificate");
        tdb.cleanup().await;
    }
}
