//! Racing calls on one order, on every backend: ten parallel calls of each
//! operation that moves an order (reissue, renew, revoke, cancel, approve,
//! reject, domain validation) leave exactly one winner, the others refused
//! as the order's state has moved, and money moved once. Identical `achat`
//! retries, racing or not, buy once within the retry window.

use certgate_tests::{Fixture, Key, TestDb, csr, footprint, race};
use orders::{Caller, Formula, Ledger, OrderError, Orders, PlaceOrder, Reissue, Rights, Settings, Worker};

const DAY: i64 = 86_400;

fn req(org: i64, names: &[&str]) -> PlaceOrder {
    PlaceOrder {
        organisation_id: org,
        product_code: "ssl1".into(),
        csr: csr(names, Key::P256).into_bytes(),
        ..Default::default()
    }
}

/// A delivered order of `f`'s account; its reference.
async fn delivered(f: &Fixture) -> String {
    let o = f.orders.place(&f.op, &req(f.org, &["www.example.test"])).await.unwrap().order;
    Worker::new(f.orders.clone(), "t").drain().await.unwrap();
    o.reference.unwrap()
}

/// Runs `op` ten times at once on `reference`; the number that succeeded,
/// after checking that every other one was refused because the order moved.
async fn ten<T: Send + 'static, F>(orders: &Orders, caller: &Caller, reference: &str, op: F) -> usize
where
    F: Fn(Orders, Caller, String) -> orders::BoxFuture<'static, Result<T, OrderError>>,
{
    let outcomes = race(10, || op(orders.clone(), caller.clone(), reference.to_string())).await;
    for e in outcomes.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(e, OrderError::WrongState { .. } | OrderError::AlreadyRevoked | OrderError::AlreadyRenewed(_)),
            "a loser must be refused for the order's state: {e:?}"
        );
    }
    outcomes.iter().filter(|r| r.is_ok()).count()
}

