//! The ACME load generator: N concurrent instant-acme clients, each with one
//! EAB account, running full one-name issuances against any directory URL,
//! with every HTTP exchange timed and sorted by what it was for.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{
    Account, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType, Error, ExternalAccountKey, HttpClient,
    Identifier, NewAccount, NewOrder, Order, OrderStatus,
};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::stats::{Samples, ms};

/// What one HTTP exchange was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// GET of the directory.
    Directory,
    /// HEAD of newNonce (instant-acme asks for one only when it holds none).
    NewNonce,
    /// POST to newAccount, with EAB.
    NewAccount,
    /// POST to newOrder.
    NewOrder,
    /// POST-as-GET of an authorization.
    Authz,
    /// POST to a challenge (only when the authorization is pending).
    Challenge,
    /// POST to the order's finalize URL with the CSR.
    Finalize,
    /// POST-as-GET of the order, waiting for ready or valid.
    OrderPoll,
    /// POST-as-GET of the certificate chain.
    Certificate,
}

impl Kind {
    /// The name printed in tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Directory => "directory",
            Kind::NewNonce => "new-nonce",
            Kind::NewAccount => "new-account",
            Kind::NewOrder => "new-order",
            Kind::Authz => "authz",
            Kind::Challenge => "challenge",
            Kind::Finalize => "finalize",
            Kind::OrderPoll => "order poll",
            Kind::Certificate => "certificate",
        }
    }
}

tokio::task_local! {
    /// The step a client is in: instant-acme's own requests (a nonce fetch,
    /// a badNonce retry) are charged to the step that made them, which works
    /// whatever URL layout the server uses.
    static STEP: Kind;
}

/// Latencies by request kind, shared by all clients of a run.
type Timings = Arc<Mutex<BTreeMap<Kind, Vec<Duration>>>>;

/// instant-acme's HTTP client: hyper-util with TCP_NODELAY (without it,
/// every request on loopback waits about 40 ms for a delayed ACK), http or
/// https with an extra root, timing each exchange up to its last body byte.
#[derive(Clone)]
struct TimedHttp {
    client: Client<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>,
    timings: Timings,
}

impl TimedHttp {
    fn new(roots: &RootCertStore, timings: Timings) -> TimedHttp {
        let tls = rustls::ClientConfig::builder_with_provider(rustls::crypto::aws_lc_rs::default_provider().into())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        TimedHttp { client: Client::builder(TokioExecutor::new()).build(https), timings }
    }
}

impl HttpClient for TimedHttp {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, Error>> + Send>> {
        let kind = match *req.method() {
            http::Method::HEAD => Kind::NewNonce,
            http::Method::GET => Kind::Directory,
            _ => STEP.try_with(|k| *k).unwrap_or(Kind::Directory),
        };
        let start = Instant::now();
        let sent = self.client.request(req);
        let timings = self.timings.clone();
        Box::pin(async move {
            let rsp = sent.await.map_err(|e| Error::Other(Box::new(e)))?;
            let (parts, body) = rsp.into_parts();
            let body = body.collect().await.map_err(|e| Error::Other(Box::new(e)))?.to_bytes();
            timings.lock().expect("timings").entry(kind).or_default().push(start.elapsed());
            Ok(BytesResponse::from(http::Response::from_parts(parts, Full::new(body))))
        })
    }
}

/// Where to issue from.
#[derive(Clone)]
pub struct Target {
    /// The ACME directory URL.
    pub directory: String,
    /// The EAB key ID.
    pub eab_kid: String,
    /// The EAB HMAC key, decoded.
    pub eab_hmac: Vec<u8>,
    /// Extra roots to trust (a test CA's TLS root), PEM.
    pub ca_bundle: Option<std::path::PathBuf>,
    /// The domain under which names are made up (`c3-17.<domain>`).
    pub domain: String,
}

/// A CPU counter sampled before and after the measured phase.
pub struct Probe {
    /// What it measures, for the report.
    pub name: String,
    /// CPU seconds so far.
    pub read: Box<dyn Fn() -> f64 + Send + Sync>,
}

/// How to load the target.
pub struct Load {
    /// Concurrent clients, each with its own account and connections.
    pub clients: usize,
    /// Issuances in the measured phase, shared among the clients.
    pub issuances: usize,
    /// Start issuances at this overall rate (per second) instead of back to back.
    pub rate: Option<f64>,
    /// No issuance finishing for this long means the server stalled.
    pub stall: Duration,
    /// The whole measured phase may take no longer than this.
    pub timeout: Duration,
}

