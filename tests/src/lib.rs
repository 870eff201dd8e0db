//! Test fixtures shared by certgate's tests: databases on every configured
//! backend (an SQLite file always; PostgreSQL when `CERTGATE_TEST_POSTGRES_URL`
//! is set, one fresh database per test), a ready order core with the embedded
//! CA and a customer account, and CSRs made with real keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use orders::{Caller, Formula, Orders, PlaceOrder, Rights, Settings, Source};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use sqlx::{Connection as _, Executor as _};
use storage::Db;
use storage::organisations::NewOrganisation;
use storage::sealed::SecretKey;
use upstream::{EmbeddedCa, Upstream};

mod acme_client;
pub mod attack;
pub mod binary;
pub mod browser;
pub mod notify_peers;
mod pebble;
pub mod portal;
mod serve;
pub mod tls_servers;
pub use acme_client::{Connections, acme_account, acme_http};
pub use pebble::{PEBBLE_EAB_HMAC, PEBBLE_EAB_KID, PEBBLE_PRICES, Pebble, PebbleOptions, pebble_connector};
pub use serve::{RawAnswer, post_head_only, serve_router};

/// A database made for one test, removed by [`TestDb::cleanup`] (or left
/// behind in a temporary directory or a uniquely named PostgreSQL database).
pub struct TestDb {
    /// The URL the database was opened with.
    pub url: String,
    /// The open, migrated database.
    pub db: Db,
    /// `sqlite` or `postgres`, for messages.
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000_000;
    format!("cgtest_{}_{t}_{n}", std::process::id())
}

impl TestDb {
    /// A migrated SQLite database in a fresh temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let db = Db::connect(&url).await.expect("sqlite connect");
        db.migrate().await.expect("sqlite migrate");
        TestDb { url, db, backend: "sqlite", _dir: Some(dir), pg_admin: None }
    }

    /// The SQLite file, for a test that opens it another way or looks beside
    /// it; `None` on PostgreSQL.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        self.url.strip_prefix("sqlite://").map(std::path::PathBuf::from)
    }

    /// A migrated, fresh PostgreSQL database, when `CERTGATE_TEST_POSTGRES_URL` is set.
    pub async fn postgres() -> Option<TestDb> {
        let admin = std::env::var("CERTGATE_TEST_POSTGRES_URL").ok().filter(|s| !s.is_empty())?;
        Some(TestDb::postgres_at(&admin).await)
    }

    /// A migrated, fresh PostgreSQL database made through `admin`, a URL whose
    /// user may create databases.
    pub async fn postgres_at(admin: &str) -> TestDb {
        let admin = admin.to_string();
        let name = unique_name();
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to the PostgreSQL admin URL");
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create test database");
        conn.close().await.ok();
        let url = database_url(&admin, &name);
        let db = Db::connect(&url).await.expect("postgres connect");
        db.migrate().await.expect("postgres migrate");
        TestDb { url, db, backend: "postgres", _dir: None, pg_admin: Some((admin, name)) }
    }

    /// The name of the PostgreSQL database this test made, if it is one.
    pub fn pg_name(&self) -> Option<&str> {
        self.pg_admin.as_ref().map(|(_, name)| name.as_str())
    }

    /// Every backend to run a storage or order test on: SQLite always,
    /// PostgreSQL when configured. Under `CI=true` PostgreSQL is required.
    pub async fn all() -> Vec<TestDb> {
        let mut out = vec![TestDb::sqlite().await];
        out.extend(TestDb::postgres_or_skip().await);
        out
    }

    /// The PostgreSQL database of a test that runs on PostgreSQL only: `None`
    /// (the test skips, saying why) when `CERTGATE_TEST_POSTGRES_URL` is not
    /// set; under `CI=true` it is required.
    pub async fn postgres_or_skip() -> Option<TestDb> {
        let pg = TestDb::postgres().await;
        if pg.is_none() {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI=true but CERTGATE_TEST_POSTGRES_URL is not set: the PostgreSQL run is required in CI"
            );
            eprintln!("SKIPPING the PostgreSQL run: CERTGATE_TEST_POSTGRES_URL is not set");
        }
        pg
    }

    /// Closes the pool and drops the PostgreSQL database.
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some((admin, name)) = &self.pg_admin
            && let Ok(mut conn) = sqlx::PgConnection::connect(admin).await
        {
            let _ = conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
        }
    }
}

