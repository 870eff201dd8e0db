//! Users and lockout, ACME URL credentials, price imports and statements.

use certgate_tests::{Fixture, Key, TestDb, csr, footprint};
use orders::{Formula, Ledger, OrderError, Rights, Source};

#[tokio::test]
async fn five_failed_logins_lock_a_user_until_an_operator_unlocks_it() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "api", "correct horse", Rights::parse("technical").unwrap()).await.unwrap();
        let caller = f.orders.authenticate("api", "correct horse", "192.0.2.1", Source::Xmlrpc).await.unwrap();
        assert!(caller.rights.has(orders::Right::Technical) && !caller.rights.has(orders::Right::Billing));
        let unknown = f.orders.authenticate("nobody", "x", "192.0.2.1", Source::Xmlrpc).await.unwrap_err();
        let wrong = f.orders.authenticate("api", "wrong", "192.0.2.1", Source::Xmlrpc).await.unwrap_err();
        assert_eq!(unknown.to_string(), wrong.to_string(), "unknown user and wrong password look the same");
        // A good login resets the count: 4 more failures do not lock.
        f.orders.authenticate("api", "correct horse", "192.0.2.1", Source::Xmlrpc).await.unwrap();
        for _ in 0..4 {
            assert!(matches!(
                f.orders.authenticate("api", "bad", "ip", Source::Xmlrpc).await,
                Err(OrderError::BadCredentials)
            ));
        }
        f.orders.authenticate("api", "correct horse", "192.0.2.1", Source::Xmlrpc).await.unwrap();
        for _ in 0..5 {
            assert!(matches!(
                f.orders.authenticate("api", "bad", "ip", Source::Xmlrpc).await,
                Err(OrderError::BadCredentials)
            ));
        }
        let locked = f.orders.authenticate("api", "correct horse", "192.0.2.1", Source::Xmlrpc).await.unwrap_err();
        assert!(matches!(locked, OrderError::Locked(_)), "{locked:?}");
        f.orders.unlock_user("api").await.unwrap();
        f.orders.authenticate("api", "correct horse", "192.0.2.1", Source::Xmlrpc).await.unwrap();
        let audit = storage::audit::list(&mut f.db.acquire().await.unwrap(), None, 100).await.unwrap();
        assert!(audit.iter().any(|a| a.action == "login.failed" && a.ip == "ip" && a.source == "xmlrpc"));
        assert!(audit.iter().any(|a| a.action == "user.unlock"));
        assert!(audit.iter().all(|a| !a.detail.contains("correct horse")), "no password in the audit log");
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn acme_url_credentials_are_shown_once_then_masked_and_revocable() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let c = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
        assert_eq!(c.hmac_key.len(), 43, "32 bytes, base64url without padding");
        assert!(!c.hmac_key.starts_with('-') && !c.hmac_key.contains('='));
        let listed = f.orders.acme_urls(&f.op).await.unwrap();
        assert_eq!(listed.len(), 1);
        let u = &listed[0];
        assert_eq!(u.hmac_masked, format!("*****{}", &c.hmac_key[c.hmac_key.len() - 4..]));
        assert_eq!(u.kid_masked, format!("*****{}", &c.kid[c.kid.len() - 4..]));
        assert_eq!(u.path, c.path);
        let stored = storage::acme_urls::get(&mut f.db.acquire().await.unwrap(), c.id).await.unwrap().unwrap();
        assert!(!stored.hmac_sealed.contains(&c.hmac_key), "the HMAC key is sealed at rest");
        let key = f.orders.acme_url_hmac_key(c.id).await.unwrap();
        assert_eq!(key.len(), 32);

        let before = footprint(&f.db).await;
        assert!(matches!(
            f.orders.create_acme_url(&f.op, "x", "nope", f.org).await,
            Err(OrderError::UnknownProduct(_))
        ));
        assert!(matches!(
            f.orders.create_acme_url(&f.user("technical"), "x", "ssl1", f.org).await,
            Err(OrderError::Forbidden(orders::Right::Administrative))
        ));
        assert_eq!(footprint(&f.db).await, before);

        f.orders.revoke_acme_url(&f.op, c.id).await.unwrap();
        assert!(f.orders.acme_urls(&f.op).await.unwrap()[0].revoked);
        assert!(matches!(f.orders.revoke_acme_url(&f.op, c.id).await, Err(OrderError::UnknownAcmeUrl(_))));
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn negotiated_prices_fall_back_to_retail_and_imports_are_all_or_nothing() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Deposit).await;
        assert_eq!(f.orders.price_of("ssl1", f.account, "EUR").await.unwrap(), Some(100_00));
        let negotiated = "Code;New order and renewal;Additional SAN\nssl1;85,50;15\n";
        let r = f.orders.import_prices(&f.op, negotiated, Some(f.account)).await.unwrap();
        assert_eq!((r.products, r.prices), (0, 3), "ssl1, its SAN code and its renewal code");
        assert_eq!(f.orders.price_of("ssl1", f.account, "EUR").await.unwrap(), Some(85_50));
        assert_eq!(f.orders.price_of("sanssl1", f.account, "EUR").await.unwrap(), Some(15_00));
        assert_eq!(f.orders.price_of("dv1", f.account, "EUR").await.unwrap(), Some(10_00), "retail fallback");
        let other = f.orders.create_account("Other", Formula::Deposit, "EUR", false, 0).await.unwrap();
        assert_eq!(f.orders.price_of("ssl1", other, "EUR").await.unwrap(), Some(100_00));

        let bad = "Code,New order and renewal\nssl1,1.00\nnope,2.00\n";
        let err = f.orders.import_prices(&f.op, bad, Some(f.account)).await.unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert_eq!(f.orders.price_of("ssl1", f.account, "EUR").await.unwrap(), Some(85_50), "nothing applied");
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn statements_show_balances_movements_and_csv() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 3, "invoice 42").await.unwrap();
        assert!(matches!(f.orders.credit_tokens(&f.op, "nope", 3, "").await, Err(OrderError::UnknownProduct(_))));
        assert!(matches!(f.orders.credit_tokens(&f.op, "ssl1", 0, "").await, Err(OrderError::Invalid(_))));
        let req = f.ssl1_order(csr(&["www.example.test"], Key::P256));
        let o = f.orders.place(&f.op, &req).await.unwrap().order;
        let balances = f.orders.token_balances(&f.op).await.unwrap();
        assert_eq!(balances.len(), 1);
        assert_eq!(
            (balances[0].item.as_str(), balances[0].name.as_str(), balances[0].balance),
            ("ssl1", "SSL OV 1 year", 2)
        );
        let lines = f.orders.statement(&f.op, Ledger::Tokens, 0, i64::MAX).await.unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[1].amount, lines[1].balance), (-1, 2));
        assert_eq!(lines[1].reference, o.reference);
        assert_eq!(lines[1].cn.as_deref(), Some("www.example.test"));
        let csv = orders::statement_csv(&lines);
        assert!(csv.starts_with("date,reference,cn,reason,item,amount,balance\n"), "{csv}");
        assert!(csv.contains(&format!(",{},www.example.test,order,ssl1,-1,2", o.reference.unwrap())), "{csv}");
        assert!(orders::balances_csv(&balances).contains("ssl1,SSL OV 1 year,"));
        // A window that ends before the movements shows none.
        assert!(f.orders.statement(&f.op, Ledger::Tokens, 0, 1).await.unwrap().is_empty());
        // Statements need the billing right.
        assert!(matches!(f.orders.token_balances(&f.user("technical")).await, Err(OrderError::Forbidden(_))));
        tdb.cleanup().await;
    }
}
