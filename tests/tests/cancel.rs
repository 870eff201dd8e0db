//! Cancels and money, on every backend, with the embedded CA held at the
//! worker's `worker-purchase-started` failpoint (the certificate may be being
//! bought): a cancel refunds only while nothing was bought; a cancelled
//! reissue refunds nothing and keeps the certificate; a certificate that
//! comes for an order nobody pays for is revoked and never served; an ACME
//! order of a Rebate account needs tokens. The ledger matches every order's
//! state at the end. One test in this file: the failpoint is process-wide.

use std::time::Duration;

use certgate_tests::{Fixture, Key, TestDb, assert_ledger_matches_orders, csr, footprint};
use orders::{Caller, Formula, Ledger, OrderError, Orders, PlaceOrder, Reissue, Settings, Source, Worker};
use storage::Db;

const FAILPOINT: &str = "worker-purchase-started";

fn req(org: i64, names: &[&str], client_ref: &str) -> PlaceOrder {
    PlaceOrder {
        organisation_id: org,
        product_code: "ssl1".into(),
        csr: csr(names, Key::P256).into_bytes(),
        client_ref: Some(client_ref.into()),
        ..Default::default()
    }
}

/// Starts a worker that stops at the failpoint once it has started buying
/// order `reference`; returns it once it is there.
async fn worker_buying(orders: &Orders, op: &Caller, reference: &str) -> Held {
    // SAFETY: this file's only test sets it; no other thread reads the environment meanwhile.
    unsafe { std::env::set_var("CERTGATE_FAILPOINT", FAILPOINT) };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = Worker::new(orders.clone(), "held");
    let task = tokio::spawn(worker.run(rx));
    for _ in 0..200 {
        if orders.order(op, reference).await.unwrap().purchase_started_at.is_some() {
            // The worker reads the failpoint right after recording the purchase.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Held { task, stop };
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the worker never started buying {reference}");
}

/// A worker stopped at the failpoint, and the sender that stops it.
struct Held {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// Lets the held worker go on past the failpoint, waits until order
/// `order_id` has no issuance left to run, then stops the worker (which
/// gives back the lease of a job it took meanwhile, such as the revocation
/// that followed) and runs what followed to the end.
async fn release(orders: &Orders, db: &Db, held: Held, order_id: i64) {
    // SAFETY: as in `worker_buying`.
    unsafe { std::env::remove_var("CERTGATE_FAILPOINT") };
    for _ in 0..400 {
        let jobs = storage::jobs::for_order(&mut db.acquire().await.unwrap(), order_id).await.unwrap();
        if jobs.iter().all(|j| j.kind != "issue" || j.state != "queued") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = held.stop.send(true);
    let _ = held.task.await;
    Worker::new(orders.clone(), "after").drain().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancels_refund_only_what_was_not_bought() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let o = &f.orders;
        o.credit_tokens(&f.op, "ssl1", 10, "").await.unwrap();
        let tokens = || async { o.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap() };

        // Before the purchase: refunded.
        let early = o.place(&f.op, &req(f.org, &["www.example.test"], "early")).await.unwrap().order;
        assert_eq!(tokens().await, 9);
        let cancelled = o.cancel(&f.op, early.reference.as_deref().unwrap()).await.unwrap();
        assert_eq!((cancelled.status.as_str(), tokens().await), ("cancelled_refunded", 10), "{b}");

        // After the worker started buying: refused, nothing refunded; the
        // certificate is then delivered and charged once.
        let bought = o.place(&f.op, &req(f.org, &["www.example.test"], "bought")).await.unwrap().order;
        let r = bought.reference.clone().unwrap();
        let held = worker_buying(o, &f.op, &r).await;
        let refused = o.cancel(&f.op, &r).await.unwrap_err();
        assert!(matches!(refused, OrderError::PurchaseStarted(_)), "{b}: {refused:?}");
        assert!(refused.to_string().contains("the CA is already issuing"), "{refused}");
        assert_eq!((o.order(&f.op, &r).await.unwrap().status.as_str(), tokens().await), ("processing", 9), "{b}");
        release(o, &f.db, held, bought.id).await;
        assert_eq!(o.order(&f.op, &r).await.unwrap().status, "delivered", "{b}");
        assert_eq!((o.certificates(&f.op, &r).await.unwrap().len(), tokens().await), (1, 9), "{b}");

        // A reissue cancelled before its job ran: back to delivered with the
        // certificate and names it had, nothing refunded, the job skipped.
        let first = o.certificates(&f.op, &r).await.unwrap()[0].serial.clone();
        let original_csr = o.order(&f.op, &r).await.unwrap().csr_pem;
        let reissue = Reissue { csr: csr(&["new.example.test"], Key::P256).into_bytes(), names: vec![] };
        assert_eq!(o.reissue(&f.op, &r, &reissue).await.unwrap().cn, "new.example.test");
        let back = o.cancel(&f.op, &r).await.unwrap();
        assert_eq!(
            (back.status.as_str(), back.cn.as_str(), tokens().await),
            ("delivered", "www.example.test", 9),
            "{b}"
        );
        assert_eq!(back.csr_pem, original_csr, "{b}: the CSR it had comes back too");
        Worker::new(o.clone(), "w").drain().await.unwrap();
        let certs = o.certificates(&f.op, &r).await.unwrap();
        assert_eq!((certs.len(), certs[0].serial.as_str()), (1, first.as_str()), "{b}: no new certificate");

        // A reissue cancelled while the CA issues it: its certificate, when it
        // comes, is the order's newest version, as a reissue's would be.
        o.reissue(&f.op, &r, &reissue).await.unwrap();
        let held = worker_buying(o, &f.op, &r).await;
        assert_eq!(o.cancel(&f.op, &r).await.unwrap().status, "delivered", "{b}");
        release(o, &f.db, held, bought.id).await;
        let certs = o.certificates(&f.op, &r).await.unwrap();
        assert_eq!((certs.len(), certs[1].cn.as_str(), tokens().await), (2, "new.example.test", 9), "{b}");
        let now = o.order(&f.op, &r).await.unwrap();
        assert_eq!(now.cn, "new.example.test", "{b}: the order names what it serves");
        assert_ne!(now.csr_pem, original_csr, "{b}: and has the reissue's CSR");

        // A certificate that comes for an order nobody pays for any more (as
        // an order cancelled by an earlier version could be): revoked
        // upstream with cessationOfOperation, never served.
        let orphan = o.place(&f.op, &req(f.org, &["www.example.test"], "orphan")).await.unwrap().order;
        let r = orphan.reference.clone().unwrap();
        let held = worker_buying(o, &f.op, &r).await;
        // Cancelled and refunded behind the worker's back, as no cancel may now.
        let mut tx = f.db.begin().await.unwrap();
        storage::orders::transition(&mut tx, orphan.id, "processing", "cancelled_refunded", f.orders.now())
            .await
            .unwrap();
        let refund = storage::ledger::Movement {
            account_id: f.account,
            order_id: Some(orphan.id),
            reason: "refund",
            asset: "token",
            item: "ssl1",
            amount: 1,
            author: "test",
            note: "",
        };
        storage::ledger::apply(&mut tx, &refund, None, f.orders.now()).await.unwrap();
        storage::commit(tx).await.unwrap();
        release(o, &f.db, held, orphan.id).await;
        assert!(o.certificates(&f.op, &r).await.unwrap().is_empty(), "{b}: never served");
        let stored = storage::certificates::for_order(&mut f.db.acquire().await.unwrap(), orphan.id).await.unwrap();
        assert_eq!((stored.len(), stored[0].revocation_reason), (1, Some(5)), "{b}");
        assert!(matches!(o.certificate(&f.op, stored[0].id).await, Err(OrderError::UnknownOrder(_))), "{b}");
        let jobs = storage::jobs::for_order(&mut f.db.acquire().await.unwrap(), orphan.id).await.unwrap();
        assert!(jobs.iter().any(|j| j.kind == "revoke" && j.state == "done"), "{b}: revoked upstream: {jobs:?}");
        let audit = storage::audit::list(&mut f.db.acquire().await.unwrap(), None, 50).await.unwrap();
        assert!(audit.iter().any(|a| a.action == "certificate.revoke_unsold"), "{b}");
        assert_eq!(tokens().await, 9, "{b}: the orphan's refund stands, its certificate unsold");

        // An ACME order of a Rebate account needs tokens (seed 6.8.1), where
        // XML-RPC puts it on the invoice (seed 2.4).
        let rebate = Fixture::with_settings(&tdb, Formula::Rebate, Settings::default()).await;
        let acme = Caller { source: Source::Acme, ..rebate.op.clone() };
        let names = vec!["www.example.test".to_string()];
        let before = footprint(&rebate.db).await;
        let err = rebate.orders.check_order(&acme, rebate.org, "ssl1", &names, None).await.unwrap_err();
        assert!(matches!(err, OrderError::InsufficientTokens { .. }), "{b}: {err:?}");
        let err = rebate.orders.place(&acme, &req(rebate.org, &["www.example.test"], "acme")).await.unwrap_err();
        assert!(matches!(err, OrderError::InsufficientTokens { .. }), "{b}: {err:?}");
        assert_eq!(footprint(&rebate.db).await, before, "{b}: nothing charged");
        let xmlrpc = Caller { source: Source::Xmlrpc, ..rebate.op.clone() };
        let invoiced = rebate.orders.place(&xmlrpc, &req(rebate.org, &["www.example.test"], "x")).await.unwrap();
        assert_eq!(invoiced.order.payment, "invoice", "{b}");
        assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}
