//! Real ACME clients against a running `certgate demo`: the certbot line the
//! demo prints works as printed; certbot renews and revokes; lego issues and
//! revokes. The token balance afterwards is the starting one minus exactly
//! the certificates issued. Without certbot or lego installed these tests
//! say so and skip, except under `CI=true`, where they fail. Names outside
//! the pre-validated `*.example.test` are validated by certgate's VA, which
//! resolves them through pebble-challtestsrv's DNS (every name is 127.0.0.1).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_certgate");

use certgate_tests::binary::Demo;
use certgate_tests::{ChallTestSrv, free_port, have_tool as have};

/// Starts `certgate demo`; `env` sets configuration (the VA's ports and DNS server).
fn start_demo(env: &[(&str, String)]) -> Demo {
    Demo::start(BIN, &[], env)
}

/// Starts `certgate demo` with extra arguments (`--tls`).
fn start_demo_with(args: &[&str], env: &[(&str, String)]) -> Demo {
    Demo::start(BIN, args, env)
}

/// The demo account's ssl1 token balance.
fn tokens(demo: &Demo) -> i64 {
    let s = demo.certgate(&["statement", "--account", "1"]);
    s.lines()
        .find(|l| l.starts_with("ssl1\t"))
        .and_then(|l| l.rsplit('\t').next())
        .and_then(|n| n.parse().ok())
        .expect("ssl1 balance")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run client");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

fn verify_chain(root: &Path, fullchain: &Path) {
    let pem = std::fs::read_to_string(fullchain).unwrap();
    let parts: Vec<&str> = pem.split_inclusive("-----END CERTIFICATE-----\n").collect();
    assert!(parts.len() >= 2, "{pem}");
    certgate_tests::openssl_verify(&std::fs::read_to_string(root).unwrap(), &parts[1..].concat(), parts[0]).unwrap();
}

#[test]
fn certbot_line_printed_by_the_demo_works_and_renews_and_revokes() {
    if !have("certbot") {
        return;
    }
    // Every third nonce is refused: certbot must retry badNonce.
    let demo = start_demo(&[("CERTGATE_ACME__REJECT_EVERY_NTH_NONCE", "3".into())]);
    let start_tokens = tokens(&demo);
    run(Command::new("sh").arg("-c").arg(demo.certbot_line()));
    let log = std::fs::read_to_string(demo.dir.path().join("certbot/letsencrypt.log")).unwrap();
    assert!(log.contains("badNonce"), "certbot met refused nonces and retried");
    let live = demo.dir.path().join("certbot/live/www.example.test");
    verify_chain(&demo.root(), &live.join("fullchain.pem"));
    assert_eq!(tokens(&demo), start_tokens - 1);

    let dirs = |c: &mut Command| {
        let d = demo.dir.path().join("certbot");
        c.arg("--config-dir").arg(&d).arg("--work-dir").arg(&d).arg("--logs-dir").arg(&d);
    };
    let mut renew = Command::new("certbot");
    renew.args(["renew", "-n", "--force-renewal", "--no-random-sleep-on-renew"]);
    dirs(&mut renew);
    run(&mut renew);
    verify_chain(&demo.root(), &live.join("fullchain.pem"));
    assert_eq!(tokens(&demo), start_tokens - 2, "one token per certificate");

    let mut revoke = Command::new("certbot");
    revoke
        .args(["revoke", "-n", "--no-delete-after-revoke", "--reason", "superseded", "--server", &demo.directory])
        .arg("--cert-path")
        .arg(live.join("cert.pem"));
    dirs(&mut revoke);
    run(&mut revoke);
    let orders = demo.certgate(&["order", "list", "--account", "1"]);
    assert!(orders.lines().any(|l| l.contains("\trevoked\t")), "{orders}");
    assert_eq!(tokens(&demo), start_tokens - 2, "revocation is not refunded");
}

#[test]
fn lego_issues_renews_and_revokes_with_eab() {
    if !have("lego") {
        return;
    }
    // Every third nonce is refused: lego must retry badNonce.
    let demo = start_demo(&[("CERTGATE_ACME__REJECT_EVERY_NTH_NONCE", "3".into())]);
    let start_tokens = tokens(&demo);
    let path = demo.dir.path().join("lego");
    let lego = |verb: &str| {
        let mut c = Command::new("lego");
        c.args(["--server", &demo.directory, "--accept-tos", "--email", "ops@example.test", "--eab"])
            .args([
                "--kid",
                &demo.kid,
                "--hmac",
                &demo.hmac,
                "--http",
                "--http.port",
                &format!("127.0.0.1:{}", free_port()),
            ])
            .args(["-d", "lego.example.test", "--path"])
            .arg(&path)
            .arg(verb);
        c
    };
    let started = Instant::now();
    let out = run(&mut lego("run"));
    assert!(out.contains("badNonce"), "lego met refused nonces and retried:\n{out}");
    assert!(started.elapsed() < Duration::from_secs(120));
    verify_chain(&demo.root(), &path.join("certificates/lego.example.test.crt"));
    assert_eq!(tokens(&demo), start_tokens - 1);
    run(lego("renew").args(["--days", "400", "--no-random-sleep"]));
    verify_chain(&demo.root(), &path.join("certificates/lego.example.test.crt"));
    assert_eq!(tokens(&demo), start_tokens - 2, "one token per certificate");
    run(&mut lego("revoke"));
    let orders = demo.certgate(&["order", "list", "--account", "1"]);
    assert!(orders.lines().any(|l| l.contains("lego.example.test\trevoked")), "{orders}");
}

/// `demo --tls` serves HTTPS (HTTP/2 too) with a certificate from its
/// embedded CA, and prints an https directory and a certbot line that trusts
/// that root: certbot gets a certificate with it as printed.
#[test]
fn certbot_line_printed_by_the_https_demo_works() {
    if !have("certbot") || !have("curl") {
        return;
    }
    let demo = start_demo_with(&["--tls"], &[]);
    let port = demo.port;
    assert!(demo.directory.starts_with(&format!("https://127.0.0.1:{port}/acme/")), "{}", demo.output);
    let line = demo.certbot_line();
    assert!(line.starts_with(&format!("REQUESTS_CA_BUNDLE={} certbot certonly", demo.root().display())), "{line}");
    let health = Command::new("curl")
        .args(["-sS", "--http2", "-w", " %{http_version}", "--cacert"])
        .arg(demo.root())
        .arg(format!("https://localhost:{port}/healthz"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&health.stdout), "ok 2", "{health:?}");
    let start_tokens = tokens(&demo);
    run(Command::new("sh").arg("-c").arg(line));
    verify_chain(&demo.root(), &demo.dir.path().join("certbot/live/www.example.test/fullchain.pem"));
    assert_eq!(tokens(&demo), start_tokens - 1);
}

/// The VA's configuration pointing at a challenge server's DNS, which
/// answers every name with 127.0.0.1, and at the clients' own ports.
fn va_env(srv: &ChallTestSrv, http_port: u16, tls_port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("CERTGATE_ACME__VA__DNS_SERVER", srv.dns.to_string()),
        ("CERTGATE_ACME__VA__HTTP_PORT", http_port.to_string()),
        ("CERTGATE_ACME__VA__TLS_PORT", tls_port.to_string()),
        // pebble-challtestsrv answers every name with 127.0.0.1.
        ("CERTGATE_ACME__VA__ALLOW_PRIVATE_ADDRESSES", "true".into()),
    ]
}