/// What a run measured.
pub struct Report {
    /// Clients.
    pub clients: usize,
    /// Issuances completed in the measured phase.
    pub issued: usize,
    /// Issuances that ended in an error.
    pub failed: usize,
    /// The first few errors, for the console.
    pub errors: Vec<String>,
    /// True when the run was stopped because nothing finished for `stall`
    /// (or the timeout passed).
    pub stalled: bool,
    /// Wall time of the measured phase.
    pub wall: Duration,
    /// Wall time to create the accounts.
    pub setup: Duration,
    /// End-to-end latency of each issuance.
    pub issuance: Samples,
    /// Latency of each request kind (new-account from the set-up phase).
    pub kinds: BTreeMap<Kind, Samples>,
    /// CPU seconds spent during the measured phase, per probe.
    pub cpu: Vec<(String, f64)>,
    /// CPU seconds this load generator spent in the measured phase.
    pub client_cpu: f64,
}

impl Report {
    /// Issuances per second.
    pub fn rate(&self) -> f64 {
        self.issued as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Milliseconds of CPU per issuance that probe number `probe` measured.
    pub fn cpu_per_issuance_ms(&self, probe: usize) -> Option<f64> {
        let (_, s) = self.cpu.get(probe)?;
        (self.issued > 0).then(|| s * 1000.0 / self.issued as f64)
    }

    /// Prints the report.
    pub fn print(&self) {
        let state = if self.stalled { "  STALLED" } else { "" };
        println!(
            "clients {:>3}: {} issued, {} failed in {:.2} s = {:.1} issuances/s{state}  (accounts in {:.2} s)",
            self.clients,
            self.issued,
            self.failed,
            self.wall.as_secs_f64(),
            self.rate(),
            self.setup.as_secs_f64()
        );
        for e in &self.errors {
            println!("  error: {e}");
        }
        println!(
            "  issuance     p50 {:>9}  p99 {:>9}  max {:>9}",
            ms(self.issuance.p(0.5)),
            ms(self.issuance.p(0.99)),
            ms(self.issuance.max())
        );
        for (kind, s) in self.kinds.iter().filter(|(_, s)| !s.is_empty()) {
            let per = if *kind == Kind::NewAccount || *kind == Kind::Directory || self.issued == 0 {
                String::new()
            } else {
                format!("  {:.2}/issuance", s.len() as f64 / self.issued as f64)
            };
            println!("  {:<12} p50 {:>9}  p99 {:>9}  n {:>6}{per}", kind.name(), ms(s.p(0.5)), ms(s.p(0.99)), s.len());
        }
        for (i, (name, secs)) in self.cpu.iter().enumerate() {
            let per = self.cpu_per_issuance_ms(i).unwrap_or(0.0);
            println!("  CPU {name}: {:.2} s = {per:.3} ms/issuance", secs);
        }
        let per = if self.issued > 0 { self.client_cpu * 1000.0 / self.issued as f64 } else { 0.0 };
        println!("  CPU load generator: {:.2} s = {per:.3} ms/issuance", self.client_cpu);
    }
}

/// The system roots plus those in `bundle`.
fn roots(bundle: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    if let Some(path) = bundle {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        roots.add_parsable_certificates(certs);
    }
    Ok(roots)
}

/// Polls the order until it leaves `while_in`, backing off from 2 ms to
/// 50 ms: quick enough not to hide a fast server's latency, slow enough not
/// to turn a slow one into a polling benchmark. Retry-After is ignored
/// (certgate's 1 s would measure the client's patience, not the server).
async fn poll_while(order: &mut Order, while_in: OrderStatus) -> Result<OrderStatus, String> {
    let mut delay = Duration::from_millis(2);
    for _ in 0..2000 {
        let status = STEP.scope(Kind::OrderPoll, order.refresh()).await.map_err(|e| e.to_string())?.status;
        if status != while_in {
            return Ok(status);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(50));
    }
    Err(format!("order still {while_in:?} after 2000 polls"))
}

/// One issuance of `name` by `account`.
async fn issue(account: &Account, name: String, csr_key: &rcgen::KeyPair) -> Result<(), String> {
    let ids = [Identifier::Dns(name.clone())];
    let mut order =
        STEP.scope(Kind::NewOrder, account.new_order(&NewOrder::new(&ids))).await.map_err(|e| e.to_string())?;
    {
        let mut authzs = order.authorizations();
        while let Some(authz) = STEP.scope(Kind::Authz, authzs.next()).await {
            let mut authz = authz.map_err(|e| format!("authz: {e}"))?;
            // certgate's pre-validated names are valid already; pebble's
            // (always-valid VA) still need the challenge to be answered.
            if authz.status == AuthorizationStatus::Pending {
                let mut ch = authz.challenge(ChallengeType::Http01).ok_or("no http-01 challenge")?;
                STEP.scope(Kind::Challenge, ch.set_ready()).await.map_err(|e| format!("challenge: {e}"))?;
            }
        }
    }
    let mut status = order.state().status;
    if status == OrderStatus::Pending {
        status = poll_while(&mut order, OrderStatus::Pending).await?;
    }
    if status != OrderStatus::Ready {
        return Err(format!("order {status:?}, not ready"));
    }
    let mut params = rcgen::CertificateParams::new(vec![name]).map_err(|e| e.to_string())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(csr_key).map_err(|e| e.to_string())?;
    STEP.scope(Kind::Finalize, order.finalize_csr(csr.der())).await.map_err(|e| format!("finalize: {e}"))?;
    let mut status = order.state().status;
    if status == OrderStatus::Processing || status == OrderStatus::Ready {
        status = poll_while(&mut order, status).await?;
    }
    if status != OrderStatus::Valid {
        return Err(format!("order {status:?} after finalize"));
    }
    let chain = STEP.scope(Kind::Certificate, order.certificate()).await.map_err(|e| format!("certificate: {e}"))?;
    match chain {
        Some(pem) if pem.contains("BEGIN CERTIFICATE") => Ok(()),
        _ => Err("no certificate chain".into()),
    }
}

/// Runs the load and measures it.
pub async fn run(target: &Target, load: &Load, probes: &[Probe]) -> Result<Report, String> {
    let roots = roots(target.ca_bundle.as_deref())?;
    let timings: Timings = Arc::default();

    // Set-up: one EAB account per client, all at once.
    let t0 = Instant::now();
    let mut setup = tokio::task::JoinSet::new();
    for _ in 0..load.clients {
        let http = TimedHttp::new(&roots, timings.clone());
        // One key per client: instant-acme's key is not Clone.
        let eab = ExternalAccountKey::new(target.eab_kid.clone(), &target.eab_hmac);
        let dir = target.directory.clone();
        setup.spawn(async move {
            let new = NewAccount { contact: &[], terms_of_service_agreed: true, only_return_existing: false };
            STEP.scope(Kind::NewAccount, Account::builder_with_http(Box::new(http)).create(&new, dir, Some(&eab)))
                .await
                .map(|(a, _)| a)
        });
    }
    let mut accounts = Vec::new();
    let deadline = tokio::time::sleep(load.timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            r = setup.join_next() => match r {
                Some(r) => accounts.push(r.map_err(|e| e.to_string())?.map_err(|e| format!("new account: {e}"))?),
                None => break,
            },
            _ = &mut deadline => {
                setup.abort_all();
                return Err(format!("account set-up stalled ({} of {} accounts)", accounts.len(), load.clients));
            }
        }
    }
    let setup_wall = t0.elapsed();

