//! The ACME upstream connector against a real upstream CA, pebble, with the
//! reseller's EAB credentials: issuance and revocation through the order
//! core, domains that are not pre-validated upstream, wrong EAB credentials,
//! a high rate of bad nonces, and an upstream that freezes (SIGSTOP) within
//! and past the deadline. Each case checks what was charged and refunded.

use std::time::{Duration, Instant};

use certgate_tests::{
    Fixture, Key, Pebble, PebbleOptions, TestDb, csr, footprint, openssl_verify, order_core_with, pebble_connector,
};
use orders::{Ledger, Order, PlaceOrder, Settings, Worker};
use tokio::sync::watch;
use upstream::{AcmeSettings, PendingAuthorizations};

async fn place(f: &Fixture, names: &[&str]) -> String {
    let req = PlaceOrder {
        organisation_id: f.org,
        product_code: "pb1".into(),
        csr: csr(names, Key::P256).into_bytes(),
        ..Default::default()
    };
    f.orders.place(&f.op, &req).await.unwrap().order.reference.unwrap()
}

async fn tokens(f: &Fixture) -> i64 {
    f.orders.balance(&f.op, Ledger::Tokens, Some("pb1")).await.unwrap()
}

/// Runs a worker until the order leaves `processing` or `within` passes.
async fn settle(f: &Fixture, reference: &str, within: Duration) -> Order {
    let (stop, rx) = watch::channel(false);
    let worker = tokio::spawn(Worker::new(f.orders.clone(), "w").run(rx));
    let start = Instant::now();
    let order = loop {
        let o = f.orders.order(&f.op, reference).await.unwrap();
        if o.status != "processing" || start.elapsed() > within {
            break o;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop.send(true).unwrap();
    worker.await.unwrap();
    order
}

/// How many upstream accounts are stored.
async fn stored_accounts(f: &Fixture) -> i64 {
    certgate_tests::scalar(&f.db, "SELECT COUNT(*) FROM upstream_accounts").await
}

/// The refunds of the account's token ledger.
async fn refunds(f: &Fixture) -> usize {
    let lines = f.orders.statement(&f.op, Ledger::Tokens, 0, i64::MAX).await.unwrap();
    lines.iter().filter(|l| l.reason == "refund").count()
}

#[tokio::test]
async fn issues_at_pebble_verifies_against_its_root_and_revokes_there() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    for tdb in TestDb::all().await {
        let f = Fixture::with_pebble(&tdb, pebble.upstream_settings(), 2).await;
        let r = place(&f, &["www.example.test", "api.example.test"]).await;
        let o = settle(&f, &r, Duration::from_secs(60)).await;
        assert_eq!(o.status, "delivered", "{}: {:?}", tdb.backend, o.failure);
        assert_eq!(tokens(&f).await, 1, "charged once");
        let cert = &f.orders.certificates(&f.op, &r).await.unwrap()[0];
        openssl_verify(&pebble.issuer_root(), &cert.chain_pem, &cert.leaf_pem)
            .expect("chain verifies at pebble's root");
        let (_, x509) = x509_parser::pem::parse_x509_pem(cert.leaf_pem.as_bytes()).unwrap();
        let x509 = x509.parse_x509().unwrap();
        let names: Vec<String> = x509
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert!(names.contains(&"DNSName(www.example.test)".to_string()), "{names:?}");
        assert_eq!(pebble.cert_status(&cert.serial), "Valid");

        f.orders.revoke(&f.op, &r, None, 1).await.unwrap();
        Worker::new(f.orders.clone(), "w").drain().await.unwrap();
        assert_eq!(pebble.cert_status(&cert.serial), "Revoked", "revoked at the upstream");

        // The account was created once and is reused by a second order (and a restart).
        assert_eq!(stored_accounts(&f).await, 1);
        let again = fixture_again(&tdb, &pebble, &f).await;
        let r2 = place(&again, &["www.example.test"]).await;
        assert_eq!(settle(&again, &r2, Duration::from_secs(60)).await.status, "delivered");
        assert_eq!(stored_accounts(&f).await, 1, "the stored account is reused");
        tdb.cleanup().await;
    }
}

/// The same account with a fresh order core and connector, as after a restart.
async fn fixture_again(tdb: &TestDb, pebble: &Pebble, f: &Fixture) -> Fixture {
    let orders =
        order_core_with(&tdb.db, Settings::default(), vec![pebble_connector(tdb, pebble.upstream_settings())]).await;
    Fixture { orders, op: f.op.clone(), account: f.account, org: f.org, db: f.db.clone() }
}

#[tokio::test]
async fn a_domain_not_pre_validated_upstream_fails_for_good_and_is_refunded() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let tdb = TestDb::sqlite().await;
    let acme = AcmeSettings { pending_authorizations: PendingAuthorizations::Fail, ..pebble.upstream_settings() };
    let f = Fixture::with_pebble(&tdb, acme, 1).await;
    let r = place(&f, &["www.example.test"]).await;
    assert_eq!(tokens(&f).await, 0);
    let o = settle(&f, &r, Duration::from_secs(30)).await;
    assert_eq!(o.status, "failed");
    let why = o.failure.unwrap_or_default();
    assert!(why.contains("www.example.test") && why.contains("upstream pebble"), "{why}");
    assert_eq!(tokens(&f).await, 1, "refunded");
    assert_eq!(refunds(&f).await, 1);
    tdb.cleanup().await;
}

