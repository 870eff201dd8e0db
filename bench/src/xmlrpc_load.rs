//! XML-RPC against a running certgate: `statut` and `achat` calls per second
//! with the server's CPU per call, and the codec's decode speed next to
//! quick-xml's raw event scan of the same document.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use xmlrpc::{Limits, Value};

use crate::stats::{Samples, ms, time_per};

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn st(members: Vec<(&str, Value)>) -> Value {
    Value::Struct(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn ident(login: &str, password: &str) -> Value {
    st(vec![("identification", st(vec![("utilisateur", s(login)), ("motDePasse", s(password))]))])
}

/// One `achat` request for `name` (the legacy shape, as docs/xmlrpc.md shows it).
fn achat_request(csr: &str, name: &str, client_ref: &str) -> Value {
    st(vec![
        ("produit", st(vec![("code", s("ssl1"))])),
        ("requete", st(vec![("CSR", s(csr)), ("domainePrincipal", s(name)), ("domaines", s(""))])),
        ("organisation", st(vec![("siren", s("123456789")), ("nom", s("Bench Org"))])),
        ("paiement", st(vec![("modePaiement", s("pre"))])),
        ("divers", st(vec![("refClient", s(client_ref))])),
    ])
}

/// An `achat` call body with `n` requests.
pub fn achat_body(login: &str, password: &str, csrs: &[(String, String)], n: usize, tag: usize) -> String {
    let demande = (0..n)
        .map(|i| {
            let (name, csr) = &csrs[(tag + i) % csrs.len()];
            (format!("r{i}"), achat_request(csr, name, &format!("bench-{tag}-{i}")))
        })
        .collect();
    xmlrpc::call("achat", &[ident(login, password), Value::Struct(demande)])
}

/// A `statut` call body for order `reference`.
pub fn statut_body(login: &str, password: &str, reference: i64) -> String {
    let demande = st(vec![("s", st(vec![("refTBS", Value::Int(reference))]))]);
    xmlrpc::call("statut", &[ident(login, password), demande])
}

/// `n` CSRs for names under `domain`, with their names.
pub fn csrs(n: usize, domain: &str) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let name = format!("x{i}.{domain}");
            let pem = certgate_tests::csr(&[&name], certgate_tests::Key::P256);
            (name, pem)
        })
        .collect()
}

/// What a run of calls measured.
pub struct CallReport {
    /// The method.
    pub method: &'static str,
    /// Calls answered without a fault.
    pub ok: usize,
    /// Calls answered with a fault or an HTTP error.
    pub failed: usize,
    /// The first failure, for the console.
    pub first_error: Option<String>,
    /// Wall time.
    pub wall: Duration,
    /// Latency of each call.
    pub latency: Samples,
    /// Server CPU seconds during the calls.
    pub server_cpu: f64,
}

impl CallReport {
    /// Calls per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Server CPU milliseconds per call.
    pub fn cpu_ms(&self) -> f64 {
        self.server_cpu * 1000.0 / self.ok.max(1) as f64
    }

    /// Prints the report.
    pub fn print(&self) {
        println!(
            "{:<7} {} ok, {} failed: {:.0} calls/s  p50 {}  p99 {}  server CPU {:.3} ms/call",
            self.method,
            self.ok,
            self.failed,
            self.rate(),
            ms(self.latency.p(0.5)),
            ms(self.latency.p(0.99)),
            self.cpu_ms()
        );
        if let Some(e) = &self.first_error {
            println!("  first failure: {e}");
        }
    }
}

/// An HTTP client for XML-RPC calls.
pub type Http = Client<HttpConnector, Full<Bytes>>;

/// A client with TCP_NODELAY on (without it every call on loopback waits for
/// a delayed ACK).
pub fn http_client() -> Http {
    let mut tcp = HttpConnector::new();
    tcp.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(tcp)
}

/// Posts one XML-RPC call; the HTTP status and the answer's text.
pub async fn post(client: &Http, url: &str, body: String) -> Result<(http::StatusCode, String), String> {
    let req = http::Request::post(url)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let rsp = client.request(req).await.map_err(|e| e.to_string())?;
    let status = rsp.status();
    let body = rsp.into_body().collect().await.map_err(|e| e.to_string())?;
    Ok((status, String::from_utf8_lossy(&body.to_bytes()).into_owned()))
}

