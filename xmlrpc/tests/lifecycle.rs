//! The lifecycle methods driven by Python's `xmlrpc.client`: an `achat` that
//! waits for funds (listed in `enSommeil`, paid by a credit), switching
//! automatic renewal on with `cert.autoRenew.set` and reading its date with
//! `cert.autoRenew.list`, and `account.renewalForecast` as lines and CSV;
//! with the faults of bad calls, which write nothing.

use certgate_tests::{Fixture, Key, TestDb, csr, footprint};
use certgate_xmlrpc::{Limits, XmlRpc};
use orders::{Formula, Rights, Worker};
use tokio::sync::watch;

const PRELUDE: &str = r#"
import json, os, time, xmlrpc.client
url = os.environ["URL"]
ops = xmlrpc.client.ServerProxy(url + "/api-operations.php", allow_none=True)
infos = xmlrpc.client.ServerProxy(url + "/api-infos.php", allow_none=True)
ident = {"identification": {"utilisateur": "hoster", "motDePasse": "a long password"}}
out = {}
def req(csr, main, wait):
    return {"produit": {"code": "ssl", "dureeVie": 1}, "requete": {"CSR": csr, "domainePrincipal": main},
            "divers": {"refClient": main, "attenteFonds": wait}}
"#;

const ORDER: &str = r#"
out["refused"] = ops.achat(ident, {"a": req(os.environ["CSR_A"], "a.example.test", False)})["a"]
out["waiting"] = ops.achat(ident, {"a": req(os.environ["CSR_A"], "a.example.test", True)})["a"]
out["asleep"] = [o["refTBS"] for o in infos.enSommeil(ident)]
print(json.dumps(out))
"#;

const RENEWALS: &str = r#"
ref = os.environ["REF"]
for _ in range(100):
    s = infos.statut(ident, {"a": {"refTBS": ref}})["a"]
    if s["statut"] == "delivered":
        break
    time.sleep(0.1)