/// The secret every fixture seals with.
pub const TEST_SECRET: &str = "test-secret-key-of-some-length";

/// Products for tests, in the import format: an OV product with SAN and
/// renewal codes and wildcards, a DV product without pre-validation, and a
/// product whose upstream is not configured.
pub const TEST_PRICES: &str = "\
Range,Code,Product,Validity (year),New order and renewal,Additional SAN,additional SAN Wildcard,Validation,Wildcard,Max SANs,SAN code,Wildcard SAN code,Renewal code,Renewal price,Upstream
Brand,ssl1,SSL OV 1 year,1,100.00,20.00,50.00,OV,yes,3,sanssl1,sanwildssl1,renssl1,90.00,embedded
Brand,dv1,SSL DV 1 year,1,10.00,5.00,-,DV,no,2,sandv1,,,,embedded
Brand,ghost1,Upstream missing,1,10.00,-,-,DV,no,0,,,,,nowhere
";

/// An order core over a test database with the embedded CA, and one account.
pub struct Fixture {
    /// The order core under test.
    pub orders: Orders,
    /// The account's operator (every right).
    pub op: Caller,
    /// The id of the test account.
    pub account: i64,
    /// The id of the account's pre-validated organisation.
    pub org: i64,
    /// The database under the order core, for tests to look at what was written.
    pub db: Db,
}

impl Fixture {
    /// Builds the order core, imports [`TEST_PRICES`], and creates an account
    /// of `formula` with an organisation that has an active OV pre-validation
    /// at `Brand` and the pre-validated domain `*.example.test`.
    pub async fn new(db: &TestDb, formula: Formula) -> Fixture {
        Fixture::with_settings(db, formula, Settings::default()).await
    }

    /// As [`Fixture::new`], with the order core's settings given.
    pub async fn with_settings(db: &TestDb, formula: Formula, settings: Settings) -> Fixture {
        let orders = order_core(&db.db, settings).await;
        let account = orders.create_account("Test", formula, "EUR", false, 0).await.expect("account");
        let op = Caller::operator(account);
        orders.import_prices(&op, TEST_PRICES, None).await.expect("import");
        let org = new_org(&orders, &op).await;
        Fixture { orders, op, account, org, db: db.db.clone() }
    }

    /// A request for the test product `ssl1` for this organisation, with `csr_pem`.
    pub fn ssl1_order(&self, csr_pem: String) -> PlaceOrder {
        PlaceOrder {
            organisation_id: self.org,
            product_code: "ssl1".into(),
            csr: csr_pem.into_bytes(),
            ..Default::default()
        }
    }

    /// A request for `ssl1` for this organisation, for `names` with a new P-256 key.
    pub fn ssl1_for(&self, names: &[&str]) -> PlaceOrder {
        self.ssl1_order(csr(names, Key::P256))
    }

    /// An ACME account (key thumbprint `thumbprint`) on a new ACME URL `web`
    /// for `ssl1` and this organisation, stored as the ACME front stores one.
    pub async fn acme_account(&self, thumbprint: &str) -> storage::acme_accounts::AcmeAccountRow {
        let url = self.orders.create_acme_url(&self.op, "web", "ssl1", self.org).await.expect("ACME URL");
        let mut c = self.db.acquire_writer().await.expect("connection");
        storage::acme_accounts::insert_or_get(&mut c, url.id, thumbprint, "{}", "", self.orders.now())
            .await
            .expect("ACME account")
            .0
    }

    /// A user of this account with `rights`, as an XML-RPC front would authenticate it.
    pub fn user(&self, rights: &str) -> Caller {
        Caller {
            account_id: self.account,
            login: format!("user-{rights}"),
            rights: Rights::parse(rights).expect("rights"),
            ip: "127.0.0.1".into(),
            source: Source::Xmlrpc,
            call: None,
        }
    }
}

/// An order core over `db` with the embedded CA (a restart is another call).
pub async fn order_core(db: &Db, settings: Settings) -> Orders {
    order_core_with(db, settings, Vec::new()).await
}

/// An order core over `db` with the embedded CA and the `extra` upstreams.
pub async fn order_core_with(db: &Db, settings: Settings, extra: Vec<Arc<dyn Upstream>>) -> Orders {
    let key = SecretKey::from_secret(TEST_SECRET);
    let ca = EmbeddedCa::load_or_create(db, &key, "embedded").await.expect("embedded CA");
    let mut upstreams: Vec<Arc<dyn Upstream>> = vec![Arc::new(ca)];
    upstreams.extend(extra);
    Orders::new(db.clone(), key, upstreams, settings)
}