#[test]
fn certbot_standalone_answers_http01_for_a_name_not_pre_validated() {
    if !have("certbot") {
        return;
    }
    let Some(srv) = ChallTestSrv::start() else { return };
    let port = free_port();
    let demo = start_demo(&va_env(&srv, port, 443));
    let start_tokens = tokens(&demo);
    let d = demo.dir.path().join("certbot");
    run(Command::new("certbot")
        .args(["certonly", "-n", "--agree-tos", "--register-unsafely-without-email", "--standalone"])
        .args(["--http-01-address", "127.0.0.1", "--http-01-port", &port.to_string()])
        .args(["--server", &demo.directory, "--eab-kid", &demo.kid, "--eab-hmac-key", &demo.hmac])
        .args(["-d", "web.other.test", "--config-dir"])
        .arg(&d)
        .arg("--work-dir")
        .arg(&d)
        .arg("--logs-dir")
        .arg(&d));
    verify_chain(&demo.root(), &d.join("live/web.other.test/fullchain.pem"));
    assert_eq!(tokens(&demo), start_tokens - 1);
}

#[test]
fn lego_answers_tls_alpn01_for_a_name_not_pre_validated() {
    if !have("lego") {
        return;
    }
    let Some(srv) = ChallTestSrv::start() else { return };
    let port = free_port();
    let demo = start_demo(&va_env(&srv, 80, port));
    let start_tokens = tokens(&demo);
    let path = demo.dir.path().join("lego");
    run(Command::new("lego")
        .args(["--server", &demo.directory, "--accept-tos", "--email", "ops@example.test", "--eab"])
        .args(["--kid", &demo.kid, "--hmac", &demo.hmac, "--tls", "--tls.port", &format!("127.0.0.1:{port}")])
        .args(["-d", "alpn.other.test", "--path"])
        .arg(&path)
        .arg("run"));
    verify_chain(&demo.root(), &path.join("certificates/alpn.other.test.crt"));
    assert_eq!(tokens(&demo), start_tokens - 1);
}

