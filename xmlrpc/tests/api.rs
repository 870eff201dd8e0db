//! The XML-RPC API driven by Python's `xmlrpc.client`, a real and
//! independent client: bulk `achat` with one bad request among three,
//! `statut` until delivered, `solde` before and after, authentication
//! faults and lockout, introspection and multicall.

use certgate_tests::{Fixture, Key, TestDb, csr, footprint};
use certgate_xmlrpc::{Limits, XmlRpc};
use orders::{Formula, Rights, Worker};
use tokio::sync::watch;

/// Serves the XML-RPC routes on a loopback port with a job worker; returns
/// the base URL and the worker's stop handle.
async fn serve(f: &Fixture) -> (String, watch::Sender<bool>) {
    let url = certgate_tests::serve_router(XmlRpc::new(f.orders.clone(), Limits::default(), None).router()).await;
    let (_stop, rx) = watch::channel(false);
    tokio::spawn(Worker::new(f.orders.clone(), "xmlrpc-test").run(rx));
    (url, _stop)
}

const CLIENT: &str = r#"
import json, os, sys, time, xmlrpc.client
url = os.environ["URL"]
ops = xmlrpc.client.ServerProxy(url + "/api-operations.php", allow_none=True)
infos = xmlrpc.client.ServerProxy(url + "/api-infos.php", allow_none=True)
ident = {"identification": {"utilisateur": "hoster", "motDePasse": os.environ["PASSWORD"]}}
out = {}
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
    let (url, _stop) = serve(&f).await;
    let env = vec![
        ("URL", url),
        ("PASSWORD", "a long password".to_string()),
        ("CSR_A", csr(&["a.example.test"], Key::P256)),
        ("CSR_C", csr(&["c.example.test"], Key::Rsa2048)),
    ];
    let before_ledger = footprint(&f.db).await.ledger;
    let out = tokio::task::spawn_blocking(move || certgate_tests::python_json(CLIENT, &env)).await.unwrap();

    assert!(out["methods"].as_array().unwrap().contains(&"achat".into()));
    assert_eq!(out["before"]["jetons"]["ssl1"], 5);
    let achat = &out["achat"];
    assert_eq!(achat["a"]["messageReponse"], "OK");
    assert_eq!(achat["c"]["messageReponse"], "OK");
    assert_eq!(achat["bad"]["faultCode"], 11, "bad CSR fault: {}", achat["bad"]);
    assert_eq!(footprint(&f.db).await.ledger - before_ledger, 2, "two debits, none for the bad request");
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
    let audit = storage::audit::list(&mut f.db.acquire().await.unwrap(), None, 200).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "xmlrpc.achat" && a.source == "xmlrpc"));
    assert!(audit.iter().all(|a| !a.detail.contains("a long password")), "no password in the audit log");
}

const LIFECYCLE: &str = r#"
import json, os, time, xmlrpc.client
from datetime import datetime, timezone
x = xmlrpc.client.ServerProxy(os.environ["URL"] + "/xmlrpc", allow_none=True, use_builtin_types=True)
ident = {"identification": {"utilisateur": "hoster", "motDePasse": os.environ["PASSWORD"]}}
out = {}
start = int(time.time()) - 1
req = lambda csr, main: {"produit": {"code": "ssl1"}, "requete": {"CSR": csr, "domainePrincipal": main}, "divers": {"refClient": "keep-ref" if main.startswith("a.") else "drop-ref"}}
# "drop" names a domain that is not pre-validated, so it waits (paid) and cannot race the worker.
bought = x.achat(ident, {"keep": req(os.environ["CSR_A"], "a.example.test"), "drop": req(os.environ["CSR_DROP"], "drop.other.test")})
keep, drop = bought["keep"]["refTBS"], bought["drop"]["refTBS"]
out["cancel"] = x.order.cancel(ident, {"reference": str(drop)})
for _ in range(100):
    if x.statut(ident, {"k": {"refTBS": keep}})["k"]["statut"] == "delivered":
        break
    time.sleep(0.1)
out["reissue"] = x.refabrication(ident, {"k": {"refTBS": keep, "requete": {"CSR": os.environ["CSR_A2"]}}})
for _ in range(100):
    st = x.statut(ident, {"k": {"refTBS": keep}})["k"]
    if st["statut"] == "delivered":
        break
    time.sleep(0.1)
