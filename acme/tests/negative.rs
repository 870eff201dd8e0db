//! Bad ACME requests over HTTP, made by hand so that each one is wrong in
//! exactly one way: each gets the right problem type, a fresh nonce, and
//! leaves nothing written or charged. They are tables, one test per subject
//! with a fixture of its own, and every case of a table is sent and checked
//! before the test fails, so that one wrong answer hides no other.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use certgate_acme::{Acme, Settings};
use certgate_tests::{Fixture, Footprint, Key, TestDb, csr, footprint, openssl_csr, post_head_only, serve_router};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orders::{Formula, NewAcmeUrlCredentials, Worker};
use serde_json::{Value, json};

type Http = Client<HttpConnector, Full<Bytes>>;

/// A hand-made ACME client: one P-256 key, raw JWS, raw HTTP.
struct Raw {
    http: Http,
    key: EcdsaKeyPair,
    dir: String,
    kid: Option<String>,
    /// The directory as the client believes it is reached (behind a proxy).
    public_dir: String,
    /// Headers a proxy in front would add.
    forwarded: Vec<(&'static str, String)>,
}

struct Answer {
    retry_after: Option<String>,
    status: u16,
    nonce: Option<String>,
    location: Option<String>,
    body: Value,
}

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

impl Raw {
    fn new(base: &str, path: &str) -> Raw {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        Raw::with_key(base, path, pkcs8.as_ref())
    }

    /// A client signing with a given P-256 key (PKCS#8 DER).
    fn with_key(base: &str, path: &str, pkcs8: &[u8]) -> Raw {
        let mut c = HttpConnector::new();
        c.set_nodelay(true);
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).unwrap();
        let dir = format!("{base}/acme/{path}");
        Raw {
            http: Client::builder(TokioExecutor::new()).build(c),
            key,
            public_dir: dir.clone(),
            dir,
            kid: None,
            forwarded: Vec::new(),
        }
    }

    /// The URL a request is signed for.
    fn url(&self, rest: &str) -> String {
        format!("{}/{rest}", self.public_dir)
    }

    /// What follows the directory's path in a URL the server gave (`order/3`).
    fn rest(&self, url: &str) -> String {
        url.strip_prefix(&self.url("")).unwrap_or_else(|| panic!("{url} is not under {}", self.public_dir)).to_string()
    }

    /// The URL a request is sent to.
    fn wire(&self, url: &str) -> String {
        url.replacen(&self.public_dir, &self.dir, 1)
    }

    fn jwk(&self) -> Value {
        let p = self.key.public_key().as_ref();
        json!({"crv": "P-256", "kty": "EC", "x": b64(&p[1..33]), "y": b64(&p[33..65])})
    }