    // The measured phase.
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    // Shared rather than returned by the tasks: a stalled run aborts them,
    // and what they finished before still counts.
    let results: Arc<Mutex<Vec<Result<Duration, String>>>> = Arc::default();
    let cpu0: Vec<f64> = probes.iter().map(|p| (p.read)()).collect();
    let own0 = crate::procstat::own_cpu_seconds();
    let t1 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (c, account) in accounts.into_iter().enumerate() {
        let (next, done, domain, results) = (next.clone(), done.clone(), target.domain.clone(), results.clone());
        let (total, rate) = (load.issuances, load.rate);
        tasks.spawn(async move {
            let key = rcgen::KeyPair::generate().expect("CSR key");
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return;
                }
                if let Some(rate) = rate {
                    let at = t1 + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(at.into()).await;
                }
                let s = Instant::now();
                let r = issue(&account, format!("c{c}-{i}.{domain}"), &key).await;
                results.lock().expect("results").push(r.map(|()| s.elapsed()));
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut stalled = false;
    let (mut last_done, mut last_change) = (0, Instant::now());
    while !tasks.is_empty() {
        tokio::select! {
            r = tasks.join_next() => if let Some(r) = r { r.map_err(|e| e.to_string())? },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                let d = done.load(Ordering::Relaxed);
                if d != last_done {
                    (last_done, last_change) = (d, Instant::now());
                }
                if last_change.elapsed() > load.stall || t1.elapsed() > load.timeout {
                    stalled = true;
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                }
            }
        }
    }
    // A stalled run is measured up to its last progress, not up to the abort.
    let wall = if stalled { last_change.duration_since(t1) } else { t1.elapsed() };
    let cpu: Vec<(String, f64)> = probes.iter().zip(cpu0).map(|(p, c0)| (p.name.clone(), (p.read)() - c0)).collect();
    let client_cpu = crate::procstat::own_cpu_seconds() - own0;

    let mut issuance = Vec::new();
    let mut errors = Vec::new();
    let mut failed = 0;
    let results = std::mem::take(&mut *results.lock().expect("results"));
    for r in results {
        match r {
            Ok(d) => issuance.push(d),
            Err(e) => {
                failed += 1;
                if errors.len() < 3 {
                    errors.push(e);
                }
            }
        }
    }
    let kinds =
        std::mem::take(&mut *timings.lock().expect("timings")).into_iter().map(|(k, v)| (k, Samples::new(v))).collect();
    Ok(Report {
        clients: load.clients,
        issued: issuance.len(),
        failed,
        errors,
        stalled,
        wall,
        setup: setup_wall,
        issuance: Samples::new(issuance),
        kinds,
        cpu,
        client_cpu,
    })
}
