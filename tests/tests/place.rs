//! Placing orders through the order core: the happy path to a verified
//! certificate, and every refusal, each shown to write and charge nothing.

use certgate_tests::{Fixture, Key, TestDb, csr, embedded_root, footprint, openssl_verify};
use orders::{Formula, OrderError, PlaceOrder, Status};

fn order(org: i64, product: &str, csr_pem: &str, names: &[&str]) -> PlaceOrder {
    PlaceOrder {
        organisation_id: org,
        product_code: product.into(),
        csr: csr_pem.as_bytes().to_vec(),
        names: names.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn bulk_order_is_paid_with_tokens_issued_and_verifies() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "sanssl1", 5, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "sanwildssl1", 1, "").await.unwrap();
        let names = ["www.example.test", "a.example.test", "b.example.test", "*.example.test"];
        let placed = f.orders.place(&f.user("technical"), &order(f.org, "ssl1", &csr(&names, Key::P256), &names)).await;
        let o = placed.unwrap().order;
        assert_eq!(o.status, Status::Processing.as_str(), "{}", tdb.backend);
        assert_eq!(o.payment, "tokens");
        assert_eq!(o.price, 100_00 + 2 * 20_00 + 50_00, "base + 2 SANs + 1 wildcard SAN at retail prices");
        let balance = |item: &'static str| {
            let f = &f;
            async move { f.orders.balance(&f.op, orders::Ledger::Tokens, Some(item)).await.unwrap() }
        };
        assert_eq!((balance("ssl1").await, balance("sanssl1").await, balance("sanwildssl1").await), (1, 3, 0));

        let worker = orders::Worker::new(f.orders.clone(), "test");
        assert_eq!(worker.drain().await.unwrap(), 1);
        let reference = o.reference.clone().unwrap();
        let o = f.orders.order(&f.op, &reference).await.unwrap();
        assert_eq!(o.status, "delivered");
        let certs = f.orders.certificates(&f.op, &reference).await.unwrap();
        assert_eq!(certs.len(), 1);
        let root = embedded_root(&f.db).await;
        openssl_verify(&root, &certs[0].chain_pem, &certs[0].leaf_pem).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(certs[0].leaf_pem.as_bytes()).unwrap();
        let x = pem.parse_x509().unwrap();
        let sans: Vec<String> =
            x.subject_alternative_name().unwrap().unwrap().value.general_names.iter().map(|g| g.to_string()).collect();
        assert_eq!(sans.len(), 4, "{sans:?}");
        assert_eq!(certs[0].serial, x.raw_serial_as_string().replace(':', ""));
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn deposit_and_monthly_orders_move_money_exactly() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Deposit).await;
        f.orders.credit_deposit(&f.op, 150_00, "top-up").await.unwrap();
        let names = ["www.example.test", "api.example.test"];
        let o = f.orders.place(&f.op, &order(f.org, "ssl1", &csr(&names, Key::P384), &[])).await.unwrap().order;
        assert_eq!((o.payment.as_str(), o.price), ("deposit", 120_00));
        assert_eq!(f.orders.balance(&f.op, orders::Ledger::Deposit, None).await.unwrap(), 30_00);

        let m = Fixture::new(&tdb, Formula::Monthly).await;
        let o = m.orders.place(&m.op, &order(m.org, "ssl1", &csr(&names, Key::Rsa2048), &[])).await.unwrap().order;
        assert_eq!((o.payment.as_str(), o.price), ("invoice", 120_00));
        assert_eq!(m.orders.balance(&m.op, orders::Ledger::Invoice, None).await.unwrap(), 120_00);
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn rebate_uses_tokens_when_held_then_invoices_at_negotiated_prices() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Rebate).await;
        f.orders.set_price("ssl1", Some(f.account), "EUR", 80_00).await.unwrap();
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let names = ["www.example.test"];
        let first = f.orders.place(&f.op, &order(f.org, "ssl1", &csr(&names, Key::P256), &[])).await.unwrap().order;
        assert_eq!(first.payment, "tokens");
        let second = f.orders.place(&f.op, &order(f.org, "ssl1", &csr(&names, Key::P256), &[])).await.unwrap().order;
        assert_eq!((second.payment.as_str(), second.price), ("invoice", 80_00), "negotiated price, not retail");
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn idempotency_key_replays_the_first_order_without_a_second_charge() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 5, "").await.unwrap();
        let mut req = order(f.org, "ssl1", &csr(&["www.example.test"], Key::P256), &[]);
        req.idempotency_key = Some("retry-1".into());
        let a = f.orders.place(&f.op, &req).await.unwrap();
        let b = f.orders.place(&f.op, &req).await.unwrap();
        assert!(!a.replayed && b.replayed);
        assert_eq!(a.order.id, b.order.id);
        assert_eq!(a.order.reference, Some(a.order.id.to_string()), "{}: the reference is the id", tdb.backend);
        assert_eq!(f.orders.balance(&f.op, orders::Ledger::Tokens, Some("ssl1")).await.unwrap(), 4);

        // Retries racing each other: one order, one charge.
        req.idempotency_key = Some("retry-2".into());
        let placed = certgate_tests::race(4, || {
            let (orders, op, req) = (f.orders.clone(), f.op.clone(), req.clone());
            async move { orders.place(&op, &req).await.unwrap() }
        })
        .await;
        assert_eq!(placed.iter().filter(|p| !p.replayed).count(), 1, "{}", tdb.backend);
        assert!(placed.iter().all(|p| p.order.id == placed[0].order.id), "{}", tdb.backend);
        assert_eq!(f.orders.balance(&f.op, orders::Ledger::Tokens, Some("ssl1")).await.unwrap(), 3);

        // A deposit account's retry gets its order even once the product has no price any more.
        let d = Fixture::new(&tdb, Formula::Deposit).await;
        d.orders.credit_deposit(&d.op, 1_000_00, "").await.unwrap();
        let mut req = order(d.org, "ssl1", &csr(&["www.example.test"], Key::P256), &[]);
        req.idempotency_key = Some("retry-3".into());
        let first = d.orders.place(&d.op, &req).await.unwrap();
        certgate_tests::execute(&d.db, "DELETE FROM prices WHERE item = 'ssl1'").await;
        let retry = d.orders.place(&d.op, &req).await.unwrap();
        assert!(retry.replayed && retry.order.id == first.order.id, "{}", tdb.backend);
        req.idempotency_key = Some("retry-4".into());
        let err = d.orders.place(&d.op, &req).await.unwrap_err();
        assert!(matches!(err, OrderError::NoPrice { .. }), "{}: a new order has no price: {err:?}", tdb.backend);
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn an_order_confirmed_at_a_quote_is_refused_once_the_quote_changed() {
    for tdb in TestDb::all().await {
        // A price changed between the quote and the order: refused, nothing
        // written; the order at today's quote is placed and charged that.
        let d = Fixture::new(&tdb, Formula::Deposit).await;
        d.orders.credit_deposit(&d.op, 1_000_00, "").await.unwrap();
        let mut req = order(d.org, "ssl1", &csr(&["www.example.test"], Key::P256), &[]);
        req.idempotency_key = Some("portal:1".into());
        let seen = d.orders.quote_order(&d.op, &req).await.unwrap().quoted();
        assert_eq!((seen.total, seen.payment.as_str()), (100_00, "deposit"));
        d.orders.set_price("ssl1", Some(d.account), "EUR", 110_00).await.unwrap();
        let before = footprint(&d.db).await;
        req.quoted = Some(seen.clone());
        let err = d.orders.place(&d.op, &req).await.unwrap_err();
        assert!(
            matches!(&err, OrderError::QuoteChanged { quoted, now } if quoted == "100.00 EUR (deposit: ssl1:1)" && now == "110.00 EUR (deposit: ssl1:1)"),
            "{}: {err:?}",
            tdb.backend
        );
        assert_eq!(footprint(&d.db).await, before, "{}: nothing written", tdb.backend);
        assert_eq!(d.orders.balance(&d.op, orders::Ledger::Deposit, None).await.unwrap(), 1_000_00);
        req.quoted = Some(d.orders.quote_order(&d.op, &req).await.unwrap().quoted());
        let placed = d.orders.place(&d.op, &req).await.unwrap();
        assert_eq!(placed.order.price, 110_00);
        assert_eq!(d.orders.balance(&d.op, orders::Ledger::Deposit, None).await.unwrap(), 890_00);
        // Its retry, under a quote stale by now, gets the order back, charged once.
        d.orders.set_price("ssl1", Some(d.account), "EUR", 120_00).await.unwrap();
        let retry = d.orders.place(&d.op, &req).await.unwrap();
        assert!(retry.replayed && retry.order.id == placed.order.id, "{}", tdb.backend);
        assert_eq!(d.orders.balance(&d.op, orders::Ledger::Deposit, None).await.unwrap(), 890_00);

        // The token that paid the quote spent meanwhile: the order would go
        // on the invoice instead, and is refused.
        let r = Fixture::new(&tdb, Formula::Rebate).await;
        r.orders.credit_tokens(&r.op, "ssl1", 1, "").await.unwrap();
        let mut req = order(r.org, "ssl1", &csr(&["www.example.test"], Key::P256), &[]);
        let seen = r.orders.quote_order(&r.op, &req).await.unwrap().quoted();
        assert_eq!(seen.payment, "tokens");
        r.orders.place(&r.op, &order(r.org, "ssl1", &csr(&["a.example.test"], Key::P256), &[])).await.unwrap();
        let before = footprint(&r.db).await;
        req.quoted = Some(seen);
        let err = r.orders.place(&r.op, &req).await.unwrap_err();
        assert!(matches!(&err, OrderError::QuoteChanged { now, .. } if now.ends_with("(invoice: ssl1:1)")), "{err:?}");
        assert_eq!(footprint(&r.db).await, before, "{}: nothing written", tdb.backend);
        certgate_tests::assert_ledger_matches_orders(&r.db).await;
        certgate_tests::assert_ledger_matches_orders(&d.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn names_not_prevalidated_wait_for_dcv_then_issue() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let o = f.orders.place(&f.op, &order(f.org, "ssl1", &csr(&["shop.other.test"], Key::P256), &[])).await.unwrap();
    assert_eq!(o.order.status, "waiting_dcv");
    assert_eq!(f.orders.balance(&f.op, orders::Ledger::Tokens, Some("ssl1")).await.unwrap(), 0, "paid at order");
    let worker = orders::Worker::new(f.orders.clone(), "t");
    assert_eq!(worker.drain().await.unwrap(), 0, "nothing is issued before DCV");
    let reference = o.order.reference.unwrap();
    // A customer's proof is checked by the order core's VA; only the
    // operator may declare it done without a check.
    let api_user = f.user("all");
    let refused = f.orders.complete_dcv(&api_user, &reference).await;
    assert!(matches!(refused, Err(OrderError::Forbidden(_))), "{refused:?}");
    let unchecked = f.orders.check_dcv(&api_user, &reference).await;
    assert!(matches!(unchecked, Err(OrderError::DcvNotProven(_))), "nothing is published: {unchecked:?}");
    assert_eq!(f.orders.order(&f.op, &reference).await.unwrap().status, "waiting_dcv");
    f.orders.complete_dcv(&f.op, &reference).await.unwrap();
    worker.drain().await.unwrap();
    assert_eq!(f.orders.order(&f.op, &reference).await.unwrap().status, "delivered");
}

/// Each case: a request that must be refused with a given error, after which
/// nothing was written and nothing charged.
#[tokio::test]
async fn every_refusal_is_typed_and_writes_nothing() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let other = Fixture::new(&tdb, Formula::Bulk).await;
        let www = ["www.example.test"];
        let good = csr(&www, Key::P256);
        let mut no_prevalidation_org = f.op.clone();
        no_prevalidation_org.account_id = f.account;
        let bare_org = {
            let o =
                storage::organisations::NewOrganisation { account_id: f.account, name: "Bare", ..Default::default() };
            f.orders.create_organisation(&f.op, &o).await.unwrap()
        };
        let mut tampered = good.clone().into_bytes();
        let mid = tampered.len() / 2;
        tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };

        type Case = (&'static str, PlaceOrder, fn(&OrderError) -> bool);
        let cases: Vec<Case> = vec![
            ("garbage CSR", order(f.org, "ssl1", "hello", &[]), |e| matches!(e, OrderError::BadCsr(_))),
            ("tampered CSR signature", PlaceOrder { csr: tampered, ..order(f.org, "ssl1", "", &[]) }, |e| {
                matches!(e, OrderError::BadCsr(_))
            }),
            ("RSA 1024", order(f.org, "ssl1", &csr(&www, Key::Rsa1024), &[]), |e| matches!(e, OrderError::WeakKey(_))),
            ("Ed25519", order(f.org, "ssl1", &csr(&www, Key::Ed25519), &[]), |e| matches!(e, OrderError::WeakKey(_))),
            ("CSR names another domain", order(f.org, "ssl1", &csr(&["evil.example.test"], Key::P256), &www), |e| {
                matches!(e, OrderError::NamesMismatch(_))
            }),
            (
                "too many SANs",
                order(
                    f.org,
                    "ssl1",
                    &csr(
                        &["a.example.test", "b.example.test", "c.example.test", "d.example.test", "e.example.test"],
                        Key::P256,
                    ),
                    &[],
                ),
                |e| matches!(e, OrderError::TooManySans { max: 3, asked: 4, .. }),
            ),
            ("wildcard on a product without", order(f.org, "dv1", &csr(&["*.example.test"], Key::P256), &[]), |e| {
                matches!(e, OrderError::WildcardNotAllowed(_))
            }),
            ("bad name", order(f.org, "ssl1", &good, &["www.exa mple.test"]), |e| matches!(e, OrderError::BadName(..))),
            ("unknown product", order(f.org, "nope", &good, &[]), |e| matches!(e, OrderError::UnknownProduct(_))),
            ("another account's organisation", order(other.org, "ssl1", &good, &[]), |e| {
                matches!(e, OrderError::UnknownOrganisation(_))
            }),
            (
                "no pre-validation",
                order(bare_org, "ssl1", &good, &[]),
                |e| matches!(e, OrderError::NoPrevalidation { validation, .. } if validation == "OV"),
            ),
            (
                "no SAN tokens",
                order(f.org, "ssl1", &csr(&["www.example.test", "x.example.test"], Key::P256), &[]),
                |e| matches!(e, OrderError::InsufficientTokens { item, needed: 1, available: 0 } if item == "sanssl1"),
            ),
        ];
        for (what, req, expected) in cases {
            let before = footprint(&f.db).await;
            let err = f.orders.place(&f.op, &req).await.expect_err(what);
            assert!(expected(&err), "{what} on {}: unexpected error {err:?}", tdb.backend);
            assert!(!err.to_string().is_empty());
            assert_eq!(footprint(&f.db).await, before, "{what} wrote something");
        }

        // Rights: a commercial-only user cannot order.
        let before = footprint(&f.db).await;
        let err = f.orders.place(&f.user("commercial"), &order(f.org, "ssl1", &good, &[])).await.unwrap_err();
        assert!(matches!(err, OrderError::Forbidden(orders::Right::Technical)), "{err:?}");
        assert_eq!(footprint(&f.db).await, before);

        // The one token is spent; the next order (another request: the same
        // again would be a retry of the first) is refused for want of tokens.
        f.orders.place(&f.op, &order(f.org, "ssl1", &good, &[])).await.unwrap();
        let before = footprint(&f.db).await;
        let next = PlaceOrder { client_ref: Some("next".into()), ..order(f.org, "ssl1", &good, &[]) };
        let err = f.orders.place(&f.op, &next).await.unwrap_err();
        assert!(matches!(err, OrderError::InsufficientTokens { needed: 1, available: 0, .. }), "{err:?}");
        assert_eq!(err.to_string(), "no token left for product ssl1: 1 needed, 0 available");
        assert_eq!(footprint(&f.db).await, before);

        // A deposit account without enough money, and one without a price.
        let d = Fixture::new(&tdb, Formula::Deposit).await;
        d.orders.credit_deposit(&d.op, 99_99, "").await.unwrap();
        let before = footprint(&d.db).await;
        let err = d.orders.place(&d.op, &order(d.org, "ssl1", &good, &[])).await.unwrap_err();
        assert!(matches!(err, OrderError::InsufficientDeposit { needed: 100_00, balance: 99_99, .. }), "{err:?}");
        assert_eq!(footprint(&d.db).await, before);
        let gbp = d.orders.create_account("GBP", Formula::Deposit, "GBP", false, 0).await.unwrap();
        let gop = orders::Caller::operator(gbp);
        let gorg = certgate_tests::new_org(&d.orders, &gop).await;
        d.orders.credit_deposit(&gop, 1_000_00, "").await.unwrap();
        let before = footprint(&d.db).await;
        let err = d.orders.place(&gop, &order(gorg, "ssl1", &good, &[])).await.unwrap_err();
        assert!(matches!(&err, OrderError::NoPrice { currency, .. } if currency == "GBP"), "{err:?}");
        assert_eq!(footprint(&d.db).await, before);
        tdb.cleanup().await;
    }
}

