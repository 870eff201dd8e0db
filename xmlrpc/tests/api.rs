//! The XML-RPC API driven by Python's `xmlrpc.client`, a real and
//! independent client: bulk `achat` with one bad request among three,
//! `statut` until delivered, `solde` before and after, authentication
//! faults and lockout, introspection and multicall.

use std::net::SocketAddr;

use certgate_tests::{Fixture, Key, TestDb, csr, footprint};
use certgate_xmlrpc::{Limits, XmlRpc};
use orders::{Formula, Rights, Worker};
use tokio::sync::watch;

fn python(script: &str, env: &[(&str, String)]) -> serde_json::Value {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("python3");
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

const CLIENT: &str = r#"
import json, os, sys, time, xmlrpc.client
url = os.environ["URL"]
ops = xmlrpc.client.ServerProxy(url + "/api-operations.php", allow_none=True)
infos = xmlrpc.client.ServerProxy(url + "/api-infos.php", allow_none=True)
ident = {"identification": {"utilisateur": "hoster", "motDePasse": os.environ["PASSWORD"]}}
out = {}
def fault_of(f):
    try:
        f()
        return None
    except xmlrpc.client.Fault as e:
        return [e.faultCode, e.faultString]
out["methods"] = ops.system.listMethods()
out["before"] = infos.solde(ident)
req = lambda csr, main: {"produit": {"code": "ssl", "dureeVie": 1},
    "requete": {"logiciel": "ModSSL", "CSR": csr, "hashage": "SHA256-FULL-CHAIN", "domainePrincipal": main, "domaines": ""},
    "organisation": {"siren": "123456789", "nom": "Example Org"},
    "paiement": {"modePaiement": "pre"}, "divers": {"refClient": "my-" + main}}
bought = ops.achat(ident, {"a": req(os.environ["CSR_A"], "a.example.test"),
                           "bad": req("-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----", "b.example.test"),
                           "c": req(os.environ["CSR_C"], "c.example.test")})
out["achat"] = bought
refs = {k: {"refTBS": v["refTBS"]} for k, v in bought.items() if "refTBS" in v}
for _ in range(100):
    status = infos.statut(ident, refs)
    if all(v["statut"] == "delivered" for v in status.values()):
        break
    time.sleep(0.1)
out["statut"] = status
out["after"] = infos.solde(ident)
out["unknown_method"] = fault_of(lambda: ops.nope(ident))
out["no_ident"] = fault_of(lambda: ops.solde({}))
out["multicall"] = ops.system.multicall([{"methodName": "solde", "params": [ident]}, {"methodName": "nope", "params": [ident]}])
bad = {"identification": {"utilisateur": "hoster", "motDePasse": "wrong"}}
out["wrong"] = [fault_of(lambda: infos.solde(bad)) for _ in range(5)]
out["locked"] = fault_of(lambda: infos.solde(ident))
print(json.dumps(out, default=str))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_orders_in_bulk_polls_status_and_reads_balances() {
    if !certgate_tests::have_tool("python3") {
        return;
    }
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 5, "").await.unwrap();
    let rights = Rights::parse("technical,commercial,billing").unwrap();
    f.orders.create_user(&f.op, "hoster", "a long password", rights).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = XmlRpc::new(f.orders.clone(), Limits::default()).router();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    let (_stop, rx) = watch::channel(false);
    tokio::spawn(Worker::new(f.orders.clone(), "xmlrpc-test").run(rx));
    let env = vec![
        ("URL", url),
        ("PASSWORD", "a long password".to_string()),
        ("CSR_A", csr(&["a.example.test"], Key::P256)),
        ("CSR_C", csr(&["c.example.test"], Key::Rsa2048)),
    ];
    let before_ledger = footprint(f.orders.db()).await.ledger;
    let out = tokio::task::spawn_blocking(move || python(CLIENT, &env)).await.unwrap();

    assert!(out["methods"].as_array().unwrap().contains(&"achat".into()));
    assert_eq!(out["before"]["jetons"]["ssl1"], 5);
    let achat = &out["achat"];
    assert_eq!(achat["a"]["messageReponse"], "OK");
    assert_eq!(achat["c"]["messageReponse"], "OK");
    assert_eq!(achat["bad"]["faultCode"], 11, "bad CSR fault: {}", achat["bad"]);
    assert_eq!(footprint(f.orders.db()).await.ledger - before_ledger, 2, "two debits, none for the bad request");
    for k in ["a", "c"] {
        let s = &out["statut"][k];
        assert_eq!(s["statut"], "delivered", "{s}");
        assert!(s["certificat"].as_str().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(s["chaine"].as_str().unwrap().contains("BEGIN CERTIFICATE"));
        assert_eq!(s["refClient"], format!("my-{k}.example.test"));
    }
    assert_eq!(out["after"]["jetons"]["ssl1"], 3);
    assert_eq!(out["unknown_method"][0], -32601);
    assert_eq!(out["no_ident"][0], -32602);
    assert!(out["no_ident"][1].as_str().unwrap().contains("identification"));
    assert_eq!(out["multicall"][0][0]["jetons"]["ssl1"], 3);
    assert_eq!(out["multicall"][1]["faultCode"], -32601);
    assert!(out["wrong"].as_array().unwrap().iter().all(|w| w[0] == 1));
    assert_eq!(out["locked"][0], 2, "locked after 5 failures in a row");
    let audit = storage::audit::list(&mut f.orders.db().acquire().await.unwrap(), None, 200).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "xmlrpc.achat" && a.source == "xmlrpc"));
    assert!(audit.iter().all(|a| !a.detail.contains("a long password")), "no password in the audit log");
}