#[tokio::test]
async fn ten_parallel_calls_on_one_order_have_one_winner() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 20, "").await.unwrap();
        let o = &f.orders;
        let backend = tdb.backend;

        // Reissue: no worker runs, so the order stays processing after the winner.
        let r = delivered(&f).await;
        let reissued = ten(o, &f.op, &r, |o, c, r| {
            Box::pin(async move {
                let csr = csr(&["www.example.test"], Key::P256).into_bytes();
                o.reissue(&c, &r, &Reissue { csr, names: vec![] }).await
            })
        })
        .await;
        assert_eq!(reissued, 1, "{backend}: reissue");
        assert_eq!(footprint(&f.db).await.jobs, 2, "{backend}: one issuance queued for the reissue");

        // Renew, inside the window: one renewal order, one token.
        let r = delivered(&f).await;
        o.set_clock_offset(397 * DAY - 60 * DAY);
        let before = o.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap();
        let renewed =
            ten(o, &f.op, &r, |o, c, r| Box::pin(async move { o.renew(&c, &r, None, None, None).await })).await;
        assert_eq!(renewed, 1, "{backend}: renew");
        assert_eq!(o.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), before - 1, "{backend}");
        o.set_clock_offset(0);

        // Revoke.
        let r = delivered(&f).await;
        let revoked = ten(o, &f.op, &r, |o, c, r| Box::pin(async move { o.revoke(&c, &r, None, 1).await })).await;
        assert_eq!(revoked, 1, "{backend}: revoke");

        // Cancel while processing: one refund.
        let placed = o.place(&f.op, &req(f.org, &["www.example.test"])).await.unwrap().order;
        let r = placed.reference.unwrap();
        let before = o.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap();
        let cancelled = ten(o, &f.op, &r, |o, c, r| Box::pin(async move { o.cancel(&c, &r).await })).await;
        assert_eq!(cancelled, 1, "{backend}: cancel");
        assert_eq!(o.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), before + 1, "{backend}");

        // Approve and reject, on an account in approval mode.
        let acc = o.create_account("Approving", Formula::Bulk, "EUR", true, 0).await.unwrap();
        let op = Caller::operator(acc);
        let org = certgate_tests::new_org(o, &op).await;
        o.credit_tokens(&op, "ssl1", 5, "").await.unwrap();
        let mut tech = op.clone();
        tech.rights = Rights::parse("technical,commercial").unwrap();
        let pending = |o: &Orders| {
            let (o, tech) = (o.clone(), tech.clone());
            async move { o.place(&tech, &req(org, &["www.example.test"])).await.unwrap().order.reference.unwrap() }
        };
        let r = pending(o).await;
        let approved = ten(o, &op, &r, |o, c, r| Box::pin(async move { o.approve(&c, &r, None).await })).await;
        assert_eq!(approved, 1, "{backend}: approve");
        assert_eq!(o.balance(&op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 4, "{backend}: charged once");
        let r = pending(o).await;
        let rejected = ten(o, &op, &r, |o, c, r| Box::pin(async move { o.reject(&c, &r).await })).await;
        assert_eq!(rejected, 1, "{backend}: reject");

        // Domain validation of an order waiting for it.
        let waiting = o.place(&f.op, &req(f.org, &["www.other.test"])).await.unwrap().order;
        assert_eq!(waiting.status, "waiting_dcv");
        let r = waiting.reference.unwrap();
        let validated = ten(o, &f.op, &r, |o, c, r| Box::pin(async move { o.complete_dcv(&c, &r).await })).await;
        assert_eq!(validated, 1, "{backend}: DCV");
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

/// The same `achat` sent again (a client whose answer was lost) returns the
/// first order and charges nothing more, also when both race; a different
/// request under the same client reference orders; past the retry window
/// the same request orders again.
#[tokio::test]
async fn an_identical_retry_returns_the_first_order_and_charges_once() {
    for tdb in TestDb::all().await {
        let f = Fixture::with_settings(&tdb, Formula::Bulk, Settings::default()).await;
        f.orders.credit_tokens(&f.op, "ssl1", 10, "").await.unwrap();
        let o = &f.orders;
        let tokens = || async { o.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap() };
        let request = PlaceOrder { client_ref: Some("cust-42".into()), ..req(f.org, &["www.example.test"]) };

        let first = o.place(&f.op, &request).await.unwrap();
        assert!(!first.replayed);
        let again = o.place(&f.op, &request).await.unwrap();
        assert!(again.replayed && again.order.id == first.order.id, "{}", tdb.backend);
        assert_eq!(tokens().await, 9, "{}: charged once", tdb.backend);

        // Racing twins: one order between them.
        let twin = PlaceOrder { client_ref: Some("cust-43".into()), ..req(f.org, &["www.example.test"]) };
        let outcomes = race(2, || {
            let (o, op, twin) = (o.clone(), f.op.clone(), twin.clone());
            async move { o.place(&op, &twin).await.unwrap() }
        })
        .await;
        assert_eq!(outcomes[0].order.id, outcomes[1].order.id, "{}", tdb.backend);
        assert_eq!(outcomes.iter().filter(|p| p.replayed).count(), 1);
        assert_eq!(tokens().await, 8, "{}: the racing twins paid once", tdb.backend);

        // A different request under a reused reference is a new order.
        let other = PlaceOrder { client_ref: Some("cust-42".into()), ..req(f.org, &["www.example.test"]) };
        let third = o.place(&f.op, &other).await.unwrap();
        assert!(!third.replayed && third.order.id != first.order.id);
        assert_eq!(tokens().await, 7);

        // Once the first order is cancelled, the same request buys again.
        let refund_me = PlaceOrder { client_ref: Some("cust-44".into()), ..req(f.org, &["www.example.test"]) };
        let cancelled = o.place(&f.op, &refund_me).await.unwrap().order;
        o.cancel(&f.op, cancelled.reference.as_deref().unwrap()).await.unwrap();
        let anew = o.place(&f.op, &refund_me).await.unwrap();
        assert!(!anew.replayed && anew.order.id != cancelled.id, "{}: a cancelled order is not replayed", tdb.backend);
        assert_eq!(tokens().await, 6);

        // A day later the same request buys again.
        o.set_clock_offset(DAY + 1);
        let later = o.place(&f.op, &request).await.unwrap();
        assert!(!later.replayed && later.order.id != first.order.id, "{}", tdb.backend);
        assert_eq!(tokens().await, 5);
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}
