//! After placing: approval, cancellation with refunds, revocation, reissue
//! with immediate or delayed revocation, renewal windows and renewal tokens,
//! and final upstream failures.

use certgate_tests::{Fixture, Key, TestDb, csr, footprint};
use orders::{Formula, Ledger, OrderError, Orders, PlaceOrder, Reissue, Worker};

const DAY: i64 = 86_400;

fn req(org: i64, product: &str, names: &[&str]) -> PlaceOrder {
    PlaceOrder {
        organisation_id: org,
        product_code: product.into(),
        csr: csr(names, Key::P256).into_bytes(),
        ..Default::default()
    }
}

async fn delivered(f: &Fixture, names: &[&str]) -> String {
    let o = f.orders.place(&f.op, &req(f.org, "ssl1", names)).await.unwrap().order;
    Worker::new(f.orders.clone(), "t").drain().await.unwrap();
    let reference = o.reference.unwrap();
    assert_eq!(f.orders.order(&f.op, &reference).await.unwrap().status, "delivered");
    reference
}

async fn tokens(orders: &Orders, f: &Fixture, item: &str) -> i64 {
    orders.balance(&f.op, Ledger::Tokens, Some(item)).await.unwrap()
}

#[tokio::test]
async fn approval_mode_holds_orders_uncharged_until_approved_or_rejected() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let acc = f.orders.create_account("Approving", Formula::Bulk, "EUR", true, 0).await.unwrap();
        let op = orders::Caller::operator(acc);
        let org = certgate_tests::new_org(&f.orders, &op).await;
        f.orders.credit_tokens(&op, "ssl1", 1, "").await.unwrap();
        let mut tech = op.clone();
        tech.rights = orders::Rights::parse("technical,commercial").unwrap();
        let o = f.orders.place(&tech, &req(org, "ssl1", &["www.example.test"])).await.unwrap().order;
        assert_eq!(o.status, "pending_approval", "{}", tdb.backend);
        assert_eq!(f.orders.balance(&op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 1, "nothing charged yet");
        let r = o.reference.unwrap();
        assert!(matches!(f.orders.approve(&tech, &r, None).await, Err(OrderError::Forbidden(orders::Right::Approval))));
        let o = f.orders.approve(&op, &r, None).await.unwrap();
        assert_eq!(o.status, "processing");
        assert_eq!(f.orders.balance(&op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 0, "charged at approval");
        assert!(matches!(f.orders.approve(&op, &r, None).await, Err(OrderError::WrongState { .. })));

        let o2 = f.orders.place(&tech, &req(org, "ssl1", &["www.example.test"])).await.unwrap().order;
        let r2 = o2.reference.unwrap();
        let before = footprint(&f.db).await;
        // Approving without tokens left is refused and changes nothing; so is its quote.
        let quote = f.orders.quote_approval(&op, &r2).await;
        assert!(matches!(quote, Err(OrderError::InsufficientTokens { .. })), "{quote:?}");
        let err = f.orders.approve(&op, &r2, None).await.unwrap_err();
        assert!(matches!(err, OrderError::InsufficientTokens { .. }), "{err:?}");
        assert_eq!(f.orders.order(&op, &r2).await.unwrap().status, "pending_approval");
        assert_eq!(footprint(&f.db).await.ledger, before.ledger);
        assert_eq!(f.orders.reject(&op, &r2).await.unwrap().status, "discarded");
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn a_quoted_renewal_or_approval_is_refused_once_its_figures_changed() {
    for tdb in TestDb::all().await {
        // The renewal token of a quote spent meanwhile: the renewal would
        // take the product's own token, at the same price here, and is refused.
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 3, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "renssl1", 1, "").await.unwrap();
        f.orders.set_price("renssl1", Some(f.account), "EUR", 100_00).await.unwrap();
        let a = delivered(&f, &["www.example.test"]).await;
        let b = delivered(&f, &["api.example.test"]).await;
        let not_after = f.orders.certificates(&f.op, &a).await.unwrap()[0].not_after;
        f.orders.set_clock_offset(not_after - f.orders.now() - 89 * DAY);
        let quote = f.orders.quote_renewal(&f.op, &a).await.unwrap();
        assert!(!quote.new_key_required, "ssl1 lets a key be reused");
        let seen = quote.quoted();
        assert_eq!((seen.total, seen.payment.as_str(), seen.items.as_str()), (100_00, "tokens", "renssl1:1"));
        f.orders.renew(&f.op, &b, None, None, None).await.unwrap();
        // Renewed once: no second quote, as no second renewal.
        let again = f.orders.quote_renewal(&f.op, &b).await;
        assert!(matches!(again, Err(OrderError::AlreadyRenewed(_))), "{again:?}");
        let before = footprint(&f.db).await;
        let err = f.orders.renew(&f.op, &a, None, None, Some(&seen)).await.unwrap_err();
        assert!(matches!(&err, OrderError::QuoteChanged { now, .. } if now.ends_with("(tokens: ssl1:1)")), "{err:?}");
        assert_eq!(footprint(&f.db).await, before, "{}: nothing written", tdb.backend);
        let now = f.orders.quote_renewal(&f.op, &a).await.unwrap().quoted();
        assert_eq!(now.items, "ssl1:1");
        f.orders.renew(&f.op, &a, None, None, Some(&now)).await.unwrap();
        assert_eq!(tokens(&f.orders, &f, "ssl1").await, 0);

        // An approver pays today's price: quoted first, and refused when the
        // price moved before the approval.
        let acc = f.orders.create_account("Approving", Formula::Deposit, "EUR", true, 0).await.unwrap();
        let op = orders::Caller::operator(acc);
        let org = certgate_tests::new_org(&f.orders, &op).await;
        f.orders.credit_deposit(&op, 1_000_00, "").await.unwrap();
        let mut tech = op.clone();
        tech.rights = orders::Rights::parse("technical").unwrap();
        let r = f.orders.place(&tech, &req(org, "ssl1", &["www.example.test"])).await.unwrap().order;
        let r = r.reference.unwrap();
        let forbidden = f.orders.quote_approval(&tech, &r).await;
        assert!(matches!(forbidden, Err(OrderError::Forbidden(orders::Right::Approval))), "{forbidden:?}");
        let seen = f.orders.quote_approval(&op, &r).await.unwrap();
        assert_eq!((seen.total, seen.payment.as_str()), (100_00, "deposit"));
        f.orders.set_price("ssl1", Some(acc), "EUR", 110_00).await.unwrap();
        let before = footprint(&f.db).await;
        let err = f.orders.approve(&op, &r, Some(&seen)).await.unwrap_err();
        assert!(matches!(err, OrderError::QuoteChanged { .. }), "{err:?}");
        assert_eq!(footprint(&f.db).await, before, "{}: nothing written", tdb.backend);
        assert_eq!(f.orders.order(&op, &r).await.unwrap().status, "pending_approval");
        let now = f.orders.quote_approval(&op, &r).await.unwrap();
        assert_eq!(now.total, 110_00);
        assert_eq!(f.orders.approve(&op, &r, Some(&now)).await.unwrap().status, "processing");
        assert_eq!(f.orders.balance(&op, Ledger::Deposit, None).await.unwrap(), 890_00);
        let approved = f.orders.quote_approval(&op, &r).await;
        assert!(matches!(approved, Err(OrderError::WrongState { .. })), "{approved:?}");
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn cancel_refunds_tokens_and_deposit_exactly_once() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "sanssl1", 1, "").await.unwrap();
        let o = f.orders.place(&f.op, &req(f.org, "ssl1", &["www.example.test", "a.example.test"])).await.unwrap();
        let r = o.order.reference.unwrap();
        assert_eq!((tokens(&f.orders, &f, "ssl1").await, tokens(&f.orders, &f, "sanssl1").await), (0, 0));
        assert_eq!(f.orders.cancel(&f.op, &r).await.unwrap().status, "cancelled_refunded");
        assert_eq!((tokens(&f.orders, &f, "ssl1").await, tokens(&f.orders, &f, "sanssl1").await), (1, 1));
        let before = footprint(&f.db).await;
        assert!(matches!(f.orders.cancel(&f.op, &r).await, Err(OrderError::WrongState { .. })));
        assert_eq!(footprint(&f.db).await, before, "a second cancel refunds nothing");
        assert_eq!(Worker::new(f.orders.clone(), "t").drain().await.unwrap(), 1, "the queued job is skipped");
        assert!(f.orders.certificates(&f.op, &r).await.unwrap().is_empty(), "a cancelled order is not issued");

        let d = Fixture::new(&tdb, Formula::Deposit).await;
        d.orders.credit_deposit(&d.op, 100_00, "").await.unwrap();
        let o = d.orders.place(&d.op, &req(d.org, "ssl1", &["www.example.test"])).await.unwrap().order;
        d.orders.cancel(&d.op, &o.reference.unwrap()).await.unwrap();
        assert_eq!(d.orders.balance(&d.op, Ledger::Deposit, None).await.unwrap(), 100_00);
        let lines = d.orders.statement(&d.op, Ledger::Deposit, 0, i64::MAX).await.unwrap();
        let kinds: Vec<_> = lines.iter().map(|l| (l.reason.as_str(), l.amount, l.balance)).collect();
        assert_eq!(kinds, vec![("topup", 100_00, 100_00), ("order", -100_00, 0), ("refund", 100_00, 100_00)]);

        // A delivered order cannot be cancelled.
        d.orders.credit_deposit(&d.op, 100_00, "").await.unwrap();
        let r = delivered(&d, &["www.example.test"]).await;
        assert!(matches!(d.orders.cancel(&d.op, &r).await, Err(OrderError::WrongState { .. })));
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn revoke_is_final_without_refund() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let r = delivered(&f, &["www.example.test"]).await;
        for reason in [7, 8, 11, -1] {
            let refused = f.orders.revoke(&f.op, &r, None, reason).await;
            assert!(matches!(refused, Err(OrderError::BadRevocationReason(n)) if n == reason), "{reason}: {refused:?}");
        }
        let o = f.orders.revoke(&f.op, &r, None, 1).await.unwrap();
        assert_eq!(o.status, "revoked");
        let cert = &f.orders.certificates(&f.op, &r).await.unwrap()[0];
        assert_eq!(cert.revocation_reason, Some(1));
        assert!(cert.revoked_at.is_some());
        assert_eq!(tokens(&f.orders, &f, "ssl1").await, 0, "no refund");
        assert!(matches!(f.orders.revoke(&f.op, &r, None, 1).await, Err(OrderError::AlreadyRevoked)));
        // The revocation reaches the upstream through a job.
        assert_eq!(Worker::new(f.orders.clone(), "t").drain().await.unwrap(), 1);
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn reissue_keeps_the_old_certificate_then_revokes_it_after_the_delay() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let r = delivered(&f, &["www.example.test"]).await;
        let before = footprint(&f.db).await;
        let again = Reissue { csr: csr(&["www.example.test"], Key::Rsa2048).into_bytes(), names: vec![] };
        assert_eq!(f.orders.reissue(&f.op, &r, &again).await.unwrap().status, "processing");
        let worker = Worker::new(f.orders.clone(), "t");
        worker.drain().await.unwrap();
        assert_eq!(footprint(&f.db).await.balances_sum, before.balances_sum, "a reissue is not paid");
        let certs = f.orders.certificates(&f.op, &r).await.unwrap();
        assert_eq!(certs.len(), 2);
        assert!(certs[0].revoked_at.is_none() && certs[0].revoke_after.is_some(), "old one kept for now");
        assert_eq!(f.orders.order(&f.op, &r).await.unwrap().status, "delivered");

        f.orders.set_clock_offset(8 * DAY);
        worker.drain().await.unwrap();
        let certs = f.orders.certificates(&f.op, &r).await.unwrap();
        assert_eq!(certs[0].revocation_reason, Some(4), "superseded after the delay");
        assert!(certs[1].revoked_at.is_none());
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn reissue_with_a_new_common_name_revokes_the_old_certificate_at_once() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    f.orders.credit_tokens(&f.op, "sanssl1", 1, "").await.unwrap();
    let r = delivered(&f, &["www.example.test", "a.example.test"]).await;
    let new_csr = csr(&["shop.example.test", "a.example.test"], Key::P256).into_bytes();
    f.orders.reissue(&f.op, &r, &Reissue { csr: new_csr, names: vec![] }).await.unwrap();
    Worker::new(f.orders.clone(), "t").drain().await.unwrap();
    let certs = f.orders.certificates(&f.op, &r).await.unwrap();
    assert_eq!(certs[0].revocation_reason, Some(4));
    assert_eq!(certs[1].cn, "shop.example.test");

    // A reissue may not add paid names, nor name domains not pre-validated.
    let more = csr(&["shop.example.test", "a.example.test", "b.example.test"], Key::P256).into_bytes();
    let err = f.orders.reissue(&f.op, &r, &Reissue { csr: more, names: vec![] }).await.unwrap_err();
    assert!(matches!(err, OrderError::Invalid(_)), "{err:?}");
    let foreign = csr(&["www.other.test"], Key::P256).into_bytes();
    let err = f.orders.reissue(&f.op, &r, &Reissue { csr: foreign, names: vec![] }).await.unwrap_err();
    assert!(matches!(err, OrderError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn renewal_opens_90_days_before_expiry_and_uses_renewal_tokens() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "renssl1", 1, "").await.unwrap();
        let r = delivered(&f, &["www.example.test"]).await;
        let not_after = f.orders.certificates(&f.op, &r).await.unwrap()[0].not_after;
        let now = f.orders.now();

        let before = footprint(&f.db).await;
        let err = f.orders.renew(&f.op, &r, None, None, None).await.unwrap_err();
        assert!(matches!(err, OrderError::OutsideRenewalWindow(_)), "{err:?}");
        assert_eq!(footprint(&f.db).await, before);

        let quote = f.orders.quote_renewal(&f.op, &r).await.unwrap_err();
        assert!(matches!(quote, OrderError::OutsideRenewalWindow(_)), "{quote:?}");

        f.orders.set_clock_offset(not_after - now + 31 * DAY);
        assert!(matches!(f.orders.renew(&f.op, &r, None, None, None).await, Err(OrderError::OutsideRenewalWindow(_))));
        assert!(matches!(f.orders.quote_renewal(&f.op, &r).await, Err(OrderError::OutsideRenewalWindow(_))));

        f.orders.set_clock_offset(not_after - now - 89 * DAY);
        // Quoted first, writing nothing: the renewal item, paid with its token.
        let quote = f.orders.quote_renewal(&f.op, &r).await.unwrap();
        assert_eq!((quote.total, quote.payment.as_str()), (90_00, "tokens"));
        assert_eq!(quote.lines.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(), ["renssl1"]);
        assert_eq!(footprint(&f.db).await, before);
        // Confirmed at another figure (a new order's price): refused, nothing written.
        let stale = orders::Quoted { total: 100_00, payment: "tokens".into(), items: "renssl1:1".into() };
        let err = f.orders.renew(&f.op, &r, None, None, Some(&stale)).await.unwrap_err();
        assert!(matches!(err, OrderError::QuoteChanged { .. }), "{err:?}");
        assert_eq!(footprint(&f.db).await, before);
        let renewal = f.orders.renew(&f.op, &r, None, Some("my-renewal"), Some(&quote.quoted())).await.unwrap().order;
        assert_eq!(
            (renewal.kind.as_str(), renewal.renewal_of),
            ("renewal", Some(f.orders.order(&f.op, &r).await.unwrap().id))
        );
        assert_eq!(renewal.price, 90_00, "renewal price");
        assert_eq!(tokens(&f.orders, &f, "renssl1").await, 0, "the renewal token was used");
        assert_eq!(tokens(&f.orders, &f, "ssl1").await, 0);
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let rr = renewal.reference.unwrap();
        assert_eq!(f.orders.order(&f.op, &rr).await.unwrap().status, "delivered");
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn a_final_upstream_failure_marks_the_order_failed_and_refunds_once() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ghost1", 1, "").await.unwrap();
        let o = f.orders.place(&f.op, &req(f.org, "ghost1", &["www.example.test"])).await.unwrap().order;
        assert_eq!(tokens(&f.orders, &f, "ghost1").await, 0);
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let o = f.orders.order(&f.op, &o.reference.unwrap()).await.unwrap();
        assert_eq!(o.status, "failed", "{}", tdb.backend);
        assert!(o.failure.unwrap().contains("nowhere"), "the failure names the missing upstream");
        assert_eq!(tokens(&f.orders, &f, "ghost1").await, 1, "refunded");
        let jobs = storage::jobs::list(&mut f.db.acquire().await.unwrap(), "failed", 10).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert!(jobs[0].last_error.as_deref().unwrap_or("").contains("nowhere"));
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}