    async fn send(&self, url: &str, content_type: &str, body: String) -> Answer {
        if body.len() > Settings::default().max_body_bytes {
            return self.send_head_only(url, content_type, body.len()).await;
        }
        let mut req = hyper::Request::post(self.wire(url)).header("content-type", content_type);
        for (k, v) in &self.forwarded {
            req = req.header(*k, v);
        }
        let req = req.body(Full::new(Bytes::from(body))).unwrap();
        let resp = self.http.request(req).await.unwrap();
        let status = resp.status().as_u16();
        let header = |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (nonce, location, retry_after) = (header("replay-nonce"), header("location"), header("retry-after"));
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Answer { retry_after, status, nonce, location, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    /// Sends only the head of a POST declaring a `length`-byte body (see
    /// [`post_head_only`]).
    async fn send_head_only(&self, url: &str, content_type: &str, length: usize) -> Answer {
        let mut headers = vec![("content-type", content_type.to_string())];
        headers.extend(self.forwarded.iter().map(|(k, v)| (*k, v.clone())));
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let a = post_head_only(&self.wire(url), &headers, length).await;
        Answer {
            status: a.status,
            nonce: a.header("replay-nonce"),
            location: a.header("location"),
            retry_after: a.header("retry-after"),
            body: serde_json::from_str(&a.body).unwrap_or(Value::Null),
        }
    }

    async fn nonce(&self) -> String {
        let req = hyper::Request::head(self.wire(&self.url("new-nonce"))).body(Full::new(Bytes::new())).unwrap();
        let resp = self.http.request(req).await.unwrap();
        resp.headers()["replay-nonce"].to_str().unwrap().to_string()
    }

    /// A JWS over `payload` with the given protected header.
    fn jws(&self, protected: &Value, payload: &str) -> String {
        let p = b64(protected.to_string().as_bytes());
        let body = if payload.is_empty() { String::new() } else { b64(payload.as_bytes()) };
        let sig = self.key.sign(&SystemRandom::new(), format!("{p}.{body}").as_bytes()).unwrap();
        json!({"protected": p, "payload": body, "signature": b64(sig.as_ref())}).to_string()
    }

    fn header(&self, url: &str, nonce: &str) -> Value {
        match &self.kid {
            Some(kid) => json!({"alg": "ES256", "kid": kid, "nonce": nonce, "url": url}),
            None => json!({"alg": "ES256", "jwk": self.jwk(), "nonce": nonce, "url": url}),
        }
    }

    /// A JWS of `payload` for `url` with a fresh nonce and the usual header,
    /// changed by `edit` first.
    async fn jws_with(&self, url: &str, payload: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut h = self.header(url, &self.nonce().await);
        edit(&mut h);
        self.jws(&h, payload)
    }

    async fn post(&self, rest: &str, payload: &str) -> Answer {
        let url = self.url(rest);
        let body = self.jws(&self.header(&url, &self.nonce().await), payload);
        self.send(&url, "application/jose+json", body).await
    }

    async fn register(&mut self, creds: &NewAcmeUrlCredentials) -> Answer {
        let url = self.url("new-account");
        let eab_protected = b64(json!({"alg": "HS256", "kid": creds.kid, "url": url}).to_string().as_bytes());
        let eab_payload = b64(self.jwk().to_string().as_bytes());
        let key =
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &URL_SAFE_NO_PAD.decode(&creds.hmac_key).unwrap());
        let mac = aws_lc_rs::hmac::sign(&key, format!("{eab_protected}.{eab_payload}").as_bytes());
        let payload = json!({
            "termsOfServiceAgreed": true,
            "externalAccountBinding": {"protected": eab_protected, "payload": eab_payload, "signature": b64(mac.as_ref())},
        });
        let a = self.post("new-account", &payload.to_string()).await;
        self.kid = a.location.clone();
        a
    }
}

fn problem(a: &Answer) -> &str {
    a.body["type"].as_str().unwrap_or("").trim_start_matches("urn:ietf:params:acme:error:")
}

async fn serve(f: &Fixture) -> String {
    serve_with(f, Settings::default()).await
}

async fn serve_with(f: &Fixture, settings: Settings) -> String {
    serve_router(Acme::new(f.orders.clone(), settings).router()).await
}

fn csr_b64(pem: &str) -> String {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    b64(&p.contents)
}

/// How many nonce uses the database has recorded.
async fn used_nonces(f: &Fixture) -> i64 {
    certgate_tests::scalar(&f.db, "SELECT COUNT(*) FROM acme_used_nonces").await
}

async fn unchanged(f: &Fixture, before: &Footprint, what: &str) {
    assert_eq!(&footprint(&f.db).await, before, "{what} wrote or charged something");
}

/// A new-order payload for one name under the pre-validated domain.
const WWW: &str = r#"{"identifiers":[{"type":"dns","value":"www.example.test"}]}"#;
const JOSE: &str = "application/jose+json";

/// A served directory for `ssl1` at the pre-validated organisation, with two
/// tokens to spend and alice's account registered: each test starts from its
/// own, so that what one test's requests did cannot explain another's answers.
struct Registered {
    f: Fixture,
    base: String,
    creds: NewAcmeUrlCredentials,
    alice: Raw,
    /// Kept for its temporary directory, which must outlive the server.
    _tdb: TestDb,
}

async fn registered() -> Registered {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
    let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
    let base = serve(&f).await;
    let mut alice = Raw::new(&base, &creds.path);
    let a = alice.register(&creds).await;
    assert_eq!(a.status, 201, "{}", a.body);
    Registered { f, base, creds, alice, _tdb: tdb }
}

/// `raw`'s new order for `www.example.test`, as the rest of its URL.
async fn order_www(raw: &Raw) -> String {
    let a = raw.post("new-order", WWW).await;
    assert_eq!(a.status, 201, "{}", a.body);
    raw.rest(a.location.as_deref().unwrap())
}

/// What a refused request must get. Every answer must also carry a fresh
/// nonce, so that a client can retry at once.
struct Expect {
    status: u16,
    /// The problem type, without its `urn:ietf:params:acme:error:` prefix;
    /// `None` where only the status matters (a 404 says nothing more).
    problem: Option<&'static str>,
    detail_has: Vec<&'static str>,
    detail_lacks: Vec<&'static str>,
    /// What the body must not show anywhere (another account's names).
    hides: Vec<&'static str>,
    /// An algorithm `algorithms` must list (RFC 8555 §6.2).
    offers: Option<&'static str>,
}

impl Expect {
    fn problem(status: u16, problem: &'static str) -> Expect {
        Expect { problem: Some(problem), ..Expect::status(status) }
    }

