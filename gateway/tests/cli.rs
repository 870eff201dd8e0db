//! The `certgate` binary as an operator uses it: configuration, the operator
//! commands end to end on SQLite and PostgreSQL, `serve` with its worker and
//! graceful stop, the demo, and the XML-RPC hostile-input suite with the
//! server's peak memory measured.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use certgate_tests::{Key, TestDb, csr};

mod common;

use common::{BIN, Certgate, http_get, http_post, peak_rss_kib, terminate, wait_healthy};

const SECRET: &str = "cli-test-secret-key-0123456789";

#[test]
fn help_documents_every_command() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "demo",
        "serve",
        "migrate",
        "check-config",
        "account",
        "org",
        "user",
        "product",
        "credit-tokens",
        "credit-deposit",
        "prevalidation",
        "domain",
        "acme-url",
        "order",
        "statement",
        "jobs",
    ] {
        assert!(help.contains(cmd), "--help lacks {cmd}:\n{help}");
    }
}

#[test]
fn configuration_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .env_remove("CERTGATE_SECRET_KEY")
        .env("CERTGATE_DATA_DIR", dir.path())
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("secret_key is not set"));

    let cfg = dir.path().join("certgate.toml");
    std::fs::write(&cfg, format!("secret_key = \"{SECRET}\"\n[upstreams.digicert]\nkind = \"smoke-signals\"\n"))
        .unwrap();
    let out = Command::new(BIN).arg("--config").arg(&cfg).arg("check-config").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("upstreams.digicert") && err.contains("`acme`"), "{err}");
    std::fs::write(&cfg, format!("secret_key = \"{SECRET}\"\n[upstreams.digicert]\nkind = \"acme\"\n")).unwrap();
    let out = Command::new(BIN).arg("--config").arg(&cfg).arg("check-config").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("upstreams.digicert.directory_url"), "{out:?}");

    // List-valued keys come from the environment comma-separated, and are checked.
    std::fs::write(&cfg, format!("secret_key = \"{SECRET}\"\n")).unwrap();
    // check-config on that file with these environment variables.
    let check = |vars: &[(&str, &str)]| {
        Command::new(BIN).envs(vars.iter().copied()).arg("--config").arg(&cfg).arg("check-config").output().unwrap()
    };
    let caa = ("CERTGATE_ACME__CAA_IDENTITIES", "ca.example,ca2.example");
    let out = check(&[("CERTGATE_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16"), caa]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = check(&[("CERTGATE_TRUSTED_PROXIES", "10.0.0.1,not-an-address"), caa]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("trusted_proxies"), "{out:?}");

    // A pool of no connection could serve nothing: refused, naming the key.
    let out = check(&[("CERTGATE_DATABASE_POOL_SIZE", "0")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("database_pool_size"), "{out:?}");
    let out = check(&[("CERTGATE_DATABASE_POOL_SIZE", "4")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Nor could a runtime of no thread.
    let out = check(&[("CERTGATE_WORKER_THREADS", "0")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("worker_threads"), "{out:?}");

    std::fs::write(&cfg, format!("secret_key = \"{SECRET}\"\nlisten = \"127.0.0.1:9\"\n")).unwrap();
    let out = Command::new(BIN).arg("--config").arg(&cfg).arg("check-config").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_commands_run_an_account_end_to_end() {
    for tdb in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let url = tdb.url.clone();
        let backend = tdb.backend;
        tdb.db.close().await;
        let path = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || operator_flow(&Certgate::with_database(BIN, &path, SECRET, &url), backend))
            .await
            .unwrap();
        tdb.cleanup().await;
    }
}

fn operator_flow(env: &Certgate, backend: &str) {
    env.ok(&["migrate"]);
    let account = env.ok(&["account", "create", "--name", "Hoster", "--formula", "bulk"]).trim().to_string();
    let bad = env.fails(&["account", "create", "--name", "X", "--formula", "gold"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("formula"));
    let org = env.ok(&["org", "create", "--account", &account, "--name", "Example Org"]).trim().to_string();
    let prices = env.dir().join("prices.csv");
    std::fs::write(&prices, certgate_tests::TEST_PRICES).unwrap();
    let imported = env.ok(&["product", "import", "--file", prices.to_str().unwrap()]);
    assert!(imported.starts_with("imported 3 products"), "{imported}");
    assert!(env.ok(&["product", "list"]).contains("ssl1\tSSL OV 1 year"));
    assert!(env.ok(&["credit-tokens", "--account", &account, "--item", "ssl1", "--count", "5"]).contains("5 tokens"));
    env.ok(&["prevalidation", "add", "--account", &account, "--org", &org, "--brand", "Brand", "--validation", "OV"]);
    env.ok(&["domain", "add", "--account", &account, "--org", &org, "--domain", "*.example.test", "--validated"]);
    let pending = env.ok(&["domain", "add", "--account", &account, "--org", &org, "--domain", "shop.example.net"]);
    assert!(pending.contains("publish the TXT record _certgate-dcv.shop.example.net. holding "), "{pending}");
    let domains = env.ok(&["domain", "list", "--account", &account]);
    assert!(domains.contains("*.example.test\tvalidated\tuntil=-"), "{domains}");
    assert!(domains.contains("shop.example.net\tpending"), "{domains}");
    let user = env
        .cmd(&["user", "create", "--account", &account, "--login", "api-user", "--rights", "technical,billing"])
        .env("CERTGATE_USER_PASSWORD", "a long password")
        .output()
        .unwrap();
    assert!(user.status.success(), "{}", String::from_utf8_lossy(&user.stderr));

    let created = env.ok(&["acme-url", "create", "--account", &account, "--product", "ssl1", "--org", &org]);
    let field = |name: &str| common::field(&created, name).expect(name);
    let (kid, hmac) = (field("EAB KID:"), field("EAB HMAC key:"));
    assert!(created.contains(&format!("--eab-kid={kid} --eab-hmac-key={hmac}")), "{created}");
    assert!(created.contains("/acme/") && created.contains("/directory"));
    let listed = env.ok(&["acme-url", "list", "--account", &account]);
    assert!(!listed.contains(&hmac) && !listed.contains(&kid), "list must mask: {listed}");
    assert!(listed.contains(&format!("*****{}", &hmac[hmac.len() - 4..])));

    let csr_file = env.dir().join("www.csr");
    std::fs::write(&csr_file, csr(&["www.example.test"], Key::P256)).unwrap();
    let csr_path = csr_file.to_str().unwrap();
    let placed =
        env.ok(&["order", "place", "--account", &account, "--org", &org, "--product", "ssl1", "--csr", csr_path]);
    let reference = placed.split('\t').next().unwrap().to_string();
    assert!(placed.contains("processing"), "{placed}");
    let refused =
        env.fails(&["order", "place", "--account", &account, "--org", &org, "--product", "dv1", "--csr", csr_path]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no token left for product dv1"), "{refused:?}");

    // serve runs the job worker: the order is issued, then SIGTERM stops it cleanly.
    let port = certgate_tests::free_port();
    let mut child = env
        .cmd(&["serve"])
        .env("CERTGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CERTGATE_XMLRPC__MAX_BODY_BYTES", "300")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child);
    let ready = http_get(port, "/readyz").unwrap();
    assert!(ready.starts_with("HTTP/1.1 200") && ready.contains("migrations current: ok"), "{ready}");
    assert!(ready.contains("warning: product ghost1 names upstream nowhere"), "{ready}");
    // The XML-RPC body limit comes from configuration.
    let small = "<methodCall><methodName>system.listMethods</methodName></methodCall>";
    assert!(http_post(port, "/xmlrpc", small).unwrap().contains("<string>achat</string>"));
    let big = format!("<methodCall><methodName>system.listMethods</methodName></methodCall>{}", " ".repeat(400));
    let refused = http_post(port, "/xmlrpc", &big).unwrap();
    assert!(refused.contains("<int>-32700</int>") && refused.contains("exceeds 300 bytes"), "{refused}");
    let start = Instant::now();
    while !env.ok(&["order", "list", "--account", &account]).contains("delivered") {
        assert!(start.elapsed() < Duration::from_secs(30), "order not delivered by serve's worker ({backend})");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(terminate(child).success(), "serve must exit 0 on SIGTERM");

    let pem = env.ok(&["order", "cert", "--account", &account, "--reference", &reference]);
    assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2, "leaf and issuing CA");
    let statement = env.ok(&["statement", "--account", &account, "--kind", "tokens", "--csv"]);
    assert!(statement.contains(&format!(",{reference},www.example.test,order,ssl1,-1,4")), "{statement}");
    assert!(env.ok(&["statement", "--account", &account]).contains("ssl1\tSSL OV 1 year"));
    let jobs = env.ok(&["jobs"]);
    assert!(jobs.lines().any(|l| l.contains("\tissue\t") && l.contains("\tdone\t")), "{jobs}");
    assert!(env.ok(&["jobs", "--state", "done"]).contains(&format!("\torder {}\t", listed_id(&reference))));
    let bogus = env.fails(&["jobs", "--state", "finished"]);
    assert!(String::from_utf8_lossy(&bogus.stderr).contains("queued, done or failed"), "{bogus:?}");
    let bogus = env.fails(&["order", "list", "--account", &account, "--status", "sleeping"]);
    assert!(String::from_utf8_lossy(&bogus.stderr).contains("no order status \"sleeping\""), "{bogus:?}");
    let delivered = env.ok(&["order", "list", "--account", &account, "--status", "delivered"]);
    assert!(delivered.contains(&reference), "{delivered}");

    // Monitoring: defaults, a certificate's monitor, and a port scans may not use.
    let monitor = ["monitor", "set", "--account", &account, "--order", &reference];
    let set = env.ok(&[&monitor[..], &["--port", "993", "--starttls", "imap", "--frequency", "7"]].concat());
    assert!(set.contains("on\tevery 7 days\twww.example.test:993 imap\tnext="), "{set}");
    let closed = env.fails(&[&monitor[..], &["--port", "8080"]].concat());
    assert!(String::from_utf8_lossy(&closed.stderr).contains("port 8080 is not one scans may use"), "{closed:?}");
    assert!(env.ok(&["monitor", "list", "--account", &account]).contains(":993 imap"), "unchanged");
    let defaults = ["monitor", "defaults", "--account", &account, "--on", "--frequency", "90", "--manager"];
    assert!(env.ok(&[&defaults[..], &["ops@example.test"]].concat()).contains("every 90 days"));
    assert!(env.ok(&["monitor", "results", "--account", &account, "--order", &reference]).is_empty(), "no scan yet");
}

/// The order id of a reference of the CLI (its digits).
fn listed_id(reference: &str) -> &str {
    reference.trim_start_matches(|c: char| !c.is_ascii_digit())
}

#[test]
fn demo_prints_everything_needed_and_serves_until_stopped() {
    let port = certgate_tests::free_port();
    let parent = tempfile::tempdir().unwrap();
    // A data directory the demo creates itself.
    let data = parent.path().join("data");
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(&data)
        .env_remove("CERTGATE_SECRET_KEY")
        .env_remove("CERTGATE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        out.push_str(&line);
        if line.contains("Press Ctrl-C") {
            break;
        }
        line.clear();
    }
    for needle in [
        &format!("http://127.0.0.1:{port}/acme/"),
        "EAB KID:",
        "EAB HMAC key:",
        "certbot certonly",
        "-d www.example.test",
        "/xmlrpc",
        "XML-RPC API user: demo-api  password: ",
        "100 ssl1 tokens",
        "Notifications to hostmaster@example.test",
        "notifications.log",
        &format!("Customer area in a browser: http://127.0.0.1:{port}/portal/ (sign in as demo-api"),
    ] {
        assert!(out.contains(needle), "demo output lacks {needle:?}:\n{out}");
    }
    wait_healthy(port, &mut child);
    // The customer area is served, and signs the demo user in.
    let sign_in = http_get(port, "/portal/sign-in").unwrap();
    assert!(sign_in.starts_with("HTTP/1.1 200") && sign_in.contains("content-security-policy"), "{sign_in}");
    assert!(data.join("certgate.db").exists());
    // An order of the demo account is delivered, and its contact is told, in the log file.
    let secret: &'static str = Box::leak(std::fs::read_to_string(data.join("secret.key")).unwrap().trim().into());
    let operator =
        Certgate::with_database(BIN, &data, secret, &format!("sqlite://{}", data.join("certgate.db").display()));
    let csr_path = parent.path().join("shop.csr");
    std::fs::write(&csr_path, csr(&["shop.example.test"], Key::P256)).unwrap();
    let csr_path = csr_path.to_str().unwrap();
    operator.ok(&["order", "place", "--account", "1", "--org", "1", "--product", "ssl1", "--csr", csr_path]);
    let log = data.join("notifications.log");
    let start = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Subject: Certificate delivered: shop.example.test")
    {
        assert!(start.elapsed() < Duration::from_secs(30), "no delivery notice in {}", log.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(std::fs::read_to_string(&log).unwrap().contains("To: hostmaster@example.test"));
    // Every file and directory it made is private to its user: the database
    // and its WAL, the secret key, the keys.
    let entries: Vec<_> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(entries.iter().any(|p| p.ends_with("secret.key")) && entries.len() >= 3, "{entries:?}");
    for path in entries.iter().chain([&data]) {
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions());
        assert_eq!(mode & 0o077, 0, "{} is mode {:o}", path.display(), mode & 0o777);
    }
    assert!(terminate(child).success());
    // An existing database others may read is reported at start.
    let db = data.join("certgate.db");
    std::fs::set_permissions(&db, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let url = format!("sqlite://{}", db.display());
    let out = Certgate::with_database(BIN, &data, SECRET, &url).cmd(&["migrate"]).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("readable by other users") && log.contains("certgate.db") && log.contains("chmod 600"),
        "{log}"
    );
    assert!(!log.contains("secret.key"), "{log}");
    // So is a configuration file others may read: it may hold the secret key.
    std::fs::set_permissions(&db, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let config = parent.path().join("certgate.toml");
    std::fs::write(&config, format!("secret_key = \"{SECRET}\"\ndatabase_url = \"{url}\"\n")).unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = Certgate::with_config(BIN, &data, SECRET, &config).cmd(&["migrate"]).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("readable by other users") && log.contains("certgate.toml"), "{log}");
    assert!(!log.contains("certgate.db"), "the database is private again: {log}");
}

/// How a streamed request body is framed.
enum Framing {
    Length(usize),
    Chunked,
}

/// POSTs `body` to `/xmlrpc` piece by piece, and stops sending when the
/// server stops reading (a write times out or fails). Returns the response
/// and how many body bytes were sent.
fn post_stream(port: u16, framing: Framing, body: impl Iterator<Item = Vec<u8>>) -> (String, usize) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let header = match framing {
        Framing::Length(n) => format!("Content-Length: {n}"),
        Framing::Chunked => "Transfer-Encoding: chunked".to_string(),
    };
    write!(
        s,
        "POST /xmlrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n{header}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // The answer may come while the body is still being sent: read it meanwhile.
    let mut reader = s.try_clone().unwrap();
    let response = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = reader.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    });
    let mut sent = 0;
    let mut refused = false;
    for piece in body {
        let wrote = match framing {
            Framing::Length(_) => s.write_all(&piece),
            Framing::Chunked => {
                write!(s, "{:x}\r\n", piece.len()).and_then(|_| s.write_all(&piece)).and_then(|_| s.write_all(b"\r\n"))
            }
        };
        if wrote.is_err() {
            refused = true;
            break;
        }
        sent += piece.len();
    }
    if matches!(framing, Framing::Chunked) && !refused {
        let _ = s.write_all(b"0\r\n\r\n");
    }
    (response.join().unwrap(), sent)
}

/// The hostile-input suite against the real `certgate serve`: each body gets
/// a clean fault (or a 413), the server stays up, and its peak memory grows
/// by less than a stated bound while it refuses 100 MiB bodies without
/// buffering them.
#[cfg(target_os = "linux")]
#[test]
fn hostile_bodies_leave_serve_up_and_within_its_memory_bound() {
    const BOUND_MIB: u64 = 64;
    const HUNDRED_MIB: usize = 100 * 1024 * 1024;
    let port = certgate_tests::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("CERTGATE_SECRET_KEY", SECRET)
        .env("CERTGATE_DATA_DIR", dir.path())
        .env("CERTGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("CERTGATE_CONFIG")
        .env_remove("CERTGATE_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child);
    let list_methods = "<methodCall><methodName>system.listMethods</methodName></methodCall>";
    assert!(http_post(port, "/xmlrpc", list_methods).unwrap().contains("<string>achat</string>"));
    let before = peak_rss_kib(child.id());

    let call =
        |params: &str| format!("<methodCall><methodName>solde</methodName><params>{params}</params></methodCall>");
    let nested = call(&format!(
        "<param>{}{}</param>",
        "<value><array><data>".repeat(10_000),
        "</data></array></value>".repeat(10_000)
    ));
    // Just under the 1 MiB body bound: as many elements as fit, all parsed.
    let many =
        call(&format!("<param><value><array><data>{}</data></array></value></param>", "<value/>".repeat(116_000)));
    let small: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "billion laughs",
            b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\
              <methodCall><methodName>&lol2;</methodName></methodCall>"
                .to_vec(),
            "<int>-32700</int>",
        ),
        (
            "external entity",
            b"<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
              <methodCall><methodName>&x;</methodName></methodCall>"
                .to_vec(),
            "<int>-32700</int>",
        ),
        ("10,000 nested arrays", nested.into_bytes(), "<int>-32700</int>"),
        ("invalid UTF-8", b"<methodCall><methodName>\xff\xfe</methodName></methodCall>".to_vec(), "<int>-32700</int>"),
        ("truncated", call("<param><value>").into_bytes(), "<int>-32700</int>"),
        ("unknown type", call("<param><value><blob/></value></param>").into_bytes(), "<int>-32600</int>"),
        // Parsed whole, then refused for want of identification.
        ("116,000 values in 1 MiB", many.into_bytes(), "<int>-32602</int>"),
    ];
    let mut peaks = Vec::new();
    for round in 1..=3 {
        for (what, body, fault) in &small {
            let (response, _) = post_stream(port, Framing::Length(body.len()), std::iter::once(body.clone()));
            assert!(response.starts_with("HTTP/1.1 200") && response.contains(fault), "{what}: {response}");
        }
        let spaces = || std::iter::repeat_n(vec![b' '; 64 * 1024], HUNDRED_MIB / (64 * 1024));
        for (what, framing) in [("100 MiB body", Framing::Length(HUNDRED_MIB)), ("100 MiB chunked", Framing::Chunked)] {
            let (response, sent) = post_stream(port, framing, spaces());
            let refused = response.starts_with("HTTP/1.1 413")
                || (response.starts_with("HTTP/1.1 200") && response.contains("<int>-32700</int>"));
            assert!(refused, "{what}: {response}");
            eprintln!("round {round}: {what}: refused after {} KiB sent", sent / 1024);
        }
        peaks.push(peak_rss_kib(child.id()));
    }
    let after = *peaks.last().unwrap();
    eprintln!(
        "serve peak RSS (VmHWM): {} KiB before the hostile suite, {} KiB after each of {} rounds; growth {} KiB (bound {} MiB)",
        before,
        peaks.iter().map(u64::to_string).collect::<Vec<_>>().join(" / "),
        peaks.len(),
        after - before,
        BOUND_MIB
    );
    assert!(after - before < BOUND_MIB * 1024, "peak RSS grew by {} KiB", after - before);
    // Still up and still answering.
    assert!(http_get(port, "/healthz").unwrap().starts_with("HTTP/1.1 200"));
    assert!(http_post(port, "/xmlrpc", list_methods).unwrap().contains("<string>achat</string>"));
    assert!(terminate(child).success());
}

/// Plain logs written to a file or a pipe (not a terminal) carry no colour
/// escape codes, so that a log file or a collector reads them as text.
#[test]
fn plain_logs_off_a_terminal_have_no_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("logs.db").display());
    let g = Certgate::with_database(BIN, dir.path(), SECRET, &url);
    let out = g.cmd(&["migrate"]).env_remove("CERTGATE_LOG_FORMAT").output().unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("INFO") && log.contains("created the embedded CA"), "{log}");
    assert!(!log.contains('\u{1b}'), "escape codes in {log:?}");
}

