//! Denial of service against the real `certgate serve`: slow and idle
//! connections are closed within their timeouts, a declared body past a
//! front's limit is refused before it is sent, and `/healthz` keeps
//! answering in under a second throughout.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use certgate_tests::attack::{
    self, HealthProbe, Slow, all_at_once, fault_codes, metric, multicall_solde, solde, xmlrpc_request,
};

mod common;

use common::{BIN, Certgate, peak_rss_kib, terminate, wait_healthy};

const SECRET: &str = "hostile-test-secret-key-0123456789";

/// The attacks time the server's answers: they run one at a time, not
/// beside each other on the machine's two cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `serve` on a fresh SQLite database with a bulk account, an ACME URL
/// and an API user; `env` adds configuration. Returns the process, its port, the
/// ACME directory's path and the data directory.
fn serve_with(env: &[(&str, &str)]) -> (Child, u16, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hostile.db").display());
    let port = certgate_tests::free_port();
    let mut g =
        Certgate::with_database(BIN, dir.path(), SECRET, &url).env("CERTGATE_LISTEN", &format!("127.0.0.1:{port}"));
    for (k, v) in env {
        g = g.env(k, v);
    }
    let certgate_tests::binary::CliAccount { account, org } = g.bulk_account(0);
    let created = g.ok(&["acme-url", "create", "--account", &account, "--product", "ssl1", "--org", &org]);
    let directory = common::field(&created, "directory:").expect("directory URL");
    let path = directory[directory.find("/acme/").unwrap()..].to_string();
    let mut child = g.cmd(&["serve"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_healthy(port, &mut child);
    (child, port, path, dir)
}

/// The slowest `/healthz` answer of a probe, after checking none failed.
fn slowest(answers: &[Option<Duration>]) -> Duration {
    assert!(answers.iter().all(Option::is_some), "/healthz failed during the attack: {answers:?}");
    answers.iter().flatten().max().copied().unwrap_or_default()
}

/// 2,000 slow, idle or silent connections, 400 of each kind: each is closed within
/// its timeout (plus the idle check's tick and scheduling slack), and
/// `/healthz` answers in under a second all along.
#[test]
fn slow_and_idle_connections_are_closed_within_their_timeouts() {
    let _alone = alone();
    let (head, body, idle) = (2u64, 3u64, 3u64);
    let (child, port, acme, _dir) = serve_with(&[
        ("CERTGATE_HTTP__HEAD_TIMEOUT_SECS", &head.to_string()),
        ("CERTGATE_HTTP__BODY_TIMEOUT_SECS", &body.to_string()),
        ("CERTGATE_HTTP__IDLE_TIMEOUT_SECS", &idle.to_string()),
    ]);
    let probe = HealthProbe::start(port);
    let held =
        attack::hold_slow_connections(port, &acme.replace("/directory", "/new-account"), 2000, Duration::from_secs(30));
    let slowest = slowest(&probe.stop());
    for kind in Slow::ALL {
        let of_kind: Vec<_> = held.iter().filter(|c| c.kind == kind).collect();
        let open = of_kind.iter().filter(|c| c.closed_after.is_none()).count();
        let first = of_kind.iter().filter_map(|c| c.closed_after).min().unwrap_or_default();
        let latest = of_kind.iter().filter_map(|c| c.closed_after).max().unwrap_or_default();
        eprintln!("{kind:?}: {} connections, {open} still open, closed after {first:?} to {latest:?}", of_kind.len());
        let timeout = match kind {
            // Until its first request a connection gets the head timeout.
            Slow::UnfinishedHead | Slow::Silent => head,
            Slow::XmlRpcBody | Slow::AcmeBody => body,
            // An idle HTTP/1.1 connection waits for its next head.
            Slow::IdleKeepAlive => idle.min(head),
        };
        assert_eq!(open, 0, "{kind:?} connections still open after 30 s");
        // Slack: connecting all 2,000 takes a moment, the idle check ticks,
        // and two cores run both the server and this test.
        assert!(latest < Duration::from_secs(timeout + 4), "{kind:?}: the last closed after {latest:?}");
        // Closed by their timeout, not at once by some error.
        assert!(first >= Duration::from_secs(timeout) - Duration::from_millis(100), "{kind:?}: {first:?}");
    }
    eprintln!("/healthz: the slowest answer {slowest:?}");
    assert!(slowest < Duration::from_secs(1), "/healthz took {slowest:?}");
    assert!(terminate(child).success());
}

/// A body declared past a front's limit is refused at once, before the
/// client has sent it: the answer comes while the body is still unsent.
#[test]
fn a_declared_body_past_the_limit_is_refused_before_it_is_read() {
    let _alone = alone();
    let (child, port, acme, _dir) = serve_with(&[]);
    let new_account = acme.replace("/directory", "/new-account");
    for (path, ct, limit) in
        [("/xmlrpc", "text/xml", 1024 * 1024), (new_account.as_str(), "application/jose+json", 64 * 1024)]
    {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            limit + 1
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains(&format!("the body exceeds {limit} bytes")), "{path}: {answer}");
    }
    assert!(terminate(child).success());
}

/// 1,000 parallel logins of unknown users: each is answered (fault 1, or 4
/// when no check could start in time or the address is throttled), the
/// server's peak memory stays under 256 MiB, and `/healthz` answers in
/// under a second throughout.
#[test]
fn a_thousand_parallel_logins_stay_within_memory_and_leave_healthz_answering() {
    let _alone = alone();
    let (child, port, _, _dir) = serve_with(&[]);
    let probe = HealthProbe::start(port);
    let requests: Vec<String> = (0..1000).map(|i| xmlrpc_request(&solde(&format!("nobody-{i}")))).collect();
    let answers = all_at_once(port, &requests, Duration::from_secs(60));
    let slowest = slowest(&probe.stop());
    let mut by_code = std::collections::BTreeMap::new();
    for a in &answers {
        let a = a.as_deref().expect("every login is answered");
        let codes = fault_codes(a);
        assert!(matches!(codes.as_slice(), [1] | [4]), "{a}");
        *by_code.entry(codes[0]).or_insert(0) += 1;
    }
    let peak = peak_rss_kib(child.id());
    let checks = metric(port, "certgate_password_checks_total");
    eprintln!(
        "1,000 logins: faults {by_code:?}; {checks} passwords checked; peak RSS {} MiB; /healthz at worst {slowest:?}",
        peak / 1024
    );
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
    assert!(checks <= 40, "{checks} checks: the address's throttle should have stopped them");
    assert!(slowest < Duration::from_secs(1), "/healthz took {slowest:?}");
    assert!(terminate(child).success());
}

/// A multicall past `max_multicall` calls is refused whole; one repeating an
/// identification checks it once; one of many unknown users stops checking
/// once the address is throttled.
#[test]
fn multicall_is_capped_and_checks_each_identification_once() {
    let _alone = alone();
    let (child, port, _, _dir) = serve_with(&[]);
    let multicall = |logins: Vec<String>| {
        let body = multicall_solde(logins.iter().map(String::as_str));
        common::http(port, &xmlrpc_request(&body)).expect("an answer")
    };
    let over = multicall((0..101).map(|i| format!("u{i}")).collect());
    assert_eq!(fault_codes(&over), vec![-32600], "{over}");
    assert_eq!(metric(port, "certgate_password_checks_total"), 0, "nothing checked for a refused multicall");

    let same = multicall(vec!["hoster".to_string(); 100]);
    assert_eq!(fault_codes(&same), vec![1; 100]);
    assert_eq!(metric(port, "certgate_password_checks_total"), 1, "one identification, one check");

    let many = multicall((0..100).map(|i| format!("nobody-{i}")).collect());
    let codes = fault_codes(&many);
    assert_eq!(codes.len(), 100);
    let checks = metric(port, "certgate_password_checks_total");
    eprintln!("100 unknown users in one multicall: {checks} checks in all, faults {codes:?}");
    // 30 failed logins per address per window by default, the one above included.
    assert_eq!(checks, 30, "the throttle stops checking after 30 failures");
    assert!(codes[..29].iter().all(|c| *c == 1) && codes[29..].iter().all(|c| *c == 4), "{codes:?}");
    assert!(terminate(child).success());
}