    fn status(status: u16) -> Expect {
        Expect {
            status,
            problem: None,
            detail_has: Vec::new(),
            detail_lacks: Vec::new(),
            hides: Vec::new(),
            offers: None,
        }
    }

    fn detail(mut self, part: &'static str) -> Expect {
        self.detail_has.push(part);
        self
    }

    fn detail_lacks(mut self, part: &'static str) -> Expect {
        self.detail_lacks.push(part);
        self
    }

    fn hides(mut self, part: &'static str) -> Expect {
        self.hides.push(part);
        self
    }

    fn offers(mut self, alg: &'static str) -> Expect {
        self.offers = Some(alg);
        self
    }

    /// Every way `a` differs from what is expected; empty when it does not.
    fn mismatches(&self, a: &Answer) -> Vec<String> {
        let mut wrong = Vec::new();
        if a.status != self.status {
            wrong.push(format!("status {} instead of {}", a.status, self.status));
        }
        if let Some(want) = self.problem
            && problem(a) != want
        {
            wrong.push(format!("problem {:?} instead of {want:?}", problem(a)));
        }
        if a.nonce.is_none() {
            wrong.push("no fresh nonce".to_string());
        }
        let detail = a.body["detail"].as_str();
        if detail.is_none() && !(self.detail_has.is_empty() && self.detail_lacks.is_empty()) {
            wrong.push("no detail".to_string());
        }
        let detail = detail.unwrap_or("");
        wrong.extend(self.detail_has.iter().filter(|p| !detail.contains(*p)).map(|p| format!("detail lacks {p:?}")));
        wrong.extend(self.detail_lacks.iter().filter(|p| detail.contains(*p)).map(|p| format!("detail has {p:?}")));
        let body = a.body.to_string();
        wrong.extend(self.hides.iter().filter(|p| body.contains(*p)).map(|p| format!("body shows {p:?}")));
        if let Some(alg) = self.offers
            && !a.body["algorithms"].as_array().is_some_and(|v| v.contains(&json!(alg)))
        {
            wrong.push(format!("algorithms does not list {alg}"));
        }
        wrong
    }
}

/// One request, signed beforehand, and what it must get.
struct Case {
    name: &'static str,
    url: String,
    content_type: &'static str,
    body: String,
    /// Seconds the server's clock is moved on while this request is sent.
    later_by: i64,
    expect: Expect,
}

impl Case {
    fn new(name: &'static str, url: &str, body: String, expect: Expect) -> Case {
        Case { name, url: url.to_string(), content_type: JOSE, body, later_by: 0, expect }
    }

    /// `by`'s ordinary signed POST of `payload` to `rest`.
    async fn post(name: &'static str, by: &Raw, rest: &str, payload: &str, expect: Expect) -> Case {
        let url = by.url(rest);
        let body = by.jws_with(&url, payload, |_| {}).await;
        Case::new(name, &url, body, expect)
    }

    fn content_type(mut self, content_type: &'static str) -> Case {
        self.content_type = content_type;
        self
    }