/// The runtime's threads of a process: those tokio names its workers. Its
/// blocking pool's threads bear the same name, but `serve` starts none of
/// them until a password is hashed.
fn runtime_workers(pid: u32) -> usize {
    certgate_tests::threads_named(pid, "tokio-rt-worker")
}

/// `worker_threads` sets how many threads `serve` runs requests and jobs
/// on; without it, one per core.
#[test]
fn worker_threads_sets_the_threads_serve_runs_on() {
    let cores = std::thread::available_parallelism().unwrap().get();
    for (setting, expected) in [(Some("1"), 1), (Some("3"), 3), (None, cores)] {
        let port = certgate_tests::free_port();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("threads.db").display());
        let g =
            Certgate::with_database(BIN, dir.path(), SECRET, &url).env("CERTGATE_LISTEN", &format!("127.0.0.1:{port}"));
        let mut cmd = g.cmd(&["serve"]);
        cmd.env_remove("TOKIO_WORKER_THREADS").stdout(Stdio::null()).stderr(Stdio::null());
        match setting {
            Some(n) => cmd.env("CERTGATE_WORKER_THREADS", n),
            None => cmd.env_remove("CERTGATE_WORKER_THREADS"),
        };
        let mut child = cmd.spawn().unwrap();
        wait_healthy(port, &mut child);
        let workers = runtime_workers(child.id());
        assert!(terminate(child).success());
        assert_eq!(workers, expected, "worker_threads {setting:?}");
        // Stopped, serve closed its database: the WAL was copied back and removed.
        assert!(dir.path().join("threads.db").exists());
        assert!(!dir.path().join("threads.db-wal").exists(), "a WAL left behind by serve");
    }
}

