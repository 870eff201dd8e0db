//! The lifecycle that runs by itself, on a clock the tests move: automatic
//! renewal 65 days before expiry, once, priced as a renewal from 90 to 60
//! days before expiry; orders waiting for funds, paid when the account is
//! credited; expiry; and the renewal forecast against a count by hand.

use certgate_tests::{Fixture, TestDb, assert_ledger_matches_orders, footprint, scalar};
use orders::{Formula, Ledger, OrderError, PlaceOrder, Status, Worker};

const DAY: i64 = 86_400;

/// Places an `ssl1` order for `names` and has it issued; returns its
/// reference and its certificate's expiry.
async fn delivered(f: &Fixture, names: &[&str]) -> (String, i64) {
    let o = f.orders.place(&f.op, &f.ssl1_for(names)).await.unwrap().order;
    Worker::new(f.orders.clone(), "t").drain().await.unwrap();
    let reference = o.reference.unwrap();
    let certs = f.orders.certificates(&f.op, &reference).await.unwrap();
    assert_eq!(certs.len(), 1, "delivered");
    (reference, certs[0].not_after)
}

/// Moves the order core's clock to `at` and runs the sweep of that moment
/// and every job it leads to, as a worker's turn would.
async fn sweep_at(f: &Fixture, at: i64) {
    set_now(f, at);
    let worker = Worker::new(f.orders.clone(), "sweeper");
    worker.schedule_sweep().await.unwrap();
    worker.drain().await.unwrap();
}

/// Moves the order core's clock to `at`.
fn set_now(f: &Fixture, at: i64) {
    f.orders.set_clock_offset(at - time::OffsetDateTime::now_utc().unix_timestamp());
}

async fn tokens(f: &Fixture, item: &str) -> i64 {
    f.orders.balance(&f.op, Ledger::Tokens, Some(item)).await.unwrap()
}

async fn renewals_of(f: &Fixture, reference: &str) -> Vec<orders::Order> {
    let id = f.orders.order(&f.op, reference).await.unwrap().id;
    let all = f.orders.list_orders(&f.op, &Default::default()).await.unwrap();
    all.into_iter().filter(|o| o.renewal_of == Some(id)).collect()
}

