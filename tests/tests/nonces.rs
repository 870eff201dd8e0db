//! A request signed by an ACME account reads its signer and marks its nonce
//! used together (on PostgreSQL in one statement): the first use is fresh, a
//! replay is not, and a nonce sent with an unknown account is used up all the
//! same. On both backends.

use certgate_tests::{Fixture, TestDb, scalar};
use orders::Formula;
use storage::{acme_accounts, acme_nonces};

#[tokio::test]
async fn a_signer_is_read_with_its_nonce_marked_used() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let account = f.acme_account("thumb").await;
        let db = f.orders.db();
        let mut c = db.acquire_writer().await.unwrap();

        let first = acme_accounts::signer_redeeming(&mut c, account.id, "n1", i64::MAX).await.unwrap().unwrap();
        assert_eq!((first.account.id, first.url_revoked, first.nonce_fresh), (account.id, false, true), "{b}");
        let replay = acme_accounts::signer_redeeming(&mut c, account.id, "n1", i64::MAX).await.unwrap().unwrap();
        assert!(!replay.nonce_fresh, "{b}: a replay is refused");

        let unknown = acme_accounts::signer_redeeming(&mut c, account.id + 1000, "n2", i64::MAX).await.unwrap();
        assert!(unknown.is_none(), "{b}: no such account");
        assert!(!acme_nonces::redeem(&mut c, "n2", i64::MAX).await.unwrap(), "{b}: n2 was used up");
        drop(c);
        assert_eq!(scalar(db, "SELECT COUNT(*) FROM acme_used_nonces").await, 2, "{b}");

        f.orders.revoke_acme_url(&f.op, account.acme_url_id).await.unwrap();
        let mut c = db.acquire_writer().await.unwrap();
        let revoked = acme_accounts::signer_redeeming(&mut c, account.id, "n3", i64::MAX).await.unwrap().unwrap();
        assert!(revoked.url_revoked && revoked.nonce_fresh, "{b}: the URL's revocation is read");
        drop(c);
        tdb.cleanup().await;
    }
}