#[tokio::test]
async fn wrong_upstream_eab_credentials_fail_clearly_and_refund() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let tdb = TestDb::sqlite().await;
    let acme = AcmeSettings {
        eab_hmac: Some("d3JvbmctaG1hYy1rZXktb2YtMzItYnl0ZXMtbG9uZyE".into()),
        ..pebble.upstream_settings()
    };
    let f = Fixture::with_pebble(&tdb, acme, 1).await;
    let r = place(&f, &["www.example.test"]).await;
    let o = settle(&f, &r, Duration::from_secs(30)).await;
    assert_eq!(o.status, "failed");
    let why = o.failure.unwrap_or_default();
    assert!(why.contains("upstream pebble") && why.contains("account creation"), "{why}");
    assert_eq!(tokens(&f).await, 1, "refunded");
    assert_eq!(refunds(&f).await, 1);
    assert_eq!(stored_accounts(&f).await, 0, "no account is stored");
    tdb.cleanup().await;
}

#[tokio::test]
async fn issuance_succeeds_when_pebble_rejects_half_of_the_nonces() {
    let Some(pebble) = Pebble::start(PebbleOptions { nonce_reject: 50 }) else { return };
    let tdb = TestDb::sqlite().await;
    let f = Fixture::with_pebble(&tdb, pebble.upstream_settings(), 2).await;
    for names in [["www.example.test"], ["api.example.test"]] {
        let r = place(&f, &names).await;
        let o = settle(&f, &r, Duration::from_secs(90)).await;
        assert_eq!(o.status, "delivered", "{:?}", o.failure);
    }
    assert_eq!(tokens(&f).await, 0);
    // Two issuances take dozens of signed requests: at 50 %, pebble refused many of them.
    assert!(pebble.log().contains("Configured to reject 50% of good nonces"), "{}", pebble.log());
    tdb.cleanup().await;
}

#[tokio::test]
async fn a_frozen_upstream_holds_the_order_until_it_answers_within_the_deadline() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let tdb = TestDb::sqlite().await;
    let acme = AcmeSettings { step_retries: 1, attempt_secs: 4, ..pebble.upstream_settings() };
    let f = Fixture::with_pebble(&tdb, acme, 1).await;
    pebble.freeze();
    let r = place(&f, &["www.example.test"]).await;
    let o = settle(&f, &r, Duration::from_secs(6)).await;
    assert_eq!(o.status, "processing", "still waiting for the upstream");
    let jobs = storage::jobs::for_order(&mut f.db.acquire().await.unwrap(), o.id).await.unwrap();
    assert!(jobs[0].attempts >= 1 && jobs[0].last_error.is_some(), "{:?}", jobs[0]);
    pebble.thaw();
    let o = settle(&f, &r, Duration::from_secs(60)).await;
    assert_eq!(o.status, "delivered", "{:?}", o.failure);
    assert_eq!(tokens(&f).await, 0, "charged once");
    assert_eq!(refunds(&f).await, 0);
    tdb.cleanup().await;
}

/// With pebble frozen (SIGSTOP) while the worker buys, a cancel is refused
/// (the CA may still issue) and nothing is refunded; once pebble thaws the
/// certificate is delivered, charged once. A cancel before any worker ran
/// refunds.
#[tokio::test]
async fn a_cancel_while_the_upstream_is_buying_is_refused_and_charges_once() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let tdb = TestDb::sqlite().await;
    let acme = AcmeSettings { step_retries: 1, attempt_secs: 4, ..pebble.upstream_settings() };
    let f = Fixture::with_pebble(&tdb, acme, 2).await;
    let early = place(&f, &["early.example.test"]).await;
    assert_eq!(f.orders.cancel(&f.op, &early).await.unwrap().status, "cancelled_refunded");
    assert_eq!(tokens(&f).await, 2, "refunded before any purchase");
    pebble.freeze();
    let r = place(&f, &["www.example.test"]).await;
    let o = settle(&f, &r, Duration::from_secs(6)).await;
    assert!(o.status == "processing" && o.purchase_started_at.is_some(), "{o:?}");
    let refused = f.orders.cancel(&f.op, &r).await.unwrap_err();
    assert!(matches!(refused, orders::OrderError::PurchaseStarted(_)), "{refused:?}");
    assert_eq!(tokens(&f).await, 1, "nothing refunded");
    pebble.thaw();
    let o = settle(&f, &r, Duration::from_secs(60)).await;
    assert_eq!(o.status, "delivered", "{:?}", o.failure);
    let cert = &f.orders.certificates(&f.op, &r).await.unwrap()[0];
    openssl_verify(&pebble.issuer_root(), &cert.chain_pem, &cert.leaf_pem).expect("chain verifies at pebble's root");
    assert_eq!((tokens(&f).await, refunds(&f).await), (1, 1), "charged once; the early order's refund alone");
    certgate_tests::assert_ledger_matches_orders(&f.db).await;
    tdb.cleanup().await;
}