/// Creates an organisation with an active OV pre-validation at `Brand` and
/// the pre-validated domain `*.example.test`.
pub async fn new_org(orders: &Orders, op: &Caller) -> i64 {
    let o = NewOrganisation { account_id: op.account_id, name: "Example Org", country: "FR", ..Default::default() };
    let org = orders.create_organisation(op, &o).await.expect("org");
    orders.add_prevalidation(op, org, "Brand", "OV", orders.now() + 365 * 86_400).await.expect("prevalidation");
    orders.add_domain(op, org, "*.example.test", true).await.expect("domain");
    org
}

/// The key types CSRs are made with.
#[derive(Clone, Copy, Debug)]
pub enum Key {
    /// An ECDSA P-256 key.
    P256,
    /// An ECDSA P-384 key.
    P384,
    /// A 2048-bit RSA key.
    Rsa2048,
    /// A 1024-bit RSA key, made by openssl, too weak for the order core.
    Rsa1024,
    /// An Ed25519 key, which the order core does not accept.
    Ed25519,
}

/// A PEM CSR for `names` (the first is the CN), with a fresh key of `key`.
pub fn csr(names: &[&str], key: Key) -> String {
    csr_with(names, key, |_| {})
}

/// As [`csr`], letting the caller change the request's parameters first
/// (to ask for CA:TRUE or code signing, say).
pub fn csr_with(names: &[&str], key: Key, edit: impl FnOnce(&mut CertificateParams)) -> String {
    if let Key::Rsa1024 = key {
        return openssl_csr(names, "rsa:1024");
    }
    csr_and_key_with(names, key, edit).0
}

/// A PEM CSR for `names` with a fresh P-256 key, and that key (PKCS#8 PEM),
/// for a test that serves the certificate it orders.
pub fn csr_and_key(names: &[&str]) -> (String, String) {
    csr_and_key_with(names, Key::P256, |_| {})
}

fn csr_and_key_with(names: &[&str], key: Key, edit: impl FnOnce(&mut CertificateParams)) -> (String, String) {
    let kp = match key {
        Key::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        Key::P384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        Key::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
        Key::Rsa2048 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048),
        Key::Rsa1024 => unreachable!("made by openssl in csr_with"),
    }
    .expect("key generation");
    let mut params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("params");
    let mut dn = DistinguishedName::new();
    if let Some(cn) = names.first() {
        dn.push(DnType::CommonName, *cn);
    }
    params.distinguished_name = dn;
    edit(&mut params);
    (params.serialize_request(&kp).expect("CSR").pem().expect("CSR PEM"), kp.serialize_pem())
}

/// A CSR made by `openssl req` with a key of `newkey` (e.g. `rsa:1024`, which
/// neither rcgen nor aws-lc will make).
pub fn openssl_csr(names: &[&str], newkey: &str) -> String {
    let sans: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
    let out = std::process::Command::new("openssl")
        .args(["req", "-new", "-nodes", "-keyout", "/dev/null", "-newkey", newkey, "-subj"])
        .arg(format!("/CN={}", names.first().copied().unwrap_or("")))
        .arg("-addext")
        .arg(format!("subjectAltName={}", sans.join(",")))
        .output()
        .expect("openssl req (install openssl)");
    assert!(out.status.success(), "openssl req: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("PEM")
}

/// Counts of the rows an operation may write, to show a refusal wrote nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// The number of orders.
    pub orders: i64,
    /// The number of ledger rows.
    pub ledger: i64,
    /// The number of jobs, but for the lifecycle sweeps a running worker
    /// queues by itself each period.
    pub jobs: i64,
    /// The number of certificates.
    pub certificates: i64,
    /// The sum of every balance, tokens and minor units alike.
    pub balances_sum: i64,
}

/// Counts the rows of `db` that orders, payments, jobs and issuances write.
pub async fn footprint(db: &Db) -> Footprint {
    Footprint {
        orders: scalar(db, "SELECT COUNT(*) FROM orders").await,
        ledger: scalar(db, "SELECT COUNT(*) FROM ledger").await,
        jobs: scalar(db, "SELECT COUNT(*) FROM jobs WHERE kind <> 'lifecycle'").await,
        certificates: scalar(db, "SELECT COUNT(*) FROM certificates").await,
        balances_sum: scalar(db, "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM balances").await,
    }
}