out["statut"] = s
out["manual"] = ops.__getattr__("cert.autoRenew.list")(ident)
out["bad_type"] = fault_of(lambda: ops.__getattr__("cert.autoRenew.set")(ident, {"references": [ref], "actif": "yes"}))
out["unknown"] = fault_of(lambda: ops.__getattr__("cert.autoRenew.set")(ident, {"references": [ref, "404"], "actif": True}))
out["after_faults"] = ops.__getattr__("cert.autoRenew.list")(ident)
out["on"] = ops.__getattr__("cert.autoRenew.set")(ident, {"references": [ref], "actif": True})
end = s["dateFin"]
out["forecast"] = ops.__getattr__("account.renewalForecast")(ident, {"depuis": end[:10] + "T00:00:00Z", "jusqua": end[:10] + "T23:59:59Z"})
out["csv"] = ops.__getattr__("account.renewalForecast")(ident, {"depuis": end[:10] + "T00:00:00Z", "jusqua": end[:10] + "T23:59:59Z", "csv": True})
out["backwards"] = fault_of(lambda: ops.__getattr__("account.renewalForecast")(ident, {"depuis": "2030-01-02T00:00:00Z", "jusqua": "2030-01-01T00:00:00Z"}))
out["default"] = ops.__getattr__("account.autoRenewDefault.set")(ident, {"actif": True})
call = lambda name, args=None: ops.__getattr__(name)(ident, args or {})
out["contact_bad_lang"] = fault_of(lambda: call("account.contacts.set", {"role": "generic", "email": "ops@example.test", "langue": "de"}))
out["contact_bad_role"] = fault_of(lambda: call("account.contacts.set", {"role": "boss", "email": "ops@example.test"}))
out["contact_bad_email"] = fault_of(lambda: call("account.contacts.set", {"role": "generic", "email": "ops@example.test\r\nBcc: x@evil.test"}))
out["contacts"] = call("account.contacts.set", {"role": "delivery", "email": "tech@example.test", "langue": "fr"})
out["hook_http"] = fault_of(lambda: call("account.webhooks.create", {"url": "http://hooks.example.com/x"}))
out["hook_private"] = fault_of(lambda: call("account.webhooks.create", {"url": "https://10.0.0.7/x"}))
out["hook"] = call("account.webhooks.create", {"url": "https://hooks.example.com/certgate"})
out["hooks"] = call("account.webhooks.list")
out["level"] = call("account.warningLevel.set", {"type": "tokens", "article": "ssl1", "niveau": "5"})
out["level_bad"] = fault_of(lambda: call("account.warningLevel.set", {"type": "tokens", "article": "nope1", "niveau": "5"}))
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_waits_for_funds_switches_automatic_renewal_and_forecasts() {
    if !certgate_tests::have_tool("python3") {
        return;
    }
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.create_user(&f.op, "hoster", "a long password", Rights::all()).await.unwrap();
    let url = certgate_tests::serve_router(XmlRpc::new(f.orders.clone(), Limits::default(), None).router()).await;
    let (_stop, rx) = watch::channel(false);
    tokio::spawn(Worker::new(f.orders.clone(), "xmlrpc-test").run(rx));
    let env = vec![("URL", url), ("CSR_A", csr(&["a.example.test"], Key::P256))];

    let before = footprint(&f.db).await;
    let script = format!("{PRELUDE}{ORDER}");
    let (s, e) = (script.clone(), env.clone());
    let out = tokio::task::spawn_blocking(move || certgate_tests::python_json(&s, &e)).await.unwrap();
    assert_eq!(out["refused"]["faultCode"], 30, "without attenteFonds: no tokens, refused: {}", out["refused"]);
    assert_eq!(out["waiting"]["statut"], "waiting_funds", "{}", out["waiting"]);
    let id = out["waiting"]["refTBS"].as_i64().unwrap();
    assert_eq!(out["asleep"], serde_json::json!([id]), "listed in enSommeil");
    assert_eq!(footprint(&f.db).await.ledger, before.ledger, "nothing charged");

    // A credit pays it; the worker issues it.
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let mut env = env;
    env.push(("REF", id.to_string()));
    let script = format!("{PRELUDE}{RENEWALS}");
    let out = tokio::task::spawn_blocking(move || certgate_tests::python_json(&script, &env)).await.unwrap();
    assert_eq!(out["statut"]["statut"], "delivered", "{}", out["statut"]);
    assert_eq!(out["manual"][0]["renouvellement"], "manual");
    assert_eq!(out["bad_type"][0], -32602, "{}", out["bad_type"]);
    assert_eq!(out["unknown"][0], 20, "{}", out["unknown"]);
    assert_eq!(out["after_faults"][0]["renouvellement"], "manual", "a refused call switches nothing on");

    let cert = &f.orders.certificates(&f.op, &id.to_string()).await.unwrap()[0];
    let renews_at = orders::iso(cert.not_after - 65 * 86_400);
    assert_eq!(out["on"][0]["renouvellement"], renews_at.as_str(), "{}", out["on"]);
    assert_eq!(out["on"][0]["dateFin"], orders::iso(cert.not_after).as_str());
    assert!(f.orders.order(&f.op, &id.to_string()).await.unwrap().auto_renew);

    let needs = &out["forecast"]["besoins"];
    assert_eq!(needs, &serde_json::json!([{"article": "renssl1", "necessaire": 1, "detenu": 0, "manque": 1}]));
    assert_eq!(out["forecast"]["commandes"][0]["refTBS"], id);
    let csv = out["csv"]["csv"].as_str().unwrap();
    assert!(csv.contains("tokens,renssl1,,,,1,0,1"), "{csv}");
    assert_eq!(out["backwards"][0], 41, "{}", out["backwards"]);
    assert_eq!(out["default"]["actif"], true);
    assert!(f.orders.account(f.account).await.unwrap().auto_renew_default);

    for refused in ["contact_bad_lang", "contact_bad_role", "contact_bad_email", "hook_http", "hook_private"] {
        assert_eq!(out[refused][0], 41, "{refused}: {}", out[refused]);
    }
    assert_eq!(out["level_bad"][0], 10, "{}", out["level_bad"]);
    assert_eq!(
        out["contacts"],
        serde_json::json!([{"role": "delivery", "email": "tech@example.test", "langue": "fr"}])
    );
    let secret = out["hook"]["secret"].as_str().unwrap();
    assert!(secret.len() >= 40, "a 256-bit secret, shown once: {secret}");
    assert_eq!(out["hooks"][0]["url"], "https://hooks.example.com/certgate");
    assert!(!out["hooks"].to_string().contains(secret), "never shown again");
}