#[tokio::test]
async fn a_frozen_upstream_past_the_deadline_fails_the_order_and_refunds_once() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let tdb = TestDb::sqlite().await;
    let acme = AcmeSettings { step_retries: 1, attempt_secs: 3, deadline_secs: 4, ..pebble.upstream_settings() };
    let f = Fixture::with_pebble(&tdb, acme, 1).await;
    pebble.freeze();
    let r = place(&f, &["www.example.test"]).await;
    let before = footprint(&f.db).await;
    let o = settle(&f, &r, Duration::from_secs(40)).await;
    assert_eq!(o.status, "failed", "{:?}", o.failure);
    assert!(o.failure.unwrap_or_default().contains("giving up"));
    assert_eq!(tokens(&f).await, 1, "refunded");
    assert_eq!(refunds(&f).await, 1, "exactly once");
    // More work by the worker refunds nothing more.
    Worker::new(f.orders.clone(), "w").drain().await.unwrap();
    assert_eq!(refunds(&f).await, 1);
    assert_eq!(footprint(&f.db).await.ledger, before.ledger + 1);
    pebble.thaw();
    tdb.cleanup().await;
}

#[tokio::test]
async fn a_restarted_pebble_that_forgot_the_account_and_the_order_gets_a_new_one_of_each() {
    let Some(mut pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let tdb = TestDb::sqlite().await;
    let f = Fixture::with_pebble(&tdb, pebble.upstream_settings(), 2).await;
    let first = place(&f, &["www.example.test"]).await;
    assert_eq!(settle(&f, &first, Duration::from_secs(60)).await.status, "delivered");
    let old_order_url = f.orders.order(&f.op, &first).await.unwrap().upstream_ref.unwrap();
    assert!(old_order_url.starts_with("https://"), "the upstream order URL is recorded: {old_order_url}");

    pebble.restart();
    // A job that recorded an upstream order the new pebble never saw, with an
    // account it does not know: both are made anew, and nothing is bought twice.
    let second = place(&f, &["api.example.test"]).await;
    let o = f.orders.order(&f.op, &second).await.unwrap();
    let mut c = f.db.acquire_writer().await.unwrap();
    let job = storage::jobs::for_order(&mut c, o.id).await.unwrap().remove(0);
    storage::jobs::set_upstream_ref(&mut c, job.id, &old_order_url, f.orders.now()).await.unwrap();
    drop(c);
    let o = settle(&f, &second, Duration::from_secs(60)).await;
    let jobs = storage::jobs::for_order(&mut f.db.acquire().await.unwrap(), o.id).await.unwrap();
    assert_eq!(o.status, "delivered", "{:?} {:?}", o.failure, jobs);
    assert_ne!(o.upstream_ref.as_deref(), Some(old_order_url.as_str()), "a new upstream order");
    let cert = &f.orders.certificates(&f.op, &second).await.unwrap()[0];
    openssl_verify(&pebble.issuer_root(), &cert.chain_pem, &cert.leaf_pem).expect("issued by the new pebble");
    assert_eq!(stored_accounts(&f).await, 1, "the forgotten account was replaced");
    assert_eq!(tokens(&f).await, 0, "each order charged once");
    tdb.cleanup().await;
}

#[tokio::test]
async fn a_stopping_worker_abandons_its_attempt_and_releases_the_lease_at_once() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let tdb = TestDb::sqlite().await;
    let acme = AcmeSettings { request_timeout_secs: 20, attempt_secs: 60, ..pebble.upstream_settings() };
    let f = Fixture::with_pebble(&tdb, acme, 1).await;
    pebble.freeze();
    let r = place(&f, &["www.example.test"]).await;
    let id = f.orders.order(&f.op, &r).await.unwrap().id;
    let job = async || storage::jobs::for_order(&mut f.db.acquire().await.unwrap(), id).await.unwrap().remove(0);
    let (stop, rx) = watch::channel(false);
    let worker = tokio::spawn(Worker::new(f.orders.clone(), "stopping").run(rx));
    let start = Instant::now();
    while job().await.lease_owner.is_none() {
        assert!(start.elapsed() < Duration::from_secs(10), "the worker never took the job");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The worker is now stuck on the frozen upstream, with 20 s to wait.
    let stopping = Instant::now();
    stop.send(true).unwrap();
    worker.await.unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(2), "stopped in {:?}", stopping.elapsed());
    let j = job().await;
    assert_eq!((j.state.as_str(), j.lease_owner.as_deref(), j.lease_until), ("queued", None, None), "released");
    pebble.thaw();
    let o = settle(&f, &r, Duration::from_secs(60)).await;
    assert_eq!(o.status, "delivered", "{:?}", o.failure);
    assert_eq!(tokens(&f).await, 0, "charged once");
    tdb.cleanup().await;
}
