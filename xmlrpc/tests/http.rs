//! The XML-RPC endpoint over HTTP with raw bodies: a legacy `achat` written
//! by hand as real clients send it becomes an order; hostile or broken
//! bodies get a clean fault (or refusal) and the server stays up; an ACME URL
//! made through XML-RPC works for a real ACME client; a bad parameter is a
//! -32602 fault naming its path, and a bad bulk request faults alone.

use bytes::Bytes;
use certgate_acme::{Acme, Settings};
use certgate_tests::{Fixture, Key, TestDb, csr, footprint};
use certgate_xmlrpc::{Limits, Value, XmlRpc};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orders::{Formula, Rights, Worker};

struct Server {
    url: String,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn serve(f: &Fixture) -> Server {
    serve_behind(f, Vec::new()).await
}

/// As [`serve`], believing forwarding headers from `trusted` proxies only.
async fn serve_behind(f: &Fixture, trusted: Vec<certgate_acme::IpBlock>) -> Server {
    f.orders.create_user(&f.op, "hoster", "a long password", Rights::all()).await.unwrap();
    let router = XmlRpc::new(f.orders.clone(), Limits::default(), None)
        .with_trusted_proxies(trusted)
        .router()
        .merge(Acme::new(f.orders.clone(), Settings::default()).router());
    let url = certgate_tests::serve_router(router).await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(Worker::new(f.orders.clone(), "t").run(rx));
    Server { url, _stop: stop }
}

/// POSTs `body` and returns the HTTP status and the decoded answer (the
/// response's single value, or the fault struct).
async fn post(url: &str, body: Vec<u8>) -> (u16, Option<Value>) {
    let mut c = HttpConnector::new();
    c.set_nodelay(true);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(c);
    let req = hyper::Request::post(url).header("content-type", "text/xml").body(Full::new(Bytes::from(body))).unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, answer(&bytes))
}

/// Sends only the head of a POST declaring a `length`-byte body (see
/// [`certgate_tests::post_head_only`]); the status and the decoded answer.
async fn post_head_only(url: &str, length: usize) -> (u16, Option<Value>) {
    let a = certgate_tests::post_head_only(url, &[("content-type", "text/xml")], length).await;
    (a.status, answer(a.body.as_bytes()))
}

/// The decoded answer of a response body: its single value, or the fault struct.
fn answer(bytes: &[u8]) -> Option<Value> {
    // A response reads like a call whose single parameter is the answer.
    let text = String::from_utf8_lossy(bytes)
        .replace("methodResponse>", "methodCall>")
        .replace("<methodCall><params>", "<methodCall><methodName>r</methodName><params>")
        .replace("<methodCall><fault>", "<methodCall><methodName>r</methodName><params><param>")
        .replace("</fault></methodCall>", "</param></params></methodCall>");
    certgate_xmlrpc::parse_call(text.as_bytes(), &Limits::default()).ok().map(|c| c.params[0].clone())
}

