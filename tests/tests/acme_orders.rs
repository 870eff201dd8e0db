//! An ACME order and its authorizations are created together (on PostgreSQL
//! in one statement) and come back as they are then read, one by one or
//! together: ids, order of the names, wildcard flags, statuses and tokens.
//! On both backends.

use certgate_tests::{Fixture, Key, TestDb, csr, footprint, scalar};
use orders::acme::{AcmeAuthz, AcmeOrder, AcmeOrderStatus, AuthzStatus, ChallengeStatus, NewAcmeOrderRequest};
use orders::{Formula, OrderError};
use storage::acme_orders::{self, NewAcmeOrder, NewAuthz};

/// A new ACME order of `names` by a new ACME account of `f`, the first
/// `needing_dcv` of them waiting for a challenge, the others pre-validated.
async fn acme_order(
    f: &Fixture,
    names: &[&str],
    needing_dcv: usize,
    replaces: Option<i64>,
    ttl_secs: i64,
) -> (AcmeOrder, Vec<AcmeAuthz>) {
    let account = f.acme_account("t").await;
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let new = NewAcmeOrderRequest {
        account_id: account.id,
        names: &names,
        needing_dcv: &names[..needing_dcv],
        replaces,
        ttl_secs,
    };
    f.orders.create_acme_order(&new).await.unwrap()
}

#[tokio::test]
async fn an_order_and_its_authorizations_are_created_as_they_are_read() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let account = f.acme_account("t").await;
        let db = &f.db;
        let authzs =
            [("www.example.test", false, "valid"), ("example.test", true, "pending"), ("a.test", false, "pending")]
                .map(|(identifier, wildcard, status)| NewAuthz {
                    identifier: identifier.into(),
                    wildcard,
                    status,
                    token: format!("token-{identifier}"),
                });
        let names = "www.example.test\n*.example.test\na.test";
        let new = NewAcmeOrder {
            account_id: account.id,
            identifiers: names,
            status: "pending",
            expires_at: 4_000_000_000,
            replaces: None,
            authzs: &authzs,
        };
        let (order, created) = acme_orders::create(db, &new, f.orders.now()).await.unwrap();
        assert_eq!(
            (order.account_id, order.identifiers.as_str(), order.status.as_str()),
            (account.id, names, "pending")
        );
        let mut c = db.acquire().await.unwrap();
        let read = acme_orders::get(&mut c, order.id).await.unwrap().unwrap();
        assert_eq!(format!("{read:?}"), format!("{order:?}"), "{b}");
        let read = acme_orders::authzs(&mut c, order.id).await.unwrap();
        assert_eq!(format!("{read:?}"), format!("{created:?}"), "{b}");
        let summary: Vec<_> = created.iter().map(|a| (a.identifier.as_str(), a.wildcard, a.status.as_str())).collect();
        assert_eq!(
            summary,
            [("www.example.test", false, "valid"), ("example.test", true, "pending"), ("a.test", false, "pending")]
        );
        assert!(created[0].validated_at.is_some() && created[1].validated_at.is_none(), "{b}");
        assert!(created.iter().all(|a| a.acme_order_id == order.id && a.expires_at == 4_000_000_000), "{b}");
        // Read back together, in one statement.
        let both = acme_orders::with_authzs(&mut c, order.id).await.unwrap();
        assert_eq!(format!("{both:?}"), format!("{:?}", Some((&order, &created))), "{b}");
        assert!(acme_orders::with_authzs(&mut c, order.id + 1000).await.unwrap().is_none(), "{b}");
        drop(c);

        // An authorization that cannot be written (its status breaks the
        // table's check) leaves no order behind.
        let mut bad = authzs.clone();
        bad[2].status = "bogus";
        let before = scalar(db, "SELECT COUNT(*) FROM acme_orders").await;
        let refused =
            acme_orders::create(db, &NewAcmeOrder { expires_at: 1, authzs: &bad, ..new }, f.orders.now()).await;
        assert!(refused.is_err(), "{b}");
        assert_eq!(scalar(db, "SELECT COUNT(*) FROM acme_orders").await, before, "{b}: all or nothing");
        tdb.cleanup().await;
    }
}

/// Deactivating an authorization (RFC 8555 §7.5.2) is an operation of the
/// order core: the pending order that holds it becomes invalid with it, in
/// one transaction with its audit entry; a second deactivation changes
/// nothing. A ready or pending order's state is read without being written.
#[tokio::test]
async fn a_deactivated_authorization_invalidates_its_pending_order_once() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let (order, authzs) = acme_order(&f, &["a.other.test", "www.example.test"], 1, None, 3600).await;
        assert_eq!(
            authzs.iter().map(|a| a.status).collect::<Vec<_>>(),
            [AuthzStatus::Pending, AuthzStatus::Valid],
            "{b}: the pre-validated name needs no challenge"
        );
        let state = f.orders.acme_order_state(&f.op, &order, &authzs).await.unwrap();
        assert_eq!(state.status, AcmeOrderStatus::Pending, "{b}: one authorization still pending");

        let audits = "SELECT COUNT(*) FROM audit_log WHERE action = 'acme.authz.deactivate'";
        assert!(f.orders.deactivate_acme_authz(&f.op, &authzs[0]).await.unwrap(), "{b}");
        assert!(!f.orders.deactivate_acme_authz(&f.op, &authzs[0]).await.unwrap(), "{b}: already deactivated");
        assert_eq!(scalar(&f.db, audits).await, 1, "{b}: audited once");
        let (order, authzs) = f.orders.acme_order(order.id).await.unwrap().unwrap();
        assert_eq!(authzs[0].status, AuthzStatus::Deactivated, "{b}");
        assert_eq!(order.status, AcmeOrderStatus::Invalid, "{b}: the order is invalid with its authorization");
        assert!(order.error.as_deref().unwrap_or("").contains("a.other.test"), "{b}: {:?}", order.error);
        tdb.cleanup().await;
    }
}

