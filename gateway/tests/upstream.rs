//! `certgate serve` buying certificates from a real upstream ACME CA,
//! pebble: certbot orders through certgate's ACME front and gets a chain
//! that verifies against pebble's root; then certgate is killed (SIGKILL)
//! between the upstream finalize and the download, and after a restart the
//! same upstream order is resumed: pebble's list of the upstream account's
//! orders shows one upstream order per certgate order, and each was charged once.
//! The same run serves `/metrics`, returns request IDs, logs JSON at debug
//! level, and no log line of it holds a secret: the gateway's secret key,
//! either EAB HMAC key, an API password, or certbot's private key.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use certgate_tests::{
    Key, PEBBLE_EAB_HMAC, PEBBLE_EAB_KID, PEBBLE_PRICES, Pebble, PebbleOptions, csr, free_port, have_tool,
};

mod common;

use common::{Certgate, terminate, wait_healthy};

const SECRET: &str = "upstream-test-secret-key-0123456789";

/// `serve` on `port` at debug level in JSON, its log lines (stderr) sent to
/// the returned receiver.
fn start_serve(g: &Certgate, port: u16, failpoint: Option<&str>) -> (Child, mpsc::Receiver<String>) {
    let mut c = g.cmd(&["serve"]);
    c.env("CERTGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CERTGATE_LOG", "debug")
        .env("CERTGATE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(f) = failpoint {
        c.env("CERTGATE_FAILPOINT", f);
    }
    let mut child = c.spawn().expect("start serve");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    wait_healthy(port, &mut child);
    (child, rx)
}

/// The status of an order, from the operator's order list.
fn order_status(g: &Certgate, account: &str, reference: &str) -> String {
    let list = g.ok(&["order", "list", "--account", account]);
    let line = list.lines().find(|l| l.starts_with(reference)).unwrap_or_else(|| panic!("{reference}: {list}"));
    line.split('\t').nth(4).unwrap_or_default().to_string()
}

/// Stops `serve`, which must exit cleanly.
fn stop(child: Child) {
    assert!(terminate(child).success(), "serve exits 0 on SIGTERM");
}

fn verify(pebble: &Pebble, pem: &str) {
    let parts: Vec<&str> = pem.split_inclusive("-----END CERTIFICATE-----\n").collect();
    assert!(parts.len() >= 2, "{pem}");
    certgate_tests::openssl_verify(&pebble.issuer_root(), &parts[1..].concat(), parts[0]).expect("chain at pebble");
}

/// A request to the gateway; the whole answer, head and body.
fn http(port: u16, request: &str) -> String {
    common::http(port, request).expect("an answer")
}

/// The value of a metric line that starts with `series` (name and labels).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

