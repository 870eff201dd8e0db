//! `storage::signed_orders`: an order signed at once is recorded with its
//! job, certificate and audit entries, or not at all.

use certgate_tests::{Fixture, TestDb, footprint, scalar};
use orders::Formula;
use storage::audit::Actor;
use storage::certificates::NewCertificate;
use storage::orders::NewOrder;
use storage::signed_orders::{self, SignedOrder};

#[tokio::test]
async fn a_signed_order_whose_idempotency_key_was_used_writes_nothing() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let db = &f.db;
        let counts = async || (footprint(db).await, scalar(db, "SELECT COUNT(*) FROM audit_log").await);
        let actor = Actor {
            account_id: Some(f.account),
            name: "t".into(),
            ip: "local".into(),
            source: "cli".into(),
            // The front's call is recorded last, in the same statement.
            call: Some("xmlrpc.achat".into()),
        };
        let mut recorded = Vec::new();
        for attempt in 0..2 {
            let before = counts().await;
            let (mut tx, id) = storage::orders::begin_with_next_id(db).await.unwrap();
            let order = NewOrder {
                account_id: f.account,
                organisation_id: f.org,
                product_code: "ssl1",
                kind: "new",
                renewal_of: None,
                cn: "www.example.test",
                sans: "",
                csr_pem: "CSR",
                source: "cli",
                client_ref: None,
                idempotency_key: Some("signed-once"),
                created_by: "t",
                payment: "tokens",
                price: 0,
                currency: "EUR",
                status: "delivered",
                upstream: "embedded",
                reference_prefix: "",
                id: Some(id),
                upstream_ref: Some("01"),
            };
            let certificate = NewCertificate {
                order_id: id,
                serial: "01",
                cn: "www.example.test",
                leaf_pem: "LEAF",
                chain_pem: "CHAIN",
                not_before: 1,
                not_after: 2,
            };
            let detail = format!("{id} attempt {attempt}");
            let audit = [("order.place", detail.as_str()), ("order.deliver", detail.as_str())];
            let signed = SignedOrder { order: &order, certificate: &certificate, actor: &actor, audit: &audit };
            let inserted = signed_orders::insert(&mut tx, &signed, f.orders.now()).await.unwrap();
            storage::commit(tx).await.unwrap();
            let after = counts().await;
            match inserted {
                Some((row, certificate_id)) => {
                    assert_eq!(attempt, 0, "{b}: the key was used");
                    assert_eq!((row.id, row.status.as_str()), (id, "delivered"), "{b}");
                    let ((was, audited), (now, audited_now)) = (&before, &after);
                    assert_eq!(
                        (now.orders, now.jobs, now.certificates, *audited_now),
                        (was.orders + 1, was.jobs + 1, was.certificates + 1, audited + 3),
                        "{b}"
                    );
                    recorded.push(certificate_id);
                }
                None => {
                    assert_eq!(attempt, 1, "{b}: the first is recorded");
                    assert_eq!(after, before, "{b}: no job, certificate or audit entry without its order");
                }
            }
        }
        let mut c = db.acquire().await.unwrap();
        let jobs: Vec<(i64, String)> = storage::sql::query_as(
            "SELECT c.id, j.state FROM certificates c JOIN jobs j ON j.id = c.job_id ORDER BY c.id",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert_eq!(jobs, [(recorded[0], "done".to_string())], "{b}: the certificate's job is done");
        let actions: Vec<String> =
            storage::audit::list(&mut c, Some(f.account), 3).await.unwrap().into_iter().map(|a| a.action).collect();
        assert_eq!(actions, ["xmlrpc.achat", "order.deliver", "order.place"], "{b}: newest first, in the order given");
        drop(c);
        tdb.cleanup().await;
    }
}