out["serial_after_reissue"] = st["numeroSerie"]
out["der"] = len(x.cert.download(ident, {"reference": str(keep), "format": "der"})["contenu"])
import base64
out["pkcs7"] = base64.b64encode(x.cert.download(ident, {"reference": str(keep), "format": "pkcs7"})["contenu"]).decode()
out["pem_chain"] = x.cert.download(ident, {"reference": str(keep), "format": "pem_chain"})["contenu"].count("BEGIN CERTIFICATE")
out["revoke"] = x.revocation(ident, {"k": {"refTBS": keep, "motif": 4}})
end = int(time.time()) + 1
iso = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
out["changes_ts"] = [o["refTBS"] for o in x.changementCommandes(dict(ident, typeDate="timestamp", timestampChangementDepuis=start, timestampChangementJusqua=end))]
out["changes_iso"] = [o["refTBS"] for o in x.changementCommandes(dict(ident, typeDate="iso", timestampChangementDepuis=iso(start), timestampChangementJusqua=iso(end)))]
out["changes_before"] = x.changementCommandes(dict(ident, typeDate="timestamp", timestampChangementDepuis=0, timestampChangementJusqua=start - 3600))
out["list"] = [o["statut"] for o in x.order.list(ident, {})]
out["statement"] = x.account.statement(ident, {"type": "tokens"})["lignes"]
out["csv"] = x.account.statement(ident, {"type": "tokens", "csv": True})["csv"]
out["products"] = [p["code"] for p in x.catalog.products(ident)]
out["acme"] = x.acme.url.create(ident, {"nom": "web", "produit": "ssl1", "organisation": int(os.environ["ORG"])})
out["acme_list"] = x.acme.url.list(ident)
out["prevalidations"] = x.prevalidation.list(ident)
out["reference"] = x.reference(ident, {"q": {"refClient": "keep-ref"}, "none": {"refClient": "nope"}})
waiting = x.achat(ident, {"w": {"produit": {"code": "ssl1"}, "requete": {"CSR": os.environ["CSR_OTHER"], "domainePrincipal": "www.other.test"}}})
out["asleep"] = [o["refTBS"] for o in x.enSommeil(ident)]
out["waiting"] = waiting["w"]
print(json.dumps(out, default=str))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_cancels_reissues_revokes_and_manages_acme_urls() {
    if !certgate_tests::have_tool("python3") {
        return;
    }
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 3, "").await.unwrap();
    f.orders.create_user(&f.op, "hoster", "a long password", Rights::all()).await.unwrap();
    let (url, _stop) = serve(&f).await;
    let env = vec![
        ("URL", url.clone()),
        ("PASSWORD", "a long password".to_string()),
        ("CSR_A", csr(&["a.example.test"], Key::P256)),
        ("CSR_A2", csr(&["a.example.test"], Key::P384)),
        ("CSR_C", csr(&["c.example.test"], Key::P256)),
        ("CSR_OTHER", csr(&["www.other.test"], Key::P256)),
        ("CSR_DROP", csr(&["drop.other.test"], Key::P256)),
        ("ORG", f.org.to_string()),
    ];
    let out = tokio::task::spawn_blocking(move || certgate_tests::python_json(LIFECYCLE, &env)).await.unwrap();

    assert_eq!(out["cancel"]["statut"], "cancelled_refunded");
    assert_eq!(out["reissue"]["k"]["messageReponse"], "OK", "{}", out["reissue"]);
    assert!(out["der"].as_u64().unwrap() > 200);
    assert_eq!(out["pem_chain"], 2);
    // The PKCS#7 bundle holds the leaf and its chain, as openssl reads it.
    use base64::Engine as _;
    let p7 = base64::engine::general_purpose::STANDARD.decode(out["pkcs7"].as_str().unwrap()).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &p7).unwrap();
    let printed = std::process::Command::new("openssl")
        .args(["pkcs7", "-inform", "DER", "-print_certs", "-noout", "-in"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    assert_eq!(String::from_utf8_lossy(&printed.stdout).matches("subject=").count(), 2);
    assert_eq!(out["revoke"]["k"]["statut"], "delivered", "one certificate revoked, the order keeps the other");
    let keep = out["changes_ts"].as_array().unwrap();
    assert_eq!(keep.len(), 2, "both orders changed in the window: {}", out["changes_ts"]);
    assert_eq!(out["changes_iso"], out["changes_ts"], "both typeDate forms give the same orders");
    assert_eq!(out["changes_before"].as_array().unwrap().len(), 0);
    let lines = out["statement"].as_array().unwrap();
    let reasons: Vec<&str> = lines.iter().map(|l| l["motif"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["topup", "order", "order", "refund"], "the cancelled order was refunded once");
    assert_eq!(lines.last().unwrap()["solde"], 2, "one token spent: the reissue was free");
    assert!(out["csv"].as_str().unwrap().starts_with("date,reference,cn,reason,item,amount,balance"));
    assert!(out["products"].as_array().unwrap().contains(&"ssl1".into()));
    let acme = &out["acme"];
    assert!(acme["directory"].as_str().unwrap().starts_with(&format!("{url}/acme/")));
    let key = f.orders.acme_url_hmac_key(acme["id"].as_i64().unwrap()).await.unwrap();
    assert_eq!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key), acme["hmac"].as_str().unwrap());
    let listed = &out["acme_list"][0];
    assert!(listed["hmac"].as_str().unwrap().starts_with("*****"), "masked: {listed}");
    assert_eq!(out["prevalidations"][0]["validation"], "OV");
    assert_eq!(out["reference"]["q"][0]["refClient"], "keep-ref");
    assert_eq!(out["reference"]["none"]["faultCode"], 20);
    assert_eq!(out["waiting"]["statut"], "waiting_dcv", "www.other.test is not pre-validated");
    assert_eq!(out["asleep"], serde_json::json!([out["waiting"]["refTBS"]]));

    // The reissue left the first certificate to be revoked later, and the revocation hit the current one.
    let reference = keep.iter().map(|v| v.as_i64().unwrap()).min().unwrap().to_string();
    let certs = f.orders.certificates(&f.op, &reference).await.unwrap();
    assert_eq!(certs.len(), 2);
    assert!(certs[0].revoke_after.is_some() && certs[0].revoked_at.is_none(), "delayed revocation of the old one");
    assert_eq!(certs[1].revocation_reason, Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_statement_comes_in_bounded_answers_without_a_line_lost() {
    if !certgate_tests::have_tool("python3") {
        return;
    }
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "hoster", "a long password", Rights::all()).await.unwrap();
        // 10,050 movements, some sharing a second, each with its own balance.
        let rows = certgate_xmlrpc::STATEMENT_LINES as i64 + 50;
        let mut c = f.db.acquire_writer().await.unwrap();
        storage::sql::query_built(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $2)
             INSERT INTO ledger (account_id, order_id, reason, asset, item, amount, balance, author, note, created_at)
             SELECT $1, NULL, 'topup', 'token', 'ssl1', 1, n, 'test', '', 1700000000 + n / 3 FROM seq"
                .to_string(),
        )
        .bind(f.account)
        .bind(rows)
        .execute(&mut c)
        .await
        .unwrap();
        drop(c);
        let (url, _stop) = serve(&f).await;
        let script = r#"
import json, os, xmlrpc.client
x = xmlrpc.client.ServerProxy(os.environ["URL"] + "/api-operations.php")
ident = {"identification": {"utilisateur": "hoster", "motDePasse": "a long password"}}
first = x.account.statement(ident, {"type": "tokens"})
second = x.account.statement(ident, {"type": "tokens", "apres": first["suite"]})
csv = x.account.statement(ident, {"type": "tokens", "csv": True, "apres": first["suite"]})
print(json.dumps({
    "first": [l["solde"] for l in first["lignes"]],
    "second": [l["solde"] for l in second["lignes"]],
    "second_suite": second.get("suite"),
    "csv_lines": len(csv["csv"].splitlines()),
    "bad": fault_of(lambda: x.account.statement(ident, {"type": "tokens", "apres": "yesterday"})),
}))
"#;
        let env = vec![("URL", url)];
        let out = tokio::task::spawn_blocking(move || certgate_tests::python_json(script, &env)).await.unwrap();
        let lines = certgate_xmlrpc::STATEMENT_LINES;
        let first: Vec<i64> = serde_json::from_value(out["first"].clone()).unwrap();
        let second: Vec<i64> = serde_json::from_value(out["second"].clone()).unwrap();
        assert_eq!(first.len(), lines, "one answer holds at most {lines} lines ({})", tdb.backend);
        assert!(out["second_suite"].is_null(), "the last answer owes no suite: {}", out["second_suite"]);
        let all: Vec<i64> = first.into_iter().chain(second).collect();
        assert_eq!(all, (1..=rows).collect::<Vec<_>>(), "every line once, in order");
        assert_eq!(out["csv_lines"], 50 + 1, "the CSV pages alike, its header aside");
        assert_eq!(out["bad"][0], -32602, "{}", out["bad"]);
        tdb.cleanup().await;
    }
}