/// Runs `n` futures that `task` makes, each on a tokio task of its own so
/// that they race, and returns their outputs in the order they were made.
pub async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(task())).collect();
    let mut outputs = Vec::with_capacity(n);
    for t in tasks {
        outputs.push(t.await.expect("a racing task"));
    }
    outputs
}

/// How many threads of process `pid` bear `name` (Linux cuts names to 15
/// bytes): a runtime's workers, a background thread.
pub fn threads_named(pid: u32, name: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("/proc")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == name)
        .count()
}

/// The peak resident set (VmHWM) of process `pid`, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("/proc/<pid>/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// The one integer a query of `db` returns (a count, a sum).
pub async fn scalar(db: &Db, sql: &'static str) -> i64 {
    storage::sql::query_scalar(sql).fetch_one(&mut db.acquire().await.expect("conn")).await.expect(sql)
}

/// Checks that every order's ledger rows match the state it is in: an order
/// paid for and not undone (processing, waiting for DCV, delivered, revoked)
/// has its charges and no refund; one cancelled before purchase or failed
/// upstream nets to zero on every item; one never paid (pending approval,
/// cancelled while pending, discarded) has no ledger row at all. The
/// consumption sums are checked against the orders too, and each
/// certificate's account against its order's.
pub async fn assert_ledger_matches_orders(db: &Db) {
    let rows: Vec<(i64, String, Option<String>, i64, i64, i64)> = storage::sql::query_as(
        "SELECT o.id, o.status, l.asset || ':' || l.item,
                CAST(COALESCE(SUM(l.amount), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN l.reason = 'order' THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN l.reason = 'refund' THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM orders o LEFT JOIN ledger l ON l.order_id = o.id
         GROUP BY o.id, o.status, l.asset, l.item ORDER BY o.id",
    )
    .fetch_all(&mut db.acquire().await.expect("conn"))
    .await
    .expect("the ledger per order");
    for (order, status, item, sum, charges, refunds) in &rows {
        let why =
            format!("order {order} is {status}; ledger item {item:?}: sum {sum}, {charges} charges, {refunds} refunds");
        match status.as_str() {
            "processing" | "waiting_dcv" | "delivered" | "revoked" => {
                assert!(item.is_some() && *charges == 1 && *refunds == 0, "charged once, never refunded: {why}");
            }
            "cancelled_refunded" | "failed" => {
                assert!(*sum == 0 && charges == refunds, "refunded exactly: {why}");
            }
            "pending_approval" | "cancelled" | "discarded" => {
                assert!(item.is_none(), "never charged: {why}");
            }
            other => panic!("an order status the invariant does not know: {other} ({why})"),
        }
    }
    assert_consumption_matches_orders(db).await;
    let strays: i64 = storage::sql::query_scalar(
        "SELECT COUNT(*) FROM certificates c JOIN orders o ON o.id = c.order_id
         WHERE c.account_id IS NULL OR c.account_id <> o.account_id",
    )
    .fetch_one(&mut db.acquire().await.expect("conn"))
    .await
    .expect("the certificates' accounts");
    assert_eq!(strays, 0, "every certificate names its order's account (migration 0022)");
}

/// Checks that the monthly consumption sums that triggers keep (migration
/// 0020) equal the orders themselves, counted afresh: per account, UTC
/// calendar month and product, the orders not cancelled, refunded,
/// discarded or failed, and their summed price.
pub async fn assert_consumption_matches_orders(db: &Db) {
    let mut c = db.acquire().await.expect("conn");
    let orders: Vec<(i64, i64, String, String, i64)> =
        storage::sql::query_as("SELECT account_id, created_at, product_code, status, price FROM orders")
            .fetch_all(&mut c)
            .await
            .expect("the orders");
    let mut counted = std::collections::BTreeMap::<(i64, i64, String), (i64, i64)>::new();
    for (account, at, product, status, price) in orders {
        if ["cancelled", "cancelled_refunded", "discarded", "failed"].contains(&status.as_str()) {
            continue;
        }
        let day = time::OffsetDateTime::from_unix_timestamp(at).expect("a time").date();
        let month = day.replace_day(1).expect("a first day").midnight().assume_utc().unix_timestamp();
        let sum = counted.entry((account, month, product)).or_default();
        *sum = (sum.0 + 1, sum.1 + price);
    }
    let kept: Vec<(i64, i64, String, i64, i64)> = storage::sql::query_as(
        "SELECT account_id, month, product_code, orders, amount FROM consumption WHERE orders <> 0 OR amount <> 0",
    )
    .fetch_all(&mut c)
    .await
    .expect("the consumption sums");
    let kept: std::collections::BTreeMap<_, _> = kept.into_iter().map(|(a, m, p, n, s)| ((a, m, p), (n, s))).collect();
    assert_eq!(kept, counted, "the consumption sums kept against the orders counted");
}

/// Runs one statement on `db` (a test's own table, a deliberate damage).
pub async fn execute(db: &Db, sql: &'static str) {
    storage::sql::query(sql).execute(&mut db.acquire_writer().await.expect("conn")).await.expect(sql);
}

/// Runs `openssl verify` of `leaf` against `root` with `chain` as untrusted
/// intermediates; returns openssl's output on failure.
pub fn openssl_verify(root: &str, chain: &str, leaf: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (r, c, l) = (dir.path().join("root.pem"), dir.path().join("chain.pem"), dir.path().join("leaf.pem"));
    for (p, s) in [(&r, root), (&c, chain), (&l, leaf)] {
        std::fs::write(p, s).map_err(|e| e.to_string())?;
    }
    let out = std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&r)
        .arg("-untrusted")
        .arg(&c)
        .arg(&l)
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

/// The embedded CA's root certificate, PEM, as stored in `db`.
pub async fn embedded_root(db: &Db) -> String {
    storage::ca_keys::get(&mut db.acquire().await.expect("conn"), "embedded:root")
        .await
        .expect("read ca_keys")
        .expect("embedded root exists")
        .cert_pem
}

/// What every script of [`python_json`] may call: `fault_of(f)`, the
/// `[faultCode, faultString]` of the XML-RPC fault that `f()` raises, or
/// `None` when it raises none.
const PYTHON_HELPERS: &str = r#"
import xmlrpc.client
def fault_of(f):
    try:
        f()
        return None
    except xmlrpc.client.Fault as e:
        return [e.faultCode, e.faultString]
"#;

/// Runs a Python script (after [`PYTHON_HELPERS`]) with `env` and reads
/// what it prints as JSON; fails the test when it fails.
pub fn python_json(script: &str, env: &[(&str, String)]) -> serde_json::Value {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("{PYTHON_HELPERS}{script}"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("python3");
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// True when `tool` is on the PATH. When it is not, says so; under `CI=true`
/// it panics instead, because CI installs every peer the tests need.
pub fn have_tool(tool: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skipping(&format!("{tool} is not installed (.ci/run installs it)"));
    }
    found
}

/// Says why a test skips the rest of its work; under `CI=true`, where every
/// peer the tests need is present, it fails the test instead.
pub fn skipping(why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true requires this, but {why}");
    }
    eprintln!("SKIPPING: {why}");
}

/// A loopback port that nothing listens on now and that this process has
/// not handed out before. Tests running side by side start servers on the
/// ports they are given; a port given twice made one test's
/// pebble-challtestsrv fail to bind its http-01 port while its management
/// API came up, so the other test's server answered its VA (with an empty
/// 200 for an unknown token).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(port) {
            return port;
        }
    }
}