/// The names an order needs validated are those none of the organisation's
/// pre-validated domains covers, all of them read with the order's context.
#[tokio::test]
async fn check_order_names_the_names_no_prevalidated_domain_covers() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "sanssl1", 3, "").await.unwrap();
        f.orders.add_domain(&f.op, f.org, "other.test", true).await.unwrap();
        let names: Vec<String> =
            ["www.example.test", "x.other.test", "example.test", "Third.test"].map(String::from).into();
        let checked = f.orders.check_order(&f.op, f.org, "ssl1", &names, None).await.unwrap();
        assert_eq!(
            checked.names,
            ["www.example.test", "x.other.test", "example.test", "third.test"],
            "{}",
            tdb.backend
        );
        // `*.example.test` covers the names below example.test, not itself.
        assert_eq!(checked.needing_dcv, ["example.test", "third.test"], "{}", tdb.backend);
        tdb.cleanup().await;
    }
}

/// ACME new-order checks the funds without writing: the product's tokens and
/// the deposit as read with the order's context, other items' tokens on their own.
#[tokio::test]
async fn check_order_refuses_what_the_account_cannot_pay() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let one = names(&["www.example.test"]);
        let err = f.orders.check_order(&f.op, f.org, "ssl1", &one, None).await.unwrap_err();
        assert!(
            matches!(&err, OrderError::InsufficientTokens { item, needed: 1, available: 0 } if item == "ssl1"),
            "{b}: {err:?}"
        );
        f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "sanssl1", 1, "").await.unwrap();
        f.orders.check_order(&f.op, f.org, "ssl1", &one, None).await.unwrap();
        let three = names(&["www.example.test", "a.example.test", "b.example.test"]);
        let err = f.orders.check_order(&f.op, f.org, "ssl1", &three, None).await.unwrap_err();
        assert!(
            matches!(&err, OrderError::InsufficientTokens { item, needed: 2, available: 1 } if item == "sanssl1"),
            "{b}: {err:?}"
        );

        let d = Fixture::new(&tdb, Formula::Deposit).await;
        d.orders.credit_deposit(&d.op, 99_99, "").await.unwrap();
        let err = d.orders.check_order(&d.op, d.org, "ssl1", &one, None).await.unwrap_err();
        assert!(matches!(err, OrderError::InsufficientDeposit { needed: 100_00, balance: 99_99, .. }), "{b}: {err:?}");
        d.orders.credit_deposit(&d.op, 1, "").await.unwrap();
        d.orders.check_order(&d.op, d.org, "ssl1", &one, None).await.unwrap();
        tdb.cleanup().await;
    }
}

