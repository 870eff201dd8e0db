//! The domain inventory driven by Python's `xmlrpc.client`, with
//! pebble-challtestsrv as the DNS server: a domain added by the customer
//! waits for its DCV TXT record and spares no order until certgate sees it;
//! once seen, the order that waited goes on and the list shows the domain
//! with its organisation's pre-validation, the orders that use it and its
//! last CAA check; its validation ends; removal brings DCV back. Bad calls
//! and missing rights are faults that write nothing.

use certgate_tests::{ChallTestSrv, Fixture, TestDb, footprint, scalar};
use certgate_xmlrpc::{Limits, XmlRpc};
use orders::{Caller, DomainState, Formula, OrderError, Rights, Status, Worker};

const PRELUDE: &str = r#"
import json, os, xmlrpc.client
ops = xmlrpc.client.ServerProxy(os.environ["URL"] + "/api-operations.php", allow_none=True)
def ident(login):
    return {"identification": {"utilisateur": login, "motDePasse": "a long password"}}
def call(name, args=None, login="hoster"):
    return ops.__getattr__(name)(ident(login), args or {})
org = int(os.environ["ORG"])
out = {}
"#;

const ADD: &str = r#"
out["added"] = call("domain.add", {"organisation": org, "domaine": "Shop.Example.NET."})
out["again"] = call("domain.add", {"organisation": org, "domaine": "shop.example.net"})
out["early"] = fault_of(lambda: call("domain.validate", {"id": out["added"]["id"]}))
out["bad_name"] = fault_of(lambda: call("domain.add", {"organisation": org, "domaine": "a..b"}))
out["bad_org"] = fault_of(lambda: call("domain.add", {"organisation": 999999, "domaine": "x.example.net"}))
out["bad_type"] = fault_of(lambda: call("domain.add", {"organisation": "one", "domaine": "x.example.net"}))
out["unknown"] = fault_of(lambda: call("domain.validate", {"id": 999999}))
out["reader_add"] = fault_of(lambda: call("domain.add", {"organisation": org, "domaine": "x.example.net"}, "reader"))
out["reader_list"] = call("domain.list", {}, "reader")
out["billing_list"] = fault_of(lambda: call("domain.list", {}, "billing"))
out["reader_remove"] = fault_of(lambda: call("domain.remove", {"id": out["added"]["id"]}, "reader"))
print(json.dumps(out))
"#;

const VALIDATE: &str = r#"
id = int(os.environ["ID"])
out["validated"] = call("domain.validate", {"id": id})
out["caa"] = call("domain.checkCaa", {"produit": "ssl1", "domaines": ["shop.example.net"]})
out["list"] = call("domain.list", {"page": 0})
print(json.dumps(out))
"#;

const REMOVE: &str = r#"
id = int(os.environ["ID"])
out["removed"] = call("domain.remove", {"id": id})
out["gone"] = fault_of(lambda: call("domain.validate", {"id": id}))
out["list"] = call("domain.list")
print(json.dumps(out))
"#;

fn run(script: &str, env: &[(&str, String)]) -> serde_json::Value {
    certgate_tests::python_json(&format!("{PRELUDE}{script}"), env)
}