/// certbot 5 (from PyPI; `.ci/run` installs it in a venv and names it in
/// `CERTGATE_TEST_CERTBOT5`) follows ARI: a revoked certificate's window is
/// past, so a plain `renew` replaces it, and a fresh one is left alone.
#[test]
fn certbot5_renews_when_ari_says_so() {
    let certbot = match std::env::var("CERTGATE_TEST_CERTBOT5") {
        Ok(path) if Path::new(&path).exists() => path,
        _ => {
            return certgate_tests::skipping(
                "CERTGATE_TEST_CERTBOT5 does not name a certbot 5 binary (.ci/run installs one from PyPI)",
            );
        }
    };
    let demo = start_demo(&[]);
    let start_tokens = tokens(&demo);
    let line = demo.certbot_line().replacen("certbot certonly", &format!("{certbot} certonly"), 1);
    run(Command::new("sh").arg("-c").arg(line));
    let d = demo.dir.path().join("certbot");
    let dirs = |c: &mut Command| {
        c.arg("--config-dir").arg(&d).arg("--work-dir").arg(&d).arg("--logs-dir").arg(&d);
    };
    // Once revoked, ARI's window is already past: a plain renew replaces it now.
    let mut revoke = Command::new(&certbot);
    revoke.args([
        "revoke",
        "-n",
        "--no-delete-after-revoke",
        "--server",
        &demo.directory,
        "--cert-name",
        "www.example.test",
    ]);
    dirs(&mut revoke);
    run(&mut revoke);
    let mut renew = Command::new(&certbot);
    renew.args(["renew", "-n", "--no-random-sleep-on-renew"]);
    dirs(&mut renew);
    run(&mut renew);
    verify_chain(&demo.root(), &d.join("live/www.example.test/fullchain.pem"));
    assert_eq!(tokens(&demo), start_tokens - 2, "one token per certificate");
    let log = std::fs::read_to_string(d.join("letsencrypt.log")).unwrap();
    assert!(log.contains("GET /acme/") && log.contains("/renewal-info/"), "certbot 5 asked for renewal information");
    let after_ari = &log[log.rfind("/renewal-info/").unwrap_or(0)..];
    assert!(after_ari.contains("due for renewal"), "the renewal followed the ARI window");
    let mut renew = Command::new(&certbot);
    renew.args(["renew", "-n", "--no-random-sleep-on-renew"]);
    dirs(&mut renew);
    let out = run(&mut renew);
    assert!(out.contains("not due for renewal") || out.contains("No renewals were attempted"), "{out}");
    assert_eq!(tokens(&demo), start_tokens - 2, "a fresh certificate is not renewed");
}