    fn later_by(mut self, secs: i64) -> Case {
        self.later_by = secs;
        self
    }
}

/// Sends every case of `table` through `by` (the bodies are already signed,
/// so any client of the server will do), whatever the earlier ones got, and
/// then fails naming each case whose answer was wrong.
async fn run(f: &Fixture, by: &Raw, table: &str, cases: Vec<Case>) {
    let total = cases.len();
    let mut failures = Vec::new();
    for c in cases {
        f.orders.set_clock_offset(c.later_by);
        let a = by.send(&c.url, c.content_type, c.body).await;
        f.orders.set_clock_offset(0);
        let wrong = c.expect.mismatches(&a);
        if !wrong.is_empty() {
            failures.push(format!("{} ({}): {}; got {} {}", c.name, c.url, wrong.join(", "), a.status, a.body));
        }
    }
    assert!(failures.is_empty(), "{table}: {} of {total} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_forged_and_expired_nonces_are_refused_without_a_trace() {
    let Registered { _tdb, f, alice, .. } = registered().await;
    let before = footprint(&f.db).await;
    let url = alice.url("new-order");
    let signed = |nonce: &str| alice.jws(&alice.header(&url, nonce), WWW);
    let used = alice.nonce().await;
    let ok = alice.send(&url, JOSE, signed(&used)).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let after_ok = footprint(&f.db).await;
    assert_eq!((after_ok.orders, after_ok.ledger), (before.orders, before.ledger), "new-order charges nothing");

    // Nonces are sealed, not stored: an altered one, or one past its expiry,
    // is refused before anything is written (not even its use).
    let used_before = used_nonces(&f).await;
    let fresh = alice.nonce().await;
    let altered = format!("{}{}", if fresh.starts_with('A') { 'B' } else { 'A' }, &fresh[1..]);
    let not_issued = || Expect::problem(400, "badNonce").detail("not one this server issued");
    let cases = vec![
        Case::new("replayed", &url, signed(&used), Expect::problem(400, "badNonce")),
        Case::new("altered", &url, signed(&altered), not_issued()),
        Case::new("made up", &url, signed("bm90LWEtbm9uY2UtdGhpcy1zZXJ2ZXItbWFkZQ"), not_issued()),
        Case::new("expired", &url, signed(&fresh), Expect::problem(400, "badNonce").detail("expired")).later_by(3601),
    ];
    run(&f, &alice, "bad nonces", cases).await;
    assert_eq!(used_nonces(&f).await, used_before, "refused nonces leave no trace");
    unchanged(&f, &after_ok, "bad nonces").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_jws_requests_get_their_problem_and_change_nothing() {
    let Registered { _tdb, f, base, creds, alice } = registered().await;
    let before = footprint(&f.db).await;
    let url = alice.url("new-order");
    let alg = |alg: &'static str| move |h: &mut Value| h["alg"] = json!(alg);
    let mallory = Raw::new(&base, &creds.path);
    let huge = json!({"identifiers": [{"type": "dns", "value": "x".repeat(70_000)}]}).to_string();
    let kid = alice.kid.clone().unwrap();
    let (prefix, id) = kid.rsplit_once('/').unwrap();
    let padded = format!("{prefix}/0{id}");
    let bad_alg = || Expect::problem(400, "badSignatureAlgorithm");
    let cases = vec![
        Case::new(
            "url header naming another endpoint",
            &url,
            alice.jws_with(&url, WWW, |h| h["url"] = json!(alice.url("new-account"))).await,
            Expect::problem(403, "unauthorized"),
        ),
        Case::new("alg none", &url, alice.jws_with(&url, WWW, alg("none")).await, bad_alg().offers("ES256")),
        Case::new("alg HS256", &url, alice.jws_with(&url, WWW, alg("HS256")).await, bad_alg().offers("ES256")),
        Case::new(
            "signed by another key than the account's",
            &url,
            mallory.jws(&alice.header(&url, &alice.nonce().await), WWW),
            Expect::problem(400, "malformed"),
        ),
        Case::new(
            "content type application/json",
            &url,
            alice.jws_with(&url, WWW, |_| {}).await,
            Expect::problem(415, "malformed"),
        )
        .content_type("application/json"),
        Case::post("oversized body", &alice, "new-order", &huge, Expect::problem(413, "malformed")).await,
        // RFC 7515 §4.1.11: an extension certgate does not understand.
        Case::new(
            "crit names an unknown extension",
            &url,
            alice
                .jws_with(&url, WWW, |h| {
                    h["crit"] = json!(["exp"]);
                    h["exp"] = json!(1);
                })
                .await,
            Expect::problem(400, "malformed").detail("crit"),
        ),
        // An accepted algorithm that does not fit the key is not said to be unaccepted.
        Case::new(
            "alg ES384 with a P-256 key",
            &url,
            alice.jws_with(&url, WWW, alg("ES384")).await,
            bad_alg().detail("does not fit").detail("ES256").detail_lacks("not accepted"),
        ),
        Case::new(
            "alg PS256",
            &url,
            alice.jws_with(&url, WWW, alg("PS256")).await,
            bad_alg().detail("not accepted").detail_lacks("one of PS256").detail_lacks(", PS256"),
        ),
        // The kid is the account URL exactly.
        Case::new(
            "kid with a leading zero",
            &url,
            alice.jws_with(&url, WWW, |h| h["kid"] = json!(padded)).await,
            Expect::problem(400, "accountDoesNotExist"),
        ),
    ];
    run(&f, &alice, "bad JWS requests", cases).await;
    unchanged(&f, &before, "bad JWS requests").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_csrs_at_finalize_get_bad_csr_and_change_nothing() {
    let Registered { _tdb, f, alice, .. } = registered().await;
    let finalize = format!("{}/finalize", order_www(&alice).await);
    let before = footprint(&f.db).await;
    let with = |der: &[u8]| json!({"csr": b64(der)}).to_string();
    let pem_der = |pem: &str| x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap().1.contents;
    let extra = pem_der(&csr(&["www.example.test", "extra.example.test"], Key::P256));
    let weak = pem_der(&openssl_csr(&["www.example.test"], "rsa:1024"));
    // Its last byte lies inside the ECDSA signature's s: the front only reads
    // the CSR, so the order core must be the one to refuse it.
    let mut forged = pem_der(&csr(&["www.example.test"], Key::P256));
    *forged.last_mut().unwrap() ^= 0x01;
    let bad_csr = || Expect::problem(400, "badCSR");
    let cases = vec![
        Case::post("a name the order lacks", &alice, &finalize, &with(&extra), bad_csr().detail("extra.example.test"))
            .await,
        Case::post("a 1024-bit RSA key", &alice, &finalize, &with(&weak), bad_csr().detail("1024")).await,
        Case::post("a broken signature", &alice, &finalize, &with(&forged), bad_csr().detail("signature")).await,
    ];
    run(&f, &alice, "bad CSRs", cases).await;
    unchanged(&f, &before, "bad CSRs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalized_order_is_read_with_empty_payloads_and_hidden_from_other_accounts() {
    let Registered { _tdb, f, base, creds, alice } = registered().await;
    let order_rest = order_www(&alice).await;
    let good = json!({"csr": csr_b64(&csr(&["www.example.test"], Key::P256))}).to_string();
    let a = alice.post(&format!("{order_rest}/finalize"), &good).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let again = alice.post(&format!("{order_rest}/finalize"), &good).await;
    assert_eq!(problem(&again), "orderNotReady", "{}", again.body);
    Worker::new(f.orders.clone(), "t").drain().await.unwrap();
    let done = alice.post(&order_rest, "").await;
    assert_eq!(done.body["status"], "valid", "{}", done.body);
    let cert_rest = alice.rest(done.body["certificate"].as_str().unwrap());
    let pem = alice.post(&cert_rest, "").await;
    assert_eq!(pem.status, 200, "{}", pem.body);

    // RFC 8555 §6.3: a POST-as-GET carries an empty payload, not even `{}`.
    let account_orders = format!("{}/orders", alice.rest(alice.kid.as_deref().unwrap()));
    let before = footprint(&f.db).await;
    let mut cases = Vec::new();
    for (name, rest) in [("order", &order_rest), ("certificate", &cert_rest), ("account's orders", &account_orders)] {
        let expect = Expect::problem(400, "malformed").detail("empty payload");
        cases.push(Case::post(name, &alice, rest, "{}", expect).await);
    }
    run(&f, &alice, "POST-as-GETs with a payload", cases).await;
    unchanged(&f, &before, "POST-as-GETs with a payload").await;

    let leaf_der = {
        let certs = f.orders.list_orders(&f.op, &Default::default()).await.unwrap();
        let c = f.orders.certificates(&f.op, certs[0].reference.as_deref().unwrap()).await.unwrap().remove(0);
        x509_parser::pem::parse_x509_pem(c.leaf_pem.as_bytes()).unwrap().1.contents
    };
    let mut bob = Raw::new(&base, &creds.path);
    assert_eq!(bob.register(&creds).await.status, 201, "one EAB key may bind several accounts");
    let before = footprint(&f.db).await;
    let authz_rest = alice.rest(done.body["authorizations"][0].as_str().unwrap());
    let challenge = format!("{}/http-01", authz_rest.replace("authz/", "chall/"));
    let revoke = json!({"certificate": b64(&leaf_der)}).to_string();
    // What is another account's is not found, and nothing of it is shown.
    let hidden = || Expect::status(404).hides("www.example.test");
    let cases = vec![
        Case::post("revoke alice's certificate", &bob, "revoke-cert", &revoke, Expect::problem(403, "unauthorized"))
            .await,
        Case::post("read alice's order", &bob, &order_rest, "", hidden()).await,
        Case::post("read alice's authorization", &bob, &authz_rest, "", hidden()).await,
        Case::post("deactivate alice's authorization", &bob, &authz_rest, r#"{"status":"deactivated"}"#, hidden())
            .await,
        Case::post("answer alice's challenge", &bob, &challenge, "{}", hidden()).await,
    ];
    run(&f, &bob, "bob's attempts", cases).await;
    assert_eq!(alice.post(&authz_rest, "").await.body["status"], "valid", "alice's authorization is intact");
    unchanged(&f, &before, "bob's attempts").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_orders_need_a_pre_validation_and_an_account_of_this_directory() {
    let Registered { _tdb, f, base, alice, .. } = registered().await;
    let bare = storage::organisations::NewOrganisation { account_id: f.account, name: "Bare", ..Default::default() };
    let bare = f.orders.create_organisation(&f.op, &bare).await.unwrap();
    let unvalidated = f.orders.create_acme_url(&f.op, "bare", "ssl1", bare).await.unwrap();
    let mut carol = Raw::new(&base, &unvalidated.path);
    assert_eq!(carol.register(&unvalidated).await.status, 201);
    let before = footprint(&f.db).await;
    let url = carol.url("new-order");
    let cases = vec![
        Case::post(
            "no pre-validation for the URL's organisation",
            &carol,
            "new-order",
            WWW,
            Expect::problem(403, "unauthorized").detail("no active OV pre-validation"),
        )
        .await,
        Case::new(
            "kid of another directory",
            &url,
            carol.jws_with(&url, WWW, |h| h["kid"] = json!(alice.kid)).await,
            Expect::problem(400, "accountDoesNotExist"),
        ),
    ];
    run(&f, &carol, "refused new-orders", cases).await;
    unchanged(&f, &before, "refused new-orders").await;
}

/// Behind a TLS terminator the client signs the https URL it used; that is
/// believed only from a trusted proxy. The same headers from anyone else
/// change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_are_believed_only_from_trusted_proxies() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
    let proxied = |base: &str| {
        let mut r = Raw::new(base, &creds.path);
        r.public_dir = format!("https://certs.example.test/acme/{}", creds.path);
        r.forwarded = vec![
            ("x-forwarded-proto", "https".into()),
            ("x-forwarded-host", "certs.example.test".into()),
            ("x-forwarded-for", "203.0.113.9".into()),
        ];
        r
    };
    let trusting = Settings { trusted_proxies: vec!["127.0.0.1".parse().unwrap()], ..Settings::default() };
    let mut through_proxy = proxied(&serve_with(&f, trusting).await);
    let a = through_proxy.register(&creds).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(a.location.as_deref().unwrap().starts_with("https://certs.example.test/acme/"), "{:?}", a.location);
    let audit = storage::audit::list(&mut f.db.acquire().await.unwrap(), None, 5).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "acme.account.create" && e.ip == "203.0.113.9"), "{audit:?}");

    let mut spoofing = proxied(&serve(&f).await);
    let before = footprint(&f.db).await;
    let a = spoofing.register(&creds).await;
    assert_eq!((a.status, problem(&a)), (403, "unauthorized"), "{}", a.body);
    unchanged(&f, &before, "a spoofed X-Forwarded-Host").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_orders_over_the_hourly_limit_are_rate_limited() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 5, "").await.unwrap();
    let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
    let limits = certgate_acme::RateLimits { orders_per_account: 2, orders_per_url: 3, ..Default::default() };
    let base = serve_with(&f, Settings { rate_limits: limits, ..Settings::default() }).await;
    let mut alice = Raw::new(&base, &creds.path);
    alice.register(&creds).await;
    let www = json!({"identifiers": [{"type": "dns", "value": "www.example.test"}]}).to_string();
    assert_eq!(alice.post("new-order", &www).await.status, 201);
    assert_eq!(alice.post("new-order", &www).await.status, 201);
    let before = footprint(&f.db).await;
    let a = alice.post("new-order", &www).await;
    assert_eq!((a.status, problem(&a)), (429, "rateLimited"), "{}", a.body);
    let wait: u64 = a.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((3000..=3600).contains(&wait), "retry after {wait} s");
    unchanged(&f, &before, "a rate-limited new-order").await;
    // Another account of the same URL has its own allowance, within the URL's.
    let mut bob = Raw::new(&base, &creds.path);
    bob.register(&creds).await;
    assert_eq!(bob.post("new-order", &www).await.status, 201);
    let before = footprint(&f.db).await;
    let a = bob.post("new-order", &www).await;
    assert_eq!((a.status, problem(&a)), (429, "rateLimited"), "{}", a.body);
    assert!(a.body["detail"].as_str().unwrap().contains("ACME URL"), "{}", a.body);
    let wait: u64 = a.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((3000..=3600).contains(&wait), "retry after {wait} s");
    unchanged(&f, &before, "a new-order over the ACME URL's limit").await;
}

/// revokeCert signed with the certificate's own key (no account) works; a
/// stranger's key does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_by_the_certificate_key() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
    let base = serve(&f).await;
    let mut alice = Raw::new(&base, &creds.path);
    alice.register(&creds).await;
    let order = alice
        .post("new-order", &json!({"identifiers": [{"type": "dns", "value": "www.example.test"}]}).to_string())
        .await;
    let rest = alice.rest(&order.location.unwrap());
    let cert_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["www.example.test".to_string()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&cert_key).unwrap();
    let a = alice.post(&format!("{rest}/finalize"), &json!({"csr": b64(csr.der())}).to_string()).await;
    assert_eq!(a.status, 200, "{}", a.body);
    Worker::new(f.orders.clone(), "t").drain().await.unwrap();
    let list = f.orders.list_orders(&f.op, &Default::default()).await.unwrap();
    let reference = list[0].reference.clone().unwrap();
    let cert = f.orders.certificates(&f.op, &reference).await.unwrap().remove(0);
    let der = x509_parser::pem::parse_x509_pem(cert.leaf_pem.as_bytes()).unwrap().1.contents;
    let revoke = json!({"certificate": b64(&der), "reason": 1}).to_string();

    let stranger = Raw::new(&base, &creds.path);
    let before = footprint(&f.db).await;
    let a = stranger.post("revoke-cert", &revoke).await;
    assert_eq!((a.status, problem(&a)), (403, "unauthorized"), "{}", a.body);
    unchanged(&f, &before, "a stranger's revocation").await;

    let holder = Raw::with_key(&base, &creds.path, cert_key.serialized_der());
    let a = holder.post("revoke-cert", &revoke).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let cert = f.orders.certificates(&f.op, &reference).await.unwrap().remove(0);
    assert_eq!(cert.revocation_reason, Some(1));
}

/// Two servers over one database, and an account registered at the first
/// whose own URL (a POST-as-GET of it is the simplest signed request) can be
/// fetched through either with a chosen nonce.
struct TwoServers {
    first: String,
    second: String,
    path: String,
    key: Vec<u8>,
    kid: String,
    rest: String,
}

impl TwoServers {
    async fn start(f: &Fixture) -> (TwoServers, Raw) {
        let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
        let (first, second) = (serve(f).await, serve(f).await);
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let mut alice = Raw::with_key(&first, &creds.path, pkcs8.as_ref());
        assert_eq!(alice.register(&creds).await.status, 201);
        let kid = alice.kid.clone().unwrap();
        let rest = alice.rest(&kid);
        let key = pkcs8.as_ref().to_vec();
        (TwoServers { first, second, path: creds.path, key, kid, rest }, alice)
    }

    /// The account's POST-as-GET through `server` (`first` or `second`),
    /// signed with `nonce`.
    async fn fetch_account(&self, server: &str, nonce: &str) -> Answer {
        self.fetch(server, &self.rest, nonce).await
    }

    /// The account's POST-as-GET of `rest` (`order/3`) through `server`,
    /// signed with `nonce`.
    async fn fetch(&self, server: &str, rest: &str, nonce: &str) -> Answer {
        let mut raw = Raw::with_key(server, &self.path, &self.key);
        raw.kid = Some(self.kid.replacen(&self.first, server, 1));
        let url = raw.url(rest);
        raw.send(&url, "application/jose+json", raw.jws(&raw.header(&url, nonce), "")).await
    }
}

/// On SQLite one process owns the database, so it remembers nonce uses in
/// memory and seals with a key of its own: nothing is written per request,
/// a replay is still refused, and a nonce from before a restart (another
/// process) is refused as unknown, with a fresh nonce to retry with.
#[tokio::test]
async fn sqlite_nonces_are_redeemed_in_memory_and_die_with_the_process() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    // The second server stands for the same database after a restart.
    let (s, alice) = TwoServers::start(&f).await;
    let nonce = alice.nonce().await;
    let first = s.fetch_account(&s.first, &nonce).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let replay = s.fetch_account(&s.first, &nonce).await;
    assert_eq!((replay.status, problem(&replay)), (400, "badNonce"));
    assert_eq!(used_nonces(&f).await, 0, "no use was written");

    let old = alice.nonce().await;
    let a = s.fetch_account(&s.second, &old).await;
    assert_eq!((a.status, problem(&a)), (400, "badNonce"));
    assert!(a.body["detail"].as_str().unwrap().contains("not one this server issued"), "{}", a.body);
    let retry = a.nonce.expect("the refusal carries a fresh nonce");
    let a = s.fetch_account(&s.second, &retry).await;
    assert_eq!(a.status, 200, "the retry with the fresh nonce is accepted: {}", a.body);
}

/// On PostgreSQL the used nonces are shared by every instance in an unlogged
/// table (their commits do not wait for the disk): a use is recorded, and a
/// replay at another instance of the same database is refused.
#[tokio::test]
async fn postgres_nonces_are_shared_in_an_unlogged_table() {
    let Some(tdb) = TestDb::postgres_or_skip().await else {
        return;
    };
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    let persistence =
        "SELECT CASE relpersistence WHEN 'u' THEN 1 ELSE 0 END FROM pg_class WHERE relname = 'acme_used_nonces'";
    assert_eq!(certgate_tests::scalar(&f.db, persistence).await, 1, "unlogged");
    let (s, alice) = TwoServers::start(&f).await;
    let nonce = alice.nonce().await;
    let used = used_nonces(&f).await;
    let first = s.fetch_account(&s.first, &nonce).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(used_nonces(&f).await, used + 1, "the use is recorded");
    let replay = s.fetch_account(&s.second, &nonce).await;
    assert_eq!((replay.status, problem(&replay)), (400, "badNonce"), "{}", replay.body);

    // A request signed with its key (new-account) redeems its nonce on its own.
    let existing = r#"{"onlyReturnExisting":true}"#;
    let key_signed = async |server: &str, nonce: &str| {
        let raw = Raw::with_key(server, &s.path, &s.key);
        let url = raw.url("new-account");
        raw.send(&url, "application/jose+json", raw.jws(&raw.header(&url, nonce), existing)).await
    };
    let a = key_signed(&s.second, &nonce).await;
    assert_eq!((a.status, problem(&a)), (400, "badNonce"), "a nonce used by a kid request: {}", a.body);
    let fresh = alice.nonce().await;
    let a = key_signed(&s.second, &fresh).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = key_signed(&s.first, &fresh).await;
    assert_eq!((a.status, problem(&a)), (400, "badNonce"), "replayed at the other instance: {}", a.body);

    // A POST-as-GET of an authorization or an order marks its nonce used in
    // the statement that reads it: a replay elsewhere shows nothing of it.
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let www = json!({"identifiers": [{"type": "dns", "value": "www.example.test"}]}).to_string();
    let created = alice.post("new-order", &www).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let authz_rest = alice.rest(created.body["authorizations"][0].as_str().unwrap());
    let order_rest = alice.rest(created.location.as_deref().unwrap());
    for rest in [&authz_rest, &order_rest] {
        let nonce = alice.nonce().await;
        let a = s.fetch(&s.first, rest, &nonce).await;
        assert_eq!(a.status, 200, "{rest}: {}", a.body);
        assert!(a.body.to_string().contains("www.example.test"), "{}", a.body);
        let replay = s.fetch(&s.second, rest, &nonce).await;
        assert_eq!((replay.status, problem(&replay)), (400, "badNonce"), "{rest}: {}", replay.body);
        assert!(!replay.body.to_string().contains("www.example.test"), "{}", replay.body);
    }
    tdb.cleanup().await;
}