async fn domain_rows(f: &Fixture) -> i64 {
    scalar(&f.db, "SELECT COUNT(*) FROM prevalidated_domains").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_domain_is_validated_by_its_txt_record_and_then_spares_orders_their_dcv() {
    if !certgate_tests::have_tool("python3") {
        return;
    }
    let Some(srv) = ChallTestSrv::start() else { return };
    srv.manage("/add-caa", r#"{"host":"example.net.","policies":[{"tag":"issue","value":"other-ca.test"}]}"#);
    for tdb in TestDb::all().await {
        let mut settings = orders::Settings { va: srv.va(3), ..Default::default() };
        // CAA is checked for the second upstream only, so that the orders of
        // `ssl1` go through while `domain.checkCaa` has a verdict to record.
        settings.caa_identities.insert("embedded".into(), vec![]);
        let f = Fixture::with_settings(&tdb, Formula::Bulk, settings).await;
        f.orders.credit_tokens(&f.op, "ssl1", 10, "").await.unwrap();
        for (login, rights) in [("hoster", "technical,commercial"), ("reader", "commercial"), ("billing", "billing")] {
            f.orders.create_user(&f.op, login, "a long password", Rights::parse(rights).unwrap()).await.unwrap();
        }
        let url = certgate_tests::serve_router(XmlRpc::new(f.orders.clone(), Limits::default(), None).router()).await;
        let env = vec![("URL", url), ("ORG", f.org.to_string())];

        // An order under the domain before it is validated waits for its own DCV.
        let waiting = f.orders.place(&f.op, &f.ssl1_for(&["www.shop.example.net"])).await.unwrap().order;
        assert_eq!(waiting.status, Status::WaitingDcv);
        let reference = waiting.reference.clone().unwrap();

        let rows = domain_rows(&f).await;
        let before = footprint(&f.db).await;
        let (s, e) = (ADD, env.clone());
        let out = tokio::task::spawn_blocking(move || run(s, &e)).await.unwrap();
        let added = &out["added"];
        assert_eq!(added["domaine"], "shop.example.net", "normalised: {added}");
        assert_eq!(added["etat"], "pending", "a customer's domain is never validated by adding it: {added}");
        assert_eq!(added["dcv"]["enregistrementTXT"], "_certgate-dcv.shop.example.net.");
        let token = added["dcv"]["valeur"].as_str().unwrap().to_string();
        assert!(token.len() >= 32, "{token}");
        assert_eq!(out["again"]["id"], added["id"], "adding it again returns it");
        assert_eq!(out["again"]["dcv"]["valeur"], token.as_str(), "with the same token");
        assert_eq!(out["early"][0], 17, "the TXT record is not published yet: {}", out["early"]);
        assert_eq!(out["bad_name"][0], 13, "{}", out["bad_name"]);
        assert_eq!(out["bad_org"][0], 16, "{}", out["bad_org"]);
        assert_eq!(out["bad_type"][0], -32602, "{}", out["bad_type"]);
        assert_eq!(out["unknown"][0], 22, "{}", out["unknown"]);
        assert_eq!(out["reader_add"][0], 3, "commercial alone may not add: {}", out["reader_add"]);
        assert_eq!(out["reader_remove"][0], 3, "{}", out["reader_remove"]);
        assert_eq!(out["billing_list"][0], 3, "{}", out["billing_list"]);
        assert!(out["reader_list"]["total"].as_i64().unwrap() >= 2, "commercial may read: {}", out["reader_list"]);
        assert_eq!(domain_rows(&f).await, rows + 1, "one domain added, no more");
        assert_eq!(footprint(&f.db).await, before, "nothing else written or charged");
        let id = added["id"].as_i64().unwrap();
        // A customer cannot record its domain validated by itself.
        let customer = f.user("technical");
        let err = f.orders.add_domain(&customer, f.org, "other.example.net", true).await.unwrap_err();
        assert!(matches!(err, OrderError::Forbidden(_)), "{err:?}");
        assert_eq!(f.orders.order(&f.op, &reference).await.unwrap().status, Status::WaitingDcv);

        // The customer publishes the token; the domain is validated, and the
        // order that waited goes on to issuance.
        srv.manage("/set-txt", &format!(r#"{{"host":"_certgate-dcv.shop.example.net.","value":"{token}"}}"#));
        let mut env2 = env.clone();
        env2.push(("ID", id.to_string()));
        let e = env2.clone();
        let out = tokio::task::spawn_blocking(move || run(VALIDATE, &e)).await.unwrap();
        let validated = &out["validated"];
        assert_eq!(validated["etat"], "validated", "{validated}");
        assert_eq!(validated["dcv"], serde_json::Value::Null, "nothing more to publish");
        let d = f.orders.domain(&f.op, id).await.unwrap();
        let until = d.validated_at.unwrap() + 200 * 86_400;
        assert_eq!(d.expires_at, Some(until), "200 days");
        assert_eq!(validated["expiration"], orders::iso(until).as_str());
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        assert_eq!(f.orders.order(&f.op, &reference).await.unwrap().status, Status::Delivered);
        let listed = out["list"]["domaines"].as_array().unwrap();
        let shop = listed.iter().find(|d| d["id"] == id).expect("listed");
        assert_eq!(shop["commandes"], serde_json::json!([reference]), "{shop}");
        assert_eq!(shop["nombreCommandes"], 1);
        assert_eq!(shop["preValidations"][0]["validation"], "OV", "its organisation's: {shop}");
        assert_eq!(shop["preValidations"][0]["etat"], "active");
        assert_eq!(out["caa"][0]["resultat"], "not_checked", "{}", out["caa"]);
        assert_eq!(shop["caa"]["resultat"], "not_checked", "the last check is kept: {shop}");
        assert_eq!(shop["caa"]["produit"], "ssl1");
        let fixture_domain = listed.iter().find(|d| d["domaine"] == "*.example.test").expect("the fixture's");
        assert_eq!(fixture_domain["etat"], "validated");
        assert_eq!(fixture_domain["expiration"], serde_json::Value::Null, "recorded by the operator, no end");

        // A new order below it needs no DCV now.
        let spared = f.orders.place(&f.op, &f.ssl1_for(&["api.shop.example.net"])).await.unwrap().order;
        assert_eq!(spared.status, Status::Processing);

        // Its validation ends: orders need DCV again, and adding it again
        // gives it a new token.
        f.orders.set_clock_offset(201 * 86_400);
        let d = f.orders.domain(&f.op, id).await.unwrap();
        assert_eq!(d.state, DomainState::Expired);
        let late = f.orders.place(&f.op, &f.ssl1_for(&["late.shop.example.net"])).await.unwrap().order;
        assert_eq!(late.status, Status::WaitingDcv, "an expired domain spares nothing");
        let again = f.orders.add_domain(&f.user("technical"), f.org, "shop.example.net", false).await.unwrap();
        assert_eq!((again.id, again.state), (id, DomainState::Pending));
        assert_ne!(again.dcv.as_ref().map(|(_, t)| t.as_str()), Some(token.as_str()), "a new token");
        f.orders.set_clock_offset(0);

        // Removed: it is gone from the list, and a removed id is unknown.
        let e = env2.clone();
        let out = tokio::task::spawn_blocking(move || run(REMOVE, &e)).await.unwrap();
        assert_eq!(out["removed"]["messageReponse"], "OK");
        assert_eq!(out["gone"][0], 22, "{}", out["gone"]);
        assert!(!out["list"]["domaines"].as_array().unwrap().iter().any(|d| d["id"] == id));
        let audit: Vec<String> = {
            let mut c = f.db.acquire().await.unwrap();
            storage::audit::list(&mut c, Some(f.account), 100).await.unwrap().into_iter().map(|a| a.action).collect()
        };
        for action in ["domain.add", "domain.validate", "domain.remove"] {
            assert!(audit.iter().any(|a| a == action), "{action} audited: {audit:?}");
        }
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_holds_at_most_its_limit_of_domains() {
    for tdb in TestDb::all().await {
        let settings = orders::Settings { max_domains: 2, ..Default::default() };
        let f = Fixture::with_settings(&tdb, Formula::Bulk, settings).await;
        let caller: Caller = f.user("technical");
        // The fixture's organisation holds one already.
        f.orders.add_domain(&caller, f.org, "one.example.net", false).await.unwrap();
        let rows = domain_rows(&f).await;
        let err = f.orders.add_domain(&caller, f.org, "two.example.net", false).await.unwrap_err();
        assert!(matches!(err, OrderError::TooManyDomains(2)), "{err:?}");
        assert_eq!(domain_rows(&f).await, rows, "nothing written");
        // Adding one it holds is not adding.
        assert!(f.orders.add_domain(&caller, f.org, "one.example.net", false).await.is_ok());
        tdb.cleanup().await;
    }
}
