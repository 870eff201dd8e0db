//! The monitoring methods driven by Python's `xmlrpc.client`: the account's
//! defaults, a certificate's monitor, the list and the history; a new
//! certificate monitored by default; and the faults of bad settings and
//! missing rights, which change nothing.

use certgate_tests::{Fixture, TestDb, scalar};
use certgate_xmlrpc::{Limits, XmlRpc};
use orders::{Formula, Rights, Worker};

const SCRIPT: &str = r#"
import json, os, xmlrpc.client
ops = xmlrpc.client.ServerProxy(os.environ["URL"] + "/api-operations.php", allow_none=True)
def call(name, args=None, login="hoster"):
    ident = {"identification": {"utilisateur": login, "motDePasse": "a long password"}}
    return ops.__getattr__(name)(ident, args or {})
ref = os.environ["REF"]
out = {"initial": call("monitor.defaults.get")}
good = {"actifParDefaut": True, "frequence": 7, "responsable": "mon@example.test", "langue": "fr", "texteBrut": True}
for name, change in [("every_5", {"frequence": 5}), ("german", {"langue": "de"}), ("bad_email", {"responsable": "x"})]:
    out["defaults_" + name] = fault_of(lambda: call("monitor.defaults.set", dict(good, **change)))
out["defaults_technical"] = fault_of(lambda: call("monitor.defaults.set", good, "tech"))
out["defaults"] = call("monitor.defaults.set", good)
out["set"] = call("monitor.set", {"reference": ref, "hotes": ["WWW.example.test"], "port": 993, "starttls": "imap"})
bad = {
    "port_closed": {"port": 8080},
    "port_range": {"port": 70000},
    "foreign_host": {"hotes": ["www.example.org"]},
    "too_many": {"hotes": ["a%d.example.test" % i for i in range(6)]},
    "gopher": {"starttls": "gopher"},
    "every_5": {"frequence": 5},
}
for name, change in bad.items():
    out["set_" + name] = fault_of(lambda: call("monitor.set", dict({"reference": ref}, **change)))
out["set_unknown"] = fault_of(lambda: call("monitor.set", {"reference": "999999"}))
out["set_reader"] = fault_of(lambda: call("monitor.set", {"reference": ref, "actif": False}, "reader"))
out["list"] = call("monitor.list", {}, "reader")
out["results"] = call("monitor.results", {"reference": ref}, "reader")
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_sets_monitoring_and_bad_settings_change_nothing() {
    if !certgate_tests::have_tool("python3") {
        return;
    }
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
        for (login, rights) in [("hoster", "all"), ("tech", "technical"), ("reader", "commercial")] {
            f.orders.create_user(&f.op, login, "a long password", Rights::parse(rights).unwrap()).await.unwrap();
        }
        let worker = Worker::new(f.orders.clone(), "t");
        let first = f.orders.place(&f.op, &f.ssl1_for(&["www.example.test"])).await.unwrap().order;
        worker.drain().await.unwrap();
        let reference = first.reference.unwrap();
        let url = certgate_tests::serve_router(XmlRpc::new(f.orders.clone(), Limits::default(), None).router()).await;
        let env = vec![("URL", url), ("REF", reference.clone())];
        let out = tokio::task::spawn_blocking(move || certgate_tests::python_json(SCRIPT, &env)).await.unwrap();

        assert_eq!(out["initial"]["actifParDefaut"], false, "{}", out["initial"]);
        assert_eq!(out["initial"]["frequence"], 30);
        for name in ["every_5", "german", "bad_email"] {
            assert_eq!(out[format!("defaults_{name}")][0], 41, "{name}: {}", out[format!("defaults_{name}")]);
        }
        assert_eq!(out["defaults_technical"][0], 3, "administrative right: {}", out["defaults_technical"]);
        assert_eq!(out["defaults"]["responsable"], "mon@example.test");
        let set = &out["set"];
        assert_eq!(set["hotes"], serde_json::json!(["www.example.test"]), "{set}");
        assert_eq!((set["port"].as_i64(), set["starttls"].as_str()), (Some(993), Some("imap")));
        assert_eq!(set["frequence"], 7, "a new monitor takes the account's default frequency");
        assert!(set["prochainTest"].is_string(), "a first scan is due at once: {set}");
        for name in ["port_closed", "foreign_host", "too_many", "gopher", "every_5"] {
            assert_eq!(out[format!("set_{name}")][0], 41, "{name}: {}", out[format!("set_{name}")]);
        }
        assert_eq!(out["set_port_range"][0], -32602, "{}", out["set_port_range"]);
        assert_eq!(out["set_unknown"][0], 20, "{}", out["set_unknown"]);
        assert_eq!(out["set_reader"][0], 3, "{}", out["set_reader"]);
        let listed = &out["list"][0];
        assert_eq!(
            (listed["port"].as_i64(), listed["actif"].as_bool()),
            (Some(993), Some(true)),
            "unchanged: {listed}"
        );
        assert_eq!(out["results"], serde_json::json!([]), "not scanned yet");

        // Monitored by default from now on: a new certificate has its monitor.
        let second = f.orders.place(&f.op, &f.ssl1_for(&["*.example.test"])).await.unwrap().order;
        worker.drain().await.unwrap();
        let m = f.orders.monitor(&f.op, &second.reference.unwrap()).await.unwrap();
        assert_eq!((m.enabled, m.frequency_days, m.port), (true, 7, 443));
        assert_eq!(m.hosts, ["sub.example.test"], "a wildcard's default host");
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM monitors").await, 2);
        tdb.cleanup().await;
    }
}
