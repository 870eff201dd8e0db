//! The pre-validations and domains page over HTTP, on SQLite and
//! PostgreSQL: the fixture's pre-validation and validated domain, a pending
//! domain with the TXT record it waits for, and the rights it needs.

use certgate_tests::portal::{send, sign_in};
use certgate_tests::{Fixture, TestDb, serve_router};
use orders::{Formula, Rights};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_validations_and_domains_are_shown_read_only() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let pending = f.orders.add_domain(&f.op, f.org, "shop.test", false).await.unwrap();
        let (txt, token) = pending.dcv.clone().expect("a pending domain's TXT record");
        f.orders.create_user(&f.op, "tech", "a long password", Rights::parse("technical").unwrap()).await.unwrap();
        f.orders.create_user(&f.op, "money", "a long password", Rights::parse("billing").unwrap()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let tech = sign_in(&base, "tech", "a long password").await.cookie("certgate_session").unwrap().0;

        let page = send(&base, "GET", "/portal/domains", &[("certgate_session", &tech)], None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let pre = page.body.split("id=\"prevalidations-table\"").nth(1).unwrap();
        assert!(pre.contains("<td>Brand</td><td>OV</td><td>active</td>"), "{pre}");
        let domains = page.body.split("id=\"domains-table\"").nth(1).unwrap();
        assert!(domains.contains("<td>*.example.test</td><td>1</td><td>validated</td>"), "{domains}");
        assert!(domains.contains("<td>shop.test</td>") && domains.contains(&txt) && domains.contains(&token));
        assert!(!page.body.contains("<form method=\"post\" action=\"/portal/domains"), "read only");

        let money = sign_in(&base, "money", "a long password").await.cookie("certgate_session").unwrap().0;
        let refused = send(&base, "GET", "/portal/domains", &[("certgate_session", &money)], None).await;
        assert_eq!(refused.status, 403);
        tdb.cleanup().await;
    }
}
