//! A request signed by an ACME account reads its signer, marks its nonce
//! used and reads the resource its URL names together (on PostgreSQL in one
//! statement): the first use is fresh, a replay is not, a nonce sent with an
//! unknown account is used up all the same, and a resource is read only for
//! the account that owns it. On both backends.

use certgate_tests::{Fixture, TestDb, scalar};
use orders::Formula;
use storage::acme_orders::{self, NewAcmeOrder, NewAuthz};
use storage::acme_requests::{self, Names, Owned};
use storage::{Conn, acme_nonces};

async fn read(c: &mut Conn, account: i64, nonce: Option<&str>, names: Names) -> Option<acme_requests::Signer> {
    acme_requests::read(c, account, nonce.map(|n| (n, i64::MAX)), names).await.unwrap()
}

#[tokio::test]
async fn a_signer_is_read_with_its_nonce_marked_used() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let account = f.acme_account("thumb").await;
        let db = &f.db;
        let mut c = db.acquire_writer().await.unwrap();

        let first = read(&mut c, account.id, Some("n1"), Names::Nothing).await.unwrap();
        assert_eq!((first.account.id, first.url_revoked, first.nonce_fresh), (account.id, false, true), "{b}");
        assert_eq!(first.account.jwk, account.jwk, "{b}: the account's every column is read");
        assert!(matches!(first.owned, Owned::Nothing), "{b}");
        let replay = read(&mut c, account.id, Some("n1"), Names::Nothing).await.unwrap();
        assert!(!replay.nonce_fresh, "{b}: a replay is refused");
        let unmarked = read(&mut c, account.id, None, Names::Nothing).await.unwrap();
        assert!(unmarked.nonce_fresh, "{b}: without a nonce to mark, nothing is refused");

        assert!(read(&mut c, account.id + 1000, Some("n2"), Names::Nothing).await.is_none(), "{b}: no such account");
        assert!(!acme_nonces::redeem(&mut c, "n2", i64::MAX).await.unwrap(), "{b}: n2 was used up");
        drop(c);
        assert_eq!(scalar(db, "SELECT COUNT(*) FROM acme_used_nonces").await, 2, "{b}");

        f.orders.revoke_acme_url(&f.op, account.acme_url_id).await.unwrap();
        let mut c = db.acquire_writer().await.unwrap();
        let revoked = read(&mut c, account.id, Some("n3"), Names::Nothing).await.unwrap();
        assert!(revoked.url_revoked && revoked.nonce_fresh, "{b}: the URL's revocation is read");
        drop(c);
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn a_signer_reads_the_authorization_or_order_it_owns_and_no_other() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let (owner, other) = (f.acme_account("owner").await, f.acme_account("other").await);
        let db = &f.db;
        let authzs = ["a.example.test", "b.example.test"].map(|name| NewAuthz {
            identifier: name.into(),
            wildcard: false,
            status: "pending",
            token: format!("token-{name}"),
        });
        let new = NewAcmeOrder {
            account_id: owner.id,
            identifiers: "a.example.test\nb.example.test",
            status: "pending",
            expires_at: i64::MAX,
            replaces: None,
            authzs: &authzs,
        };
        let (order, created) = acme_orders::create(db, &new, f.orders.now()).await.unwrap();
        let missing = created[1].id + 1000;
        let mut c = db.acquire_writer().await.unwrap();

        for (i, nonce) in [None, Some("n1")].into_iter().enumerate() {
            let got = read(&mut c, owner.id, nonce, Names::Authz(created[1].id)).await.unwrap();
            let Owned::Authz(Some(a)) = got.owned else { panic!("{b} {i}: the owner reads its authorization") };
            assert_eq!((a.id, a.acme_order_id, a.identifier.as_str()), (created[1].id, order.id, "b.example.test"));
            assert_eq!(
                (a.token, a.status, a.challenge_status),
                (created[1].token.clone(), "pending".into(), "pending".into())
            );
            assert_eq!(got.account.id, owner.id, "{b} {i}");
            assert!(got.nonce_fresh, "{b} {i}");

            let nonce2 = nonce.map(|_| "n2");
            let got = read(&mut c, other.id, nonce2, Names::Authz(created[1].id)).await.unwrap();
            assert!(matches!(got.owned, Owned::Authz(None)), "{b} {i}: another account's authorization is not read");
            assert_eq!(got.account.id, other.id, "{b} {i}: its signer is");
            let got = read(&mut c, owner.id, nonce.map(|_| "n3"), Names::Authz(missing)).await.unwrap();
            assert!(matches!(got.owned, Owned::Authz(None)), "{b} {i}: no such authorization");

            let got = read(&mut c, owner.id, nonce.map(|_| "n4"), Names::Order(order.id)).await.unwrap();
            let Owned::Order(Some((o, zs))) = got.owned else { panic!("{b} {i}: the owner reads its order") };
            let (expected, expected_authzs) = acme_orders::with_authzs(&mut c, order.id).await.unwrap().unwrap();
            assert_eq!(
                (o.id, o.account_id, &o.identifiers, &o.status),
                (order.id, owner.id, &expected.identifiers, &expected.status)
            );
            let ids =
                |zs: &[acme_orders::AcmeAuthzRow]| zs.iter().map(|z| (z.id, z.identifier.clone())).collect::<Vec<_>>();
            assert_eq!(ids(&zs), ids(&expected_authzs), "{b} {i}: every authorization, in identifier order");
            assert_eq!(ids(&zs), ids(&created), "{b} {i}");

            let got = read(&mut c, other.id, nonce.map(|_| "n5"), Names::Order(order.id)).await.unwrap();
            assert!(matches!(got.owned, Owned::Order(None)), "{b} {i}: another account's order is not read");
            assert!(read(&mut c, owner.id + 1000, nonce.map(|_| "n6"), Names::Order(order.id)).await.is_none());
        }
        // A replay naming a resource is refused as any other (the resource is
        // read all the same; the ACME front answers badNonce before using it).
        for names in [Names::Authz(created[0].id), Names::Authz(missing), Names::Order(order.id)] {
            let replay = read(&mut c, owner.id, Some("n1"), names).await.unwrap();
            assert!(!replay.nonce_fresh, "{b}: {names:?} with a used nonce");
        }
        drop(c);
        assert_eq!(scalar(db, "SELECT COUNT(*) FROM acme_used_nonces").await, 6, "{b}: every nonce was marked used");
        tdb.cleanup().await;
    }
}