/// True when order `reference` is delivered, by a plain `statut` call.
pub async fn delivered(client: &Http, url: &str, login: &str, password: &str, reference: i64) -> bool {
    post(client, url, statut_body(login, password, reference))
        .await
        .is_ok_and(|(_, text)| text.contains("<string>delivered</string>"))
}

/// Sends `calls` bodies made by `body(i)` from `clients` concurrent callers to `url`.
pub async fn run(
    url: &str,
    method: &'static str,
    clients: usize,
    calls: usize,
    body: Arc<dyn Fn(usize) -> String + Send + Sync>,
    server_cpu: &(dyn Fn() -> f64 + Sync),
) -> CallReport {
    let client = http_client();
    let bodies: Arc<Vec<String>> = Arc::new((0..calls).map(|i| body(i)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let cpu0 = server_cpu();
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (client, bodies, next, url) = (client.clone(), bodies.clone(), next.clone(), url.to_string());
        tasks.spawn(async move {
            let mut out: Vec<Result<Duration, String>> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() {
                    return out;
                }
                let start = Instant::now();
                let r = match post(&client, &url, bodies[i].clone()).await {
                    Ok((status, text)) if status.is_success() && !text.contains("faultCode") => Ok(start.elapsed()),
                    Ok((status, text)) => Err(format!("HTTP {status}: {}", text.chars().take(300).collect::<String>())),
                    Err(e) => Err(e),
                };
                out.push(r);
            }
        });
    }
    let mut lat = Vec::new();
    let (mut failed, mut first_error) = (0, None);
    while let Some(r) = tasks.join_next().await {
        for r in r.expect("caller") {
            match r {
                Ok(d) => lat.push(d),
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    let wall = t0.elapsed();
    CallReport {
        method,
        ok: lat.len(),
        failed,
        first_error,
        wall,
        latency: Samples::new(lat),
        server_cpu: server_cpu() - cpu0,
    }
}

/// Decode speeds of one document, in MB/s.
pub struct Codec {
    /// The document's size in bytes.
    pub bytes: usize,
    /// `xmlrpc::parse_call`.
    pub parse_call: f64,
    /// quick-xml reading every event, no values built.
    pub quick_xml_scan: f64,
}

/// Times the codec on an `achat` with `entries` requests.
pub fn codec(entries: usize) -> Codec {
    let csrs = csrs(16, "bench.test");
    let doc = achat_body("bench-api", "a password", &csrs, entries, 0).into_bytes();
    let limits = Limits { max_bytes: usize::MAX, max_depth: 64, max_elements: usize::MAX, ..Limits::default() };
    let parsed = xmlrpc::parse_call(&doc, &limits).expect("the document parses");
    assert_eq!(parsed.method, "achat");
    let runs = (50_000_000 / doc.len()).clamp(5, 200);
    let t_parse = time_per(runs, || xmlrpc::parse_call(&doc, &limits).map(|c| c.params.len()).unwrap_or(0));
    let t_scan = time_per(runs, || {
        // Borrowing events straight from the slice: quick-xml's fastest mode.
        let mut r = quick_xml::Reader::from_reader(doc.as_slice());
        let mut n = 0usize;
        loop {
            match r.read_event() {
                Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                Ok(_) => n += 1,
            }
        }
        n
    });
    let mbs = |t: Duration| doc.len() as f64 / 1e6 / t.as_secs_f64();
    Codec { bytes: doc.len(), parse_call: mbs(t_parse), quick_xml_scan: mbs(t_scan) }
}

/// The time of one Argon2 verification with the parameters certgate hashes
/// API passwords with (`Argon2::default()`), which every authenticated
/// XML-RPC call pays.
pub fn argon2_verify(runs: usize) -> Duration {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};
    let argon = argon2::Argon2::default();
    let hash = argon.hash_password(b"bench api password").expect("hash").to_string();
    let parsed = argon2::PasswordHash::new(&hash).expect("hash parses");
    time_per(runs, || argon.verify_password(b"bench api password", &parsed).is_ok())
}