/// A ready order whose authorization is deactivated is invalid, and a
/// finalize of it is refused with nothing placed or charged, even by a
/// caller that saw it ready before (the link is conditional).
#[tokio::test]
async fn a_ready_order_with_a_deactivated_authorization_cannot_be_finalized() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let (order, authzs) = acme_order(&f, &["www.example.test"], 0, None, 3600).await;
        assert_eq!(order.status, AcmeOrderStatus::Ready, "{b}: pre-validated");
        assert!(f.orders.deactivate_acme_authz(&f.op, &authzs[0]).await.unwrap(), "{b}");
        let (order, authzs) = f.orders.acme_order(order.id).await.unwrap().unwrap();
        assert_eq!(order.status, AcmeOrderStatus::Invalid, "{b}: stored invalid");
        let state = f.orders.acme_order_state(&f.op, &order, &authzs).await.unwrap();
        assert_eq!(state.status, AcmeOrderStatus::Invalid, "{b}: and read invalid");
        let before = footprint(&f.db).await;
        let req = f.ssl1_order(csr(&["www.example.test"], Key::P256));
        let refused = f.orders.finalize_acme_order(&f.op, order.id, &req).await;
        assert!(matches!(refused, Err(OrderError::WrongState { .. })), "{b}: {refused:?}");
        assert_eq!(footprint(&f.db).await, before, "{b}: nothing placed or charged");
        tdb.cleanup().await;
    }
}

/// A validation job that fails for good (here: its account's table is away,
/// so every attempt errs) does not leave its challenge `processing` for
/// ever: the challenge and its authorization become invalid, and so does
/// the pending order.
#[tokio::test]
async fn a_validation_that_fails_for_good_ends_its_challenge_invalid() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let settings = orders::Settings { job_max_attempts: 1, ..Default::default() };
        let f = Fixture::with_settings(&tdb, Formula::Bulk, settings).await;
        let (order, authzs) = acme_order(&f, &["a.other.test"], 1, None, 3600).await;
        // The challenge answered, its job queued for any worker.
        let mut tx = f.db.begin().await.unwrap();
        assert!(storage::acme_orders::start_challenge(&mut tx, authzs[0].id, "http-01").await.unwrap());
        storage::jobs::enqueue_validation(&mut tx, authzs[0].id, None, 15, f.orders.now()).await.unwrap();
        storage::commit(tx).await.unwrap();

        certgate_tests::execute(&f.db, "ALTER TABLE acme_accounts RENAME TO acme_accounts_away").await;
        assert!(orders::Worker::new(f.orders.clone(), "w").run_once().await.unwrap(), "{b}: the job ran");
        certgate_tests::execute(&f.db, "ALTER TABLE acme_accounts_away RENAME TO acme_accounts").await;

        let (order, authzs) = f.orders.acme_order(order.id).await.unwrap().unwrap();
        assert_eq!(
            (authzs[0].status, authzs[0].challenge_status),
            (AuthzStatus::Invalid, ChallengeStatus::Invalid),
            "{b}"
        );
        assert!(
            authzs[0].error.as_deref().unwrap_or("").contains("could not be checked"),
            "{b}: {:?}",
            authzs[0].error
        );
        assert_eq!(order.status, AcmeOrderStatus::Invalid, "{b}");
        let state = scalar(&f.db, "SELECT COUNT(*) FROM jobs WHERE kind = 'validate' AND state = 'failed'").await;
        assert_eq!(state, 1, "{b}: the job failed for good");
        tdb.cleanup().await;
    }
}

/// An ACME order not finalized before it expires is invalid (RFC 8555
/// §7.1.6): its state says so, finalize is refused with nothing charged,
/// and it no longer holds the certificate it meant to replace.
#[tokio::test]
async fn an_order_not_finalized_in_time_expires() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
        let req = f.ssl1_order(csr(&["www.example.test"], Key::P256));
        let cert = f.orders.place_and_issue(&f.op, &req).await.unwrap().certificate_id.expect("signed at once");
        let (order, authzs) = acme_order(&f, &["www.example.test"], 0, Some(cert), 60).await;
        assert!(f.orders.acme_order_replacing(cert).await.unwrap().is_some(), "{b}: it replaces the certificate");
        f.orders.set_clock_offset(61);
        let state = f.orders.acme_order_state(&f.op, &order, &authzs).await.unwrap();
        assert_eq!(state.status, AcmeOrderStatus::Invalid, "{b}");
        assert!(state.error.as_deref().unwrap_or("").contains("expired"), "{b}: {:?}", state.error);
        assert!(f.orders.acme_order_replacing(cert).await.unwrap().is_none(), "{b}: no longer in the way");
        let before = footprint(&f.db).await;
        let next = orders::PlaceOrder { client_ref: Some("late".into()), ..req };
        let refused = f.orders.finalize_acme_order(&f.op, order.id, &next).await;
        assert!(matches!(refused, Err(OrderError::WrongState { .. })), "{b}: {refused:?}");
        assert_eq!(footprint(&f.db).await, before, "{b}: nothing placed or charged");
        f.orders.set_clock_offset(0);
        tdb.cleanup().await;
    }
}
