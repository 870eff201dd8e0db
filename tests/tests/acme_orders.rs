//! An ACME order and its authorizations are created together (on PostgreSQL
//! in one statement) and come back as they are then read, one by one or
//! together: ids, order of the names, wildcard flags, statuses and tokens.
//! On both backends.

use certgate_tests::{Fixture, TestDb, scalar};
use orders::Formula;
use orders::acme::{AcmeOrderStatus, AuthzStatus, NewAcmeOrderRequest};
use storage::acme_orders::{self, NewAcmeOrder, NewAuthz};

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
        let account = f.acme_account("t").await;
        let names = ["a.other.test".to_string(), "www.example.test".to_string()];
        let new = NewAcmeOrderRequest {
            account_id: account.id,
            names: &names,
            needing_dcv: &names[..1],
            replaces: None,
            ttl_secs: 3600,
        };
        let (order, authzs) = f.orders.create_acme_order(&new).await.unwrap();
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