/// pebble-challtestsrv (from Debian's `pebble` package) on loopback: a DNS
/// server that answers every A query with 127.0.0.1 and serves the TXT
/// records it is told, and http-01 and tls-alpn-01 responders. It stops
/// when dropped.
pub struct ChallTestSrv {
    child: std::process::Child,
    /// Its DNS server.
    pub dns: std::net::SocketAddr,
    /// Its http-01 port.
    pub http_port: u16,
    /// Its tls-alpn-01 port.
    pub tls_port: u16,
    management: u16,
}

impl Drop for ChallTestSrv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChallTestSrv {
    /// Starts one, or returns `None` (after saying why) when it is not installed.
    pub fn start() -> Option<ChallTestSrv> {
        if !have_tool("pebble-challtestsrv") {
            return None;
        }
        // A port taken meanwhile leaves its http-01 responder down while its
        // management API is up; it is found by asking for a file it serves.
        for _ in 0..5 {
            let srv = ChallTestSrv::spawn();
            // Named after this server, which no other server of the process serves.
            let token = format!("certgate-probe-{}", srv.management);
            srv.add_http01(&token, &token);
            let (path, body) = (format!("/.well-known/acme-challenge/{token}"), format!("\r\n\r\n{token}"));
            // Its responder may still be starting (no answer yet); a wrong answer is another server's.
            for _ in 0..40 {
                match binary::http_get(srv.http_port, &path) {
                    Some(answer) if answer.ends_with(&body) => return Some(srv),
                    Some(_) => break,
                    None => std::thread::sleep(std::time::Duration::from_millis(50)),
                }
            }
        }
        panic!("pebble-challtestsrv's http-01 port was taken five times");
    }