/// `order list` pages with --limit and --offset and says on standard error
/// when more orders follow; a closed standard output ends a command quietly;
/// a password on the command line is warned about, and standard input is
/// another way to give one.
#[test]
fn order_list_pages_and_output_and_passwords_are_handled_with_care() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("pages.db").display());
    let env = Certgate::with_database(BIN, dir.path(), SECRET, &url);
    let certgate_tests::binary::CliAccount { account, org } = env.bulk_account(3);
    for i in 0..3 {
        let csr_path = dir.path().join(format!("{i}.csr"));
        std::fs::write(&csr_path, csr(&[&format!("n{i}.example.test")], Key::P256)).unwrap();
        env.ok(&[
            "order",
            "place",
            "--account",
            &account,
            "--org",
            &org,
            "--product",
            "ssl1",
            "--csr",
            csr_path.to_str().unwrap(),
        ]);
    }
    let list = |args: &[&str]| {
        let out = env.cmd(&[&["order", "list", "--account", &account][..], args].concat()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8_lossy(&out.stdout).lines().count(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (lines, notice) = list(&["--limit", "2"]);
    assert_eq!(lines, 2);
    assert!(notice.contains("more orders follow") && notice.contains("--offset 2"), "{notice}");
    let (lines, notice) = list(&["--limit", "2", "--offset", "2"]);
    assert_eq!(lines, 1);
    assert!(!notice.contains("more orders"), "{notice}");
    assert_eq!(list(&[]).0, 3);
    for bad in ["0", "1001"] {
        env.fails(&["order", "list", "--account", &account, "--limit", bad]);
    }

    // A reader that goes away at once: no panic, no message, the status a
    // shell gives a process killed by SIGPIPE.
    let mut child = env.cmd(&["product", "list"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    assert_eq!(out.status.code(), Some(141), "{:?}: {err}", out.status);

    // Passwords: the command line is warned about, the environment and standard input are not.
    let create = |login: &str, extra: &[&str]| {
        let mut cmd = env.cmd(&[&["user", "create", "--account", &account, "--login", login][..], extra].concat());
        cmd.env_remove("CERTGATE_USER_PASSWORD").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    };
    let out = create("flag", &["--password", "a long password"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("shell's history"), "{out:?}");
    let out = create("environment", &[]).env("CERTGATE_USER_PASSWORD", "a long password").output().unwrap();
    assert!(out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("warning"), "{out:?}");
    let mut child = create("stdin", &["--password-stdin"]).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"a long password\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("warning"), "{out:?}");
    let out = create("none", &[]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--password-stdin"), "{out:?}");
}

/// The lifecycle commands: an order placed with --wait-for-funds waits, and
/// the credit pays it; `auto-renew` lists, switches and sets the default;
/// `renewal-forecast` prints the tokens needed, as a table or CSV; bad
/// arguments are refused with a clear message.
#[test]
fn lifecycle_commands_wait_for_funds_switch_automatic_renewal_and_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("lifecycle.db").display());
    let env = Certgate::with_database(BIN, dir.path(), SECRET, &url);
    let certgate_tests::binary::CliAccount { account, org } = env.bulk_account(0);
    let csr_path = dir.path().join("www.csr");
    std::fs::write(&csr_path, csr(&["www.example.test"], Key::P256)).unwrap();
    let place = ["order", "place", "--account", &account, "--org", &org, "--product", "ssl1"];
    let place = [&place[..], &["--csr", csr_path.to_str().unwrap()]].concat();
    let refused = env.fails(&place);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no token left"), "{refused:?}");
    let waiting = env.ok(&[&place[..], &["--wait-for-funds"]].concat());
    assert!(waiting.contains("waiting_funds"), "{waiting}");
    let reference = waiting.split('\t').next().unwrap().to_string();
    env.ok(&["credit-tokens", "--account", &account, "--item", "ssl1", "--count", "1"]);
    assert!(env.ok(&["order", "list", "--account", &account, "--status", "processing"]).contains(&reference));

    let port = certgate_tests::free_port();
    let mut child = env
        .cmd(&["serve"])
        .env("CERTGATE_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child);
    let start = Instant::now();
    while !env.ok(&["order", "list", "--account", &account]).contains("delivered") {
        assert!(start.elapsed() < Duration::from_secs(30), "order not delivered by serve's worker");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(terminate(child).success());
    let jobs = env.ok(&["jobs"]);
    assert!(jobs.lines().any(|l| l.contains("\tlifecycle\tall orders\tdone\t")), "serve ran a sweep: {jobs}");

    let listed = env.ok(&["auto-renew", "list", "--account", &account]);
    assert!(listed.starts_with(&reference) && listed.trim_end().ends_with("manual"), "{listed}");
    let on = env.ok(&["auto-renew", "on", "--account", &account, &reference]);
    assert!(on.contains("\tautomatic "), "{on}");
    let unknown = env.fails(&["auto-renew", "off", "--account", &account, &reference, "404"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown order \"404\""), "{unknown:?}");
    assert!(env.ok(&["auto-renew", "list", "--account", &account]).contains("\tautomatic "), "still on");
    assert!(env.ok(&["auto-renew", "default", "--account", &account, "on"]).contains("automatic renewal on"));
    env.fails(&["auto-renew", "default", "--account", &account, "maybe"]);

    // The forecast of the day the certificate expires.
    let expires = on.split("expires ").nth(1).unwrap()[..10].to_string();
    let forecast = ["renewal-forecast", "--account", &account, "--from", &expires, "--to", &expires];
    let table = env.ok(&forecast);
    assert!(table.starts_with("1 orders to renew") && table.contains("\nrenssl1\t1\t0\t1\n"), "{table}");
    let csv = env.ok(&[&forecast[..], &["--csv"]].concat());
    assert!(csv.starts_with("kind,item or reference,") && csv.contains(&format!("order,{reference},")), "{csv}");
    let bad = env.fails(&["renewal-forecast", "--account", &account, "--from", "tomorrow", "--to", &expires]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a day like"), "{bad:?}");

    // The embedded CA has no CAA identities here: CAA is not checked (xmlrpc/tests/caa.rs checks it).
    let caa = env.ok(&["caa-check", "--account", &account, "--product", "ssl1", "--names", "www.example.test"]);
    assert_eq!(caa, "www.example.test\tnot_checked\t\n", "{caa}");
    let bad = env.fails(&["caa-check", "--account", &account, "--product", "ssl1", "--names", "bad name"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bad domain name"), "{bad:?}");
}