/// On SQLite an order's id is drawn as AUTOINCREMENT would draw it, above the
/// highest id ever used and the highest present, even if `sqlite_sequence`
/// was reset (by a restore, say).
#[tokio::test]
async fn an_order_id_is_drawn_above_every_id_on_sqlite() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
    let first =
        f.orders.place(&f.op, &order(f.org, "ssl1", &csr(&["www.example.test"], Key::P256), &[])).await.unwrap();
    certgate_tests::execute(&f.db, "UPDATE sqlite_sequence SET seq = 0 WHERE name = 'orders'").await;
    let second =
        f.orders.place(&f.op, &order(f.org, "ssl1", &csr(&["www.example.test"], Key::P256), &[])).await.unwrap();
    assert_eq!(second.order.id, first.order.id + 1);
    assert_eq!(second.order.reference, Some(second.order.id.to_string()));
}

/// Every timestamp the order core writes comes from its one clock, so a
/// test that moves the clock (to reach a renewal window, an expiry) sees
/// the orders, ledger rows, jobs and audit entries written at that time.
#[tokio::test]
async fn what_the_order_core_writes_is_stamped_by_its_own_clock() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let ahead = 40 * 86_400;
        f.orders.set_clock_offset(ahead);
        let then = f.orders.now();
        let o = f.orders.place(&f.op, &f.ssl1_order(csr(&["www.example.test"], Key::P256))).await.unwrap().order;
        for (what, sql) in [
            ("order", "SELECT MIN(created_at) FROM orders"),
            ("debit", "SELECT MIN(created_at) FROM ledger WHERE amount < 0"),
            ("job", "SELECT MIN(created_at) FROM jobs"),
            ("audit entry", "SELECT MAX(at) FROM audit_log WHERE action = 'order.place'"),
        ] {
            let at = certgate_tests::scalar(&f.db, sql).await;
            assert!((then..then + 5).contains(&at), "{}: the {what} is stamped {at}, not {then}", tdb.backend);
        }
        assert!(o.created_at >= then, "{}", tdb.backend);
        f.orders.set_clock_offset(0);
        tdb.cleanup().await;
    }
}