fn fault_code(v: &Option<Value>) -> Option<i64> {
    match v.as_ref()?.get("faultCode")? {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_written_legacy_achat_becomes_an_order() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let server = serve(&f).await;
    let pem = csr(&["www.example.test"], Key::Rsa2048)
        .replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
        .replace('\n', "\r\n");
    let body = format!(
        "<?xml version=\"1.0\"?>\r\n<methodCall>\r\n\t<methodName>achat</methodName>\r\n\t<params>\r\n\
         \t\t<param><value><struct>\"\r\n\
         \t\t\t<member><name>identification</name><value><struct>\r\n\
         \t\t\t\t<member><name>utilisateur</name><value>hoster</value></member>\"\r\n\
         \t\t\t\t<member><name>motDePasse</name><value><string>a long password</string></value></member>\r\n\
         \t\t\t</struct></value></member>\r\n\t\t</struct></value></param>\r\n\
         \t\t<param><value><struct><member><name>maRef</name><value><struct>\r\n\
         \t\t\t<member><name>produit</name><value><struct><member><name>code</name><value>ssl</value></member>\
         <member><name>dureeVie</name><value><int>1</int></value></member></struct></value></member>\"\r\n\
         \t\t\t<member><name>requete</name><value><struct>\
         <member><name>logiciel</name><value>ModSSL</value></member>\
         <member><name>CSR</name><value>{pem}</value></member>\
         <member><name>hashage</name><value>SHA256-FULL-CHAIN</value></member>\
         <member><name>domainePrincipal</name><value>www.example.test</value></member>\
         <member><name>domaines</name><value></value></member>\
         </struct></value></member>\r\n\
         \t\t\t<member><name>organisation</name><value><struct><member><name>siren</name><value>000</value></member>\
         <member><name>nom</name><value>Example Org</value></member></struct></value></member>\r\n\
         \t\t\t<member><name>paiement</name><value><struct><member><name>modePaiement</name><value>pre</value></member></struct></value></member>\r\n\
         \t\t\t<member><name>divers</name><value><struct><member><name>refClient</name><value>myref</value></member></struct></value></member>\r\n\
         \t\t</struct></value></member></struct></value></param>\r\n\t</params>\r\n</methodCall>\r\n"
    );
    let (status, v) = post(&format!("{}/api-operations.php", server.url), body.into_bytes()).await;
    assert_eq!(status, 200);
    let answer = v.unwrap();
    let r = answer.get("maRef").unwrap();
    assert_eq!(r.get("messageReponse").and_then(Value::as_str), Some("OK"), "{answer:?}");
    let list = f.orders.list_orders(&f.op, &Default::default()).await.unwrap();
    assert_eq!((list.len(), list[0].client_ref.as_deref(), list[0].source.as_str()), (1, Some("myref"), "xmlrpc"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_get_clean_faults_and_the_server_stays_up() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    let server = serve(&f).await;
    let url = format!("{}/xmlrpc", server.url);
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\
        <methodCall><methodName>&lol2;</methodName></methodCall>";
    let external = "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
        <methodCall><methodName>solde</methodName><params><param><value>&x;</value></param></params></methodCall>";
    let nested = format!(
        "<methodCall><methodName>solde</methodName><params><param>{}{}</param></params></methodCall>",
        "<value><array><data>".repeat(10_000),
        "</data></array></value>".repeat(10_000)
    );
    let before = footprint(&f.db).await;
    let cases: Vec<(&str, Vec<u8>, u16, i64)> = vec![
        ("billion laughs", laughs.into(), 200, -32700),
        ("external entity", external.into(), 200, -32700),
        ("10,000 nested arrays", nested.into_bytes(), 200, -32700),
        ("invalid UTF-8", b"<methodCall><methodName>\xff\xfe</methodName></methodCall>".to_vec(), 200, -32700),
        ("truncated", b"<methodCall><methodName>solde</methodName><params><param><value>".to_vec(), 200, -32700),
        (
            "unknown type",
            b"<methodCall><methodName>solde</methodName><params><param><value><blob/></value></param></params></methodCall>"
                .to_vec(),
            200,
            -32600,
        ),
    ];
    for (what, body, status, code) in cases {
        let (got, v) = post(&url, body).await;
        assert_eq!((got, fault_code(&v)), (status, Some(code)), "{what}: {v:?}");
    }
    // A 2 MiB Content-Length is refused before the body is sent at all.
    let (got, v) = post_head_only(&url, 2 * 1024 * 1024).await;
    assert_eq!((got, fault_code(&v)), (413, Some(-32700)), "2 MiB body: {v:?}");
    assert_eq!(footprint(&f.db).await, before);
    // Still up.
    let (_, v) = post(&url, certgate_xmlrpc::call("system.listMethods", &[]).into_bytes()).await;
    assert!(matches!(v, Some(Value::Array(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acme_url_made_through_xmlrpc_works_for_an_acme_client() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let server = serve(&f).await;
    let ident = Value::Struct(vec![(
        "identification".into(),
        Value::Struct(vec![
            ("utilisateur".into(), Value::String("hoster".into())),
            ("motDePasse".into(), Value::String("a long password".into())),
        ]),
    )]);
    let args = Value::Struct(vec![
        ("nom".into(), Value::String("web".into())),
        ("produit".into(), Value::String("ssl1".into())),
        ("organisation".into(), Value::Int(f.org)),
    ]);
    let body = certgate_xmlrpc::call("acme.url.create", &[ident, args]);
    let (_, v) = post(&format!("{}/xmlrpc", server.url), body.into_bytes()).await;
    let v = v.unwrap();
    let get = |k: &str| v.get(k).and_then(Value::as_str).unwrap().to_string();
    let (directory, kid, hmac) = (get("directory"), get("kid"), get("hmac"));

    let account =
        certgate_tests::acme_account(&directory, &kid, &hmac, certgate_tests::Connections::Reused).await.unwrap();
    let ids = [instant_acme::Identifier::Dns("www.example.test".into())];
    let mut order = account.new_order(&instant_acme::NewOrder::new(&ids)).await.unwrap();
    order.finalize().await.unwrap();
    let chain = order.poll_certificate(&instant_acme::RetryPolicy::default()).await.unwrap();
    assert!(chain.contains("BEGIN CERTIFICATE"));
}

fn ident() -> Value {
    Value::Struct(vec![(
        "identification".into(),
        Value::Struct(vec![
            ("utilisateur".into(), Value::String("hoster".into())),
            ("motDePasse".into(), Value::String("a long password".into())),
        ]),
    )])
}

/// Calls a bulk legacy method with one request under the reference `r`,
/// and returns that request's answer.
async fn bulk(url: &str, method: &str, request: Value) -> Value {
    let demande = Value::Struct(vec![("r".into(), request)]);
    let (_, v) = post(url, certgate_xmlrpc::call(method, &[ident(), demande]).into_bytes()).await;
    v.and_then(|v| v.get("r").cloned()).unwrap_or(Value::Nil)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_not_pre_validated_is_proven_by_dns_then_issued() {
    let Some(srv) = certgate_tests::ChallTestSrv::start() else { return };
    let tdb = TestDb::sqlite().await;
    let f =
        Fixture::with_settings(&tdb, Formula::Bulk, orders::Settings { va: srv.va(10), ..Default::default() }).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let server = serve(&f).await;
    let url = format!("{}/xmlrpc", server.url);
    let request = Value::Struct(vec![
        ("produit".into(), Value::Struct(vec![("code".into(), Value::String("ssl1".into()))])),
        ("requete".into(), Value::Struct(vec![("CSR".into(), Value::String(csr(&["www.other.test"], Key::P256)))])),
    ]);
    let bought = bulk(&url, "achat", request).await;
    assert_eq!(bought.get("statut").and_then(Value::as_str), Some("waiting_dcv"), "{bought:?}");
    let ref_tbs = bought.get("refTBS").cloned().unwrap();
    let order = Value::Struct(vec![("refTBS".into(), ref_tbs.clone())]);

    let addresses = bulk(&url, "dcvAdresses", order.clone()).await;
    let Some(Value::Array(names)) = addresses.get("domaines") else { panic!("{addresses:?}") };
    let dns = names[0].get("dns").unwrap();
    let (record, token) =
        (dns.get("nom").and_then(Value::as_str).unwrap(), dns.get("valeur").and_then(Value::as_str).unwrap());
    assert_eq!(record, "_certgate-dcv.www.other.test.");
    let http = names[0].get("http").unwrap();
    assert!(
        http.get("url")
            .and_then(Value::as_str)
            .unwrap()
            .starts_with("http://www.other.test/.well-known/pki-validation/")
    );

    // Before anything is published, the retest says what is missing.
    let early = bulk(&url, "dcvEmailRenvoyer", order.clone()).await;
    assert_eq!(fault_code(&Some(early.clone())), Some(17), "{early:?}");
    srv.manage("/set-txt", &format!(r#"{{"host":"{record}","value":"{token}"}}"#));
    let done = bulk(&url, "dcvEmailRenvoyer", order.clone()).await;
    // Queued for issuance; the worker may have delivered it already when the answer is read.
    let queued = done.get("statut").and_then(Value::as_str);
    assert!(matches!(queued, Some("processing" | "delivered")), "{done:?}");
    let mut status = Value::Nil;
    for _ in 0..100 {
        status = bulk(&url, "statut", order.clone()).await;
        if status.get("statut").and_then(Value::as_str) == Some("delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status.get("statut").and_then(Value::as_str), Some("delivered"));
    let code =
        post(&url, certgate_xmlrpc::call("dcvCodeValidation", &[ident(), Value::Struct(vec![])]).into_bytes()).await.1;
    assert_eq!(fault_code(&code), Some(41));
}

fn st(members: &[(&str, Value)]) -> Value {
    Value::Struct(members.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

fn text(s: &str) -> Value {
    Value::String(s.into())
}

/// The fault code and string of a fault struct.
fn fault_of(v: &Value) -> (Option<i64>, Option<&str>) {
    (fault_code(&Some(v.clone())), v.get("faultString").and_then(Value::as_str))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_parameter_is_a_fault_naming_its_path_and_a_bad_bulk_request_faults_alone() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let server = serve(&f).await;
    let url = format!("{}/xmlrpc", server.url);
    let produit = st(&[("code", text("ssl")), ("dureeVie", Value::Int(1))]);
    let pem = csr(&["www.example.test"], Key::P256);
    let demande = st(&[
        ("first", st(&[("produit", produit.clone()), ("requete", st(&[("CSR", text(&pem))]))])),
        (
            "noCsr",
            st(&[("produit", produit.clone()), ("requete", st(&[("domainePrincipal", text("a.example.test"))]))]),
        ),
        ("csrStruct", st(&[("produit", produit.clone()), ("requete", st(&[("CSR", st(&[]))]))])),
        (
            "badYears",
            st(&[
                ("produit", st(&[("code", text("ssl")), ("dureeVie", text("one"))])),
                ("requete", st(&[("CSR", text(&pem))])),
            ]),
        ),
    ]);
    let before = footprint(&f.db).await.ledger;
    let (_, answer) = post(&url, certgate_xmlrpc::call("achat", &[ident(), demande]).into_bytes()).await;
    let Some(Value::Struct(answers)) = answer else { panic!("{answer:?}") };
    let keys: Vec<&str> = answers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["first", "noCsr", "csrStruct", "badYears"], "the answer keeps the requests' order");
    assert_eq!(answers[0].1.get("messageReponse").and_then(Value::as_str), Some("OK"), "{:?}", answers[0]);
    assert_eq!(fault_of(&answers[1].1), (Some(-32602), Some("demande.noCsr.requete.CSR: missing")));
    assert_eq!(
        fault_of(&answers[2].1),
        (Some(-32602), Some("demande.csrStruct.requete.CSR: expected a string, found struct"))
    );
    assert_eq!(
        fault_of(&answers[3].1),
        (Some(-32602), Some("demande.badYears.produit.dureeVie: \"one\" is not an integer"))
    );
    assert_eq!(footprint(&f.db).await.ledger - before, 1, "one debit, for the one good request");
    // The good request is recorded with its order, each refused one on its own.
    let audit = storage::audit::list(&mut f.db.acquire().await.unwrap(), None, 20).await.unwrap();
    let calls: Vec<&str> = audit.iter().filter(|a| a.action == "xmlrpc.achat").map(|a| a.detail.as_str()).collect();
    assert_eq!(calls.iter().filter(|d| **d == "ok").count(), 1, "{calls:?}");
    for refused in ["demande.noCsr: fault -32602", "demande.csrStruct: fault -32602", "demande.badYears: fault -32602"]
    {
        assert!(calls.iter().any(|d| d.starts_with(refused)), "{refused} is recorded: {calls:?}");
    }

    // Whole-call faults name the parameter's path too.
    let no_password = st(&[("identification", st(&[("utilisateur", text("hoster"))]))]);
    let cases = [
        ("solde", vec![no_password], "param1.identification.motDePasse: missing"),
        ("achat", vec![ident(), Value::Array(vec![])], "demande: expected a struct, found array"),
        ("order.list", vec![ident(), st(&[("limite", text("many"))])], "param2.limite: \"many\" is not an integer"),
        (
            "acme.url.create",
            vec![ident(), st(&[("produit", text("ssl1")), ("organisation", Value::Bool(true))])],
            "param2.organisation: expected an int, found boolean",
        ),
        (
            "changementCommandes",
            vec![st(&[
                ("identification", ident().get("identification").cloned().unwrap()),
                ("typeDate", text("iso")),
                ("timestampChangementDepuis", Value::Int(0)),
            ])],
            "param1.timestampChangementDepuis: expected an ISO 8601 date, found int",
        ),
    ];
    for (method, params, message) in cases {
        let (status, v) = post(&url, certgate_xmlrpc::call(method, &params).into_bytes()).await;
        let v = v.unwrap();
        assert_eq!((status, fault_of(&v)), (200, (Some(-32602), Some(message))), "{method}");
    }
    // An order status the gateway does not know is refused, not an empty list.
    let unknown = vec![ident(), st(&[("statut", text("sleeping"))])];
    let (_, v) = post(&url, certgate_xmlrpc::call("order.list", &unknown).into_bytes()).await;
    let v = v.unwrap();
    let (code, message) = fault_of(&v);
    assert_eq!(code, Some(41), "{message:?}");
    assert!(message.unwrap_or_default().contains("no order status \"sleeping\""), "{message:?}");
    let calls = Value::Array(vec![st(&[("params", Value::Array(vec![]))])]);
    let (_, v) = post(&url, certgate_xmlrpc::call("system.multicall", &[calls]).into_bytes()).await;
    let Some(Value::Array(entries)) = v else { panic!("{v:?}") };
    assert_eq!(fault_of(&entries[0]), (Some(-32602), Some("param1[0].methodName: missing")));
}

/// `method` as the test user, with extra request headers; the raw answer.
async fn call_with_headers(url: &str, method: &str, headers: &[(&str, &str)]) -> String {
    let ident = Value::Struct(vec![(
        "identification".into(),
        Value::Struct(vec![
            ("utilisateur".into(), Value::String("hoster".into())),
            ("motDePasse".into(), Value::String("a long password".into())),
        ]),
    )]);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mut req = hyper::Request::post(format!("{url}/xmlrpc")).header("content-type", "text/xml");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = certgate_xmlrpc::call(method, &[ident]);
    let resp = client.request(req.body(Full::new(Bytes::from(body))).unwrap()).await.unwrap();
    String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned()
}

#[tokio::test]
async fn forwarding_headers_count_only_from_trusted_proxies() {
    let spoof = [("x-forwarded-for", "203.0.113.9"), ("forwarded", "for=203.0.113.9;proto=https")];
    for (trusted, expected) in [(vec![], "127.0.0.1"), (vec!["127.0.0.1".parse().unwrap()], "203.0.113.9")] {
        let tdb = TestDb::sqlite().await;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let server = serve_behind(&f, trusted).await;
        let audited = async || storage::audit::list(&mut f.db.acquire().await.unwrap(), None, 10).await.unwrap();
        let before = audited().await.len();
        assert!(call_with_headers(&server.url, "solde", &spoof).await.contains("<name>formule</name>"));
        assert_eq!(audited().await.len(), before, "a read records nothing");
        // A refused call is recorded, with the client address as believed.
        assert!(call_with_headers(&server.url, "dcvCodeValidation", &spoof).await.contains("faultCode"));
        let audit = audited().await;
        let call = audit.iter().find(|a| a.action == "xmlrpc.dcvCodeValidation").expect("the call is audited");
        assert_eq!(call.ip, expected, "the audited client address");
        assert!(call.detail.starts_with("fault 41"), "{}", call.detail);
        tdb.cleanup().await;
    }
}

/// The legacy shapes and inputs integrators hit: the information methods
/// with one request beside `identification`, answered unwrapped; a full
/// product code with a conflicting `dureeVie` and an organisation the
/// account does not have are refused before anything is charged; reason 8
/// is refused; and `system.listMethods` lists every callable method, each
/// with its help and signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_shapes_inputs_and_introspection() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
    let server = serve(&f).await;
    let url = format!("{}/xmlrpc", server.url);
    let achat = |years: i64, org: &str| {
        st(&[
            ("produit", st(&[("code", text("ssl1")), ("dureeVie", Value::Int(years))])),
            (
                "requete",
                st(&[
                    ("CSR", text(&csr(&["www.example.test"], Key::P256))),
                    ("domainePrincipal", text("www.example.test")),
                ]),
            ),
            ("organisation", st(&[("nom", text(org))])),
            ("divers", st(&[("refClient", text("shop-7"))])),
        ])
    };
    let before = footprint(&f.db).await;
    let years = bulk(&url, "achat", achat(5, "Example Org")).await;
    assert_eq!(fault_of(&years).0, Some(10), "{years:?}");
    assert!(fault_of(&years).1.unwrap().contains("lasts 1 year(s), not dureeVie 5"), "{years:?}");
    let org = bulk(&url, "achat", achat(1, "Other Org")).await;
    assert_eq!(fault_of(&org).0, Some(16), "{org:?}");
    assert_eq!(footprint(&f.db).await, before, "nothing written or charged");
    let placed = bulk(&url, "achat", achat(1, "Example Org")).await;
    let Some(Value::Int(id)) = placed.get("refTBS").cloned() else { panic!("{placed:?}") };
    // The server's own worker issues it.
    for _ in 0..100 {
        if f.orders.order_by_id(&f.op, id).await.unwrap().status == "delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // One request beside identification: the entry alone comes back.
    let single = |member: (&str, Value)| {
        let mut m = vec![("identification".to_string(), ident().get("identification").cloned().unwrap())];
        m.push((member.0.to_string(), member.1));
        Value::Struct(m)
    };
    let (_, v) = post(&url, certgate_xmlrpc::call("statut", &[single(("refTBS", Value::Int(id)))]).into_bytes()).await;
    let v = v.unwrap();
    assert_eq!(v.get("statut").and_then(Value::as_str), Some("delivered"), "{v:?}");
    let (_, v) =
        post(&url, certgate_xmlrpc::call("reference", &[single(("refClient", text("shop-7")))]).into_bytes()).await;
    let Some(Value::Array(found)) = v else { panic!("{v:?}") };
    assert_eq!(found.len(), 1);
    let (_, v) =
        post(&url, certgate_xmlrpc::call("statut", &[single(("refTBS", Value::Int(99_999)))]).into_bytes()).await;
    assert_eq!(fault_code(&v), Some(20), "an unknown order is a fault of its own: {v:?}");
    let (_, v) = post(&url, certgate_xmlrpc::call("statut", &[ident()]).into_bytes()).await;
    assert_eq!(fault_code(&v), Some(-32602), "neither demande nor refTBS: {v:?}");

    // removeFromCRL is not a reason to revoke for.
    let eight = bulk(&url, "revocation", st(&[("refTBS", Value::Int(id)), ("motif", Value::Int(8))])).await;
    assert_eq!(fault_of(&eight).0, Some(41), "{eight:?}");
    assert_eq!(f.orders.order_by_id(&f.op, id).await.unwrap().status, "delivered");

    // Every method answers to introspection, and every listed one exists.
    let (_, v) = post(&url, certgate_xmlrpc::call("system.listMethods", &[]).into_bytes()).await;
    let Some(Value::Array(listed)) = v else { panic!("{v:?}") };
    let listed: Vec<String> = listed.iter().filter_map(|m| m.as_str().map(str::to_string)).collect();
    for name in ["reference", "enSommeil", "dcvAdresses", "dcvEmailRenvoyer", "dcvCodeValidation"] {
        assert!(listed.iter().any(|m| m == name), "{name} is not listed: {listed:?}");
    }
    for name in &listed {
        for intro in ["system.methodHelp", "system.methodSignature"] {
            let (_, v) = post(&url, certgate_xmlrpc::call(intro, &[text(name)]).into_bytes()).await;
            assert!(fault_code(&v).is_none(), "{intro}({name}): {v:?}");
        }
        if !name.starts_with("system.") {
            let (_, v) = post(&url, certgate_xmlrpc::call(name, &[ident()]).into_bytes()).await;
            assert_ne!(fault_code(&v), Some(-32601), "{name} is listed but not callable");
        }
    }
}