    fn spawn() -> ChallTestSrv {
        let (dns, http, tls, mgmt) = (free_port(), free_port(), free_port(), free_port());
        let child = std::process::Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns}"), "-http01", &format!("127.0.0.1:{http}")])
            .args(["-tlsalpn01", &format!("127.0.0.1:{tls}"), "-https01", ""])
            .args(["-management", &format!("127.0.0.1:{mgmt}"), "-defaultIPv6", ""])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start pebble-challtestsrv");
        let srv = ChallTestSrv {
            child,
            dns: std::net::SocketAddr::from(([127, 0, 0, 1], dns)),
            http_port: http,
            tls_port: tls,
            management: mgmt,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", mgmt)).is_ok() {
                return srv;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("pebble-challtestsrv did not start");
    }

    /// Calls its management API with a JSON body.
    pub fn manage(&self, path: &str, body: &str) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.management)).expect("management port");
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        assert!(out.starts_with("HTTP/1.1 200"), "challtestsrv {path}: {out}");
    }

    /// Settings for certgate's VA that check at this server: its DNS, its
    /// http-01 and tls-alpn-01 ports, and loopback allowed (every name
    /// resolves to 127.0.0.1 here).
    pub fn va(&self, timeout_secs: u64) -> validation::VaSettings {
        validation::VaSettings {
            http_port: self.http_port,
            tls_port: self.tls_port,
            dns_server: Some(self.dns),
            timeout_secs,
            allow_private_addresses: true,
        }
    }

    /// Serves `content` at `/.well-known/acme-challenge/<token>`.
    pub fn add_http01(&self, token: &str, content: &str) {
        self.manage("/add-http01", &format!(r#"{{"token":"{token}","content":"{content}"}}"#));
    }

    /// Serves the TXT record `_acme-challenge.<name>` with `value`.
    pub fn set_dns01(&self, name: &str, value: &str) {
        self.manage("/set-txt", &format!(r#"{{"host":"_acme-challenge.{name}.","value":"{value}"}}"#));
    }

    /// Answers tls-alpn-01 for `name` with the key authorization `content`.
    pub fn add_tlsalpn01(&self, name: &str, content: &str) {
        self.manage("/add-tlsalpn01", &format!(r#"{{"host":"{name}","content":"{content}"}}"#));
    }
}

/// `admin` with its database replaced by `name`, keeping its query (a
/// socket directory such as `?host=/var/run/postgresql` holds slashes too).
pub fn database_url(admin: &str, name: &str) -> String {
    let (base, query) = admin.split_at(admin.find('?').unwrap_or(admin.len()));
    let authority = base.find("://").map_or(0, |i| i + 3);
    match base[authority..].find('/') {
        Some(i) => format!("{}/{name}{query}", &base[..authority + i]),
        // No slash after the authority: the URL names no database yet.
        None => format!("{base}/{name}{query}"),
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn a_test_database_url_keeps_the_admin_url_but_its_database() {
        for (admin, want) in [
            ("postgres://postgres@127.0.0.1:5432/test", "postgres://postgres@127.0.0.1:5432/t1"),
            (
                "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
                "postgres://postgres@127.0.0.1:5432/t1?sslmode=disable",
            ),
            (
                "postgres://postgres@localhost/test?host=/var/run/postgresql",
                "postgres://postgres@localhost/t1?host=/var/run/postgresql",
            ),
            ("postgres://postgres@127.0.0.1:5432", "postgres://postgres@127.0.0.1:5432/t1"),
            ("postgres://postgres@127.0.0.1:5432/", "postgres://postgres@127.0.0.1:5432/t1"),
        ] {
            assert_eq!(database_url(admin, "t1"), want, "{admin}");
        }
    }
}