#[tokio::test]
async fn automatic_renewal_is_placed_65_days_before_expiry_once_with_a_renewal_token() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "renssl1", 1, "").await.unwrap();
        let (r, not_after) = delivered(&f, &["www.example.test"]).await;

        let listed = f.orders.auto_renewals(&f.op).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].renews_at, None, "manual until switched on");
        let set = f.orders.set_auto_renew(&f.op, std::slice::from_ref(&r), true).await.unwrap();
        let renews_at = set[0].renews_at.expect("a renewal date");
        assert_eq!(renews_at, not_after - 65 * DAY, "{}", tdb.backend);

        sweep_at(&f, renews_at - DAY).await;
        assert!(renewals_of(&f, &r).await.is_empty(), "not before its date");

        sweep_at(&f, renews_at + 3600).await;
        let placed = renewals_of(&f, &r).await;
        assert_eq!(placed.len(), 1, "{}", tdb.backend);
        let renewal = &placed[0];
        assert_eq!((renewal.kind.as_str(), renewal.status), ("renewal", Status::Delivered));
        assert_eq!(renewal.created_by, orders::AUTOMATIC_RENEWAL);
        assert_eq!(renewal.price, 90_00, "the renewal price");
        assert_eq!((tokens(&f, "renssl1").await, tokens(&f, "ssl1").await), (0, 0), "a renewal token was used");
        assert!(renewal.auto_renew, "the renewal renews itself in turn");
        let old = f.orders.order(&f.op, &r).await.unwrap();
        assert_eq!(renewal.csr_pem, old.csr_pem, "the same CSR");
        assert_eq!((renewal.cn.as_str(), renewal.sans.as_str()), (old.cn.as_str(), old.sans.as_str()));

        // Later sweeps, and a renewal by hand, do not renew it again. (The
        // embedded CA dates certificates by the real clock: the renewal's
        // own certificate would be due too, so it is switched off.)
        let renewal_ref = renewal.reference.clone().unwrap();
        let off = f.orders.set_auto_renew(&f.op, std::slice::from_ref(&renewal_ref), false).await.unwrap();
        assert_eq!(off[0].renews_at, None, "manual again");
        f.orders.credit_tokens(&f.op, "renssl1", 1, "").await.unwrap();
        sweep_at(&f, renews_at + 2 * DAY).await;
        sweep_at(&f, renews_at + 3 * DAY).await;
        assert_eq!(renewals_of(&f, &r).await.len(), 1);
        let err = f.orders.renew(&f.op, &r, None, None, None).await.unwrap_err();
        assert!(matches!(err, OrderError::AlreadyRenewed(_)), "{err:?}");
        assert_eq!(tokens(&f, "renssl1").await, 1, "nothing more charged");
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM jobs WHERE kind = 'renew'").await, 1);
        assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn a_renewal_without_funds_waits_and_is_paid_when_the_account_is_credited() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let (r, not_after) = delivered(&f, &["www.example.test"]).await;
        f.orders.set_auto_renew(&f.op, std::slice::from_ref(&r), true).await.unwrap();

        let before = footprint(&f.db).await;
        sweep_at(&f, not_after - 65 * DAY).await;
        let waiting = renewals_of(&f, &r).await;
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].status, Status::WaitingFunds, "{}", tdb.backend);
        assert_eq!(footprint(&f.db).await.ledger, before.ledger, "nothing charged");

        // A credit of another item pays nothing; the renewal token pays it.
        f.orders.credit_tokens(&f.op, "sanssl1", 1, "").await.unwrap();
        assert_eq!(renewals_of(&f, &r).await[0].status, Status::WaitingFunds);
        f.orders.credit_tokens(&f.op, "renssl1", 1, "").await.unwrap();
        let paid = &renewals_of(&f, &r).await[0];
        assert_eq!(paid.status, Status::Processing, "paid and queued by the credit");
        assert_eq!((paid.payment.as_str(), paid.price), ("tokens", 90_00), "priced on the day it was placed");
        assert_eq!(tokens(&f, "renssl1").await, 0);
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        assert_eq!(renewals_of(&f, &r).await[0].status, Status::Delivered);
        assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn an_order_may_wait_for_funds_and_cancelling_it_charges_nothing() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Deposit).await;
        let refused = f.orders.place(&f.op, &f.ssl1_for(&["www.example.test"])).await.unwrap_err();
        assert!(matches!(refused, OrderError::InsufficientDeposit { .. }), "{refused:?}");

        let waits = PlaceOrder { wait_for_funds: true, ..f.ssl1_for(&["www.example.test"]) };
        let before = footprint(&f.db).await;
        let o = f.orders.place(&f.op, &waits).await.unwrap().order;
        assert_eq!(o.status, Status::WaitingFunds, "{}", tdb.backend);
        assert_eq!(footprint(&f.db).await.ledger, before.ledger, "nothing charged");
        let r = o.reference.unwrap();
        assert_eq!(f.orders.cancel(&f.op, &r).await.unwrap().status, Status::Cancelled);

        let second = f.orders.place(&f.op, &PlaceOrder { client_ref: Some("2".into()), ..waits }).await.unwrap();
        assert_eq!(second.order.status, Status::WaitingFunds);
        f.orders.credit_deposit(&f.op, 50_00, "").await.unwrap();
        assert_eq!(f.orders.order(&f.op, &r).await.unwrap().status, Status::Cancelled, "a cancelled order stays so");
        let r2 = second.order.reference.unwrap();
        assert_eq!(f.orders.order(&f.op, &r2).await.unwrap().status, Status::WaitingFunds, "50.00 is not enough");
        f.orders.credit_deposit(&f.op, 50_00, "").await.unwrap();
        let paid = f.orders.order(&f.op, &r2).await.unwrap();
        assert_eq!((paid.status, paid.payment.as_str(), paid.price), (Status::Processing, "deposit", 100_00));
        assert_eq!(f.orders.balance(&f.op, Ledger::Deposit, None).await.unwrap(), 0);
        assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn delivered_orders_past_their_expiry_become_expired_and_may_still_be_renewed() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
        let (r, not_after) = delivered(&f, &["www.example.test"]).await;

        sweep_at(&f, not_after - 1).await;
        assert_eq!(f.orders.order(&f.op, &r).await.unwrap().status, Status::Delivered);
        // The next period's sweep.
        sweep_at(&f, not_after + f.orders.settings().lifecycle_sweep_secs).await;
        assert_eq!(f.orders.order(&f.op, &r).await.unwrap().status, Status::Expired, "{}", tdb.backend);
        let filter = orders::OrderFilter { status: Some(Status::Expired), ..Default::default() };
        assert_eq!(f.orders.list_orders(&f.op, &filter).await.unwrap().len(), 1);
        assert_eq!(f.orders.certificates(&f.op, &r).await.unwrap().len(), 1, "its certificate is still served");

        // Renewal stays open 30 days after expiry, at the product's price
        // (with the organisation's pre-validation renewed meanwhile).
        let year = f.orders.now() + 365 * DAY;
        f.orders.add_prevalidation(&f.op, f.org, "Brand", "OV", year).await.unwrap();
        let renewal = f.orders.renew(&f.op, &r, None, None, None).await.unwrap().order;
        assert_eq!((renewal.kind.as_str(), renewal.price), ("renewal", 100_00));
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn switched_on_late_the_renewal_is_placed_at_the_next_sweep_at_the_product_price() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "renssl1", 1, "").await.unwrap();
        let (r, not_after) = delivered(&f, &["www.example.test"]).await;
        sweep_at(&f, not_after - 40 * DAY).await;
        assert!(renewals_of(&f, &r).await.is_empty(), "manual renewal: nothing placed");

        f.orders.set_auto_renew(&f.op, std::slice::from_ref(&r), true).await.unwrap();
        // The next period's sweep, within the day.
        sweep_at(&f, not_after - 40 * DAY + f.orders.settings().lifecycle_sweep_secs).await;
        let placed = renewals_of(&f, &r).await;
        assert_eq!(placed.len(), 1, "{}", tdb.backend);
        assert_eq!(placed[0].price, 100_00, "40 days before expiry: the product's price");
        assert_eq!((tokens(&f, "ssl1").await, tokens(&f, "renssl1").await), (0, 1));
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn switching_automatic_renewal_is_all_or_nothing_and_needs_the_technical_right() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 3, "").await.unwrap();
        let (r, _) = delivered(&f, &["www.example.test"]).await;
        let waiting = f.orders.place(&f.op, &f.ssl1_for(&["api.example.test"])).await.unwrap().order;
        let w = waiting.reference.unwrap();
        assert_eq!(waiting.status, Status::Processing);

        let before = footprint(&f.db).await;
        let err = f.orders.set_auto_renew(&f.op, &[r.clone(), w.clone()], true).await.unwrap_err();
        assert!(matches!(err, OrderError::WrongState { ref reference, .. } if *reference == w), "{err:?}");
        let err = f.orders.set_auto_renew(&f.user("commercial"), std::slice::from_ref(&r), true).await.unwrap_err();
        assert!(matches!(err, OrderError::Forbidden(orders::Right::Technical)), "{err:?}");
        let err = f.orders.set_auto_renew(&f.op, &["404".into()], true).await.unwrap_err();
        assert!(matches!(err, OrderError::UnknownOrder(_)), "{err:?}");
        assert_eq!(footprint(&f.db).await, before, "nothing written");
        assert!(!f.orders.order(&f.op, &r).await.unwrap().auto_renew);

        // The account's default applies to its next orders.
        f.orders.set_auto_renew_default(&f.op, true).await.unwrap();
        let next = f.orders.place(&f.op, &f.ssl1_for(&["mail.example.test"])).await.unwrap().order;
        assert!(next.auto_renew, "{}", tdb.backend);
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn the_renewal_forecast_equals_a_count_by_hand() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let orders_names: [&[&str]; 4] = [
            &["a.example.test"],
            &["b.example.test", "c.example.test", "d.example.test"],
            &["e.example.test", "*.e.example.test"],
            &["f.example.test", "g.example.test"],
        ];
        for item in ["ssl1", "sanssl1", "sanwildssl1"] {
            f.orders.credit_tokens(&f.op, item, 10, "").await.unwrap();
        }
        let mut refs = Vec::new();
        let mut expiry = 0;
        for names in orders_names {
            let (r, not_after) = delivered(&f, names).await;
            refs.push(r);
            expiry = not_after;
        }
        // The last order is renewed already (and that renewal is not delivered yet).
        set_now(&f, expiry - 89 * DAY);
        f.orders.renew(&f.op, &refs[3], None, None, None).await.unwrap();
        f.orders.credit_tokens(&f.op, "renssl1", 1, "").await.unwrap();

        // By hand: every order but the renewed one, a renewal token each (their
        // renewal date, 65 days before expiry, is ahead), and a SAN token per
        // additional name, plain or wildcard.
        let counted = &orders_names[..3];
        let plain: i64 = counted.iter().map(|n| n[1..].iter().filter(|s| !s.starts_with("*.")).count() as i64).sum();
        let wild: i64 = counted.iter().map(|n| n[1..].iter().filter(|s| s.starts_with("*.")).count() as i64).sum();
        let held = |item: &str| {
            let f = &f;
            let item = item.to_string();
            async move { tokens(f, &item).await }
        };
        let forecast = f.orders.renewal_forecast(&f.op, expiry - DAY, expiry + DAY).await.unwrap();
        let mut expected = vec![("renssl1".to_string(), counted.len() as i64), ("sanssl1".into(), plain)];
        expected.push(("sanwildssl1".into(), wild));
        expected.sort();
        let mut got: Vec<_> = forecast.needs.iter().map(|n| (n.item.clone(), n.needed)).collect();
        got.sort();
        assert_eq!(got, expected, "{}", tdb.backend);
        for n in &forecast.needs {
            assert_eq!(n.held, held(&n.item).await);
            assert_eq!(n.shortfall, (n.needed - n.held).max(0));
        }
        let listed: Vec<_> = forecast.orders.iter().map(|o| o.order.reference.clone().unwrap()).collect();
        assert_eq!(listed, refs[..3].to_vec());
        let csv = orders::forecast_csv(&forecast);
        assert!(csv.starts_with("kind,item or reference,"), "{csv}");
        assert_eq!(csv.lines().count(), 1 + forecast.needs.len() + 3);

        // 40 days before expiry the renewal price no longer applies: product tokens.
        set_now(&f, expiry - 40 * DAY);
        let late = f.orders.renewal_forecast(&f.op, expiry - DAY, expiry + DAY).await.unwrap();
        assert!(late.needs.iter().any(|n| n.item == "ssl1" && n.needed == 3), "{:?}", late.needs);
        // A period with nothing expiring needs nothing; a bad period is refused.
        let none = f.orders.renewal_forecast(&f.op, expiry - 300 * DAY, expiry - 200 * DAY).await.unwrap();
        assert!(none.needs.is_empty() && none.orders.is_empty());
        let err = f.orders.renewal_forecast(&f.op, expiry, expiry - 1).await.unwrap_err();
        assert!(matches!(err, OrderError::Invalid(_)), "{err:?}");
        let err = f.orders.renewal_forecast(&f.user("technical"), 0, DAY).await.unwrap_err();
        assert!(matches!(err, OrderError::Forbidden(orders::Right::Billing)), "{err:?}");
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn a_product_that_keeps_no_key_renews_automatically_once_given_a_new_csr() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let list = "Range,Code,Product,Validity (year),New order and renewal,Validation,Renewal code,Renewal price,Upstream,Key reuse\n\
                    Brand,fresh1,Fresh key OV,1,80.00,OV,renfresh1,70.00,embedded,no\n";
        f.orders.import_prices(&f.op, list, None).await.unwrap();
        assert!(!f.orders.product("fresh1").await.unwrap().key_reuse);
        f.orders.set_contact(&f.op, "generic", "ops@example.test", "en").await.unwrap();
        f.orders.credit_tokens(&f.op, "fresh1", 2, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "renfresh1", 1, "").await.unwrap();
        let first = certgate_tests::csr(&["www.example.test"], certgate_tests::Key::P256);
        let order = PlaceOrder { product_code: "fresh1".into(), ..f.ssl1_order(first.clone()) };
        let r = f.orders.place(&f.op, &order).await.unwrap().order.reference.unwrap();
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let not_after = f.orders.certificates(&f.op, &r).await.unwrap()[0].not_after;
        f.orders.set_auto_renew(&f.op, std::slice::from_ref(&r), true).await.unwrap();

        let before = footprint(&f.db).await;
        sweep_at(&f, not_after - 65 * DAY).await;
        let waiting = renewals_of(&f, &r).await.remove(0);
        assert_eq!(waiting.status, Status::WaitingCsr, "{}", tdb.backend);
        let told = "SELECT kind FROM events WHERE kind LIKE 'renewal.%' ORDER BY id";
        let kinds: Vec<String> =
            storage::sql::query_scalar(told).fetch_all(&mut f.db.acquire().await.unwrap()).await.unwrap();
        assert_eq!(kinds, ["renewal.waiting_csr"], "asked for the CSR, not told it was paid");
        assert_eq!(footprint(&f.db).await.ledger, before.ledger, "nothing charged before the CSR");
        let w = waiting.reference.unwrap();

        // The same key, or other names, are refused and change nothing.
        let before = footprint(&f.db).await;
        let err = f.orders.provide_csr(&f.op, &w, first.as_bytes()).await.unwrap_err();
        assert!(err.to_string().contains("does not allow a key to be reused"), "{err}");
        let other = certgate_tests::csr(&["api.example.test"], certgate_tests::Key::P256);
        let err = f.orders.provide_csr(&f.op, &w, other.as_bytes()).await.unwrap_err();
        assert!(matches!(err, OrderError::NamesMismatch(_)), "{err:?}");
        let err = f.orders.provide_csr(&f.op, &r, other.as_bytes()).await.unwrap_err();
        assert!(matches!(err, OrderError::WrongState { .. }), "only a renewal waiting for its CSR: {err:?}");
        assert_eq!(footprint(&f.db).await, before);
        assert_eq!(f.orders.order(&f.op, &w).await.unwrap().status, Status::WaitingCsr);

        // A new key: paid (the renewal price, as placed 65 days before expiry) and issued.
        let fresh = certgate_tests::csr(&["www.example.test"], certgate_tests::Key::P256);
        let paid = f.orders.provide_csr(&f.op, &w, fresh.as_bytes()).await.unwrap();
        assert_eq!((paid.status, paid.price), (Status::Processing, 70_00));
        assert_eq!((tokens(&f, "renfresh1").await, tokens(&f, "fresh1").await), (0, 1));
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        assert_eq!(f.orders.order(&f.op, &w).await.unwrap().status, Status::Delivered);

        // By hand, such a product is renewed with a new CSR only.
        let by_hand = PlaceOrder { product_code: "fresh1".into(), ..f.ssl1_for(&["mail.example.test"]) };
        let m = f.orders.place(&f.op, &by_hand).await.unwrap().order.reference.unwrap();
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let err = f.orders.renew(&f.op, &m, None, None, None).await.unwrap_err();
        assert!(err.to_string().contains("renew it with a new CSR"), "{err}");
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn orders_wait_within_limits_and_stale_ones_are_cancelled_unpaid() {
    for tdb in TestDb::all().await {
        let settings = orders::Settings { max_waiting_orders: 2, ..Default::default() };
        let f = Fixture::with_settings(&tdb, Formula::Deposit, settings).await;
        let waits = |n: &str| PlaceOrder {
            wait_for_funds: true,
            client_ref: Some(n.into()),
            ..f.ssl1_for(&["www.example.test"])
        };
        let first = f.orders.place(&f.op, &waits("1")).await.unwrap().order;
        f.orders.place(&f.op, &waits("2")).await.unwrap();
        let before = footprint(&f.db).await;
        let err = f.orders.place(&f.op, &waits("3")).await.unwrap_err();
        assert!(matches!(err, OrderError::TooManyWaiting(2)), "past the limit, refused: {err:?}");
        assert_eq!(footprint(&f.db).await, before, "{}", tdb.backend);

        // 90 days later they are cancelled, unpaid; a credit then pays nothing.
        sweep_at(&f, first.created_at + 91 * DAY).await;
        let r = first.reference.unwrap();
        assert_eq!(f.orders.order(&f.op, &r).await.unwrap().status, Status::Cancelled);
        f.orders.credit_deposit(&f.op, 500_00, "").await.unwrap();
        assert_eq!(f.orders.balance(&f.op, Ledger::Deposit, None).await.unwrap(), 500_00, "nothing charged");
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM orders WHERE status = 'cancelled'").await, 2);
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn an_automatic_renewal_that_cannot_be_placed_is_told_and_the_expiry_notice_follows() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        // An organisation whose pre-validation ends before the renewal date.
        let org =
            orders::NewOrganisation { account_id: f.account, name: "Short Org", country: "FR", ..Default::default() };
        let org = f.orders.create_organisation(&f.op, &org).await.unwrap();
        f.orders.add_prevalidation(&f.op, org, "Brand", "OV", f.orders.now() + 200 * DAY).await.unwrap();
        f.orders.add_domain(&f.op, org, "*.short.test", true).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let settings = notify::Settings { log_file: Some(dir.path().join("mail.log")), ..Default::default() };
        f.orders.set_notifier(notify::Notifier::new(&settings).unwrap());
        f.orders.set_contact(&f.op, "generic", "ops@example.test", "en").await.unwrap();
        f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
        let order = PlaceOrder { organisation_id: org, ..f.ssl1_for(&["www.short.test"]) };
        let r = f.orders.place(&f.op, &order).await.unwrap().order.reference.unwrap();
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let not_after = f.orders.certificates(&f.op, &r).await.unwrap()[0].not_after;
        f.orders.set_auto_renew(&f.op, std::slice::from_ref(&r), true).await.unwrap();

        sweep_at(&f, not_after - 65 * DAY).await;
        assert!(renewals_of(&f, &r).await.is_empty());
        let failed = "SELECT COUNT(*) FROM jobs WHERE kind = 'renew' AND state = 'failed'";
        assert_eq!(scalar(&f.db, failed).await, 1, "{}", tdb.backend);
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM events WHERE kind = 'renewal.failed'").await, 1);
        // The customer counted on it: the expiry notices go out after all.
        sweep_at(&f, not_after - 29 * DAY).await;
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM events WHERE kind = 'certificate.expiring'").await, 1);
        let mail = std::fs::read_to_string(dir.path().join("mail.log")).unwrap();
        assert!(mail.contains("Subject: Automatic renewal of www.short.test could not be placed"), "{mail}");
        assert!(mail.contains("no active OV pre-validation"), "the reason is told");
        tdb.cleanup().await;
    }
}
