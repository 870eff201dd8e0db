//! CAA (RFC 8659) is checked before an order is paid, through both fronts,
//! with pebble-challtestsrv as the DNS server: a name whose CAA allows
//! certgate's CA, one below it (the tree climb), one with no CAA at all,
//! a wildcard allowed by `issuewild` only, a name forbidden, a plain name
//! under an `issuewild`-only policy, a CNAME to a forbidding name, and a
//! name whose DNS answers SERVFAIL. Nothing is written or charged on refusal.

use certgate_acme::{Acme, Settings};
use certgate_tests::{ChallTestSrv, Connections, Fixture, Key, TestDb, acme_account, csr, footprint, serve_router};
use certgate_xmlrpc::{Limits, XmlRpc};
use instant_acme::{Error, Identifier, NewOrder};
use orders::{Formula, OrderError, Rights};

fn policies(srv: &ChallTestSrv) {
    let caa = |host: &str, policies: &str| {
        srv.manage("/add-caa", &format!(r#"{{"host":"{host}.","policies":[{policies}]}}"#));
    };
    caa("allowed.example.test", r#"{"tag":"issue","value":"certgate.test"}"#);
    caa("forbidden.example.test", r#"{"tag":"issue","value":"other-ca.test"}"#);
    caa("wild.example.test", r#"{"tag":"issue","value":"other-ca.test"},{"tag":"issuewild","value":"certgate.test"}"#);
    srv.manage("/set-cname", r#"{"host":"alias.example.test.","target":"forbidden.example.test."}"#);
    srv.manage("/set-servfail", r#"{"host":"broken.example.test."}"#);
}

/// An `achat` of `name` as a legacy client sends it.
fn achat(name: &str) -> String {
    let csr = csr(&[name], Key::P256);
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>achat</methodName><params>\
         <param><value><struct><member><name>identification</name><value><struct>\
         <member><name>utilisateur</name><value><string>hoster</string></value></member>\
         <member><name>motDePasse</name><value><string>a long password</string></value></member>\
         </struct></value></member></struct></value></param>\
         <param><value><struct><member><name>r</name><value><struct>\
         <member><name>produit</name><value><struct><member><name>code</name><value><string>ssl1</string></value></member></struct></value></member>\
         <member><name>requete</name><value><struct><member><name>CSR</name><value><string>{csr}</string></value></member></struct></value></member>\
         </struct></value></member></struct></value></param></params></methodCall>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caa_is_checked_before_any_charge_through_both_fronts() {
    let Some(srv) = ChallTestSrv::start() else { return };
    policies(&srv);
    for tdb in TestDb::all().await {
        let mut settings = orders::Settings { va: srv.va(3), ..Default::default() };
        settings.caa_identities.insert("embedded".into(), vec!["certgate.test".into()]);
        let f = Fixture::with_settings(&tdb, Formula::Bulk, settings).await;
        f.orders.credit_tokens(&f.op, "ssl1", 10, "").await.unwrap();

        for allowed in
            ["allowed.example.test", "deep.sub.allowed.example.test", "nothing.example.test", "*.wild.example.test"]
        {
            let placed = f.orders.place(&f.op, &f.ssl1_for(&[allowed])).await;
            assert!(placed.is_ok(), "{allowed} ({}): {placed:?}", tdb.backend);
        }
        let before = footprint(&f.db).await;
        for forbidden in ["forbidden.example.test", "plain.wild.example.test", "alias.example.test"] {
            let err = f.orders.place(&f.op, &f.ssl1_for(&[forbidden])).await.unwrap_err();
            assert!(matches!(err, OrderError::CaaForbidden(_)), "{forbidden}: {err:?}");
            assert!(err.to_string().contains("certgate.test"), "{err}");
        }
        let err = f.orders.place(&f.op, &f.ssl1_for(&["broken.example.test"])).await.unwrap_err();
        assert!(matches!(err, OrderError::CaaLookup(_)), "SERVFAIL is a refusal: {err:?}");
        // A forbidden name among allowed ones refuses the whole order.
        let mixed = f.ssl1_for(&["allowed.example.test", "forbidden.example.test"]);
        assert!(matches!(f.orders.place(&f.op, &mixed).await, Err(OrderError::CaaForbidden(_))));
        assert_eq!(footprint(&f.db).await, before, "nothing written or charged ({})", tdb.backend);

        // XML-RPC: fault 18 in the bulk answer.
        f.orders.create_user(&f.op, "hoster", "a long password", Rights::all()).await.unwrap();
        let xmlrpc = serve_router(XmlRpc::new(f.orders.clone(), Limits::default(), None).router()).await;
        let port: u16 = xmlrpc.rsplit(':').next().unwrap().parse().unwrap();
        let answer = certgate_tests::binary::http_post(port, "/xmlrpc", &achat("forbidden.example.test")).unwrap();
        assert!(answer.contains("<int>18</int>") && answer.contains("CAA at forbidden.example.test"), "{answer}");

        // Asked before ordering, the same verdicts, and nothing written.
        let names = ["allowed.example.test", "forbidden.example.test", "broken.example.test"];
        let values: String = names.iter().map(|n| format!("<value><string>{n}</string></value>")).collect();
        let check = format!(
            "<?xml version=\"1.0\"?><methodCall><methodName>domain.checkCaa</methodName><params>\
             <param><value><struct><member><name>identification</name><value><struct>\
             <member><name>utilisateur</name><value><string>hoster</string></value></member>\
             <member><name>motDePasse</name><value><string>a long password</string></value></member>\
             </struct></value></member></struct></value></param>\
             <param><value><struct><member><name>produit</name><value><string>ssl1</string></value></member>\
             <member><name>domaines</name><value><array><data>{values}</data></array></value></member>\
             </struct></value></param></params></methodCall>"
        );
        let answer = certgate_tests::binary::http_post(port, "/xmlrpc", &check).unwrap();
        let verdicts: Vec<&str> = ["allowed", "forbidden", "lookup_failed"]
            .into_iter()
            .filter(|v| answer.contains(&format!("<string>{v}</string>")))
            .collect();
        assert_eq!(verdicts, ["allowed", "forbidden", "lookup_failed"], "{answer}");
        let ghost = f.orders.caa_verdicts(&f.op, "ghost1", &["forbidden.example.test".into()]).await.unwrap();
        assert_eq!(ghost[0].1, orders::CaaVerdict::NotChecked, "an upstream without CAA identities");
        assert_eq!(footprint(&f.db).await.orders, before.orders);

        // ACME: the caa problem at new-order.
        let acme = serve_router(Acme::new(f.orders.clone(), Settings::default()).router()).await;
        let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
        let dir = format!("{acme}/acme/{}/directory", creds.path);
        let account = acme_account(&dir, &creds.kid, &creds.hmac_key, Connections::Reused).await.unwrap();
        let ids = [Identifier::Dns("forbidden.example.test".into())];
        match account.new_order(&NewOrder::new(&ids)).await {
            Err(Error::Api(p)) => {
                assert_eq!(p.r#type.as_deref(), Some("urn:ietf:params:acme:error:caa"), "{p:?}");
            }
            other => panic!("expected a caa problem, got {:?}", other.map(|mut o| o.state().status)),
        }
        assert_eq!(footprint(&f.db).await, before, "nothing written or charged ({})", tdb.backend);

        // An order that waited (for DCV) longer than the re-check period is
        // checked again before it is bought: its CAA changed, it fails, refunded.
        let host = format!("late-{}.other.test", tdb.backend);
        srv.manage(
            "/add-caa",
            &format!(r#"{{"host":"{host}.","policies":[{{"tag":"issue","value":"certgate.test"}}]}}"#),
        );
        let waiting = f.orders.place(&f.op, &f.ssl1_for(&[&host])).await.unwrap().order;
        assert_eq!(waiting.status, orders::Status::WaitingDcv);
        srv.manage("/clear-caa", &format!(r#"{{"host":"{host}."}}"#));
        srv.manage(
            "/add-caa",
            &format!(r#"{{"host":"{host}.","policies":[{{"tag":"issue","value":"other-ca.test"}}]}}"#),
        );
        let r = waiting.reference.unwrap();
        f.orders.set_clock_offset(9 * 3600);
        f.orders.complete_dcv(&f.op, &r).await.unwrap();
        orders::Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let failed = f.orders.order(&f.op, &r).await.unwrap();
        assert_eq!(failed.status, orders::Status::Failed, "{:?}", failed.failure);
        assert!(failed.failure.unwrap_or_default().contains("CAA at"), "the CA was not asked");
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}