/// An XML-RPC `solde` call as `login` with `password`.
fn solde(port: u16, login: &str, password: &str) -> String {
    let body = format!(
        "<methodCall><methodName>solde</methodName><params><param><value><struct><member><name>identification</name>\
         <value><struct><member><name>utilisateur</name><value>{login}</value></member><member><name>motDePasse</name>\
         <value>{password}</value></member></struct></value></member></struct></value></param></params></methodCall>"
    );
    http(
        port,
        &format!(
            "POST /xmlrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// The token balance of `pb1`, from the operator's statement.
fn tokens(g: &Certgate, account: &str) -> i64 {
    let s = g.ok(&["statement", "--account", account]);
    s.lines().find(|l| l.starts_with("pb1\t")).and_then(|l| l.rsplit('\t').next()?.parse().ok()).expect("pb1 balance")
}

/// The upstream account's credentials as certgate stored them (sealed).
fn upstream_credentials(db_file: &Path, directory_url: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let db = storage::Db::connect(&format!("sqlite://{}", db_file.display())).await.unwrap();
        let mut c = db.acquire().await.unwrap();
        let row = storage::upstream_accounts::get(&mut c, "pebble", directory_url).await.unwrap().expect("stored");
        let key = storage::sealed::SecretKey::from_secret(SECRET);
        let plain = key.open(&format!("upstream-account:pebble:{directory_url}"), &row.credentials_sealed).unwrap();
        String::from_utf8(plain).unwrap()
    })
}

#[test]
fn certbot_through_certgate_to_pebble_and_a_crash_after_the_upstream_finalize() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    if !have_tool("certbot") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("certgate.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[orders]
job_lease_secs = 3

[upstreams.pebble]
kind = "acme"
directory_url = "{dir_url}"
eab_kid = "{PEBBLE_EAB_KID}"
eab_hmac = "{PEBBLE_EAB_HMAC}"
ca_bundle = "{bundle}"
pending_authorizations = "trigger"
request_timeout_secs = 5
"#,
            dir_url = pebble.directory_url,
            bundle = pebble.ca_bundle.display()
        ),
    )
    .unwrap();
    let g = Certgate::with_config(common::BIN, dir.path(), SECRET, &config);
    g.ok(&["migrate"]);
    let account = g.ok(&["account", "create", "--name", "Hoster", "--formula", "bulk"]).trim().to_string();
    let org = g.ok(&["org", "create", "--account", &account, "--name", "Example Org"]).trim().to_string();
    let prices = dir.path().join("prices.csv");
    std::fs::write(&prices, PEBBLE_PRICES).unwrap();
    g.ok(&["product", "import", "--file", prices.to_str().unwrap()]);
    g.ok(&["credit-tokens", "--account", &account, "--item", "pb1", "--count", "5"]);
    g.ok(&["prevalidation", "add", "--account", &account, "--org", &org, "--brand", "Brand", "--validation", "OV"]);
    g.ok(&["domain", "add", "--account", &account, "--org", &org, "--domain", "*.example.test", "--validated"]);
    let created = g.ok(&["acme-url", "create", "--account", &account, "--product", "pb1", "--org", &org]);
    let field = |name: &str| common::field(&created, name).expect(name);
    let (directory, kid, hmac) = (field("directory:"), field("EAB KID:"), field("EAB HMAC key:"));

    // certbot orders through certgate's ACME front; the worker buys at pebble.
    let port = free_port();
    let directory = directory.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    let password = "api user password 7f3a";
    let user = g
        .cmd(&["user", "create", "--account", &account, "--login", "hoster", "--rights", "all"])
        .env("CERTGATE_USER_PASSWORD", password)
        .output()
        .unwrap();
    assert!(user.status.success(), "{}", String::from_utf8_lossy(&user.stderr));
    let (serve, log1) = start_serve(&g, port, None);
    let cb = dir.path().join("certbot");
    let out = Command::new("certbot")
        .args(["certonly", "-n", "--agree-tos", "--register-unsafely-without-email", "--server", &directory])
        .args(["--eab-kid", &kid, "--eab-hmac-key", &hmac, "--manual", "--preferred-challenges", "http"])
        .args(["--manual-auth-hook", "/bin/true", "--manual-cleanup-hook", "/bin/true", "-d", "www.example.test"])
        .arg("--config-dir")
        .arg(&cb)
        .arg("--work-dir")
        .arg(&cb)
        .arg("--logs-dir")
        .arg(&cb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "certbot: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let fullchain = std::fs::read_to_string(cb.join("live/www.example.test/fullchain.pem")).unwrap();
    verify(&pebble, &fullchain);
    assert_eq!(tokens(&g, &account), 4);

    // XML-RPC with a wrong, then the right password.
    assert!(solde(port, "hoster", "not the password").contains("<name>faultCode</name>"));
    assert!(solde(port, "hoster", password).contains("<name>pb1</name>"));
    // A request ID is made up, or taken from a sane client header, and returned.
    let healthz = http(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(healthz.to_ascii_lowercase().contains("x-request-id: "), "{healthz}");
    let mine = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-me-42\r\nConnection: close\r\n\r\n";
    assert!(http(port, mine).to_ascii_lowercase().contains("x-request-id: trace-me-42"));
    // The metrics of what just happened.
    let m = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(
        metric(&m, "certgate_http_requests_total{front=\"acme\",route=\"/acme/{dir}/new-order\",status=\"201\"}")
            >= 1.0
    );
    assert!(metric(&m, "certgate_upstream_request_duration_seconds_count{upstream=\"pebble\",op=\"issue\"}") >= 1.0);
    assert_eq!(metric(&m, "certgate_ledger_debits_total{kind=\"tokens\"}"), 1.0);
    assert_eq!(metric(&m, "certgate_orders{state=\"delivered\"}"), 1.0);
    assert_eq!(metric(&m, "certgate_jobs_queued "), 0.0);
    assert_eq!(metric(&m, "certgate_http_requests_total{front=\"xmlrpc\",route=\"solde\",status=\"200\"}"), 2.0);
    assert_eq!(metric(&m, "certgate_xmlrpc_faults_total{method=\"solde\",code=\"1\"}"), 1.0, "the wrong password");
    // SQLite writers take turns, and how long they waited and held the turn is shown.
    for turn in [storage::WRITE_TURN_WAIT, storage::WRITE_TURN_HELD] {
        assert!(metric(&m, &format!("{turn}_count")) >= 2.0, "{turn}");
        assert!(metric(&m, &format!("{turn}_bucket{{le=\"+Inf\"}}")) >= 2.0, "{turn}");
    }
    // SQLite's WAL is checkpointed by its own thread, which has run by now.
    assert!(metric(&m, &format!("{} ", storage::checkpoint::WAL_PAGES)) >= 0.0);
    assert!(metric(&m, &format!("{} ", storage::checkpoint::WAL_UNCOPIED_PAGES)) >= 0.0);
    assert_eq!(metric(&m, storage::checkpoint::CHECKPOINT_FAILURES), 0.0);
    // An issuance and a few XML-RPC calls cost tens of statements.
    assert!(metric(&m, storage::STATEMENTS) >= 10.0, "{}", storage::STATEMENTS);
    assert!(!m.contains(&directory[directory.find("/acme/").unwrap()..]), "no raw ACME path in the labels");
    stop(serve);

    // certgate dies between the upstream finalize and the download.
    let csr_file = dir.path().join("api.csr");
    std::fs::write(&csr_file, csr(&["api.example.test"], Key::P256)).unwrap();
    let placed = g.ok(&[
        "order",
        "place",
        "--account",
        &account,
        "--org",
        &org,
        "--product",
        "pb1",
        "--csr",
        csr_file.to_str().unwrap(),
    ]);
    let reference = placed.split('\t').next().unwrap().to_string();
    let (mut serve, log) = start_serve(&g, port, Some("upstream-after-finalize"));
    let start = Instant::now();
    loop {
        let line = log.recv_timeout(Duration::from_secs(60)).expect("the failpoint is reached");
        if line.contains("failpoint reached") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60));
    }
    serve.kill().unwrap(); // SIGKILL
    serve.wait().unwrap();
    assert_eq!(order_status(&g, &account, &reference), "processing");
    let jobs = g.ok(&["jobs"]);
    assert!(jobs.lines().any(|l| l.contains("\tissue\t") && l.contains("\tqueued\t")), "{jobs}");

    // After a restart the lease expires and the same upstream order is resumed.
    let (serve, log3) = start_serve(&g, port, None);
    let start = Instant::now();
    while order_status(&g, &account, &reference) != "delivered" {
        assert!(start.elapsed() < Duration::from_secs(60), "the order was not resumed");
        std::thread::sleep(Duration::from_millis(200));
    }
    stop(serve);
    verify(&pebble, &g.ok(&["order", "cert", "--account", &account, "--reference", &reference]));
    let credentials = upstream_credentials(&dir.path().join("certgate.db"), &pebble.directory_url);
    let upstream_orders = pebble.account_orders(&credentials);
    assert_eq!(upstream_orders.len(), 2, "one upstream order per certgate order: {upstream_orders:?}");
    assert_eq!(tokens(&g, &account), 3, "each order charged once");

    // Every log line of the three runs is JSON, and none holds a secret.
    let lines: Vec<String> = [log1, log, log3].iter().flat_map(|rx| rx.try_iter().collect::<Vec<_>>()).collect();
    assert!(lines.len() > 100, "debug logs were written: {}", lines.len());
    for l in &lines {
        assert!(l.starts_with('{') && l.ends_with('}'), "not a JSON line: {l}");
    }
    assert!(lines.iter().any(|l| l.contains("\"request_id\"") && l.contains("served")), "request lines carry their ID");
    let key = std::fs::read_to_string(cb.join("live/www.example.test/privkey.pem")).unwrap();
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    let secrets = [
        SECRET,
        PEBBLE_EAB_HMAC,
        hmac.as_str(),
        password,
        &key_body[key_body.len() / 2..][..40],
        &key_body[key_body.len() - 40..],
    ];
    for secret in secrets {
        let leaked: Vec<&String> = lines.iter().filter(|l| l.contains(secret)).collect();
        assert!(leaked.is_empty(), "a secret is in the logs: {leaked:?}");
    }
}
