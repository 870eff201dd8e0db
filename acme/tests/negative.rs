//! Bad ACME requests over HTTP, made by hand so that each one is wrong in
//! exactly one way: each gets the right problem type, a fresh nonce, and
//! leaves nothing written or charged.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use certgate_acme::{Acme, Settings};
use certgate_tests::{Fixture, Footprint, Key, TestDb, csr, footprint, openssl_csr, serve_router};
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
    certgate_tests::scalar(f.orders.db(), "SELECT COUNT(*) FROM acme_used_nonces").await
}

async fn unchanged(f: &Fixture, before: &Footprint, what: &str) {
    assert_eq!(&footprint(f.orders.db()).await, before, "{what} wrote or charged something");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_request_gets_its_problem_and_changes_nothing() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
    let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
    let base = serve(&f).await;
    let mut alice = Raw::new(&base, &creds.path);
    assert_eq!(alice.register(&creds).await.status, 201);

    let www = json!({"identifiers": [{"type": "dns", "value": "www.example.test"}]}).to_string();
    let before = footprint(f.orders.db()).await;

    // A nonce is good once.
    let nonce = alice.nonce().await;
    let url = alice.url("new-order");
    let ok = alice.send(&url, "application/jose+json", alice.jws(&alice.header(&url, &nonce), &www)).await;
    assert_eq!(ok.status, 201);
    let replay = alice.send(&url, "application/jose+json", alice.jws(&alice.header(&url, &nonce), &www)).await;
    assert_eq!((replay.status, problem(&replay)), (400, "badNonce"));
    assert!(replay.nonce.is_some(), "errors carry a fresh nonce too");
    // Nonces are sealed, not stored: an altered one, or one past its expiry,
    // is refused before anything is written (not even its use).
    let used_before = used_nonces(&f).await;
    let fresh = alice.nonce().await;
    let altered = format!("{}{}", if fresh.starts_with('A') { 'B' } else { 'A' }, &fresh[1..]);
    for (what, nonce) in [("altered", altered.as_str()), ("made up", "bm90LWEtbm9uY2UtdGhpcy1zZXJ2ZXItbWFkZQ")] {
        let a = alice.send(&url, "application/jose+json", alice.jws(&alice.header(&url, nonce), &www)).await;
        assert_eq!((a.status, problem(&a)), (400, "badNonce"), "{what}");
        assert!(a.body["detail"].as_str().unwrap().contains("not one this server issued"), "{what}: {}", a.body);
    }
    f.orders.set_clock_offset(3601);
    let a = alice.send(&url, "application/jose+json", alice.jws(&alice.header(&url, &fresh), &www)).await;
    assert_eq!((a.status, problem(&a)), (400, "badNonce"));
    assert!(a.body["detail"].as_str().unwrap().contains("expired"), "{}", a.body);
    f.orders.set_clock_offset(0);
    assert_eq!(used_nonces(&f).await, used_before, "refused nonces leave no trace");
    let order_url = ok.location.clone().unwrap();
    let order_rest = alice.rest(&order_url);
    let before_orders = footprint(f.orders.db()).await;
    assert_eq!(
        (before_orders.orders, before_orders.ledger),
        (before.orders, before.ledger),
        "new-order charges nothing"
    );
    let before = before_orders;

    // The url header must be the URL the request went to.
    let wrong = alice.jws(&alice.header(&alice.url("new-account"), &alice.nonce().await), &www);
    let a = alice.send(&url, "application/jose+json", wrong).await;
    assert_eq!((a.status, problem(&a)), (403, "unauthorized"));

    // alg none and HMAC are refused.
    for alg in ["none", "HS256"] {
        let h = json!({"alg": alg, "kid": alice.kid, "nonce": alice.nonce().await, "url": url});
        let a = alice.send(&url, "application/jose+json", alice.jws(&h, &www)).await;
        assert_eq!(problem(&a), "badSignatureAlgorithm", "{alg}");
        assert!(a.body["algorithms"].as_array().is_some_and(|v| v.contains(&json!("ES256"))));
    }

    // A signature by another key than the account's.
    let mallory = Raw::new(&base, &creds.path);
    let forged = mallory.jws(&alice.header(&url, &alice.nonce().await), &www);
    let a = alice.send(&url, "application/jose+json", forged).await;
    assert_eq!((a.status, problem(&a)), (400, "malformed"));

    // The wrong content type, and an oversized body.
    let a = alice.send(&url, "application/json", alice.jws(&alice.header(&url, &alice.nonce().await), &www)).await;
    assert_eq!((a.status, problem(&a)), (415, "malformed"));
    let huge = json!({"identifiers": [{"type": "dns", "value": "x".repeat(70_000)}]}).to_string();
    let a = alice.post("new-order", &huge).await;
    assert_eq!((a.status, problem(&a)), (413, "malformed"));

    // A crit header names an extension certgate does not understand (RFC 7515 §4.1.11).
    let mut h = alice.header(&url, &alice.nonce().await);
    h["crit"] = json!(["exp"]);
    h["exp"] = json!(1);
    let a = alice.send(&url, "application/jose+json", alice.jws(&h, &www)).await;
    assert_eq!((a.status, problem(&a)), (400, "malformed"), "{}", a.body);
    assert!(a.body["detail"].as_str().unwrap().contains("crit"), "{}", a.body);
    // An accepted algorithm that does not fit the key is not said to be unaccepted.
    let mut h = alice.header(&url, &alice.nonce().await);
    h["alg"] = json!("ES384");
    let a = alice.send(&url, "application/jose+json", alice.jws(&h, &www)).await;
    let detail = a.body["detail"].as_str().unwrap();
    assert_eq!(problem(&a), "badSignatureAlgorithm", "{}", a.body);
    assert!(
        detail.contains("does not fit") && detail.contains("ES256") && !detail.contains("not accepted"),
        "{detail}"
    );
    let mut h = alice.header(&url, &alice.nonce().await);
    h["alg"] = json!("PS256");
    let a = alice.send(&url, "application/jose+json", alice.jws(&h, &www)).await;
    let detail = a.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("not accepted") && !detail.contains("one of PS256") && !detail.contains(", PS256"),
        "{detail}"
    );
    // The kid is the account URL exactly: a leading zero names no account.
    let kid = alice.kid.clone().unwrap();
    let (prefix, id) = kid.rsplit_once('/').unwrap();
    let padded = format!("{prefix}/0{id}");
    let h = json!({"alg": "ES256", "kid": padded, "nonce": alice.nonce().await, "url": url});
    let a = alice.send(&url, "application/jose+json", alice.jws(&h, &www)).await;
    assert_eq!(problem(&a), "accountDoesNotExist", "{}", a.body);
    unchanged(&f, &before, "bad JWS requests").await;

    // Finalize with a CSR naming an extra name, or with a 1024-bit key.
    let extra = csr(&["www.example.test", "extra.example.test"], Key::P256);
    let a = alice.post(&format!("{order_rest}/finalize"), &json!({"csr": csr_b64(&extra)}).to_string()).await;
    assert_eq!(problem(&a), "badCSR");
    assert!(a.body["detail"].as_str().unwrap().contains("extra.example.test"), "{}", a.body);
    let weak = openssl_csr(&["www.example.test"], "rsa:1024");
    let a = alice.post(&format!("{order_rest}/finalize"), &json!({"csr": csr_b64(&weak)}).to_string()).await;
    assert_eq!(problem(&a), "badCSR");
    assert!(a.body["detail"].as_str().unwrap().contains("1024"), "{}", a.body);
    // A CSR whose signature is broken (its last byte, inside the ECDSA
    // signature's s, changed): the front only reads it; the order refuses it.
    let (_, p) = x509_parser::pem::parse_x509_pem(csr(&["www.example.test"], Key::P256).as_bytes()).unwrap();
    let mut forged = p.contents.clone();
    *forged.last_mut().unwrap() ^= 0x01;
    let a = alice.post(&format!("{order_rest}/finalize"), &json!({"csr": b64(&forged)}).to_string()).await;
    assert_eq!(problem(&a), "badCSR");
    assert!(a.body["detail"].as_str().unwrap().contains("signature"), "{}", a.body);
    unchanged(&f, &before, "bad CSRs").await;

    // A good finalize charges once; another account cannot revoke the result.
    let good = csr(&["www.example.test"], Key::P256);
    let a = alice.post(&format!("{order_rest}/finalize"), &json!({"csr": csr_b64(&good)}).to_string()).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let again = alice.post(&format!("{order_rest}/finalize"), &json!({"csr": csr_b64(&good)}).to_string()).await;
    assert_eq!(problem(&again), "orderNotReady");
    Worker::new(f.orders.clone(), "t").drain().await.unwrap();
    let done = alice.post(&order_rest, "").await;
    assert_eq!(done.body["status"], "valid", "{}", done.body);
    let cert_rest = alice.rest(done.body["certificate"].as_str().unwrap());
    let pem = alice.post(&cert_rest, "").await;
    assert_eq!(pem.status, 200);
    // A POST-as-GET carries an empty payload (RFC 8555 §6.3).
    let account_orders = format!("{}/orders", alice.rest(alice.kid.as_deref().unwrap()));
    for rest in [&order_rest, &cert_rest, &account_orders] {
        let a = alice.post(rest, "{}").await;
        assert_eq!((a.status, problem(&a)), (400, "malformed"), "{rest}: {}", a.body);
        assert!(a.body["detail"].as_str().unwrap().contains("empty payload"), "{rest}: {}", a.body);
    }
    let leaf_der = {
        let certs = f.orders.list_orders(&f.op, &Default::default()).await.unwrap();
        let c = f.orders.certificates(&f.op, certs[0].reference.as_deref().unwrap()).await.unwrap().remove(0);
        x509_parser::pem::parse_x509_pem(c.leaf_pem.as_bytes()).unwrap().1.contents
    };
    let mut bob = Raw::new(&base, &creds.path);
    assert_eq!(bob.register(&creds).await.status, 201, "one EAB key may bind several accounts");
    let before = footprint(f.orders.db()).await;
    let a = bob.post("revoke-cert", &json!({"certificate": b64(&leaf_der)}).to_string()).await;
    assert_eq!((a.status, problem(&a)), (403, "unauthorized"));
    let a = bob.post(&order_rest, "").await;
    assert_eq!(a.status, 404, "another account's order is not visible");
    let authz_rest = alice.rest(done.body["authorizations"][0].as_str().unwrap());
    let deactivate = r#"{"status":"deactivated"}"#;
    let challenge = format!("{}/http-01", authz_rest.replace("authz/", "chall/"));
    for (rest, payload) in [(&authz_rest, ""), (&authz_rest, deactivate), (&challenge, "{}")] {
        let a = bob.post(rest, payload).await;
        assert_eq!(a.status, 404, "another account's authorization is not visible: {rest} {}", a.body);
        assert!(!a.body.to_string().contains("www.example.test"), "nothing of it is shown: {}", a.body);
    }
    assert_eq!(alice.post(&authz_rest, "").await.body["status"], "valid", "alice's authorization is intact");
    unchanged(&f, &before, "bob's attempts").await;

    // Without a pre-validation for the URL's organisation, new-order is refused.
    let bare = storage::organisations::NewOrganisation { account_id: f.account, name: "Bare", ..Default::default() };
    let bare = f.orders.create_organisation(&f.op, &bare).await.unwrap();
    let unvalidated = f.orders.create_acme_url(&f.op, "bare", "ssl1", bare).await.unwrap();
    let mut carol = Raw::new(&base, &unvalidated.path);
    assert_eq!(carol.register(&unvalidated).await.status, 201);
    let before = footprint(f.orders.db()).await;
    let a = carol.post("new-order", &www).await;
    assert_eq!(problem(&a), "unauthorized");
    assert!(a.body["detail"].as_str().unwrap().contains("no active OV pre-validation"), "{}", a.body);
    // A kid of another directory is not an account here.
    carol.kid = alice.kid.clone();
    let a = carol.post("new-order", &www).await;
    assert_eq!(problem(&a), "accountDoesNotExist");
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
    let audit = storage::audit::list(&mut f.orders.db().acquire().await.unwrap(), None, 5).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "acme.account.create" && e.ip == "203.0.113.9"), "{audit:?}");

    let mut spoofing = proxied(&serve(&f).await);
    let before = footprint(f.orders.db()).await;
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
    let before = footprint(f.orders.db()).await;
    let a = alice.post("new-order", &www).await;
    assert_eq!((a.status, problem(&a)), (429, "rateLimited"), "{}", a.body);
    let wait: u64 = a.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((3000..=3600).contains(&wait), "retry after {wait} s");
    unchanged(&f, &before, "a rate-limited new-order").await;
    // Another account of the same URL has its own allowance, within the URL's.
    let mut bob = Raw::new(&base, &creds.path);
    bob.register(&creds).await;
    assert_eq!(bob.post("new-order", &www).await.status, 201);
    let before = footprint(f.orders.db()).await;
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
    let before = footprint(f.orders.db()).await;
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
    assert_eq!(certgate_tests::scalar(f.orders.db(), persistence).await, 1, "unlogged");
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
